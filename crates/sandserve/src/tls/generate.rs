//! The `openssl` certificate type, without an `openssl` binary: a local CA,
//! name-constrained to the configured hosts, and one host certificate whose
//! subject alternative names list every configured domain (IDNA-encoded).
//!
//! Both are kept in `base_path` and reused while they are valid: the CA while
//! it has not expired and still covers the configured hosts (so a browser
//! told to trust it keeps trusting it), the host certificate while it has not
//! expired and lists exactly the configured domains.

use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::TlsError;
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints,
};

/// Files of a generated certificate set.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The CA certificate (what browsers are told to trust).
    pub ca_cert: PathBuf,
    /// The host certificate chain (host, then CA).
    pub host_cert: PathBuf,
    /// The host key.
    pub host_key: PathBuf,
    /// Whether anything was generated now (rather than reused).
    pub regenerated: bool,
}

/// What to generate.
pub struct Request<'a> {
    /// Where the files live.
    pub base_path: &'a Path,
    /// The hosts the CA may issue for (browser host and alternate hosts).
    pub hosts: &'a [String],
    /// Every domain the host certificate must name.
    pub domains: &'a [String],
    /// Validity in days.
    pub days: u32,
    /// Generate again even if the files are valid.
    pub force: bool,
}

/// Makes (or reuses) the CA and host certificate.
pub fn ensure(req: &Request) -> Result<Generated, TlsError> {
    let dir = req.base_path;
    fs::create_dir_all(dir).map_err(|e| TlsError::file(dir, e))?;
    let paths = Generated {
        ca_cert: dir.join("cacert.pem"),
        host_cert: dir.join("host.pem"),
        host_key: dir.join("host.key"),
        regenerated: false,
    };
    let ca_key_path = dir.join("cakey.pem");
    let ca_meta = dir.join("ca.meta");
    let host_meta = dir.join("host.meta");
    let now = SystemTime::now();
    let days = Duration::from_secs(u64::from(req.days.max(1)) * 86_400);

    let mut hosts = req.hosts.to_vec();
    hosts.sort();
    let ca_wanted = hosts.join("\n");
    let ca_ok = !req.force
        && valid_meta(&ca_meta, &ca_wanted, now)
        && paths.ca_cert.exists()
        && ca_key_path.exists();
    let (ca_pem, ca_key) = if ca_ok {
        let pem = read(&paths.ca_cert)?;
        let key =
            KeyPair::from_pem(&read(&ca_key_path)?).map_err(|e| TlsError::cert("CA key", e))?;
        (pem, key)
    } else {
        let key = KeyPair::generate().map_err(|e| TlsError::cert("CA key", e))?;
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(|e| TlsError::cert("CA", e))?;
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, "sandserve test CA");
        name.push(DnType::OrganizationName, "sandserve");
        params.distinguished_name = name;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: hosts
                .iter()
                .map(|h| match h.parse::<IpAddr>() {
                    Ok(ip) => GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                        ip,
                        if ip.is_ipv4() { 32 } else { 128 },
                    )),
                    Err(_) => GeneralSubtree::DnsName(ascii(h)),
                })
                .collect(),
            excluded_subtrees: Vec::new(),
        });
        params.not_before = (now - Duration::from_secs(3600)).into();
        params.not_after = (now + days).into();
        let cert = params
            .self_signed(&key)
            .map_err(|e| TlsError::cert("CA", e))?;
        write_private(&ca_key_path, key.serialize_pem().as_bytes())?;
        fs::write(&paths.ca_cert, cert.pem()).map_err(|e| TlsError::file(&paths.ca_cert, e))?;
        write_meta(&ca_meta, &ca_wanted, now + days)?;
        let _ = fs::remove_file(&host_meta); // a new CA needs a new host certificate
        (cert.pem(), key)
    };

    let mut domains: Vec<String> = req.domains.iter().map(|d| ascii(d)).collect();
    domains.sort();
    domains.dedup();
    let host_wanted = domains.join("\n");
    if ca_ok
        && valid_meta(&host_meta, &host_wanted, now)
        && paths.host_cert.exists()
        && paths.host_key.exists()
    {
        return Ok(paths);
    }
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, &ca_key).map_err(|e| TlsError::cert("CA", e))?;
    let key = KeyPair::generate().map_err(|e| TlsError::cert("host key", e))?;
    let mut params = CertificateParams::new(domains.clone())
        .map_err(|e| TlsError::cert("host certificate", e))?;
    let mut name = DistinguishedName::new();
    name.push(
        DnType::CommonName,
        domains.first().cloned().unwrap_or_default(),
    );
    params.distinguished_name = name;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.not_before = (now - Duration::from_secs(3600)).into();
    params.not_after = (now + days).into();
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| TlsError::cert("host certificate", e))?;
    write_private(&paths.host_key, key.serialize_pem().as_bytes())?;
    fs::write(&paths.host_cert, format!("{}{}", cert.pem(), ca_pem))
        .map_err(|e| TlsError::file(&paths.host_cert, e))?;
    write_meta(&host_meta, &host_wanted, now + days)?;
    Ok(Generated {
        regenerated: true,
        ..paths
    })
}

