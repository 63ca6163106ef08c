//! HTTP/1.1 connection handling, byte for byte, over real sockets.

use std::time::{Duration, Instant};

use sandserve_tests::{parse_all, DocRoot, TestServer};

fn site() -> (DocRoot, TestServer) {
    let root = DocRoot::new();
    root.file("a.txt", "alpha\n").file("b.txt", "bravo!\n");
    let server = TestServer::start(&root);
    (root, server)
}

#[test]
fn static_response_head_is_exact() {
    let (_root, server) = site();
    let resp = server.get("/a.txt");
    let head = String::from_utf8(resp.head.clone()).unwrap();
    let date = resp.header("date").unwrap();
    assert_eq!(
        head,
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: {date}\r\nContent-Length: 6\r\n\r\n"
        )
    );
    assert_eq!(date.len(), 29, "IMF-fixdate: {date}");
    assert!(date.ends_with(" GMT"));
    assert_eq!(resp.body, b"alpha\n");
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let (_root, server) = site();
    let mut conn = server.connect();
    for path in ["/a.txt", "/b.txt", "/a.txt"] {
        conn.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let resp = conn.read_response(false);
        assert_eq!(resp.status, 200);
        assert_eq!(resp.header("connection"), None);
    }
    conn.send(b"GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(conn.read_response(false).body, b"bravo!\n");
    assert!(conn.closed(), "Connection: close must close");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_root, server) = site();
    let raw = server.exchange(
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    // The HEAD answer has a Content-Length but no body: split by hand.
    let text = String::from_utf8(raw).unwrap();
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &text[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "404", "200", "200"]);
    assert!(text.ends_with("bravo!\n"));
    assert_eq!(text.matches("alpha").count(), 1);
    assert_eq!(
        text.matches("bravo").count(),
        1,
        "HEAD must not send a body"
    );
}

#[test]
fn http10_closes_unless_keep_alive_is_asked_for() {
    let (_root, server) = site();
    let mut conn = server.connect();
    conn.send(b"GET /a.txt HTTP/1.0\r\n\r\n");
    let resp = conn.read_response(false);
    assert_eq!(resp.status, 200);
    assert!(
        resp.head.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "always answers HTTP/1.1"
    );
    assert!(conn.closed());

    let mut conn = server.connect();
    conn.send(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let resp = conn.read_response(false);
    assert_eq!(resp.header("connection"), Some("keep-alive"));
    conn.send(b"GET /b.txt HTTP/1.0\r\n\r\n");
    assert_eq!(conn.read_response(false).body, b"bravo!\n");
    assert!(conn.closed());
}

#[test]
fn http09_simple_request_is_served_then_closed() {
    let (_root, server) = site();
    let raw = server.exchange(b"GET /a.txt\r\n");
    let resps = parse_all(&raw);
    assert_eq!(resps.len(), 1);
    assert_eq!(resps[0].status, 200);
    assert_eq!(resps[0].body, b"alpha\n");
}

#[test]
fn expect_100_continue_gets_an_interim_response_first() {
    let (_root, server) = site();
    let mut conn = server.connect();
    conn.send(
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = conn.read_response(false);
    assert_eq!(interim.head, b"HTTP/1.1 100 Continue\r\n\r\n");
    conn.send(b"hello");
    let resp = conn.read_response(false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"alpha\n");
}

#[test]
fn request_bodies_are_consumed_by_length_and_by_chunks() {
    let (_root, server) = site();
    let raw = server.exchange(
        b"GET /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\nGET /b.txt HTTP/1.1\r\n\
          GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          4;ext=1\r\nGET \r\n6\r\n/b.txt\r\n0\r\nTrailer: yes\r\n\r\n\
          GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let resps = parse_all(&raw);
    let bodies: Vec<&[u8]> = resps.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies, [&b"alpha\n"[..], b"alpha\n", b"bravo!\n"]);
}

#[test]
fn absolute_form_targets_are_served_and_a_missing_host_refused() {
    let (_root, server) = site();
    let raw = server.exchange(
        b"GET http://example.test:1234/a.txt?x=1 HTTP/1.1\r\nHost: other\r\n\r\nGET /b.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    let resps = parse_all(&raw);
    assert_eq!(resps.len(), 2);
    assert_eq!(resps[0].body, b"alpha\n");
    assert_eq!(
        resps[1].json_error(),
        (400, "an HTTP/1.1 request needs a Host header".to_string())
    );
}

#[test]
fn empty_lines_before_a_request_are_ignored() {
    let (_root, server) = site();
    let raw =
        server.exchange(b"\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(parse_all(&raw)[0].body, b"alpha\n");
}

#[test]
fn head_keeps_the_length_of_the_body_it_does_not_send() {
    let (_root, server) = site();
    let resp = server.request("HEAD", "/b.txt", &[]);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-length"), Some("7"));
    assert!(resp.body.is_empty());
}

#[test]
fn slow_request_head_gets_408_and_idle_connections_close() {
    let root = DocRoot::new();
    root.file("a.txt", "alpha\n");
    let server = TestServer::start_with(&root, |c| {
        c.timeouts.header_read_secs = 0.3;
        c.timeouts.keep_alive_secs = 0.3;
    });

    // A head that never ends.
    let mut conn = server.connect();
    let start = Instant::now();
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n");
    let resp = conn.read_response(false);
    let waited = start.elapsed();
    assert_eq!(resp.status, 408);
    assert_eq!(resp.json_error().0, 408);
    assert!(conn.closed());
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // An idle keep-alive connection is closed quietly.
    let mut conn = server.connect();
    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.read_response(false).status, 200);
    let start = Instant::now();
    assert!(conn.closed());
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");

    // A connection that never sends anything is closed too.
    let mut conn = server.connect();
    assert!(conn.closed());
}

#[test]
fn many_concurrent_keep_alive_connections() {
    let (_root, server) = site();
    let addr = server.addr;
    let threads: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(move || {
                let mut conn = sandserve_tests::Conn::connect(addr);
                for _ in 0..50 {
                    conn.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
                    assert_eq!(conn.read_response(false).body, b"alpha\n");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
