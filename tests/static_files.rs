//! Static files: MIME types, HEAD, `.headers`, ranges, directories, `.asis`,
//! aliases and path containment.

use sandserve::config::Alias;
use sandserve_tests::{DocRoot, TestServer};

#[test]
fn mime_types_follow_the_reference_table_exactly() {
    let table = [
        ("json", "application/json"),
        ("wasm", "application/wasm"),
        ("xht", "application/xhtml+xml"),
        ("xhtm", "application/xhtml+xml"),
        ("xhtml", "application/xhtml+xml"),
        ("xml", "application/xml"),
        ("xpi", "application/x-xpinstall"),
        ("m4a", "audio/mp4"),
        ("mp3", "audio/mpeg"),
        ("oga", "audio/ogg"),
        ("weba", "audio/webm"),
        ("wav", "audio/x-wav"),
        ("avif", "image/avif"),
        ("bmp", "image/bmp"),
        ("gif", "image/gif"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("png", "image/png"),
        ("svg", "image/svg+xml"),
        ("manifest", "text/cache-manifest"),
        ("css", "text/css"),
        ("event_stream", "text/event-stream"),
        ("htm", "text/html"),
        ("html", "text/html"),
        ("js", "text/javascript"),
        ("mjs", "text/javascript"),
        ("txt", "text/plain"),
        ("md", "text/plain"),
        ("vtt", "text/vtt"),
        ("mp4", "video/mp4"),
        ("m4v", "video/mp4"),
        ("webm", "video/webm"),
        ("TXT", "application/octet-stream"),
        ("ogg", "application/octet-stream"),
        ("ogv", "application/octet-stream"),
        ("bin", "application/octet-stream"),
    ];
    let root = DocRoot::new();
    for (ext, _) in table {
        // A .wasm file is static when it is a core module (a component is a handler).
        let contents: &[u8] = if ext == "wasm" {
            b"\0asm\x01\0\0\0"
        } else {
            b"x"
        };
        root.file(&format!("f.{ext}"), contents);
    }
    root.file("noext", "x");
    let server = TestServer::start(&root);
    for (ext, mime) in table {
        let resp = server.get(&format!("/f.{ext}"));
        assert_eq!(resp.status, 200, "{ext}");
        assert_eq!(resp.headers_named("content-type"), [mime], "{ext}");
    }
    assert_eq!(
        server.get("/noext").header("content-type"),
        Some("application/octet-stream")
    );
}

#[test]
fn head_sends_headers_and_no_body() {
    let root = DocRoot::new();
    root.file("page.html", "<p>hello</p>");
    let server = TestServer::start(&root);
    let get = server.get("/page.html");
    let head = server.request("HEAD", "/page.html", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("12"));
    assert_eq!(head.header("content-type"), get.header("content-type"));
    let mut conn = server.connect();
    conn.send(b"HEAD /page.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let raw = conn.read_to_close();
    assert!(raw.ends_with(b"\r\n\r\n"), "no body after a HEAD answer");
}

#[test]
fn headers_files_add_lines_in_order_and_override_the_type() {
    let root = DocRoot::new();
    root.file("dir/page.html", "hi")
        .file("dir/__dir__.headers", "X-Dir: one\nX-Both: from-dir\n")
        .file(
            "dir/page.html.headers",
            "X-File: a\r\n\r\n  X-Both :  from-file \r\nX-File: b\r\nSet-Cookie: k=v; Path=/\n",
        )
        .file("dir/typed.txt", "t")
        .file(
            "dir/typed.txt.headers",
            "content-type: text/html; charset=utf-8\n",
        )
        .file("dir/sub/deeper.txt", "d");
    let server = TestServer::start(&root);

    let resp = server.get("/dir/page.html");
    assert_eq!(
        resp.header_names(),
        [
            "Content-Type",
            "X-Dir",
            "X-Both",
            "X-File",
            "X-Both",
            "X-File",
            "Set-Cookie",
            "Date",
            "Content-Length"
        ]
    );
    assert_eq!(resp.headers_named("x-both"), ["from-dir", "from-file"]);
    assert_eq!(resp.headers_named("x-file"), ["a", "b"]);

    let typed = server.get("/dir/typed.txt");
    assert_eq!(
        typed.headers_named("content-type"),
        ["text/html; charset=utf-8"]
    );
    assert_eq!(typed.header_names()[0], "X-Dir");

    // __dir__.headers applies to its own directory only.
    let deeper = server.get("/dir/sub/deeper.txt");
    assert_eq!(deeper.header("x-dir"), None);

    // The .headers file itself can be fetched.
    let raw = server.get("/dir/page.html.headers");
    assert_eq!(raw.status, 200);
    assert_eq!(raw.header("content-type"), Some("application/octet-stream"));
}

#[test]
fn a_broken_headers_file_is_a_500_naming_the_line() {
    let root = DocRoot::new();
    root.file("x.txt", "x")
        .file("x.txt.headers", "Good: 1\nthis line has no colon\n");
    let server = TestServer::start(&root);
    let resp = server.get("/x.txt");
    assert_eq!(resp.status, 500);
    let (code, message) = resp.json_error();
    assert_eq!(code, 500);
    assert!(
        message.ends_with("x.txt.headers:2: line has no colon"),
        "{message}"
    );
}

fn ranged() -> (DocRoot, TestServer) {
    let root = DocRoot::new();
    root.file("digits.txt", "0123456789abcdefghij");
    let server = TestServer::start(&root);
    (root, server)
}

#[test]
fn single_ranges() {
    let (_root, server) = ranged();
    for (range, body, content_range) in [
        ("bytes=0-3", "0123", "bytes 0-3/20"),
        ("bytes=10-", "abcdefghij", "bytes 10-19/20"),
        ("bytes=-5", "fghij", "bytes 15-19/20"),
        ("bytes=-500", "0123456789abcdefghij", "bytes 0-19/20"),
        ("bytes=18-400", "ij", "bytes 18-19/20"),
        ("bytes=2-4,3-6,7-7", "234567", "bytes 2-7/20"),
        ("bytes=0-1, 2-3", "0123", "bytes 0-3/20"),
    ] {
        let resp = server.request("GET", "/digits.txt", &[&format!("Range: {range}")]);
        assert_eq!(resp.status, 206, "{range}");
        assert_eq!(resp.text(), body, "{range}");
        assert_eq!(resp.header("content-range"), Some(content_range), "{range}");
        assert_eq!(
            resp.header("content-length"),
            Some(body.len().to_string().as_str())
        );
        assert_eq!(resp.header("content-type"), Some("text/plain"));
    }
}

#[test]
fn several_ranges_make_a_multipart_body() {
    let (_root, server) = ranged();
    let resp = server.request("GET", "/digits.txt", &["Range: bytes=0-1,5-6,-2"]);
    assert_eq!(resp.status, 206);
    let ct = resp.header("content-type").unwrap();
    let boundary = ct
        .strip_prefix("multipart/byteranges; boundary=")
        .expect(ct);
    let expected = format!(
        "\r\n--{b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/20\r\n\r\n01\
         \r\n--{b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 5-6/20\r\n\r\n56\
         \r\n--{b}\r\nContent-Type: text/plain\r\nContent-Range: bytes 18-19/20\r\n\r\nij\
         \r\n--{b}--\r\n",
        b = boundary
    );
    assert_eq!(resp.text(), expected);
    assert_eq!(
        resp.header("content-length"),
        Some(expected.len().to_string().as_str())
    );
}

#[test]
fn unsatisfiable_ranges_get_416_with_the_size() {
    let (_root, server) = ranged();
    for range in [
        "bytes=20-",
        "bytes=30-40",
        "bytes=-0",
        "bytes=5-2",
        "lines=1-2",
        "bytes=x-y",
    ] {
        let resp = server.request("GET", "/digits.txt", &[&format!("Range: {range}")]);
        assert_eq!(resp.status, 416, "{range}");
        assert_eq!(resp.header("content-range"), Some("bytes */20"), "{range}");
        assert_eq!(resp.json_error().0, 416);
    }
    // The range is read before the body of a HEAD is dropped.
    let head = server.request("HEAD", "/digits.txt", &["Range: bytes=1-2"]);
    assert_eq!(head.status, 206);
    assert_eq!(head.header("content-length"), Some("2"));
}

#[test]
fn directories_redirect_then_list() {
    let root = DocRoot::new();
    root.file("d/b.txt", "b")
        .file("d/a & <c>.txt", "a")
        .file("d/sub/x", "x");
    let server = TestServer::start(&root);
    let resp = server.get("/d");
    assert_eq!(resp.status, 301);
    assert_eq!(resp.header("location"), Some("/d/"));
    let resp = server.get("/d?x=1");
    assert_eq!(
        resp.header("location"),
        Some("/d/?x=1"),
        "slash before the query"
    );

    let resp = server.get("/d/");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("text/html"));
    let html = resp.text();
    let a = html.find("a &amp; &lt;c&gt;.txt</a>").expect(&html);
    let b = html.find(">b.txt</a>").unwrap();
    let sub = html.find(">sub/</a>").unwrap();
    assert!(a < b && b < sub, "sorted: {html}");
    assert!(html.contains("href=\"a%20%26%20%3Cc%3E.txt\""), "{html}");
    assert!(html.contains("href=\"..\""));
}

#[test]
fn asis_files_are_sent_byte_for_byte_and_close() {
    let root = DocRoot::new();
    let raw = b"HTTP/1.1 299 Whatever You Like\nX-Odd:no-space\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\nbody without length";
    root.file("r.asis", raw)
        .file("r.asis.headers", "X-Ignored: yes\n")
        .file("dir.asis/inner", "x");
    let server = TestServer::start(&root);
    assert_eq!(
        server.exchange(b"GET /r.asis HTTP/1.1\r\nHost: x\r\n\r\nGET /r.asis HTTP/1.1\r\n\r\n"),
        raw,
        "exactly the file, then close (the pipelined request is not answered)"
    );
    assert_eq!(
        server.exchange(b"HEAD /r.asis HTTP/1.1\r\nHost: x\r\n\r\n"),
        raw,
        "HEAD sends it all too"
    );
    assert_eq!(server.get("/r.asis?pipe=status(404)").status, 299);
    let post = server.request("POST", "/r.asis", &["Content-Length: 0"]);
    assert_eq!(post.status, 404);
    assert_eq!(server.get("/dir.asis").status, 500);
    assert_eq!(server.get("/missing.asis").status, 404);
}

#[test]
fn nothing_outside_the_root_is_ever_served() {
    let outside = DocRoot::new();
    outside.file("secret.txt", "TOP SECRET");
    let root = DocRoot::new();
    root.file("inside.txt", "fine")
        .file("a..b.txt", "dots in a name are fine");
    std::os::unix::fs::symlink(outside.path(), root.path().join("escape")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.path().join("s.txt"))
        .unwrap();
    std::os::unix::fs::symlink(root.path().join("inside.txt"), root.path().join("link.txt"))
        .unwrap();
    let server = TestServer::start(&root);
    assert_eq!(server.get("/link.txt").text(), "fine");
    assert_eq!(server.get("/a..b.txt").status, 200);
    let rel = outside.path().file_name().unwrap().to_str().unwrap();
    for path in [
        "/escape/secret.txt".to_string(),
        "/s.txt".to_string(),
        "/escape/".to_string(),
        format!("/../{rel}/secret.txt"),
        format!("/%2e%2e/{rel}/secret.txt"),
        format!("/.%2e/{rel}/secret.txt"),
        format!("/..%2f{rel}%2fsecret.txt"),
        format!("/..\\{rel}\\secret.txt"),
        format!("/inside.txt/../../{rel}/secret.txt"),
        format!("{}/secret.txt", outside.path().display()),
        "/inside.txt%00".to_string(),
    ] {
        let mut conn = server.connect();
        conn.send(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let raw = conn.read_to_close();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains("TOP SECRET"), "{path}: {text}");
        assert!(
            text.starts_with("HTTP/1.1 404 ") || text.starts_with("HTTP/1.1 400 "),
            "{path}: {text}"
        );
    }
}

#[test]
fn percent_encoded_and_non_ascii_names() {
    let root = DocRoot::new();
    root.file("with space.txt", "s")
        .file("élève.txt", "e")
        .file("100%.txt", "p");
    let server = TestServer::start(&root);
    assert_eq!(server.get("/with%20space.txt").text(), "s");
    assert_eq!(server.get("/%C3%A9l%C3%A8ve.txt").text(), "e");
    assert_eq!(server.get("/100%25.txt").text(), "p");
}

#[test]
fn aliases_mount_directories_and_single_files() {
    let root = DocRoot::new();
    root.file("index.txt", "root");
    let other = DocRoot::new();
    other.file("lib/x.js", "x()").file("one.txt", "just one");
    let (tree, file) = (other.path().join("lib"), other.path().join("one.txt"));
    let server = TestServer::start_with(&root, |c| {
        c.aliases = vec![
            Alias {
                url_path: "/mounted/".into(),
                local_dir: tree,
            },
            Alias {
                url_path: "/single.txt".into(),
                local_dir: file,
            },
        ];
    });
    assert_eq!(server.get("/index.txt").text(), "root");
    let x = server.get("/mounted/x.js");
    assert_eq!(x.text(), "x()");
    assert_eq!(x.header("content-type"), Some("text/javascript"));
    assert_eq!(server.get("/single.txt").text(), "just one");
    assert_eq!(server.get("/mounted/../index.txt").status, 404);
    assert_eq!(server.get("/mounted/one.txt").status, 404);
}
