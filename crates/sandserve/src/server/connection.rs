//! One client connection: read a request, route it, handle it, write the
//! response, and again while the connection may be kept alive.

use std::future::Future;
use std::net::IpAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use crate::config::Timeouts;
use crate::dispatch::Dispatcher;
use crate::http::chunked::{ChunkedDecoder, DecodeError, Progress};
use crate::http::parse::{body_framing, parse_head, Framing, Head, HeadScanner, Version};
use crate::http::{Io, Limits, Peer, Request, ResponseWriter, Transport};
use crate::reply::{ErrorAnswer, Reply};
use crate::tenants::{Held, Pass, Tenants};

/// How long a closing connection keeps reading (and discarding) what the
/// client still sends, so that its last response is not lost to a reset.
const LINGER: Duration = Duration::from_secs(1);

/// What every connection shares: what answers requests, the limits and
/// timeouts it reads them with, what each client holds, and counters.
pub struct Shared {
    /// What each client address holds.
    pub tenants: Arc<Tenants>,
    /// Connections open now.
    pub open: AtomicUsize,
    /// The most connections open at once.
    pub max_connections: usize,
    /// Connections refused at a cap.
    pub refused: AtomicU64,
    /// Answers requests.
    pub dispatcher: Arc<Dispatcher>,
    /// Request size limits.
    pub limits: Limits,
    /// Connection timeouts.
    pub timeouts: Timeouts,
    /// Accept HTTP/1.1 requests without one valid `Host`.
    pub lenient_host: bool,
    /// Room for request bodies held in memory, in KiB, across connections.
    pub bodies: Arc<Semaphore>,
    /// Connection tasks that panicked (each closed its own connection).
    pub panics: AtomicU64,
}

/// A connection counted against the caps while it is open.
pub struct Admitted {
    shared: Arc<Shared>,
    _pass: Pass,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.shared.open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Shared {
    /// Counts a new connection from `client`, unless the server or the
    /// client is at its cap.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Result<Admitted, ErrorAnswer> {
        let refuse = |answer| {
            self.refused.fetch_add(1, Ordering::Relaxed);
            Err(answer)
        };
        let pass = match self.tenants.admit(client, Held::Connection) {
            Ok(pass) => pass,
            Err(cap) => return refuse(ErrorAnswer::Crowded(cap)),
        };
        if self.open.fetch_add(1, Ordering::Relaxed) >= self.max_connections {
            self.open.fetch_sub(1, Ordering::Relaxed);
            return refuse(ErrorAnswer::Busy {
                what: "the server has as many connections as it takes (limits.max_connections)",
            });
        }
        Ok(Admitted {
            shared: self.clone(),
            _pass: pass,
        })
    }
}

