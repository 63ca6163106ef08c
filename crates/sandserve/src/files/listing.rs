//! HTML listings of directories.

use std::fs::File;
use std::io;

use rustix::fs::{Dir, FileType};

use crate::text::{html_escape, link_segment};

/// An HTML page listing the open directory `dir`, for the URL path
/// `url_path` (which ends in `/`). A symlink is listed as a file (its target
/// is not looked at).
pub fn render(dir: File, url_path: &str) -> io::Result<String> {
    let mut entries: Vec<(String, bool)> = Vec::new();
    for entry in Dir::new(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "." || name == ".." {
            continue;
        }
        entries.push((name, entry.file_type() == FileType::Directory));
    }
    entries.sort();
    let title = html_escape(&percent_encoding::percent_decode_str(url_path).decode_utf8_lossy());
    let mut html = format!(
        "<!doctype html>\n<meta charset=utf-8>\n<title>Index of {title}</title>\n<h1>Index of {title}</h1>\n<ul>\n"
    );
    if url_path != "/" {
        html.push_str("<li><a href=\"..\">..</a></li>\n");
    }
    for (name, is_dir) in entries {
        let slash = if is_dir { "/" } else { "" };
        html.push_str(&format!(
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>\n",
            link_segment(&name),
            html_escape(&name)
        ));
    }
    html.push_str("</ul>\n");
    Ok(html)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_encoded_in_links_and_escaped_in_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("odd name&.txt"), "").unwrap();
        std::fs::write(dir.path().join("<b>.txt"), "").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let html = super::render(std::fs::File::open(dir.path()).unwrap(), "/x%20y/").unwrap();
        assert!(html.contains("<title>Index of /x y/</title>"), "{html}");
        assert!(
            html.contains("<a href=\"odd%20name%26.txt\">odd name&amp;.txt</a>"),
            "{html}"
        );
        assert!(
            html.contains("<a href=\"%3Cb%3E.txt\">&lt;b&gt;.txt</a>"),
            "{html}"
        );
        assert!(html.contains("<a href=\"sub/\">sub/</a>"), "{html}");
        assert!(html.contains("<a href=\"..\">..</a>"), "{html}");
    }
}
