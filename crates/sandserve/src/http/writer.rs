//! The byte-precise response writer: the only code that writes to a client.
//!
//! Two ways in. [`ResponseWriter::send`] serialises a whole [`Response`],
//! adding `Date` and `Content-Length` where the handler left them out, in as
//! few writes as it can. The step-by-step calls (`write_status`,
//! `write_header`, `end_headers`, `write_content`, `write_raw`) give a handler
//! full control: nothing is added, fixed or reordered, and every call has
//! reached the socket when it returns, so a pause between two calls is a pause
//! on the wire.

use std::io;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::chunked::{ChunkedDecoder, Progress};
use super::date;
use super::response::{split_plan, Body, Pace, Paced, Part, Response};
use super::status::reason_phrase;

/// Size of the pieces a file is read and sent in.
const FILE_CHUNK: usize = 64 * 1024;

/// Bodies up to this size (in memory or read from a file) are sent in the
/// same write as the head.
const COALESCE_LIMIT: u64 = 16 * 1024;

/// A byte stream to and from a client: plain TCP or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A client connection: its byte stream, and the bytes read from it that no
/// request has used yet (the start of a pipelined request, say). It moves to
/// whoever answers the current request — the connection loop, or a handler's
/// sandbox while it runs — and back.
pub struct Transport {
    io: Box<dyn Io>,
    /// Read but not yet used.
    pub input: BytesMut,
    /// How long a write may go without progress before it fails.
    send_timeout: Option<Duration>,
    /// The client has gone: its stream ended or failed.
    gone: bool,
}

/// How much a transport reads ahead while it waits for its client to go
/// (a pipelined request, say); past this it stops watching.
const WATCH_LIMIT: usize = 64 * 1024;

impl Transport {
    /// A transport over `io` with nothing read yet.
    pub fn new(io: Box<dyn Io>) -> Self {
        Transport {
            io,
            input: BytesMut::with_capacity(8 * 1024),
            send_timeout: None,
            gone: false,
        }
    }

    /// Writes fail once one has gone this long without progress (a client
    /// that does not read).
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = Some(timeout);
        self
    }

    /// Resolves when the client has gone — its stream ended or failed —
    /// reading ahead (and keeping) what it sends meanwhile, up to a limit
    /// past which it waits forever. For racing against work done for it.
    pub async fn gone(&mut self) {
        use tokio::io::AsyncReadExt;
        while !self.gone {
            if self.input.len() >= WATCH_LIMIT {
                std::future::pending::<()>().await;
            }
            self.input.reserve(4096);
            match self.io.read_buf(&mut self.input).await {
                Ok(0) | Err(_) => self.gone = true,
                Ok(_) => {}
            }
        }
    }

    /// Writes `data` and flushes it, each write within the send timeout
    /// (time without progress, not the whole write). On failure, also says
    /// how many bytes were written.
    pub async fn send(&mut self, data: &[u8]) -> Result<(), (io::Error, usize)> {
        let limit = self.send_timeout;
        let io = &mut self.io;
        let stalled = || io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading");
        let mut written = 0;
        while written < data.len() {
            let wrote = match limit {
                Some(limit) => {
                    match tokio::time::timeout(limit, io.write(&data[written..])).await {
                        Ok(r) => r,
                        Err(_) => Err(stalled()),
                    }
                }
                None => io.write(&data[written..]).await,
            };
            match wrote {
                Ok(0) => return Err((io::ErrorKind::WriteZero.into(), written)),
                Ok(n) => written += n,
                Err(e) => return Err((e, written)),
            }
        }
        let flushed = match limit {
            Some(limit) => tokio::time::timeout(limit, io.flush())
                .await
                .unwrap_or_else(|_| Err(stalled())),
            None => io.flush().await,
        };
        flushed.map_err(|e| (e, written))
    }

    /// Whether [`Transport::gone`] has seen the client go.
    pub fn is_gone(&self) -> bool {
        self.gone
    }

    /// The byte stream.
    pub fn io(&mut self) -> &mut dyn Io {
        &mut *self.io
    }

    /// Reads what the client has sent into `input` (room for at least
    /// `room` more bytes is made first), at most [`READ_SLICE`] bytes at a
    /// time so that one read does not hold a thread for long; `Ok(0)` at
    /// the end of the stream.
    pub async fn fill(&mut self, room: usize) -> io::Result<usize> {
        use bytes::BufMut;
        use tokio::io::AsyncReadExt;
        self.input.reserve(room);
        self.io
            .read_buf(&mut (&mut self.input).limit(READ_SLICE))
            .await
    }
}

