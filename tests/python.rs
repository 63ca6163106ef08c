//! wptserve-style Python handlers, run by the Python runner in a fresh
//! WebAssembly instance per request: each part of the handler API through
//! real sockets, edits seen on the next request, and containment.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sandserve::Config;
use sandserve_tests::{copy_tree, python_runner, python_runner_cache, DocRoot, Resp, TestServer};

fn configure(c: &mut Config) {
    c.python.runner = Some(python_runner());
    c.wasm.cache_dir = Some(python_runner_cache());
}

/// The corpus of `tests/python/corpus`, in a document root of its own.
fn corpus() -> DocRoot {
    let root = DocRoot::new();
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/corpus");
    copy_tree(&here, root.path());
    root
}

/// One server on the corpus for the tests that only read it.
fn server() -> &'static TestServer {
    static SERVER: OnceLock<(DocRoot, TestServer)> = OnceLock::new();
    let (_, server) = SERVER.get_or_init(|| {
        let root = corpus();
        let server = TestServer::start_with(&root, configure);
        (root, server)
    });
    server
}

/// `POST path` with a body of `content_type`.
fn post(s: &TestServer, path: &str, content_type: &str, body: &str) -> Resp {
    let mut conn = s.connect();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    conn.send(req.as_bytes());
    conn.read_response(false)
}

fn header_names(resp: &Resp) -> Vec<&str> {
    resp.headers.iter().map(|(n, _)| n.as_str()).collect()
}

