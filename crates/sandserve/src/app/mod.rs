//! The composition root: builds, from the configuration, the small values
//! each module is given — the mounts, the topology, the stash, the wasm
//! runtime and its worlds, the route table — and wires them into the
//! dispatcher the connections use. Nothing else constructs them.

pub mod precompile;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{default_cache_dir, Config, ConfigError};
use crate::dispatch::{Dispatcher, Guests, RouteKind, WebSockets, WptLayer};
use crate::files::FileServer;
use crate::mounts::{MountError, Mounts, RootDir};
use crate::route::{Methods, Pattern, PatternError, RouteTable};
use crate::session::Sessions;
use crate::stash::Stash;
use crate::tenants::Tenants;
use crate::tls::TlsError;
use crate::topology::{HostError, HostNames, Topology};
use crate::wasm::{Runtime, RuntimeError};
use crate::worlds::handler::HandlerWorld;
use crate::worlds::websocket::WebSocketWorld;
use crate::wpt;

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is unusable.
    Config(ConfigError),
    /// The document root or an alias cannot be used.
    Mount(MountError),
    /// A subdomain cannot be made into a domain name.
    Hosts(HostError),
    /// TLS could not be set up.
    Tls {
        /// The configuration key it concerns.
        key: &'static str,
        /// Why.
        error: TlsError,
    },
    /// The WebAssembly runtime could not be made.
    Runtime(RuntimeError),
    /// The stash's store cannot be used.
    Stash(String),
    /// A route's pattern is malformed.
    Route {
        /// Its index in `routes`.
        index: usize,
        /// Why.
        error: PatternError,
    },
    /// A listener could not bind.
    Bind {
        /// The scheme key.
        scheme: String,
        /// The address and port tried.
        addr: String,
        /// The system's answer.
        error: std::io::Error,
    },
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Config(e) => write!(f, "{e}"),
            StartError::Mount(e) => write!(f, "{e}"),
            StartError::Hosts(e) => write!(f, "subdomains: {e}"),
            StartError::Tls { key, error } => write!(f, "{key}: {error}"),
            StartError::Runtime(e) => write!(f, "{e}"),
            StartError::Stash(e) => write!(f, "{e}"),
            StartError::Route { index, error } => write!(f, "routes[{index}].path: {error}"),
            StartError::Bind {
                scheme,
                addr,
                error,
            } => write!(f, "cannot listen for {scheme} on {addr}: {error}"),
        }
    }
}

impl std::error::Error for StartError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StartError::Config(e) => Some(e),
            StartError::Mount(e) => Some(e),
            StartError::Hosts(e) => Some(e),
            StartError::Tls { error, .. } => Some(error),
            StartError::Runtime(e) => Some(e),
            StartError::Stash(_) => None,
            StartError::Route { error, .. } => Some(error),
            StartError::Bind { error, .. } => Some(error),
        }
    }
}

/// Everything a running server is made of.
pub struct App {
    /// Answers requests.
    pub dispatcher: Arc<Dispatcher>,
    /// The WebAssembly runtime (for its counters).
    pub runtime: Arc<Runtime>,
    /// What each client holds.
    pub tenants: Arc<Tenants>,
    /// The document root and aliases.
    pub mounts: Arc<Mounts>,
    /// The handler files the configuration names (for `--precompile`).
    pub routed_handlers: Vec<PathBuf>,
}

impl App {
    /// The mounts of `config`: its document root (default: the current
    /// directory) and aliases.
    pub fn mounts(config: &Config) -> Result<Mounts, StartError> {
        let doc_root = config
            .doc_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let aliases: Vec<(String, PathBuf)> = config
            .aliases
            .iter()
            .map(|a| (a.url_path.clone(), a.local_dir.clone()))
            .collect();
        Mounts::new(&doc_root, &aliases).map_err(StartError::Mount)
    }

    /// The names of `config` (ports are set once the listeners are bound).
    pub fn topology(config: &Config) -> Result<Topology, StartError> {
        let names = HostNames {
            browser_host: config.browser_host.clone(),
            server_host: config.bind_host().to_string(),
            alternate_hosts: config.alternate_hosts.clone(),
            subdomains: config.subdomains.clone(),
            not_subdomains: config.not_subdomains.clone(),
        };
        Topology::new(names, Default::default()).map_err(StartError::Hosts)
    }

