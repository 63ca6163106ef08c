//! A handler of `sandserve:handler@0.2.0` (`wit/v0.2.0`), written against
//! the bindings directly: servers keep running components built against
//! that version of the world, whose stash errors have no `unavailable` and
//! whose stash lock cannot fail. It answers with its method and path, and
//! a stash round trip made under the stash lock, through the structured
//! response; with `?raw` through the writer, whose calls report a gone
//! client.

wit_bindgen::generate!({
    world: "handler",
    path: "../../wit/v0.2.0",
});

use sandserve::handler::stash;

struct SecondWorld;

impl Guest for SecondWorld {
    fn handle(request: &Request, response: &Response, writer: &ResponseWriter) -> Result<(), Error> {
        let key = "2f0c5a3e-9d1b-4e6a-8c47-5b2d9e0f7a13";
        let failed = |e: stash::StashError| Error {
            code: 500,
            message: format!("{e:?}"),
        };
        let kept = {
            let _held = stash::lock();
            let _ = stash::take(key, None);
            stash::put(key, b"kept", None).map_err(failed)?;
            stash::take(key, None).map_err(failed)?.unwrap_or_default()
        };
        let body = format!(
            "world 0.2.0: {} {} stash={}\n",
            request.method(),
            request.path(),
            String::from_utf8_lossy(&kept)
        );
        if request.query_string().as_deref() == Some("raw") {
            let gone = |_| Error {
                code: 500,
                message: "the client has gone".into(),
            };
            writer.write_status(200, None).map_err(gone)?;
            writer
                .write_header(b"Content-Length", body.len().to_string().as_bytes())
                .map_err(gone)?;
            writer.end_headers(true).map_err(gone)?;
            writer.write_content(body.as_bytes()).map_err(gone)?;
            writer.flush().map_err(gone)?;
            return Ok(());
        }
        response.set_status(200, None);
        response.set_header(b"Content-Type", b"text/plain");
        response.set_body(body.as_bytes());
        Ok(())
    }
}

export!(SecondWorld);