#[test]
fn return_forms() {
    let s = server();
    let body = s.get("/body.py");
    assert_eq!(body.status, 200, "{}", body.text());
    assert_eq!(body.text(), "just a body");
    // A body alone gets no Content-Type; Date then Content-Length follow
    // the handler's headers, as wptserve writes them.
    assert_eq!(header_names(&body), ["Date", "Content-Length"]);

    let pair = s.get("/pair.py");
    assert_eq!(
        header_names(&pair),
        [
            "Content-Type",
            "X-One",
            "X-One",
            "X-Two",
            "Date",
            "Content-Length"
        ]
    );
    assert_eq!(pair.headers_named("x-one"), ["1", "2"]);

    let triple = s.get("/triple.py");
    assert_eq!((triple.status, triple.reason.as_str()), (404, "Not Found"));
    let reason = s.get("/triple.py?reason");
    assert_eq!(
        (reason.status, reason.reason.as_str()),
        (299, "Custom Reason")
    );

    let filled = s.get("/filled.py");
    assert_eq!(filled.status, 202);
    assert_eq!(filled.headers_named("x-list"), ["a", "b"]);
    assert_eq!(filled.headers_named("x-replaced"), ["new"]);
    assert!(filled.header("x-updated").is_none());
    // A list of pieces has no Content-Length: the connection ends the body.
    assert!(filled.header("content-length").is_none());
    assert_eq!(filled.text(), "piece one, piece two");

    let json = s.get("/json_handler.py");
    assert_eq!(json.header("content-type"), Some("application/json"));
    assert_eq!(json.text(), r#"{"ok": true, "n": [1, 2, 3]}"#);
}

#[test]
fn request_api() {
    let s = server();
    let q = s.get("/query.py?a=1&a=2&blank=&x=a+b%20c");
    let v: serde_json::Value = serde_json::from_slice(&q.body).unwrap();
    assert_eq!(v["first"], "1");
    assert_eq!(v["last"], "2");
    assert_eq!(v["all"], serde_json::json!(["1", "2"]));
    assert_eq!(v["blank"], "");
    assert_eq!(v["missing"], true);
    assert_eq!(v["path"], "/query.py");
    assert_eq!(v["request_path"], "/query.py?a=1&a=2&blank=&x=a+b%20c");

    let h = s.request(
        "GET",
        "/headers.py",
        &["X-Dup: one", "x-DUP: two", "X-One: 1"],
    );
    let v: serde_json::Value = serde_json::from_slice(&h.body).unwrap();
    assert_eq!(v["x-dup"], "one, two");
    assert_eq!(v["x-dup-list"], serde_json::json!(["one", "two"]));
    assert_eq!(v["has-x-one"], true);
    assert_eq!(v["has-nope"], false);

    let auth = s.request(
        "GET",
        "/auth.py",
        &["Authorization: Basic dXNlcjpwYTpzcw=="],
    );
    assert_eq!(auth.text(), "user:pa:ss");
    assert_eq!(s.get("/auth.py").status, 401);

    let cookies = s.request("GET", "/cookies.py", &["Cookie: seen=abc; other=1"]);
    assert_eq!(cookies.text(), "seen=abc");
    let set = cookies.headers_named("set-cookie");
    assert_eq!(
        set[0],
        "seen=yes; HttpOnly; Max-Age=60; Path=/; SameSite=Lax"
    );
    assert_eq!(set[1], "plain=v; Path=/");
    assert!(set[2].starts_with("gone=; expires="), "{}", set[2]);

    let form = "a=1&b=two+words";
    let post = post(s, "/upload.py", "application/x-www-form-urlencoded", form);
    let v: serde_json::Value =
        serde_json::from_slice(&post.body).unwrap_or_else(|e| panic!("{e}: {}", post.text()));
    assert_eq!(v["a"], "1");
    assert_eq!(v["b"], "two words");
}

#[test]
fn uploads() {
    let s = server();
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nplain\r\n\
                --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
                Content-Type: text/plain\r\n\r\nfile contents\r\n--XyZ--\r\n";
    let resp = post(s, "/upload.py", "multipart/form-data; boundary=XyZ", body);
    let v: serde_json::Value =
        serde_json::from_slice(&resp.body).unwrap_or_else(|e| panic!("{e}: {}", resp.text()));
    assert_eq!(v["field"], "plain");
    assert_eq!(v["file"]["filename"], "a.txt");
    assert_eq!(v["file"]["value"], "file contents");
    assert_eq!(v["body_length"], body.len());
}

#[test]
fn writer_paths() {
    let s = server();
    // Unframed: the pieces arrive apart, the connection ends the body.
    let mut conn = s.connect();
    conn.send(b"GET /writer.py?pause=0.3 HTTP/1.1\r\nHost: x\r\n\r\n");
    let started = Instant::now();
    let all = conn.read_to_close();
    assert!(started.elapsed() >= Duration::from_millis(280));
    let text = String::from_utf8_lossy(&all);
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Written: 7\r\nDate: "),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nfirst,second"), "{text}");

    // Framed by the handler: the connection carries the next request.
    let mut conn = s.connect();
    conn.send(b"GET /writer_framed.py HTTP/1.1\r\nHost: x\r\n\r\n");
    let framed = conn.read_response(false);
    assert_eq!((framed.status, framed.reason.as_str()), (201, "Made"));
    assert_eq!(framed.text(), "framed body");
    conn.send(b"GET /body.py HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(conn.read_response(false).text(), "just a body");

    // Hand-written bytes reach the client as written.
    let raw = s.exchange(b"GET /raw_status.py HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(
        raw,
        b"HTTP/1.1 207 Odd   Reason\r\nX-Raw: yes\r\nContent-Length: 3\r\n\r\nraw"
    );

    let bare = s.get("/no_required.py");
    assert_eq!(header_names(&bare), ["Content-Type"]);
    assert_eq!(bare.text(), "bare");
}

