//! Echoes the fields of a urlencoded or multipart body as JSON objects
//! `{"name", "value", "filename", "content_type"}`.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let fields = request.form().map_err(|e| Error::new(400, e))?;
    let json: Vec<serde_json::Value> = fields
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": text(&f.name),
                "value": text(&f.value),
                "filename": f.filename.as_deref().map(text),
                "content_type": f.content_type.as_deref().map(text),
            })
        })
        .collect();
    let body = serde_json::to_vec(&json).map_err(|e| Error::new(500, e.to_string()))?;
    Ok(([("Content-Type", "application/json")], body).into())
}

handler!(handle);
