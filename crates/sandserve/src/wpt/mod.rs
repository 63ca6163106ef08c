//! The `wpt serve` layer: what a web-platform-tests checkout needs beyond a
//! plain document root — test wrappers generated from `.js` sources
//! ([`wrappers`]), the `// META:` lines that shape them ([`meta`]), and the
//! tree's own rules: paths it never serves, and paths it rewrites.

pub mod inject;
pub mod meta;
pub mod wrappers;

pub use wrappers::{Wrapper, WrapperError};

/// Paths a WPT checkout never serves (`404`): the certificates, the tools,
/// a spec directory's tools, and the results directory. Patterns in the
/// route table's syntax.
pub const FORBIDDEN: &[&str] = &["/_certs/*", "/tools/*", "/{spec}/tools/*", "/results/"];

/// Exceptions to [`FORBIDDEN`], tried before it: the test runner's pages
/// are files, and its manifest updater is a Python handler.
pub const FORBIDDEN_EXCEPT: &[(&str, &str)] = &[
    ("GET", "/tools/runner/*"),
    ("POST", "/tools/runner/update_manifest.py"),
];

/// Paths answered as another path would be (GET only): the old name of the
/// WebIDL parser.
pub const REWRITES: &[(&str, &str)] = &[(
    "/resources/WebIDLParser.js",
    "/resources/webidl2/lib/webidl2.js",
)];

/// `.well-known` paths answered by a Python handler file of that name
/// (without `.py`).
pub const WELL_KNOWN_PYTHON: &[&str] = &["/.well-known/origin-policy"];

/// Where `path` is rewritten to, for a GET.
pub fn rewrite(method: &str, path: &str) -> Option<&'static str> {
    if method != "GET" && method != "HEAD" {
        return None;
    }
    REWRITES
        .iter()
        .find(|(from, _)| *from == path)
        .map(|(_, to)| *to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_webidl_parser_is_rewritten_for_get_only() {
        assert_eq!(
            rewrite("GET", "/resources/WebIDLParser.js"),
            Some("/resources/webidl2/lib/webidl2.js")
        );
        assert_eq!(rewrite("POST", "/resources/WebIDLParser.js"), None);
        assert_eq!(rewrite("GET", "/resources/WebIDLParser.jsx"), None);
    }
}
