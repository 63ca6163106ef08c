//! HTTP/2 on the `h2` port, with an h2 client over TLS (ALPN `h2`): the same
//! routes and handlers as HTTP/1.1 — static files, `.headers`, substitution,
//! pipes (trickle pacing DATA frames), WebAssembly handlers, request bodies
//! from DATA frames — what a byte stream alone can carry refused with a
//! clear `500`, 100 streams at once, a reset stream, and a client that
//! stops reading.
//!
//! (`tokio::time::sleep` below lets the server's send timeout pass: there is
//! no signal for a stream the server has given up but its reset.)

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustls::pki_types::ServerName;
use sandserve::config::{PortSpec, SslKind};
use sandserve_tests::{guests, tls_client_config, DocRoot, TestServer};
use tokio::net::TcpStream;

fn site() -> (DocRoot, tempfile::TempDir, TestServer, SocketAddr) {
    let root = DocRoot::new();
    root.file("hello.txt", "hello over h2\n")
        .file("with-headers.txt", "x")
        .file(
            "with-headers.txt.headers",
            "X-From-File: yes\nContent-Type: text/x-test\n",
        )
        .file("where.sub.txt", "{{host}} {{location[scheme]}}")
        .file("raw.asis", "HTTP/1.1 299 Raw\r\n\r\nraw")
        .file("big.bin", vec![7u8; 4 << 20]);
    for name in ["hello", "slow-writer", "echo-form"] {
        std::fs::copy(guests::path(name), root.path().join(format!("{name}.wasm"))).unwrap();
    }
    let ws = root.dir("websockets/handlers");
    std::fs::copy(guests::path("ws-echo"), ws.join("ws-echo_wsh.wasm")).unwrap();
    let certs = tempfile::tempdir().unwrap();
    let base = certs.path().to_path_buf();
    let s = TestServer::start_with(&root, move |c| {
        c.browser_host = "web-platform.test".into();
        c.server_host = Some("127.0.0.1".into());
        c.ssl.kind = SslKind::Openssl;
        c.ssl.openssl.base_path = Some(base);
        c.ports.insert("h2".into(), vec![PortSpec::Auto]);
        c.timeouts.send_secs = 1.0;
    });
    let h2 = s.listeners.iter().find(|(k, _)| k == "h2").unwrap().1;
    (root, certs, s, h2)
}

type Client = h2::client::SendRequest<Bytes>;

/// An HTTP/2 connection to `addr`, trusting the generated CA; the
/// connection is driven by a task of its own.
async fn connect(addr: SocketAddr, certs: &Path) -> Client {
    let config = tls_client_config(&certs.join("cacert.pem"), &[b"h2"]);
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("web-platform.test").unwrap();
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .unwrap();
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]), "ALPN h2");
    let (client, conn) = h2::client::handshake(tls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client.ready().await.unwrap()
}

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Vec<u8>,
    /// When each DATA frame arrived, from the request.
    frames: Vec<Duration>,
}

async fn request(client: &mut Client, method: &str, path: &str, body: Option<&[u8]>) -> Answer {
    let started = Instant::now();
    let mut builder = http::Request::builder()
        .method(method)
        .uri(format!("https://web-platform.test{path}"));
    if body.is_some() {
        builder = builder.header("content-type", "application/x-www-form-urlencoded");
    }
    let req = builder.body(()).unwrap();
    let ready = client.clone().ready().await.unwrap();
    *client = ready;
    let (response, mut send) = client.send_request(req, body.is_none()).unwrap();
    if let Some(body) = body {
        send.send_data(Bytes::copy_from_slice(body), true).unwrap();
    }
    let response = response.await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut stream = response.into_body();
    let mut out = Vec::new();
    let mut frames = Vec::new();
    while let Some(chunk) = stream.data().await {
        let chunk = chunk.unwrap();
        let _ = stream.flow_control().release_capacity(chunk.len());
        frames.push(started.elapsed());
        out.extend_from_slice(&chunk);
    }
    Answer {
        status,
        headers,
        body: out,
        frames,
    }
}

#[tokio::test]
async fn the_same_routes_and_handlers_as_http1() {
    let (_root, certs, _s, h2) = site();
    let mut c = connect(h2, certs.path()).await;

    let a = request(&mut c, "GET", "/hello.txt", None).await;
    assert_eq!(
        (a.status, a.body.as_slice()),
        (200, &b"hello over h2\n"[..])
    );
    assert_eq!(a.headers["content-type"], "text/plain");
    // Only what the response says: no Date added (as wptserve's h2 server).
    assert!(a.headers.get("date").is_none());

    let a = request(&mut c, "GET", "/with-headers.txt", None).await;
    assert_eq!(a.headers["x-from-file"], "yes");
    assert_eq!(a.headers["content-type"], "text/x-test");

    let a = request(&mut c, "GET", "/where.sub.txt", None).await;
    assert_eq!(
        String::from_utf8(a.body).unwrap(),
        "web-platform.test https"
    );

    let a = request(
        &mut c,
        "GET",
        "/hello.txt?pipe=status(201)|header(X-A,1)",
        None,
    )
    .await;
    assert_eq!(a.status, 201);
    assert_eq!(a.headers["x-a"], "1");

    // trickle paces DATA frames.
    let a = request(&mut c, "GET", "/hello.txt?pipe=trickle(5:d0.2:r2)", None).await;
    assert_eq!(a.body, b"hello over h2\n");
    assert!(a.frames.len() >= 3, "{:?}", a.frames);
    let spread = *a.frames.last().unwrap() - a.frames[0];
    assert!(spread >= Duration::from_millis(380), "{:?}", a.frames);

    // A WebAssembly handler, and a request body from DATA frames.
    let a = request(&mut c, "GET", "/hello.wasm", None).await;
    assert_eq!(
        (a.status, a.body.as_slice()),
        (200, &b"Hello, world!\n"[..])
    );
    let a = request(&mut c, "POST", "/echo-form.wasm", Some(b"a=1&b=two")).await;
    assert_eq!(a.status, 200);
    let text = String::from_utf8(a.body).unwrap();
    assert!(text.contains("two"), "{text}");

    // HEAD: the headers only.
    let a = request(&mut c, "HEAD", "/hello.txt", None).await;
    assert_eq!((a.status, a.body.len()), (200, 0));

    // What only a byte stream can carry is refused, saying so.
    for path in ["/raw.asis", "/slow-writer.wasm?delay_ms=0"] {
        let a = request(&mut c, "GET", path, None).await;
        assert_eq!(a.status, 500, "{path}");
        let text = String::from_utf8(a.body).unwrap();
        assert!(text.contains("not sent over HTTP/2"), "{path}: {text}");
    }

    // Missing: 404 as ever.
    assert_eq!(request(&mut c, "GET", "/nothing", None).await.status, 404);
}

