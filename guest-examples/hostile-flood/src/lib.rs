//! Hostile: `?to=stdout` prints without end (the log keeps a bounded part
//! and the CPU limit ends it); `?to=body` writes content without end (the
//! response-size limit stops it); `?to=log` logs lines that try to forge log
//! lines of their own, without end (the log budget drops the rest);
//! `?to=headers` sets ever more large headers (the response-size limit
//! counts them).

use sandserve_guest::{handler, log, Error, Reply, Request, Response};

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    let line = "flood flood flood flood flood flood flood flood flood flood flood flood\n";
    match request.param("to").as_deref() {
        Some("log") => loop {
            log::info("flood\n2026-01-01T00:00:00Z  INFO sandserve::access: GET /forged 200\x1b[31m");
        },
        Some("headers") => {
            let value = "v".repeat(1 << 20);
            for i in 0u32.. {
                response.append_header(format!("X-Big-{i}"), &value);
            }
        }
        _ => {}
    }
    if request.param("to").as_deref() == Some("body") {
        let w = response.writer();
        let _ = w.write_status(200, None);
        let _ = w.end_headers(false);
        let chunk = line.repeat(1000);
        loop {
            let _ = w.write_content(&chunk);
        }
    }
    loop {
        print!("{line}");
    }
}

handler!(handle);