/// The most one read takes from a client.
pub const READ_SLICE: usize = 256 << 10;

/// Whether bytes end a header line early: CR, LF or NUL in a name, value or
/// reason make the head say more than its parts do.
pub fn breaks_a_line(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
}

/// What a `Transfer-Encoding` header the handler wrote promises about the body.
enum Coding {
    /// Chunked: the content written so far, checked as a chunked message.
    Chunked {
        decoder: ChunkedDecoder,
        /// The last chunk and its trailers were seen.
        done: bool,
        /// Bytes came after the message ended, or it was malformed.
        broken: bool,
    },
    /// Another coding last: the body's end cannot be told.
    Other,
}

/// Where the writer is in the response it is writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Nothing,
    Headers,
    Body,
}

/// Writes one response to a client, and remembers what it wrote so the
/// connection knows whether the framing still holds afterwards. It owns the
/// transport while the response is written; [`ResponseWriter::into_transport`]
/// gives it back for the next request.
pub struct ResponseWriter {
    transport: Transport,
    stage: Stage,
    head_only: bool,
    keep_alive_header: bool,
    status: Option<u16>,
    declared_length: Option<u64>,
    content_written: u64,
    raw_written: bool,
    date_written: bool,
    total_written: u64,
    coding: Option<Coding>,
}

impl ResponseWriter {
    /// A writer for one response. `head_only` suppresses content (a HEAD request);
    /// `keep_alive_header` adds `Connection: keep-alive` to responses the server
    /// serialises (for HTTP/1.0 clients that asked for it).
    pub fn new(transport: Transport, head_only: bool, keep_alive_header: bool) -> Self {
        ResponseWriter {
            transport,
            stage: Stage::Nothing,
            head_only,
            keep_alive_header,
            status: None,
            declared_length: None,
            content_written: 0,
            raw_written: false,
            date_written: false,
            total_written: 0,
            coding: None,
        }
    }

    /// The transport, for the next request.
    pub fn into_transport(self) -> Transport {
        self.transport
    }

    /// The transport, while this response is being written (to watch for
    /// the client going away).
    pub fn transport(&mut self) -> &mut Transport {
        &mut self.transport
    }

    /// The status code written, if any.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// Bytes written to the client so far.
    pub fn bytes_written(&self) -> u64 {
        self.total_written
    }

    /// Whether the client can tell where this response ended, so that the
    /// connection may carry another: the head was ended, exactly one valid
    /// `Content-Length` was written and that many content bytes followed, and
    /// no raw bytes were mixed in.
    pub fn framing_intact(&self) -> bool {
        if self.raw_written || self.stage == Stage::Nothing || self.stage == Stage::Headers {
            return false;
        }
        match (self.declared_length, &self.coding, self.status) {
            (_, _, Some(s)) if (100..200).contains(&s) || s == 204 || s == 304 => {
                self.content_written == 0
            }
            // RFC 9112 §6.3: never both.
            (Some(_), Some(_), _) => false,
            (None, Some(Coding::Chunked { done, broken, .. }), _) => {
                self.head_only || (*done && !broken)
            }
            (None, Some(Coding::Other), _) => false,
            (Some(n), None, _) => self.head_only || n == self.content_written,
            (None, None, _) => false,
        }
    }

    /// Counts content as sent, checking it against a chunked coding the
    /// handler declared.
    fn count_content(&mut self, data: &[u8]) {
        self.content_written = self.content_written.saturating_add(data.len() as u64);
        if let Some(Coding::Chunked {
            decoder,
            done,
            broken,
        }) = &mut self.coding
        {
            if *done {
                *broken |= !data.is_empty();
                return;
            }
            let mut scratch = Vec::new();
            match decoder.decode(data, &mut scratch) {
                Ok(Progress::NeedMore) => {}
                Ok(Progress::Done(used)) => {
                    *done = true;
                    *broken |= used != data.len();
                }
                Err(_) => *broken = true,
            }
        }
    }

    /// Marks the response as not safely delimited (a handler failed part way,
    /// say), so the connection is closed after it.
    pub fn break_framing(&mut self) {
        self.raw_written = true;
    }

    /// Writes the status line `HTTP/1.1 CODE REASON`. Without a reason, the
    /// reference server's phrase for the code is used (empty when it has none).
    pub async fn write_status(&mut self, code: u16, reason: Option<&[u8]>) -> io::Result<()> {
        self.raw_written |= reason.is_some_and(breaks_a_line);
        let mut line = Vec::with_capacity(32);
        push_status_line(&mut line, code, reason);
        self.status = Some(code);
        self.stage = Stage::Headers;
        self.put(&line).await
    }

