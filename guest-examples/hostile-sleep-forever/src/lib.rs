//! Hostile: sleeps for a year — or for `?ms=N` milliseconds, then answers.
//! The wall-time limit must end the long sleep; short sleepers test how many
//! parked requests the server carries at once.

use std::time::Duration;

use sandserve_guest::{handler, sleep, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let ms: u64 = request
        .param("ms")
        .and_then(|m| m.parse().ok())
        .unwrap_or(365 * 24 * 3600 * 1000);
    sleep(Duration::from_millis(ms));
    Ok("awake".into())
}

handler!(handle);
