//! Tries to forge a second response behind its own through the structured
//! response API (`?via=set`, `append`, `reason`, `cookie`), or through the
//! raw writer's header call (`?via=writer`); declares its own chunked coding
//! (`?via=chunked`, framed as it says, or `?via=unframed`, not).

use sandserve_guest::{handler, Cookie, Error, Reply, Request, Response};

const FORGED: &[u8] = b"x\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nX-Forged: yes";

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    let via = request.param("via").unwrap_or_default();
    match via.as_str() {
        "set" => response.set_header("X-Split", FORGED),
        "append" => response.append_header("X-Split", FORGED),
        "name" => response.set_header(b"X-A\r\nX-B", "1"),
        "reason" => response.set_status_reason(200, Some(FORGED)),
        "cookie" => response.set_cookie(&Cookie::new("a", "b\r\nX-Forged: yes")),
        "writer" => {
            let w = response.writer();
            let _ = w.write_status(200, None);
            let _ = w.write_header(b"X-Split", FORGED);
            let _ = w.end_headers(true);
            let _ = w.write_content(b"");
            return Ok(Reply::Done);
        }
        "chunked" | "unframed" => {
            response.set_header("Transfer-Encoding", "chunked");
            let body: &[u8] = if via == "chunked" { b"4\r\nbody\r\n0\r\n\r\n" } else { b"body" };
            response.set_body(body);
            return Ok(Reply::Done);
        }
        _ => return Err(Error::new(400, "via: set, append, name, reason, cookie, writer, chunked or unframed")),
    }
    response.set_body("not forged");
    Ok(Reply::Done)
}

handler!(handle);
