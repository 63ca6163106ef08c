//! Parsing a request head (request line and header section) from bytes.
//!
//! httparse does the grammar; this module adds what a server needs around it:
//! limits that answer with the right status, the difference between a garbage
//! line (400) and an HTTP version we do not speak (505), HTTP/0.9 simple
//! requests, and the body framing rules of RFC 9112 §6.3.

use super::headers::Headers;
use super::limits::Limits;

/// The protocol version of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `GET /path` with no version: served, then the connection closes.
    Http09,
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    Http11,
    /// HTTP/2 (a request from a stream, not a request line).
    Http2,
}

impl Version {
    /// The version as it appears on a request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http09 => "HTTP/0.9",
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
            Version::Http2 => "HTTP/2",
        }
    }
}

/// A parsed request head.
#[derive(Clone, Debug)]
pub struct Head {
    /// The method, case kept.
    pub method: String,
    /// The request target exactly as sent.
    pub target: String,
    /// The protocol version.
    pub version: Version,
    /// The request line without its line ending.
    pub request_line: Vec<u8>,
    /// The header fields in arrival order.
    pub headers: Headers,
}

/// How the body of a request is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// Why a request head was refused (the table of error answers in
/// `crate::reply` gives each its status).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadError {
    /// The request line is longer than the limit (414).
    RequestLineTooLong {
        /// The limit in force.
        limit: usize,
    },
    /// Too many header lines (431).
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// The header section is larger than the limit (431).
    HeadersTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// The request could not be parsed (400).
    Malformed(String),
    /// A well-formed HTTP version that is not 1.0 or 1.1 (505).
    UnsupportedVersion(String),
}

impl std::fmt::Display for HeadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeadError::RequestLineTooLong { limit } => {
                write!(f, "request line longer than {limit} bytes")
            }
            HeadError::TooManyHeaders { limit } => write!(f, "more than {limit} header lines"),
            HeadError::HeadersTooLarge { limit } => {
                write!(f, "header section larger than {limit} bytes")
            }
            HeadError::Malformed(why) => write!(f, "malformed request: {why}"),
            HeadError::UnsupportedVersion(v) => write!(f, "HTTP version not supported: {v}"),
        }
    }
}

impl std::error::Error for HeadError {}

/// Empty lines allowed before a request line (RFC 9112 §2.2 asks a server to
/// ignore at least one).
pub const MAX_EMPTY_LINES: usize = 4;

fn too_many_empty_lines() -> HeadError {
    HeadError::Malformed(format!(
        "more than {MAX_EMPTY_LINES} empty lines before the request line"
    ))
}

/// Finds where a request head ends as its bytes arrive, looking at each byte
/// once — a head sent in small pieces costs no more than one sent whole —
/// and refusing it as soon as it passes a limit.
#[derive(Debug, Default)]
pub struct HeadScanner {
    /// Bytes looked at so far.
    pos: usize,
    /// Where the line being read starts.
    line_start: usize,
    /// Whether the request line has started (after any empty lines).
    started: bool,
    /// Where the request line ends, once it has.
    first_end: Option<usize>,
    lines: usize,
    empty: usize,
}

impl HeadScanner {
    /// Looks at the bytes of `buf` it has not seen (`buf` only grows between
    /// calls). `Ok(Some(n))`: the head is the first `n` bytes, for
    /// [`parse_head`].
    pub fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, HeadError> {
        if !self.started {
            while let Some(&b) = buf.get(self.pos) {
                match b {
                    b'\n' => {
                        self.empty += 1;
                        if self.empty > MAX_EMPTY_LINES {
                            return Err(too_many_empty_lines());
                        }
                    }
                    b'\r' => {}
                    _ => break,
                }
                self.pos += 1;
            }
            if self.pos == buf.len() {
                return Ok(None);
            }
            self.started = true;
            self.line_start = self.pos;
        }
        while let Some(i) = memchr::memchr(b'\n', &buf[self.pos..]) {
            let end = self.pos + i;
            let line = trim_cr(&buf[self.line_start..end]);
            match self.first_end {
                None => {
                    if end - self.line_start > limits.max_request_line {
                        return Err(HeadError::RequestLineTooLong {
                            limit: limits.max_request_line,
                        });
                    }
                    self.first_end = Some(end);
                    if check_request_line(line)? == Version::Http09 {
                        return Ok(Some(end + 1));
                    }
                }
                Some(_) if line.is_empty() => return Ok(Some(end + 1)),
                Some(first) => {
                    self.lines += 1;
                    if self.lines > limits.max_header_lines {
                        return Err(HeadError::TooManyHeaders {
                            limit: limits.max_header_lines,
                        });
                    }
                    if end - first > limits.max_header_bytes {
                        return Err(HeadError::HeadersTooLarge {
                            limit: limits.max_header_bytes,
                        });
                    }
                }
            }
            self.pos = end + 1;
            self.line_start = self.pos;
        }
        self.pos = buf.len();
        match self.first_end {
            None if buf.len() - self.line_start > limits.max_request_line => {
                Err(HeadError::RequestLineTooLong {
                    limit: limits.max_request_line,
                })
            }
            Some(first) if buf.len() - first > limits.max_header_bytes => {
                Err(HeadError::HeadersTooLarge {
                    limit: limits.max_header_bytes,
                })
            }
            _ => Ok(None),
        }
    }
}

