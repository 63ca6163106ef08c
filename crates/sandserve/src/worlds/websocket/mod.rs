//! The WebSocket handler world, `websocket-handler` of
//! `sandserve:handler@0.3.0` (`wit/handler.wit`; 0.2.0 is still served):
//! its bindings, what its
//! store holds and the host side of what only it imports (`state`), and the
//! executor — one connection in one fresh instance: `handshake`, then (when
//! it accepts) the `101` and `transfer`, then the closing handshake.
//!
//! The world grants the handshake's request and answer, the connection,
//! `sleep`, the stash and its lock, the server's names and ports and a log —
//! the last four shared with the request handler world — and WASI's
//! interfaces, granting nothing.

mod bindings;
mod state;

use std::sync::Arc;

use wasmtime::component::{Component, HasSelf, Linker, Resource};
use wasmtime::Store;

use crate::http::{Request, ResponseWriter};
use crate::reply::{ErrorAnswer, Reply};
use crate::stash::Stash;
use crate::tenants::Tenants;
use crate::topology::Topology;
use crate::wasm::output::tail;
use crate::wasm::{classify, Fault, Held, LoadError, Loaded, Runtime, Source, World};
use crate::websocket::{self as ws, Connection, WebSocketLimits};
use crate::worlds::handler::Grant;
use crate::worlds::shared::Base;
use state::{ConnectionHandle, HandshakeRequest, HandshakeResponse, WsState};

/// How the opening handshake is answered.
pub enum Opening {
    /// HTTP/1.1: `101 Switching Protocols` with the accept value of this
    /// `Sec-WebSocket-Key`; the frames follow on the same connection.
    Http1 {
        /// The client's key.
        key: Vec<u8>,
    },
    /// HTTP/2 (an extended CONNECT, RFC 8441): the answer is a HEADERS
    /// frame, given by calling this with the status and headers; accepted
    /// (a 2xx), it gives back the stream's byte stream for the frames.
    Http2(Http2Answer),
}

/// Answers an HTTP/2 WebSocket handshake: (status, headers) → the stream's
/// byte stream when the status accepts.
pub type Http2Answer =
    Box<dyn FnOnce(u16, Vec<(Vec<u8>, Vec<u8>)>) -> Option<Box<dyn crate::http::Io>> + Send>;

/// A WebSocket handler component, linked and ready.
pub type LoadedWsHandler = Loaded<WsHandlerPre>;

/// A component linked for the version of the world it was built against.
pub enum WsHandlerPre {
    /// `sandserve:handler@0.2.0`.
    V0_2(bindings::v0_2::WebsocketHandlerPre<Held<WsState>>),
    /// `sandserve:handler@0.3.0`.
    V0_3(bindings::v0_3::WebsocketHandlerPre<Held<WsState>>),
}

/// An instance of either version.
enum WsInstance {
    V0_2(bindings::v0_2::WebsocketHandler),
    V0_3(bindings::v0_3::WebsocketHandler),
}

/// What a guest's export ended with: done, or its error's code and message.
type Ended = Result<(), (u16, String)>;

impl WsHandlerPre {
    async fn instantiate(&self, store: &mut Store<Held<WsState>>) -> wasmtime::Result<WsInstance> {
        Ok(match self {
            WsHandlerPre::V0_2(pre) => WsInstance::V0_2(pre.instantiate_async(store).await?),
            WsHandlerPre::V0_3(pre) => WsInstance::V0_3(pre.instantiate_async(store).await?),
        })
    }
}

impl WsInstance {
    async fn handshake(
        &self,
        store: &mut Store<Held<WsState>>,
        request: Resource<HandshakeRequest>,
        response: Resource<HandshakeResponse>,
    ) -> wasmtime::Result<Ended> {
        Ok(match self {
            WsInstance::V0_2(i) => i
                .call_handshake(store, request, response)
                .await?
                .map_err(|e| (e.code, e.message)),
            WsInstance::V0_3(i) => i
                .call_handshake(store, request, response)
                .await?
                .map_err(|e| (e.code, e.message)),
        })
    }

    async fn transfer(
        &self,
        store: &mut Store<Held<WsState>>,
        connection: Resource<ConnectionHandle>,
    ) -> wasmtime::Result<Ended> {
        Ok(match self {
            WsInstance::V0_2(i) => i
                .call_transfer(store, connection)
                .await?
                .map_err(|e| (e.code, e.message)),
            WsInstance::V0_3(i) => i
                .call_transfer(store, connection)
                .await?
                .map_err(|e| (e.code, e.message)),
        })
    }
}

