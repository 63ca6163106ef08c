//! `?type=T` answers with `Content-Type: T` (each `type` parameter adds one
//! header); without one, no `Content-Type` at all — as a wptserve handler
//! that returns only a body. `?body=` sets the body.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    let query = request.query();
    for t in query.get_all("type") {
        response.append_header("Content-Type", t);
    }
    Ok(query.first("body").unwrap_or(b"content").to_vec().into())
}

handler!(handle);