/// An error answer as bytes, for a connection refused before it is served.
pub fn canned(answer: &ErrorAnswer) -> Vec<u8> {
    let response = answer.response();
    let body = response.body.to_bytes().unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        response.status,
        crate::http::status::server_reason(response.status),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Serves one connection until it closes. A panic while serving it closes
/// this connection only; it is counted and logged.
pub async fn serve(io: Box<dyn Io>, peer: Peer, shared: Arc<Shared>, shutdown: CancellationToken) {
    let conn = Connection {
        peer,
        shared: shared.clone(),
        shutdown,
    };
    let transport = Transport::new(io).with_send_timeout(shared.timeouts.send());
    if CatchUnwind(Box::pin(conn.run(transport))).await.is_err() {
        shared.panics.fetch_add(1, Ordering::Relaxed);
        tracing::error!(client = %peer.client, "a connection task panicked; its connection was closed");
    }
}

/// Runs a future, turning a panic inside it into an `Err`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

struct Connection {
    peer: Peer,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
}

/// Why reading a request stopped.
enum Stop {
    /// Close quietly (client gone, idle timeout, shutdown).
    Quiet,
    /// Answer with this error, then close.
    Answer(ErrorAnswer),
}

impl Connection {
    async fn run(self, mut transport: Transport) {
        let mut first = true;
        loop {
            let head = match self.read_head(&mut transport, first).await {
                Ok(head) => head,
                Err(Stop::Quiet) => break,
                Err(Stop::Answer(answer)) => {
                    transport = self.answer_and_close(transport, answer).await;
                    break;
                }
            };
            first = false;
            let (back, result) = self.exchange(transport, head).await;
            transport = back;
            match result {
                Ok(true) => continue,
                Ok(false) | Err(Stop::Quiet) => break,
                Err(Stop::Answer(answer)) => {
                    transport = self.answer_and_close(transport, answer).await;
                    break;
                }
            }
        }
        self.close(transport).await;
    }

    /// Reads until a whole request head has arrived.
    async fn read_head(&self, t: &mut Transport, first: bool) -> Result<Head, Stop> {
        let timeouts = &self.shared.timeouts;
        let idle = if first {
            timeouts.header_read()
        } else {
            timeouts.keep_alive()
        };
        let idle_deadline = Instant::now() + idle;
        let mut head_deadline = None;
        let mut scanner = HeadScanner::default();
        let limits = &self.shared.limits;
        loop {
            if !t.input.is_empty() {
                // Each byte is looked at once however the head arrives; it
                // is parsed once, when whole.
                let parsed = match scanner.scan(&t.input, limits) {
                    Ok(Some(end)) => parse_head(&t.input[..end], limits),
                    Ok(None) => Ok(None),
                    Err(e) => Err(e),
                };
                match parsed {
                    Ok(Some((head, used))) => {
                        t.input.advance(used);
                        return Ok(head);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(client = %self.peer.client, "refused request: {e}");
                        return Err(Stop::Answer(e.into()));
                    }
                }
                head_deadline.get_or_insert(Instant::now() + timeouts.header_read());
            }
            let waiting_idle = head_deadline.is_none();
            let deadline = head_deadline.unwrap_or(idle_deadline);
            let read = tokio::select! {
                biased;
                _ = self.shutdown.cancelled(), if waiting_idle => None,
                read = timeout_at(deadline, t.fill(8 * 1024)) => Some(read),
            };
            match read {
                None => return Err(Stop::Quiet),
                Some(Err(_)) if waiting_idle => return Err(Stop::Quiet),
                Some(Err(_)) => return Err(Stop::Answer(ErrorAnswer::HeadTimeout)),
                Some(Ok(Ok(0)) | Ok(Err(_))) => return Err(Stop::Quiet),
                Some(Ok(Ok(_))) => {}
            }
        }
    }

    /// Reads the body, handles the request and writes the response. Gives
    /// the transport back with whether the connection can carry another
    /// request.
    async fn exchange(&self, mut t: Transport, head: Head) -> (Transport, Result<bool, Stop>) {
        let started = std::time::Instant::now();
        let request = match self.read_request(&mut t, head).await {
            Ok(request) => Arc::new(request),
            Err(stop) => return (t, Err(stop)),
        };
        let head_only = request.method == "HEAD";
        let keep_alive_header = request.version == Version::Http10 && request.wants_keep_alive();
        let writer = ResponseWriter::new(t, head_only, keep_alive_header);
        let (reply, mut writer) = self
            .shared
            .dispatcher
            .dispatch(request.clone(), writer)
            .await;
        let (sent, close_requested) = match reply {
            Reply::Response(response) => (writer.send(&response).await, response.close_connection),
            Reply::Error(answer) => {
                let response = answer.response();
                (writer.send(&response).await, response.close_connection)
            }
            Reply::Written => (Ok(()), false),
        };
        tracing::info!(
            target: "sandserve::access",
            "{} {} {} {}B {:.3}ms",
            request.method,
            crate::text::log_safe(&request.target),
            writer.status().unwrap_or(0),
            writer.bytes_written(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        let reusable = sent.is_ok()
            && request.wants_keep_alive()
            && !close_requested
            && writer.framing_intact()
            && !self.shutdown.is_cancelled();
        if let Err(e) = sent {
            tracing::debug!(client = %self.peer.client, "write failed: {e}");
        }
        (writer.into_transport(), Ok(reusable))
    }

    /// The request of `head`, with its body read.
    async fn read_request(&self, t: &mut Transport, head: Head) -> Result<Request, Stop> {
        let framing = body_framing(&head).map_err(|e| Stop::Answer(e.into()))?;
        check_target(&head)?;
        let max = self.shared.limits.max_body_bytes;
        if let Framing::Length(n) = framing {
            if n > max {
                return Err(Stop::Answer(ErrorAnswer::BodyTooLarge {
                    declared: Some(n),
                    limit: max,
                }));
            }
        }
        if framing != Framing::None && head.version == Version::Http11 && expects_continue(&head) {
            t.io()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(|_| Stop::Quiet)?;
        }
        if head.version == Version::Http11 && !self.shared.lenient_host {
            check_host(&head)?;
        }
        let mut room = BodyRoom::default();
        let body = self.read_body(t, framing, &mut room).await?;
        let mut request = Request::new(head, body, self.peer);
        request.room = room.held.map(Arc::new);
        Ok(request)
    }

    /// Reads a body whole, holding room for it in the budget of all bodies
    /// (`limits.max_buffered_body_mib`), within its time: one read may wait
    /// up to `timeouts.header_read_secs`, the whole body up to
    /// `timeouts.body_secs`, and once the first of those has passed it must
    /// have come at `limits.min_body_rate` or faster.
    async fn read_body(
        &self,
        t: &mut Transport,
        framing: Framing,
        room: &mut BodyRoom,
    ) -> Result<Bytes, Stop> {
        let limits = &self.shared.limits;
        let max = limits.max_body_bytes;
        let pace = Pace::new(&self.shared.timeouts, limits.min_body_rate);
        match framing {
            Framing::None => Ok(Bytes::new()),
            Framing::Length(n) => {
                // Checked against the limit before the body was asked for.
                self.make_room(room, n).await?;
                let n = n as usize;
                while t.input.len() < n {
                    let want = n - t.input.len();
                    self.read_more(t, want, &pace, t.input.len() as u64).await?;
                }
                Ok(t.input.split_to(n).freeze())
            }
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::new(max);
                let mut body = Vec::new();
                loop {
                    if !t.input.is_empty() {
                        let decoded = decoder.decode(&t.input, &mut body);
                        self.make_room(room, body.len() as u64).await?;
                        match decoded {
                            Ok(Progress::Done(used)) => {
                                t.input.advance(used);
                                return Ok(body.into());
                            }
                            Ok(Progress::NeedMore) => t.input.clear(),
                            Err(DecodeError::Malformed(e)) => {
                                return Err(Stop::Answer(ErrorAnswer::BadChunk(e)))
                            }
                            Err(DecodeError::TooLarge) => {
                                return Err(Stop::Answer(ErrorAnswer::BodyTooLarge {
                                    declared: None,
                                    limit: max,
                                }))
                            }
                        }
                    }
                    self.read_more(t, 8 * 1024, &pace, body.len() as u64)
                        .await?;
                }
            }
        }
    }

    /// Holds room for a body of `size` bytes (more as a chunked body grows),
    /// waiting for it up to the read timeout.
    async fn make_room(&self, room: &mut BodyRoom, size: u64) -> Result<(), Stop> {
        let kib = size.div_ceil(1024);
        let more = kib.saturating_sub(room.kib);
        if more == 0 {
            return Ok(());
        }
        // Chunked bodies take room in steps of 64 KiB, not per chunk.
        let more = if room.kib > 0 { more.max(64) } else { more };
        let busy = || {
            Stop::Answer(ErrorAnswer::Busy {
                what: "no room for more request bodies (limits.max_buffered_body_mib)",
            })
        };
        let more = u32::try_from(more).map_err(|_| busy())?;
        let wait = self.shared.timeouts.header_read();
        let permit =
            tokio::time::timeout(wait, self.shared.bodies.clone().acquire_many_owned(more))
                .await
                .map_err(|_| busy())?
                .map_err(|_| busy())?;
        room.kib += u64::from(more);
        match &mut room.held {
            Some(held) => held.merge(permit),
            None => room.held = Some(permit),
        }
        Ok(())
    }

    /// One read of a body, within its time (see [`Connection::read_body`]);
    /// `received` bytes of it have come so far.
    async fn read_more(
        &self,
        t: &mut Transport,
        room: usize,
        pace: &Pace,
        received: u64,
    ) -> Result<(), Stop> {
        let deadline = pace.deadline(received);
        match timeout_at(deadline, t.fill(room)).await {
            Err(_) => Err(Stop::Answer(ErrorAnswer::BodyTimeout)),
            Ok(Ok(0)) | Ok(Err(_)) => Err(Stop::Quiet),
            Ok(Ok(_)) => {
                // A client that sends as fast as it can does not keep this
                // thread from everyone else's requests.
                tokio::task::yield_now().await;
                Ok(())
            }
        }
    }

    async fn answer_and_close(&self, t: Transport, answer: ErrorAnswer) -> Transport {
        let mut response = answer.response();
        response.close_connection = true;
        let mut writer = ResponseWriter::new(t, false, false);
        if let Err(e) = writer.send(&response).await {
            tracing::debug!(client = %self.peer.client, "error answer not sent: {e}");
        }
        tracing::info!(
            target: "sandserve::access",
            "- - {} {}B (refused)",
            response.status,
            writer.bytes_written()
        );
        writer.into_transport()
    }

    /// Closes the write side, then discards what the client still sends for
    /// a moment so that the close does not reset the connection under the
    /// last response.
    async fn close(&self, mut t: Transport) {
        let closed = timeout_at(Instant::now() + LINGER, t.io().shutdown()).await;
        if !matches!(closed, Ok(Ok(()))) || self.shutdown.is_cancelled() || t.is_gone() {
            return;
        }
        let deadline = Instant::now() + LINGER;
        let mut scratch = [0u8; 4096];
        let mut discarded = 0usize;
        while discarded < 1 << 20 {
            match timeout_at(deadline, t.io().read(&mut scratch)).await {
                Ok(Ok(n)) if n > 0 => discarded += n,
                _ => break,
            }
        }
    }
}

/// RFC 9112 §3.2: an HTTP/1.1 request carries exactly one `Host`, whose
/// value is a URI authority without user information (an empty one is
/// allowed).
fn check_host(head: &Head) -> Result<(), Stop> {
    let bad = |why| Err(Stop::Answer(ErrorAnswer::BadHost(why)));
    let mut hosts = head.headers.get_all(b"host");
    let Some(host) = hosts.next() else {
        return bad("an HTTP/1.1 request needs a Host header");
    };
    if hosts.next().is_some() {
        return bad("more than one Host header");
    }
    if !valid_authority(crate::http::parse::trim(host)) {
        return bad("the Host header is not a host and port");
    }
    Ok(())
}

/// `host [ ":" port ]` of RFC 3986: a bracketed IP literal, or a name of
/// unreserved characters, percent escapes and sub-delimiters; the port is
/// digits.
fn valid_authority(value: &[u8]) -> bool {
    let (host, port) = match value.strip_prefix(b"[") {
        Some(rest) => match rest.iter().position(|&b| b == b']') {
            Some(end) => {
                let literal = &rest[..end];
                if literal.is_empty()
                    || !literal
                        .iter()
                        .all(|&b| b.is_ascii_hexdigit() || b":.vV".contains(&b))
                {
                    return false;
                }
                (&[][..], &rest[end + 1..])
            }
            None => return false,
        },
        None => match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &[][..]),
        },
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    let name_ok = host
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b));
    port_ok && name_ok
}

