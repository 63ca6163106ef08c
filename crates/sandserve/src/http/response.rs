//! The high-level response a handler returns and the server serialises.

use std::fs::File;
use std::sync::Arc;

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
}

impl Body {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::Parts(parts) => parts.iter().map(Part::len).sum(),
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
