//! Helpers for the end-to-end tests: a server on a free port in this process,
//! a document root in a temporary directory, and a raw TCP client that reads
//! responses byte for byte.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use sandserve::config::PortSpec;
use sandserve::Config;
use tokio_util::sync::CancellationToken;

pub mod redis;
pub mod ws;

/// The built guest examples: `GUEST_DIR` and `for_each_guest!`.
pub mod guests {
    include!(concat!(env!("OUT_DIR"), "/guests.rs"));

    /// The path of a built guest, by its crate name.
    pub fn path(name: &str) -> std::path::PathBuf {
        std::path::Path::new(GUEST_DIR).join(format!("{}.wasm", name.replace('-', "_")))
    }
}

/// With `SANDSERVE_TEST_LOG` set (a level such as `debug`), the servers of
/// a test log to standard error, each line timed: to follow a test that
/// fails once in a while.
fn log_if_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(level) = std::env::var("SANDSERVE_TEST_LOG") {
            let level = level
                .parse()
                .unwrap_or(tracing_subscriber::filter::LevelFilter::DEBUG);
            let _ = tracing_subscriber::fmt()
                .with_max_level(level)
                .with_writer(std::io::stderr)
                .try_init();
        }
    });
}

/// How long a test client waits for any one read before failing.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A document root in a temporary directory, removed on drop.
pub struct DocRoot {
    dir: tempfile::TempDir,
}

impl DocRoot {
    /// An empty document root.
    pub fn new() -> Self {
        DocRoot {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating directories), returning the document root for chaining.
    pub fn file(&self, rel: &str, contents: impl AsRef<[u8]>) -> &Self {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
        self
    }

    /// Creates a directory.
    pub fn dir(&self, rel: &str) -> PathBuf {
        let path = self.dir.path().join(rel);
        std::fs::create_dir_all(&path).unwrap();
        path
    }
}

impl Default for DocRoot {
    fn default() -> Self {
        Self::new()
    }
}

/// A server running in this process on a free port of 127.0.0.1.
pub struct TestServer {
    /// Where the (first) http listener is.
    pub addr: SocketAddr,
    /// Every listener: (scheme key, address).
    pub listeners: Vec<(String, SocketAddr)>,
    /// The server's counters.
    pub monitor: sandserve::Monitor,
    shutdown: CancellationToken,
    thread: Option<JoinHandle<()>>,
    _cache: Option<tempfile::TempDir>,
}

impl TestServer {
    /// Serves `root` with the default configuration.
    pub fn start(root: &DocRoot) -> Self {
        Self::start_with(root, |_| {})
    }

    /// Serves `root` with the default configuration changed by `edit`.
    pub fn start_with(root: &DocRoot, edit: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            doc_root: Some(root.path().to_path_buf()),
            browser_host: "127.0.0.1".into(),
            ..Config::default()
        };
        config.ports.insert("http".into(), vec![PortSpec::Auto]);
        // A compile cache of its own, unless the test names one.
        let cache = tempfile::tempdir().expect("cache directory");
        config.wasm.cache_dir = Some(cache.path().to_path_buf());
        // CI runs the handler tests once more with the other way of resetting
        // instance memory (the one this project's kernels never need).
        if let Ok(reset) = std::env::var("SANDSERVE_TEST_MEMORY_RESET") {
            config.wasm.memory_reset = serde_json::from_value(serde_json::json!(reset))
                .expect("SANDSERVE_TEST_MEMORY_RESET: auto, pagemap or plain");
        }
        edit(&mut config);
        let mut server = Self::start_config(config);
        server._cache = Some(cache);
        server
    }

