//! One client connection: read a request, route it, handle it, write the
//! response, and again while the connection may be kept alive.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::time::{timeout_at, Instant};
use tokio_util::sync::CancellationToken;

use super::Site;
use crate::handler::{dispatch, Reply};
use crate::http::chunked::{ChunkedDecoder, DecodeError, Progress};
use crate::http::parse::{body_framing, parse_head, Framing, Head, Version};
use crate::http::{Peer, Request, Response, ResponseWriter, Wire};

/// A client byte stream: plain TCP or TLS.
pub trait Io: AsyncRead + Wire {}
impl<T: AsyncRead + Wire> Io for T {}

/// How long a closing connection keeps reading (and discarding) what the
/// client still sends, so that its last response is not lost to a reset.
const LINGER: Duration = Duration::from_secs(1);

/// Serves one connection until it closes.
pub async fn serve(io: Box<dyn Io>, peer: Peer, site: Arc<Site>, shutdown: CancellationToken) {
    let mut conn = Connection {
        io,
        buf: BytesMut::with_capacity(8 * 1024),
        peer,
        site,
        shutdown,
    };
    conn.run().await;
}

struct Connection {
    io: Box<dyn Io>,
    buf: BytesMut,
    peer: Peer,
    site: Arc<Site>,
    shutdown: CancellationToken,
}

/// Why reading a request stopped.
enum Stop {
    /// Close quietly (client gone, idle timeout, shutdown).
    Quiet,
    /// Answer with this error, then close.
    Answer(Response),
}