#[test]
fn errors_answer_as_wptserve_does() {
    let s = server();
    let set = s.get("/error.py?kind=set");
    assert_eq!(set.status, 418);
    assert_eq!(
        set.text(),
        r#"{"error": {"code": 418, "message": "a teapot"}}"#
    );
    let http = s.get("/error.py?kind=http");
    assert_eq!(http.status, 403);
    let plain = s.get("/error.py?kind=plain");
    assert_eq!(plain.status, 410);

    let exc = s.get("/exception.py");
    assert_eq!(exc.status, 500);
    let text = exc.text();
    assert!(text.contains("ValueError: something broke"), "{text}");
    assert!(
        text.contains(r#"File \"/exception.py\", line 3, in main"#),
        "{text}"
    );
    // Paths are the handler's place in the document root, never the
    // server's.
    let root = python_runner();
    assert!(
        !text.contains(root.parent().unwrap().to_str().unwrap()),
        "{text}"
    );
    assert!(!text.contains("/tmp/"), "{text}");

    let syntax = s.get("/bad_syntax.py");
    assert_eq!(syntax.status, 500);
    assert!(syntax.text().contains("SyntaxError"), "{}", syntax.text());
    let no_main = s.get("/no_main.py");
    assert_eq!(no_main.status, 500);
    assert!(
        no_main
            .text()
            .contains("No main function in script /no_main.py"),
        "{}",
        no_main.text()
    );
    assert_eq!(s.get("/missing.py").status, 404);
}

#[test]
fn any_pure_python_standard_module_imports() {
    let resp = server().get("/stdlib.py");
    assert_eq!(resp.text(), "sum 1/2\nmean 2.5\n", "{}", resp.text());
}

#[test]
fn doc_root_reads_and_helper_imports() {
    let resp = server().get("/docroot.py");
    assert_eq!(resp.text(), "hello, doc root|some data|some data");
}

#[test]
fn stash_with_paths_and_the_lock() {
    let s = server();
    let key = "0f2e8c7a-1b3d-4e5f-8a9b-0c1d2e3f4a5b";
    assert_eq!(
        s.get(&format!("/stash.py?action=put&key={key}&value=v1"))
            .text(),
        "stored"
    );
    assert_eq!(
        s.get(&format!("/stash.py?action=take&key={key}")).text(),
        "taken: 'v1'"
    );
    assert_eq!(
        s.get(&format!("/stash.py?action=take&key={key}")).text(),
        "taken: None"
    );
    // An explicit path is shared between resources; put twice is a 500.
    let put = format!("/stash.py?action=put&key={key}&value=v2&path=/shared");
    assert_eq!(s.get(&put).text(), "stored");
    assert_eq!(s.get(&put).status, 500);
    let take = format!(
        "/stash.py?action=take&key={}&path=/shared",
        key.to_uppercase()
    );
    assert_eq!(s.get(&take).text(), "taken: 'v2'");

    // Twenty read-modify-writes at once under `with stash.lock:`.
    let counter = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let addr = s.addr;
            std::thread::spawn(move || {
                let mut c = TcpStream::connect(addr).unwrap();
                write!(c, "GET /counter.py?key={counter} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
                let mut out = String::new();
                c.read_to_string(&mut out).unwrap();
                out.rsplit("\r\n\r\n").next().unwrap().parse::<u32>().unwrap()
            })
        })
        .collect();
    let mut counts: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    counts.sort();
    assert_eq!(counts, (1..=20).collect::<Vec<_>>());
}

#[test]
fn sleep_is_wall_time_not_cpu_time() {
    // A CPU limit far below the pause: sleeping does not count.
    let root = corpus();
    let s = TestServer::start_with(&root, |c| {
        configure(c);
        c.wasm.cpu_time_ms = 300;
    });
    let started = Instant::now();
    let resp = s.get("/sleep.py?s=0.8");
    assert_eq!(resp.text(), "slept");
    assert!(started.elapsed() >= Duration::from_millis(800));
}

#[test]
fn an_edit_is_live_on_the_next_request() {
    let root = DocRoot::new();
    root.file(
        "live.py",
        "def main(request, response):\n    return 'one'\n",
    );
    let s = TestServer::start_with(&root, configure);
    assert_eq!(s.get("/live.py").text(), "one");
    root.file(
        "live.py",
        "def main(request, response):\n    return 'two'\n",
    );
    assert_eq!(s.get("/live.py").text(), "two");
}

#[test]
fn python_off_serves_the_file() {
    let root = DocRoot::new();
    root.file(
        "plain.py",
        "def main(request, response):\n    return 'ran'\n",
    );
    let s = TestServer::start_with(&root, |c| {
        configure(c);
        c.python.enabled = false;
    });
    let resp = s.get("/plain.py");
    assert_eq!(resp.status, 200);
    assert!(resp.text().starts_with("def main"), "{}", resp.text());
}

