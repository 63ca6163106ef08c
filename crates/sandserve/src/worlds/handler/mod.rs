//! The request handler world, `sandserve:handler@0.3.0` (`wit/handler.wit`)
//! and its earlier versions 0.2.0 and 0.1.0 (`wit/v0.2.0/`, `wit/v0.1.0/`), all served: its bindings,
//! the host side of each interface it imports (`host/`), what its store
//! holds (`state`), and the executor — one request in one fresh instance,
//! its result a [`Reply`].
//!
//! The world grants the request, the response, the raw writer to the
//! client, `sleep`, the stash and its lock, the server's names and ports
//! and a log; the WASI interfaces a language's standard library needs are
//! linked and grant nothing, except that a route may grant a read-only view
//! of the document root (a [`Grant`]) through WASI's file system.

pub(crate) mod bindings;
mod host;
mod state;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use wasmtime::component::{Component, HasSelf, Linker};

use crate::http::{Request, ResponseWriter, Scheme};
use crate::reply::{ErrorAnswer, Reply};
use crate::route::Captures;
use crate::session::Sessions;
use crate::stash::Stash;
use crate::tenants::Tenants;
use crate::topology::Topology;
use crate::wasm::output::tail;
use crate::wasm::{classify, Fault, Held, LoadError, Loaded, Runtime, Source, World};
use crate::worlds::shared::Base;
use bindings::{v0_1, v0_2, v0_3};
pub use state::ViewPaths;
use state::{HostState, RequestHandle, ResponseHandle, WriterHandle};

/// A handler component, linked and ready.
pub type LoadedHandler = Loaded<HandlerPre>;

/// A component linked for the version of the world it was built against.
pub enum HandlerPre {
    /// `sandserve:handler@0.1.0`.
    V0_1(v0_1::HandlerPre<Held<HostState>>),
    /// `sandserve:handler@0.2.0`.
    V0_2(v0_2::HandlerPre<Held<HostState>>),
    /// `sandserve:handler@0.3.0`.
    V0_3(v0_3::HandlerPre<Held<HostState>>),
}

/// What a route grants a request beyond the world's imports: a read-only
/// view of directories, each at a path in the guest's file system.
#[derive(Clone, Debug, Default)]
pub struct Grant {
    /// Host directory and guest path of each directory in the view.
    pub dirs: Vec<(std::path::PathBuf, String)>,
    /// What `view` tells the guest.
    pub paths: ViewPaths,
}

/// The request handler world: what its guests are granted, and how one of
/// them answers one request.
pub struct HandlerWorld {
    /// What every world grants, and the runtime.
    base: Base,
    /// Per-client sessions (only this world has them).
    sessions: Arc<Sessions>,
    linker: Linker<Held<HostState>>,
    max_form_fields: usize,
}

impl World for HandlerWorld {
    type Pre = HandlerPre;

    fn link(&self, component: &Component) -> wasmtime::Result<Self::Pre> {
        let pre = self.linker.instantiate_pre(component)?;
        let ty = component.component_type();
        let imports_version = |version: &str| {
            ty.imports(self.base.runtime.engine())
                .any(|(name, _)| name.starts_with("sandserve:handler/") && name.ends_with(version))
        };
        if imports_version("@0.1.0") {
            Ok(HandlerPre::V0_1(v0_1::HandlerPre::new(pre)?))
        } else if imports_version("@0.2.0") {
            Ok(HandlerPre::V0_2(v0_2::HandlerPre::new(pre)?))
        } else {
            Ok(HandlerPre::V0_3(v0_3::HandlerPre::new(pre)?))
        }
    }
}