impl Connection {
    async fn run(&mut self) {
        let mut first = true;
        loop {
            let head = match self.read_head(first).await {
                Ok(head) => head,
                Err(Stop::Quiet) => break,
                Err(Stop::Answer(response)) => {
                    self.answer_and_close(&response).await;
                    break;
                }
            };
            first = false;
            match self.exchange(head).await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(Stop::Quiet) => break,
                Err(Stop::Answer(response)) => {
                    self.answer_and_close(&response).await;
                    break;
                }
            }
        }
        self.close().await;
    }

    /// Reads until a whole request head has arrived.
    async fn read_head(&mut self, first: bool) -> Result<Head, Stop> {
        let timeouts = &self.site.config.timeouts;
        let idle = if first {
            timeouts.header_read()
        } else {
            timeouts.keep_alive()
        };
        let idle_deadline = Instant::now() + idle;
        let mut head_deadline = None;
        loop {
            if !self.buf.is_empty() {
                match parse_head(&self.buf, &self.site.config.limits) {
                    Ok(Some((head, used))) => {
                        self.buf.advance(used);
                        return Ok(head);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(client = %self.peer.client, "refused request: {e}");
                        return Err(Stop::Answer(Response::error(e.status(), &e.to_string())));
                    }
                }
                head_deadline.get_or_insert(Instant::now() + timeouts.header_read());
            }
            let waiting_idle = head_deadline.is_none();
            let deadline = head_deadline.unwrap_or(idle_deadline);
            self.buf.reserve(8 * 1024);
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled(), if waiting_idle => return Err(Stop::Quiet),
                read = timeout_at(deadline, self.io.read_buf(&mut self.buf)) => match read {
                    Err(_) if waiting_idle => return Err(Stop::Quiet),
                    Err(_) => {
                        return Err(Stop::Answer(Response::error(
                            408,
                            "request head not received in time",
                        )))
                    }
                    Ok(Ok(0)) | Ok(Err(_)) => return Err(Stop::Quiet),
                    Ok(Ok(_)) => {}
                },
            }
        }
    }

    /// Reads the body, handles the request and writes the response. Returns
    /// whether the connection can carry another request.
    async fn exchange(&mut self, head: Head) -> Result<bool, Stop> {
        let started = std::time::Instant::now();
        let framing = body_framing(&head)
            .map_err(|e| Stop::Answer(Response::error(e.status(), &e.to_string())))?;
        check_target(&head)?;
        let max = self.site.config.limits.max_body_bytes;
        if let Framing::Length(n) = framing {
            if n > max {
                return Err(Stop::Answer(Response::error(
                    413,
                    &format!("request body of {n} bytes is larger than the limit of {max}"),
                )));
            }
        }
        if framing != Framing::None && head.version == Version::Http11 && expects_continue(&head) {
            self.io
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .map_err(|_| Stop::Quiet)?;
        }
        let body = self.read_body(framing).await?;
        let request = Arc::new(Request::new(head, body, self.peer));
        let head_only = request.method == "HEAD";
        let keep_alive_header = request.version == Version::Http10 && request.wants_keep_alive();
        let site = self.site.clone();
        let mut writer = ResponseWriter::new(&mut *self.io, head_only, keep_alive_header);
        let close_requested = match site.routes.find(&request.method, &request.path) {
            None => {
                let response = Response::error(404, "");
                writer.send(&response).await.map_err(|_| Stop::Quiet)?;
                false
            }
            Some((route, captures)) => {
                match dispatch(&route.handler, &site, &request, captures, &mut writer).await {
                    Ok(Reply::Response(response)) => {
                        writer.send(&response).await.map_err(|_| Stop::Quiet)?;
                        response.close_connection
                    }
                    Ok(Reply::Written) => false,
                    Err(e) => {
                        tracing::debug!(client = %self.peer.client, "write failed: {e}");
                        return Err(Stop::Quiet);
                    }
                }
            }
        };
        let status = writer.status().unwrap_or(0);
        let bytes = writer.bytes_written();
        let framing_intact = writer.framing_intact();
        tracing::info!(
            target: "sandserve::access",
            "{} {} {} {}B {:.3}ms",
            request.method,
            request.target,
            status,
            bytes,
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(request.wants_keep_alive()
            && !close_requested
            && framing_intact
            && !self.shutdown.is_cancelled())
    }

    async fn read_body(&mut self, framing: Framing) -> Result<Bytes, Stop> {
        let max = self.site.config.limits.max_body_bytes;
        match framing {
            Framing::None => Ok(Bytes::new()),
            Framing::Length(n) => {
                // Checked against the limit before the body was asked for.
                let n = n as usize;
                while self.buf.len() < n {
                    self.buf.reserve(n - self.buf.len());
                    self.read_more().await?;
                }
                Ok(self.buf.split_to(n).freeze())
            }
            Framing::Chunked => {
                let mut decoder = ChunkedDecoder::new(max);
                let mut body = Vec::new();
                loop {
                    if !self.buf.is_empty() {
                        match decoder.decode(&self.buf, &mut body) {
                            Ok(Progress::Done(used)) => {
                                self.buf.advance(used);
                                return Ok(body.into());
                            }
                            Ok(Progress::NeedMore) => self.buf.clear(),
                            Err(DecodeError::Malformed(e)) => {
                                return Err(Stop::Answer(Response::error(400, &e.to_string())))
                            }
                            Err(DecodeError::TooLarge) => {
                                return Err(Stop::Answer(Response::error(
                                    413,
                                    &format!("chunked request body larger than the limit of {max}"),
                                )))
                            }
                        }
                    }
                    self.buf.reserve(8 * 1024);
                    self.read_more().await?;
                }
            }
        }
    }

    /// One read, within the read timeout.
    async fn read_more(&mut self) -> Result<(), Stop> {
        let deadline = Instant::now() + self.site.config.timeouts.header_read();
        match timeout_at(deadline, self.io.read_buf(&mut self.buf)).await {
            Err(_) => Err(Stop::Answer(Response::error(
                408,
                "request body not received in time",
            ))),
            Ok(Ok(0)) | Ok(Err(_)) => Err(Stop::Quiet),
            Ok(Ok(_)) => Ok(()),
        }
    }

    async fn answer_and_close(&mut self, response: &Response) {
        let mut response = response.clone();
        response.close_connection = true;
        let mut writer = ResponseWriter::new(&mut *self.io, false, false);
        if let Err(e) = writer.send(&response).await {
            tracing::debug!(client = %self.peer.client, "error answer not sent: {e}");
        }
        tracing::info!(
            target: "sandserve::access",
            "- - {} {}B (refused)",
            response.status,
            writer.bytes_written()
        );
    }

    /// Closes the write side, then discards what the client still sends for
    /// a moment so that the close does not reset the connection under the
    /// last response.
    async fn close(&mut self) {
        if self.io.shutdown().await.is_err() || self.shutdown.is_cancelled() {
            return;
        }
        let deadline = Instant::now() + LINGER;
        let mut scratch = [0u8; 4096];
        let mut discarded = 0usize;
        while discarded < 1 << 20 {
            match timeout_at(deadline, self.io.read(&mut scratch)).await {
                Ok(Ok(n)) if n > 0 => discarded += n,
                _ => break,
            }
        }
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
        Err(Stop::Answer(Response::error(
            400,
            &format!("bad request target {t:?}"),
        )))
    }
}