#[tokio::test]
async fn a_hundred_streams_at_once_and_the_extended_connect_setting() {
    let (_root, certs, _s, h2) = site();
    let mut c = connect(h2, certs.path()).await;
    // The server's SETTINGS have arrived once a response has.
    assert_eq!(request(&mut c, "GET", "/hello.txt", None).await.status, 200);
    assert!(
        c.is_extended_connect_protocol_enabled(),
        "SETTINGS_ENABLE_CONNECT_PROTOCOL"
    );
    let mut tasks = Vec::new();
    for i in 0..100 {
        let mut c = c.clone();
        tasks.push(tokio::spawn(async move {
            let path = if i % 2 == 0 {
                "/hello.txt"
            } else {
                "/hello.wasm"
            };
            request(&mut c, "GET", path, None).await.status
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
}

#[tokio::test]
async fn a_reset_stream_and_a_client_that_stops_reading_cost_only_themselves() {
    let (_root, certs, _s, h2) = site();
    let mut c = connect(h2, certs.path()).await;

    // A stream reset mid-trickle; the connection goes on.
    let req = http::Request::get("https://web-platform.test/hello.txt?pipe=trickle(1:d1:r2)")
        .body(())
        .unwrap();
    let (response, _) = c.send_request(req, true).unwrap();
    let mut response = response.await.unwrap();
    response.body_mut().data().await.unwrap().unwrap();
    drop(response);
    assert_eq!(request(&mut c, "GET", "/hello.txt", None).await.status, 200);

    // A stream whose body the client never reads: its window (and the
    // connection's: a client that does not read holds up its own
    // connection) shuts after 64 KiB; the server gives the stream up after
    // the send timeout. Another client is served meanwhile.
    let req = http::Request::get("https://web-platform.test/big.bin")
        .body(())
        .unwrap();
    let (response, _) = c.send_request(req, true).unwrap();
    let mut stuck = response.await.unwrap();
    assert_eq!(stuck.status(), 200);
    let mut other = connect(h2, certs.path()).await;
    let asked = Instant::now();
    let a = request(&mut other, "GET", "/hello.wasm", None).await;
    assert_eq!(a.status, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Reading now: the stream was reset by the server, not completed.
    let mut got = 0;
    let ended = loop {
        match stuck.body_mut().data().await {
            Some(Ok(chunk)) => got += chunk.len(),
            Some(Err(e)) => break Some(e),
            None => break None,
        }
    };
    assert!(
        ended.is_some() && got < 4 << 20,
        "got {got} bytes, ended {ended:?}"
    );
}

/// A masked client frame.
fn ws_frame(opcode: u8, payload: &[u8]) -> Bytes {
    let mask = [1u8, 2, 3, 4];
    let mut out = vec![0x80 | opcode, 0x80 | payload.len() as u8];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out.into()
}

#[tokio::test]
async fn websockets_over_http2_reach_the_same_handlers() {
    let (_root, certs, _s, h2) = site();
    let mut c = connect(h2, certs.path()).await;
    assert_eq!(request(&mut c, "GET", "/hello.txt", None).await.status, 200);
    assert!(c.is_extended_connect_protocol_enabled());

    let mut req = http::Request::builder()
        .method("CONNECT")
        .uri("https://web-platform.test/ws-echo")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-protocol", "chat")
        .body(())
        .unwrap();
    req.extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    let (response, mut send) = c.send_request(req, false).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    let mut recv = response.into_body();
    send.send_data(ws_frame(0x1, b"over h2"), false).unwrap();
    let mut got = Vec::new();
    while got.len() < 9 {
        let chunk = recv.data().await.unwrap().unwrap();
        let _ = recv.flow_control().release_capacity(chunk.len());
        got.extend_from_slice(&chunk);
    }
    assert_eq!(&got[..9], b"\x81\x07over h2");
    // The close handshake, then the stream ends.
    send.send_data(ws_frame(0x8, b"\x03\xe8"), false).unwrap();
    let mut rest = got[9..].to_vec();
    while let Some(chunk) = recv.data().await {
        // Its side done, the server may reset the stream with NO_ERROR
        // rather than wait for ours to end.
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) if e.reason() == Some(h2::Reason::NO_ERROR) => break,
            Err(e) => panic!("{e}"),
        };
        let _ = recv.flow_control().release_capacity(chunk.len());
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"\x88\x02\x03\xe8");

    // No handler there: 404, before any WebSocket.
    let mut req = http::Request::builder()
        .method("CONNECT")
        .uri("https://web-platform.test/nothing")
        .body(())
        .unwrap();
    req.extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    let (response, _) = c.send_request(req, true).unwrap();
    assert_eq!(response.await.unwrap().status(), 404);
}
