//! TLS for the https listeners, configured in the shape of wpt's `ssl` key:
//! `none` (https ports dropped), `openssl` (a CA and host certificate
//! generated and kept on disk — no `openssl` binary involved) or
//! `pregenerated` (certificate and key files given).

pub mod generate;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::{default_cache_dir, Config, SslKind};
use crate::topology::Topology;

/// Why TLS could not be set up.
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A certificate or key file could not be read or written.
    File {
        /// The file.
        path: PathBuf,
        /// The system's answer.
        source: std::io::Error,
    },
    /// Generating a key or certificate failed.
    Certificate {
        /// Which.
        what: &'static str,
        /// rcgen's answer.
        source: rcgen::Error,
    },
    /// A PEM file could not be parsed.
    Pem {
        /// The file.
        path: PathBuf,
        /// The parser's answer.
        source: rustls_pki_types::pem::Error,
    },
    /// A certificate file with no certificate in it.
    NoCertificate(PathBuf),
    /// rustls refused the certificate and key.
    Refused {
        /// The certificate file.
        path: PathBuf,
        /// rustls's answer.
        source: rustls::Error,
    },
    /// `pregenerated` without `host_cert_path` and `host_key_path`.
    MissingPaths,
    /// `ca_cert_path` is not a file.
    CaNotAFile(PathBuf),
}

impl TlsError {
    fn file(path: &Path, source: std::io::Error) -> Self {
        TlsError::File {
            path: path.to_path_buf(),
            source,
        }
    }

    fn cert(what: &'static str, source: rcgen::Error) -> Self {
        TlsError::Certificate { what, source }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::File { path, source } => write!(f, "{}: {source}", path.display()),
            TlsError::Certificate { what, source } => write!(f, "{what}: {source}"),
            TlsError::Pem { path, source } => write!(f, "{}: {source}", path.display()),
            TlsError::NoCertificate(path) => write!(f, "{}: no certificate in it", path.display()),
            TlsError::Refused { path, source } => write!(f, "{}: {source}", path.display()),
            TlsError::MissingPaths => {
                write!(f, "host_cert_path and host_key_path are required")
            }
            TlsError::CaNotAFile(path) => {
                write!(f, "ca_cert_path: {} is not a file", path.display())
            }
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::File { source, .. } => Some(source),
            TlsError::Certificate { source, .. } => Some(source),
            TlsError::Pem { source, .. } => Some(source),
            TlsError::Refused { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// TLS ready for the https listeners.
#[derive(Clone)]
pub struct Tls {
    /// Accepts TLS connections (ALPN `http/1.1`).
    pub acceptor: TlsAcceptor,
    /// The same certificate with ALPN `h2`, for the h2 ports.
    pub h2_acceptor: TlsAcceptor,
    /// The CA certificate browsers should trust, when there is one.
    pub ca_cert: Option<PathBuf>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

/// TLS as the configuration asks, or `None` for `"type": "none"`. An error
/// names the configuration key it concerns.
pub fn from_config(
    config: &Config,
    topology: &Topology,
) -> Result<Option<Tls>, (&'static str, TlsError)> {
    match config.ssl.kind {
        SslKind::None => Ok(None),
        SslKind::Openssl => {
            let key = "ssl.openssl";
            let o = &config.ssl.openssl;
            let base = o
                .base_path
                .clone()
                .unwrap_or_else(|| default_cache_dir().join("certs"));
            let mut host_names = vec![config.browser_host.clone()];
            host_names.extend(config.alternate_hosts.values().cloned());
            let domains: Vec<String> = topology
                .all_domains()
                .into_iter()
                .map(str::to_string)
                .collect();
            let generated = generate::ensure(&generate::Request {
                base_path: &base,
                hosts: &host_names,
                domains: &domains,
                days: o.duration,
                force: o.force_regenerate,
            })
            .map_err(|e| (key, e))?;
            if generated.regenerated {
                tracing::info!("generated a host certificate in {}", base.display());
            }
            let (acceptor, h2_acceptor) =
                acceptors(&generated.host_cert, &generated.host_key).map_err(|e| (key, e))?;
            Ok(Some(Tls {
                acceptor,
                h2_acceptor,
                ca_cert: Some(generated.ca_cert),
            }))
        }
        SslKind::Pregenerated => {
            let key = "ssl.pregenerated";
            let p = &config.ssl.pregenerated;
            let (Some(cert), Some(host_key)) = (&p.host_cert_path, &p.host_key_path) else {
                return Err((key, TlsError::MissingPaths));
            };
            let (acceptor, h2_acceptor) = acceptors(cert, host_key).map_err(|e| (key, e))?;
            if let Some(ca) = &p.ca_cert_path {
                if !ca.is_file() {
                    return Err((key, TlsError::CaNotAFile(ca.clone())));
                }
            }
            Ok(Some(Tls {
                acceptor,
                h2_acceptor,
                ca_cert: p.ca_cert_path.clone(),
            }))
        }
    }
}

/// TLS acceptors for a certificate chain and key in PEM files: ALPN
/// `http/1.1`, and ALPN `h2`.
pub fn acceptors(cert: &Path, key: &Path) -> Result<(TlsAcceptor, TlsAcceptor), TlsError> {
    fn pem(path: &Path) -> impl FnOnce(rustls_pki_types::pem::Error) -> TlsError + '_ {
        move |source| TlsError::Pem {
            path: path.to_path_buf(),
            source,
        }
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(pem(cert))?
        .collect::<Result<_, _>>()
        .map_err(pem(cert))?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(cert.to_path_buf()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(pem(key))?;
    let refused = |source| TlsError::Refused {
        path: cert.to_path_buf(),
        source,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(refused)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(refused)?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    let mut h2 = server.clone();
    h2.alpn_protocols = vec![b"h2".to_vec()];
    Ok((
        TlsAcceptor::from(Arc::new(server)),
        TlsAcceptor::from(Arc::new(h2)),
    ))
}
