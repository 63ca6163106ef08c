//! The request a handler sees.

use std::net::SocketAddr;

use base64::Engine;
use bytes::Bytes;

use super::headers::Headers;
use super::parse::{Head, Version};
use super::query::MultiMap;

/// The scheme a request arrived over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// Plain TCP.
    Http,
    /// TLS.
    Https,
    /// WebSockets over plain TCP.
    Ws,
    /// WebSockets over TLS.
    Wss,
    /// HTTP/2 over TLS (the `h2` ports).
    H2,
}

impl Scheme {
    /// `"http"`, `"https"`, `"ws"` or `"wss"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
            Scheme::H2 => "https",
        }
    }

    /// Whether the listener serves WebSockets.
    pub fn is_websocket(self) -> bool {
        matches!(self, Scheme::Ws | Scheme::Wss)
    }
}

/// Where a request came from and arrived at.
#[derive(Clone, Copy, Debug)]
pub struct Peer {
    /// The client's address.
    pub client: SocketAddr,
    /// The local address of the listener that accepted it.
    pub server: SocketAddr,
    /// The scheme of that listener.
    pub scheme: Scheme,
}

/// A request: its head exactly as received, its body, and where it came from.
#[derive(Clone, Debug)]
pub struct Request {
    /// The method, case kept.
    pub method: String,
    /// The protocol version.
    pub version: Version,
    /// The request line as sent, without its line ending.
    pub request_line: Vec<u8>,
    /// The request target as sent.
    pub target: String,
    /// The path part of the target, still percent-encoded.
    pub path: String,
    /// The query part of the target without the `?`, if there was a `?`.
    pub query: Option<String>,
    /// The authority of an absolute-form target (`GET http://host:port/path`).
    pub authority: Option<String>,
    /// Header fields in arrival order, every repeated value kept.
    pub headers: Headers,
    /// The body, de-chunked.
    pub body: Bytes,
    /// Client and server addresses and the scheme.
    pub peer: Peer,
    /// The room the body holds in the server's budget for bodies, given
    /// back when the last holder of the request lets go of it.
    pub room: Option<std::sync::Arc<tokio::sync::OwnedSemaphorePermit>>,
}

impl Request {
    /// Builds a request from its parsed head.
    pub fn new(head: Head, body: Bytes, peer: Peer) -> Self {
        let (authority, rest) = split_absolute_form(&head.target);
        let (path, query) = match rest.find('?') {
            Some(i) => (&rest[..i], Some(rest[i + 1..].to_string())),
            None => (rest, None),
        };
        // A fragment is never sent by clients, but drop it if one is.
        let path = path.split('#').next().unwrap_or_default();
        let path = if path.is_empty() { "/" } else { path };
        Request {
            path: path.to_string(),
            query,
            authority,
            method: head.method,
            version: head.version,
            request_line: head.request_line,
            target: head.target,
            headers: head.headers,
            body,
            peer,
            room: None,
        }
    }

    /// The query parameters (blank values kept, `+` as space, percent-decoded).
    pub fn query_params(&self) -> MultiMap {
        MultiMap::parse_urlencoded(self.query.as_deref().unwrap_or_default().as_bytes())
    }

    /// The host and port the client addressed: the authority of an absolute-form
    /// target, else the `Host` header, else the server's own address.
    pub fn host(&self) -> String {
        if let Some(authority) = &self.authority {
            return authority.clone();
        }
        match self.headers.get_str(b"host") {
            Some(host) if !host.trim().is_empty() => host.trim().to_string(),
            _ => self.peer.server.to_string(),
        }
    }

    /// The absolute URL of the request.
    pub fn url(&self) -> String {
        let mut url = format!(
            "{}://{}{}",
            self.peer.scheme.as_str(),
            self.host(),
            self.path
        );
        if let Some(q) = &self.query {
            url.push('?');
            url.push_str(q);
        }
        url
    }

