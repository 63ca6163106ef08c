//! `hostile-load`: one class of attack against a running sandserve while a
//! good client measures what it gets, for `bench/hostile.sh`.
//!
//! ```text
//! hostile-load ADDR ATTACK SECONDS
//! ```
//!
//! The good client (from 127.0.0.1) asks in turn for `/1k.txt` and
//! `/hello.wasm` on one kept-alive connection, one request at a time, for
//! SECONDS, and prints the p50 and p99 of each. The attack (from 127.0.0.2,
//! another client address) runs meanwhile; `idle` is none. The document
//! root is the one `bench/hostile.sh` prepares.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const ATTACKER: [u8; 4] = [127, 0, 0, 2];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, attack, seconds] = args.as_slice() else {
        eprintln!("usage: hostile-load ADDR ATTACK SECONDS");
        std::process::exit(2);
    };
    let addr: SocketAddr = addr.parse().expect("ADDR: an address and port");
    let seconds: f64 = seconds.parse().expect("SECONDS: a number");
    let stop = Arc::new(AtomicBool::new(false));
    // The attacker has one thread of its own, as if it were another machine
    // with one core; the good client has another, so that neither waits for
    // the other inside this process.
    let attacker = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime for the attacker");
    let attackers = attacker.block_on(async { start(attack, addr, stop.clone()) });
    let good = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the good client");
    let (static_times, hello_times, failures) = good.block_on(async {
        // Let the attack build up before measuring.
        if attack != "idle" {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        good_client(addr, seconds).await
    });
    stop.store(true, Ordering::Relaxed);
    for a in attackers {
        a.abort();
    }
    attacker.shutdown_background();
    let pct = |v: &[Duration], p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1000.0
    };
    println!(
        "{attack} static_p50_ms {:.2} static_p99_ms {:.2} hello_p50_ms {:.2} hello_p99_ms {:.2} requests {} failures {failures}",
        pct(&static_times, 0.5),
        pct(&static_times, 0.99),
        pct(&hello_times, 0.5),
        pct(&hello_times, 0.99),
        static_times.len() + hello_times.len()
    );
}

/// Sequential requests on one connection (reconnecting if it closes);
/// returns the latencies of each kind, sorted, and the number that failed.
async fn good_client(addr: SocketAddr, seconds: f64) -> (Vec<Duration>, Vec<Duration>, usize) {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let (mut statics, mut hellos, mut failures) = (Vec::new(), Vec::new(), 0);
    let mut conn: Option<TcpStream> = None;
    let mut turn = 0usize;
    while Instant::now() < end {
        let is_static = turn.is_multiple_of(2);
        let path = if is_static { "/1k.txt" } else { "/hello.wasm" };
        turn += 1;
        let started = Instant::now();
        let stream = match conn.take() {
            Some(s) => s,
            None => match TcpStream::connect(addr).await {
                Ok(s) => s,
                Err(_) => {
                    failures += 1;
                    continue;
                }
            },
        };
        match exchange(stream, path).await {
            Some((200, stream)) => {
                let took = started.elapsed();
                if is_static {
                    statics.push(took)
                } else {
                    hellos.push(took)
                }
                conn = Some(stream);
            }
            _ => failures += 1,
        }
    }
    statics.sort();
    hellos.sort();
    (statics, hellos, failures)
}

/// One request with `Content-Length` framing; the status and the
/// connection, if it may carry another.
async fn exchange(mut stream: TcpStream, path: &str) -> Option<(u16, TcpStream)> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: good\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut buf = Vec::with_capacity(4096);
    let head_end = loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut chunk))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let mut chunk = [0u8; 16384];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((status, stream))
}

/// A connection from the attacker's address.
async fn attacker_connect(addr: SocketAddr) -> Option<TcpStream> {
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::from((ATTACKER, 0))).ok()?;
    socket.connect(addr).await.ok()
}

