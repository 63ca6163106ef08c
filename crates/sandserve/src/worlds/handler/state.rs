//! What one request's store holds: the sandbox every world has, and what
//! this world grants — the request, the response being built, the writer
//! to the client, and (in [`Common`]) the stash and the server's names and
//! ports.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wasmtime_wasi::{WasiCtxView, WasiView};

use crate::http::form::{FormError, FormField};
use crate::http::{Request, Response, ResponseWriter};
use crate::route::Captures;
use crate::tenants::Tenants;
use crate::wasm::{Sandbox, Sandboxed, Stop};
use crate::worlds::shared::{Common, Guest};

/// The `request` resource: there is one per store, so it carries nothing.
pub struct RequestHandle;
/// The `response` resource.
pub struct ResponseHandle;
/// The `response-writer` resource.
pub struct WriterHandle;

/// Where a granted read-only view is in the guest's file system.
#[derive(Clone, Debug, Default)]
pub struct ViewPaths {
    /// The document root.
    pub doc_root: String,
    /// Each alias: its URL prefix and its directory in the view.
    pub aliases: Vec<(String, String)>,
    /// The file the route resolved the request to.
    pub script: Option<String>,
}

/// Per-request store data.
pub struct HostState {
    pub(super) sandbox: Sandbox,
    pub(super) request: Arc<Request>,
    pub(super) captures: Captures,
    /// The stash, the server's names and ports, the log.
    pub(super) common: Common,
    /// Counts what the client holds (sleeping handlers).
    pub(super) tenants: Arc<Tenants>,
    /// The response's head and switches; its body is kept in `body`.
    pub(super) response: Response,
    /// The response body as built by `set-body` and `append-body`.
    pub(super) body: Vec<u8>,
    /// The request's form fields, parsed on first use.
    pub(super) form: Option<Result<Vec<FormField>, FormError>>,
    /// The most form fields parsed for it.
    pub(super) max_form_fields: usize,
    /// The client's session, opened on first use.
    pub(super) session: crate::session::RequestSession,
    /// The client: written to directly by the writer resource.
    pub(super) writer: ResponseWriter,
    pub(super) writer_used: bool,
    /// The client is known to have gone (a write failed, or a sleep saw it).
    pub(super) client_gone: bool,
    /// ...and how many writes were answered `closed` since: the guest may
    /// clean up; a sleep, or writing on regardless, stops it.
    pub(super) gone_reported: u8,
    pub(super) response_bytes: u64,
    pub(super) max_response_bytes: u64,
}

impl HostState {
    /// Checks a header for the structured response and counts what the host
    /// will hold of it: a name or value with CR, LF or NUL stops the guest
    /// (it would write header lines the API did not say).
    pub(super) fn accept_header(&mut self, name: &[u8], value: &[u8]) -> wasmtime::Result<()> {
        if crate::http::writer::breaks_a_line(name) || name.is_empty() {
            return Err(Stop::LineBreak(format!("a header name {:?}", shown(name))).into());
        }
        if crate::http::writer::breaks_a_line(value) {
            return Err(Stop::LineBreak(format!("a value of header {}", shown(name))).into());
        }
        self.count_response_bytes(name.len() + value.len())
    }

    /// Counts bytes a handler sends; past the limit, the guest is stopped.
    pub(super) fn count_response_bytes(&mut self, n: usize) -> wasmtime::Result<()> {
        self.response_bytes += n as u64;
        if self.response_bytes > self.max_response_bytes {
            return Err(Stop::ResponseTooLarge(self.max_response_bytes).into());
        }
        Ok(())
    }
}

impl Sandboxed for HostState {
    fn sandbox(&mut self) -> &mut Sandbox {
        &mut self.sandbox
    }
}

impl Guest for HostState {
    fn common(&mut self) -> &mut Common {
        &mut self.common
    }

    fn client_gone(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.writer.transport().gone())
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.sandbox.wasi,
            table: &mut self.sandbox.table,
        }
    }
}

/// A header name for a message: text, at most 64 characters.
fn shown(name: &[u8]) -> String {
    let text = String::from_utf8_lossy(name);
    text.chars().take(64).collect()
}
crate::impl_shared_interfaces!(HostState);
