//! Reason phrases for status codes.
//!
//! Two tables: the reference server's own (used when a handler or a pipe sets a
//! status without a reason: codes it does not list get an *empty* reason, which
//! tests can observe as `HTTP/1.1 299 `), and a wider one that the server uses
//! for the errors it generates itself (431, 429, …) so that its own answers
//! are self-explanatory.

/// The reason phrase the reference server gives `code`, or `""` when it lists none.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Request Entity Too Large",
        414 => "Request-URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Requested Range Not Satisfiable",
        417 => "Expectation Failed",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// The reason phrase for a status the server produces on its own behalf.
pub fn server_reason(code: u16) -> &'static str {
    match code {
        308 => "Permanent Redirect",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        _ => reason_phrase(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_table_leaves_unlisted_codes_empty() {
        assert_eq!(reason_phrase(200), "OK");
        assert_eq!(reason_phrase(418), "");
        assert_eq!(reason_phrase(299), "");
        assert_eq!(server_reason(431), "Request Header Fields Too Large");
        assert_eq!(server_reason(404), "Not Found");
    }
}
