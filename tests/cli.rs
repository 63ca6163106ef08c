//! The `sandserve` command as a process: start-up lines, configuration
//! errors that say what and where, the access log, and a graceful stop.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sandserve_tests::{python_runner, python_runner_cache, Conn, DocRoot};

const BIN: &str = env!("CARGO_BIN_EXE_sandserve-under-test");

/// Runs the command to completion; returns (exit code, stderr).
fn run_to_end(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run sandserve");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running server process whose output lines arrive on channels.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sandserve");
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        Running {
            child,
            stdout,
            stderr,
        }
    }

    /// Waits for a stdout line containing `needle`.
    fn stdout_line(&self, needle: &str) -> String {
        wait_line(&self.stdout, needle)
    }

    fn stderr_line(&self, needle: &str) -> String {
        wait_line(&self.stderr, needle)
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn port(&self) -> u16 {
        let line = self.stdout_line("bound to");
        line.rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches(')')
            .parse()
            .unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lines(stream: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_line(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.contains(needle) => return line,
            Ok(_) => continue,
            Err(e) => panic!("no line containing {needle:?}: {e}"),
        }
    }
}

#[test]
fn prints_one_line_per_listener_and_serves() {
    let root = DocRoot::new();
    root.file("hello.txt", "hello\n");
    let config = root.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"ports": {"http": ["auto", "auto"]}, "browser_host": "127.0.0.1"}"#,
    )
    .unwrap();
    let server = Running::start(&[
        "serve",
        root.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let first = server.stdout_line("sandserve: http on http://127.0.0.1:");
    let second = server.stdout_line("sandserve: http on http://127.0.0.1:");
    assert_ne!(first, second);
    for line in [first, second] {
        let port: u16 = line
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches(')')
            .parse()
            .unwrap();
        let mut conn = Conn::connect(([127, 0, 0, 1], port).into());
        conn.send(b"GET /hello.txt?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_eq!(conn.read_response(false).body, b"hello\n");
    }
    let log = server.stderr_line("GET /hello.txt?q=1");
    assert!(log.contains(" 200 "), "access log: {log}");
    assert!(log.contains("B "), "bytes in the access log: {log}");
    assert!(log.ends_with("ms"), "duration in the access log: {log}");
}

#[test]
fn bad_configuration_stops_start_up_saying_what_and_where() {
    let root = DocRoot::new();
    let cases: &[(&str, &[&str])] = &[
        (
            "{\n  \"colour\": \"blue\"\n}",
            &["unknown field `colour`", "line 2"],
        ),
        (r#"{"ports": {"http": [70000]}}"#, &["70000", "port number"]),
        (
            r#"{"ports": {"gopher": [70]}}"#,
            &["unknown scheme \"gopher\""],
        ),
        (
            r#"{"timeouts": {"keep_alive_secs": 0}}"#,
            &["timeouts.keep_alive_secs"],
        ),
        (r#"{"ports": {"http": [8000]}"#, &["EOF"]),
    ];
    for (json, needles) in cases {
        let config = root.path().join("bad.json");
        std::fs::write(&config, json).unwrap();
        let (code, stderr) = run_to_end(&["serve", "--config", config.to_str().unwrap()]);
        assert_eq!(code, 2, "{json}: {stderr}");
        assert!(stderr.contains("bad.json"), "names the file: {stderr}");
        for needle in *needles {
            assert!(
                stderr.contains(needle),
                "{json}: {stderr:?} lacks {needle:?}"
            );
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (code, stderr) = run_to_end(&["serve", "/definitely/not/here", "--port", "0"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("document root /definitely/not/here"),
        "{stderr}"
    );
    let (code, stderr) = run_to_end(&["serve", "--log-level", "loud", "--port", "0"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--log-level"), "{stderr}");
    let (code, stderr) = run_to_end(&["serve", "--config", "/no/such/config.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("/no/such/config.json: cannot read"),
        "{stderr}"
    );
}

#[test]
fn threads_sets_the_worker_threads() {
    let root = DocRoot::new();
    for n in ["1", "3"] {
        let server = Running::start(&[
            "serve",
            root.path().to_str().unwrap(),
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
            "--threads",
            n,
        ]);
        server.stdout_line(&format!("with {n} worker threads"));
    }
    let (code, stderr) = run_to_end(&["serve", "--threads", "0", "--port", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("threads: must be at least 1"), "{stderr}");
}

#[test]
fn a_port_in_use_is_named() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let root = DocRoot::new();
    let (code, stderr) = run_to_end(&[
        "serve",
        root.path().to_str().unwrap(),
        "--bind",
        "127.0.0.1",
        "--port",
        &port,
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen for http on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn sigterm_finishes_requests_in_flight_then_exits_zero() {
    let root = DocRoot::new();
    let big = vec![b'z'; 32 << 20];
    root.file("big.bin", &big).file("small.txt", "s");
    for signal in ["TERM", "INT"] {
        let mut server = Running::start(&[
            "serve",
            root.path().to_str().unwrap(),
            "--bind",
            "127.0.0.1",
            "--port",
            "0",
        ]);
        let port = server.port();
        let addr = ([127, 0, 0, 1], port).into();

        // An idle keep-alive connection, and a download in progress.
        let mut idle = Conn::connect(addr);
        idle.send(b"GET /small.txt HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(idle.read_response(false).body, b"s");
        let mut download = Conn::connect(addr);
        download.send(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut first = [0u8; 1024];
        download.stream.read_exact(&mut first).unwrap();

        server.signal(signal);
        server.stderr_line("stopping");

        // The idle connection is closed, the download completes.
        assert!(idle.closed(), "idle connection closed on shutdown");
        let rest = download.read_to_close();
        let head_len = sandserve_tests::find(&first, b"\r\n\r\n").unwrap() + 4;
        assert_eq!(
            first.len() - head_len + rest.len(),
            big.len(),
            "whole body despite the stop"
        );
        let status = server.child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "exit status after SIG{signal}");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "no longer listening"
        );
    }
}

#[test]
fn precompile_then_cache_stats_and_clear() {
    use sandserve_tests::guests;
    let root = DocRoot::new();
    let cache = tempfile::tempdir().unwrap();
    std::fs::copy(guests::path("hello"), root.path().join("a.wasm")).unwrap();
    std::fs::copy(guests::path("request-info"), root.path().join("b.wasm")).unwrap();
    root.dir("sub");
    std::fs::copy(guests::path("echo-headers"), root.path().join("sub/c.wasm")).unwrap();
    // A WebSocket handler is compiled for its own world.
    root.dir("websockets/handlers");
    std::fs::copy(
        guests::path("ws-echo"),
        root.path().join("websockets/handlers/echo_wsh.wasm"),
    )
    .unwrap();
    root.file("broken.wasm", b"\0asm\x0d\0\x01\0junk")
        .file("core.wasm", b"\0asm\x01\0\0\0");
    let config = root.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"wasm": {{"cache_dir": {:?}}}}}"#,
            cache.path().display().to_string()
        ),
    )
    .unwrap();
    let server = Running::start(&[
        "serve",
        root.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--port",
        "0",
        "--bind",
        "127.0.0.1",
        "--precompile",
    ]);
    let summary = server.stdout_line("precompiled");
    assert!(
        summary.starts_with("sandserve: precompiled 4 handlers in "),
        "{summary}"
    );
    assert!(summary.ends_with(" s (1 failed)"), "{summary}");
    let failure = server.stdout_line("broken.wasm");
    assert!(failure.contains("not a valid component"), "{failure}");
    drop(server);

    let dir = cache.path().to_str().unwrap();
    let stats = Command::new(BIN)
        .args(["cache", "stats", "--cache-dir", dir])
        .output()
        .unwrap();
    let stats = String::from_utf8(stats.stdout).unwrap();
    assert!(stats.contains("entries: 4\n"), "{stats}");
    let cleared = Command::new(BIN)
        .args(["cache", "clear", "--cache-dir", dir])
        .output()
        .unwrap();
    assert!(cleared.status.success());
    assert!(String::from_utf8(cleared.stdout)
        .unwrap()
        .starts_with("removed 4 entries"));
    let stats = Command::new(BIN)
        .args(["cache", "stats", "--cache-dir", dir])
        .output()
        .unwrap();
    assert!(String::from_utf8(stats.stdout)
        .unwrap()
        .contains("entries: 0\n"));
}

#[test]
fn hosts_lists_every_resolvable_domain() {
    let out = Command::new(BIN)
        .args(["hosts", "--wpt-defaults"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "127.0.0.1\tweb-platform.test\n",
        "127.0.0.1\twww2.not-web-platform.test\n",
        "127.0.0.1\txn--lve-6lad.web-platform.test\n",
        "127.0.0.1\twww.www1.web-platform.test\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    assert!(
        !text.contains("nonexistent"),
        "not-subdomains must not resolve"
    );
}

#[test]
fn wpt_defaults_with_a_checkout_config_serve_http_and_https() {
    let root = DocRoot::new();
    root.file("index.html", "wpt");
    let certs = tempfile::tempdir().unwrap();
    let config = root.path().join("config.json");
    // A checkout's config.json, merged key by key over the defaults.
    std::fs::write(
        &config,
        format!(
            r#"{{"server_host": "127.0.0.1", "check_subdomains": false,
               "ports": {{"http": ["auto", "auto"], "https": ["auto", "auto"], "http-local": [], "http-public": [],
                          "https-local": [], "https-public": [], "ws": [], "wss": [], "h2": []}},
               "ssl": {{"openssl": {{"base_path": {:?}}}}}}}"#,
            certs.path().display().to_string()
        ),
    )
    .unwrap();
    let server = Running::start(&[
        "serve",
        root.path().to_str().unwrap(),
        "--wpt-defaults",
        "--config",
        config.to_str().unwrap(),
    ]);
    let http = server.stdout_line("sandserve: http on http://web-platform.test:");
    let https = server.stdout_line("sandserve: https on https://web-platform.test:");
    assert!(http.contains("bound to 127.0.0.1:"), "{http}");
    assert!(https.contains("bound to 127.0.0.1:"), "{https}");
    let ca = server.stdout_line("CA certificate for browsers to trust");
    assert!(ca.ends_with("cacert.pem"), "{ca}");
    assert!(certs.path().join("cacert.pem").exists());
}

#[test]
fn guest_log_lines_are_escaped_and_bounded() {
    let root = DocRoot::new();
    std::fs::copy(
        sandserve_tests::guests::path("hostile-flood"),
        root.path().join("flood.wasm"),
    )
    .unwrap();
    let config = root.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"browser_host": "127.0.0.1", "ports": {"http": ["auto"]},
            "wasm": {"cpu_time_ms": 300, "max_log_bytes": 4096}}"#,
    )
    .unwrap();
    let server = Running::start(&[
        "serve",
        root.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let mut conn = Conn::connect(([127, 0, 0, 1], server.port()).into());
    conn.send(b"GET /flood.wasm?to=log HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(conn.read_response(false).status, 500);
    // Everything the guest logged comes before the note of what was dropped.
    let mut lines = Vec::new();
    loop {
        let line = server
            .stderr
            .recv_timeout(Duration::from_secs(20))
            .expect("the note of dropped log lines");
        if line.contains("bytes of log lines over wasm.max_log_bytes dropped") {
            break;
        }
        lines.push(line);
    }
    let guest: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("/flood.wasm?to=log: flood"))
        .collect();
    assert!(!guest.is_empty());
    assert!(guest.len() <= 4096 / 60 + 1, "{} lines kept", guest.len());
    for line in &lines {
        assert!(!line.starts_with("2026-01-01"), "a forged line: {line:?}");
        assert!(!line.contains('\u{1b}'), "a terminal escape: {line:?}");
    }
    assert!(guest[0].contains(r"flood\n2026-01-01"), "{}", guest[0]);
}

/// Minor page faults of process `pid` so far.
fn minor_faults(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command's name, which is in parentheses.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').nth(7).unwrap().parse().unwrap()
}

#[test]
fn a_python_request_does_not_fault_its_interpreter_in_again() {
    // A fresh instance per request starts from the runner's memory image.
    // Its slot is reset by copying back the pages the last request dirtied
    // (~480 in ~300 runs for CPython); were only some runs kept and the rest
    // given back to the kernel, each request would fault them in again
    // (~520 faults, 4x the CPU: wasmtime 48 without the project's patch).
    let root = DocRoot::new();
    root.file(
        "hello.py",
        "def main(request, response):\n    return 'hi'\n",
    );
    let config = root.path().join("config.json");
    let settings = serde_json::json!({
        "ports": {"http": ["auto"]},
        "browser_host": "127.0.0.1",
        "python": {"runner": python_runner()},
        "wasm": {"cache_dir": python_runner_cache()},
    });
    std::fs::write(&config, settings.to_string()).unwrap();
    let server = Running::start(&[
        "serve",
        root.path().to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], server.port()));
    let ask = || {
        let mut conn = Conn::connect(addr);
        conn.send(b"GET /hello.py HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let resp = conn.read_response(false);
        assert_eq!(resp.text(), "hi");
    };
    for _ in 0..20 {
        ask();
    }
    let before = minor_faults(server.child.id());
    for _ in 0..100 {
        ask();
    }
    let per_request = (minor_faults(server.child.id()) - before) / 100;
    assert!(
        per_request < 60,
        "{per_request} minor page faults per Python request"
    );
}
