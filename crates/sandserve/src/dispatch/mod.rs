//! What answers a routed request: the kinds of route, and the one place that
//! dispatches to them. A new kind of handler (a new guest world, say) is a
//! new [`RouteKind`] and one arm here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Semaphore;

use crate::files::{self, FileServer};
use crate::http::{Request, Response, ResponseWriter};
use crate::mounts::{Opened, ResolveError, Resolved, RootDir};
use crate::pipes::{PipeLimits, Pipeline};
use crate::reply::{ErrorAnswer, Reply};
use crate::route::{Captures, RouteTable};
use crate::sub::{substitute, Escape, SubContext};
use crate::wasm::{LoadError, Source};
use crate::worlds::handler::{Grant, HandlerWorld, LoadedHandler};
use crate::worlds::websocket::{Http2Answer, Opening, WebSocketWorld};
use crate::wpt::{self, inject, Wrapper};

pub mod view;

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
    /// A wptserve-style Python handler: the `.py` file the request path
    /// names, run by the Python runner (a component of the handler world)
    /// with a read-only view of the document root.
    Python,
    /// A test wrapper generated from its `.js` source (`--wpt`).
    Wrapper(Wrapper),
    /// A path never served (`--wpt`): `404`.
    Forbidden,
    /// The `--inject-script` file.
    InjectScript,
}

/// What the `wpt serve` layer adds to every request.
#[derive(Clone, Debug, Default)]
pub struct WptLayer {
    /// Apply the tree's rewrites (`--wpt`).
    pub rewrites: bool,
    /// The script put into every HTML page (`--inject-script`).
    pub inject_script: Option<PathBuf>,
    /// The delay before every response (`--latency`).
    pub latency: Duration,
}

/// What may run Python handlers and what other handlers are granted.
#[derive(Clone, Debug, Default)]
pub struct Guests {
    /// `.py` files are handlers (`_wsh.py` ones on the WebSocket ports).
    pub python: bool,
    /// The Python runner component; `None` when it is not installed.
    pub python_runner: Option<PathBuf>,
    /// The Python runner of the WebSocket world (`ws-runner.wasm` beside
    /// the other); `None` when it is not installed.
    pub python_ws_runner: Option<PathBuf>,
    /// Grant `.wasm` handlers the read-only view of the document root.
    pub wasm_view: bool,
}

/// What answers the `ws` and `wss` ports: the WebSocket handler world, and
/// the directory of handlers (`ws_doc_root`), when there is one.
pub struct WebSockets {
    /// The world.
    pub world: WebSocketWorld,
    /// `ws_doc_root`, open; `None` when it does not exist.
    pub root: Option<Arc<RootDir>>,
}

/// A WebSocket handler found for a path.
struct WsHandler {
    source: Source,
    grant: Option<Grant>,
    /// How messages name it.
    name: String,
}

/// Routes requests to what answers them.
pub struct Dispatcher {
    routes: RouteTable<RouteKind>,
    files: FileServer,
    pipe_limits: PipeLimits,
    handlers: HandlerWorld,
    guests: Guests,
    wpt: WptLayer,
    websockets: WebSockets,
    /// Work that holds a whole body in memory to change it (substitution,
    /// gzip) runs off the threads that serve connections, this many at once.
    heavy: Semaphore,
}

