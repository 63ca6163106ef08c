//! A raw WebSocket client for the tests: writes and reads frames byte by
//! byte, masked or not, in any length form.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::READ_TIMEOUT;

/// The `Sec-WebSocket-Key` every handshake sends.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A byte stream to the server: TCP or TLS.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A raw WebSocket client.
pub struct Client {
    /// The stream to the server.
    pub stream: Box<dyn Stream>,
    /// Read and not yet used.
    pub buf: Vec<u8>,
}

/// A frame as the client reads it.
#[derive(Debug, PartialEq)]
pub struct Frame {
    /// FIN.
    pub fin: bool,
    /// The reserved bits.
    pub rsv: u8,
    /// The opcode.
    pub opcode: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

impl Client {
    /// Sends `head` (a request head without its blank line) and reads the
    /// answer's head.
    pub fn open(addr: SocketAddr, head: &str) -> (String, Client) {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        Client::open_over(Box::new(stream), head)
    }

    /// The same over a stream already open (TLS, say).
    pub fn open_over(mut stream: Box<dyn Stream>, head: &str) -> (String, Client) {
        stream.write_all(format!("{head}\r\n").as_bytes()).unwrap();
        let mut client = Client {
            stream,
            buf: Vec::new(),
        };
        let end = loop {
            if let Some(i) = client.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            client.more();
        };
        let head = String::from_utf8_lossy(&client.buf[..end]).into_owned();
        client.buf.drain(..end);
        (head, client)
    }

    /// An opening handshake for `path`, with extra header lines.
    pub fn connect(addr: SocketAddr, path: &str, extra: &str) -> (String, Client) {
        Client::open(
            addr,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                 Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}"
            ),
        )
    }

    /// The same, expecting `101`.
    pub fn upgraded(addr: SocketAddr, path: &str) -> Client {
        let (head, mut client) = Client::connect(addr, path, "");
        if !head.starts_with("HTTP/1.1 101 ") {
            let _ = client.stream.read_to_end(&mut client.buf);
            panic!("{head}{}", String::from_utf8_lossy(&client.buf));
        }
        client
    }

    pub fn more(&mut self) {
        let mut chunk = [0u8; 65536];
        let n = self.stream.read(&mut chunk).expect("read");
        assert!(
            n > 0,
            "the server closed the connection; had {:?}",
            self.buf
        );
        self.buf.extend_from_slice(&chunk[..n]);
    }

    pub fn need(&mut self, n: usize) {
        while self.buf.len() < n {
            self.more();
        }
    }

    /// Writes a frame: masked unless `unmasked`, its length in `form`
    /// (7, 16 or 64 bits; 0 for the shortest).
    pub fn frame_with(
        &mut self,
        fin: bool,
        rsv: u8,
        opcode: u8,
        payload: &[u8],
        unmasked: bool,
        form: u8,
    ) {
        let mut out = vec![(if fin { 0x80 } else { 0 }) | (rsv << 4) | opcode];
        let mask_bit = if unmasked { 0 } else { 0x80 };
        let n = payload.len();
        let form = match form {
            0 if n < 126 => 7,
            0 if n < 65536 => 16,
            0 => 64,
            f => f,
        };
        match form {
            7 => out.push(mask_bit | n as u8),
            16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        if unmasked {
            out.extend_from_slice(payload);
        } else {
            let mask = [0x37, 0xfa, 0x21, 0x3d];
            out.extend_from_slice(&mask);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        }
        self.stream.write_all(&out).unwrap();
    }

    pub fn frame(&mut self, opcode: u8, payload: &[u8]) {
        self.frame_with(true, 0, opcode, payload, false, 0);
    }

    pub fn text(&mut self, text: &str) {
        self.frame(0x1, text.as_bytes());
    }

    /// Reads one frame (servers do not mask).
    pub fn read(&mut self) -> Frame {
        self.need(2);
        let (b0, b1) = (self.buf[0], self.buf[1]);
        assert_eq!(b1 & 0x80, 0, "a server frame must not be masked");
        let (n, at) = match b1 & 0x7f {
            126 => {
                self.need(4);
                (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
            }
            127 => {
                self.need(10);
                (
                    u64::from_be_bytes(self.buf[2..10].try_into().unwrap()) as usize,
                    10,
                )
            }
            n => (n as usize, 2),
        };
        self.need(at + n);
        let payload = self.buf[at..at + n].to_vec();
        self.buf.drain(..at + n);
        Frame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 7,
            opcode: b0 & 0xf,
            payload,
        }
    }

    /// Reads frames until a close frame: its code and reason.
    pub fn read_close(&mut self) -> (Option<u16>, String) {
        loop {
            let f = self.read();
            if f.opcode == 0x8 {
                return match f.payload.as_slice() {
                    [] => (None, String::new()),
                    [a, b, rest @ ..] => (
                        Some(u16::from_be_bytes([*a, *b])),
                        String::from_utf8_lossy(rest).into_owned(),
                    ),
                    _ => panic!("a one-byte close payload"),
                };
            }
        }
    }

    /// The server closes the TCP connection (after its close frame).
    pub fn expect_eof(&mut self) {
        let mut chunk = [0u8; 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) => panic!("waiting for the close: {e}"),
            }
        }
    }
}

/// `Sec-WebSocket-Accept` for [`KEY`].
pub fn expected_accept() -> String {
    let mut sha = Sha1::new();
    sha.update(KEY.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}
