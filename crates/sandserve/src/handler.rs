//! What answers a routed request. Each kind of handler is one variant here;
//! `dispatch` is the one place that knows them all.

use std::io;

use crate::files;
use crate::http::{Request, Response, ResponseWriter};
use crate::pipes::Pipeline;
use crate::route::{Captures, Methods, Pattern, RouteTable};
use crate::server::Site;
use crate::sub::SubContext;

/// A kind of handler a route can name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handler {
    /// Static files, directory listings, ranges and `.headers`.
    Files,
    /// `.asis` files: the file is written as the whole response, then the
    /// connection closes.
    Asis,
}

/// What a handler did.
#[derive(Debug)]
pub enum Reply {
    /// A response for the server to write.
    Response(Response),
    /// The handler wrote its response itself through the writer.
    Written,
}

/// The reference server's default routes: `*.asis` (GET), then files (GET).
pub fn default_routes() -> RouteTable<Handler> {
    let get = || Methods::Only(vec!["GET".to_string()]);
    let mut table = RouteTable::new();
    table.push(
        get(),
        Pattern::new("*.asis").expect("valid pattern"),
        Handler::Asis,
    );
    table.push(
        get(),
        Pattern::new("*").expect("valid pattern"),
        Handler::Files,
    );
    table
}

/// Runs `handler` for `request`.
pub async fn dispatch(
    handler: &Handler,
    site: &Site,
    request: &Request,
    _captures: &Captures,
    writer: &mut ResponseWriter<'_>,
) -> io::Result<Reply> {
    match handler {
        Handler::Files => Ok(Reply::Response(match files::serve_static(site, request) {
            Ok(served) => {
                let r = &served.resolved;
                let ctx = SubContext {
                    request,
                    site,
                    file: Some(&r.path),
                    root: &r.root,
                    url_base: &r.url_base,
                };
                apply_query_pipes(served.response, request, &ctx)
            }
            Err(error) => error,
        })),
        Handler::Asis => match files::asis_body(&site.mounts, request) {
            Ok(body) => {
                writer.write_raw_body(&body).await?;
                Ok(Reply::Written)
            }
            Err(response) => Ok(Reply::Response(response)),
        },
    }
}

/// Applies the request's `?pipe=` to a handler's response; a bad pipeline is
/// a 500 naming the problem.
pub fn apply_query_pipes(response: Response, request: &Request, ctx: &SubContext) -> Response {
    match Pipeline::from_request(request) {
        Ok(None) => response,
        Ok(Some(pipeline)) => pipeline
            .apply(response, ctx)
            .unwrap_or_else(|e| Response::error(500, &e.to_string())),
        Err(e) => Response::error(500, &e.to_string()),
    }
}
