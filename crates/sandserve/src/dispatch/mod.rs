//! What answers a routed request: the kinds of route, and the one place that
//! dispatches to them. A new kind of handler (a new guest world, say) is a
//! new [`RouteKind`] and one arm here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::files;
use crate::http::{Request, Response, ResponseWriter};
use crate::mounts::{Mounts, ResolveError};
use crate::pipes::Pipeline;
use crate::reply::{ErrorAnswer, Reply};
use crate::route::{Captures, RouteTable};
use crate::sub::SubContext;
use crate::topology::Topology;
use crate::wasm::LoadError;
use crate::worlds::handler::HandlerWorld;

/// A kind of route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// Static files, directory listings, ranges and `.headers`.
    Files,
    /// `.asis` files: the file is written as the whole response, then the
    /// connection closes.
    Asis,
    /// A WebAssembly handler of the request handler world: the component
    /// named by the route, or (`None`) the `.wasm` file the request path
    /// names. A `.wasm` file that is a core module rather than a component
    /// is served as a static file.
    Handler(Option<PathBuf>),
}

/// Routes requests to what answers them.
pub struct Dispatcher {
    routes: RouteTable<RouteKind>,
    mounts: Arc<Mounts>,
    topology: Arc<Topology>,
    handlers: HandlerWorld,
}

impl Dispatcher {
    /// A dispatcher over `routes`, serving files from `mounts` and handlers
    /// in `handlers`; `topology` feeds substitution.
    pub fn new(
        routes: RouteTable<RouteKind>,
        mounts: Arc<Mounts>,
        topology: Arc<Topology>,
        handlers: HandlerWorld,
    ) -> Self {
        Dispatcher {
            routes,
            mounts,
            topology,
            handlers,
        }
    }

    /// The request handler world.
    pub fn handlers(&self) -> &HandlerWorld {
        &self.handlers
    }

    /// Answers `request`. The writer is the client's: a kind that writes
    /// its own bytes uses it; it is handed back with the reply.
    pub async fn dispatch(
        &self,
        request: Arc<Request>,
        mut writer: ResponseWriter,
    ) -> (Reply, ResponseWriter) {
        let Some((route, captures)) = self.routes.find(&request.method, &request.path) else {
            let none = ErrorAnswer::NoRoute {
                method: request.method.clone(),
                path: request.path.clone(),
            };
            return (none.into(), writer);
        };
        if route.handler == RouteKind::Asis {
            // Pipes never apply to `.asis` files, so a bad one is no error.
            let reply = match files::asis_body(&self.mounts, &request) {
                Ok(body) => {
                    if writer.write_raw_body(&body).await.is_err() {
                        writer.break_framing();
                    }
                    Reply::Written
                }
                Err(e) => Reply::Error(e.into()),
            };
            return (reply, writer);
        }
        // A bad pipeline answers before anything runs (a handler's stash
        // writes included).
        let pipeline = match Pipeline::from_request(&request) {
            Ok(p) => p,
            Err(e) => return (Reply::Error(e.into()), writer),
        };
        match &route.handler {
            RouteKind::Handler(target) => {
                self.handler(target.as_deref(), request, captures, pipeline, writer)
                    .await
            }
            _ => (self.static_file(&request, pipeline.as_ref()), writer),
        }
    }

    fn static_file(&self, request: &Request, pipeline: Option<&Pipeline>) -> Reply {
        match files::serve_static(&self.mounts, &self.topology, request) {
            Ok(served) => {
                let r = &served.resolved;
                let ctx = self.sub_context(request, &r.path, &r.root, &r.url_base);
                piped(served.response, pipeline, &ctx)
            }
            Err(e) => Reply::Error(e.into()),
        }
    }

    async fn handler(
        &self,
        target: Option<&Path>,
        request: Arc<Request>,
        captures: Captures,
        pipeline: Option<Pipeline>,
        writer: ResponseWriter,
    ) -> (Reply, ResponseWriter) {
        // Where the component is, how messages name it, and the mount whose
        // root and URL prefix its pipes substitute with.
        let doc_root = self.mounts.doc_root();
        let (file, shown, root, url_base) = match target {
            Some(path) => (
                path.to_path_buf(),
                path.to_path_buf(),
                doc_root.to_path_buf(),
                "/".to_string(),
            ),
            None => match self.mounts.resolve(&request.path) {
                Ok(r) => (r.real, r.path, r.root, r.url_base),
                Err(ResolveError::Io(source)) => {
                    let e = files::FileError::Unreadable {
                        path: request.path.clone(),
                        source,
                    };
                    return (Reply::Error(e.into()), writer);
                }
                Err(_) => return (not_found(&request), writer),
            },
        };
        let name = self.mounts.display(&shown);
        let loaded = match self.handlers.load(&file).await {
            Ok(loaded) => loaded,
            Err(LoadError::CoreModule) if target.is_none() => {
                return (self.static_file(&request, pipeline.as_ref()), writer)
            }
            Err(LoadError::Missing) => return (not_found(&request), writer),
            Err(error) => {
                let e = ErrorAnswer::HandlerUnusable {
                    handler: name,
                    error,
                };
                return (e.into(), writer);
            }
        };
        let (reply, writer) = self
            .handlers
            .serve(&loaded, &name, request.clone(), captures, writer)
            .await;
        let reply = match reply {
            Reply::Response(response) => {
                let ctx = self.sub_context(&request, &shown, &root, &url_base);
                piped(response, pipeline.as_ref(), &ctx)
            }
            other => other,
        };
        (reply, writer)
    }

    fn sub_context<'a>(
        &'a self,
        request: &'a Request,
        file: &'a Path,
        root: &'a Path,
        url_base: &'a str,
    ) -> SubContext<'a> {
        SubContext {
            request,
            topology: &self.topology,
            mounts: &self.mounts,
            file: Some(file),
            root,
            url_base,
        }
    }
}

/// A response with the query's pipeline applied.
fn piped(response: Response, pipeline: Option<&Pipeline>, ctx: &SubContext) -> Reply {
    let Some(pipeline) = pipeline else {
        return Reply::Response(response);
    };
    match pipeline.apply(response, ctx) {
        Ok(response) => Reply::Response(response),
        Err(e) => Reply::Error(e.into()),
    }
}

fn not_found(request: &Request) -> Reply {
    Reply::Error(
        files::FileError::NotFound {
            path: request.path.clone(),
        }
        .into(),
    )
}
