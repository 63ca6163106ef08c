//! What a handler gives the connection, and every error answer the server
//! makes: one table of status, message and when, in one place.
//!
//! Every module reports its failures as typed errors; this module alone
//! decides which status answers each and what the JSON error body says
//! (`{"error": {"code": N, "message": "…"}}`, the reference server's form).
//! Messages name URL paths, never where a file is on the server's disk.

use std::fmt;

use crate::files::FileError;
use crate::http::chunked::ChunkError;
use crate::http::parse::HeadError;
use crate::http::Response;
use crate::pipes::PipeError;
use crate::tenants::AtCap;
use crate::wasm::{Fault, LoadError};
use crate::wpt::WrapperError;

/// The result of answering one request, from a handler to the connection.
#[derive(Debug)]
pub enum Reply {
    /// A response for the connection to write (query pipes already applied
    /// where they apply).
    Response(Response),
    /// An error answer from the table below; no pipes apply to it.
    Error(ErrorAnswer),
    /// The handler wrote its response itself through the writer (or failed
    /// part way through it, in which case the writer knows the framing is
    /// broken and the connection closes).
    Written,
}

impl From<ErrorAnswer> for Reply {
    fn from(e: ErrorAnswer) -> Self {
        Reply::Error(e)
    }
}

/// Every error answer the server makes.
///
/// | answer | status | when |
/// | --- | --- | --- |
/// | `Head` | 400, 414, 431, 505 | the request head is malformed (400), its line too long (414), its header section too large or too long (431), its HTTP version one we do not speak (505) |
/// | `BadTarget` | 400 | the target is not origin-, absolute-, asterisk- or authority-form as the method requires |
/// | `BadHost` | 400 | an HTTP/1.1 request with no `Host`, several, or one that is not a host and port (unless `lenient_host`) |
/// | `BadChunk` | 400 | a chunked body is malformed |
/// | `BodyTooLarge` | 413 | a body is larger than `limits.max_body_bytes` |
/// | `HeadTimeout`, `BodyTimeout` | 408 | a head or body did not arrive within `timeouts.header_read_secs` |
/// | `NoRoute` | 404 | no route answers this method and path |
/// | `Forbidden` | 404 | a path a WPT checkout never serves (`--wpt`: `/tools/`, `/_certs/`…) |
/// | `Wrapper` | 404 | a test wrapper whose source's `global=` does not expose it in that scope |
/// | `File` | 404, 500, 400, 416 | nothing at the path (404); a file that cannot be read, a broken `.headers` file, a failed substitution or one too large, an `.asis` directory (500); a non-ASCII `Range` (400); no satisfiable range (416, with `Content-Range: bytes */SIZE`) |
/// | `Pipe` | 500 | a `?pipe=` that does not parse, asks for more than its limits, or cannot be applied |
/// | `HandlerUnusable` | 500 | a handler file that is not a component this server can run |
/// | `NoPythonRunner` | 500 | a `.py` handler, on a server whose Python runner is not installed |
/// | `HandlerFailed` | 500 | a handler trapped or hit a limit before writing anything |
/// | `Guest` | the handler's | a handler returned its own error |
/// | `Busy` | 503 | no instance slot came free within the wall-time limit; no room for another request body |
/// | `Crowded` | 429 | the client's address holds all it may (`per_client`) of handler requests, sleeping handlers or instance memory |
/// | `SessionNotSaved` | 503 when its store is out of reach, else 500 | the handler succeeded but its session could not be saved |
///
/// The head, target, chunk, size and timeout answers close the connection
/// after them: the rest of what the client sent cannot be trusted.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorAnswer {
    /// The request head was refused.
    Head(HeadError),
    /// A request target of the wrong form.
    BadTarget(String),
    /// An HTTP/1.1 request without one valid `Host` header: why.
    BadHost(&'static str),
    /// A malformed chunked body.
    BadChunk(ChunkError),
    /// A body over the size limit.
    BodyTooLarge {
        /// The declared length, when the client declared one.
        declared: Option<u64>,
        /// The limit.
        limit: u64,
    },
    /// The head did not arrive in time.
    HeadTimeout,
    /// The body did not arrive in time.
    BodyTimeout,
    /// No route matched.
    NoRoute {
        /// The method.
        method: String,
        /// The path.
        path: String,
    },
    /// A path the `wpt serve` layer never serves.
    Forbidden {
        /// The path.
        path: String,
    },
    /// A test wrapper that is not served.
    Wrapper(WrapperError),
    /// A file could not be served.
    File(FileError),
    /// A pipeline could not be parsed or applied.
    Pipe(PipeError),
    /// A handler file cannot be run.
    HandlerUnusable {
        /// The handler, by its URL path (or file name for a configured route).
        handler: String,
        /// Why.
        error: LoadError,
    },
    /// A `.py` handler was asked for, and the Python runner is not installed.
    NoPythonRunner {
        /// The handler, by its URL path.
        handler: String,
    },
    /// A handler failed.
    HandlerFailed {
        /// The handler, by its URL path (or file name).
        handler: String,
        /// What stopped it.
        fault: Fault,
        /// The end of what it printed (a panic message, say); may be empty.
        output: String,
    },
    /// A handler's own error.
    Guest {
        /// The status it chose.
        code: u16,
        /// Its message.
        message: String,
    },
    /// No capacity to run a handler.
    Busy {
        /// What ran out.
        what: &'static str,
    },
    /// The client's address already holds all it may of something.
    Crowded(AtCap),
    /// A handler's session could not be saved after it answered.
    SessionNotSaved(crate::session::SessionError),
    /// What HTTP/2 cannot carry, or is not served over it yet: what.
    NotOverHttp2 {
        /// What.
        what: &'static str,
    },
    /// A request on a WebSocket port that is not a valid opening handshake:
    /// why. `version` is true when only `Sec-WebSocket-Version` is wrong
    /// (answered `426` naming the version served).
    NotWebSocket {
        /// What is wrong.
        why: &'static str,
        /// Only the version is wrong.
        version: bool,
    },
}

