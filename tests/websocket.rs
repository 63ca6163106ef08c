//! WebSockets on the `ws` port, through real sockets with a raw client that
//! writes and reads frames byte by byte: the handshake and its refusals,
//! every length form, fragmentation, pings, the closing handshake, each
//! protocol error and the code it fails with, the size limits, and the
//! guests of the WebSocket world (one test per guest, enforced below),
//! hostile ones included.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sandserve::config::{PortSpec, SslKind};
use sandserve::Config;
use sandserve_tests::ws::{expected_accept, Client, Frame, KEY};
use sandserve_tests::{guests, DocRoot, TestServer, READ_TIMEOUT};

// Every WebSocket guest must have a test function of its name in this file.
macro_rules! require_test {
    ($name:ident, $crate_name:literal) => {
        const _: fn() = $name;
    };
}
sandserve_tests::for_each_websocket_guest!(require_test);

/// A document root whose `websockets/handlers/` holds the named guests as
/// `NAME_wsh.wasm`, and the stash handler at `/stash.wasm`.
fn root_with(names: &[&str]) -> DocRoot {
    let root = DocRoot::new();
    let dir = root.dir("websockets/handlers");
    for name in names {
        std::fs::copy(guests::path(name), dir.join(format!("{name}_wsh.wasm"))).unwrap();
    }
    std::fs::copy(
        guests::path("stash-roundtrip"),
        root.path().join("stash.wasm"),
    )
    .unwrap();
    root
}

fn start(root: &DocRoot, edit: impl FnOnce(&mut Config)) -> (TestServer, SocketAddr) {
    let server = TestServer::start_with(root, |c| {
        c.ports.insert("ws".into(), vec![PortSpec::Auto]);
        edit(c);
    });
    let ws = server
        .listeners
        .iter()
        .find(|(scheme, _)| scheme == "ws")
        .map(|(_, addr)| *addr)
        .expect("a ws listener");
    (server, ws)
}

#[test]
fn ws_echo() {
    let root = root_with(&["ws-echo"]);
    let (_s, ws) = start(&root, |_| {});

    // The handshake: the accept key, the first subprotocol offered, the
    // handler's header.
    let (head, mut c) = Client::connect(
        ws,
        "/ws-echo",
        "Sec-WebSocket-Protocol: chat, superchat\r\n",
    );
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("Sec-WebSocket-Accept: {}\r\n", expected_accept())),
        "{head}"
    );
    assert!(head.contains("Sec-WebSocket-Protocol: chat\r\n"), "{head}");
    assert!(head.contains("X-Handler: ws-echo\r\n"), "{head}");
    c.text("protocol");
    assert_eq!(c.read().payload, b"chat");

    // Each length form, both ways.
    for n in [5usize, 125, 126, 300, 65535, 65536, 200_000] {
        let data: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
        c.frame(0x2, &data);
        let f = c.read();
        assert_eq!((f.fin, f.opcode, f.payload.len()), (true, 0x2, n));
        assert_eq!(f.payload, data);
    }
    // A length in a longer form than it needs is still a length.
    c.frame_with(true, 0, 0x1, b"long form", false, 64);
    assert_eq!(c.read().payload, b"long form");

    // A fragmented message, with a ping between its fragments: the ping is
    // answered at once, the message arrives whole.
    c.frame_with(false, 0, 0x1, "frag".as_bytes(), false, 0);
    c.frame(0x9, b"mid-message");
    c.frame_with(false, 0, 0x0, "men".as_bytes(), false, 0);
    c.frame_with(true, 0, 0x0, "ted ✓".as_bytes(), false, 0);
    let pong = c.read();
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (0xA, &b"mid-message"[..])
    );
    assert_eq!(c.read().payload, "fragmented ✓".as_bytes());

    // The server's own ping.
    c.text("ping");
    let ping = c.read();
    assert_eq!(
        (ping.opcode, ping.payload.as_slice()),
        (0x9, &b"are you there"[..])
    );

    // The client closes: the code is echoed, then the connection ends.
    c.frame(0x8, b"\x03\xe8done");
    assert_eq!(c.read_close(), (Some(1000), String::new()));
    c.expect_eof();

    // The handler closes with its code and reason.
    let mut c = Client::upgraded(ws, "/ws-echo");
    c.text("close");
    assert_eq!(c.read_close(), (Some(4000), "bye".into()));
    c.frame(0x8, b"\x0f\xa0");
    c.expect_eof();

    // The handshake refuses: an HTTP answer, no upgrade.
    let (head, _) = Client::connect(ws, "/ws-echo?refuse=403", "");
    assert!(head.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{head}");
}