/// Tries to parse one request head from the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, or the head and the number of
/// bytes it used (including any empty lines before it, of which at most
/// [`MAX_EMPTY_LINES`] are allowed).
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<(Head, usize)>, HeadError> {
    // RFC 9112 §2.2: ignore empty lines before the request line.
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    if buf[..start].iter().filter(|&&b| b == b'\n').count() > MAX_EMPTY_LINES {
        return Err(too_many_empty_lines());
    }
    let rest = &buf[start..];
    let Some(line_end) = rest.iter().position(|&b| b == b'\n') else {
        if rest.len() > limits.max_request_line {
            return Err(HeadError::RequestLineTooLong {
                limit: limits.max_request_line,
            });
        }
        return Ok(None);
    };
    if line_end > limits.max_request_line {
        return Err(HeadError::RequestLineTooLong {
            limit: limits.max_request_line,
        });
    }
    let line = trim_cr(&rest[..line_end]);
    let version = check_request_line(line)?;
    if version == Version::Http09 {
        let (method, target) = split_simple_line(line);
        let head = Head {
            method,
            target,
            version,
            request_line: line.to_vec(),
            headers: Headers::new(),
        };
        return Ok(Some((head, start + line_end + 1)));
    }

    let Some((head_len, lines)) = find_head_end(rest, line_end + 1) else {
        if rest.len() - line_end > limits.max_header_bytes {
            return Err(HeadError::HeadersTooLarge {
                limit: limits.max_header_bytes,
            });
        }
        let lines = rest[line_end + 1..].iter().filter(|&&b| b == b'\n').count();
        if lines > limits.max_header_lines {
            return Err(HeadError::TooManyHeaders {
                limit: limits.max_header_lines,
            });
        }
        return Ok(None);
    };
    if head_len - line_end > limits.max_header_bytes {
        return Err(HeadError::HeadersTooLarge {
            limit: limits.max_header_bytes,
        });
    }
    if lines > limits.max_header_lines {
        return Err(HeadError::TooManyHeaders {
            limit: limits.max_header_lines,
        });
    }

    // Browsers send header values holding control characters (other than
    // NUL, CR and LF), and tests check that they arrive: httparse refuses
    // them, so it parses a copy with each one replaced by a token
    // character, and values are taken from the original at the same place.
    // A replaced byte anywhere but in a value is still an error.
    let original = &rest[..head_len];
    let cleaned: Vec<u8>;
    let parsed_bytes = if original.iter().any(|&b| is_value_control(b)) {
        cleaned = original
            .iter()
            .map(|&b| if is_value_control(b) { b'!' } else { b })
            .collect();
        &cleaned[..]
    } else {
        original
    };
    let same_place = |s: &[u8]| {
        let at = s.as_ptr() as usize - parsed_bytes.as_ptr() as usize;
        &original[at..at + s.len()]
    };
    let mut slots = vec![httparse::EMPTY_HEADER; lines + 1];
    let mut req = httparse::Request::new(&mut slots);
    let mut config = httparse::ParserConfig::default();
    config.allow_multiple_spaces_in_request_line_delimiters(true);
    let parsed = config
        .parse_request(&mut req, parsed_bytes)
        .map_err(|e| HeadError::Malformed(describe(e).to_string()))?;
    if parsed.is_partial() {
        return Err(HeadError::Malformed("incomplete header section".into()));
    }
    let mut headers = Headers::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        if same_place(h.name.as_bytes()) != h.name.as_bytes() {
            return Err(HeadError::Malformed(
                describe(httparse::Error::HeaderName).to_string(),
            ));
        }
        headers.push(h.name.as_bytes(), same_place(h.value));
    }
    let method = req.method.unwrap_or_default();
    let target = req.path.unwrap_or_default();
    if same_place(method.as_bytes()) != method.as_bytes()
        || same_place(target.as_bytes()) != target.as_bytes()
    {
        return Err(HeadError::Malformed(
            describe(httparse::Error::Token).to_string(),
        ));
    }
    let head = Head {
        method: method.to_string(),
        target: target.to_string(),
        version,
        request_line: line.to_vec(),
        headers,
    };
    Ok(Some((head, start + head_len)))
}

