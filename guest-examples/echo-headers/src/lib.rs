//! Echoes every request header as JSON: `[[name, value], …]` in arrival
//! order, names in their original case, repeated headers repeated.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let headers: Vec<[String; 2]> = request
        .headers()
        .into_iter()
        .map(|(n, v)| {
            [
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            ]
        })
        .collect();
    let body = serde_json::to_vec(&headers).map_err(|e| Error::new(500, e.to_string()))?;
    Ok(([("Content-Type", "application/json")], body).into())
}

handler!(handle);