#[test]
fn the_stash_is_shared_with_http_handlers() {
    let root = root_with(&["ws-echo"]);
    let (s, ws) = start(&root, |_| {});
    let key = "8c9ad3e2-5f1b-4c7e-9a3d-2b6f1e0c4d5a";
    let mut c = Client::upgraded(ws, "/ws-echo");
    c.text(&format!("put {key} from-a-websocket"));
    assert_eq!(c.read().payload, b"ok");
    let r = s.get(&format!("/stash.wasm?action=take&path=/shared&key={key}"));
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "from-a-websocket");
    // And the other way.
    let r = s.get(&format!(
        "/stash.wasm?action=put&path=/shared&key={key}&value=from-http"
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    c.text(&format!("take {key}"));
    assert_eq!(c.read().payload, b"from-http");
}

#[test]
fn requests_that_are_not_handshakes_get_clear_answers() {
    let root = root_with(&["ws-echo"]);
    let (_s, ws) = start(&root, |_| {});
    // An unknown handler: 404 before any upgrade.
    let (head, _) = Client::connect(ws, "/nothing-here", "");
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    let (head, _) = Client::connect(ws, "/../ws-echo", "");
    assert!(head.starts_with("HTTP/1.1 404 "), "{head}");
    // A plain GET of a handler path.
    let (head, mut c) = Client::open(ws, "GET /ws-echo HTTP/1.1\r\nHost: x\r\n");
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
    c.need(1);
    assert!(String::from_utf8_lossy(&c.buf).contains("this port serves WebSockets"));
    // Another protocol version.
    let (head, _) = Client::open(
        ws,
        &format!(
            "GET /ws-echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n"
        ),
    );
    assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
    assert!(head.contains("Sec-WebSocket-Version: 13\r\n"), "{head}");
    // A key that is not 16 bytes.
    let (head, _) = Client::open(
        ws,
        "GET /ws-echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n",
    );
    assert!(head.starts_with("HTTP/1.1 400 "), "{head}");
}

#[test]
fn protocol_errors_fail_the_connection_with_their_codes() {
    let root = root_with(&["ws-echo"]);
    let (_s, ws) = start(&root, |c| {
        c.websockets.max_frame_bytes = 1024;
        c.websockets.max_message_bytes = 4096;
    });
    type Send = Box<dyn Fn(&mut Client)>;
    let cases: Vec<(&str, Send, u16)> = vec![
        (
            "unmasked",
            Box::new(|c| c.frame_with(true, 0, 0x1, b"x", true, 0)),
            1002,
        ),
        (
            "reserved bits",
            Box::new(|c| c.frame_with(true, 4, 0x1, b"x", false, 0)),
            1002,
        ),
        ("reserved opcode", Box::new(|c| c.frame(0x3, b"x")), 1002),
        ("bad UTF-8", Box::new(|c| c.frame(0x1, b"\xff\xfe")), 1007),
        (
            "frame over the limit",
            Box::new(|c| c.frame(0x2, &[0; 1025])),
            1009,
        ),
        (
            "message over the limit",
            Box::new(|c| {
                // Each frame within the frame limit; together over the
                // message limit.
                c.frame_with(false, 0, 0x2, &[0; 1000], false, 0);
                for _ in 0..5 {
                    c.frame_with(false, 0, 0x0, &[0; 1000], false, 0);
                }
            }),
            1009,
        ),
        (
            "continuation without a start",
            Box::new(|c| c.frame(0x0, b"x")),
            1002,
        ),
        (
            "a new message inside a fragmented one",
            Box::new(|c| {
                c.frame_with(false, 0, 0x1, b"a", false, 0);
                c.frame(0x1, b"b");
            }),
            1002,
        ),
        (
            "fragmented ping",
            Box::new(|c| c.frame_with(false, 0, 0x9, b"x", false, 0)),
            1002,
        ),
        (
            "ping over 125 bytes",
            Box::new(|c| c.frame(0x9, &[0; 126])),
            1002,
        ),
        (
            "close code 1005",
            Box::new(|c| c.frame(0x8, b"\x03\xed")),
            1002,
        ),
    ];
    for (what, send, code) in cases {
        let mut c = Client::upgraded(ws, "/ws-echo");
        send(&mut c);
        assert_eq!(c.read_close().0, Some(code), "{what}");
        c.expect_eof();
    }
}

#[test]
fn ws_malformed() {
    let root = root_with(&["ws-malformed"]);
    let (_s, ws) = start(&root, |_| {});
    let mut c = Client::upgraded(ws, "/ws-malformed");
    // Exactly the frames the handler wrote.
    let odd = c.read();
    assert_eq!(
        odd,
        Frame {
            fin: true,
            rsv: 7,
            opcode: 0xB,
            payload: b"odd".to_vec()
        }
    );
    c.need(9);
    assert_eq!(&c.buf[..9], b"\x81\x7e\x00\x05hello");
    c.buf.drain(..9);
    c.need(14);
    assert_eq!(&c.buf[..14], b"\xff\xfe not a frame");
    c.buf.drain(..14);
    // Then, the handler done, the server's close.
    assert_eq!(c.read_close(), (Some(1000), String::new()));
}

#[test]
fn hostile_ws_loop() {
    let root = root_with(&["hostile-ws-loop", "ws-echo"]);
    let (_s, ws) = start(&root, |c| c.wasm.cpu_time_ms = 300);
    let started = Instant::now();
    let mut spinning = Client::upgraded(ws, "/hostile-ws-loop");
    // A good client meanwhile is answered promptly.
    let mut good = Client::upgraded(ws, "/ws-echo");
    let asked = Instant::now();
    good.text("still here?");
    assert_eq!(good.read().payload, b"still here?");
    let took = asked.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "an echo took {took:?} beside a spinning handler"
    );
    // The spinning handler is stopped by its CPU limit: close 1011.
    assert_eq!(spinning.read_close().0, Some(1011));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn wss_serves_the_same_handlers_with_the_https_certificate() {
    use rustls::pki_types::ServerName;

    let root = root_with(&["ws-echo"]);
    let certs = tempfile::tempdir().unwrap();
    let base = certs.path().to_path_buf();
    let s = TestServer::start_with(&root, move |c| {
        c.browser_host = "web-platform.test".into();
        c.server_host = Some("127.0.0.1".into());
        c.ssl.kind = SslKind::Openssl;
        c.ssl.openssl.base_path = Some(base);
        c.ports.insert("wss".into(), vec![PortSpec::Auto]);
    });
    let wss = s.listeners.iter().find(|(k, _)| k == "wss").unwrap().1;
    let config = sandserve_tests::tls_client_config(&certs.path().join("cacert.pem"), &[]);
    let name = ServerName::try_from("web-platform.test").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let tcp = TcpStream::connect(wss).unwrap();
    tcp.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    let tls = rustls::StreamOwned::new(conn, tcp);
    let (head, mut c) = Client::open_over(
        Box::new(tls),
        &format!(
            "GET /ws-echo HTTP/1.1\r\nHost: web-platform.test\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
        ),
    );
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    c.text("over TLS");
    assert_eq!(c.read().payload, b"over TLS");
}

#[test]
fn a_client_that_never_reads_costs_its_own_connection_only() {
    let root = root_with(&["ws-echo"]);
    let (s, ws) = start(&root, |c| c.timeouts.send_secs = 1.0);
    // It sends and sends, never reading what the echo sends back.
    let mut greedy = TcpStream::connect(ws).unwrap();
    greedy.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    greedy
        .write_all(
            format!(
                "GET /ws-echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let writer = {
        let mut out = greedy.try_clone().unwrap();
        out.set_write_timeout(Some(Duration::from_secs(3))).unwrap();
        std::thread::spawn(move || {
            let mut frame = vec![0x82, 0xff];
            frame.extend_from_slice(&(256u64 << 10).to_be_bytes());
            frame.extend_from_slice(&[0, 0, 0, 0]);
            frame.resize(frame.len() + (256 << 10), 7);
            let mut sent = 0usize;
            while out.write_all(&frame).is_ok() {
                sent += 1;
                if sent > 400 {
                    break;
                }
            }
            sent
        })
    };
    // A good client meanwhile.
    std::thread::sleep(Duration::from_millis(300));
    let mut good = Client::upgraded(ws, "/ws-echo");
    let asked = Instant::now();
    good.text("fine?");
    assert_eq!(good.read().payload, b"fine?");
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    // The greedy connection is given up once a send stalls for the send
    // timeout: the server stops reading it and closes it.
    let sent = writer.join().unwrap();
    assert!(
        sent < 400,
        "the server kept reading a client that never reads"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.monitor.stats().instances_running > 1 {
        assert!(
            Instant::now() < deadline,
            "the greedy connection's handler still runs"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
