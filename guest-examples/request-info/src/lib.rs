//! Reports what a handler can read of the request and of the server, as
//! JSON; with `?status=&reason=` also sets the status and a raw reason.

use sandserve_guest::{handler, server, Error, Reply, Request, Response};

fn text(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

fn handle(request: &Request, response: &mut Response) -> Result<Reply, Error> {
    if let Some(status) = request.param("status").and_then(|s| s.parse().ok()) {
        let reason = request.query().first("reason").map(<[u8]>::to_vec);
        response.set_status_reason(status, reason.as_deref());
    }
    let body = request.body();
    let info = serde_json::json!({
        "method": request.method(),
        "version": request.version(),
        "request_line": text(&request.request_line()),
        "target": request.target(),
        "path": request.path(),
        "query_string": request.query_string(),
        "url": request.url(),
        "scheme": request.scheme(),
        "host": request.host(),
        "query": request.query().pairs().iter().map(|(n, v)| [text(n), text(v)]).collect::<Vec<_>>(),
        "body_size": request.body_size(),
        "body": text(&body),
        "body_tail": text(&request.read_body(request.body_size().saturating_sub(4), 100)),
        "client_address": request.client_address(),
        "server_address": request.server_address(),
        "route_match": request.route_match(),
        "browser_host": server::browser_host(),
        "www": server::domain("", "www"),
        "http_ports": server::ports("http"),
    });
    response.set_header("Content-Type", "application/json");
    Ok(info.to_string().into())
}

handler!(handle);
