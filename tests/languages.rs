//! Handlers in C, JavaScript and Python written against the world itself,
//! built by scripts/build-c-guests.sh, scripts/build-js-guests.sh and
//! scripts/build-python-runner.sh (scripts/test.sh runs them first), and
//! checked end to end like the Rust examples: status, headers, body, raw
//! bytes, the pause between them, and an endless loop stopped by the CPU
//! limit while a good request is answered.

use std::io::Read;
use std::time::{Duration, Instant};

use sandserve_tests::{built, compile_first, python_runner_cache, Conn, DocRoot, Resp, TestServer};

/// Held by each test for its whole run: compiling a JavaScript component
/// takes both cores for a while, which must not meet another test's timing.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A server on the examples of one language (`dir`, built by `script`),
/// with a CPU limit of 1 s and a compile cache shared across the run; each
/// component is compiled before the test's requests (a debug build takes
/// long enough for a JavaScript component that a read would time out).
fn serve(dir: &str, script: &str, names: &[&str]) -> (DocRoot, TestServer) {
    let root = DocRoot::new();
    for name in names {
        std::fs::copy(
            built(dir, name, script),
            root.path().join(format!("{name}.wasm")),
        )
        .unwrap();
    }
    root.file("plain.txt", "plain\n");
    let server = TestServer::start_with(&root, |c| {
        c.wasm.cache_dir = Some(python_runner_cache());
        c.wasm.cpu_time_ms = 1000;
    });
    // (A hostile one runs to its CPU limit meanwhile.)
    for name in names {
        compile_first(server.addr, &format!("/{name}.wasm"));
    }
    (root, server)
}

fn hello(server: &TestServer, greeting: &str) {
    let r = server.get("/hello.wasm?name=there");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.text(), format!("{greeting}there!\n"));
}

fn echo_headers(server: &TestServer) {
    let r = server.request(
        "GET",
        "/echo-headers.wasm",
        &["X-Test: a \"quoted\" value", "X-Test: again"],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let headers: Vec<(String, String)> =
        serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()));
    let tests: Vec<_> = headers
        .iter()
        .filter(|(n, _)| n == "X-Test")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(
        tests,
        ["a \"quoted\" value", "again"],
        "in order, repeated ones kept"
    );
}

/// The raw status line and body exactly, and the pause between the parts.
fn malformed_status(server: &TestServer, path: &str) {
    let mut conn = Conn::connect(server.addr);
    conn.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let mut got = Vec::new();
    let mut buf = [0; 256];
    let mut first_at = None;
    while !got.ends_with(b"second") {
        let n = conn.stream.read(&mut buf).expect("read");
        assert!(
            n > 0,
            "closed early after {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
        if first_at.is_none() && got.ends_with(b"first ") {
            first_at = Some(Instant::now());
        }
    }
    let pause = first_at.expect("the first part alone").elapsed();
    assert_eq!(
        String::from_utf8_lossy(&got),
        "HTTP/1.1 299 Very Unusual\r\nContent-Length: 12\r\n\r\nfirst second"
    );
    assert!(pause >= Duration::from_millis(180), "paused {pause:?}");
    // Raw bytes: the connection is not reused.
    assert!(conn.closed());
}

/// An endless loop is stopped at the CPU limit; a good request is answered
/// meanwhile.
fn hostile_loop(server: &TestServer) {
    std::thread::scope(|s| {
        let hostile = s.spawn(|| server.get("/hostile-loop.wasm"));
        let start = Instant::now();
        assert_eq!(server.get("/plain.txt").text(), "plain\n");
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
        let r: Resp = hostile.join().unwrap();
        let (code, message) = r.json_error();
        assert_eq!(code, 500);
        assert!(
            message.contains("exceeded the CPU-time limit of 1000 ms"),
            "{message}"
        );
    });
}

const EXAMPLES: &[&str] = &["hello", "echo-headers", "malformed-status", "hostile-loop"];

#[test]
fn c_handlers() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (_root, server) = serve("c-guests", "build-c-guests.sh", EXAMPLES);
    hello(&server, "Hello, ");
    echo_headers(&server);
    malformed_status(&server, "/malformed-status.wasm?pause_ms=200");
    hostile_loop(&server);
}

#[test]
fn javascript_handlers() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (_root, server) = serve("js-guests", "build-js-guests.sh", EXAMPLES);
    hello(&server, "Hello, ");
    echo_headers(&server);
    malformed_status(&server, "/malformed-status.wasm?pause_ms=200");
    hostile_loop(&server);
}

#[test]
fn python_on_the_world_directly() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let (_root, server) = serve("python", "build-python-runner.sh", &["hello-python"]);
    let r = server.get("/hello-python.wasm?name=there");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.text(), "Hello, there!\n");
    malformed_status(&server, "/hello-python.wasm?raw");
}
