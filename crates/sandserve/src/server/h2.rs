//! One HTTP/2 connection (the `h2` ports: TLS with ALPN `h2`, the `h2`
//! crate): each stream's request goes through the same dispatcher as
//! HTTP/1.1's, and its structured response becomes HEADERS and DATA — paced
//! for `trickle`, within the client's flow-control window. What only a byte
//! stream can carry (an `.asis` file, a handler's raw writer) is refused with
//! a `500` that says so, never mangled.
//!
//! Bounded: streams open at once, the header list, request bodies (as for
//! HTTP/1.1), and the time a stream may wait for the client's window or a
//! connection may sit idle. A misbehaving client costs its own streams and
//! connection.

use std::future::poll_fn;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::connection::Shared;
use crate::http::headers::Headers;
use crate::http::parse::{Head, Version};
use crate::http::response::{split_plan, Body, Pace};
use crate::http::{Io, Peer, Request, Response, ResponseWriter, Transport};
use crate::reply::{ErrorAnswer, Reply};

/// Streams a client may have open at once.
pub const MAX_STREAMS: u32 = 128;
/// The receive window of each stream and of the connection, in bytes.
const WINDOW: u32 = 1 << 20;
/// Bytes of a response queued per stream before the client's window opens.
const SEND_BUFFER: usize = 256 << 10;
/// The most one DATA frame carries from us.
const CHUNK: usize = 16 << 10;

/// Headers that belong to an HTTP/1.1 connection, not to a message: never
/// sent on HTTP/2 (RFC 9113 §8.2.2).
const CONNECTION_HEADERS: &[&[u8]] = &[
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"transfer-encoding",
    b"upgrade",
];

