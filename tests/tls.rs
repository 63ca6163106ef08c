//! TLS and many origins: generated and pregenerated certificates, every
//! domain by SNI on every https port, the same content on every port, and
//! misbehaving clients that disturb nobody else.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use sandserve::config::{PortSpec, SslKind};
use sandserve::Config;
use sandserve_tests::{
    parse_all, tls_client_config, write_certificates, DocRoot, Resp, TestServer,
};

fn client_config(ca_pem: &Path) -> Arc<rustls::ClientConfig> {
    tls_client_config(ca_pem, &[b"h2", b"http/1.1"])
}

/// One request over TLS to `addr` naming `host` (SNI and Host); the answer,
/// read until the server closes.
fn https_get(addr: SocketAddr, host: &str, ca: &Path, path: &str) -> Result<Vec<u8>, String> {
    let name = ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
    let conn = rustls::ClientConnection::new(client_config(ca), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(
        format!(
            "GET {path} HTTP/1.1\r\nHost: {host}:{}\r\nConnection: close\r\n\r\n",
            addr.port()
        )
        .as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    match tls.read_to_end(&mut out) {
        Ok(_) => {}
        // Some servers close without close_notify; what arrived still counts.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(e.to_string()),
    }
    assert_eq!(
        tls.conn.alpn_protocol(),
        Some(&b"http/1.1"[..]),
        "ALPN http/1.1"
    );
    Ok(out)
}

fn one(raw: &[u8]) -> Resp {
    let mut all = parse_all(raw);
    assert_eq!(all.len(), 1, "{}", String::from_utf8_lossy(raw));
    all.remove(0)
}

const SUBDOMAINS: [&str; 4] = ["www", "www1", "élève", "天気の良い日"];

fn tls_site(root: &DocRoot, certs: &Path) -> TestServer {
    let certs = certs.to_path_buf();
    TestServer::start_with(root, move |c| {
        c.browser_host = "web-platform.test".into();
        c.server_host = Some("127.0.0.1".into());
        c.alternate_hosts = [("alt".to_string(), "not-web-platform.test".to_string())].into();
        c.subdomains = SUBDOMAINS.iter().map(|s| s.to_string()).collect();
        c.not_subdomains = vec!["nonexistent".into()];
        c.ports
            .insert("http".into(), vec![PortSpec::Auto, PortSpec::Auto]);
        c.ports
            .insert("https".into(), vec![PortSpec::Auto, PortSpec::Auto]);
        c.ssl.kind = SslKind::Openssl;
        c.ssl.openssl.base_path = Some(certs);
    })
}

fn listeners(server: &TestServer, scheme: &str) -> Vec<SocketAddr> {
    server
        .listeners
        .iter()
        .filter(|(s, _)| s == scheme)
        .map(|(_, a)| *a)
        .collect()
}

#[test]
fn a_generated_ca_covers_every_domain_on_every_https_port() {
    let root = DocRoot::new();
    root.file("page.txt", "same everywhere\n");
    let certs = tempfile::tempdir().unwrap();
    let server = tls_site(&root, certs.path());
    let ca = certs.path().join("cacert.pem");
    let https = listeners(&server, "https");
    assert_eq!(https.len(), 2);
    let mut domains = vec![
        "web-platform.test".to_string(),
        "not-web-platform.test".to_string(),
    ];
    for host in ["web-platform.test", "not-web-platform.test"] {
        for sub in SUBDOMAINS {
            domains.push(format!("{}.{host}", idna::domain_to_ascii(sub).unwrap()));
        }
    }
    assert!(
        domains.iter().any(|d| d.starts_with("xn--")),
        "IDNA names are covered"
    );
    for addr in &https {
        for domain in &domains {
            let resp = one(&https_get(*addr, domain, &ca, "/page.txt")
                .unwrap_or_else(|e| panic!("{domain}: {e}")));
            assert_eq!(resp.text(), "same everywhere\n", "{domain}");
        }
    }
    // A name outside the configuration is refused by the client's checks.
    assert!(https_get(https[0], "example.com", &ca, "/page.txt").is_err());
    // Plain http on both http ports: the same bytes.
    for addr in listeners(&server, "http") {
        let mut conn = sandserve_tests::Conn::connect(addr);
        conn.send(b"GET /page.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_eq!(conn.read_response(false).text(), "same everywhere\n");
    }
    // The certificates are reused by the next start.
    let before = std::fs::read(&ca).unwrap();
    server.stop();
    let again = tls_site(&root, certs.path());
    assert_eq!(std::fs::read(&ca).unwrap(), before, "the CA is kept");
    let addr = listeners(&again, "https")[1];
    assert_eq!(
        one(&https_get(addr, "www.web-platform.test", &ca, "/page.txt").unwrap()).status,
        200
    );
}

#[test]
fn substitution_sees_the_live_ports_and_scheme() {
    let root = DocRoot::new();
    root.file(
        "where.sub.txt",
        "{{location[scheme]}} {{location[server]}} {{ports[https][0]}} {{ports[https][1]}} {{ports[http][1]}} {{domains[www1]}} {{hosts[alt][élève]}}",
    );
    let certs = tempfile::tempdir().unwrap();
    let server = tls_site(&root, certs.path());
    let ca = certs.path().join("cacert.pem");
    let (https, http) = (listeners(&server, "https"), listeners(&server, "http"));
    let resp = one(&https_get(https[1], "www.web-platform.test", &ca, "/where.sub.txt").unwrap());
    assert_eq!(
        resp.text(),
        format!(
            "https https://www.web-platform.test:{} {} {} {} www1.web-platform.test xn--lve-6lad.not-web-platform.test",
            https[1].port(),
            https[0].port(),
            https[1].port(),
            http[1].port()
        )
    );
}

#[test]
fn pregenerated_certificates_are_used() {
    // A CA and a host certificate made here, as a WPT checkout ships them.
    let dir = tempfile::tempdir().unwrap();
    write_certificates(dir.path(), &["web-platform.test", "www.web-platform.test"]);

    let root = DocRoot::new();
    root.file("x.txt", "pregenerated");
    let d = dir.path().to_path_buf();
    let server = TestServer::start_with(&root, move |c| {
        c.browser_host = "web-platform.test".into();
        c.server_host = Some("127.0.0.1".into());
        c.subdomains = vec!["www".into()];
        c.ports.insert("https".into(), vec![PortSpec::Auto]);
        c.ssl.kind = SslKind::Pregenerated;
        c.ssl.pregenerated.host_cert_path = Some(d.join("host.pem"));
        c.ssl.pregenerated.host_key_path = Some(d.join("host.key"));
        c.ssl.pregenerated.ca_cert_path = Some(d.join("ca.pem"));
    });
    let addr = listeners(&server, "https")[0];
    let resp = one(&https_get(
        addr,
        "www.web-platform.test",
        &dir.path().join("ca.pem"),
        "/x.txt",
    )
    .unwrap());
    assert_eq!(resp.text(), "pregenerated");
}

#[test]
fn ssl_none_drops_https_and_bad_paths_stop_start_up() {
    let root = DocRoot::new();
    let server = TestServer::start_with(&root, |c| {
        c.ports.insert("https".into(), vec![PortSpec::Auto]);
        c.ssl.kind = SslKind::None;
    });
    assert!(listeners(&server, "https").is_empty());
    assert_eq!(listeners(&server, "http").len(), 1);

    let mut config = Config {
        doc_root: Some(root.path().to_path_buf()),
        ..Config::default()
    };
    config.ports.insert("http".into(), vec![PortSpec::Auto]);
    config.ports.insert("https".into(), vec![PortSpec::Auto]);
    config.ssl.kind = SslKind::Pregenerated;
    config.ssl.pregenerated.host_cert_path = Some("/no/such/host.pem".into());
    config.ssl.pregenerated.host_key_path = Some("/no/such/host.key".into());
    let err = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(sandserve::Server::bind(config))
        .err()
        .expect("start-up refused")
        .to_string();
    assert!(
        err.starts_with("ssl.pregenerated: /no/such/host.pem: "),
        "{err}"
    );
}

#[test]
fn garbage_and_plaintext_on_a_tls_port_close_cleanly_and_disturb_no_one() {
    let root = DocRoot::new();
    root.file("page.txt", "ok");
    let certs = tempfile::tempdir().unwrap();
    let server = tls_site(&root, certs.path());
    let ca = certs.path().join("cacert.pem");
    let addr = listeners(&server, "https")[0];

    // A client that opens a connection and sends half a handshake, then waits.
    let mut stalled = TcpStream::connect(addr).unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();

    for junk in [
        &b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"\x16\x03\x01\x00\x05garbage-garbage",
        b"\0\0\0\0",
    ] {
        let mut tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.write_all(junk).unwrap();
        let start = Instant::now();
        let mut answer = Vec::new();
        let _ = tcp.read_to_end(&mut answer);
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "closed promptly, not hung"
        );
        assert!(
            !String::from_utf8_lossy(&answer).contains("HTTP/1.1"),
            "no HTTP answer over a TLS port"
        );
        // Meanwhile a good client is served at once.
        let start = Instant::now();
        let resp = one(&https_get(addr, "web-platform.test", &ca, "/page.txt").unwrap());
        assert_eq!(resp.text(), "ok");
        assert!(start.elapsed() < Duration::from_secs(2));
    }
    drop(stalled);
}
