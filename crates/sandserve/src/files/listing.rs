//! HTML listings of directories.

use std::io;
use std::path::Path;

/// An HTML page listing `dir`, for the URL path `url_path` (which ends in `/`).
pub fn render(dir: &Path, url_path: &str) -> io::Result<String> {
    let mut entries: Vec<(String, bool)> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| {
            let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false) || e.path().is_dir();
            (e.file_name().to_string_lossy().into_owned(), is_dir)
        })
        .collect();
    entries.sort();
    let title = escape(&percent_encoding::percent_decode_str(url_path).decode_utf8_lossy());
    let mut html = format!(
        "<!doctype html>\n<meta charset=utf-8>\n<title>Index of {title}</title>\n<h1>Index of {title}</h1>\n<ul>\n"
    );
    if url_path != "/" {
        html.push_str("<li><a href=\"..\">..</a></li>\n");
    }
    for (name, is_dir) in entries {
        let slash = if is_dir { "/" } else { "" };
        let href: String = percent_encoding::utf8_percent_encode(&name, HREF).to_string();
        html.push_str(&format!(
            "<li><a href=\"{href}{slash}\">{}{slash}</a></li>\n",
            escape(&name)
        ));
    }
    html.push_str("</ul>\n");
    Ok(html)
}

/// Characters percent-encoded in a link to an entry.
const HREF: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Escapes text for HTML: `& < > " '`.
pub fn escape(text: &str) -> String {
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
