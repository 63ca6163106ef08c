//! `NAME.headers` and `__dir__.headers`: extra response headers kept beside
//! the files they apply to.
//!
//! One `Name: value` per line, split at the first colon, both sides trimmed;
//! blank lines are skipped and CRLF line endings are fine. A non-blank line
//! without a colon is an error that names the file and the line.

use std::io;
use std::path::{Path, PathBuf};

use crate::http::Headers;

/// A `.headers` file that could not be used.
#[derive(Debug)]
pub struct HeadersFileError {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line, when the problem is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for HeadersFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.path.display(), self.reason),
            None => write!(f, "{}: {}", self.path.display(), self.reason),
        }
    }
}

/// Parses the text of a `.headers` file.
pub fn parse(path: &Path, text: &[u8]) -> Result<Headers, HeadersFileError> {
    let mut headers = Headers::new();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(HeadersFileError {
                path: path.to_path_buf(),
                line: Some(i + 1),
                reason: "line has no colon".into(),
            });
        };
        let name = trim(&line[..colon]);
        let value = trim(&line[colon + 1..]);
        if name.is_empty() || name.iter().any(|&b| b <= b' ' || b == 0x7f) {
            return Err(HeadersFileError {
                path: path.to_path_buf(),
                line: Some(i + 1),
                reason: "invalid header name".into(),
            });
        }
        headers.push(name, value);
    }
    Ok(headers)
}

/// Reads and parses a `.headers` file; `Ok(None)` when there is none.
pub fn read(path: &Path) -> Result<Option<Headers>, HeadersFileError> {
    read_text(path)?.map(|text| parse(path, &text)).transpose()
}

/// The bytes of a headers file; `Ok(None)` when there is none.
pub fn read_text(path: &Path) -> Result<Option<Vec<u8>>, HeadersFileError> {
    match std::fs::read(path) {
        Ok(text) => Ok(Some(text)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(HeadersFileError {
            path: path.to_path_buf(),
            line: None,
            reason: e.to_string(),
        }),
    }
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
        let h = parse(Path::new("x"), b"A: 1\r\n\r\n  B :  two: parts \nA: 3\n").unwrap();
        let all: Vec<_> = h.iter().collect();
        assert_eq!(
            all,
            [(&b"A"[..], &b"1"[..]), (b"B", b"two: parts"), (b"A", b"3")]
        );
        let err = parse(Path::new("f.headers"), b"A: 1\nno colon\n").unwrap_err();
        assert_eq!(err.to_string(), "f.headers:2: line has no colon");
    }
}
