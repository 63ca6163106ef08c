//! Small text helpers used in several places: HTML escaping (substitution,
//! listings) and percent-encoding a file name for a link.

/// Escapes text for HTML: `& < > " '` become character references.
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// Text from a client or a guest, made safe for one line of the log: control
/// characters (CR, LF, ESC and the rest) and backslashes are written as
/// escapes, so nothing it holds can start a log line or drive a terminal.
pub(crate) fn log_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || c == '\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Everything but RFC 3986's unreserved characters is percent-encoded in a
/// link to a file name (as Python's `urllib.parse.quote` does, which the
/// reference's listings use): `odd name&.txt` → `odd%20name%26.txt`.
const LINK: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A file name as one segment of a URL path.
pub(crate) fn link_segment(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, LINK).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            html_escape("<a href='x'>&\"</a>"),
            "&lt;a href=&#x27;x&#x27;&gt;&amp;&quot;&lt;/a&gt;"
        );
        assert_eq!(link_segment("odd name&.txt"), "odd%20name%26.txt");
        assert_eq!(link_segment("a-b_c~d.e"), "a-b_c~d.e");
        assert_eq!(link_segment("é?#%"), "%C3%A9%3F%23%25");
        assert_eq!(log_safe("plain text"), "plain text");
        assert_eq!(
            log_safe("a\r\nINFO forged\x1b[31m\\"),
            "a\\r\\nINFO forged\\u{1b}[31m\\\\"
        );
    }
}
