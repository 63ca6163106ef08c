//! A client kept in memory: it stays connected, sends nothing, and keeps
//! everything written to it. For tests, benchmarks and fuzzing, where a
//! response is written without a socket.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A client that sends nothing (and stays connected) and keeps everything
/// written to it.
pub struct MemIo {
    written: Arc<Mutex<Vec<u8>>>,
}

/// What was written to a [`MemIo`] (read by tests and fuzzing).
#[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
#[derive(Clone)]
pub struct Written(Arc<Mutex<Vec<u8>>>);

#[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
impl Written {
    /// Everything written so far (and empties the record).
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl MemIo {
    /// A client, and the record of what is written to it.
    pub fn new() -> (MemIo, Written) {
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
        self.written
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