    /// Writes one header line, after a `200` status line if none was written.
    pub async fn write_header(&mut self, name: &[u8], value: &[u8]) -> io::Result<()> {
        if self.stage == Stage::Nothing {
            self.write_status(200, None).await?;
        }
        let mut line = Vec::with_capacity(name.len() + value.len() + 4);
        push_header(&mut line, name, value);
        self.note_header(name, value);
        self.put(&line).await
    }

    /// Ends the header section. With `add_date`, writes a `Date` header first
    /// unless one was written.
    pub async fn end_headers(&mut self, add_date: bool) -> io::Result<()> {
        if self.stage == Stage::Nothing {
            self.write_status(200, None).await?;
        }
        let mut tail = Vec::with_capacity(40);
        if add_date && !self.date_written {
            push_header(&mut tail, b"Date", &date::now());
        }
        tail.extend_from_slice(b"\r\n");
        self.stage = Stage::Body;
        self.put(&tail).await
    }

    /// Writes content bytes, ending the header section first if needed. On a
    /// HEAD request, content is counted but not sent.
    pub async fn write_content(&mut self, data: &[u8]) -> io::Result<()> {
        if self.stage != Stage::Body {
            self.end_headers(true).await?;
        }
        self.count_content(data);
        if self.head_only {
            return Ok(());
        }
        self.put(data).await
    }

    /// Writes bytes exactly as given, whatever stage the response is in.
    pub async fn write_raw(&mut self, data: &[u8]) -> io::Result<()> {
        self.raw_written = true;
        self.put(data).await
    }

    /// Writes a body of any form as content.
    pub async fn write_body(&mut self, body: &Body) -> io::Result<()> {
        match body {
            Body::Paced(paced) => Box::pin(self.write_paced(paced)).await,
            Body::Empty => Ok(()),
            Body::Bytes(b) => self.write_content(b).await,
            Body::Parts(parts) => {
                for part in parts {
                    match part {
                        Part::Bytes(b) => self.write_content(b).await?,
                        Part::File(range) => {
                            let mut offset = range.offset;
                            let end = range.offset + range.len;
                            let mut buf = vec![0; FILE_CHUNK.min(range.len as usize)];
                            while offset < end {
                                let want = ((end - offset) as usize).min(buf.len());
                                let got = read_file_at(range, &mut buf[..want], offset)?;
                                self.write_content(&buf[..got]).await?;
                                offset += got as u64;
                            }
                        }
                    }
                }
                Ok(())
            }
        }
    }

    /// Writes a paced body: each piece reaches the socket before the pause
    /// that follows it. Pauses are skipped on a HEAD request.
    async fn write_paced(&mut self, paced: &Paced) -> io::Result<()> {
        let body = &paced.body;
        let total = body.len();
        if self.head_only {
            // Nothing is sent and nothing paced: only counted.
            self.content_written = self.content_written.saturating_add(total);
            return Ok(());
        }
        let mut sent = 0u64;
        let (plan, repeat) = split_plan(&paced.plan);
        for step in plan {
            self.pace_step(step, body, &mut sent).await?;
        }
        if let Some(window) = repeat {
            // Parsing guarantees the window sends bytes, so this ends; each
            // round gives other tasks their turn, whatever the socket does.
            while sent < total {
                for step in window {
                    self.pace_step(step, body, &mut sent).await?;
                }
                tokio::task::yield_now().await;
            }
        }
        if sent < total {
            Box::pin(self.write_body(&body.slice(sent, total))).await?;
        }
        Ok(())
    }

    async fn pace_step(&mut self, step: &Pace, body: &Body, sent: &mut u64) -> io::Result<()> {
        match *step {
            Pace::Bytes(n) => {
                let end = sent.saturating_add(n).min(body.len());
                if end > *sent {
                    Box::pin(self.write_body(&body.slice(*sent, end))).await?;
                    *sent = end;
                }
            }
            Pace::Delay(d) => tokio::time::sleep(d).await,
            Pace::Repeat(_) => {}
        }
        Ok(())
    }

    /// Writes a file body (or any body) as raw bytes: for `.asis` files.
    pub async fn write_raw_body(&mut self, body: &Body) -> io::Result<()> {
        self.raw_written = true;
        let head_only = std::mem::replace(&mut self.head_only, false);
        self.stage = Stage::Body;
        let result = self.write_body(body).await;
        self.head_only = head_only;
        result
    }

