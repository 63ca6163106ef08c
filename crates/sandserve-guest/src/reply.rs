//! What a handler returns.

use crate::response::Response;

/// The forms a handler's answer can take (wptserve's return forms).
#[derive(Debug, Default)]
pub enum Reply {
    /// Nothing more: the [`Response`] was filled in, or the writer was used.
    #[default]
    Done,
    /// A body (no `Content-Type` is added, as in wptserve).
    Body(Vec<u8>),
    /// Status, optional reason, headers to append, and body.
    Full {
        /// The status code, if one is given.
        status: Option<u16>,
        /// The reason phrase, if one is given.
        reason: Option<Vec<u8>>,
        /// Headers appended to the response's.
        headers: Vec<(Vec<u8>, Vec<u8>)>,
        /// The body.
        body: Vec<u8>,
    },
}

impl Reply {
    pub(crate) fn apply(self, response: &mut Response) {
        match self {
            Reply::Done => {}
            Reply::Body(body) => response.set_body(body),
            Reply::Full {
                status,
                reason,
                headers,
                body,
            } => {
                if let Some(status) = status {
                    response.set_status_reason(status, reason.as_deref());
                }
                for (name, value) in headers {
                    response.append_header(name, value);
                }
                response.set_body(body);
            }
        }
    }
}

fn headers<H, K, V>(h: H) -> Vec<(Vec<u8>, Vec<u8>)>
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
{
    h.into_iter()
        .map(|(k, v)| (k.as_ref().to_vec(), v.as_ref().to_vec()))
        .collect()
}

impl From<()> for Reply {
    fn from(_: ()) -> Self {
        Reply::Done
    }
}

impl From<&str> for Reply {
    fn from(body: &str) -> Self {
        Reply::Body(body.as_bytes().to_vec())
    }
}

impl From<String> for Reply {
    fn from(body: String) -> Self {
        Reply::Body(body.into_bytes())
    }
}

impl From<Vec<u8>> for Reply {
    fn from(body: Vec<u8>) -> Self {
        Reply::Body(body)
    }
}

impl From<&[u8]> for Reply {
    fn from(body: &[u8]) -> Self {
        Reply::Body(body.to_vec())
    }
}

impl<H, K, V, B> From<(H, B)> for Reply
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    B: AsRef<[u8]>,
{
    fn from((h, body): (H, B)) -> Self {
        Reply::Full {
            status: None,
            reason: None,
            headers: headers(h),
            body: body.as_ref().to_vec(),
        }
    }
}

impl<H, K, V, B> From<(u16, H, B)> for Reply
where
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    B: AsRef<[u8]>,
{
    fn from((status, h, body): (u16, H, B)) -> Self {
        Reply::Full {
            status: Some(status),
            reason: None,
            headers: headers(h),
            body: body.as_ref().to_vec(),
        }
    }
}

impl<R, H, K, V, B> From<((u16, R), H, B)> for Reply
where
    R: AsRef<[u8]>,
    H: IntoIterator<Item = (K, V)>,
    K: AsRef<[u8]>,
    V: AsRef<[u8]>,
    B: AsRef<[u8]>,
{
    fn from(((status, reason), h, body): ((u16, R), H, B)) -> Self {
        Reply::Full {
            status: Some(status),
            reason: Some(reason.as_ref().to_vec()),
            headers: headers(h),
            body: body.as_ref().to_vec(),
        }
    }
}

/// A failure answered with `code` and the server's JSON error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The status code.
    pub code: u16,
    /// The message.
    pub message: String,
}

impl Error {
    /// An error with this status code and message.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
}

/// Any standard error becomes a 500 with its message, so `?` works.
impl<E: std::error::Error> From<E> for Error {
    fn from(e: E) -> Self {
        Error::new(500, e.to_string())
    }
}
