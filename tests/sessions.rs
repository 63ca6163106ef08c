//! Per-client sessions end to end: from Python handlers (`request.session`)
//! and Rust ones, an idle timeout, a failed request changing nothing, and
//! two servers sharing sessions through Redis.

use std::time::Duration;

use sandserve::Config;
use sandserve_tests::redis::RedisServer;
use sandserve_tests::{guests, python_runner, python_runner_cache, DocRoot, Resp, TestServer};

fn root() -> DocRoot {
    let root = DocRoot::new();
    std::fs::copy(
        guests::path("visit-counter"),
        root.path().join("visits.wasm"),
    )
    .unwrap();
    let py = concat!(env!("CARGO_MANIFEST_DIR"), "/sessions/visits.py");
    std::fs::copy(py, root.path().join("visits.py")).unwrap();
    root
}

fn start(root: &DocRoot, edit: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with(root, |c| {
        c.python.runner = Some(python_runner());
        c.wasm.cache_dir = Some(python_runner_cache());
        edit(c);
    })
}

fn get(server: &TestServer, path: &str, cookie: Option<&str>) -> Resp {
    let header = cookie.map(|c| format!("Cookie: {c}"));
    let headers: Vec<&str> = header.iter().map(String::as_str).collect();
    server.request("GET", path, &headers)
}

fn cookie_set_by(resp: &Resp) -> String {
    let set = resp
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie: {}", resp.text()));
    set.split(';').next().unwrap().to_string()
}

#[test]
fn python_handlers_have_a_session_per_client() {
    let root = root();
    let server = start(&root, |_| {});
    let first = get(&server, "/visits.py", None);
    assert_eq!(first.text(), "visits: 1, keys: visits");
    let alice = cookie_set_by(&first);
    let bob = cookie_set_by(&get(&server, "/visits.py", None));
    assert_eq!(
        get(&server, "/visits.py", Some(&alice)).text(),
        "visits: 2, keys: visits"
    );
    assert_eq!(
        get(&server, "/visits.py", Some(&bob)).text(),
        "visits: 2, keys: visits"
    );
    // Python and Rust handlers share a client's session (JSON numbers are
    // the text the Rust counter reads).
    assert_eq!(
        get(&server, "/visits.wasm", Some(&alice)).text(),
        "visits: 3\n"
    );
    assert_eq!(
        get(&server, "/visits.py", Some(&alice)).text(),
        "visits: 4, keys: visits"
    );
    // A failed request changes nothing.
    let failed = get(&server, "/visits.py?fail", Some(&alice));
    assert_eq!(failed.status, 500);
    assert_eq!(
        get(&server, "/visits.py", Some(&alice)).text(),
        "visits: 5, keys: visits"
    );
    // A new session written by a failed request is not kept either.
    let failed = get(&server, "/visits.py?fail", None);
    assert_eq!(failed.header("set-cookie"), None);
}

#[test]
fn an_idle_session_is_gone_and_a_used_one_stays() {
    let root = root();
    let server = start(&root, |c| c.sessions.idle_secs = 0.5);
    let alice = cookie_set_by(&get(&server, "/visits.wasm", None));
    let bob = cookie_set_by(&get(&server, "/visits.wasm", None));
    // Alice's session is used every 0.2 s; Bob's is left alone. Time is
    // what is tested here.
    for n in 2..=5 {
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            get(&server, "/visits.wasm", Some(&alice)).text(),
            format!("visits: {n}\n")
        );
    }
    let again = get(&server, "/visits.wasm", Some(&bob));
    assert_eq!(
        again.text(),
        "visits: 1\n",
        "idle past its timeout: a new session"
    );
    assert_ne!(cookie_set_by(&again), bob);
}

#[test]
fn sessions_over_tls_are_secure_cookies() {
    let root = root();
    let certs = tempfile::tempdir().unwrap();
    let server = start(&root, |c| {
        c.ports
            .insert("https".into(), vec![sandserve::config::PortSpec::Auto]);
        c.ssl = serde_json::from_value(serde_json::json!({
            "type": "openssl", "openssl": {"base_path": certs.path()}
        }))
        .unwrap();
    });
    let https = server
        .listeners
        .iter()
        .find(|(s, _)| s == "https")
        .unwrap()
        .1;
    let config = sandserve_tests::tls_client_config(&certs.path().join("cacert.pem"), &[]);
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = rustls::ClientConnection::new(config, name).unwrap();
    let mut tcp = std::net::TcpStream::connect(https).unwrap();
    let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /visits.wasm HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let line = text
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with("set-cookie:"))
        .unwrap_or_else(|| panic!("no Set-Cookie: {text}"));
    assert!(
        line.ends_with("; Path=/; HttpOnly; SameSite=Lax; Secure"),
        "{line}"
    );
}

#[test]
fn a_session_is_shared_by_servers_sharing_a_store() {
    let redis = RedisServer::start();
    let root = root();
    let prefix = format!("sessions-{}", fastrand::u64(..));
    let shared = |c: &mut Config| {
        c.stash.backend = redis.url();
        c.stash.key_prefix = prefix.clone();
    };
    let a = start(&root, shared);
    let b = start(&root, shared);
    let alice = cookie_set_by(&get(&a, "/visits.wasm", None));
    // Concurrent increments of one session through both servers: the
    // session's lock is a lease in the store, so none is lost.
    std::thread::scope(|s| {
        for t in 0..6 {
            let server = if t % 2 == 0 { &a } else { &b };
            let alice = alice.as_str();
            s.spawn(move || {
                for _ in 0..10 {
                    assert_eq!(get(server, "/visits.wasm", Some(alice)).status, 200);
                }
            });
        }
    });
    assert_eq!(get(&b, "/visits.wasm", Some(&alice)).text(), "visits: 62\n");
    assert_eq!(
        get(&a, "/visits.py", Some(&alice)).text(),
        "visits: 63, keys: visits"
    );
}

#[test]
fn sessions_count_against_each_clients_share() {
    let root = root();
    let server = start(&root, |c| {
        c.per_client.enabled = Some(true);
        c.per_client.stash_bytes = 120;
    });
    // Each request without a cookie makes a new session of 55 bytes (its
    // record's name, 40, and the key and count with their lengths, 15): the
    // client's share holds two, and the third is refused, saying why.
    for _ in 0..2 {
        assert_eq!(get(&server, "/visits.wasm", None).status, 200);
    }
    let refused = get(&server, "/visits.wasm", None);
    assert_eq!(refused.status, 500, "{}", refused.text());
    assert!(
        refused
            .text()
            .contains("your address already has 120 bytes in the stash"),
        "{}",
        refused.text()
    );
    assert_eq!(refused.header("set-cookie"), None);
}
