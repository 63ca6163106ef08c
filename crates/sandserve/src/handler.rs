//! What answers a routed request. Each kind of handler is one variant here;
//! `dispatch` is the one place that knows them all.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::Config;
use crate::files;
use crate::http::{Request, Response, ResponseWriter};
use crate::pipes::Pipeline;
use crate::route::{Captures, Methods, Pattern, RouteTable};
use crate::server::Site;
use crate::sub::SubContext;
use crate::wasm::{self, LoadError};

/// A kind of handler a route can name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handler {
    /// Static files, directory listings, ranges and `.headers`.
    Files,
    /// `.asis` files: the file is written as the whole response, then the
    /// connection closes.
    Asis,
    /// A WebAssembly handler: the component named by the route, or (`None`)
    /// the `.wasm` file the request path names. A `.wasm` file that is a core
    /// module rather than a component is served as a static file.
    Wasm(Option<PathBuf>),
}

/// What a handler did.
#[derive(Debug)]
pub enum Reply {
    /// A response for the server to write.
    Response(Response),
    /// The handler wrote its response itself through the writer.
    Written,
}

/// The route table: the configured routes to handlers, then the defaults —
/// `*.asis` (GET), `*.wasm` (any method), files (GET).
pub fn routes(config: &Config) -> Result<RouteTable<Handler>, String> {
    let get = || Methods::Only(vec!["GET".to_string()]);
    let mut table = RouteTable::new();
    for (i, route) in config.routes.iter().enumerate() {
        let pattern = Pattern::new(&route.path).map_err(|e| format!("routes[{i}].path: {e}"))?;
        let methods = if route.methods.is_empty() || route.methods.iter().any(|m| m == "*") {
            Methods::Any
        } else {
            Methods::Only(route.methods.clone())
        };
        table.push(methods, pattern, Handler::Wasm(Some(route.handler.clone())));
    }
    let pattern = |p| Pattern::new(p).expect("valid pattern");
    table.push(get(), pattern("*.asis"), Handler::Asis);
    table.push(Methods::Any, pattern("*.wasm"), Handler::Wasm(None));
    table.push(get(), pattern("*"), Handler::Files);
    Ok(table)
}

/// Runs `handler` for `request`.
pub async fn dispatch(
    handler: &Handler,
    site: &Arc<Site>,
    request: &Arc<Request>,
    captures: Captures,
    writer: &mut ResponseWriter<'_>,
) -> io::Result<Reply> {
    match handler {
        Handler::Files => Ok(Reply::Response(static_file(site, request))),
        Handler::Wasm(route_target) => {
            let path = match route_target {
                Some(path) => path.clone(),
                None => match site.mounts.resolve(&request.path) {
                    Ok(resolved) => resolved.real,
                    Err(_) => return Ok(Reply::Response(files::not_found(request))),
                },
            };
            let compiled = match site.wasm.load(&path).await {
                Ok(compiled) => compiled,
                Err(LoadError::CoreModule) if route_target.is_none() => {
                    return Ok(Reply::Response(static_file(site, request)))
                }
                Err(LoadError::Missing) => return Ok(Reply::Response(files::not_found(request))),
                Err(LoadError::CoreModule) => {
                    return Ok(Reply::Response(Response::error(
                        500,
                        &format!("handler {}: a core module, not a component", path.display()),
                    )))
                }
                Err(LoadError::Invalid(why)) => {
                    return Ok(Reply::Response(Response::error(
                        500,
                        &format!("handler {}: {why}", path.display()),
                    )))
                }
            };
            match wasm::serve(site, &compiled, request, captures, writer).await? {
                wasm::Served::Written => Ok(Reply::Written),
                wasm::Served::Failed(error) => Ok(Reply::Response(error)),
                wasm::Served::Response(response) => {
                    let ctx = SubContext {
                        request,
                        site,
                        file: Some(&path),
                        root: site.mounts.doc_root(),
                        url_base: "/",
                    };
                    Ok(Reply::Response(apply_query_pipes(response, request, &ctx)))
                }
            }
        }
        Handler::Asis => match files::asis_body(&site.mounts, request) {
            Ok(body) => {
                writer.write_raw_body(&body).await?;
                Ok(Reply::Written)
            }
            Err(response) => Ok(Reply::Response(response)),
        },
    }
}

fn static_file(site: &Site, request: &Request) -> Response {
    match files::serve_static(site, request) {
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
