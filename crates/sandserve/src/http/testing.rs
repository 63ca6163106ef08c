//! Helpers for the unit tests of this crate: requests without a socket (and
//! the client kept in memory of [`super::memory`]).

use std::net::SocketAddr;

use bytes::Bytes;

use super::parse::{Head, Version};
use super::{Headers, Peer, Request, Scheme};

/// A request for `target` with these headers, from 127.0.0.1.
pub(crate) fn request(method: &str, target: &str, headers: &[(&str, &str)]) -> Request {
    request_with_body(method, target, headers, Bytes::new())
}

/// The same, with a body.
pub(crate) fn request_with_body(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> Request {
    let mut h = Headers::new();
    for (n, v) in headers {
        h.push(*n, *v);
    }
    let head = Head {
        method: method.into(),
        target: target.into(),
        version: Version::Http11,
        request_line: format!("{method} {target} HTTP/1.1").into_bytes(),
        headers: h,
    };
    let addr: SocketAddr = "127.0.0.1:8000".parse().unwrap();
    let peer = Peer {
        client: addr,
        server: addr,
        scheme: Scheme::Http,
    };
    Request::new(head, body, peer)
}

pub(crate) use super::memory::{MemIo, Written};
