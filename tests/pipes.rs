//! The `?pipe=` language over real sockets: every pipe, argument forms,
//! escapes, composition order, and the arrival time of trickled pieces.

use std::io::Read;
use std::time::{Duration, Instant};

use sandserve_tests::{find, DocRoot, TestServer};

fn site() -> (DocRoot, TestServer) {
    let root = DocRoot::new();
    root.file("digits.txt", "0123456789")
        .file("twenty.txt", "abcdefghijklmnopqrst")
        .file("cached.txt", "cached")
        .file("cached.txt.headers", "Cache-Control: max-age=60\n")
        .file("raw.asis", "HTTP/1.1 200 OK\r\n\r\nasis");
    let server = TestServer::start(&root);
    (root, server)
}

#[test]
fn status_sets_code_and_reference_reason() {
    let (_root, server) = site();
    let resp = server.get("/digits.txt?pipe=status(404)");
    assert!(resp.head.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
    assert_eq!(resp.body, b"0123456789", "the body is still sent");
    for code in ["299", "418", "599"] {
        let resp = server.get(&format!("/digits.txt?pipe=status({code})"));
        assert!(
            resp.head
                .starts_with(format!("HTTP/1.1 {code} \r\n").as_bytes()),
            "{:?}",
            String::from_utf8_lossy(&resp.head)
        );
    }
    let resp = server.get("/digits.txt?pipe=status(201)|status(202)");
    assert_eq!(resp.status, 202, "later steps win");
}

#[test]
fn header_replaces_appends_and_injects() {
    let (_root, server) = site();
    let resp = server.get("/digits.txt?pipe=header(Content-Type,text/html)|header(X-A,1)|header(X-A,2,true)|header(X-B,3)|header(x-a,4,1)");
    assert_eq!(resp.headers_named("content-type"), ["text/html"]);
    assert_eq!(resp.headers_named("x-a"), ["1", "2", "4"]);
    let names = resp.header_names();
    let a = names
        .iter()
        .rposition(|n| n.eq_ignore_ascii_case("x-a"))
        .unwrap();
    let b = names.iter().position(|n| *n == "X-B").unwrap();
    assert!(a < b, "appended values stay grouped: {names:?}");

    let resp = server.get("/digits.txt?pipe=header(X-A,1)|header(X-A,replaced,false)");
    assert_eq!(resp.headers_named("x-a"), ["replaced"]);

    // Backslash escapes make control characters: a raw header line.
    let resp = server.get(r"/digits.txt?pipe=header(X-Evil,a\r\nX-Injected:%20yes)");
    assert_eq!(resp.header("x-injected"), Some("yes"));
    assert!(find(&resp.head, b"X-Evil: a\r\nX-Injected: yes\r\n").is_some());
    // \, and \) are literal.
    let resp = server.get(r"/digits.txt?pipe=header(X-Lit,a\,b\)c)");
    assert_eq!(resp.header("x-lit"), Some("a,b)c"));
    // Percent-decoding and + for space; a decoded comma still separates.
    let resp = server.get("/digits.txt?pipe=header(X-Sp,a+b%5C%2Cc)");
    assert_eq!(resp.headers_named("x-sp"), ["a b,c"]);
    assert_eq!(
        server.get("/digits.txt?pipe=header(X-Sp,a%2Cb%2Cc)").status,
        500
    );
}

#[test]
fn the_last_non_empty_pipe_parameter_wins() {
    let (_root, server) = site();
    let resp = server.get("/digits.txt?pipe=status(201)&x=1&pipe=status(202)&pipe=");
    assert_eq!(resp.status, 202);
    assert_eq!(server.get("/digits.txt?pipe=").status, 200);
}

#[test]
fn slice_has_python_semantics() {
    let (_root, server) = site();
    for (args, body) in [
        ("2,5", "234"),
        ("-3", "789"),
        ("null,3", "012"),
        ("7,null", "789"),
        ("-4,-1", "678"),
        ("5,2", ""),
        ("0,100", "0123456789"),
        ("-100,2", "01"),
    ] {
        let resp = server.get(&format!("/digits.txt?pipe=slice({args})"));
        assert_eq!(resp.status, 200, "{args}");
        assert_eq!(resp.text(), body, "slice({args})");
        assert_eq!(
            resp.header("content-length"),
            Some(body.len().to_string().as_str())
        );
    }
}

#[test]
fn pipes_run_after_the_range_is_cut() {
    let (_root, server) = site();
    let resp = server.request("GET", "/digits.txt?pipe=slice(1,3)", &["Range: bytes=4-8"]);
    assert_eq!(resp.status, 206);
    assert_eq!(resp.text(), "56");
}

#[test]
fn gzip_compresses_and_order_matters() {
    let (_root, server) = site();
    let resp = server.get("/twenty.txt?pipe=gzip");
    assert_eq!(resp.header("content-encoding"), Some("gzip"));
    assert_eq!(
        resp.header("content-length"),
        Some(resp.body.len().to_string().as_str())
    );
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&resp.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, "abcdefghijklmnopqrst");

    // gzip|slice cuts the compressed stream; slice|gzip compresses the cut.
    let cut = server.get("/twenty.txt?pipe=gzip|slice(0,10)");
    assert_eq!(cut.body, resp.body[..10]);
    let first = server.get("/twenty.txt?pipe=slice(0,3)|gzip");
    let mut plain = String::new();
    flate2::read::GzDecoder::new(&first.body[..])
        .read_to_string(&mut plain)
        .unwrap();
    assert_eq!(plain, "abc");
}

