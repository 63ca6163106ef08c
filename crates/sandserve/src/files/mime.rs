//! MIME types by file extension, exactly the reference server's table.
//! Extensions are case-sensitive; anything unlisted is `application/octet-stream`.

/// The `Content-Type` for a file name.
pub fn content_type(file_name: &str) -> &'static str {
    let ext = match file_name.rfind('.') {
        Some(i) => &file_name[i + 1..],
        None => return OCTET_STREAM,
    };
    match ext {
        "json" => "application/json",
        "wasm" => "application/wasm",
        "xht" | "xhtm" | "xhtml" => "application/xhtml+xml",
        "xml" => "application/xml",
        "xpi" => "application/x-xpinstall",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "oga" => "audio/ogg",
        "weba" => "audio/webm",
        "wav" => "audio/x-wav",
        "avif" => "image/avif",
        "bmp" => "image/bmp",
        "gif" => "image/gif",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "manifest" => "text/cache-manifest",
        "css" => "text/css",
        "event_stream" => "text/event-stream",
        "htm" | "html" => "text/html",
        "js" | "mjs" => "text/javascript",
        "txt" | "md" => "text/plain",
        "vtt" => "text/vtt",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        _ => OCTET_STREAM,
    }
}

const OCTET_STREAM: &str = "application/octet-stream";

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn table() {
        assert_eq!(content_type("a.html"), "text/html");
        assert_eq!(content_type("a.sub.js"), "text/javascript");
        assert_eq!(content_type("a.mjs"), "text/javascript");
        assert_eq!(content_type("a.TXT"), "application/octet-stream");
        assert_eq!(content_type("a.ogg"), "application/octet-stream");
        assert_eq!(content_type("noext"), "application/octet-stream");
        assert_eq!(content_type("x.event_stream"), "text/event-stream");
        assert_eq!(content_type("a.txt.headers"), "application/octet-stream");
    }
}
