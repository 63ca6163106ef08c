//! A WebSocket load generator for the benchmarks (bench/websocket.sh).
//!
//! `ws-load echo ADDR PATH CONNECTIONS SECONDS BYTES`: each connection sends
//! a masked text message of BYTES bytes and waits for its echo, again and
//! again; prints `round-trips/s p50-µs p99-µs`.
//!
//! `ws-load hold ADDR PATH N`: opens N connections, completes each
//! handshake, prints `ready`, and holds them until its standard input
//! closes.

use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn handshake(addr: SocketAddr, path: &str) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("handshake answer");
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut out = vec![0x81];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// Reads one unmasked server frame; its payload length.
fn read_frame(s: &mut TcpStream) -> usize {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).expect("frame head");
    let n = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0u8; n];
    s.read_exact(&mut payload).unwrap();
    n
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr: SocketAddr = args[2].parse().expect("ADDR");
    let path = args[3].clone();
    match args[1].as_str() {
        "echo" => {
            let connections: usize = args[4].parse().unwrap();
            let seconds: f64 = args[5].parse().unwrap();
            let bytes: usize = args[6].parse().unwrap();
            let message = frame(&vec![b'x'; bytes]);
            let end = Instant::now() + Duration::from_secs_f64(seconds);
            let threads: Vec<_> = (0..connections)
                .map(|_| {
                    let message = message.clone();
                    let path = path.clone();
                    std::thread::spawn(move || {
                        let mut s = handshake(addr, &path);
                        let mut times = Vec::new();
                        while Instant::now() < end {
                            let t = Instant::now();
                            s.write_all(&message).unwrap();
                            assert_eq!(read_frame(&mut s), bytes);
                            times.push(t.elapsed());
                        }
                        times
                    })
                })
                .collect();
            let mut all: Vec<Duration> = threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            all.sort();
            let p = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_micros();
            println!("{:.0} {} {}", all.len() as f64 / seconds, p(0.5), p(0.99));
        }
        "hold" => {
            let n: usize = args[4].parse().unwrap();
            let held: Vec<TcpStream> = (0..n).map(|_| handshake(addr, &path)).collect();
            println!("ready {}", held.len());
            std::io::stdout().flush().unwrap();
            let _ = std::io::stdin().lock().lines().count();
            drop(held);
        }
        other => panic!("unknown mode {other}"),
    }
}