#[test]
fn without_the_runner_a_handler_answers_500_saying_why() {
    let root = DocRoot::new();
    root.file("h.py", "def main(request, response):\n    return 'ran'\n");
    let s = TestServer::start_with(&root, |c| {
        c.python.runner = None;
    });
    // The test binary's directory holds no runner, so none is found.
    let resp = s.get("/h.py");
    assert_eq!(resp.status, 500);
    assert!(
        resp.text().contains("Python runner is not installed"),
        "{}",
        resp.text()
    );
}

/// wptserve 4.0.3 serving a document root, with its stash server: the
/// reference. Stopped on drop.
struct Wptserve {
    child: std::process::Child,
    port: u16,
}

impl Wptserve {
    fn start(root: &DocRoot) -> Wptserve {
        use std::io::BufRead;
        let peer = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/wptserve_peer.py");
        // The interpreter itself, not a wrapper that would outlive a kill.
        let python = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 runs (scripts/test.sh installs wptserve 4.0.3)");
        let python = String::from_utf8(python.stdout).unwrap().trim().to_string();
        // A process group of its own: its stash server is a child process,
        // stopped with it.
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new(python)
            .arg(peer)
            .arg(root.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .expect("the Python interpreter runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("wptserve 4.0.3 did not start (pip install wptserve==4.0.3): {line:?}")
        });
        Wptserve { child, port }
    }
}