impl Dispatcher {
    /// A dispatcher over `routes`, serving files with `files` and handlers
    /// in `handlers` as `guests` says, parsing pipes under `pipe_limits`.
    pub fn new(
        routes: RouteTable<RouteKind>,
        files: FileServer,
        pipe_limits: PipeLimits,
        handlers: HandlerWorld,
        guests: Guests,
        wpt: WptLayer,
        websockets: WebSockets,
    ) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Dispatcher {
            routes,
            files,
            pipe_limits,
            handlers,
            guests,
            wpt,
            websockets,
            heavy: Semaphore::new(cores),
        }
    }

    /// The request handler world.
    pub fn handlers(&self) -> &HandlerWorld {
        &self.handlers
    }

    /// The WebSocket handler world.
    pub fn websockets(&self) -> &WebSocketWorld {
        &self.websockets.world
    }

    /// The WebSocket world's Python runner, as a source to load.
    pub fn python_ws_runner(&self) -> Option<Source> {
        self.guests.python_ws_runner.as_deref().map(Source::path)
    }

    /// The Python runner, as a source to load.
    pub fn python_runner(&self) -> Option<Source> {
        self.guests.python_runner.as_deref().map(Source::path)
    }

    /// Answers `request`. The writer is the client's: a kind that writes
    /// its own bytes uses it; it is handed back with the reply.
    pub async fn dispatch(
        &self,
        request: Arc<Request>,
        mut writer: ResponseWriter,
    ) -> (Reply, ResponseWriter) {
        if !self.wpt.latency.is_zero() {
            tokio::time::sleep(self.wpt.latency).await;
        }
        if request.peer.scheme.is_websocket() {
            return self.websocket(request, writer).await;
        }
        let rewritten = self
            .wpt
            .rewrites
            .then(|| wpt::rewrite(&request.method, &request.path))
            .flatten();
        let request = match rewritten {
            Some(to) => {
                let mut r = Request::clone(&request);
                r.path = to.to_string();
                Arc::new(r)
            }
            None => request,
        };
        let Some((route, captures)) = self.routes.find(&request.method, &request.path) else {
            let none = ErrorAnswer::NoRoute {
                method: request.method.clone(),
                path: request.path.clone(),
            };
            return (none.into(), writer);
        };
        match route.handler {
            RouteKind::Forbidden => {
                let path = request.path.clone();
                return (ErrorAnswer::Forbidden { path }.into(), writer);
            }
            RouteKind::InjectScript => return (self.inject_script(), writer),
            _ => {}
        }
        if route.handler == RouteKind::Asis {
            // Pipes never apply to `.asis` files, so a bad one is no error.
            let reply = match self.files.asis_body(&request) {
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
        let pipeline = match Pipeline::from_request(&request, &self.pipe_limits) {
            Ok(p) => p,
            Err(e) => return (Reply::Error(e.into()), writer),
        };
        match &route.handler {
            RouteKind::Handler(target) => {
                self.handler(target.as_deref(), request, captures, pipeline, writer)
                    .await
            }
            RouteKind::Python => self.python(request, captures, pipeline, writer).await,
            RouteKind::Wrapper(wrapper) => {
                let reply = self.wrapper(*wrapper, &request, pipeline.as_ref());
                (self.injected(reply).await, writer)
            }
            _ => {
                let reply = self.static_file(&request, pipeline.as_ref()).await;
                (self.injected(reply).await, writer)
            }
        }
    }

    /// A request on a `ws` or `wss` port: `/NAME` runs `NAME_wsh.wasm` of
    /// `ws_doc_root` (`404` when there is none, before any upgrade); the
    /// request must be an opening handshake (`400`, or `426` for another
    /// version).
    async fn websocket(
        &self,
        request: Arc<Request>,
        writer: ResponseWriter,
    ) -> (Reply, ResponseWriter) {
        let found = match self.ws_handler(&request) {
            Ok(found) => found,
            Err(reply) => return (reply, writer),
        };
        let key = match crate::websocket::check_handshake(&request) {
            Ok(key) => key,
            Err(no) => {
                let answer = ErrorAnswer::NotWebSocket {
                    why: no.why,
                    version: no.version,
                };
                return (answer.into(), writer);
            }
        };
        self.run_websocket(found, request, Opening::Http1 { key }, writer)
            .await
    }

    /// A WebSocket over HTTP/2 (an extended CONNECT with `:protocol
    /// websocket`, RFC 8441), answered through `answer`.
    pub async fn websocket_over_h2(
        &self,
        request: Arc<Request>,
        answer: Http2Answer,
        writer: ResponseWriter,
    ) -> (Reply, ResponseWriter) {
        match self.ws_handler(&request) {
            Ok(found) => {
                self.run_websocket(found, request, Opening::Http2(answer), writer)
                    .await
            }
            Err(reply) => (reply, writer),
        }
    }

    /// The WebSocket handler of `request`'s path: `NAME_wsh.wasm` of
    /// `ws_doc_root`, else `NAME_wsh.py` run by the Python runner with a
    /// read-only view of the handlers' directory; `404` before any upgrade
    /// when there is none.
    fn ws_handler(&self, request: &Request) -> Result<WsHandler, Reply> {
        let Some(root) = &self.websockets.root else {
            return Err(not_found(request));
        };
        let Some(stem) = ws_handler_stem(&request.path) else {
            return Err(not_found(request));
        };
        let (rel, python) = {
            let wasm = PathBuf::from(format!("{stem}_wsh.wasm"));
            let py = PathBuf::from(format!("{stem}_wsh.py"));
            let is_file = |rel: &Path| matches!(root.open(rel), Ok(o) if o.meta.is_file());
            if is_file(&wasm) {
                (wasm, false)
            } else if self.guests.python && is_file(&py) {
                (py, true)
            } else {
                return Err(not_found(request));
            }
        };
        let name = format!(
            "{}_wsh.{}",
            request.path,
            if python { "py" } else { "wasm" }
        );
        if python {
            let Some(runner) = &self.guests.python_ws_runner else {
                return Err(ErrorAnswer::NoPythonRunner { handler: name }.into());
            };
            let at = "/ws_doc_root";
            let grant = Grant {
                dirs: vec![(root.path().to_path_buf(), at.to_string())],
                paths: crate::worlds::handler::ViewPaths {
                    doc_root: at.to_string(),
                    aliases: Vec::new(),
                    script: Some(format!("{at}/{}", rel.display())),
                },
            };
            return Ok(WsHandler {
                source: Source::path(runner),
                grant: Some(grant),
                name,
            });
        }
        let opened = root.open(&rel).map_err(|e| unresolved(request, e))?;
        Ok(WsHandler {
            source: Source {
                key: root.path().join(&rel),
                file: Some(Arc::new(opened.file)),
            },
            grant: None,
            name,
        })
    }

    async fn run_websocket(
        &self,
        found: WsHandler,
        request: Arc<Request>,
        opening: Opening,
        writer: ResponseWriter,
    ) -> (Reply, ResponseWriter) {
        let loaded = match self.websockets.world.load(&found.source).await {
            Ok(loaded) => loaded,
            Err(LoadError::Missing) => return (not_found(&request), writer),
            Err(error) => {
                let e = ErrorAnswer::HandlerUnusable {
                    handler: found.name,
                    error,
                };
                return (e.into(), writer);
            }
        };
        let grant = found.grant.as_ref();
        self.websockets
            .world
            .serve(&loaded, &found.name, request, opening, grant, writer)
            .await
    }

    /// A test wrapper, generated from its source as it is now: the source's
    /// `.headers` apply to it, `.sub.` in what it loads substitutes it, then
    /// the query's pipes.
    fn wrapper(&self, wrapper: Wrapper, request: &Request, pipeline: Option<&Pipeline>) -> Reply {
        /// Enough of the source for its `// META:` lines.
        const META_BYTES: u64 = 64 << 10;
        let (resolved, opened) = match self.open_file(request, &wrapper.source_path(&request.path))
        {
            Ok(found) => found,
            Err(reply) => return reply,
        };
        let mut source = Vec::new();
        let read = std::io::Read::read_to_end(
            &mut std::io::Read::take(&opened.file, META_BYTES),
            &mut source,
        );
        if let Err(e) = read {
            return unresolved(request, ResolveError::Io(e));
        }
        let text = match wrapper.generate(&request.path, request.query.as_deref(), &source) {
            Ok(text) => text,
            Err(e) => return ErrorAnswer::Wrapper(e).into(),
        };
        let mut response = Response::new(200);
        response
            .headers
            .push("Content-Type", wrapper.content_type());
        match self.files.headers_files(request, &resolved) {
            Ok(extra) => {
                for (name, value) in extra.iter() {
                    response.headers.set(name.to_vec(), value.to_vec());
                }
            }
            Err(e) => return Reply::Error(e.into()),
        }
        let ctx = self.sub_context(
            request,
            &resolved.path,
            &resolved.root,
            &resolved.dir,
            &resolved.url_base,
        );
        let loads = wrapper.loads_path(&request.path);
        let body = if loads.contains(".sub.") {
            match substitute(text.as_bytes(), &ctx, Escape::for_file_name(&loads)) {
                Ok(body) => body,
                Err(source) => {
                    let e = files::FileError::Substitution {
                        file: request.path.clone(),
                        source,
                    };
                    return Reply::Error(e.into());
                }
            }
        } else {
            text.into_bytes()
        };
        piped(response.with_body(body), pipeline, &ctx)
    }

    /// The regular file the URL path `path` names, open; or the answer for
    /// `request` when there is none (`404`) or it cannot be read (`500`).
    fn open_file(&self, request: &Request, path: &str) -> Result<(Resolved, Opened), Reply> {
        let resolved = self
            .files
            .mounts()
            .resolve(path)
            .map_err(|e| unresolved(request, e))?;
        match resolved.open() {
            Ok(opened) if opened.meta.is_file() => Ok((resolved, opened)),
            Ok(_) => Err(not_found(request)),
            Err(e) => Err(unresolved(request, e)),
        }
    }

    /// The `--inject-script` file, read as it is now.
    fn inject_script(&self) -> Reply {
        let Some(path) = &self.wpt.inject_script else {
            return not_found_path(inject::SCRIPT_PATH);
        };
        match std::fs::read(path) {
            Ok(bytes) => Reply::Response(
                Response::new(200)
                    .with_header("Content-Type", "text/javascript")
                    .with_body(bytes),
            ),
            Err(source) => Reply::Error(
                files::FileError::Unreadable {
                    path: inject::SCRIPT_PATH.to_string(),
                    source,
                }
                .into(),
            ),
        }
    }

    /// `reply` with the `--inject-script` element in it, when it is a whole
    /// HTML page and a script is to be injected.
    async fn injected(&self, reply: Reply) -> Reply {
        if self.wpt.inject_script.is_none() {
            return reply;
        }
        let Reply::Response(mut response) = reply else {
            return reply;
        };
        let html = response.status == 200
            && response
                .headers
                .get(b"content-type")
                .is_some_and(inject::is_html);
        if !html {
            return Reply::Response(response);
        }
        let body = std::mem::take(&mut response.body);
        let read = self.off_the_connection_threads(|| body.to_bytes()).await;
        match read {
            Ok(bytes) => {
                response.body = inject::into_html(&bytes).into();
                response.headers.remove(b"content-length");
                Reply::Response(response)
            }
            Err(source) => Reply::Error(
                files::FileError::Unreadable {
                    path: "an HTML page".to_string(),
                    source,
                }
                .into(),
            ),
        }
    }

    async fn static_file(&self, request: &Request, pipeline: Option<&Pipeline>) -> Reply {
        let heavy = files::substitutes(&request.path) || pipeline.is_some_and(Pipeline::is_heavy);
        let serve = || match self.files.serve_static(request) {
            Ok(served) => {
                let r = &served.resolved;
                let ctx = self.sub_context(request, &r.path, &r.root, &r.dir, &r.url_base);
                piped(served.response, pipeline, &ctx)
            }
            Err(e) => Reply::Error(e.into()),
        };
        if heavy {
            self.off_the_connection_threads(serve).await
        } else {
            serve()
        }
    }

    /// Runs `work` where it cannot hold up a thread that serves connections
    /// (on a multi-threaded runtime: the thread hands its other tasks on
    /// first), at most one per core at a time.
    async fn off_the_connection_threads<T>(&self, work: impl FnOnce() -> T) -> T {
        let _turn = self.heavy.acquire().await;
        if Handle::current().runtime_flavor() == RuntimeFlavor::MultiThread {
            tokio::task::block_in_place(work)
        } else {
            work()
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
        // root and URL prefix its pipes substitute with. A component under
        // a mount is opened beneath its directory, and loaded from that
        // open file.
        let mounts = self.files.mounts();
        let (source, shown, root, dir, url_base) = match target {
            Some(path) => (
                Source::path(path),
                path.to_path_buf(),
                mounts.doc_root().to_path_buf(),
                mounts.doc_root_dir().clone(),
                "/".to_string(),
            ),
            None => {
                let opened = mounts
                    .resolve(&request.path)
                    .and_then(|r| r.open().map(|o| (r, o)));
                match opened {
                    Ok((r, opened)) => (
                        Source {
                            key: r.path.clone(),
                            file: Some(Arc::new(opened.file)),
                        },
                        r.path,
                        r.root,
                        r.dir,
                        r.url_base,
                    ),
                    Err(e) => return (unresolved(&request, e), writer),
                }
            }
        };
        let name = mounts.display(&shown);
        let loaded = match self.handlers.load(&source).await {
            Ok(loaded) => loaded,
            Err(LoadError::CoreModule) if target.is_none() => {
                return (self.static_file(&request, pipeline.as_ref()).await, writer)
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
        let grant = self.guests.wasm_view.then(|| view::grant(mounts, None));
        self.run(
            &loaded,
            &name,
            request,
            captures,
            grant.as_ref(),
            pipeline,
            writer,
            Sub {
                file: &shown,
                root: &root,
                dir: &dir,
                url_base: &url_base,
            },
        )
        .await
    }

    /// Runs the `.py` file the request names in the Python runner.
    async fn python(
        &self,
        request: Arc<Request>,
        captures: Captures,
        pipeline: Option<Pipeline>,
        writer: ResponseWriter,
    ) -> (Reply, ResponseWriter) {
        let mounts = self.files.mounts();
        let resolved = match self.open_file(&request, &request.path) {
            Ok((resolved, _)) => resolved,
            Err(reply) => return (reply, writer),
        };
        let name = mounts.display(&resolved.path);
        let Some(runner) = self.python_runner() else {
            return (ErrorAnswer::NoPythonRunner { handler: name }.into(), writer);
        };
        let loaded = match self.handlers.load(&runner).await {
            Ok(loaded) => loaded,
            Err(error) => {
                let e = ErrorAnswer::HandlerUnusable {
                    handler: "the Python runner".to_string(),
                    error,
                };
                return (e.into(), writer);
            }
        };
        let grant = view::grant(mounts, Some(&resolved));
        let sub = Sub {
            file: &resolved.path,
            root: &resolved.root,
            dir: &resolved.dir,
            url_base: &resolved.url_base,
        };
        self.run(
            &loaded,
            &name,
            request,
            captures,
            Some(&grant),
            pipeline,
            writer,
            sub,
        )
        .await
    }

    /// Runs a loaded handler and applies the query's pipeline to what it
    /// answers.
    #[allow(clippy::too_many_arguments)]
    async fn run(
        &self,
        loaded: &LoadedHandler,
        name: &str,
        request: Arc<Request>,
        captures: Captures,
        grant: Option<&Grant>,
        pipeline: Option<Pipeline>,
        writer: ResponseWriter,
        sub: Sub<'_>,
    ) -> (Reply, ResponseWriter) {
        let (reply, writer) = self
            .handlers
            .serve(loaded, name, request.clone(), captures, grant, writer)
            .await;
        let reply = match reply {
            Reply::Response(response) => {
                let ctx = self.sub_context(&request, sub.file, sub.root, sub.dir, sub.url_base);
                match &pipeline {
                    Some(p) if p.is_heavy() => {
                        self.off_the_connection_threads(|| piped(response, Some(p), &ctx))
                            .await
                    }
                    _ => piped(response, pipeline.as_ref(), &ctx),
                }
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
        dir: &'a RootDir,
        url_base: &'a str,
    ) -> SubContext<'a> {
        SubContext {
            request,
            topology: self.files.topology(),
            mounts: self.files.mounts(),
            file: Some(file),
            root,
            dir,
            url_base,
        }
    }
}

/// What substitution in a handler's pipes sees as the file and its mount.
struct Sub<'a> {
    file: &'a Path,
    root: &'a Path,
    dir: &'a RootDir,
    url_base: &'a str,
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

/// The answer for a request path that resolved to nothing to open: `404`,
/// or `500` when something there could not be read.
fn unresolved(request: &Request, error: ResolveError) -> Reply {
    match error {
        ResolveError::Io(source) => {
            let e = files::FileError::Unreadable {
                path: request.path.clone(),
                source,
            };
            Reply::Error(e.into())
        }
        ResolveError::Missing | ResolveError::Refused(_) => not_found(request),
    }
}

fn not_found_path(path: &str) -> Reply {
    Reply::Error(
        files::FileError::NotFound {
            path: path.to_string(),
        }
        .into(),
    )
}

fn not_found(request: &Request) -> Reply {
    Reply::Error(
        files::FileError::NotFound {
            path: request.path.clone(),
        }
        .into(),
    )
}

/// The handler of a WebSocket path, relative to `ws_doc_root` and without
/// its `_wsh.wasm` / `_wsh.py`: `/a/b` → `a/b`. Paths with empty, `.` or
/// `..` segments, backslashes or percent escapes name none.
fn ws_handler_stem(path: &str) -> Option<&str> {
    let rel = path.strip_prefix('/')?;
    let ok = !rel.is_empty()
        && !rel.contains(['%', '\\'])
        && rel
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..");
    ok.then_some(rel)
}
