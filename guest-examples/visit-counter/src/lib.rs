//! Counts each browser's visits in its session: the first request creates
//! the session (and its cookie); each request adds one and answers the
//! count. Concurrent requests of one session lose no count (the session is
//! locked while a handler that touched it runs).

use sandserve_guest::{handler, session, Error, Reply, Request, Response};

fn handle(_request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let visits: u64 = session::get_text("visits")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        + 1;
    session::set("visits", visits.to_string())?;
    Ok(([("Content-Type", "text/plain")], format!("visits: {visits}\n")).into())
}

handler!(handle);