impl ErrorAnswer {
    /// The status code that answers it.
    pub fn status(&self) -> u16 {
        match self {
            ErrorAnswer::Head(e) => match e {
                HeadError::RequestLineTooLong { .. } => 414,
                HeadError::TooManyHeaders { .. } | HeadError::HeadersTooLarge { .. } => 431,
                HeadError::UnsupportedVersion(_) => 505,
                _ => 400,
            },
            ErrorAnswer::BadTarget(_) | ErrorAnswer::BadHost(_) | ErrorAnswer::BadChunk(_) => 400,
            ErrorAnswer::BodyTooLarge { .. } => 413,
            ErrorAnswer::HeadTimeout | ErrorAnswer::BodyTimeout => 408,
            ErrorAnswer::NoRoute { .. } | ErrorAnswer::Forbidden { .. } => 404,
            ErrorAnswer::Wrapper(_) => 404,
            ErrorAnswer::File(e) => match e {
                FileError::NotFound { .. } => 404,
                FileError::RangeNotAscii => 400,
                FileError::RangeNotSatisfiable { .. } => 416,
                _ => 500,
            },
            ErrorAnswer::Pipe(_)
            | ErrorAnswer::HandlerUnusable { .. }
            | ErrorAnswer::NoPythonRunner { .. }
            | ErrorAnswer::HandlerFailed { .. } => 500,
            ErrorAnswer::Guest { code, .. } => *code,
            ErrorAnswer::Busy { .. } => 503,
            ErrorAnswer::Crowded(_) => 429,
            ErrorAnswer::SessionNotSaved(crate::session::SessionError::Unavailable(_)) => 503,
            ErrorAnswer::SessionNotSaved(_) => 500,
            ErrorAnswer::NotOverHttp2 { .. } => 500,
            ErrorAnswer::NotWebSocket { version: true, .. } => 426,
            ErrorAnswer::NotWebSocket { .. } => 400,
        }
    }

    /// Whether the connection closes after this answer.
    pub fn closes_connection(&self) -> bool {
        matches!(
            self,
            ErrorAnswer::Head(_)
                | ErrorAnswer::BadTarget(_)
                | ErrorAnswer::BadHost(_)
                | ErrorAnswer::BadChunk(_)
                | ErrorAnswer::BodyTooLarge { .. }
                | ErrorAnswer::HeadTimeout
                | ErrorAnswer::BodyTimeout
                | ErrorAnswer::NotWebSocket { .. }
        )
    }

    /// The response that carries it.
    pub fn response(&self) -> Response {
        let mut response = Response::error(self.status(), &self.to_string());
        if let ErrorAnswer::File(FileError::RangeNotSatisfiable { size, .. }) = self {
            response
                .headers
                .push("Content-Range", format!("bytes */{size}"));
        }
        if let ErrorAnswer::NotWebSocket { version: true, .. } = self {
            response.headers.push("Sec-WebSocket-Version", "13");
        }
        response.close_connection = self.closes_connection();
        response
    }
}