/// The WebSocket handler world.
pub struct WebSocketWorld {
    /// What every world grants, and the runtime.
    base: Base,
    linker: Linker<Held<WsState>>,
    limits: WebSocketLimits,
    /// How long a send may stall (`timeouts.send_secs`), for streams this
    /// world opens itself (HTTP/2's).
    send_timeout: std::time::Duration,
}

impl World for WebSocketWorld {
    type Pre = WsHandlerPre;

    fn link(&self, component: &Component) -> wasmtime::Result<Self::Pre> {
        let pre = self.linker.instantiate_pre(component)?;
        let older = component
            .component_type()
            .imports(self.base.runtime.engine())
            .any(|(name, _)| name.starts_with("sandserve:handler/") && name.ends_with("@0.2.0"));
        Ok(if older {
            WsHandlerPre::V0_2(bindings::v0_2::WebsocketHandlerPre::new(pre)?)
        } else {
            WsHandlerPre::V0_3(bindings::v0_3::WebsocketHandlerPre::new(pre)?)
        })
    }
}

impl WebSocketWorld {
    /// The world on `runtime`, granting `stash` and `topology`, each client
    /// what `tenants` allows, each connection what `limits` allows.
    pub fn new(
        runtime: Arc<Runtime>,
        stash: Arc<Stash>,
        topology: Arc<Topology>,
        tenants: Arc<Tenants>,
        limits: WebSocketLimits,
        send_timeout: std::time::Duration,
    ) -> wasmtime::Result<Self> {
        let mut linker = Linker::<Held<WsState>>::new(runtime.engine());
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        bindings::v0_3::WebsocketHandler::add_to_linker::<_, HasSelf<WsState>>(
            &mut linker,
            |state| &mut **state,
        )?;
        bindings::v0_2::WebsocketHandler::add_to_linker::<_, HasSelf<WsState>>(
            &mut linker,
            |state| &mut **state,
        )?;
        Ok(WebSocketWorld {
            base: Base {
                runtime,
                stash,
                topology,
                tenants,
            },
            linker,
            limits,
            send_timeout,
        })
    }

    /// The handler in `source`, compiled and linked for this world.
    pub async fn load(&self, source: &Source) -> Result<Arc<LoadedWsHandler>, LoadError> {
        self.base.runtime.load(self, source).await
    }

