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
    /// Slowest a request body may arrive, in bytes a second, once it has had
    /// `timeouts.header_read_secs` to start; slower → 408. Default: 1024.
    pub min_body_rate: u64,
    /// Request bodies held in memory by all connections together, in MiB; an
    /// upload that would pass it waits for room (up to
    /// `timeouts.header_read_secs`), then gets 503. Default: 512.
    pub max_buffered_body_mib: u64,
    /// Connections open at once; more are answered 503 at once and closed.
    /// Default: the open-file limit (raised to its hard limit at start)
    /// less 256.
    pub max_connections: Option<usize>,
    /// Fields of a form a handler asks the server to parse (each costs the
    /// server memory beyond its bytes); more is an error for the handler.
    /// Default: 10000.
    pub max_form_fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 64 * 1024,
            max_header_lines: 512,
            max_header_bytes: 256 * 1024,
            max_body_bytes: 64 * 1024 * 1024,
            min_body_rate: 1024,
            max_buffered_body_mib: 512,
            max_form_fields: 10_000,
            max_connections: None,
        }
    }
}
