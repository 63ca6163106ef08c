//! `--inject-script FILE`: a script put into every HTML page served, before
//! anything of the page runs.
//!
//! The page gets `<script src="/__sandserve__/inject.js"></script>` (the
//! server answers that path with the file, read at each request): after
//! the doctype when the page starts with one (so that it stays in standards
//! mode), else at its very start. A script element by URL rather than
//! inline, so that a page's Content-Security-Policy allowing `'self'`
//! allows it.

/// The path the injected script is served at.
pub const SCRIPT_PATH: &str = "/__sandserve__/inject.js";

/// `html` with the script element inserted.
pub fn into_html(html: &[u8]) -> Vec<u8> {
    let element = format!("<script src=\"{SCRIPT_PATH}\"></script>");
    let at = after_doctype(html).unwrap_or(0);
    let mut out = Vec::with_capacity(html.len() + element.len() + 1);
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(element.as_bytes());
    if at > 0 {
        out.push(b'\n');
    }
    out.extend_from_slice(&html[at..]);
    out
}

/// Where the doctype that starts `html` (after a BOM and white space) ends.
fn after_doctype(html: &[u8]) -> Option<usize> {
    let mut i = if html.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    while i < html.len() && html[i].is_ascii_whitespace() {
        i += 1;
    }
    let rest = &html[i..];
    if rest.len() < 9 || !rest[..9].eq_ignore_ascii_case(b"<!doctype") {
        return None;
    }
    let end = memchr::memchr(b'>', rest)?;
    let mut at = i + end + 1;
    if html.get(at) == Some(&b'\n') {
        at += 1;
    }
    Some(at)
}

/// Whether a response of this content type is an HTML page.
pub fn is_html(content_type: &[u8]) -> bool {
    let essence = content_type
        .split(|&b| b == b';')
        .next()
        .unwrap_or_default();
    essence.trim_ascii().eq_ignore_ascii_case(b"text/html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_the_doctype_or_at_the_start() {
        let s = |b: Vec<u8>| String::from_utf8(b).unwrap();
        assert_eq!(
            s(into_html(b"<!DOCTYPE html>\n<title>t</title>")),
            "<!DOCTYPE html>\n<script src=\"/__sandserve__/inject.js\"></script>\n<title>t</title>"
        );
        assert_eq!(
            s(into_html(b"<p>hi")),
            "<script src=\"/__sandserve__/inject.js\"></script><p>hi"
        );
        assert!(s(into_html(b"\xEF\xBB\xBF <!doctype html><p>"))
            .starts_with("\u{feff} <!doctype html><script"));
        assert!(is_html(b"text/html; charset=utf-8"));
        assert!(is_html(b"TEXT/HTML"));
        assert!(!is_html(b"text/htmlx"));
        assert!(!is_html(b"application/xhtml+xml"));
    }
}