/// Serves one HTTP/2 connection until it closes.
pub async fn serve(io: Box<dyn Io>, peer: Peer, shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(MAX_STREAMS)
        .initial_window_size(WINDOW)
        .initial_connection_window_size(WINDOW)
        .max_header_list_size(u32::try_from(shared.limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_send_buffer_size(SEND_BUFFER)
        .enable_connect_protocol();
    let timeouts = shared.timeouts.clone();
    let mut conn = match tokio::time::timeout(timeouts.header_read(), builder.handshake(io)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => {
            tracing::debug!(client = %peer.client, "HTTP/2 handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(client = %peer.client, "HTTP/2 handshake timed out");
            return;
        }
    };
    let mut streams = JoinSet::new();
    let mut closing = false;
    loop {
        // An idle connection (no stream open) closes after the keep-alive time.
        let idle = streams.is_empty();
        let next = tokio::select! {
            _ = shutdown.cancelled(), if !closing => {
                conn.graceful_shutdown();
                closing = true;
                continue;
            }
            _ = tokio::time::sleep(timeouts.keep_alive()), if idle && !closing => {
                conn.graceful_shutdown();
                closing = true;
                continue;
            }
            Some(_) = streams.join_next(), if !streams.is_empty() => continue,
            next = conn.accept() => next,
        };
        match next {
            Some(Ok((request, respond))) => {
                streams.spawn(stream(request, respond, peer, shared.clone()));
            }
            Some(Err(e)) => {
                tracing::debug!(client = %peer.client, "HTTP/2 connection failed: {e}");
                break;
            }
            None => break,
        }
    }
    // The connection is gone: so are its streams.
    streams.shutdown().await;
}

/// Why a stream's exchange stopped early.
enum Early {
    /// Answer with this.
    Answer(ErrorAnswer),
    /// Nothing more to do (the client reset the stream).
    Gone,
}

/// One stream: the request, its dispatch, the response.
async fn stream(
    request: http::Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    peer: Peer,
    shared: Arc<Shared>,
) {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let target = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let protocol = parts
        .extensions
        .get::<h2::ext::Protocol>()
        .map(|p| p.as_str().to_ascii_lowercase());
    if protocol.as_deref().is_some_and(|p| p != "websocket")
        || (protocol.is_some() && method != "CONNECT")
    {
        let answer = ErrorAnswer::NotOverHttp2 {
            what: "an extended CONNECT for a protocol other than websocket",
        };
        let _ = send(&mut respond, answer.response(), false, &shared).await;
        log(&method, &target, answer.status(), started);
        return;
    }
    let mut headers = Headers::with_capacity(parts.headers.len() + 1);
    if parts.headers.get(http::header::HOST).is_none() {
        if let Some(authority) = parts.uri.authority() {
            headers.push("host", authority.as_str());
        }
    }
    for (name, value) in &parts.headers {
        headers.push(name.as_str(), value.as_bytes());
    }
    let head = Head {
        request_line: format!("{method} {target} HTTP/2").into_bytes(),
        method,
        target,
        version: Version::Http2,
        headers,
    };
    let (method, target) = (head.method.clone(), head.target.clone());
    if protocol.is_some() {
        websocket(head, body, respond, peer, shared, started).await;
        return;
    }
    let body = match read_body(body, &shared).await {
        Ok(body) => body,
        Err(Early::Gone) => return,
        Err(Early::Answer(answer)) => {
            let _ = send(&mut respond, answer.response(), false, &shared).await;
            log(&method, &target, answer.status(), started);
            return;
        }
    };
    let request = Arc::new(Request::new(head, body, peer));
    let head_only = request.method == "HEAD";
    // What a kind of route writes as bytes goes nowhere: it is refused below.
    let nowhere = Transport::new(Box::new(Nowhere));
    let writer = ResponseWriter::new(nowhere, head_only, false);
    let (reply, writer) = shared.dispatcher.dispatch(request, writer).await;
    let response = match reply {
        Reply::Response(response) => response,
        Reply::Error(answer) => answer.response(),
        Reply::Written if writer.bytes_written() == 0 && writer.status().is_none() => {
            // Nothing was said (a handler's client "went"): reset.
            respond.send_reset(h2::Reason::INTERNAL_ERROR);
            log(&method, &target, 0, started);
            return;
        }
        Reply::Written => ErrorAnswer::NotOverHttp2 {
            what: "raw bytes (an .asis file, or a handler's raw writer)",
        }
        .response(),
    };
    let mut status = response.status;
    match send(&mut respond, response, head_only, &shared).await {
        Ok(()) => {}
        Err(SendError::Header) => {
            let answer = ErrorAnswer::NotOverHttp2 {
                what: "a header that is not a valid HTTP/2 field",
            };
            status = answer.status();
            let _ = send(&mut respond, answer.response(), head_only, &shared).await;
        }
        Err(e) => tracing::debug!(client = %peer.client, "HTTP/2 response not sent: {e}"),
    }
    log(&method, &target, status, started);
}

/// A WebSocket over this stream (RFC 8441): the stream's DATA carry the
/// frames once the handler's handshake has accepted with a 200.
async fn websocket(
    head: Head,
    body: RecvStream,
    respond: SendResponse<Bytes>,
    peer: Peer,
    shared: Arc<Shared>,
    started: Instant,
) {
    let (method, target) = (head.method.clone(), head.target.clone());
    let request = Arc::new(Request::new(head, Bytes::new(), peer));
    let respond = Arc::new(std::sync::Mutex::new(Some(respond)));
    let answered = Arc::new(std::sync::atomic::AtomicU16::new(0));
    let answer: crate::worlds::websocket::Http2Answer = {
        let (respond, answered) = (respond.clone(), answered.clone());
        Box::new(move |status, headers| {
            let mut respond = respond.lock().ok()?.take()?;
            answered.store(status, std::sync::atomic::Ordering::Relaxed);
            let mut builder = http::Response::builder().status(status);
            for (name, value) in headers {
                let name = http::HeaderName::from_bytes(&name.to_ascii_lowercase()).ok()?;
                let value = http::HeaderValue::from_bytes(&value).ok()?;
                builder = builder.header(name, value);
            }
            let accepted = (200..300).contains(&status);
            let send = respond
                .send_response(builder.body(()).ok()?, !accepted)
                .ok()?;
            accepted.then(|| Box::new(StreamIo::new(body, send)) as Box<dyn Io>)
        })
    };
    let nowhere = Transport::new(Box::new(Nowhere));
    let writer = ResponseWriter::new(nowhere, false, false);
    let (reply, _writer) = shared
        .dispatcher
        .websocket_over_h2(request, answer, writer)
        .await;
    // Answered before the handshake got to its end (no handler, say).
    let left = respond.lock().ok().and_then(|mut r| r.take());
    if let Some(mut respond) = left {
        let response = match reply {
            Reply::Response(response) => response,
            Reply::Error(answer) => answer.response(),
            Reply::Written => ErrorAnswer::NotOverHttp2 {
                what: "raw bytes in a WebSocket handshake",
            }
            .response(),
        };
        let status = response.status;
        let _ = send(&mut respond, response, false, &shared).await;
        log(&method, &target, status, started);
        return;
    }
    log(
        &method,
        &target,
        answered.load(std::sync::atomic::Ordering::Relaxed),
        started,
    );
}

fn log(method: &str, target: &str, status: u16, started: Instant) {
    tracing::info!(
        target: "sandserve::access",
        "{method} {} {status} h2 {:.3}ms",
        crate::text::log_safe(target),
        started.elapsed().as_secs_f64() * 1000.0
    );
}

/// The request body, read from DATA frames within the body limit and the
/// body timeouts (as for HTTP/1.1), each frame's window given back.
async fn read_body(mut body: RecvStream, shared: &Shared) -> Result<Bytes, Early> {
    let max = shared.limits.max_body_bytes;
    let deadline = tokio::time::Instant::now() + shared.timeouts.body();
    let mut data = BytesMut::new();
    loop {
        let next = tokio::time::timeout_at(deadline, body.data()).await;
        let chunk = match next {
            Err(_) => return Err(Early::Answer(ErrorAnswer::BodyTimeout)),
            Ok(None) => return Ok(data.freeze()),
            Ok(Some(Err(_))) => return Err(Early::Gone),
            Ok(Some(Ok(chunk))) => chunk,
        };
        let _ = body.flow_control().release_capacity(chunk.len());
        if data.len() as u64 + chunk.len() as u64 > max {
            return Err(Early::Answer(ErrorAnswer::BodyTooLarge {
                declared: None,
                limit: max,
            }));
        }
        data.extend_from_slice(&chunk);
    }
}

/// Sends a structured response: HEADERS (`:status` and the response's
/// headers, but those of an HTTP/1.1 connection), then the body as DATA.
async fn send(
    respond: &mut SendResponse<Bytes>,
    response: Response,
    head_only: bool,
    shared: &Shared,
) -> Result<(), SendError> {
    let mut builder = http::Response::builder().status(response.status);
    for (name, value) in response.headers.iter() {
        let lower = name.to_ascii_lowercase();
        if CONNECTION_HEADERS.contains(&lower.as_slice()) {
            continue;
        }
        let name = http::HeaderName::from_bytes(&lower).map_err(|_| SendError::Header)?;
        let value = http::HeaderValue::from_bytes(value).map_err(|_| SendError::Header)?;
        builder = builder.header(name, value);
    }
    let head = builder.body(()).map_err(|_| SendError::Header)?;
    let empty = head_only || response.body.is_empty();
    let mut stream = respond.send_response(head, empty).map_err(SendError::H2)?;
    if empty {
        return Ok(());
    }
    let send_wait = shared.timeouts.send();
    match response.body {
        Body::Paced(paced) => {
            let mut all = paced.body.to_bytes().map_err(SendError::Io)?;
            let (steps, window) = split_plan(&paced.plan);
            let mut plan = steps.to_vec();
            loop {
                for step in plan {
                    match step {
                        Pace::Bytes(n) => {
                            let n = (n as usize).min(all.len());
                            let piece = all.split_to(n);
                            send_data(&mut stream, piece, false, send_wait).await?;
                        }
                        Pace::Delay(d) => tokio::time::sleep(d).await,
                        Pace::Repeat(_) => {}
                    }
                    if all.is_empty() {
                        break;
                    }
                }
                // The repeated window runs until the body is sent (one that
                // sends nothing would never end: the rest goes at once).
                let sends = |w: &[Pace]| w.iter().any(|p| matches!(p, Pace::Bytes(n) if *n > 0));
                match window {
                    Some(window) if !all.is_empty() && sends(window) => plan = window.to_vec(),
                    _ => break,
                }
            }
            send_data(&mut stream, all, true, send_wait).await
        }
        body => {
            let all = body.to_bytes().map_err(SendError::Io)?;
            send_data(&mut stream, all, true, send_wait).await
        }
    }
}

/// Why a response could not be sent.
#[derive(Debug)]
enum SendError {
    /// A header that HTTP/2 cannot carry (not a valid field name or value).
    Header,
    /// The file behind the body could not be read.
    Io(std::io::Error),
    H2(h2::Error),
    /// The client's window stayed shut for the send timeout.
    Stalled,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Header => write!(f, "a header HTTP/2 cannot carry"),
            SendError::Io(e) => write!(f, "{e}"),
            SendError::H2(e) => write!(f, "{e}"),
            SendError::Stalled => write!(f, "the client's window stayed shut"),
        }
    }
}

/// Sends `data` as DATA frames of at most [`CHUNK`] bytes, each when the
/// client's window has room for it (waiting at most `wait` for it, else the
/// stream is reset); `end` ends the stream with the last.
async fn send_data(
    stream: &mut SendStream<Bytes>,
    mut data: Bytes,
    end: bool,
    wait: std::time::Duration,
) -> Result<(), SendError> {
    if data.is_empty() {
        if end {
            stream
                .send_data(Bytes::new(), true)
                .map_err(SendError::H2)?;
        }
        return Ok(());
    }
    while !data.is_empty() {
        stream.reserve_capacity(data.len().min(CHUNK));
        let granted = tokio::time::timeout(wait, poll_fn(|cx| stream.poll_capacity(cx))).await;
        let room = match granted {
            Err(_) => {
                stream.send_reset(h2::Reason::CANCEL);
                return Err(SendError::Stalled);
            }
            Ok(None) => return Err(SendError::Stalled),
            Ok(Some(Err(e))) => return Err(SendError::H2(e)),
            Ok(Some(Ok(room))) => room,
        };
        if room == 0 {
            continue;
        }
        let piece = data.split_to(room.min(data.len()));
        stream
            .send_data(piece, end && data.is_empty())
            .map_err(SendError::H2)?;
    }
    Ok(())
}

/// The byte stream a route sees on HTTP/2: writes vanish (they are refused
/// afterwards), and nothing is ever read — the client is there as long as
/// the stream is.
struct Nowhere;

impl tokio::io::AsyncRead for Nowhere {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        _: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Pending
    }
}