    /// Cookies from every `Cookie` header, in order; a name may repeat.
    pub fn cookies(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.headers
            .get_all(b"cookie")
            .flat_map(|h| h.split(|&b| b == b';'))
            .filter_map(|pair| {
                let pair = super::parse::trim(pair);
                if pair.is_empty() {
                    return None;
                }
                Some(match pair.iter().position(|&b| b == b'=') {
                    Some(i) => (
                        super::parse::trim(&pair[..i]).to_vec(),
                        unquote(super::parse::trim(&pair[i + 1..])).to_vec(),
                    ),
                    None => (Vec::new(), pair.to_vec()),
                })
            })
            .collect()
    }

    /// Username and password of `Authorization: Basic`, split at the first colon.
    pub fn basic_auth(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let value = self.headers.get(b"authorization")?;
        let value = super::parse::trim(value);
        let (scheme, rest) = value.split_at(value.iter().position(|&b| b == b' ')?);
        if !scheme.eq_ignore_ascii_case(b"basic") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(super::parse::trim(rest))
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        Some((decoded[..colon].to_vec(), decoded[colon + 1..].to_vec()))
    }

    /// Whether the client asked to keep the connection open after this request.
    pub fn wants_keep_alive(&self) -> bool {
        let has = |token: &[u8]| {
            self.headers
                .get_all(b"connection")
                .flat_map(|v| v.split(|&b| b == b','))
                .any(|t| super::parse::trim(t).eq_ignore_ascii_case(token))
        };
        match self.version {
            Version::Http11 => !has(b"close"),
            Version::Http10 => has(b"keep-alive"),
            Version::Http09 => false,
            // Streams, not connections.
            Version::Http2 => true,
        }
    }
}

fn unquote(v: &[u8]) -> &[u8] {
    if v.len() >= 2 && v[0] == b'"' && v[v.len() - 1] == b'"' {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// Splits `http://host:port/path?q` into the authority and `/path?q`; an
/// origin-form target is returned as it is.
fn split_absolute_form(target: &str) -> (Option<String>, &str) {
    let lower = target.get(..8).unwrap_or(target).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &target[7..]
    } else if lower.starts_with("https://") {
        &target[8..]
    } else {
        return (None, target);
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let path = &rest[end..];
    (
        Some(rest[..end].to_string()),
        if path.is_empty() { "/" } else { path },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(target: &str, headers: &[(&str, &str)]) -> Request {
        crate::http::testing::request("GET", target, headers)
    }

    #[test]
    fn url_follows_host_and_absolute_form() {
        let r = request("/a/b?x=1", &[("Host", "example.test:81")]);
        assert_eq!(r.url(), "http://example.test:81/a/b?x=1");
        assert_eq!(r.path, "/a/b");
        let r = request("http://other.test:9/p?q", &[("Host", "ignored")]);
        assert_eq!(r.url(), "http://other.test:9/p?q");
        assert_eq!(r.path, "/p");
        let r = request("HTTP://h?q", &[]);
        assert_eq!(r.path, "/");
        assert_eq!(r.query.as_deref(), Some("q"));
        let r = request("/", &[]);
        assert_eq!(r.url(), "http://127.0.0.1:8000/");
    }

    #[test]
    fn cookies_and_basic_auth() {
        let r = request(
            "/",
            &[
                ("Cookie", "a=1; b=\"two\""),
                ("cookie", "a=3;;"),
                ("Authorization", "Basic dXNlcjpwYTpzcw=="),
            ],
        );
        let cookies = r.cookies();
        assert_eq!(cookies.len(), 3);
        assert_eq!(cookies[1], (b"b".to_vec(), b"two".to_vec()));
        assert_eq!(cookies[2].1, b"3");
        assert_eq!(r.basic_auth(), Some((b"user".to_vec(), b"pa:ss".to_vec())));
    }

    #[test]
    fn keep_alive_rules() {
        assert!(request("/", &[]).wants_keep_alive());
        assert!(!request("/", &[("Connection", "Close")]).wants_keep_alive());
        let mut r = request("/", &[("Connection", "keep-alive")]);
        r.version = Version::Http10;
        assert!(r.wants_keep_alive());
        r.headers = Headers::new();
        assert!(!r.wants_keep_alive());
    }
}
