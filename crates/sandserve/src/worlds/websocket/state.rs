//! What one WebSocket connection's store holds — the sandbox, what every
//! world shares, the handshake's request and answer, the connection — and
//! the host side of the `websocket` interface and of `timing`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wasmtime_wasi::{WasiCtxView, WasiView};

use crate::http::{Request, ResponseWriter, Scheme};
use crate::tenants::Tenants;
use crate::wasm::{Sandbox, Sandboxed, Stop};
use crate::websocket::frame::{self, LengthForm};
use crate::websocket::{self as ws, Connection};
use crate::worlds::shared::{Common, Guest};

/// The `handshake-request` resource: one per store, so it carries nothing.
pub struct HandshakeRequest;
/// The `handshake-response` resource.
pub struct HandshakeResponse;
/// The `connection` resource.
pub struct ConnectionHandle;

/// Sends answered `closed` before a guest that sends on regardless is stopped.
const GONE_SENDS: u8 = 16;

/// Per-connection store data.
pub struct WsState {
    pub(super) sandbox: Sandbox,
    pub(super) common: Common,
    pub(super) request: Arc<Request>,
    /// Counts what the client holds (sleeping handlers).
    pub(super) tenants: Arc<Tenants>,
    /// The client: the handshake's answer, then frames, go through it.
    pub(super) writer: ResponseWriter,
    pub(super) conn: Connection,
    /// The subprotocol the handshake chose.
    pub(super) protocol: Option<String>,
    /// Headers the handshake added to `101`.
    pub(super) extra: Vec<(Vec<u8>, Vec<u8>)>,
    /// The handshake refused the connection: status and reason.
    pub(super) refused: Option<(u16, Option<Vec<u8>>)>,
    /// The handshake ended the connection without an answer.
    pub(super) aborted: bool,
    /// The handshake wrote its own answer and accepted.
    pub(super) answered_raw: bool,
    pub(super) sent: u64,
    pub(super) max_sent: u64,
    /// Sends answered `closed` since the connection broke.
    pub(super) closed_reported: u8,
}

impl WsState {
    /// Runs a send, parked; counts its bytes against the limit.
    async fn sending(&mut self, bytes: usize, op: Out<'_>) -> wasmtime::Result<Result<(), Closed>> {
        if self.conn.close_sent() && !matches!(op, Out::Raw(_) | Out::Frame(_)) {
            return self.report_closed();
        }
        self.sent += bytes as u64;
        if self.sent > self.max_sent {
            return Err(Stop::ResponseTooLarge(self.max_sent).into());
        }
        self.sandbox.give_turn();
        self.sandbox.clock.suspend();
        let t = self.writer.transport();
        let result = match op {
            Out::Message(opcode, payload) => self.conn.send(t, opcode, payload).await,
            Out::Close(code, reason) => self.conn.close(t, code, reason).await,
            Out::Frame(bytes) | Out::Raw(bytes) => self.conn.write_raw(t, bytes).await,
        };
        self.sandbox.clock.resume();
        match result {
            Ok(()) => Ok(Ok(())),
            Err(ws::Closed) => self.report_closed(),
        }
    }

    /// The connection cannot carry more: `closed`, a few times; a guest that
    /// sends on regardless is stopped.
    fn report_closed(&mut self) -> wasmtime::Result<Result<(), Closed>> {
        if self.closed_reported >= GONE_SENDS {
            return Err(Stop::ClientGone.into());
        }
        self.closed_reported += 1;
        Ok(Err(Closed))
    }

    /// Sleeps, parked; a client that goes meanwhile cuts the sleep short
    /// (the guest's next send hears `closed`); asleep once it has gone, the
    /// guest is stopped.
    async fn sleep(&mut self, duration: u64) -> wasmtime::Result<()> {
        if self.writer.transport().is_gone() {
            return Err(Stop::ClientGone.into());
        }
        let tenants = self.tenants.clone();
        if crate::worlds::shared::sleep(self, &tenants, duration).await? {
            self.conn.break_off();
        }
        Ok(())
    }
}

/// The connection cannot carry more.
struct Closed;

