//! TLS for the https listeners, configured in the shape of wpt's `ssl` key:
//! `none` (https ports dropped), `openssl` (a CA and host certificate
//! generated and kept on disk — no `openssl` binary involved) or
//! `pregenerated` (certificate and key files given).

pub mod generate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::{Config, SslKind};
use crate::hosts::Hosts;

/// TLS ready for the https listeners.
#[derive(Clone)]
pub struct Tls {
    /// Accepts TLS connections.
    pub acceptor: TlsAcceptor,
    /// The CA certificate browsers should trust, when there is one.
    pub ca_cert: Option<PathBuf>,
    /// Whether certificates were generated at this start.
    pub regenerated: bool,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("ca_cert", &self.ca_cert)
            .finish()
    }
}

/// TLS as the configuration asks, or `None` for `"type": "none"`.
pub fn from_config(config: &Config, hosts: &Hosts) -> Result<Option<Tls>, String> {
    match config.ssl.kind {
        SslKind::None => Ok(None),
        SslKind::Openssl => {
            let o = &config.ssl.openssl;
            let base = o
                .base_path
                .clone()
                .unwrap_or_else(|| crate::wasm::cache::default_dir().join("certs"));
            let mut host_names = vec![config.browser_host.clone()];
            host_names.extend(config.alternate_hosts.values().cloned());
            let domains: Vec<String> = hosts
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
            .map_err(|e| format!("ssl.openssl: {e}"))?;
            let acceptor = acceptor(&generated.host_cert, &generated.host_key)
                .map_err(|e| format!("ssl.openssl: {e}"))?;
            Ok(Some(Tls {
                acceptor,
                ca_cert: Some(generated.ca_cert),
                regenerated: generated.regenerated,
            }))
        }
        SslKind::Pregenerated => {
            let p = &config.ssl.pregenerated;
            let (Some(cert), Some(key)) = (&p.host_cert_path, &p.host_key_path) else {
                return Err(
                    "ssl.pregenerated: host_cert_path and host_key_path are required".into(),
                );
            };
            let acceptor = acceptor(cert, key).map_err(|e| format!("ssl.pregenerated: {e}"))?;
            if let Some(ca) = &p.ca_cert_path {
                if !ca.is_file() {
                    return Err(format!(
                        "ssl.pregenerated.ca_cert_path: {} is not a file",
                        ca.display()
                    ));
                }
            }
            Ok(Some(Tls {
                acceptor,
                ca_cert: p.ca_cert_path.clone(),
                regenerated: false,
            }))
        }
    }
}

/// A TLS acceptor for a certificate chain and key in PEM files; ALPN `http/1.1`.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("{}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server)))
}