impl HandlerWorld {
    /// The world on `runtime`, granting `stash` and `topology`; a guest may
    /// have at most `max_form_fields` form fields parsed for it, and each
    /// client what `tenants` allows of handler requests and sleepers.
    pub fn new(
        runtime: Arc<Runtime>,
        stash: Arc<Stash>,
        sessions: Arc<Sessions>,
        topology: Arc<Topology>,
        tenants: Arc<Tenants>,
        max_form_fields: usize,
    ) -> wasmtime::Result<Self> {
        let mut linker = Linker::<Held<HostState>>::new(runtime.engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        v0_3::Handler::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| &mut **state)?;
        v0_2::Handler::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| &mut **state)?;
        v0_1::Handler::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |state| &mut **state)?;
        Ok(HandlerWorld {
            base: Base {
                runtime,
                stash,
                topology,
                tenants,
            },
            sessions,
            linker,
            max_form_fields,
        })
    }

    /// The handler in `source`, compiled and linked for this world.
    pub async fn load(&self, source: &Source) -> Result<Arc<LoadedHandler>, LoadError> {
        self.base.runtime.load(self, source).await
    }

    /// Runs `handler` (named `name` in messages) for `request`, in a fresh
    /// instance with every limit armed, granted what `grant` says. The
    /// writer goes to the guest for its raw writes and comes back with the
    /// reply.
    pub async fn serve(
        &self,
        handler: &LoadedHandler,
        name: &str,
        request: Arc<Request>,
        captures: Captures,
        grant: Option<&Grant>,
        writer: ResponseWriter,
    ) -> (Reply, ResponseWriter) {
        let limits = self.base.runtime.limits();
        let mut writer = writer;
        let begun = match self.base.begin(&request, name, grant, &mut writer).await {
            Ok(begun) => begun,
            Err(reply) => return (reply, writer),
        };
        let ((_pass, slot), deadline) = (begun.admitted, begun.deadline);
        let secure = matches!(
            request.peer.scheme,
            Scheme::Https | Scheme::Wss | Scheme::H2
        );
        let session = self.sessions.for_request(
            request.headers.get_all(b"cookie"),
            begun.common.owner,
            secure,
        );
        let state = HostState {
            sandbox: begun.sandbox,
            request,
            captures,
            common: begun.common,
            tenants: self.base.tenants.clone(),
            response: Default::default(),
            body: Vec::new(),
            form: None,
            max_form_fields: self.max_form_fields,
            session,
            writer,
            writer_used: false,
            client_gone: false,
            gone_reported: 0,
            response_bytes: 0,
            max_response_bytes: limits.max_response_bytes,
        };
        let mut store = self.base.runtime.store(state);
        let call = async {
            let table = &mut store.data_mut().sandbox.table;
            let req = table.push(RequestHandle)?;
            let resp = table.push(ResponseHandle)?;
            let writer = table.push(WriterHandle)?;
            match &handler.pre {
                HandlerPre::V0_3(pre) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    let result = instance.call_handle(&mut store, req, resp, writer).await?;
                    Ok(result.map_err(|e| (e.code, e.message)))
                }
                HandlerPre::V0_2(pre) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    let result = instance.call_handle(&mut store, req, resp, writer).await?;
                    Ok(result.map_err(|e| (e.code, e.message)))
                }
                HandlerPre::V0_1(pre) => {
                    let instance = pre.instantiate_async(&mut store).await?;
                    let result = instance.call_handle(&mut store, req, resp, writer).await?;
                    Ok(result.map_err(|e| (e.code, e.message)))
                }
            }
        };
        let result = tokio::time::timeout_at(deadline, call).await;

        let mut state = self.base.runtime.close(store, slot);
        let printed = !state.sandbox.output.is_empty();
        let mut failure = match result {
            Ok(Ok(Ok(()))) => None,
            Ok(Ok(Err((code, message)))) => Some(ErrorAnswer::Guest { code, message }),
            Ok(Err(trap)) => Some(match classify(&trap, printed) {
                Fault::Crowded(cap) => ErrorAnswer::Crowded(cap),
                fault => ErrorAnswer::HandlerFailed {
                    handler: name.to_string(),
                    fault,
                    output: tail(&state.sandbox.output),
                },
            }),
            Err(_) => Some(ErrorAnswer::HandlerFailed {
                handler: name.to_string(),
                fault: Fault::WallTime(limits.wall_time()),
                output: tail(&state.sandbox.output),
            }),
        };
        // Saved only when the handler succeeded (else dropped, unsaved).
        let mut cookie = None;
        if failure.is_none() {
            match state.session.save(!state.writer_used).await {
                Ok(set_cookie) => cookie = set_cookie,
                Err(e) => failure = Some(ErrorAnswer::SessionNotSaved(e)),
            }
        }
        state
            .common
            .log_end(&state.sandbox.output, failure.is_some());
        // A client that went away is no failure worth a warning, and is
        // not answered.
        let gone = matches!(
            failure,
            Some(ErrorAnswer::HandlerFailed {
                fault: Fault::ClientGone,
                ..
            })
        );
        if let Some(failure) = failure.as_ref().filter(|f| f.status() >= 500 && !gone) {
            let failure = crate::text::log_safe(&failure.to_string()).into_owned();
            tracing::warn!(target: "sandserve::guest", "{}: {failure}", state.common.tag);
        }
        let reply = match failure {
            // Part of a response may be on the wire, or nobody is there to
            // read one: close rather than answer.
            Some(_) if state.writer_used || gone => {
                state.writer.break_framing();
                Reply::Written
            }
            Some(failure) => Reply::Error(failure),
            None if state.writer_used => Reply::Written,
            None => {
                if let Some(cookie) = cookie {
                    state.response.headers.append("Set-Cookie", cookie);
                }
                state.response.body = std::mem::take(&mut state.body).into();
                Reply::Response(state.response)
            }
        };
        (reply, state.writer)
    }
}