    /// Serves with exactly this configuration.
    pub fn start_config(config: Config) -> Self {
        log_if_asked();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let (ready, started) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                match sandserve::Server::bind(config).await {
                    Ok(server) => {
                        let listeners: Vec<_> = server
                            .listeners()
                            .into_iter()
                            .map(|l| (l.scheme_name, l.addr))
                            .collect();
                        ready.send(Ok((listeners, server.monitor()))).unwrap();
                        server.run(token).await;
                    }
                    Err(e) => ready.send(Err(e.to_string())).unwrap(),
                }
            });
        });
        let (listeners, monitor) = started
            .recv()
            .expect("server thread")
            .unwrap_or_else(|e| panic!("server did not start: {e}"));
        TestServer {
            addr: listeners[0].1,
            listeners,
            monitor,
            shutdown,
            thread: Some(thread),
            _cache: None,
        }
    }

    /// Opens a connection.
    pub fn connect(&self) -> Conn {
        Conn::connect(self.addr)
    }

    /// Sends `request` on a new connection and reads everything until the
    /// server closes it.
    pub fn exchange(&self, request: &[u8]) -> Vec<u8> {
        let mut conn = self.connect();
        conn.send(request);
        conn.read_to_close()
    }

    /// `GET path` with `Connection: close`; the parsed response.
    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[])
    }

    /// A request with extra header lines, on its own connection.
    pub fn request(&self, method: &str, path: &str, headers: &[&str]) -> Resp {
        let mut req = format!("{method} {path} HTTP/1.1\r\n");
        if !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("host:"))
        {
            req.push_str(&format!("Host: {}\r\n", self.addr));
        }
        for h in headers {
            req.push_str(h);
            req.push_str("\r\n");
        }
        req.push_str("Connection: close\r\n\r\n");
        let mut conn = self.connect();
        conn.send(req.as_bytes());
        conn.read_response(method == "HEAD")
    }

    /// Waits until `condition` holds of the server's counters (up to the
    /// read timeout): the signal that something is under way.
    pub fn wait_for(&self, what: &str, condition: impl Fn(&sandserve::Stats) -> bool) {
        let deadline = std::time::Instant::now() + READ_TIMEOUT;
        loop {
            let stats = self.monitor.stats();
            if condition(&stats) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}: {stats:?}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Stops the server and waits for it.
    pub fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A raw client connection.
pub struct Conn {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// A client over a stream connected already.
    pub fn from_stream(stream: TcpStream) -> Self {
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Connects to `addr`.
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Writes bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => 0,
            Err(e) => panic!("read failed (timeout?): {e}"),
        }
    }

    /// Reads one response. Its body is read by `Content-Length`, or until
    /// the connection closes when there is none. `head_only`: a HEAD answer.
    pub fn read_response(&mut self, head_only: bool) -> Resp {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.fill() == 0 {
                panic!(
                    "connection closed before a whole response head: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
            }
        };
        let head: Vec<u8> = self.buf.drain(..head_end).collect();
        let mut resp = Resp::parse_head(head);
        let length = if head_only || resp.status < 200 || resp.status == 204 || resp.status == 304 {
            Some(0)
        } else {
            resp.header("content-length")
                .map(|v| v.trim().parse::<usize>().unwrap())
        };
        match length {
            Some(n) => {
                while self.buf.len() < n {
                    if self.fill() == 0 {
                        panic!("closed after {} of {n} body bytes", self.buf.len());
                    }
                }
                resp.body = self.buf.drain(..n).collect();
            }
            None => {
                while self.fill() > 0 {}
                resp.body = std::mem::take(&mut self.buf);
            }
        }
        resp
    }

    /// Reads until the server closes the connection; returns what came.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill() > 0 {}
        std::mem::take(&mut self.buf)
    }

    /// Whether the server has closed the connection (waits for it, up to the
    /// read timeout), with no more bytes sent.
    pub fn closed(&mut self) -> bool {
        self.fill() == 0 && self.buf.is_empty()
    }
}

/// A parsed response.
#[derive(Debug, Clone)]
pub struct Resp {
    /// The head exactly as received, blank line included.
    pub head: Vec<u8>,
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Resp {
    fn parse_head(head: Vec<u8>) -> Resp {
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap();
        assert!(
            status_line.starts_with("HTTP/1.1 "),
            "status line {status_line:?}"
        );
        let status = status_line[9..12].parse().unwrap();
        let reason = status_line.get(13..).unwrap_or("").to_string();
        let headers = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap_or((l, ""));
                (n.to_string(), v.trim().to_string())
            })
            .collect();
        Resp {
            head,
            status,
            reason,
            headers,
            body: Vec::new(),
        }
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The header names in order.
    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as the reference's JSON error; returns (code, message).
    pub fn json_error(&self) -> (u64, String) {
        let v: serde_json::Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()));
        (
            v["error"]["code"].as_u64().expect("error.code"),
            v["error"]["message"]
                .as_str()
                .expect("error.message")
                .to_string(),
        )
    }
}

