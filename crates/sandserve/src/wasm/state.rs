//! What one request's store holds: the request, the response being built,
//! the channel to the client's writer, limits and accounting, and a WASI
//! context that grants nothing.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::http::{Request, Response};
use crate::route::Captures;
use crate::server::Site;

/// The `request` resource: there is one per store, so it carries nothing.
pub struct RequestHandle;
/// The `response` resource.
pub struct ResponseHandle;
/// The `response-writer` resource.
pub struct WriterHandle;

/// One step of the raw writer, carried to the connection that owns the socket.
#[derive(Debug)]
pub enum WriteOp {
    /// `write-status`.
    Status(u16, Option<Vec<u8>>),
    /// `write-header`.
    Header(Vec<u8>, Vec<u8>),
    /// `end-headers`.
    EndHeaders(bool),
    /// `write-content`.
    Content(Vec<u8>),
    /// `write-raw`.
    Raw(Vec<u8>),
}

/// A write and the signal that it has reached the socket.
pub struct WriteCmd {
    /// What to write.
    pub op: WriteOp,
    /// Answered once written (or failed).
    pub done: oneshot::Sender<io::Result<()>>,
}

/// Per-request store data.
pub struct HostState {
    pub(super) table: ResourceTable,
    pub(super) wasi: WasiCtx,
    pub(super) limits: StoreLimits,
    pub(super) request: Arc<Request>,
    pub(super) captures: Captures,
    pub(super) site: Arc<Site>,
    /// The response's head and switches; its body is kept in `body`.
    pub(super) response: Response,
    /// The response body as built by `set-body` and `append-body`.
    pub(super) body: Vec<u8>,
    /// The request's form fields, parsed on first use.
    pub(super) form: Option<Result<Vec<crate::http::form::FormField>, String>>,
    pub(super) writes: mpsc::Sender<WriteCmd>,
    pub(super) writer_used: bool,
    pub(super) response_bytes: u64,
    pub(super) max_response_bytes: u64,
    pub(super) started: Instant,
    /// Time spent parked in host calls (sleeping, waiting on the client):
    /// not CPU time.
    pub(super) parked: Duration,
    pub(super) tag: String,
}

impl HostState {
    /// CPU time the guest has had so far (wall time less parked time).
    pub(super) fn cpu_time(&self) -> Duration {
        self.started.elapsed().saturating_sub(self.parked)
    }

    /// Counts bytes a handler sends; past the limit, the guest is stopped.
    pub(super) fn count_response_bytes(&mut self, n: usize) -> wasmtime::Result<()> {
        self.response_bytes += n as u64;
        if self.response_bytes > self.max_response_bytes {
            wasmtime::bail!(
                "response larger than the limit of {} bytes",
                self.max_response_bytes
            );
        }
        Ok(())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Guest stdout and stderr: kept up to a limit for the log, the rest counted
/// and dropped. Writing never fails, so a chatty guest is not stopped by it.
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
