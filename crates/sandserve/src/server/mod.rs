//! The server: listeners bound from the configuration, the application they
//! serve, and an orderly shutdown.

mod connection;
mod h2;
mod listener;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::precompile::{precompile, Summary};
use crate::app::{App, StartError};
use crate::config::{Config, PortSpec, Timeouts};
use crate::http::Scheme;
use crate::wasm::{LoadStats, Runtime};
use connection::Shared;

pub use listener::is_bad_port;

/// Raises the soft limit on open files to the hard limit (a server that
/// runs out of descriptors stalls everyone), and returns the limit in force.
fn open_file_limit() -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!("cannot raise the open-file limit: {e}");
        }
    }
    let now = getrlimit(Resource::Nofile).current;
    now.map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A listener that is bound and ready.
#[derive(Clone, Debug)]
pub struct ListenerInfo {
    /// The scheme key of the configuration (`http`, `http-local`, …).
    pub scheme_name: String,
    /// The bound address.
    pub addr: SocketAddr,
    /// The URL a browser would use.
    pub url: String,
}

/// Counters of a running server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// How handler components were obtained since start-up.
    pub loads: LoadStats,
    /// Handler instances running now.
    pub instances_running: usize,
    /// Handler instances started since start-up.
    pub instances_started: u64,
    /// Linear memory held by live handler instances, in bytes.
    pub instance_memory: u64,
    /// Connection tasks that panicked (each closed its own connection only).
    pub connection_panics: u64,
    /// Connections open now.
    pub connections_open: usize,
    /// Connections refused at a cap (the server's or a client's).
    pub connections_refused: u64,
    /// Client addresses holding anything counted against their caps.
    pub clients: usize,
}

/// Reads a server's counters, also while it runs.
#[derive(Clone)]
pub struct Monitor {
    runtime: Arc<Runtime>,
    shared: Arc<Shared>,
}

impl Monitor {
    /// The counters now.
    pub fn stats(&self) -> Stats {
        Stats {
            loads: self.runtime.load_stats(),
            instances_running: self.runtime.instances_running(),
            instances_started: self.runtime.instances_started(),
            instance_memory: self.runtime.memory_held(),
            connection_panics: self.shared.panics.load(Ordering::Relaxed),
            connections_open: self.shared.open.load(Ordering::Relaxed),
            connections_refused: self.shared.refused.load(Ordering::Relaxed),
            clients: self.shared.tenants.clients(),
        }
    }
}

/// A bound server, ready to run.
pub struct Server {
    app: App,
    shared: Arc<Shared>,
    listeners: Vec<listener::Listener>,
    tls: Option<crate::tls::Tls>,
    timeouts: Timeouts,
}

