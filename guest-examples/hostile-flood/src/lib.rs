//! Hostile: `?to=stdout` prints without end (the log keeps a bounded part
//! and the CPU limit ends it); `?to=body` writes content without end (the
//! response-size limit stops it).

use sandserve_guest::{handler, Error, Reply, Request, Response};

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    let line = "flood flood flood flood flood flood flood flood flood flood flood flood\n";
    if request.param("to").as_deref() == Some("body") {
        let w = response.writer();
        w.write_status(200, None);
        w.end_headers(false);
        let chunk = line.repeat(1000);
        loop {
            w.write_content(&chunk);
        }
    }
    loop {
        print!("{line}");
    }
}

handler!(handle);