impl Drop for Wptserve {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = std::process::Command::new("kill")
            .args(["-KILL", "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

/// Status line, headers but `Date` and `Server`, body: what must match.
fn exchange(port: u16, request: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let end = sandserve_tests::find(&out, b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{request}: no head in {out:?}"));
    let head = String::from_utf8_lossy(&out[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_string(), v.trim().to_string())
        })
        .filter(|(n, _)| !n.eq_ignore_ascii_case("date") && !n.eq_ignore_ascii_case("server"))
        .collect();
    (status, headers, out[end + 4..].to_vec())
}

#[test]
fn same_answers_as_wptserve() {
    let root = corpus();
    let reference = Wptserve::start(&root);
    let ours = TestServer::start_with(&root, configure);
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\
                     Content-Type: text/plain\r\n\r\nfile contents\r\n--XyZ\r\n\
                     Content-Disposition: form-data; name=\"g\"\r\n\r\nplain\r\n--XyZ--\r\n";
    let key = "5c0ffee0-1234-4abc-8def-0123456789ab";
    // (what, request); every request closes its connection.
    let get = |path: &str, extra: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{extra}Connection: close\r\n\r\n")
    };
    let post = |path: &str, ty: &str, body: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {ty}\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let cases = [
        get("/body.py", ""),
        get("/pair.py", ""),
        get("/triple.py", ""),
        get("/triple.py?reason", ""),
        get("/filled.py", ""),
        get("/query.py?a=1&a=2&blank=&x=a+b%20c&e=%E4%B8%89%C3%A9", ""),
        get("/raw_headers.py", "THIS-is-A-test: 1, 2\r\nx-Second: b\r\n"),
        get("/headers.py", "X-Dup: one\r\nx-DUP: two\r\nX-One: 1\r\n"),
        get("/writer.py?pause=0.05", ""),
        get("/writer_framed.py", ""),
        get("/raw_status.py", ""),
        get("/error.py?kind=set", ""),
        get("/error.py?kind=http", ""),
        get("/error.py?kind=plain", ""),
        get("/error.py?kind=none", ""),
        get("/no_required.py", ""),
        get("/json_handler.py", ""),
        get("/sleep.py?s=0.05", ""),
        get("/auth.py", ""),
        get("/auth.py", "Authorization: Basic dXNlcjpwYTpzcw==\r\n"),
        get("/docroot.py", ""),
        get("/stdlib.py", ""),
        get("/missing.py", ""),
        "HEAD /pair.py HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".to_string(),
        post(
            "/upload.py",
            "application/x-www-form-urlencoded",
            "a=1&b=two+words&a=3",
        ),
        post("/upload.py", "multipart/form-data; boundary=XyZ", multipart),
        get(&format!("/stash.py?action=put&key={key}&value=v"), ""),
        get(&format!("/stash.py?action=take&key={key}"), ""),
        get(&format!("/stash.py?action=take&key={key}"), ""),
    ];
    let mut differences = Vec::new();
    for request in &cases {
        let theirs = exchange(reference.port, request);
        let mine = exchange(ours.addr.port(), request);
        if theirs != mine {
            differences.push(format!(
                "{}\n  wptserve:  {:?}\n  sandserve: {:?}",
                request.lines().next().unwrap(),
                (&theirs.0, &theirs.1, String::from_utf8_lossy(&theirs.2)),
                (&mine.0, &mine.1, String::from_utf8_lossy(&mine.2)),
            ));
        }
    }
    // Cookies: the same but for the expiry date, which is "now - 1 day".
    let request = get("/cookies.py", "Cookie: seen=abc\r\n");
    let (theirs, mine) = (
        exchange(reference.port, &request),
        exchange(ours.addr.port(), &request),
    );
    let undated = |r: &(String, Vec<(String, String)>, Vec<u8>)| {
        let mut r = r.clone();
        for (_, v) in &mut r.1 {
            if let Some(at) = v.find("expires=") {
                v.replace_range(at.., "expires=…");
            }
        }
        r
    };
    if undated(&theirs) != undated(&mine) {
        differences.push(format!(
            "cookies\n  wptserve:  {theirs:?}\n  sandserve: {mine:?}"
        ));
    }
    // Failures: the same status and headers; the message names the
    // handler where wptserve names a path on its own disk (a deliberate
    // difference), and both carry the exception.
    for (path, says) in [
        ("/exception.py", "ValueError: something broke"),
        ("/bad_syntax.py", "SyntaxError"),
        ("/no_main.py", "No main function in script"),
    ] {
        let request = get(path, "");
        let (theirs, mine) = (
            exchange(reference.port, &request),
            exchange(ours.addr.port(), &request),
        );
        let names = |r: &(String, Vec<(String, String)>, Vec<u8>)| {
            r.1.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
        };
        if theirs.0 != mine.0 || names(&theirs) != names(&mine) {
            differences.push(format!(
                "{path}\n  wptserve:  {theirs:?}\n  sandserve: {mine:?}"
            ));
        }
        for (who, r) in [("wptserve", &theirs), ("sandserve", &mine)] {
            assert!(
                String::from_utf8_lossy(&r.2).contains(says),
                "{who} {path}: {:?}",
                r
            );
        }
    }
    // The deliberate differences (README, "Python handlers"): wptserve
    // 4.0.3 reports only the first of repeated request headers (its
    // `get_list` finds no others), sandserve all of them; a missing file's
    // 404 names the path.
    let deliberate = ["GET /headers.py HTTP/1.1", "GET /missing.py HTTP/1.1"];
    let unexpected: Vec<&String> = differences
        .iter()
        .filter(|d| !deliberate.iter().any(|known| d.starts_with(known)))
        .collect();
    assert!(
        unexpected.is_empty() && differences.len() == deliberate.len(),
        "{} differences, {} of them unexpected:\n{}",
        differences.len(),
        unexpected.len(),
        differences.join("\n")
    );
}

/// The hostile handlers of `tests/python/hostile`, beside a good one.
fn hostile_root() -> DocRoot {
    let root = DocRoot::new();
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/hostile");
    copy_tree(&here, root.path());
    root.file(
        "good.py",
        "def main(request, response):\n    return 'good'\n",
    );
    root
}

fn hostile_server(root: &DocRoot) -> TestServer {
    TestServer::start_with(root, |c| {
        configure(c);
        // As on a public server: caps per client address.
        c.per_client.enabled = Some(true);
        c.wasm.cpu_time_ms = 1000;
    })
}

/// A good request, timed.
fn good(s: &TestServer) -> Duration {
    let started = Instant::now();
    let resp = s.get("/good.py");
    assert_eq!(resp.text(), "good");
    started.elapsed()
}

#[test]
fn hostile_handlers_fail_inside_their_own_request() {
    let root = hostile_root();
    let s = hostile_server(&root);
    let escaped = std::path::Path::new("/tmp/sandserve-escaped");
    let _ = std::fs::remove_file(escaped);
    for (path, says) in [
        ("/read_passwd.py", "FileNotFoundError"),
        ("/read_up.py", "PermissionError"),
        ("/write_file.py", "Error"),
        ("/open_socket.py", "Error"),
        ("/os_system.py", "Error"),
        ("/run_subprocess.py", "Error"),
        ("/use_ctypes.py", "Error"),
        ("/memory_bomb.py", "memory"),
        ("/deep_recursion.py", "RecursionError|memory limit|stack"),
    ] {
        let resp = s.get(path);
        let text = resp.text();
        assert_eq!(resp.status, 500, "{path}: {text}");
        assert!(says.split('|').any(|s| text.contains(s)), "{path}: {text}");
        assert!(
            !text.contains("root:"),
            "{path} read the host's /etc/passwd: {text}"
        );
        assert!(good(&s) < Duration::from_secs(2));
    }
    assert!(!escaped.exists(), "a handler ran a command on the host");
    assert!(
        !root.path().join("written.txt").exists(),
        "a handler wrote a file"
    );

    // An endless loop is stopped by the CPU limit; meanwhile others are
    // answered.
    let spinning = {
        let addr = s.addr;
        std::thread::spawn(move || {
            let mut c = TcpStream::connect(addr).unwrap();
            c.write_all(b"GET /endless_loop.py HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut out = String::new();
            c.read_to_string(&mut out).unwrap();
            out
        })
    };
    s.wait_for("the loop to run", |stats| stats.instances_running >= 1);
    for _ in 0..3 {
        assert!(good(&s) < Duration::from_secs(2));
    }
    let out = spinning.join().unwrap();
    assert!(out.starts_with("HTTP/1.1 500"), "{out}");
    assert!(out.contains("CPU"), "{out}");
}

/// Threads of this process blocked opening a named pipe.
fn opening_a_pipe() -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").unwrap();
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("wchan")).ok())
        .filter(|w| w.contains("wait_for_partner") || w.contains("fifo"))
        .count()
}