impl Server {
    /// Validates the configuration, opens the document root and binds every
    /// listener. Nothing is served until [`Server::run`].
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        config
            .validate("configuration")
            .map_err(StartError::Config)?;
        let mounts = App::mounts(&config)?;
        let mut topology = App::topology(&config)?;
        let tls = crate::tls::from_config(&config, &topology)
            .map_err(|(key, error)| StartError::Tls { key, error })?;
        let mut listeners = Vec::new();
        let mut ports = BTreeMap::new();
        for (scheme_name, specs) in &config.ports {
            if specs.is_empty() {
                continue;
            }
            let (scheme, acceptor) = match scheme_name.as_str() {
                "http" | "http-local" | "http-public" => (Scheme::Http, None),
                "ws" => (Scheme::Ws, None),
                "https" | "https-local" | "https-public" | "wss" | "h2" | "http2" => match &tls {
                    Some(tls) => match scheme_name.as_str() {
                        "wss" => (Scheme::Wss, Some(tls.acceptor.clone())),
                        "h2" | "http2" => (Scheme::H2, Some(tls.h2_acceptor.clone())),
                        _ => (Scheme::Https, Some(tls.acceptor.clone())),
                    },
                    None => {
                        tracing::info!("ssl type is none: {scheme_name} ports are not served");
                        ports.insert(scheme_name.clone(), unserved_ports(&config, specs).await);
                        continue;
                    }
                },
                other => {
                    tracing::warn!("ports.{other}: this scheme is not served by sandserve");
                    ports.insert(scheme_name.clone(), unserved_ports(&config, specs).await);
                    continue;
                }
            };
            let mut bound = Vec::new();
            for spec in specs {
                let l =
                    listener::Listener::bind(&config, scheme_name, scheme, acceptor.clone(), *spec)
                        .await?;
                bound.push(l.info.addr.port());
                listeners.push(l);
            }
            ports.insert(scheme_name.clone(), bound);
        }
        topology.set_ports(ports);
        let app = App::build(&config, mounts, topology).await?;
        let max_connections = config
            .limits
            .max_connections
            .unwrap_or_else(|| open_file_limit().saturating_sub(256).max(64));
        let shared = Arc::new(Shared {
            tenants: app.tenants.clone(),
            open: AtomicUsize::new(0),
            max_connections,
            refused: AtomicU64::new(0),
            dispatcher: app.dispatcher.clone(),
            limits: config.limits.clone(),
            timeouts: config.timeouts.clone(),
            lenient_host: config.lenient_host,
            bodies: Arc::new(Semaphore::new(
                usize::try_from(config.limits.max_buffered_body_mib.saturating_mul(1024))
                    .unwrap_or(usize::MAX)
                    .min(Semaphore::MAX_PERMITS),
            )),
            panics: AtomicU64::new(0),
        });
        Ok(Server {
            app,
            shared,
            listeners,
            tls,
            timeouts: config.timeouts,
        })
    }

    /// The bound listeners.
    pub fn listeners(&self) -> Vec<ListenerInfo> {
        self.listeners.iter().map(|l| l.info.clone()).collect()
    }

    /// The CA certificate browsers should trust for the https listeners.
    pub fn ca_cert(&self) -> Option<&Path> {
        self.tls.as_ref().and_then(|t| t.ca_cert.as_deref())
    }

    /// The document root being served.
    pub fn doc_root(&self) -> &Path {
        self.app.mounts.doc_root()
    }

    /// Whether the caps per client address apply (`per_client`).
    pub fn client_caps(&self) -> bool {
        self.app.tenants.enabled()
    }

    /// A reader of the server's counters.
    pub fn monitor(&self) -> Monitor {
        Monitor {
            runtime: self.app.runtime.clone(),
            shared: self.shared.clone(),
        }
    }

    /// The Python runner `.py` handlers run in; `None` when Python handlers
    /// are off or the runner is not installed.
    pub fn python_runner(&self) -> Option<PathBuf> {
        self.app.dispatcher.python_runner().map(|s| s.key)
    }

    /// Loads the Python runner in the background (compiling it, or reading
    /// it from the disk cache), so that the first `.py` request does not
    /// pay for it; a request that comes earlier waits for the same load.
    fn prepare_python_runner(&self) {
        let dispatcher = self.app.dispatcher.clone();
        let websockets = self
            .listeners
            .iter()
            .any(|l| l.info.scheme_name == "ws" || l.info.scheme_name == "wss");
        if let Some(runner) = dispatcher.python_ws_runner().filter(|_| websockets) {
            let dispatcher = dispatcher.clone();
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                match dispatcher.websockets().load(&runner).await {
                    Ok(_) => tracing::info!(
                        "Python WebSocket runner ready in {:.2} s",
                        started.elapsed().as_secs_f64()
                    ),
                    Err(e) => tracing::warn!("Python runner {}: {e}", runner.key.display()),
                }
            });
        }
        let Some(runner) = dispatcher.python_runner() else {
            return;
        };
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            match dispatcher.handlers().load(&runner).await {
                Ok(_) => tracing::info!(
                    "Python runner ready in {:.2} s",
                    started.elapsed().as_secs_f64()
                ),
                Err(e) => tracing::warn!("Python runner {}: {e}", runner.key.display()),
            }
        });
    }

    /// Compiles every handler under the document root and of the routes;
    /// `progress` is told (done, total) after each.
    pub async fn precompile(&self, progress: impl FnMut(usize, usize)) -> Summary {
        precompile(&self.app, progress).await
    }

    /// Serves until `shutdown` is cancelled; then stops accepting, lets the
    /// requests in flight finish (within the shutdown grace time) and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        self.prepare_python_runner();
        let connections = TaskTracker::new();
        let mut accepting = tokio::task::JoinSet::new();
        for l in self.listeners {
            accepting.spawn(l.accept_loop(
                self.shared.clone(),
                connections.clone(),
                shutdown.clone(),
            ));
        }
        while accepting.join_next().await.is_some() {}
        connections.close();
        let grace = self.timeouts.shutdown_grace();
        if tokio::time::timeout(grace, connections.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "{} connections still open after {grace:?}; closing them",
                connections.len()
            );
        }
    }
}

/// The ports of a scheme that is not served, as substitution names them
/// (`{{ports[ws][0]}}`): the configured numbers, and for `"auto"` a port
/// that was free a moment ago (taken and let go, so that a client trying
/// it is refused rather than left waiting).
async fn unserved_ports(config: &Config, specs: &[PortSpec]) -> Vec<u16> {
    let mut out = Vec::with_capacity(specs.len());
    for spec in specs {
        let port = match spec {
            PortSpec::Port(p) => *p,
            PortSpec::Auto => listener::free_port(config.bind_host()).await.unwrap_or(0),
        };
        out.push(port);
    }
    out
}