/// Parses every response in `bytes` (for pipelined answers read to close).
pub fn parse_all(bytes: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let end = find(rest, b"\r\n\r\n").expect("response head") + 4;
        let mut resp = Resp::parse_head(rest[..end].to_vec());
        rest = &rest[end..];
        let n = resp
            .header("content-length")
            .map(|v| v.parse::<usize>().unwrap())
            .unwrap_or(rest.len());
        resp.body = rest[..n].to_vec();
        rest = &rest[n..];
        out.push(resp);
    }
    out
}

/// The first position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The Python runner component the tests run `.py` handlers in:
/// `$SANDSERVE_PYTHON_RUNNER`, else `python/runner.wasm` in the build's
/// target directory (where `scripts/build-python-runner.sh` puts it). A
/// missing runner fails the test that needs it, saying how to build it.
pub fn python_runner() -> std::path::PathBuf {
    if let Some(path) = std::env::var_os("SANDSERVE_PYTHON_RUNNER") {
        return path.into();
    }
    let runner = target_dir().join("python").join("runner.wasm");
    assert!(
        runner.is_file(),
        "the Python runner is not built ({} is missing): run `bash scripts/build-python-runner.sh` \
         (scripts/test.sh does)",
        runner.display()
    );
    runner
}

/// A compile cache for test servers that run the Python runner, holding the
/// runner compiled (once per test binary, before any test server needs it:
/// a debug build compiles it slowly enough for a test's reads to time out).
pub fn python_runner_cache() -> PathBuf {
    static DONE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let dir = python_runner().parent().unwrap().join("test-cache");
        std::fs::create_dir_all(&dir).unwrap();
        let root = DocRoot::new();
        root.file(
            "warm.py",
            "def main(request, response):\n    return 'warm'\n",
        );
        let s = TestServer::start_with(&root, |c| {
            c.python.runner = Some(python_runner());
            c.wasm.cache_dir = Some(dir.clone());
        });
        let mut c = TcpStream::connect(s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
        c.write_all(b"GET /warm.py HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        assert!(out.ends_with("warm"), "the runner did not answer: {out}");
        dir
    })
    .clone()
}

/// Makes a named pipe at `path` (with `mkfifo`).
pub fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
}

/// Copies the directory `from` into `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A TLS client configuration trusting only the CA certificates of
/// `ca_pem`, offering `alpn` (in order).
pub fn tls_client_config(ca_pem: &Path, alpn: &[&[u8]]) -> std::sync::Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca_pem).expect("CA file") {
        roots
            .add(cert.expect("CA certificate"))
            .expect("CA accepted");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    std::sync::Arc::new(config)
}

/// Writes into `dir` a certificate authority of its own (`ca.pem`) and a
/// certificate it signed for `names` (`host.pem`, key in `host.key`), as a
/// deployment brings them.
pub fn write_certificates(dir: &Path, names: &[&str]) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let host_key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let host_cert = rcgen::CertificateParams::new(names)
        .unwrap()
        .signed_by(&host_key, &issuer)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("host.pem"), host_cert.pem()).unwrap();
    std::fs::write(dir.join("host.key"), host_key.serialize_pem()).unwrap();
}

/// The build's target directory (a test binary is target/debug/deps/X).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .expect("target directory")
        .to_path_buf()
}

/// A component built by one of the project's scripts into `dir` of the
/// target directory, or a failure saying how to build it.
pub fn built(dir: &str, name: &str, script: &str) -> PathBuf {
    let path = target_dir().join(dir).join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is not built: run `bash scripts/{script}` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Asks for `path` once, waiting as long as it takes: the first request
/// for a component compiles it (seconds for an interpreter's, in a debug
/// build), which a test's own timing should not include.
pub fn compile_first(addr: SocketAddr, path: &str) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
    c.write_all(format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let _ = c.read_to_end(&mut Vec::new());
}
