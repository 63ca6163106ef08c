//! Simple per-client state: `POST /data/KEY?value=V` keeps V under KEY in
//! the client's session, `GET /data/KEY` returns it (404 when absent),
//! `DELETE /data/KEY` forgets it. Routed with
//! `{"routes": [{"path": "/data/{key}", "handler": "session-data.wasm"}]}`.

use sandserve_guest::{handler, session, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let key = request
        .route_match()
        .into_iter()
        .find_map(|(name, value)| (name == "key").then_some(value))
        .ok_or_else(|| Error::new(400, "route this handler as /data/{key}"))?;
    let unavailable = |e: session::Error| match e {
        session::Error::Unavailable(_) => Error::new(503, e.to_string()),
        _ => Error::new(400, e.to_string()),
    };
    match request.method().as_str() {
        "POST" | "PUT" => {
            let value = request
                .param("value")
                .ok_or_else(|| Error::new(400, "value is required"))?;
            session::set(&key, value).map_err(unavailable)?;
            Ok("stored\n".into())
        }
        "GET" => match session::get(&key).map_err(unavailable)? {
            Some(value) => Ok(value.into()),
            None => Err(Error::new(404, format!("nothing under {key} in this session"))),
        },
        "DELETE" => {
            session::delete(&key).map_err(unavailable)?;
            Ok("deleted\n".into())
        }
        other => Err(Error::new(405, format!("{other} is not served here"))),
    }
}

handler!(handle);