impl fmt::Display for ErrorAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorAnswer::Head(e) => write!(f, "{e}"),
            ErrorAnswer::BadTarget(t) => write!(f, "bad request target {t:?}"),
            ErrorAnswer::BadHost(why) => write!(f, "{why}"),
            ErrorAnswer::BadChunk(e) => write!(f, "{e}"),
            ErrorAnswer::BodyTooLarge {
                declared: Some(n),
                limit,
            } => write!(
                f,
                "request body of {n} bytes is larger than the limit of {limit}"
            ),
            ErrorAnswer::BodyTooLarge {
                declared: None,
                limit,
            } => write!(f, "chunked request body larger than the limit of {limit}"),
            ErrorAnswer::HeadTimeout => write!(f, "request head not received in time"),
            ErrorAnswer::BodyTimeout => write!(f, "request body not received in time"),
            ErrorAnswer::NoRoute { method, path } => write!(f, "no route for {method} {path}"),
            ErrorAnswer::Forbidden { path } => write!(f, "{path} is not served"),
            ErrorAnswer::Wrapper(e) => write!(f, "{e}"),
            ErrorAnswer::File(e) => write!(f, "{e}"),
            ErrorAnswer::Pipe(e) => write!(f, "{e}"),
            ErrorAnswer::HandlerUnusable { handler, error } => {
                write!(f, "handler {handler}: {error}")
            }
            ErrorAnswer::NoPythonRunner { handler } => write!(
                f,
                "handler {handler}: the Python runner is not installed \
                 (bash scripts/build-python-runner.sh builds it)"
            ),
            ErrorAnswer::HandlerFailed {
                handler,
                fault,
                output,
            } => {
                write!(f, "handler {handler} {fault}")?;
                if !output.is_empty() {
                    write!(f, ": {output}")?;
                }
                Ok(())
            }
            ErrorAnswer::Guest { message, .. } => write!(f, "{message}"),
            ErrorAnswer::Busy { what } => write!(f, "busy: {what}"),
            ErrorAnswer::Crowded(cap) => write!(f, "too many requests: {cap}"),
            ErrorAnswer::SessionNotSaved(e) => {
                write!(f, "the handler's session was not saved: {e}")
            }
            ErrorAnswer::NotOverHttp2 { what } => {
                write!(f, "not sent over HTTP/2: {what}")
            }
            ErrorAnswer::NotWebSocket { why, .. } => {
                write!(f, "this port serves WebSockets: {why}")
            }
        }
    }
}

impl std::error::Error for ErrorAnswer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ErrorAnswer::Head(e) => Some(e),
            ErrorAnswer::BadChunk(e) => Some(e),
            ErrorAnswer::File(e) => Some(e),
            ErrorAnswer::Pipe(e) => Some(e),
            ErrorAnswer::HandlerUnusable { error, .. } => Some(error),
            ErrorAnswer::HandlerFailed { fault, .. } => Some(fault),
            _ => None,
        }
    }
}

impl From<FileError> for ErrorAnswer {
    fn from(e: FileError) -> Self {
        ErrorAnswer::File(e)
    }
}

impl From<PipeError> for ErrorAnswer {
    fn from(e: PipeError) -> Self {
        ErrorAnswer::Pipe(e)
    }
}

impl From<HeadError> for ErrorAnswer {
    fn from(e: HeadError) -> Self {
        ErrorAnswer::Head(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        let cases: Vec<(ErrorAnswer, u16, &str, bool)> = vec![
            (
                HeadError::Malformed("bad request line \"x\"".into()).into(),
                400,
                "bad request line",
                true,
            ),
            (
                HeadError::RequestLineTooLong { limit: 9 }.into(),
                414,
                "longer than 9",
                true,
            ),
            (
                HeadError::TooManyHeaders { limit: 2 }.into(),
                431,
                "2",
                true,
            ),
            (
                HeadError::UnsupportedVersion("HTTP/2.0".into()).into(),
                505,
                "HTTP/2.0",
                true,
            ),
            (
                ErrorAnswer::BodyTooLarge {
                    declared: Some(10),
                    limit: 5,
                },
                413,
                "10 bytes",
                true,
            ),
            (ErrorAnswer::HeadTimeout, 408, "head", true),
            (
                ErrorAnswer::NoRoute {
                    method: "POST".into(),
                    path: "/x.txt".into(),
                },
                404,
                "no route for POST /x.txt",
                false,
            ),
            (
                FileError::NotFound { path: "/a".into() }.into(),
                404,
                "/a not found",
                false,
            ),
            (
                FileError::Unreadable {
                    path: "/a".into(),
                    source: std::io::ErrorKind::PermissionDenied.into(),
                }
                .into(),
                500,
                "/a cannot be read",
                false,
            ),
            (
                ErrorAnswer::Guest {
                    code: 418,
                    message: "teapot".into(),
                },
                418,
                "teapot",
                false,
            ),
            (ErrorAnswer::Busy { what: "slots" }, 503, "slots", false),
        ];
        for (answer, status, needle, closes) in cases {
            assert_eq!(answer.status(), status, "{answer}");
            assert!(answer.to_string().contains(needle), "{answer}");
            assert_eq!(answer.closes_connection(), closes, "{answer}");
            let r = answer.response();
            assert_eq!(r.status, status);
            let body: serde_json::Value =
                serde_json::from_slice(&r.body.to_bytes().unwrap()).unwrap();
            assert_eq!(body["error"]["code"], status);
            assert_eq!(body["error"]["message"], answer.to_string());
        }
    }

    #[test]
    fn an_unsatisfiable_range_keeps_its_content_range() {
        let r = ErrorAnswer::File(FileError::RangeNotSatisfiable {
            range: "bytes=9-".into(),
            size: 3,
        })
        .response();
        assert_eq!(r.status, 416);
        assert_eq!(r.headers.get(b"content-range"), Some(&b"bytes */3"[..]));
    }
}
