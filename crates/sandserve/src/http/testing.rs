//! Helpers for the unit tests of this crate: requests without a socket, and
//! a client byte stream kept in memory.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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

/// A client that sends nothing (and stays connected) and keeps everything
/// written to it.
pub(crate) struct MemIo {
    written: Arc<Mutex<Vec<u8>>>,
}

/// What was written to a [`MemIo`].
#[derive(Clone)]
pub(crate) struct Written(Arc<Mutex<Vec<u8>>>);

impl Written {
    /// Everything written so far (and empties the record).
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl MemIo {
    pub(crate) fn new() -> (MemIo, Written) {
        let written = Arc::new(Mutex::new(Vec::new()));
        (
            MemIo {
                written: written.clone(),
            },
            Written(written),
        )
    }
}

impl AsyncRead for MemIo {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        _: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Poll::Pending
    }
}

impl AsyncWrite for MemIo {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.written.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