/// Works out how the body of `head` is delimited (RFC 9112 §6.3).
pub fn body_framing(head: &Head) -> Result<Framing, HeadError> {
    let mut lengths = head.headers.get_all(b"content-length");
    let length = lengths.next();
    if lengths.next().is_some() {
        return Err(HeadError::Malformed("more than one Content-Length".into()));
    }
    let mut encodings = head.headers.get_all(b"transfer-encoding").peekable();
    if encodings.peek().is_some() {
        if length.is_some() {
            return Err(HeadError::Malformed(
                "both Content-Length and Transfer-Encoding".into(),
            ));
        }
        if head.version != Version::Http11 {
            return Err(HeadError::Malformed(
                "Transfer-Encoding in an HTTP/1.0 request".into(),
            ));
        }
        let codings: Vec<&[u8]> = encodings
            .flat_map(|v| v.split(|&b| b == b','))
            .map(trim)
            .filter(|c| !c.is_empty())
            .collect();
        let chunked_last = codings
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        let chunked_count = codings
            .iter()
            .filter(|c| c.eq_ignore_ascii_case(b"chunked"))
            .count();
        if !chunked_last || chunked_count != 1 {
            return Err(HeadError::Malformed(
                "Transfer-Encoding must end with a single chunked".into(),
            ));
        }
        return Ok(Framing::Chunked);
    }
    match length {
        None => Ok(Framing::None),
        Some(value) => {
            let value = trim(value);
            if value.is_empty() || value.len() > 18 || !value.iter().all(u8::is_ascii_digit) {
                return Err(HeadError::Malformed(format!(
                    "invalid Content-Length {:?}",
                    String::from_utf8_lossy(value)
                )));
            }
            let n = value
                .iter()
                .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
            Ok(if n == 0 {
                Framing::None
            } else {
                Framing::Length(n)
            })
        }
    }
}

/// Classifies the request line before httparse sees it: returns the version,
/// or the error whose status tells a garbage line from an unknown version.
fn check_request_line(line: &[u8]) -> Result<Version, HeadError> {
    let words: Vec<&[u8]> = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        [method, target] if *method == b"GET" && target.starts_with(b"/") => Ok(Version::Http09),
        [_, _, version] => match *version {
            b"HTTP/1.1" => Ok(Version::Http11),
            b"HTTP/1.0" => Ok(Version::Http10),
            v if is_http_version(v) => Err(HeadError::UnsupportedVersion(
                String::from_utf8_lossy(v).into_owned(),
            )),
            v => Err(HeadError::Malformed(format!(
                "bad HTTP version {:?}",
                String::from_utf8_lossy(v)
            ))),
        },
        [] => Err(HeadError::Malformed("empty request line".into())),
        _ => Err(HeadError::Malformed(format!(
            "bad request line {:?}",
            String::from_utf8_lossy(line)
        ))),
    }
}

/// `HTTP/` followed by digits, a dot and digits.
fn is_http_version(v: &[u8]) -> bool {
    let Some(rest) = v.strip_prefix(b"HTTP/") else {
        return false;
    };
    let mut parts = rest.splitn(2, |&b| b == b'.');
    let major = parts.next().unwrap_or_default();
    let minor = parts.next().unwrap_or_default();
    !major.is_empty()
        && !minor.is_empty()
        && major.iter().all(u8::is_ascii_digit)
        && minor.iter().all(u8::is_ascii_digit)
}

fn split_simple_line(line: &[u8]) -> (String, String) {
    let mut words = line
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|w| !w.is_empty());
    let method = String::from_utf8_lossy(words.next().unwrap_or_default()).into_owned();
    let target = String::from_utf8_lossy(words.next().unwrap_or_default()).into_owned();
    (method, target)
}