#[test]
fn pipes_never_touch_asis_missing_files_or_errors() {
    let (_root, server) = site();
    assert_eq!(
        server.exchange(b"GET /raw.asis?pipe=status(500) HTTP/1.1\r\nHost: x\r\n\r\n"),
        b"HTTP/1.1 200 OK\r\n\r\nasis"
    );
    assert_eq!(server.get("/missing.txt?pipe=status(200)").status, 404);
    let resp = server.request("GET", "/digits.txt?pipe=status(200)", &["Range: bytes=50-"]);
    assert_eq!(resp.status, 416);
}

#[test]
fn bad_pipelines_are_500s_that_say_why() {
    let (_root, server) = site();
    for (pipe, needle) in [
        ("nope", "unknown pipe \\\"nope\\\""),
        ("status(abc)", "not a status code"),
        ("header(X)", "header takes 2 to 3 arguments"),
        ("slice(x)", "not an integer"),
        ("trickle(d1:r3)", "must be even"),
        ("trickle(d1:r2)", "would never end"),
        ("gzip(1)", "gzip takes 0"),
        ("sub(js)", "\\\"js\\\" is not html or none"),
    ] {
        let resp = server.get(&format!("/digits.txt?pipe={pipe}"));
        assert_eq!(resp.status, 500, "{pipe}");
        let raw = resp.text();
        assert!(raw.contains(needle), "{pipe}: {raw}");
        assert_eq!(resp.json_error().0, 500);
    }
}

/// Reads a response, noting when each piece of the body arrived.
fn timed_pieces(server: &TestServer, path: &str) -> (String, Vec<(Duration, Vec<u8>)>) {
    let mut conn = server.connect();
    let start = Instant::now();
    conn.send(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes());
    let mut head = Vec::new();
    let mut pieces = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = conn.stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let at = start.elapsed();
        let mut data = &buf[..n];
        if find(&head, b"\r\n\r\n").is_none() {
            head.extend_from_slice(data);
            match find(&head, b"\r\n\r\n") {
                Some(end) => {
                    data = &[];
                    let rest = head.split_off(end + 4);
                    if !rest.is_empty() {
                        pieces.push((at, rest));
                    }
                    pieces.push((at, Vec::new())); // when the head arrived
                }
                None => continue,
            }
        }
        if !data.is_empty() {
            pieces.push((at, data.to_vec()));
        }
    }
    // Sort so the head marker comes first when it shared a read with bytes.
    pieces.sort_by_key(|(at, data)| (*at, !data.is_empty()));
    (String::from_utf8(head).unwrap(), pieces)
}

#[test]
fn trickle_sends_each_piece_before_the_next_pause() {
    let (_root, server) = site();
    let (head, pieces) = timed_pieces(&server, "/twenty.txt?pipe=trickle(5:d0.3:5:d0.3)");
    assert!(
        head.contains("Cache-Control: no-cache, no-store, must-revalidate\r\n"),
        "{head}"
    );
    assert!(
        head.contains("Pragma: no-cache\r\n") && head.contains("Expires: 0\r\n"),
        "{head}"
    );
    let body: Vec<(Duration, Vec<u8>)> =
        pieces.into_iter().filter(|(_, d)| !d.is_empty()).collect();
    let texts: Vec<String> = body
        .iter()
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .collect();
    assert_eq!(
        texts,
        ["abcde", "fghij", "klmnopqrst"],
        "one read per piece"
    );
    let ms = |d: Duration| d.as_millis();
    assert!(ms(body[0].0) < 250, "first piece at once: {:?}", body[0].0);
    let gap1 = body[1].0 - body[0].0;
    let gap2 = body[2].0 - body[1].0;
    for gap in [gap1, gap2] {
        assert!(
            gap >= Duration::from_millis(270) && gap < Duration::from_millis(1500),
            "{gap:?}"
        );
    }
}

#[test]
fn trickle_repeat_and_leading_delay_and_existing_cache_headers() {
    let (_root, server) = site();
    let (_, pieces) = timed_pieces(&server, "/digits.txt?pipe=trickle(3:d0.15:r2)");
    let body: Vec<String> = pieces
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
        .collect();
    assert_eq!(body, ["012", "345", "678", "9"]);
    let last = pieces.last().unwrap().0;
    assert!(
        last >= Duration::from_millis(400),
        "three pauses of 150 ms: {last:?}"
    );

    // The head goes out before a leading delay; the body after it.
    let (head, pieces) = timed_pieces(&server, "/cached.txt?pipe=trickle(d0.4)");
    assert!(head.contains("Cache-Control: max-age=60\r\n"));
    assert!(
        !head.contains("Pragma"),
        "no-cache headers only when none are present"
    );
    let head_at = pieces.iter().find(|(_, d)| d.is_empty()).unwrap().0;
    let body_at = pieces.iter().find(|(_, d)| !d.is_empty()).unwrap().0;
    assert!(
        head_at < Duration::from_millis(300),
        "head at once: {head_at:?}"
    );
    assert!(
        body_at >= Duration::from_millis(380),
        "body after the delay: {body_at:?}"
    );
    assert!(head.contains("Content-Length: 6\r\n"));
}