impl tokio::io::AsyncWrite for Nowhere {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// An HTTP/2 stream as a byte stream: what the client sends in DATA frames
/// is read (its window given back as it is), what is written goes out in
/// DATA frames within the client's window; shutting down ends the stream.
struct StreamIo {
    recv: RecvStream,
    send: SendStream<Bytes>,
    /// Received and not yet read.
    pending: Bytes,
}

impl StreamIo {
    fn new(recv: RecvStream, send: SendStream<Bytes>) -> Self {
        StreamIo {
            recv,
            send,
            pending: Bytes::new(),
        }
    }
}

impl tokio::io::AsyncRead for StreamIo {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        while self.pending.is_empty() {
            match self.recv.poll_data(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(std::io::Error::other(e))),
                Poll::Ready(Some(Ok(data))) => {
                    let _ = self.recv.flow_control().release_capacity(data.len());
                    self.pending = data;
                }
            }
        }
        let n = self.pending.len().min(buf.remaining());
        let piece = self.pending.split_to(n);
        buf.put_slice(&piece);
        Poll::Ready(Ok(()))
    }
}

impl tokio::io::AsyncWrite for StreamIo {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        use std::task::Poll;
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.send.reserve_capacity(data.len().min(CHUNK));
        match self.send.poll_capacity(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into())),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(std::io::Error::other(e))),
            Poll::Ready(Some(Ok(0))) => {
                // No room yet, and no wake-up promised: ask again.
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(Some(Ok(room))) => {
                let n = room.min(data.len());
                match self
                    .send
                    .send_data(Bytes::copy_from_slice(&data[..n]), false)
                {
                    Ok(()) => Poll::Ready(Ok(n)),
                    Err(e) => Poll::Ready(Err(std::io::Error::other(e))),
                }
            }
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let _ = self.send.send_data(Bytes::new(), true);
        std::task::Poll::Ready(Ok(()))
    }
}
