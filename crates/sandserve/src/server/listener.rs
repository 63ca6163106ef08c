//! Binding a port and accepting connections on it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::connection::{self, Shared};
use super::{ListenerInfo, StartError};
use crate::config::{Config, PortSpec};
use crate::http::{Peer, Scheme};

/// The Fetch standard's bad ports: browsers refuse them, so `"auto"` never picks one.
pub const BAD_PORTS: &[u16] = &[
    0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101,
    102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427,
    465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563, 587, 601, 636, 989, 990,
    993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667,
    6668, 6669, 6679, 6697, 10080,
];

/// Whether browsers refuse to connect to `port`.
pub fn is_bad_port(port: u16) -> bool {
    BAD_PORTS.contains(&port)
}

/// A port on `host` that is free now and not a bad one, let go again.
pub(super) async fn free_port(host: &str) -> std::io::Result<u16> {
    let addr = resolve(host, 0).await?;
    for _ in 0..20 {
        let port = listen(addr)?.local_addr()?.port();
        if !is_bad_port(port) {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("no free port that browsers accept"))
}

pub(super) struct Listener {
    pub(super) info: ListenerInfo,
    tcp: TcpListener,
    scheme: Scheme,
    tls: Option<TlsAcceptor>,
}

impl Listener {
    pub(super) async fn bind(
        config: &Config,
        scheme_name: &str,
        scheme: Scheme,
        tls: Option<TlsAcceptor>,
        spec: PortSpec,
    ) -> Result<Listener, StartError> {
        let host = config.bind_host();
        let port = match spec {
            PortSpec::Port(p) => p,
            PortSpec::Auto => 0,
        };
        let bind_error = |error| StartError::Bind {
            scheme: scheme_name.to_string(),
            addr: format!("{host}:{port}"),
            error,
        };
        let addr = resolve(host, port).await.map_err(bind_error)?;
        let mut tcp = listen(addr).map_err(bind_error)?;
        // An ephemeral port is almost never a bad one, but make sure.
        let mut tries = 0;
        while port == 0 && is_bad_port(tcp.local_addr().map_err(bind_error)?.port()) && tries < 20 {
            tcp = listen(addr).map_err(bind_error)?;
            tries += 1;
        }
        let bound = tcp.local_addr().map_err(bind_error)?;
        let url = format!(
            "{}://{}:{}/",
            scheme.as_str(),
            config.browser_host,
            bound.port()
        );
        Ok(Listener {
            info: ListenerInfo {
                scheme_name: scheme_name.to_string(),
                addr: bound,
                url,
            },
            tcp,
            scheme,
            tls,
        })
    }

    pub(super) async fn accept_loop(
        self,
        shared: Arc<Shared>,
        connections: TaskTracker,
        shutdown: CancellationToken,
    ) {
        loop {
            let accepted = tokio::select! {
                _ = shutdown.cancelled() => return,
                accepted = self.tcp.accept() => accepted,
            };
            match accepted {
                Ok((stream, client)) => {
                    // Past a cap, answered at once and closed: waiting on
                    // this client would hold up everyone else.
                    let admitted = match shared.admit(client.ip()) {
                        Ok(admitted) => admitted,
                        Err(answer) => {
                            if self.tls.is_none() {
                                let _ = stream.try_write(&connection::canned(&answer));
                            }
                            tracing::debug!(client = %client, "connection refused: {answer}");
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let server = stream.local_addr().unwrap_or(self.info.addr);
                    let peer = Peer {
                        client,
                        server,
                        scheme: self.scheme,
                    };
                    match &self.tls {
                        None => {
                            let serving = connection::serve(
                                Box::new(stream),
                                peer,
                                shared.clone(),
                                shutdown.clone(),
                            );
                            connections.spawn(async move {
                                serving.await;
                                drop(admitted);
                            });
                        }
                        Some(tls) => {
                            let (tls, shared, shutdown) =
                                (tls.clone(), shared.clone(), shutdown.clone());
                            connections.spawn(async move {
                                // The handshake happens in the connection's own task:
                                // a slow or broken one holds up nobody else.
                                let limit = shared.timeouts.header_read();
                                match tokio::time::timeout(limit, tls.accept(stream)).await {
                                    Ok(Ok(stream)) if peer.scheme == Scheme::H2 => {
                                        super::h2::serve(Box::new(stream), peer, shared, shutdown).await
                                    }
                                    Ok(Ok(stream)) => {
                                        connection::serve(Box::new(stream), peer, shared, shutdown).await
                                    }
                                    Ok(Err(e)) => {
                                        tracing::debug!(client = %client, "TLS handshake failed: {e}")
                                    }
                                    Err(_) => tracing::debug!(client = %client, "TLS handshake timed out"),
                                }
                                drop(admitted);
                            });
                        }
                    }
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!("accept on {} failed: {e}", self.info.addr);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "host name has no address"))
}

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(2048)
}