    /// Serialises a whole response: status line, the response's headers in
    /// order, then `Date` and `Content-Length` if the handler left them out
    /// (unless `add_required_headers` is off; never `Content-Length` beside a
    /// `Transfer-Encoding`), then the body. A line break or NUL inside a
    /// header or the reason (a `header` pipe injecting one, say) is written
    /// as given, and the connection is not reused after it.
    pub async fn send(&mut self, response: &Response) -> io::Result<()> {
        let body_len = response.body.len();
        let mut head = Vec::with_capacity(256);
        push_status_line(&mut head, response.status, response.reason.as_deref());
        self.status = Some(response.status);
        self.raw_written |= response.reason.as_deref().is_some_and(breaks_a_line);
        let mut has_date = false;
        let mut has_length = false;
        let mut has_connection = false;
        for (name, value) in response.headers.iter() {
            push_header(&mut head, name, value);
            self.note_header(name, value);
            has_date |= name.eq_ignore_ascii_case(b"date");
            has_length |= name.eq_ignore_ascii_case(b"content-length")
                || name.eq_ignore_ascii_case(b"transfer-encoding");
            has_connection |= name.eq_ignore_ascii_case(b"connection");
        }
        if response.add_required_headers {
            if !has_date {
                push_header(&mut head, b"Date", &date::now());
            }
            let bodiless = matches!(response.status, 100..=199 | 204 | 304) && body_len == 0;
            if !has_length && !bodiless {
                let mut n = itoa::Buffer::new();
                let n = n.format(body_len);
                push_header(&mut head, b"Content-Length", n.as_bytes());
                self.note_header(b"Content-Length", n.as_bytes());
            }
        }
        if self.keep_alive_header && !has_connection && !response.close_connection {
            push_header(&mut head, b"Connection", b"keep-alive");
        }
        head.extend_from_slice(b"\r\n");
        self.stage = Stage::Body;
        match &response.body {
            // A small body, in memory or in a file, goes out with the head:
            // one write, one packet.
            body if body_len <= COALESCE_LIMIT && !matches!(body, Body::Paced(_)) => {
                let bytes = body.to_bytes()?;
                self.count_content(&bytes);
                if !self.head_only {
                    head.extend_from_slice(&bytes);
                }
                self.put(&head).await
            }
            body => {
                self.put(&head).await?;
                self.write_body(body).await
            }
        }
    }

    fn note_header(&mut self, name: &[u8], value: &[u8]) {
        self.raw_written |= breaks_a_line(name) || breaks_a_line(value);
        self.date_written |= name.eq_ignore_ascii_case(b"date");
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let last = value.rsplit(|&b| b == b',').next().map(super::parse::trim);
            self.coding = match (&self.coding, last) {
                (None, Some(c)) if c.eq_ignore_ascii_case(b"chunked") => Some(Coding::Chunked {
                    decoder: ChunkedDecoder::new(u64::MAX),
                    done: false,
                    broken: false,
                }),
                _ => Some(Coding::Other),
            };
        }
        if name.eq_ignore_ascii_case(b"content-length") {
            let parsed = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            // A second Content-Length, or one that is not a number, leaves the
            // framing undefined: remember it as such.
            self.declared_length = match (self.declared_length, parsed) {
                (None, Some(n)) => Some(n),
                _ => Some(u64::MAX),
            };
        }
    }

    /// Writes `data` and flushes it, each write within the send timeout
    /// (time without progress, not the whole write).
    async fn put(&mut self, data: &[u8]) -> io::Result<()> {
        let result = self.transport.send(data).await;
        let sent = match &result {
            Ok(()) => data.len(),
            Err((_, n)) => *n,
        };
        self.total_written += sent as u64;
        result.map_err(|(e, _)| e)
    }
}

