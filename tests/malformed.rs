//! Malformed and hostile requests: each gets the answer it must get, the
//! connection closes where framing is lost, and the server keeps serving.

use sandserve_tests::{DocRoot, TestServer};

/// What the server must do with a request.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Answer with this error status (JSON body) and close the connection.
    ErrorThenClose(u16),
    /// Answer with this status; the request itself was acceptable.
    Answer(u16),
    /// Close without answering.
    SilentClose,
}
use Expect::*;

fn cases() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let long_line = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes();
    let endless_line = vec![b'A'; 70_000];
    let many_headers = {
        let mut r = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..600 {
            r.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    let huge_headers = {
        let mut r = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..40 {
            r.extend_from_slice(format!("X-{i}: {}\r\n", "v".repeat(8000)).as_bytes());
        }
        r.extend_from_slice(b"\r\n");
        r
    };
    let binary: Vec<u8> = (0..512).map(|i| (i * 37 % 251) as u8 | 0x80).collect();
    // The first bytes of a TLS ClientHello.
    let tls_hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, b'\r', b'\n', b'\r',
        b'\n',
    ];
    let long_extension = format!(
        "GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;{}\r\nhello\r\n0\r\n\r\n",
        "x".repeat(5000)
    )
    .into_bytes();
    let b = |s: &str| s.as_bytes().to_vec();
    vec![
        ("garbage request line", b("GARBAGE\r\n\r\n"), ErrorThenClose(400)),
        ("HTTP/2.0", b("GET / HTTP/2.0\r\n\r\n"), ErrorThenClose(505)),
        ("HTTP/9.9", b("GET / HTTP/9.9\r\n\r\n"), ErrorThenClose(505)),
        ("HTTP/1.2", b("GET / HTTP/1.2\r\n\r\n"), ErrorThenClose(505)),
        ("unknown protocol", b("GET / FOO/1.1\r\n\r\n"), ErrorThenClose(400)),
        ("lowercase version", b("GET / http/1.1\r\n\r\n"), ErrorThenClose(400)),
        ("space in target", b("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n"), ErrorThenClose(400)),
        ("request line over 64 KiB", long_line, ErrorThenClose(414)),
        ("endless request line", endless_line, ErrorThenClose(414)),
        ("600 header lines", many_headers, ErrorThenClose(431)),
        ("320 KB header section", huge_headers, ErrorThenClose(431)),
        ("space in header name", b("GET / HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n"), ErrorThenClose(400)),
        ("space before colon", b("GET / HTTP/1.1\r\nHost : x\r\n\r\n"), ErrorThenClose(400)),
        ("header without colon", b("GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n"), ErrorThenClose(400)),
        ("obsolete line folding", b("GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n  b\r\n\r\n"), ErrorThenClose(400)),
        ("NUL in header value", b("GET / HTTP/1.1\r\nHost: x\r\nX: a\0b\r\n\r\n"), ErrorThenClose(400)),
        ("bare CR in request line", b("GET /\r HTTP/1.1\r\nHost: x\r\n\r\n"), ErrorThenClose(400)),
        ("control byte in target", b("GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n"), ErrorThenClose(400)),
        ("bad method token", b("G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrorThenClose(400)),
        ("relative target", b("GET a.txt HTTP/1.1\r\nHost: x\r\n\r\n"), ErrorThenClose(400)),
        ("asterisk target on GET", b("GET * HTTP/1.1\r\nHost: x\r\n\r\n"), ErrorThenClose(400)),
        ("empty lines then garbage", b("\r\n\r\nXYZ\r\n\r\n"), ErrorThenClose(400)),
        ("binary junk", [binary, b("\r\n\r\n")].concat(), ErrorThenClose(400)),
        ("TLS ClientHello on a plain port", tls_hello, ErrorThenClose(400)),
        ("Content-Length not a number", b("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"), ErrorThenClose(400)),
        ("negative Content-Length", b("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"), ErrorThenClose(400)),
        ("Content-Length list", b("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nx"), ErrorThenClose(400)),
        ("duplicate Content-Length", b("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx"), ErrorThenClose(400)),
        ("conflicting Content-Length", b("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"), ErrorThenClose(400)),
        ("Content-Length overflow", b("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n"), ErrorThenClose(400)),
        ("Content-Length with Transfer-Encoding", b("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), ErrorThenClose(400)),
        ("Transfer-Encoding not ending in chunked", b("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"), ErrorThenClose(400)),
        ("chunked twice", b("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"), ErrorThenClose(400)),
        ("Transfer-Encoding in HTTP/1.0", b("GET / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), ErrorThenClose(400)),
        ("bad chunk size", b("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), ErrorThenClose(400)),
        ("chunk size overflow", b("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n"), ErrorThenClose(400)),
        ("chunk data without CRLF", b("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n"), ErrorThenClose(400)),
        ("chunk extension over 4 KiB", long_extension, ErrorThenClose(400)),
        ("body over the limit", b("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n"), ErrorThenClose(413)),
        ("lowercase method", b("get /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("POST to a static file", b("POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("OPTIONS *", b("OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("no Host", b("GET /a.txt HTTP/1.1\r\nConnection: close\r\n\r\n"), ErrorThenClose(400)),
        ("two Host headers", b("GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), ErrorThenClose(400)),
        ("Host with a path", b("GET /a.txt HTTP/1.1\r\nHost: a/b\r\n\r\n"), ErrorThenClose(400)),
        ("Host with user information", b("GET /a.txt HTTP/1.1\r\nHost: u@a\r\n\r\n"), ErrorThenClose(400)),
        ("Host with a bad port", b("GET /a.txt HTTP/1.1\r\nHost: a:8x\r\n\r\n"), ErrorThenClose(400)),
        ("absolute form without Host", b("GET http://a/a.txt HTTP/1.1\r\n\r\n"), ErrorThenClose(400)),
        ("empty Host", b("GET /a.txt HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n"), Answer(200)),
        ("IPv6 Host", b("GET /a.txt HTTP/1.1\r\nHost: [::1]:8000\r\nConnection: close\r\n\r\n"), Answer(200)),
        ("HTTP/1.0 without Host", b("GET /a.txt HTTP/1.0\r\n\r\n"), Answer(200)),
        ("dot-dot traversal", b("GET /../../../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("encoded dot-dot traversal", b("GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("encoded slash", b("GET /%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("double slash", b("GET //etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("backslash traversal", b("GET /..%5c..%5cetc%5cpasswd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("NUL in path", b("GET /a.txt%00.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("traversal in absolute form", b("GET http://x/../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), Answer(404)),
        ("non-bytes Range", b("GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: items=0-1\r\nConnection: close\r\n\r\n"), Answer(416)),
        ("non-ASCII Range", b("GET /a.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=é-1\r\nConnection: close\r\n\r\n"), Answer(400)),
        ("head cut off by close", b("GET /a.txt HTTP/1.1\r\nHost: x"), SilentClose),
        ("body cut off by close", b("GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"), SilentClose),
        ("chunked body cut off by close", b("GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), SilentClose),
    ]
}

#[test]
fn each_hostile_request_gets_its_answer() {
    let root = DocRoot::new();
    root.file("a.txt", "alpha\n");
    let server = TestServer::start(&root);
    let table = cases();
    assert!(table.len() >= 30);
    let mut failures = Vec::new();
    for (name, request, expect) in table {
        let mut conn = server.connect();
        // The server may answer and close before all of a long request is
        // written; that is its right, so a failed write is not a failure.
        let _ = std::io::Write::write_all(&mut conn.stream, &request);
        if matches!(expect, SilentClose) {
            let _ = conn.stream.shutdown(std::net::Shutdown::Write);
            let rest = conn.read_to_close();
            if !rest.is_empty() {
                failures.push(format!(
                    "{name}: expected a silent close, got {:?}",
                    String::from_utf8_lossy(&rest)
                ));
            }
            continue;
        }
        let resp = conn.read_response(false);
        let (status, must_close) = match expect {
            ErrorThenClose(s) => (s, true),
            Answer(s) => (s, true),
            SilentClose => unreachable!(),
        };
        if resp.status != status {
            failures.push(format!(
                "{name}: expected {status}, got {} {:?}",
                resp.status,
                resp.text()
            ));
            continue;
        }
        if resp.status >= 400 {
            let (code, _) = resp.json_error();
            if code != u64::from(status) {
                failures.push(format!("{name}: JSON code {code}"));
            }
            if resp.header("content-type") != Some("application/json") {
                failures.push(format!(
                    "{name}: content-type {:?}",
                    resp.header("content-type")
                ));
            }
        }
        if must_close && !conn.closed() {
            failures.push(format!("{name}: connection left open"));
        }
    }
    // Still serving.
    assert_eq!(server.get("/a.txt").body, b"alpha\n");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn random_garbage_never_takes_the_server_down() {
    let root = DocRoot::new();
    root.file("a.txt", "alpha\n");
    let server = TestServer::start(&root);
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let alphabet: &[u8] = b"GET /HTTP1.0\r\n:; \t-chunkedContent-LengthTransfer-Encoding0123456789abcdefxyz\x00\x7f\xff%";
    for _ in 0..300 {
        let len = rng.usize(1..400);
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| alphabet[rng.usize(..alphabet.len())])
            .collect();
        if rng.bool() {
            bytes.splice(0..0, b"GET / HTTP/1.1\r\nHost: x\r\n".iter().copied());
        }
        let mut conn = server.connect();
        let _ = std::io::Write::write_all(&mut conn.stream, &bytes);
        let _ = conn.stream.shutdown(std::net::Shutdown::Write);
        let _ = conn.read_to_close();
    }
    assert_eq!(server.get("/a.txt").body, b"alpha\n");
    // A panic closes only its own connection, so the server would still
    // answer: count them.
    assert_eq!(server.monitor.stats().connection_panics, 0);
}

#[test]
fn lenient_host_accepts_what_wptserve_accepts() {
    let root = DocRoot::new();
    root.file("a.txt", "alpha\n");
    let server = TestServer::start_with(&root, |c| c.lenient_host = true);
    for request in [
        &b"GET /a.txt HTTP/1.1\r\nConnection: close\r\n\r\n"[..],
        b"GET /a.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
        b"GET /a.txt HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n",
    ] {
        let raw = server.exchange(request);
        assert!(
            raw.starts_with(b"HTTP/1.1 200 OK\r\n"),
            "{}",
            String::from_utf8_lossy(&raw)
        );
    }
}
