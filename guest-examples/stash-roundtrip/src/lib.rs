//! `?action=put&key=UUID&value=V` stores V; `?action=take&key=UUID` returns
//! it once (then 404); `?action=peek&key=UUID` returns it and leaves it;
//! `?action=pair&key=UUID&value=V` puts V and takes it back (a stash
//! round trip per request, for benchmarks).
//! `&path=P` shares the entry with another resource. A store out of reach
//! is a 503.

use sandserve_guest::{handler, stash, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let key = request
        .param("key")
        .ok_or_else(|| Error::new(400, "key is required"))?;
    let path = request.param("path");
    let failed = |e: stash::Error| match e {
        stash::Error::Unavailable(_) => Error::new(503, e.to_string()),
        stash::Error::InvalidKey(_) => Error::new(400, e.to_string()),
        _ => Error::new(409, e.to_string()),
    };
    let found = |value: Option<Vec<u8>>| match value {
        Some(value) => Ok(value.into()),
        None => Err(Error::new(404, "nothing stashed under that key")),
    };
    match request.param("action").as_deref() {
        Some("put") => {
            let value = request.param("value").unwrap_or_default();
            stash::put(&key, value.as_bytes(), path.as_deref()).map_err(failed)?;
            Ok("stored".into())
        }
        Some("take") => found(stash::take(&key, path.as_deref()).map_err(failed)?),
        Some("peek") => found(stash::peek(&key, path.as_deref()).map_err(failed)?),
        Some("pair") => {
            let value = request.param("value").unwrap_or_default();
            stash::put(&key, value.as_bytes(), path.as_deref()).map_err(failed)?;
            found(stash::take(&key, path.as_deref()).map_err(failed)?)
        }
        other => Err(Error::new(400, format!("unknown action {other:?}"))),
    }
}

handler!(handle);
