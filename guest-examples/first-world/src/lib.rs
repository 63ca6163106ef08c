//! A handler of `sandserve:handler@0.1.0` (`wit/v0.1.0`), written against
//! the bindings directly: servers keep running components built against
//! the first version of the world. It answers with its method and path,
//! the server's first http port, and a stash round trip, through the
//! structured response; with `?raw` through the writer.

wit_bindgen::generate!({
    world: "handler",
    path: "../../wit/v0.1.0",
});

use sandserve::handler::{server, stash};

struct FirstWorld;

impl Guest for FirstWorld {
    fn handle(request: &Request, response: &Response, writer: &ResponseWriter) -> Result<(), Error> {
        let key = "6b4fdb1c-3b8c-4d6c-9a57-1d0d3f0c2a11";
        let _ = stash::take(key, None);
        stash::put(key, b"kept", None).map_err(|e| Error {
            code: 500,
            message: format!("{e:?}"),
        })?;
        let kept = stash::take(key, None).ok().flatten().unwrap_or_default();
        let body = format!(
            "world 0.1.0: {} {} http={:?} stash={}\n",
            request.method(),
            request.path(),
            server::ports("http").first(),
            String::from_utf8_lossy(&kept)
        );
        if request.query_string().as_deref() == Some("raw") {
            writer.write_status(200, None);
            writer.write_header(b"Content-Length", body.len().to_string().as_bytes());
            writer.end_headers(true);
            writer.write_content(body.as_bytes());
            return Ok(());
        }
        response.set_status(200, None);
        response.set_header(b"Content-Type", b"text/plain");
        response.set_body(body.as_bytes());
        Ok(())
    }
}

export!(FirstWorld);