#[test]
fn a_handler_waiting_in_a_file_call_holds_no_turn_to_compute() {
    // Heavy handlers (past a few ms of CPU) take turns to compute; one that
    // waits in a call to the host (here opening a named pipe that no one
    // writes) must not keep its turn meanwhile, or every other heavy
    // handler waits with it.
    let root = DocRoot::new();
    sandserve_tests::mkfifo(&root.path().join("pipe"));
    let compute =
        "def burn():\n    n = 0\n    for i in range(400000):\n        n += i\n    return n\n";
    root.file(
        "stuck.py",
        format!(
            "{compute}def main(request, response):\n    burn()\n    with open('pipe', 'rb') as f:\n        \
             try:\n            return f.read()\n        except OSError:\n            return 'not a file'\n"
        ),
    );
    root.file(
        "busy.py",
        format!("{compute}def main(request, response):\n    return str(burn())\n"),
    );
    let s = TestServer::start_with(&root, |c| {
        configure(c);
        c.wasm.wall_time_secs = 30.0;
    });
    assert_eq!(s.get("/busy.py").status, 200);
    let stuck: Vec<_> = (0..4)
        .map(|_| {
            let mut c = s.connect();
            c.send(b"GET /stuck.py HTTP/1.1\r\nHost: x\r\n\r\n");
            c
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while opening_a_pipe() < 4 {
        assert!(
            Instant::now() < deadline,
            "the handlers never opened the pipe"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    assert_eq!(s.get("/busy.py").status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a heavy handler waited {:?} behind handlers waiting on a pipe",
        started.elapsed()
    );
    // A writer comes and goes: the waiting handlers open the pipe (which
    // the view cannot read: no offsets).
    drop(
        std::fs::OpenOptions::new()
            .write(true)
            .open(root.path().join("pipe"))
            .unwrap(),
    );
    for mut c in stuck {
        assert_eq!(c.read_response(false).text(), "not a file");
    }
}

/// This process's resident memory, in MiB.
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
}

#[test]
fn five_hundred_sleepers_from_one_address_are_bounded() {
    let root = hostile_root();
    let s = hostile_server(&root);
    assert_eq!(s.get("/good.py").status, 200);
    let before = rss_mib();
    // 500 requests that sleep a minute, from another address.
    let attackers: Vec<_> = (0..500)
        .filter_map(|_| {
            let socket =
                socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
            socket
                .bind(&std::net::SocketAddr::from(([127, 0, 0, 2], 0)).into())
                .ok()?;
            socket.connect(&s.addr.into()).ok()?;
            let mut stream: TcpStream = socket.into();
            stream
                .write_all(b"GET /sleep_long.py HTTP/1.1\r\nHost: x\r\n\r\n")
                .ok()?;
            Some(stream)
        })
        .collect();
    s.wait_for("the sleepers to start", |stats| {
        stats.instances_running >= 32
    });
    // The good client is answered at once, and the memory the sleepers
    // hold is bounded by the per-client caps.
    for _ in 0..5 {
        assert!(good(&s) < Duration::from_secs(2));
    }
    let during = rss_mib();
    let running = s.monitor.stats().instances_running;
    assert!(running <= 64 + 1, "{running} instances for one address");
    assert!(
        during.saturating_sub(before) < 1024,
        "{before} MiB before, {during} MiB with the sleepers"
    );
    // The clients go: their handlers are stopped and their slots freed.
    drop(attackers);
    s.wait_for("the sleepers to stop", |stats| stats.instances_running == 0);
    assert!(good(&s) < Duration::from_secs(2));
}

#[test]
fn symlinks_cannot_leave_the_view() {
    let root = DocRoot::new();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("out")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        root.path().join("secret.txt"),
    )
    .unwrap();
    root.file("inside.txt", "inside");
    std::os::unix::fs::symlink("inside.txt", root.path().join("relative.txt")).unwrap();
    root.file(
        "links.py",
        "def main(request, response):\n    out = []\n    for p in ['/out/secret.txt', '/secret.txt', '/relative.txt']:\n        try:\n            out.append(open(p).read())\n        except OSError as e:\n            out.append(type(e).__name__)\n    return ' '.join(out)\n",
    );
    let s = TestServer::start_with(&root, configure);
    let text = s.get("/links.py").text();
    assert!(!text.contains("outside secret"), "{text}");
    // A link that stays inside is followed.
    assert!(text.ends_with(" inside"), "{text}");
}

#[test]
fn the_stash_lock_is_released_when_its_holder_traps() {
    let root = corpus();
    root.file(
        "lock_then_trap.py",
        "def main(request, response):\n    request.server.stash.lock.acquire()\n    hoard = []\n    while True:\n        hoard.append(bytearray(8 << 20))\n",
    );
    let s = TestServer::start_with(&root, configure);
    assert_eq!(s.get("/lock_then_trap.py").status, 500);
    let started = Instant::now();
    let counted = s.get("/counter.py?key=1b2c3d4e-0000-4000-8000-00000000abcd");
    assert_eq!(counted.text(), "1");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_handler_hears_that_its_client_left_and_cleans_up() {
    let root = corpus();
    root.file(
        "until_gone.py",
        "import time\ndef main(request, response):\n    key = request.GET.first(b'key')\n    response.writer.write_status(200)\n    response.writer.end_headers()\n    for _ in range(100):\n        if not response.writer.write_content('tick '):\n            request.server.stash.put(key, 'closed', path='/gone')\n            return\n        time.sleep(0.05)\n",
    );
    let s = TestServer::start_with(&root, configure);
    let key = "7e57c0de-0000-4000-8000-000000000001";
    let mut c = TcpStream::connect(s.addr).unwrap();
    write!(
        c,
        "GET /until_gone.py?key={key} HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    let mut first = [0u8; 64];
    let n = c.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    drop(c);
    let take = format!("/stash.py?action=take&key={key}&path=/gone");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = s.get(&take).text();
        if text == "taken: 'closed'" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the handler never cleaned up: {text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
