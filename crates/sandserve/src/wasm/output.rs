//! A guest's stdout and stderr: kept up to a limit for the log, the rest
//! counted and dropped. Writing never fails, so a chatty guest is not
//! stopped by it.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

/// Where a guest's stdout and stderr go.
#[derive(Clone)]
pub struct LogSink {
    inner: Arc<Mutex<SinkInner>>,
}

struct SinkInner {
    kept: Vec<u8>,
    dropped: u64,
    capacity: usize,
}

impl LogSink {
    /// A sink keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        LogSink {
            inner: Arc::new(Mutex::new(SinkInner {
                kept: Vec::new(),
                dropped: 0,
                capacity,
            })),
        }
    }

    /// What was kept, and how many bytes were dropped.
    pub fn contents(&self) -> (Vec<u8>, u64) {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (inner.kept.clone(), inner.dropped)
    }

    /// Whether anything was written at all.
    pub fn is_empty(&self) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.kept.is_empty() && inner.dropped == 0
    }
}

impl tokio::io::AsyncWrite for LogSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let room = inner.capacity.saturating_sub(inner.kept.len());
        let keep = room.min(buf.len());
        inner.kept.extend_from_slice(&buf[..keep]);
        inner.dropped += (buf.len() - keep) as u64;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for LogSink {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for LogSink {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

/// Writes a guest's output to the server log, tagged with its request.
pub fn log_output(tag: &str, sink: &LogSink, failed: bool) {
    let (output, dropped) = sink.contents();
    if output.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(&output);
    let text = crate::text::log_safe(text.trim_end());
    let more = if dropped > 0 {
        format!(" (and {dropped} more bytes, dropped)")
    } else {
        String::new()
    };
    if failed {
        tracing::warn!(target: "sandserve::guest", "{tag} output{more}: {text}");
    } else {
        tracing::info!(target: "sandserve::guest", "{tag} output{more}: {text}");
    }
}

/// The end of a guest's output, for an error message: usually says why it
/// failed (a panic message).
pub fn tail(sink: &LogSink) -> String {
    let (output, _) = sink.contents();
    let tail = &output[output.len().saturating_sub(2048)..];
    String::from_utf8_lossy(tail).trim().to_string()
}