/// Sends `request`, then reads until the server closes (or `limit` passes).
async fn hit(addr: SocketAddr, request: &[u8], limit: Duration) {
    let Some(mut s) = attacker_connect(addr).await else {
        tokio::time::sleep(Duration::from_millis(10)).await;
        return;
    };
    if s.write_all(request).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(limit, async {
        let mut sink = vec![0u8; 65536];
        while let Ok(n) = s.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Runs `n` copies of `each` in a loop until `stop`.
fn many<F, Fut>(n: usize, stop: Arc<AtomicBool>, each: F) -> Vec<tokio::task::JoinHandle<()>>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = ()> + Send,
{
    (0..n)
        .map(|i| {
            let (stop, each) = (stop.clone(), each.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    each(i).await;
                }
            })
        })
        .collect()
}

fn start(
    attack: &str,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let get = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: bad\r\nConnection: close\r\n\r\n");
    match attack {
        "idle" => Vec::new(),
        // 1. Numbers in a URL: the step that once wrapped around.
        "trickle-overflow" => many(8, stop, move |i| async move {
            let method = if i % 2 == 0 { "HEAD" } else { "GET" };
            let r = format!("{method} /1k.txt?pipe=trickle(1:d0:18446744073709551615:r2) HTTP/1.1\r\nHost: bad\r\nConnection: close\r\n\r\n");
            hit(addr, r.as_bytes(), Duration::from_secs(5)).await
        }),
        // 3. Memory through a guest's headers, memory bombs, heads of empty
        // lines, heads in tiny pieces, large bodies.
        "header-flood" => {
            let r = get("/flood.wasm?to=headers");
            many(8, stop, move |_| {
                let r = r.clone();
                async move { hit(addr, r.as_bytes(), Duration::from_secs(10)).await }
            })
        }
        "memory-bombs" => {
            let r = get("/memory.wasm");
            many(32, stop, move |_| {
                let r = r.clone();
                async move { hit(addr, r.as_bytes(), Duration::from_secs(10)).await }
            })
        }
        "empty-lines" => many(256, stop, move |_| async move {
            let Some(mut s) = attacker_connect(addr).await else {
                return;
            };
            for _ in 0..1000 {
                if s.write_all(b"\r\n").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }),
        "slow-head" => many(256, stop, move |_| async move {
            let Some(mut s) = attacker_connect(addr).await else {
                return;
            };
            let mut head = b"GET /1k.txt HTTP/1.1\r\nHost: bad\r\n".to_vec();
            for i in 0..3000 {
                head.extend_from_slice(format!("X-Pad-{i}: {}\r\n", "p".repeat(50)).as_bytes());
            }
            for piece in head.chunks(64) {
                if s.write_all(piece).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }),
        "bodies" => many(64, stop, move |_| async move {
            let Some(mut s) = attacker_connect(addr).await else {
                return;
            };
            let head = b"POST /1k.txt HTTP/1.1\r\nHost: bad\r\nContent-Length: 16777216\r\n\r\n";
            if s.write_all(head).await.is_err() {
                return;
            }
            let piece = vec![b'b'; 65536];
            for _ in 0..256 {
                if s.write_all(&piece).await.is_err() {
                    break;
                }
            }
            let mut sink = [0u8; 4096];
            let _ = tokio::time::timeout(Duration::from_secs(10), s.read(&mut sink)).await;
        }),
        // 4. Clients that are slow or gone.
        "slow-bodies" => many(512, stop, move |_| async move {
            let Some(mut s) = attacker_connect(addr).await else {
                return;
            };
            let head = b"POST /1k.txt HTTP/1.1\r\nHost: bad\r\nContent-Length: 1000000\r\n\r\n";
            if s.write_all(head).await.is_err() {
                return;
            }
            for _ in 0..1000 {
                if s.write_all(b"x").await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }),
        "no-read" => many(64, stop, move |_| async move {
            let Some(mut s) = attacker_connect(addr).await else {
                return;
            };
            let _ = s
                .write_all(b"GET /big.bin HTTP/1.1\r\nHost: bad\r\n\r\n")
                .await;
            // Never read; wait to be cut off.
            let _ = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if s.peer_addr().is_err() {
                        break;
                    }
                }
            })
            .await;
        }),
        "sleep-reset" => many(16, stop, move |_| async move {
            let mut conns = Vec::new();
            for _ in 0..32 {
                if let Some(mut s) = attacker_connect(addr).await {
                    let _ = s
                        .write_all(b"GET /sleep.wasm HTTP/1.1\r\nHost: bad\r\n\r\n")
                        .await;
                    conns.push(s);
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            for s in conns {
                // A reset, not a close (a zero linger does not block).
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
                drop(s);
            }
        }),
        // 5. Tenants that take more than their share.
        "spin" => {
            let r = get("/loop.wasm");
            many(512, stop, move |_| {
                let r = r.clone();
                async move { hit(addr, r.as_bytes(), Duration::from_secs(60)).await }
            })
        }
        "gzip" => {
            let r = get("/big.bin?pipe=gzip");
            many(4, stop, move |_| {
                let r = r.clone();
                async move { hit(addr, r.as_bytes(), Duration::from_secs(60)).await }
            })
        }
        "connection-flood" => many(64, stop, move |_| async move {
            let mut held = Vec::new();
            for _ in 0..200 {
                match attacker_connect(addr).await {
                    Some(s) => held.push(s),
                    None => break,
                }
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }),
        // 6. Compiling: a new component at every request.
        "compile-flood" => many(16, stop, move |_| async move {
            let n = fastrand::usize(..400);
            let r = format!(
                "GET /compile/c{n}.wasm HTTP/1.1\r\nHost: bad\r\nConnection: close\r\n\r\n"
            );
            hit(addr, r.as_bytes(), Duration::from_secs(30)).await
        }),
        other => {
            eprintln!("unknown attack {other:?}");
            std::process::exit(2);
        }
    }
}
