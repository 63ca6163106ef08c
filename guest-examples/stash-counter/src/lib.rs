//! `?key=UUID`: adds one to a counter in the stash, atomically (many
//! concurrent requests never lose a count), and returns the new value.

use sandserve_guest::{handler, stash, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let key = request
        .param("key")
        .ok_or_else(|| Error::new(400, "key is required"))?;
    let next = stash::update(&key, Some("/counter"), |current| {
        let n: u64 = current
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Some((n + 1).to_string().into_bytes())
    })?;
    Ok(next.unwrap_or_default().into())
}

handler!(handle);