    /// Builds every capability of `config` and the dispatcher over them.
    pub async fn build(
        config: &Config,
        mounts: Mounts,
        topology: Topology,
    ) -> Result<App, StartError> {
        let cache_dir = config
            .wasm
            .cache_dir
            .clone()
            .unwrap_or_else(default_cache_dir);
        let runtime =
            Arc::new(Runtime::new(&config.wasm, &cache_dir).map_err(StartError::Runtime)?);
        let caps = config
            .per_client
            .enabled
            .unwrap_or_else(|| config.public())
            .then(|| config.per_client.clone());
        let tenants = Arc::new(Tenants::new(caps, config.wasm.total_memory_mib()));
        let stash = Stash::open(config.stash.clone(), tenants.clone())
            .await
            .map_err(StartError::Stash)?;
        tracing::info!("stash: in {}", stash.describe());
        let stash = Arc::new(stash);
        let topology = Arc::new(topology);
        let mounts = Arc::new(mounts);
        let websockets = WebSockets {
            world: WebSocketWorld::new(
                runtime.clone(),
                stash.clone(),
                topology.clone(),
                tenants.clone(),
                config.websockets.clone(),
                config.timeouts.send(),
            )
            .map_err(|e| StartError::Runtime(RuntimeError::Linker(e)))?,
            root: ws_root(config, &mounts),
        };
        let sessions = Arc::new(Sessions::new(stash.clone(), config.sessions.clone()));
        let handlers = HandlerWorld::new(
            runtime.clone(),
            stash,
            sessions,
            topology.clone(),
            tenants.clone(),
            config.limits.max_form_fields,
        )
        .map_err(|e| StartError::Runtime(RuntimeError::Linker(e)))?;
        let files = FileServer::new(mounts.clone(), topology, config.pipes.max_body_bytes);
        let python_runner = config
            .python
            .enabled
            .then(|| {
                config
                    .python
                    .runner
                    .clone()
                    .or_else(installed_python_runner)
            })
            .flatten();
        // The WebSocket world's runner is built beside the other.
        let python_ws_runner = python_runner
            .as_deref()
            .and_then(|r| r.parent())
            .map(|dir| dir.join(WS_RUNNER))
            .filter(|p| p.is_file());
        let guests = Guests {
            python: config.python.enabled,
            python_runner,
            python_ws_runner,
            wasm_view: config.wasm.doc_root_view,
        };
        let wpt = WptLayer {
            rewrites: config.wpt.enabled,
            inject_script: config.wpt.inject_script.clone(),
            latency: std::time::Duration::from_millis(config.wpt.latency_ms),
        };
        let dispatcher = Dispatcher::new(
            routes(config)?,
            files,
            config.pipes,
            handlers,
            guests,
            wpt,
            websockets,
        );
        Ok(App {
            dispatcher: Arc::new(dispatcher),
            runtime,
            tenants,
            mounts,
            routed_handlers: config.routes.iter().map(|r| r.handler.clone()).collect(),
        })
    }
}

/// `ws_doc_root` (default: `websockets/handlers` under the document root),
/// open; `None` when it is not a directory.
fn ws_root(config: &Config, mounts: &Mounts) -> Option<Arc<RootDir>> {
    let dir = config
        .ws_doc_root
        .clone()
        .unwrap_or_else(|| mounts.doc_root().join("websockets").join("handlers"));
    RootDir::open_dir(&dir).ok().map(Arc::new)
}

/// The file name of the WebSocket world's Python runner, beside the other.
const WS_RUNNER: &str = "ws-runner.wasm";

/// The Python runner installed with the binary: `sandserve-python.wasm`
/// beside it, else `python/runner.wasm` in the directory above (a build
/// tree's `target/python/runner.wasm` for `target/release/sandserve`).
pub fn installed_python_runner() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [
        dir.join("sandserve-python.wasm"),
        dir.parent()?.join("python").join("runner.wasm"),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// The route table: with `--inject-script`, its script; with `--wpt`, the
/// paths a WPT checkout never serves; the configured routes to handlers;
/// with `--wpt`, the test wrappers; then the defaults — `*.asis` (GET),
/// `*.wasm` (any method), `*.py` (any method), files (GET).
pub fn routes(config: &Config) -> Result<RouteTable<RouteKind>, StartError> {
    let get = || Methods::Only(vec!["GET".to_string()]);
    let pattern = |p: &str| Pattern::new(p).expect("valid pattern");
    let mut table = RouteTable::new();
    if config.wpt.inject_script.is_some() {
        table.push(
            get(),
            pattern(wpt::inject::SCRIPT_PATH),
            RouteKind::InjectScript,
        );
    }
    if config.wpt.enabled {
        for (method, path) in wpt::FORBIDDEN_EXCEPT {
            let kind = if path.ends_with(".py") {
                RouteKind::Python
            } else {
                RouteKind::Files
            };
            table.push(Methods::Only(vec![method.to_string()]), pattern(path), kind);
        }
        for path in wpt::FORBIDDEN {
            table.push(Methods::Any, pattern(path), RouteKind::Forbidden);
        }
    }
    for (index, route) in config.routes.iter().enumerate() {
        let pattern =
            Pattern::new(&route.path).map_err(|error| StartError::Route { index, error })?;
        let methods = if route.methods.is_empty() || route.methods.iter().any(|m| m == "*") {
            Methods::Any
        } else {
            Methods::Only(route.methods.clone())
        };
        table.push(
            methods,
            pattern,
            RouteKind::Handler(Some(route.handler.clone())),
        );
    }
    if config.wpt.enabled {
        for wrapper in wpt::wrappers::ALL {
            table.push(
                get(),
                pattern(&wrapper.pattern()),
                RouteKind::Wrapper(*wrapper),
            );
        }
    }
    table.push(get(), pattern("*.asis"), RouteKind::Asis);
    if config.wpt.enabled && config.python.enabled {
        for path in wpt::WELL_KNOWN_PYTHON {
            table.push(get(), pattern(path), RouteKind::Python);
        }
    }
    table.push(Methods::Any, pattern("*.wasm"), RouteKind::Handler(None));
    if config.python.enabled {
        table.push(Methods::Any, pattern("*.py"), RouteKind::Python);
    }
    table.push(get(), pattern("*"), RouteKind::Files);
    Ok(table)
}
