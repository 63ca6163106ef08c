//! The high-level response a handler returns and the server serialises.

use std::fs::File;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::headers::Headers;
use super::status::server_reason;

/// A byte range of an open file, read when the response is written.
#[derive(Clone, Debug)]
pub struct FileRange {
    /// The open file.
    pub file: Arc<File>,
    /// Where the range starts.
    pub offset: u64,
    /// How many bytes it has.
    pub len: u64,
}

/// One piece of a body made of several.
#[derive(Clone, Debug)]
pub enum Part {
    /// Bytes in memory.
    Bytes(Bytes),
    /// A range of a file.
    File(FileRange),
}

impl Part {
    /// The length of the piece in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Part::Bytes(b) => b.len() as u64,
            Part::File(f) => f.len,
        }
    }

    /// Whether the piece is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A response body. Every form has a length known before it is sent.
#[derive(Clone, Debug, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// Bytes in memory.
    Bytes(Bytes),
    /// Several pieces, sent in order (a multipart range response, say).
    Parts(Vec<Part>),
    /// A body sent in timed pieces (the `trickle` pipe).
    Paced(Paced),
}

/// One step of a paced (trickled) body.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Send the next this many bytes.
    Bytes(u64),
    /// Wait this long.
    Delay(Duration),
    /// Repeat the previous this many steps until the body is all sent. Only
    /// ever the last step.
    Repeat(usize),
}

/// A body sent in pieces with pauses between them.
#[derive(Clone, Debug)]
pub struct Paced {
    /// What is sent.
    pub body: Box<Body>,
    /// How: steps in order; whatever is left at the end is sent at once.
    pub plan: Vec<Pace>,
}

/// All the pauses a plan makes while sending `len` bytes: the pauses of the
/// steps before the repeat, then those of the repeated window once for each
/// time it runs (it runs until the body is sent). Saturates rather than
/// overflows.
pub fn total_delay(plan: &[Pace], len: u64) -> Duration {
    let (steps, window) = split_plan(plan);
    let delay_of = |steps: &[Pace]| {
        steps.iter().fold(Duration::ZERO, |d, p| match p {
            Pace::Delay(x) => d.saturating_add(*x),
            _ => d,
        })
    };
    let bytes_of = |steps: &[Pace]| {
        steps.iter().fold(0u64, |n, p| match p {
            Pace::Bytes(b) => n.saturating_add(*b),
            _ => n,
        })
    };
    let mut total = delay_of(steps);
    if let Some(window) = window {
        let sent = bytes_of(steps).min(len);
        let per_round = bytes_of(window);
        if per_round > 0 && sent < len {
            let rounds = (len - sent).div_ceil(per_round);
            let rounds = u32::try_from(rounds).unwrap_or(u32::MAX);
            total = total.saturating_add(delay_of(window).saturating_mul(rounds));
        }
    }
    total
}

/// The steps of a plan run once, and the window a final `rN` repeats.
pub fn split_plan(plan: &[Pace]) -> (&[Pace], Option<&[Pace]>) {
    match plan.split_last() {
        Some((Pace::Repeat(n), rest)) => (rest, Some(&rest[rest.len() - (*n).min(rest.len())..])),
        _ => (plan, None),
    }
}

impl Body {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::Parts(parts) => parts.iter().map(Part::len).sum(),
            Body::Paced(p) => p.body.len(),
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A body that is one range of a file.
    pub fn file(range: FileRange) -> Self {
        Body::Parts(vec![Part::File(range)])
    }

