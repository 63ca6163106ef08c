//! Writes a response no framework would: a status line without a reason or
//! version, a header without a colon, bare LF line ends. `?raw=` replaces it
//! with anything.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    let bytes = match request.query().first("raw") {
        Some(raw) => raw.to_vec(),
        None => b"HTTP/1.1 2OO Fine\nX-No-Colon\nContent-Length:  4 \r\n\r\nbody".to_vec(),
    };
    let _ = response.writer().write_raw(bytes);
    Ok(Reply::Done)
}

handler!(handle);