#[test]
fn trickle_streams_a_large_file_without_reading_it_first() {
    let root = DocRoot::new();
    let f = std::fs::File::create(root.path().join("big.bin")).unwrap();
    f.set_len(64 << 20).unwrap();
    let server = TestServer::start(&root);
    let mut conn = server.connect();
    let start = Instant::now();
    conn.send(
        b"GET /big.bin?pipe=trickle(1000:d0.2) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0usize;
    let mut first_body_at = None;
    let mut head = Vec::new();
    while got < 1000 {
        let n = conn.stream.read(&mut buf).unwrap();
        assert!(n > 0);
        if first_body_at.is_none() {
            head.extend_from_slice(&buf[..n]);
            if let Some(end) = find(&head, b"\r\n\r\n") {
                first_body_at = Some(start.elapsed());
                got += head.len() - end - 4;
            }
        } else {
            got += n;
        }
    }
    assert!(
        first_body_at.unwrap() < Duration::from_millis(150),
        "{first_body_at:?}"
    );
    assert_eq!(got, 1000, "only the first piece before the pause");
}

#[test]
fn head_requests_are_not_paced() {
    let (_root, server) = site();
    let start = Instant::now();
    let resp = server.request("HEAD", "/digits.txt?pipe=trickle(d2)", &[]);
    assert_eq!(resp.status, 200);
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn no_url_freezes_the_server() {
    let (_root, server) = site();
    // A step of 2^64 - 1 bytes once wrapped the count of bytes sent: the
    // HEAD form spun a worker thread forever, the GET form never ended.
    let freeze = "/digits.txt?pipe=trickle(1:d0:18446744073709551615:r2)";
    let started = Instant::now();
    let mut heads: Vec<_> = (0..4).map(|_| server.connect()).collect();
    for conn in &mut heads {
        conn.send(format!("HEAD {freeze} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    for conn in &mut heads {
        assert_eq!(conn.read_response(true).status, 200);
    }
    assert_eq!(server.get(freeze).body, b"0123456789");
    assert_eq!(server.get("/twenty.txt").status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn every_number_a_pipe_takes_is_bounded() {
    let root = DocRoot::new();
    root.file("digits.txt", "0123456789")
        .file("big.txt", vec![b'x'; 4096]);
    let server = TestServer::start_with(&root, |c| {
        c.pipes.max_delay_secs = 2.0;
        c.pipes.max_total_delay_secs = 3.0;
        c.pipes.max_body_bytes = 1024;
        c.pipes.max_steps = 4;
        c.pipes.max_trickle_items = 8;
    });
    for (pipe, needle) in [
        ("trickle(d2.5)", "delay 2.5 is not within 0..=2 seconds"),
        // Ten rounds of half a second: five seconds of pauses in all.
        (
            "trickle(1:d0.5:r2)",
            "the pauses add up to 5.0 s, more than the limit of 3 s",
        ),
        ("trickle(1:1:1:1:1:1:1:1:1)", "more than 8 items"),
        (
            "status(200)|status(200)|status(200)|status(200)|status(200)",
            "more than 4 steps",
        ),
    ] {
        let resp = server.get(&format!("/digits.txt?pipe={pipe}"));
        let (code, message) = resp.json_error();
        assert_eq!(code, 500, "{pipe}");
        assert!(message.contains(needle), "{pipe}: {message}");
    }
    for pipe in ["gzip", "sub"] {
        let resp = server.get(&format!("/big.txt?pipe={pipe}"));
        let (code, message) = resp.json_error();
        assert_eq!(code, 500);
        assert!(
            message.contains("a body of 4096 bytes is larger than the limit of 1024"),
            "{pipe}: {message}"
        );
    }
    // Within the limits all is as before.
    let resp = server.get("/digits.txt?pipe=trickle(5:d0.1:r2)");
    assert_eq!(resp.body, b"0123456789");
}

#[test]
fn a_header_pipe_with_a_line_break_closes_the_connection() {
    let (_root, server) = site();
    let raw = server.exchange(
        b"GET /digits.txt?pipe=header(X-A,1%5Cr%5CnX-Injected:%20yes) HTTP/1.1\r\nHost: x\r\n\r\nGET /twenty.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("\r\nX-A: 1\r\nX-Injected: yes\r\n"),
        "written as asked: {text}"
    );
    assert!(text.ends_with("0123456789"), "and then closed: {text}");
    assert!(!text.contains("abcdefghij"), "{text}");
}
