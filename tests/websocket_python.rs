//! WPT's pywebsocket-style `*_wsh.py` WebSocket handlers, run by the
//! Python runner's WebSocket form (`ws-runner.wasm`), through real sockets
//! with a raw frame client. A test binary of its own: compiling the runner
//! takes the machine's cores for a while, which the other WebSocket tests'
//! read timeouts should not have to share.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sandserve::config::PortSpec;
use sandserve_tests::ws::{expected_accept, Client, KEY};
use sandserve_tests::{guests, DocRoot, TestServer};

/// A server whose `ws_doc_root` holds the project's pywebsocket-style
/// handlers (`tests/websocket/handlers/*_wsh.py`), run by the Python runner,
/// with its compiled form in the cache the Python tests share.
fn python_server() -> (DocRoot, TestServer, SocketAddr) {
    let root = DocRoot::new();
    root.dir("websockets/handlers");
    std::fs::copy(
        guests::path("stash-roundtrip"),
        root.path().join("stash.wasm"),
    )
    .unwrap();
    sandserve_tests::copy_tree(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("websocket/handlers"),
        &root.path().join("websockets/handlers"),
    );
    let runner = sandserve_tests::python_runner();
    let cache = runner.parent().unwrap().join("test-cache");
    std::fs::create_dir_all(&cache).unwrap();
    let s = TestServer::start_with(&root, |c| {
        c.ports.insert("ws".into(), vec![PortSpec::Auto]);
        c.python.runner = Some(runner);
        c.wasm.cache_dir = Some(cache);
    });
    let ws = s.listeners.iter().find(|(k, _)| k == "ws").unwrap().1;
    // The runner loads at start-up (from the cache once compiled); the first
    // handshake waits for it, longer than a client's usual read.
    let mut first = TcpStream::connect(ws).unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(600)))
        .unwrap();
    first
        .write_all(
            format!(
                "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut byte = [0u8; 1];
    first.read_exact(&mut byte).unwrap();
    (root, s, ws)
}

#[test]
fn pywebsocket_handlers_run_in_the_python_runner() {
    let (_root, s, ws) = python_server();

    // Subprotocol, a header from the handshake, echo of both kinds, and the
    // handler's passive closing handshake.
    let (head, mut c) = Client::connect(
        ws,
        "/echo",
        "Sec-WebSocket-Protocol: chat, echo\r\nX-Ask: hi\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("Sec-WebSocket-Protocol: echo\r\n"), "{head}");
    assert!(head.contains("X-Handshake: hi\r\n"), "{head}");
    c.text("héllo");
    let f = c.read();
    assert_eq!((f.opcode, f.payload.as_slice()), (0x1, "héllo".as_bytes()));
    c.frame(0x2, &[0, 1, 2, 255]);
    let f = c.read();
    assert_eq!((f.opcode, f.payload.as_slice()), (0x2, &[0, 1, 2, 255][..]));
    c.frame(0x9, b"p");
    assert_eq!(c.read().opcode, 0xA);
    c.frame(0x8, b"\x0f\xa1bye");
    assert_eq!(c.read_close(), (Some(4001), "echoed: bye".into()));
    c.expect_eof();

    // A refusal written by the handler, then no upgrade; with credentials, a
    // greeting from msgutil.
    let (head, _) = Client::connect(ws, "/auth", "");
    assert!(head.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{head}");
    assert!(
        head.contains("WWW-Authenticate: Basic realm=\"ws\""),
        "{head}"
    );
    let (head, mut c) = Client::connect(ws, "/auth", "Authorization: Basic dXNlcjpwYXNz\r\n");
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert_eq!(c.read().payload, b"welcome");
    assert_eq!(c.read_close(), (Some(1000), String::new()));

    // A header with a line break: the whole answer becomes the handler's
    // own, the injected line included, and the connection goes on.
    let (head, mut c) = Client::connect(ws, "/inject", "");
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("Sec-WebSocket-Accept: {}\r\n", expected_accept())),
        "{head}"
    );
    assert!(
        head.contains("Set-Cookie: a=b; Path=/\r\nX-Injected: yes\r\n"),
        "{head}"
    );
    assert_eq!(c.read().payload, b"after an answer of its own");

    // The handler's own handshake answer goes out first, as written.
    let (head, _) = Client::connect(ws, "/raw", "");
    assert!(
        head.contains("Sec-WebSocket-Accept: not-the-right-key\r\n"),
        "{head}"
    );

    // time.sleep parks the handshake; close_connection with a code.
    let asked = Instant::now();
    let mut c = Client::upgraded(ws, "/slow");
    assert!(asked.elapsed() >= Duration::from_millis(300));
    assert_eq!(c.read().payload, b"slept");
    assert_eq!(c.read_close(), (Some(4001), "done".into()));

    // wptserve's stash API, shared with the HTTP handlers.
    let key = "0b7f3c1e-2d4a-4e5f-8a6b-9c0d1e2f3a4b";
    let mut c = Client::upgraded(ws, &format!("/stash?key={key}&value=first"));
    assert_eq!(c.read().payload, b"before: None");
    let mut c = Client::upgraded(ws, &format!("/stash?key={key}&value=second"));
    assert_eq!(c.read().payload, b"before: first");
    let r = s.get(&format!(
        "/stash.wasm?action=take&path=/ws-shared&key={key}"
    ));
    assert_eq!(r.status, 200);
    assert!(r.text().contains("second"), "{}", r.text());

    // A handler that fails closes with 1011.
    let mut c = Client::upgraded(ws, "/broken");
    assert_eq!(c.read_close().0, Some(1011));
}
