//! Hostile: panics with a message (a trap, `unreachable`), or with
//! `?after_write=1` after writing part of a response.

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    if request.param("after_write").is_some() {
        let w = response.writer();
        let _ = w.write_status(200, None);
        let _ = w.write_header("Content-Length", "100");
        let _ = w.end_headers(true);
        let _ = w.write_content("partial");
    }
    panic!("this handler always panics");
}

handler!(handle);
