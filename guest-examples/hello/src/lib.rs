//! The smallest handler: a plain-text greeting.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(_request: &Request, _response: &mut Response) -> Result<Reply, Error> {
    Ok(([("Content-Type", "text/plain")], "Hello, world!\n").into())
}

handler!(handle);
