//! A `redis-server` of the test's own on a free loopback port (Debian's
//! package: `scripts/redis-deps.sh` installs it), and a small client that
//! speaks the protocol, to look at the store from outside.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`, killed on drop. Nothing is saved to disk.
pub struct RedisServer {
    /// Where it listens.
    pub addr: SocketAddr,
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Over TLS only: the certificate authority that signed its certificate.
    tls_ca: Option<std::path::PathBuf>,
}

impl RedisServer {
    /// Starts one on a free port. A missing `redis-server` fails the test,
    /// saying how to install it.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut server = RedisServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            dir: tempfile::tempdir().expect("a directory for redis-server"),
            tls_ca: None,
        };
        server.restart();
        server
    }

    /// Starts one that speaks only TLS, with a certificate for `localhost`
    /// signed by an authority of its own (`ca_file()`).
    pub fn start_tls() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = tempfile::tempdir().expect("a directory for redis-server");
        crate::write_certificates(dir.path(), &["localhost"]);
        let mut server = RedisServer {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            tls_ca: Some(dir.path().join("ca.pem")),
            dir,
        };
        server.restart();
        server
    }

    /// The authority to trust, for a server started by `start_tls`.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.tls_ca.clone().expect("a redis-server over TLS")
    }

    /// The URL sandserve is configured with.
    pub fn url(&self) -> String {
        format!("redis://{}/0", self.addr)
    }

    /// Kills it: the store is gone (and so is what it held).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let mut command = Command::new("redis-server");
        command.args(["--bind", "127.0.0.1"]);
        match &self.tls_ca {
            None => command.arg("--port").arg(self.addr.port().to_string()),
            Some(ca) => command
                .args(["--port", "0", "--tls-port"])
                .arg(self.addr.port().to_string())
                .arg("--tls-cert-file")
                .arg(self.dir.path().join("host.pem"))
                .arg("--tls-key-file")
                .arg(self.dir.path().join("host.key"))
                .arg("--tls-ca-cert-file")
                .arg(ca)
                .args(["--tls-auth-clients", "no"]),
        };
        let child = command
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): install it with `bash scripts/redis-deps.sh` \
                     (scripts/test.sh does)"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.tls_ca.is_some() {
                // The plain client cannot speak TLS: listening is enough.
                if TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).is_ok() {
                    return;
                }
            } else if let Ok(mut c) = RedisClient::connect(self.addr) {
                if c.command(&[b"PING"]).ok() == Some(Reply::Status("PONG".into())) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A client of it.
    pub fn client(&self) -> RedisClient {
        RedisClient::connect(self.addr).expect("connect to redis-server")
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One reply of the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Status(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

/// A plain protocol client over one connection.
pub struct RedisClient {
    reader: BufReader<TcpStream>,
}

impl RedisClient {
    pub fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(RedisClient {
            reader: BufReader::new(stream),
        })
    }

    /// Sends one command, each argument length-prefixed, and reads its reply.
    pub fn command(&mut self, args: &[&[u8]]) -> std::io::Result<Reply> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&out)?;
        self.read_reply()
    }

    /// Every key in the store.
    pub fn keys(&mut self) -> Vec<Vec<u8>> {
        match self.command(&[b"KEYS", b"*"]).expect("KEYS") {
            Reply::Array(items) => items
                .into_iter()
                .filter_map(|r| match r {
                    Reply::Bulk(Some(k)) => Some(k),
                    _ => None,
                })
                .collect(),
            other => panic!("KEYS answered {other:?}"),
        }
    }

    fn read_reply(&mut self) -> std::io::Result<Reply> {
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1.min(line.len()));
        let bad = || std::io::Error::other(format!("a reply of {line:?}"));
        Ok(match kind {
            "+" => Reply::Status(rest.into()),
            "-" => Reply::Error(rest.into()),
            ":" => Reply::Integer(rest.parse().map_err(|_| bad())?),
            "$" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                if n < 0 {
                    Reply::Bulk(None)
                } else {
                    let mut data = vec![0; n as usize + 2];
                    self.reader.read_exact(&mut data)?;
                    data.truncate(n as usize);
                    Reply::Bulk(Some(data))
                }
            }
            "*" => {
                let n: i64 = rest.parse().map_err(|_| bad())?;
                let mut items = Vec::new();
                for _ in 0..n.max(0) {
                    items.push(self.read_reply()?);
                }
                Reply::Array(items)
            }
            _ => return Err(bad()),
        })
    }
}