    /// Bytes `start..end` of the body (clamped), without reading any file.
    pub fn slice(&self, start: u64, end: u64) -> Body {
        let end = end.min(self.len());
        if start >= end {
            return Body::Empty;
        }
        match self {
            Body::Empty => Body::Empty,
            Body::Bytes(b) => Body::Bytes(b.slice(start as usize..end as usize)),
            Body::Parts(parts) => {
                let mut out = Vec::new();
                let mut offset = 0u64;
                for part in parts {
                    let (p_start, p_end) = (offset, offset + part.len());
                    offset = p_end;
                    let (s, e) = (start.max(p_start), end.min(p_end));
                    if s >= e {
                        continue;
                    }
                    let (s, e) = (s - p_start, e - p_start);
                    out.push(match part {
                        Part::Bytes(b) => Part::Bytes(b.slice(s as usize..e as usize)),
                        Part::File(f) => Part::File(FileRange {
                            file: f.file.clone(),
                            offset: f.offset + s,
                            len: e - s,
                        }),
                    });
                }
                Body::Parts(out)
            }
            Body::Paced(p) => Body::Paced(Paced {
                body: Box::new(p.body.slice(start, end)),
                plan: p.plan.clone(),
            }),
        }
    }

    /// The whole body in memory (files are read).
    pub fn to_bytes(&self) -> io::Result<Bytes> {
        match self {
            Body::Empty => Ok(Bytes::new()),
            Body::Bytes(b) => Ok(b.clone()),
            Body::Parts(parts) => {
                let mut out = Vec::with_capacity(self.len() as usize);
                for part in parts {
                    match part {
                        Part::Bytes(b) => out.extend_from_slice(b),
                        Part::File(f) => {
                            use std::os::unix::fs::FileExt;
                            let start = out.len();
                            out.resize(start + f.len as usize, 0);
                            f.file.read_exact_at(&mut out[start..], f.offset)?;
                        }
                    }
                }
                Ok(out.into())
            }
            Body::Paced(p) => p.body.to_bytes(),
        }
    }

    /// Replaces the bytes of the body, keeping any pacing around them. `f`
    /// is given the body's bytes, or the error reading them.
    pub fn map_bytes<E>(
        &self,
        f: impl FnOnce(io::Result<Bytes>) -> Result<Vec<u8>, E>,
    ) -> Result<Body, E> {
        match self {
            Body::Paced(p) => Ok(Body::Paced(Paced {
                body: Box::new(p.body.map_bytes(f)?),
                plan: p.plan.clone(),
            })),
            other => Ok(Body::Bytes(f(other.to_bytes())?.into())),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::Bytes(v.into())
    }
}

impl From<&'static str> for Body {
    fn from(v: &'static str) -> Self {
        Body::Bytes(Bytes::from_static(v.as_bytes()))
    }
}

impl From<String> for Body {
    fn from(v: String) -> Self {
        Body::Bytes(v.into())
    }
}

/// A response: status, reason, headers in order, body, and two switches.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code; any value from 0 to 999 is written as given.
    pub status: u16,
    /// The reason phrase; `None` takes the reference server's phrase for the code.
    pub reason: Option<Vec<u8>>,
    /// The headers, written in this order.
    pub headers: Headers,
    /// The body.
    pub body: Body,
    /// Add `Date` and `Content-Length` where the headers lack them. Default: true.
    pub add_required_headers: bool,
    /// Close the connection after this response. Default: false.
    pub close_connection: bool,
}

impl Default for Response {
    fn default() -> Self {
        Response {
            status: 200,
            reason: None,
            headers: Headers::new(),
            body: Body::Empty,
            add_required_headers: true,
            close_connection: false,
        }
    }
}

impl Response {
    /// A response with this status and nothing else.
    pub fn new(status: u16) -> Self {
        Response {
            status,
            ..Response::default()
        }
    }

    /// The reference server's JSON error: `{"error": {"code": N, "message": "…"}}`.
    pub fn error(status: u16, message: &str) -> Self {
        let body = serde_json::json!({ "error": { "code": status, "message": message } });
        let mut headers = Headers::with_capacity(1);
        headers.push("Content-Type", "application/json");
        Response {
            status,
            reason: Some(server_reason(status).as_bytes().to_vec()),
            headers,
            body: Body::Bytes(body.to_string().into()),
            ..Response::default()
        }
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// Appends a header.
    pub fn with_header(mut self, name: &str, value: impl Into<Vec<u8>>) -> Self {
        self.headers.append(name, value);
        self
    }
}
