//! Fails with `?code=` (default 418) and `?message=`: answered with the
//! server's JSON error body.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let code: u16 = request
        .param("code")
        .and_then(|c| c.parse().ok())
        .unwrap_or(418);
    let message = request
        .param("message")
        .unwrap_or_else(|| "the handler says no".into());
    Err(Error::new(code, message))
}

handler!(handle);