/// A domain in the ASCII (IDNA) form certificates carry.
fn ascii(domain: &str) -> String {
    idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_string())
}

fn read(path: &Path) -> Result<String, TlsError> {
    fs::read_to_string(path).map_err(|e| TlsError::file(path, e))
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = fs::remove_file(path);
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| TlsError::file(path, e))
}

/// `meta` files: the expiry (seconds since the epoch), then what was covered.
fn write_meta(path: &Path, covered: &str, expires: SystemTime) -> Result<(), TlsError> {
    let secs = expires
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    fs::write(path, format!("{secs}\n{covered}")).map_err(|e| TlsError::file(path, e))
}

fn valid_meta(path: &Path, covered: &str, now: SystemTime) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    let Some((secs, rest)) = text.split_once('\n') else {
        return false;
    };
    let Ok(secs) = secs.parse::<u64>() else {
        return false;
    };
    // Renew a day before expiry.
    let expires = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    rest == covered && expires > now + Duration::from_secs(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(
        base: &'a Path,
        hosts: &'a [String],
        domains: &'a [String],
        force: bool,
    ) -> Request<'a> {
        Request {
            base_path: base,
            hosts,
            domains,
            days: 30,
            force,
        }
    }

    #[test]
    fn reuses_while_valid_and_regenerates_on_change() {
        let base = std::env::temp_dir().join(format!("sandserve-certs-{:016x}", fastrand::u64(..)));
        let hosts = vec!["web-platform.test".to_string()];
        let mut domains = vec![
            "web-platform.test".to_string(),
            "www.web-platform.test".to_string(),
        ];
        let first = ensure(&request(&base, &hosts, &domains, false)).unwrap();
        assert!(first.regenerated);
        let ca = fs::read(&first.ca_cert).unwrap();
        let host = fs::read(&first.host_cert).unwrap();

        let again = ensure(&request(&base, &hosts, &domains, false)).unwrap();
        assert!(!again.regenerated);
        assert_eq!(fs::read(&again.host_cert).unwrap(), host, "reused");

        domains.push("élève.web-platform.test".to_string());
        let grown = ensure(&request(&base, &hosts, &domains, false)).unwrap();
        assert!(
            grown.regenerated,
            "a new domain needs a new host certificate"
        );
        assert_eq!(
            fs::read(&grown.ca_cert).unwrap(),
            ca,
            "but the CA browsers trust is kept"
        );
        let pem = fs::read_to_string(&grown.host_cert).unwrap();
        assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "host then CA");

        let forced = ensure(&request(&base, &hosts, &domains, true)).unwrap();
        assert!(forced.regenerated);
        assert_ne!(
            fs::read(&forced.ca_cert).unwrap(),
            ca,
            "force_regenerate makes a new CA"
        );
        fs::remove_dir_all(base).unwrap();
    }
}
