//! `NAME.headers` and `__dir__.headers`: extra response headers kept beside
//! the files they apply to.
//!
//! One `Name: value` per line, split at the first colon, both sides trimmed;
//! blank lines are skipped and CRLF line endings are fine. A non-blank line
//! without a colon is an error that names the file and the line.

use std::io;

use crate::http::Headers;

/// A `.headers` file that could not be used.
#[derive(Debug)]
pub struct HeadersFileError {
    /// The file, named as messages name files (its URL path).
    pub file: String,
    /// The 1-based line, when the problem is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with a headers file.
#[derive(Debug)]
pub enum Problem {
    /// A line without a colon.
    NoColon,
    /// An empty name, or one with spaces or control characters.
    BadName,
    /// The file could not be read.
    Unreadable(io::Error),
}

impl std::fmt::Display for HeadersFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        match &self.problem {
            Problem::NoColon => write!(f, ": line has no colon"),
            Problem::BadName => write!(f, ": invalid header name"),
            Problem::Unreadable(e) => write!(f, ": cannot be read ({})", e.kind()),
        }
    }
}

impl std::error::Error for HeadersFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            Problem::Unreadable(e) => Some(e),
            _ => None,
        }
    }
}

/// Parses the text of a `.headers` file; `file` names it in errors.
pub fn parse(file: &str, text: &[u8]) -> Result<Headers, HeadersFileError> {
    let mut headers = Headers::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let error = |problem| HeadersFileError {
            file: file.to_string(),
            line: Some(i + 1),
            problem,
        };
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(error(Problem::NoColon));
        };
        let name = trim(&line[..colon]);
        let value = trim(&line[colon + 1..]);
        if name.is_empty() || name.iter().any(|&b| b <= b' ' || b == 0x7f) {
            return Err(error(Problem::BadName));
        }
        headers.push(name, value);
    }
    Ok(headers)
}

/// The bytes of a headers file as `read` gives them; `Ok(None)` when there
/// is none. `file` names it, and is only asked for when there is something
/// to say.
pub fn read_text(
    read: impl FnOnce() -> io::Result<Option<Vec<u8>>>,
    file: impl FnOnce() -> String,
) -> Result<Option<Vec<u8>>, HeadersFileError> {
    read().map_err(|e| HeadersFileError {
        file: file(),
        line: None,
        problem: Problem::Unreadable(e),
    })
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    &v[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_lines() {
        let h = parse("x", b"A: 1\r\n\r\n  B :  two: parts \nA: 3\n").unwrap();
        let all: Vec<_> = h.iter().collect();
        assert_eq!(
            all,
            [(&b"A"[..], &b"1"[..]), (b"B", b"two: parts"), (b"A", b"3")]
        );
        let err = parse("/f.headers", b"A: 1\nno colon\n").unwrap_err();
        assert_eq!(err.to_string(), "/f.headers:2: line has no colon");
        let err = parse("/f.headers", b"Bad Name: 1\n").unwrap_err();
        assert_eq!(err.to_string(), "/f.headers:1: invalid header name");
    }
}