/// Finds the blank line that ends the head, searching from `from` (the start of
/// the first header line). Returns the head length and the number of header lines.
fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut lines = 0;
    let mut pos = from;
    loop {
        let rel = buf[pos..].iter().position(|&b| b == b'\n')?;
        let line = trim_cr(&buf[pos..pos + rel]);
        if line.is_empty() {
            return Some((pos + rel + 1, lines));
        }
        lines += 1;
        pos += rel + 1;
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// The first position of `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// Trims spaces and tabs at both ends.
pub fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &v[start..end]
}

/// A control character a header value may hold: not NUL, CR, LF or HTAB.
fn is_value_control(b: u8) -> bool {
    matches!(b, 0x01..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f | 0x7f)
}

fn describe(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status",
        httparse::Error::Token => "invalid method or request target",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid HTTP version",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Option<(Head, usize)>, HeadError> {
        parse_head(bytes, &Limits::default())
    }

    /// The kind of refusal, by the status the answer table gives it.
    fn status(e: &HeadError) -> u16 {
        match e {
            HeadError::RequestLineTooLong { .. } => 414,
            HeadError::TooManyHeaders { .. } | HeadError::HeadersTooLarge { .. } => 431,
            HeadError::Malformed(_) => 400,
            HeadError::UnsupportedVersion(_) => 505,
        }
    }

    #[test]
    fn parses_a_simple_request_and_keeps_case_and_order() {
        let raw = b"GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-One: 1\r\nx-one: 2\r\n\r\nrest";
        let (head, used) = parse(raw).unwrap().unwrap();
        assert_eq!(used, raw.len() - 4);
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/a?b=c");
        assert_eq!(head.version, Version::Http11);
        assert_eq!(head.request_line, b"GET /a?b=c HTTP/1.1");
        let all: Vec<_> = head.headers.get_all(b"X-ONE").collect();
        assert_eq!(all, [&b"1"[..], &b"2"[..]]);
        assert_eq!(head.headers.iter().nth(1).unwrap().0, b"X-One");
    }

    #[test]
    fn partial_until_the_blank_line() {
        assert!(parse(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap().is_none());
        assert!(parse(b"GET / HT").unwrap().is_none());
        assert!(parse(b"").unwrap().is_none());
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let (head, used) = parse(b"\r\n\r\nGET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!(head.version, Version::Http10);
        assert_eq!(used, 22);
    }

    #[test]
    fn errors_map_to_statuses() {
        let cases: &[(&[u8], u16)] = &[
            (b"GARBAGE\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\n\r\n", 505),
            (b"GET / HTTP/9.9\r\n\r\n", 505),
            (b"GET / FOO/1.1\r\n\r\n", 400),
            (b"GET /a b HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nName : x\r\n\r\n", 400),
        ];
        for (raw, want) in cases {
            let err = parse(raw).unwrap_err();
            assert_eq!(status(&err), *want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn limits_are_enforced() {
        let limits = Limits {
            max_request_line: 16,
            max_header_lines: 2,
            max_header_bytes: 64,
            ..Limits::default()
        };
        let long = b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n";
        assert_eq!(status(&parse_head(long, &limits).unwrap_err()), 414);
        // Too long even before the line ends.
        assert_eq!(status(&parse_head(&[b'a'; 17], &limits).unwrap_err()), 414);
        let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert_eq!(status(&parse_head(many, &limits).unwrap_err()), 431);
        let big = [b"GET / HTTP/1.1\r\nA: ".as_slice(), &[b'x'; 100]].concat();
        assert_eq!(status(&parse_head(&big, &limits).unwrap_err()), 431);
    }

    #[test]
    fn empty_lines_before_a_request_are_bounded() {
        assert!(parse(b"\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n")
            .unwrap()
            .is_some());
        assert_eq!(status(&parse(b"\r\n\r\n\r\n\r\n\r\n").unwrap_err()), 400);
        let mut scanner = HeadScanner::default();
        assert_eq!(scanner.scan(b"\r\n\n\r\n", &Limits::default()), Ok(None));
        assert!(scanner.scan(b"\r\n\n\r\n\n\n", &Limits::default()).is_err());
    }

    #[test]
    fn the_scanner_finds_the_end_a_piece_at_a_time() {
        let raw = b"\r\nGET /a HTTP/1.1\r\nHost: x\r\nX-Long: yyyyyyyyyyyy\r\n\r\nnext";
        let limits = Limits::default();
        let whole = HeadScanner::default().scan(raw, &limits).unwrap();
        assert_eq!(whole, Some(raw.len() - 4));
        for piece in [1, 2, 3, 7] {
            let mut scanner = HeadScanner::default();
            let mut found = None;
            for end in (piece..raw.len() + piece).step_by(piece) {
                let end = end.min(raw.len());
                if let Some(n) = scanner.scan(&raw[..end], &limits).unwrap() {
                    found = Some(n);
                    break;
                }
            }
            assert_eq!(found, whole, "pieces of {piece}");
        }
        let (head, used) = parse_head(&raw[..whole.unwrap()], &limits)
            .unwrap()
            .unwrap();
        assert_eq!((head.target.as_str(), used), ("/a", whole.unwrap()));
        assert_eq!(
            HeadScanner::default().scan(b"GET /x\r\n", &limits),
            Ok(Some(8))
        );
    }

    #[test]
    fn the_scanner_refuses_at_the_limits() {
        let limits = Limits {
            max_request_line: 16,
            max_header_lines: 2,
            max_header_bytes: 64,
            ..Limits::default()
        };
        let mut s = HeadScanner::default();
        assert_eq!(status(&s.scan(&[b'a'; 17], &limits).unwrap_err()), 414);
        let mut s = HeadScanner::default();
        let many = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n";
        assert_eq!(status(&s.scan(many, &limits).unwrap_err()), 431);
        let mut s = HeadScanner::default();
        let big = [b"GET / HTTP/1.1\r\nA: ".as_slice(), &[b'x'; 100]].concat();
        assert_eq!(status(&s.scan(&big, &limits).unwrap_err()), 431);
        let mut s = HeadScanner::default();
        assert_eq!(
            status(&s.scan(b"GET / HTTP/2.0\r\n", &limits).unwrap_err()),
            505
        );
    }

    #[test]
    fn http09_simple_request() {
        let (head, used) = parse(b"GET /x\r\n").unwrap().unwrap();
        assert_eq!(head.version, Version::Http09);
        assert_eq!(head.target, "/x");
        assert_eq!(used, 8);
    }

    fn framing(headers: &[(&str, &str)], version: Version) -> Result<Framing, HeadError> {
        let mut h = Headers::new();
        for (n, v) in headers {
            h.push(*n, *v);
        }
        body_framing(&Head {
            method: "POST".into(),
            target: "/".into(),
            version,
            request_line: vec![],
            headers: h,
        })
    }

    #[test]
    fn body_framing_follows_rfc9112() {
        use Version::*;
        assert_eq!(framing(&[], Http11), Ok(Framing::None));
        assert_eq!(
            framing(&[("Content-Length", " 12 ")], Http11),
            Ok(Framing::Length(12))
        );
        assert_eq!(
            framing(&[("Content-Length", "0")], Http11),
            Ok(Framing::None)
        );
        assert_eq!(
            framing(&[("Transfer-Encoding", "chunked")], Http11),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing(&[("Transfer-Encoding", "gzip, Chunked")], Http11),
            Ok(Framing::Chunked)
        );
        for bad in [
            vec![("Content-Length", "1"), ("Content-Length", "1")],
            vec![("Content-Length", "-1")],
            vec![("Content-Length", "1,1")],
            vec![("Content-Length", "0x10")],
            vec![("Content-Length", "99999999999999999999")],
            vec![("Content-Length", "")],
            vec![("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
            vec![("Transfer-Encoding", "gzip")],
            vec![("Transfer-Encoding", "chunked, chunked")],
        ] {
            assert_eq!(status(&framing(&bad, Http11).unwrap_err()), 400, "{bad:?}");
        }
        assert_eq!(
            status(&framing(&[("Transfer-Encoding", "chunked")], Http10).unwrap_err()),
            400
        );
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet =
            b"GET /HTTP1.0\r\n:; \t-,chunkedContent-LengthTransfer-Encoding0123456789\x00\x7f\xff";
        let limits = Limits {
            max_request_line: 64,
            max_header_lines: 8,
            max_header_bytes: 256,
            ..Limits::default()
        };
        for _ in 0..20_000 {
            let len = rng.usize(0..300);
            let mut bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.usize(..alphabet.len())])
                .collect();
            if rng.bool() {
                bytes.splice(0..0, b"POST / HTTP/1.1\r\n".iter().copied());
            }
            if let Ok(Some((head, used))) = parse_head(&bytes, &limits) {
                assert!(used <= bytes.len());
                if let Ok(Framing::Chunked) = body_framing(&head) {
                    let mut d = crate::http::chunked::ChunkedDecoder::new(1 << 16);
                    let _ = d.decode(&bytes[used..], &mut Vec::new());
                }
            }
        }
    }
}
