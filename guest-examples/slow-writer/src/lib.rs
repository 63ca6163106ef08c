//! Writes `?pieces=N` (default 3) pieces of body with `?delay_ms=D`
//! (default 200) between them, through the raw writer, with a
//! `Content-Length` so the connection stays usable.

use std::time::Duration;

use sandserve_guest::{handler, sleep, Error, Reply, Request, Response};

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    let pieces: usize = request
        .param("pieces")
        .and_then(|p| p.parse().ok())
        .unwrap_or(3);
    let delay: u64 = request
        .param("delay_ms")
        .and_then(|d| d.parse().ok())
        .unwrap_or(200);
    let w = response.writer();
    let head = w
        .write_status(200, None)
        .and_then(|()| w.write_header("Content-Type", "text/plain"))
        .and_then(|()| w.write_header("Content-Length", (pieces * 6).to_string()))
        .and_then(|()| w.end_headers(true));
    if head.is_err() {
        return Ok(Reply::Done);
    }
    for i in 0..pieces {
        if i > 0 {
            sleep(Duration::from_millis(delay));
        }
        // A client that has gone reads no more pieces.
        if w.write_content(format!("piece{i}")).is_err() {
            break;
        }
    }
    Ok(Reply::Done)
}

handler!(handle);