fn push_status_line(out: &mut Vec<u8>, code: u16, reason: Option<&[u8]>) {
    out.extend_from_slice(b"HTTP/1.1 ");
    let mut n = itoa::Buffer::new();
    out.extend_from_slice(n.format(code).as_bytes());
    out.push(b' ');
    out.extend_from_slice(reason.unwrap_or(reason_phrase(code).as_bytes()));
    out.extend_from_slice(b"\r\n");
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn read_file_at(
    range: &super::response::FileRange,
    buf: &mut [u8],
    offset: u64,
) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let n = range.file.read_at(buf, offset)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "file shrank while it was being sent",
        ));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::testing::MemIo;
    use crate::http::{Headers, Response};
    use tokio::io::AsyncReadExt;

    async fn sent(response: &Response, head_only: bool) -> (String, bool) {
        let (io, out) = MemIo::new();
        let mut w = ResponseWriter::new(Transport::new(Box::new(io)), head_only, false);
        w.send(response).await.unwrap();
        let intact = w.framing_intact();
        let text = String::from_utf8(out.take()).unwrap();
        // Dates differ from run to run.
        let text = match text.find("Date: ") {
            Some(i) => format!("{}Date: D{}", &text[..i], &text[i + 35..]),
            None => text,
        };
        (text, intact)
    }

    #[tokio::test]
    async fn send_adds_only_what_is_missing() {
        let r = Response::new(200).with_header("X-A", "1").with_body("hi");
        assert_eq!(
            sent(&r, false).await,
            (
                "HTTP/1.1 200 OK\r\nX-A: 1\r\nDate: D\r\nContent-Length: 2\r\n\r\nhi".into(),
                true
            )
        );
        assert_eq!(
            sent(&r, true).await,
            (
                "HTTP/1.1 200 OK\r\nX-A: 1\r\nDate: D\r\nContent-Length: 2\r\n\r\n".into(),
                true
            )
        );
        let mut r = Response::new(299).with_body("x");
        r.headers.push("date", "yesterday");
        assert_eq!(
            sent(&r, false).await.0,
            "HTTP/1.1 299 \r\ndate: yesterday\r\nContent-Length: 1\r\n\r\nx"
        );
        let r = Response {
            status: 200,
            reason: Some(b"Totally \xffFine".to_vec()),
            ..Response::default()
        };
        let (io, out) = MemIo::new();
        ResponseWriter::new(Transport::new(Box::new(io)), false, false)
            .send(&r)
            .await
            .unwrap();
        assert!(out.take().starts_with(b"HTTP/1.1 200 Totally \xffFine\r\n"));
    }

    #[tokio::test]
    async fn handler_control_is_respected_and_framing_tracked() {
        let mut r = Response::new(200).with_body("four");
        r.headers.push("Content-Length", "10");
        let (text, intact) = sent(&r, false).await;
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nDate: D\r\n\r\nfour"
        );
        assert!(!intact, "a wrong Content-Length leaves the framing broken");

        let r = Response {
            add_required_headers: false,
            headers: Headers::new(),
            ..Response::new(404).with_body("x")
        };
        let (text, intact) = sent(&r, false).await;
        assert_eq!(text, "HTTP/1.1 404 Not Found\r\n\r\nx");
        assert!(!intact, "no length: close-delimited");

        let (text, intact) = sent(&Response::new(204), false).await;
        assert_eq!(text, "HTTP/1.1 204 No Content\r\nDate: D\r\n\r\n");
        assert!(intact);
    }

    #[tokio::test]
    async fn each_step_is_on_the_wire_when_the_call_returns() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client =
            tokio::spawn(async move { tokio::net::TcpStream::connect(addr).await.unwrap() });
        let (server, _) = listener.accept().await.unwrap();
        let mut client = client.await.unwrap();
        let mut buf = vec![0u8; 256];
        let mut w = ResponseWriter::new(Transport::new(Box::new(server)), false, false);

        async fn read_now(c: &mut tokio::net::TcpStream, buf: &mut [u8]) -> String {
            let n = tokio::time::timeout(std::time::Duration::from_secs(5), c.read(buf))
                .await
                .expect("bytes arrived")
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        }

        w.write_status(599, Some(b"Odd")).await.unwrap();
        assert_eq!(
            read_now(&mut client, &mut buf).await,
            "HTTP/1.1 599 Odd\r\n"
        );
        w.write_header(b"content-length", b"3").await.unwrap();
        assert_eq!(
            read_now(&mut client, &mut buf).await,
            "content-length: 3\r\n"
        );
        w.end_headers(false).await.unwrap();
        assert_eq!(read_now(&mut client, &mut buf).await, "\r\n");
        w.write_content(b"ab").await.unwrap();
        assert_eq!(read_now(&mut client, &mut buf).await, "ab");
        assert!(!w.framing_intact());
        w.write_content(b"c").await.unwrap();
        assert_eq!(read_now(&mut client, &mut buf).await, "c");
        assert!(w.framing_intact());
        w.write_raw(b"garbage").await.unwrap();
        assert_eq!(read_now(&mut client, &mut buf).await, "garbage");
        assert!(
            !w.framing_intact(),
            "raw bytes after the body break the framing"
        );
    }

    #[tokio::test]
    async fn a_header_first_writes_a_default_status() {
        let (io, out) = MemIo::new();
        let mut w = ResponseWriter::new(Transport::new(Box::new(io)), false, false);
        w.write_header(b"X", b"y").await.unwrap();
        w.write_content(b"body").await.unwrap();
        let text = String::from_utf8(out.take()).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\nX: y\r\nDate: "),
            "{text}"
        );
        assert!(text.ends_with(" GMT\r\n\r\nbody"), "{text}");
    }
}
