//! `?location=URL&status=302`: a redirect (status defaults to 302).

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    let location = request
        .param("location")
        .ok_or_else(|| Error::new(400, "location is required"))?;
    let status: u16 = match request.param("status") {
        Some(s) => s
            .parse()
            .map_err(|_| Error::new(400, format!("bad status {s:?}")))?,
        None => 302,
    };
    Ok((status, [("Location", location)], "").into())
}

handler!(handle);