    /// Runs the connection of `request` (an opening handshake with `key`)
    /// with `handler` (named `name` in messages), in a fresh instance with
    /// every limit armed. The reply is `Written` once the handshake was
    /// answered (the connection then closes), else the error to answer.
    pub async fn serve(
        &self,
        handler: &LoadedWsHandler,
        name: &str,
        request: Arc<Request>,
        opening: Opening,
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
        let state = WsState {
            sandbox: begun.sandbox,
            common: begun.common,
            request,
            tenants: self.base.tenants.clone(),
            writer,
            conn: Connection::new(self.limits.clone(), false),
            protocol: None,
            extra: Vec::new(),
            refused: None,
            aborted: false,
            answered_raw: false,
            sent: 0,
            max_sent: limits.max_response_bytes,
            closed_reported: 0,
        };
        let over_h2 = matches!(opening, Opening::Http2(_));
        let mut store = self.base.runtime.store(state);
        // What the guest's part ended with, and whether the `101` went out.
        let run = async {
            let instance = handler.pre.instantiate(&mut store).await?;
            let table = &mut store.data_mut().sandbox.table;
            let req = table.push(HandshakeRequest)?;
            let resp = table.push(HandshakeResponse)?;
            let answer = instance.handshake(&mut store, req, resp).await?;
            let s = store.data_mut();
            if let Err((code, message)) = answer {
                return Ok((Err(ErrorAnswer::Guest { code, message }), false));
            }
            if s.aborted {
                s.writer.break_framing();
                return Ok((Ok(()), false));
            }
            // An extension the handler accepted may use the reserved bits.
            let extension = s
                .extra
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(b"sec-websocket-extensions"));
            s.conn.allow_reserved_bits(extension);
            match opening {
                // The handler wrote its own answer: nothing more to write.
                Opening::Http1 { .. } if s.answered_raw && s.refused.is_none() => {}
                Opening::Http1 { key } => {
                    if let Some((code, reason)) = s.refused.take() {
                        let mut head = Vec::new();
                        head.extend_from_slice(format!("HTTP/1.1 {code} ").as_bytes());
                        let phrase = crate::http::status::server_reason(code).as_bytes();
                        head.extend_from_slice(reason.as_deref().unwrap_or(phrase));
                        head.extend_from_slice(
                            b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                        let _ = s.writer.write_raw(&head).await;
                        s.writer.break_framing();
                        return Ok((Ok(()), false));
                    }
                    let head = ws::switching_protocols(&key, s.protocol.as_deref(), &s.extra);
                    let after_status = head.iter().position(|&b| b == b'\n').unwrap_or(0) + 1;
                    if s.writer.write_status(101, None).await.is_err()
                        || s.writer.write_raw(&head[after_status..]).await.is_err()
                    {
                        s.writer.break_framing();
                        return Ok((Ok(()), true));
                    }
                }
                Opening::Http2(answer) => {
                    if s.answered_raw {
                        // Bytes of its own cannot be an HTTP/2 answer.
                        answer(500, Vec::new());
                        return Ok((Ok(()), false));
                    }
                    if let Some((code, _)) = s.refused.take() {
                        answer(code, Vec::new());
                        return Ok((Ok(()), false));
                    }
                    let mut headers = s.extra.clone();
                    if let Some(protocol) = &s.protocol {
                        headers.push((
                            b"sec-websocket-protocol".to_vec(),
                            protocol.as_bytes().to_vec(),
                        ));
                    }
                    let Some(io) = answer(200, headers) else {
                        return Ok((Ok(()), false));
                    };
                    s.writer = ResponseWriter::new(
                        crate::http::Transport::new(io).with_send_timeout(self.send_timeout),
                        false,
                        false,
                    );
                }
            }
            s.writer.break_framing();
            let table = &mut store.data_mut().sandbox.table;
            let conn = table.push(ConnectionHandle)?;
            let transferred = instance.transfer(&mut store, conn).await?;
            Ok::<_, wasmtime::Error>((
                transferred.map_err(|(code, message)| ErrorAnswer::Guest { code, message }),
                true,
            ))
        };
        let result = tokio::time::timeout_at(deadline, run).await;

        let mut state = self.base.runtime.close(store, slot);
        let printed = !state.sandbox.output.is_empty();
        let (failure, upgraded) = match result {
            Ok(Ok((Ok(()), upgraded))) => (None, upgraded),
            Ok(Ok((Err(answer), upgraded))) => (Some(answer), upgraded),
            Ok(Err(trap)) => (
                Some(match classify(&trap, printed) {
                    Fault::Crowded(cap) => ErrorAnswer::Crowded(cap),
                    fault => ErrorAnswer::HandlerFailed {
                        handler: name.to_string(),
                        fault,
                        output: tail(&state.sandbox.output),
                    },
                }),
                state.writer.status() == Some(101),
            ),
            Err(_) => (
                Some(ErrorAnswer::HandlerFailed {
                    handler: name.to_string(),
                    fault: Fault::WallTime(limits.wall_time()),
                    output: tail(&state.sandbox.output),
                }),
                state.writer.status() == Some(101),
            ),
        };
        state
            .common
            .log_end(&state.sandbox.output, failure.is_some());
        if let Some(failure) = failure.as_ref().filter(|f| f.status() >= 500) {
            let failure = crate::text::log_safe(&failure.to_string()).into_owned();
            tracing::warn!(target: "sandserve::guest", "{}: {failure}", state.common.tag);
        }
        if upgraded {
            // A guest that failed after the handshake closes with 1011.
            if failure.is_some() && !state.conn.close_sent() {
                let t = state.writer.transport();
                let _ = state.conn.close(t, Some(1011), "the handler failed").await;
            }
            let t = state.writer.transport();
            state.conn.finish(t).await;
            if over_h2 {
                // The frames were the stream's: end it.
                let _ = tokio::io::AsyncWriteExt::shutdown(t.io()).await;
            }
            return (Reply::Written, state.writer);
        }
        match failure {
            Some(failure) if state.writer.bytes_written() == 0 => {
                (Reply::Error(failure), state.writer)
            }
            _ => (Reply::Written, state.writer),
        }
    }
}