/// Room held for a request body in the budget of all bodies.
#[derive(Default)]
struct BodyRoom {
    kib: u64,
    held: Option<OwnedSemaphorePermit>,
}

/// How long a body may take to arrive.
struct Pace {
    started: Instant,
    /// A read may wait this long.
    read: Duration,
    /// The whole body may take this long.
    total: Duration,
    /// Bytes a second once `read` has passed.
    min_rate: u64,
}

impl Pace {
    fn new(timeouts: &Timeouts, min_rate: u64) -> Self {
        Pace {
            started: Instant::now(),
            read: timeouts.header_read(),
            total: timeouts.body(),
            min_rate,
        }
    }

    /// When the next read must have come, `received` bytes in: within the
    /// read timeout, within the whole body's time, and not later than the
    /// minimum rate allows for what has come so far plus a byte.
    fn deadline(&self, received: u64) -> Instant {
        let now = Instant::now();
        let by_rate = if self.min_rate == 0 {
            self.total
        } else {
            let secs = (received.saturating_add(1)) as f64 / self.min_rate as f64;
            Duration::from_secs_f64(secs.min(1e9)).max(self.read)
        };
        (now + self.read)
            .min(self.started + self.total)
            .min(self.started + by_rate)
    }
}

fn expects_continue(head: &Head) -> bool {
    head.headers
        .get(b"expect")
        .is_some_and(|v| crate::http::parse::trim(v).eq_ignore_ascii_case(b"100-continue"))
}

/// The request target must be origin-form, absolute-form, `*` for OPTIONS or
/// authority-form for CONNECT (RFC 9112 §3.2).
fn check_target(head: &Head) -> Result<(), Stop> {
    let t = head.target.as_str();
    let lower = t.get(..8).unwrap_or(t).to_ascii_lowercase();
    let ok = t.starts_with('/')
        || lower.starts_with("http://")
        || lower.starts_with("https://")
        || (t == "*" && head.method == "OPTIONS")
        || (head.method == "CONNECT" && !t.contains('/'));
    if ok {
        Ok(())
    } else {
        Err(Stop::Answer(ErrorAnswer::BadTarget(t.to_string())))
    }
}
