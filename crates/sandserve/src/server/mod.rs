//! The server: listeners bound from the configuration, the site they serve,
//! and an orderly shutdown.

pub mod connection;
mod listener;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::{Config, ConfigError};
use crate::files::Mounts;
use crate::handler::{routes, Handler};
use crate::hosts::Hosts;
use crate::http::Scheme;
use crate::route::RouteTable;
use crate::stash::Stash;
use crate::wasm::WasmRuntime;

pub use listener::{is_bad_port, BAD_PORTS};

/// Everything a request may need that is shared by every connection.
#[derive(Debug)]
pub struct Site {
    /// The configuration in force.
    pub config: Config,
    /// The document root and aliases.
    pub mounts: Mounts,
    /// The route table.
    pub routes: RouteTable<Handler>,
    /// The ports actually bound, per scheme, in configuration order.
    pub ports: BTreeMap<String, Vec<u16>>,
    /// Every host name and its subdomains.
    pub hosts: Hosts,
    /// The WebAssembly handler runtime.
    pub wasm: WasmRuntime,
    /// State shared between requests.
    pub stash: Stash,
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

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is unusable.
    Config(ConfigError),
    /// The document root or an alias cannot be used.
    DocRoot(std::io::Error),
    /// TLS could not be set up (certificates missing, unreadable, or not
    /// generated).
    Tls(String),
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
            StartError::DocRoot(e) => write!(f, "{e}"),
            StartError::Tls(e) => write!(f, "{e}"),
            StartError::Bind {
                scheme,
                addr,
                error,
            } => write!(f, "cannot listen for {scheme} on {addr}: {error}"),
        }
    }
}

impl std::error::Error for StartError {}

/// A configuration problem found while starting (the configuration may not
/// have come from a file).
fn config_error(message: String) -> StartError {
    StartError::Config(ConfigError {
        source: "configuration".into(),
        message,
    })
}

/// A bound server, ready to run.
pub struct Server {
    site: Arc<Site>,
    listeners: Vec<listener::Listener>,
    tls: Option<crate::tls::Tls>,
}

impl Server {
    /// Validates the configuration, opens the document root and binds every
    /// listener. Nothing is served until [`Server::run`].
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        config.validate().map_err(config_error)?;
        let doc_root = config
            .doc_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("."));
        let aliases: Vec<(String, PathBuf)> = config
            .aliases
            .iter()
            .map(|a| (a.url_path.clone(), a.local_dir.clone()))
            .collect();
        let mounts = Mounts::new(&doc_root, &aliases).map_err(StartError::DocRoot)?;
        if !mounts.doc_root().is_dir() {
            return Err(StartError::DocRoot(std::io::Error::other(format!(
                "document root {} is not a directory",
                doc_root.display()
            ))));
        }
        let hosts =
            Hosts::from_config(&config).map_err(|e| config_error(format!("subdomains: {e}")))?;
        let tls = crate::tls::from_config(&config, &hosts).map_err(StartError::Tls)?;
        let mut listeners = Vec::new();
        let mut ports = BTreeMap::new();
        for (scheme_name, specs) in &config.ports {
            if specs.is_empty() {
                continue;
            }
            let (scheme, acceptor) = match scheme_name.as_str() {
                "http" | "http-local" | "http-public" => (Scheme::Http, None),
                "https" | "https-local" | "https-public" => match &tls {
                    Some(tls) => (Scheme::Https, Some(tls.acceptor.clone())),
                    None => {
                        tracing::info!("ssl type is none: {scheme_name} ports are not served");
                        continue;
                    }
                },
                other => {
                    tracing::warn!("ports.{other}: this scheme is not served by sandserve");
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
        let wasm = WasmRuntime::new(&config.wasm).map_err(config_error)?;
        let routes = routes(&config).map_err(config_error)?;
        let stash = Stash::new(config.stash.clone());
        let site = Arc::new(Site {
            config,
            mounts,
            routes,
            ports,
            hosts,
            wasm,
            stash,
        });
        Ok(Server {
            site,
            listeners,
            tls,
        })
    }

    /// The bound listeners.
    pub fn listeners(&self) -> Vec<ListenerInfo> {
        self.listeners.iter().map(|l| l.info.clone()).collect()
    }

    /// The CA certificate browsers should trust for the https listeners.
    pub fn ca_cert(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().and_then(|t| t.ca_cert.as_deref())
    }

    /// The site being served.
    pub fn site(&self) -> &Arc<Site> {
        &self.site
    }

    /// Serves until `shutdown` is cancelled; then stops accepting, lets the
    /// requests in flight finish (within the shutdown grace time) and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let connections = TaskTracker::new();
        let mut accepting = tokio::task::JoinSet::new();
        for l in self.listeners {
            accepting.spawn(l.accept_loop(
                self.site.clone(),
                connections.clone(),
                shutdown.clone(),
            ));
        }
        while accepting.join_next().await.is_some() {}
        connections.close();
        let grace = self.site.config.timeouts.shutdown_grace();
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
