//! Facts about the server, for building URLs to other origins.

use crate::bindings::sandserve::handler::server as wit;

/// The main host name.
pub fn browser_host() -> String {
    wit::browser_host()
}

/// The domain of `subdomain` (`""`: the host itself) under the host `host`
/// (`""`: the main host, else an `alternate_hosts` key).
pub fn domain(host: &str, subdomain: &str) -> Option<String> {
    wit::domain(host, subdomain)
}

/// The bound ports of a scheme, in configuration order.
pub fn ports(scheme: &str) -> Vec<u16> {
    wit::ports(scheme)
}
