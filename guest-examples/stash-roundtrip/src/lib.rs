//! `?action=put&key=UUID&value=V` stores V; `?action=take&key=UUID` returns
//! it once (then 404). `&path=P` shares the entry with another resource.

use sandserve_guest::{handler, stash, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let key = request
        .param("key")
        .ok_or_else(|| Error::new(400, "key is required"))?;
    let path = request.param("path");
    match request.param("action").as_deref() {
        Some("put") => {
            let value = request.param("value").unwrap_or_default();
            stash::put(&key, value.as_bytes(), path.as_deref())
                .map_err(|e| Error::new(409, e.to_string()))?;
            Ok("stored".into())
        }
        Some("take") => {
            match stash::take(&key, path.as_deref()).map_err(|e| Error::new(400, e.to_string()))? {
                Some(value) => Ok(value.into()),
                None => Err(Error::new(404, "nothing stashed under that key")),
            }
        }
        other => Err(Error::new(400, format!("unknown action {other:?}"))),
    }
}

handler!(handle);
