//! WebSockets (RFC 6455), sandserve's own: the opening handshake's checks
//! and answer, and a connection that reads messages (joining fragments,
//! answering pings, keeping to its limits, failing with the code the RFC
//! names when the client breaks a rule) and writes frames — well-formed
//! ones, or exactly the bytes a handler asks for.

pub mod frame;

use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::http::{Request, Transport};
use frame::{FrameError, LengthForm};

/// Limits on each WebSocket connection (the `websockets` key of the
/// configuration).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebSocketLimits {
    /// The largest frame payload a client may send, in bytes; a larger one
    /// fails the connection with 1009. Default: 16777216 (16 MiB).
    pub max_frame_bytes: u64,
    /// The largest message (all its fragments), in bytes; 1009 past it.
    /// Default: 67108864 (64 MiB).
    pub max_message_bytes: u64,
    /// How long the server waits for the client's close frame after its
    /// own, in seconds. Default: 5.
    pub close_wait_secs: f64,
}

impl Default for WebSocketLimits {
    fn default() -> Self {
        WebSocketLimits {
            max_frame_bytes: 16 << 20,
            max_message_bytes: 64 << 20,
            close_wait_secs: 5.0,
        }
    }
}

/// The GUID of RFC 6455 §1.3.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`.
pub fn accept_key(key: &[u8]) -> String {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Whether a header's comma-separated tokens include `token` (any case).
fn has_token(request: &Request, name: &[u8], token: &str) -> bool {
    request.headers.get_all(name).any(|v| {
        v.split(|&b| b == b',')
            .any(|t| crate::http::parse::trim(t).eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// The comma-separated items of every `name` header, trimmed, in order.
pub fn list(request: &Request, name: &[u8]) -> Vec<String> {
    request
        .headers
        .get_all(name)
        .flat_map(|v| v.split(|&b| b == b','))
        .map(|t| String::from_utf8_lossy(crate::http::parse::trim(t)).into_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// A request that is not an opening handshake.
#[derive(Debug, PartialEq, Eq)]
pub struct NotHandshake {
    /// What is wrong.
    pub why: &'static str,
    /// Only `Sec-WebSocket-Version` is wrong.
    pub version: bool,
}

/// Checks an opening handshake (RFC 6455 §4.2.1); its key when it is one.
pub fn check_handshake(request: &Request) -> Result<Vec<u8>, NotHandshake> {
    let no = |why| {
        Err(NotHandshake {
            why,
            version: false,
        })
    };
    if !has_token(request, b"upgrade", "websocket") {
        return no("a WebSocket opening handshake needs `Upgrade: websocket`");
    }
    if request.method != "GET" {
        return no("a WebSocket opening handshake is a GET");
    }
    if request.version != crate::http::parse::Version::Http11 {
        return no("a WebSocket opening handshake is HTTP/1.1");
    }
    if !has_token(request, b"connection", "upgrade") {
        return no("a WebSocket opening handshake needs `Connection: Upgrade`");
    }
    let mut keys = request.headers.get_all(b"sec-websocket-key");
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => crate::http::parse::trim(key).to_vec(),
        _ => return no("a WebSocket opening handshake needs one Sec-WebSocket-Key"),
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(&key);
    if !matches!(decoded, Ok(ref k) if k.len() == 16) {
        return no("Sec-WebSocket-Key is not 16 bytes in base64");
    }
    let version = request.headers.get(b"sec-websocket-version");
    if version.map(crate::http::parse::trim) != Some(b"13") {
        return Err(NotHandshake {
            why: "only WebSocket version 13 is served",
            version: true,
        });
    }
    Ok(key)
}

/// The `101` answer's bytes.
pub fn switching_protocols(
    key: &[u8],
    protocol: Option<&str>,
    extra: &[(Vec<u8>, Vec<u8>)],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    out.extend_from_slice(accept_key(key).as_bytes());
    out.extend_from_slice(b"\r\n");
    if let Some(protocol) = protocol {
        out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        out.extend_from_slice(protocol.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    for (name, value) in extra {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A message, or the end of them.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
    /// The close frame's code and reason; code 1006 when there was none.
    Closed {
        code: Option<u16>,
        reason: String,
    },
}

/// The client has gone, or the connection is closed for sending.
#[derive(Debug)]
pub struct Closed;

/// A WebSocket connection's state after the handshake; its bytes go over
/// the transport each call is given.
pub struct Connection {
    limits: WebSocketLimits,
    /// Reserved bits are the negotiated extensions' to use.
    extensions: bool,
    /// We sent a close frame.
    close_sent: bool,
    /// How the connection ended, once it has (the client's close frame, or
    /// the failure).
    ended: Option<(Option<u16>, String)>,
    /// The transport failed, or a write stalled: nothing more can be sent.
    broken: bool,
    /// The client's close frame is the handler's to answer.
    manual_close: bool,
}

impl Connection {
    /// A connection whose transport's input may already hold frames.
    pub fn new(limits: WebSocketLimits, extensions: bool) -> Self {
        Connection {
            limits,
            extensions,
            close_sent: false,
            ended: None,
            broken: false,
            manual_close: false,
        }
    }

    /// Lets the reserved bits through (an extension was negotiated, whose
    /// frames the handler reads as they are).
    pub fn allow_reserved_bits(&mut self, allow: bool) {
        self.extensions = allow;
    }

    /// Leaves the answer to the client's close frame to the handler.
    pub fn answer_close_myself(&mut self) {
        self.manual_close = true;
    }

    /// Whether a close frame has been sent.
    pub fn close_sent(&self) -> bool {
        self.close_sent
    }

    /// Writes bytes as they are.
    pub async fn write_raw(&mut self, t: &mut Transport, data: &[u8]) -> Result<(), Closed> {
        if self.broken {
            return Err(Closed);
        }
        if t.send(data).await.is_err() {
            self.broken = true;
            return Err(Closed);
        }
        Ok(())
    }

    /// Sends one well-formed unmasked frame.
    pub async fn send(
        &mut self,
        t: &mut Transport,
        opcode: u8,
        payload: &[u8],
    ) -> Result<(), Closed> {
        let bytes = frame::encode(true, 0, opcode, None, payload, LengthForm::Shortest);
        self.write_raw(t, &bytes).await
    }

    /// Sends a close frame (once).
    pub async fn close(
        &mut self,
        t: &mut Transport,
        code: Option<u16>,
        reason: &str,
    ) -> Result<(), Closed> {
        if self.close_sent {
            return Ok(());
        }
        self.close_sent = true;
        self.send(t, frame::CLOSE, &frame::close_payload(code, reason))
            .await
    }

    /// Fails the connection: a close frame with `code` and `reason`, and no
    /// more reading.
    async fn fail(&mut self, t: &mut Transport, code: u16, reason: String) -> Message {
        let _ = self.close(t, Some(code), &reason).await;
        self.ended = Some((Some(code), reason.clone()));
        Message::Closed {
            code: Some(code),
            reason,
        }
    }

    fn closed(&self) -> Message {
        let (code, reason) = self.ended.clone().unwrap_or((Some(1006), String::new()));
        Message::Closed { code, reason }
    }

    /// The next message. Pings are answered on the way; a protocol error
    /// fails the connection. Once it has ended, `Closed` again.
    pub async fn receive(&mut self, t: &mut Transport) -> Message {
        if self.ended.is_some() {
            return self.closed();
        }
        let mut partial: Option<(u8, Vec<u8>)> = None;
        loop {
            let frame = match frame::read(&mut t.input, self.limits.max_frame_bytes) {
                Ok(Some(frame)) => frame,
                Ok(None) => match t.fill(64 * 1024).await {
                    Ok(n) if n > 0 => continue,
                    _ => {
                        self.broken = true;
                        self.ended = Some((Some(1006), String::new()));
                        return self.closed();
                    }
                },
                Err(e @ (FrameError::Unmasked | FrameError::TooLarge { .. })) => {
                    return self.fail(t, e.code(), e.reason()).await
                }
            };
            if frame.rsv != 0 && !self.extensions {
                return self
                    .fail(
                        t,
                        1002,
                        "reserved bits set with no extension negotiated".into(),
                    )
                    .await;
            }
            let control = matches!(frame.opcode, frame::CLOSE | frame::PING | frame::PONG);
            if control && (!frame.fin || frame.payload.len() > 125) {
                return self
                    .fail(
                        t,
                        1002,
                        "a control frame must be one frame of at most 125 bytes".into(),
                    )
                    .await;
            }
            match frame.opcode {
                frame::PING => {
                    if self.send(t, frame::PONG, &frame.payload).await.is_err() {
                        self.ended = Some((Some(1006), String::new()));
                        return self.closed();
                    }
                    continue;
                }
                frame::PONG => continue,
                frame::CLOSE => return self.closing(t, &frame.payload).await,
                frame::TEXT | frame::BINARY => {
                    if partial.is_some() {
                        return self
                            .fail(
                                t,
                                1002,
                                "a new message began before the last one ended".into(),
                            )
                            .await;
                    }
                    partial = Some((frame.opcode, frame.payload));
                }
                frame::CONTINUATION => match partial.as_mut() {
                    Some((_, data)) => data.extend_from_slice(&frame.payload),
                    None => {
                        return self
                            .fail(
                                t,
                                1002,
                                "a continuation frame with no message to continue".into(),
                            )
                            .await
                    }
                },
                other => {
                    return self
                        .fail(t, 1002, format!("opcode {other:#x} is reserved"))
                        .await
                }
            }
            if let Some((_, data)) = &partial {
                if data.len() as u64 > self.limits.max_message_bytes {
                    let limit = self.limits.max_message_bytes;
                    return self
                        .fail(t, 1009, format!("message over the limit of {limit} bytes"))
                        .await;
                }
            }
            if frame.fin {
                if let Some((opcode, data)) = partial.take() {
                    if opcode == frame::BINARY {
                        return Message::Binary(data);
                    }
                    return match String::from_utf8(data) {
                        Ok(text) => Message::Text(text),
                        Err(_) => self.fail(t, 1007, "text message is not UTF-8".into()).await,
                    };
                }
            }
        }
    }

    /// The client's close frame: answered (unless we closed first), and the
    /// connection has ended.
    async fn closing(&mut self, t: &mut Transport, payload: &[u8]) -> Message {
        let (code, reason) = match payload {
            [] => (None, String::new()),
            [_] => return self.fail(t, 1002, "a close frame of one byte".into()).await,
            [a, b, rest @ ..] => {
                let code = u16::from_be_bytes([*a, *b]);
                if !frame::valid_close_code(code) {
                    return self
                        .fail(t, 1002, format!("close code {code} may not be sent"))
                        .await;
                }
                match std::str::from_utf8(rest) {
                    Ok(reason) => (Some(code), reason.to_string()),
                    Err(_) => return self.fail(t, 1007, "close reason is not UTF-8".into()).await,
                }
            }
        };
        if !self.close_sent && !self.manual_close {
            // Echo the code, as endpoints do.
            let _ = self.close(t, code, "").await;
        }
        self.ended = Some((code, reason.clone()));
        Message::Closed { code, reason }
    }

    /// Ends the connection after the handler is done: a close frame with
    /// 1000 unless one was sent, then the client's close frame is awaited a
    /// moment (its messages meanwhile are dropped).
    pub async fn finish(&mut self, t: &mut Transport) {
        if self.broken {
            return;
        }
        if !self.close_sent {
            let _ = self.close(t, Some(1000), "").await;
        }
        let wait = Duration::from_secs_f64(self.limits.close_wait_secs.max(0.0));
        let _ = tokio::time::timeout(wait, async {
            while self.ended.is_none() {
                self.receive(t).await;
            }
        })
        .await;
    }

    /// Marks the connection unusable (the client went while the guest was
    /// parked elsewhere).
    pub fn break_off(&mut self) {
        self.broken = true;
        self.ended.get_or_insert((Some(1006), String::new()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_example_key() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
