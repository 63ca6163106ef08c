//! Size limits on requests. Every limit is configurable; the defaults are at
//! least as generous as the reference server's.

use serde::Deserialize;

/// Size limits applied while reading a request.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Longest request line in bytes; longer → 414. Default: 65536.
    pub max_request_line: usize,
    /// Most header lines; more → 431. Default: 512.
    pub max_header_lines: usize,
    /// Largest header section in bytes; larger → 431. Default: 262144 (256 KiB).
    pub max_header_bytes: usize,
    /// Largest request body in bytes; larger → 413. Default: 67108864 (64 MiB).
    pub max_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 64 * 1024,
            max_header_lines: 512,
            max_header_bytes: 256 * 1024,
            max_body_bytes: 64 * 1024 * 1024,
        }
    }
}