/// What a send writes.
enum Out<'a> {
    Message(u8, &'a [u8]),
    Close(Option<u16>, &'a str),
    Frame(&'a [u8]),
    Raw(&'a [u8]),
}

// The same for every version of the world.
macro_rules! for_version {
    ($v:ident) => {
        const _: () = {
            use wasmtime::component::Resource;

            use crate::worlds::handler::bindings::$v::sandserve::handler::timing;
            use crate::worlds::handler::bindings::$v::sandserve::handler::types::{Field, WriteError};
            use crate::worlds::websocket::bindings::$v::sandserve::handler::websocket::{
                CloseInfo, Host, HostConnection, HostHandshakeRequest, HostHandshakeResponse,
                Message,
            };
            use super::*;

            fn closed(sent: wasmtime::Result<Result<(), Closed>>) -> wasmtime::Result<Result<(), WriteError>> {
                sent.map(|r| r.map_err(|Closed| WriteError::Closed))
            }

        fn field((name, value): (&[u8], &[u8])) -> Field {
            Field {
                name: name.to_vec(),
                value: value.to_vec(),
            }
        }

        impl Host for WsState {}

        impl HostHandshakeRequest for WsState {
            fn target(&mut self, _: Resource<HandshakeRequest>) -> wasmtime::Result<String> {
                Ok(self.request.target.clone())
            }

            fn path(&mut self, _: Resource<HandshakeRequest>) -> wasmtime::Result<String> {
                Ok(self.request.path.clone())
            }

            fn query_string(&mut self, _: Resource<HandshakeRequest>) -> wasmtime::Result<Option<String>> {
                Ok(self.request.query.clone())
            }

            fn scheme(&mut self, _: Resource<HandshakeRequest>) -> wasmtime::Result<String> {
                Ok(match self.request.peer.scheme {
                    Scheme::Https | Scheme::Wss | Scheme::H2 => "wss",
                    Scheme::Http | Scheme::Ws => "ws",
                }
                .to_string())
            }

            fn headers(&mut self, _: Resource<HandshakeRequest>) -> wasmtime::Result<Vec<Field>> {
                Ok(self.request.headers.iter().map(field).collect())
            }

            fn header(
                &mut self,
                _: Resource<HandshakeRequest>,
                name: String,
            ) -> wasmtime::Result<Option<Vec<u8>>> {
                Ok(self
                    .request
                    .headers
                    .get(name.as_bytes())
                    .map(<[u8]>::to_vec))
            }

            fn protocols(&mut self, _: Resource<HandshakeRequest>) -> wasmtime::Result<Vec<String>> {
                Ok(ws::list(&self.request, b"sec-websocket-protocol"))
            }

            fn extensions(&mut self, _: Resource<HandshakeRequest>) -> wasmtime::Result<Vec<String>> {
                Ok(ws::list(&self.request, b"sec-websocket-extensions"))
            }

            fn client_address(&mut self, _: Resource<HandshakeRequest>) -> wasmtime::Result<String> {
                Ok(self.request.peer.client.to_string())
            }

            fn drop(&mut self, r: Resource<HandshakeRequest>) -> wasmtime::Result<()> {
                self.sandbox.table.delete(r)?;
                Ok(())
            }
        }

        impl HostHandshakeResponse for WsState {
            fn set_protocol(
                &mut self,
                _: Resource<HandshakeResponse>,
                name: Option<String>,
            ) -> wasmtime::Result<()> {
                if let Some(name) = &name {
                    if crate::http::writer::breaks_a_line(name.as_bytes()) {
                        return Err(Stop::LineBreak("the subprotocol".into()).into());
                    }
                }
                self.protocol = name;
                Ok(())
            }

            fn append_header(
                &mut self,
                _: Resource<HandshakeResponse>,
                name: Vec<u8>,
                value: Vec<u8>,
            ) -> wasmtime::Result<()> {
                use crate::http::writer::breaks_a_line;
                if name.is_empty() || breaks_a_line(&name) || breaks_a_line(&value) {
                    return Err(Stop::LineBreak("a handshake header".into()).into());
                }
                self.sent += (name.len() + value.len()) as u64;
                if self.sent > self.max_sent {
                    return Err(Stop::ResponseTooLarge(self.max_sent).into());
                }
                self.extra.push((name, value));
                Ok(())
            }

            fn refuse(
                &mut self,
                _: Resource<HandshakeResponse>,
                code: u16,
                reason: Option<Vec<u8>>,
            ) -> wasmtime::Result<()> {
                if reason
                    .as_deref()
                    .is_some_and(crate::http::writer::breaks_a_line)
                {
                    return Err(Stop::LineBreak("the refusal's reason".into()).into());
                }
                self.refused = Some((code, reason));
                Ok(())
            }

            async fn write_raw(
                &mut self,
                _: Resource<HandshakeResponse>,
                data: Vec<u8>,
            ) -> wasmtime::Result<Result<(), WriteError>> {
                self.sent += data.len() as u64;
                if self.sent > self.max_sent {
                    return Err(Stop::ResponseTooLarge(self.max_sent).into());
                }
                self.sandbox.give_turn();
                self.sandbox.clock.suspend();
                let written = self.writer.write_raw(&data).await;
                self.sandbox.clock.resume();
                match written {
                    Ok(()) => Ok(Ok(())),
                    Err(_) => {
                        self.writer.break_framing();
                        self.conn.break_off();
                        closed(self.report_closed())
                    }
                }
            }

            fn abort(&mut self, _: Resource<HandshakeResponse>) -> wasmtime::Result<()> {
                self.aborted = true;
                Ok(())
            }

            fn accept_as_written(&mut self, _: Resource<HandshakeResponse>) -> wasmtime::Result<()> {
                self.answered_raw = true;
                Ok(())
            }

            fn drop(&mut self, r: Resource<HandshakeResponse>) -> wasmtime::Result<()> {
                self.sandbox.table.delete(r)?;
                Ok(())
            }
        }

        impl HostConnection for WsState {
            async fn receive_message(
                &mut self,
                _: Resource<ConnectionHandle>,
            ) -> wasmtime::Result<Message> {
                self.sandbox.give_turn();
                self.sandbox.clock.suspend();
                let message = self.conn.receive(self.writer.transport()).await;
                self.sandbox.clock.resume();
                Ok(match message {
                    ws::Message::Text(text) => Message::Text(text),
                    ws::Message::Binary(data) => Message::Binary(data),
                    ws::Message::Closed { code, reason } => Message::Closed(CloseInfo { code, reason }),
                })
            }

            async fn send_text(
                &mut self,
                _: Resource<ConnectionHandle>,
                text: String,
            ) -> wasmtime::Result<Result<(), WriteError>> {
                closed(self.sending(text.len(), Out::Message(frame::TEXT, text.as_bytes())).await)
            }

            async fn send_binary(
                &mut self,
                _: Resource<ConnectionHandle>,
                data: Vec<u8>,
            ) -> wasmtime::Result<Result<(), WriteError>> {
                closed(self.sending(data.len(), Out::Message(frame::BINARY, &data)).await)
            }

            async fn send_ping(
                &mut self,
                _: Resource<ConnectionHandle>,
                data: Vec<u8>,
            ) -> wasmtime::Result<Result<(), WriteError>> {
                if data.len() > 125 {
                    return Err(wasmtime::format_err!(
                        "a ping carries at most 125 bytes (write-frame sends longer ones)"
                    ));
                }
                closed(self.sending(data.len(), Out::Message(frame::PING, &data)).await)
            }

            async fn close(
                &mut self,
                _: Resource<ConnectionHandle>,
                code: Option<u16>,
                reason: String,
            ) -> wasmtime::Result<Result<(), WriteError>> {
                if reason.len() > 123 {
                    return Err(wasmtime::format_err!(
                        "a close reason is at most 123 bytes (write-frame sends longer ones)"
                    ));
                }
                closed(self.sending(reason.len(), Out::Close(code, &reason)).await)
            }

            async fn write_frame(
                &mut self,
                _: Resource<ConnectionHandle>,
                fin: bool,
                rsv: u8,
                opcode: u8,
                mask: Option<u32>,
                payload: Vec<u8>,
                length_form: Option<u8>,
            ) -> wasmtime::Result<Result<(), WriteError>> {
                if rsv > 7 || opcode > 15 {
                    return Err(wasmtime::format_err!(
                        "write-frame: rsv is 0–7 and opcode 0–15 (write-raw sends any bytes)"
                    ));
                }
                let form = match length_form {
                    None => LengthForm::Shortest,
                    Some(7) if payload.len() <= 125 => LengthForm::Bits7,
                    Some(16) if payload.len() <= usize::from(u16::MAX) => LengthForm::Bits16,
                    Some(64) => LengthForm::Bits64,
                    Some(other) => {
                        return Err(wasmtime::format_err!(
                            "write-frame: a {}-byte payload has no {other}-bit length form",
                            payload.len()
                        ))
                    }
                };
                let bytes = frame::encode(fin, rsv, opcode, mask.map(u32::to_be_bytes), &payload, form);
                closed(self.sending(bytes.len(), Out::Frame(&bytes)).await)
            }

            async fn write_raw(
                &mut self,
                _: Resource<ConnectionHandle>,
                data: Vec<u8>,
            ) -> wasmtime::Result<Result<(), WriteError>> {
                closed(self.sending(data.len(), Out::Raw(&data)).await)
            }

            fn protocol(&mut self, _: Resource<ConnectionHandle>) -> wasmtime::Result<Option<String>> {
                Ok(self.protocol.clone())
            }

            fn answer_close_myself(&mut self, _: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
                self.conn.answer_close_myself();
                Ok(())
            }

            fn drop(&mut self, r: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
                self.sandbox.table.delete(r)?;
                Ok(())
            }
        }

        impl timing::Host for WsState {
            async fn sleep(&mut self, duration: u64) -> wasmtime::Result<()> {
                WsState::sleep(self, duration).await
            }
        }

            impl crate::worlds::handler::bindings::$v::sandserve::handler::types::Host for WsState {}
        };
    };
}

for_version!(v0_2);
for_version!(v0_3);

impl Guest for WsState {
    fn common(&mut self) -> &mut Common {
        &mut self.common
    }

    fn client_gone(&mut self) -> Pin<Box<dyn Future<Output = ()> + std::marker::Send + '_>> {
        Box::pin(self.writer.transport().gone())
    }
}

impl Sandboxed for WsState {
    fn sandbox(&mut self) -> &mut Sandbox {
        &mut self.sandbox
    }
}

impl WasiView for WsState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.sandbox.wasi,
            table: &mut self.sandbox.table,
        }
    }
}

crate::impl_shared_interfaces!(WsState);
