//! The `Date` header value (IMF-fixdate), formatted at most once a second.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

struct Cached {
    second: u64,
    text: [u8; 29],
}

static CACHE: Mutex<Cached> = Mutex::new(Cached {
    second: 0,
    text: [0; 29],
});

/// The current time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), 29 bytes.
pub fn now() -> [u8; 29] {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if cache.second != second || cache.text[0] == 0 {
        let formatted = httpdate::fmt_http_date(now);
        let bytes = formatted.as_bytes();
        if bytes.len() == 29 {
            cache.text.copy_from_slice(bytes);
            cache.second = second;
        }
    }
    cache.text
}

#[cfg(test)]
mod tests {
    #[test]
    fn looks_like_an_imf_fixdate() {
        let text = super::now();
        let text = std::str::from_utf8(&text).unwrap();
        assert!(text.ends_with(" GMT"), "{text}");
        assert!(httpdate::parse_http_date(text).is_ok(), "{text}");
    }
}
