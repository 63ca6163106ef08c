//! WebSocket handlers: one instance per connection. [`websocket_handler!`]
//! exports a type with a handshake (accept, choose a subprotocol, add
//! headers, or refuse) and a transfer function that reads and sends
//! messages — or, for tests that need them, malformed frames and raw bytes.
//!
//! ```ignore
//! use sandserve_websocket_guest::{websocket_handler, Connection, Error, Message, WebSocketHandler};
//!
//! struct Echo;
//!
//! impl WebSocketHandler for Echo {
//!     fn transfer(conn: &Connection) -> Result<(), Error> {
//!         while let Message::Text(text) = conn.receive() {
//!             conn.send_text(&text).ok();
//!         }
//!         Ok(())
//!     }
//! }
//!
//! websocket_handler!(Echo);
//! ```
//!
//! The file is `NAME_wsh.wasm` in `ws_doc_root`; a client connects to
//! `ws://host:ws-port/NAME`. (A crate of its own, apart from
//! `sandserve-guest`: a component built with both would import both worlds.)

#![deny(missing_docs)]

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "websocket-handler",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_websocket_world",
        default_bindings_module: "::sandserve_websocket_guest::bindings",
    });
}

use bindings::sandserve::handler::websocket as wit;

/// A failure a handler reports: a handshake refused with `code`, or (from
/// `transfer`) a failed connection, closed with 1011 and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The status code.
    pub code: u16,
    /// The message.
    pub message: String,
}

impl Error {
    /// An error with this code and message.
    pub fn new(code: u16, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
        }
    }
}

/// The connection can carry nothing more: the client has gone, or it was
/// closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientGone;

/// The stash, as the request handlers' (keys are UUIDs under a path; by
/// default the handshake's path).
pub use bindings::sandserve::handler::stash;

/// The server's names and ports.
pub use bindings::sandserve::handler::server;

/// Lines into the server's log, tagged with the connection.
pub use bindings::sandserve::handler::log;

/// Waits; the connection is parked on the server, not a thread.
pub fn sleep(duration: std::time::Duration) {
    bindings::sandserve::handler::timing::sleep(
        duration.as_nanos().min(u128::from(u64::MAX)) as u64
    );
}

/// A message, or the end of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// The connection closed: the close frame's code (1006 when there was
    /// none) and reason.
    Closed {
        /// The code.
        code: Option<u16>,
        /// The reason.
        reason: String,
    },
}

/// The opening handshake: its request, and the answer being built.
pub struct Handshake<'a> {
    request: &'a wit::HandshakeRequest,
    response: &'a wit::HandshakeResponse,
}

impl Handshake<'_> {
    /// The request target, as sent.
    pub fn target(&self) -> String {
        self.request.target()
    }
    /// The path, still percent-encoded.
    pub fn path(&self) -> String {
        self.request.path()
    }
    /// The query without `?`.
    pub fn query(&self) -> Option<String> {
        self.request.query_string()
    }
    /// `ws` or `wss`.
    pub fn scheme(&self) -> String {
        self.request.scheme()
    }
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<Vec<u8>> {
        self.request.header(name)
    }
    /// Every header, in order: name and value.
    pub fn headers(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.request
            .headers()
            .into_iter()
            .map(|f| (f.name, f.value))
            .collect()
    }
    /// The subprotocols the client offered.
    pub fn protocols(&self) -> Vec<String> {
        self.request.protocols()
    }
    /// The extensions the client offered.
    pub fn extensions(&self) -> Vec<String> {
        self.request.extensions()
    }
    /// The client's address and port.
    pub fn client_address(&self) -> String {
        self.request.client_address()
    }
    /// Answers with this subprotocol.
    pub fn set_protocol(&self, name: Option<&str>) {
        self.response.set_protocol(name)
    }
    /// Adds a header to the `101`.
    pub fn append_header(&self, name: &str, value: impl AsRef<[u8]>) {
        self.response.append_header(name.as_bytes(), value.as_ref())
    }
    /// Refuses: the client gets this status instead of `101`.
    pub fn refuse(&self, code: u16, reason: Option<&str>) {
        self.response.refuse(code, reason.map(str::as_bytes))
    }
    /// Accepts with the answer written with [`Handshake::write_raw`]: the
    /// server writes nothing more.
    pub fn accept_as_written(&self) {
        self.response.accept_as_written()
    }
    /// Ends the connection without an answer (after what
    /// [`Handshake::write_raw`] wrote).
    pub fn abort(&self) {
        self.response.abort()
    }
    /// Writes bytes to the client at once, before the server's answer.
    pub fn write_raw(&self, data: &[u8]) -> Result<(), ClientGone> {
        sent(self.response.write_raw(data))
    }
}

/// The connection after the handshake.
pub struct Connection<'a>(&'a wit::Connection);

fn sent(r: Result<(), bindings::sandserve::handler::types::WriteError>) -> Result<(), ClientGone> {
    r.map_err(|_| ClientGone)
}

impl Connection<'_> {
    /// The next message (parked while waiting; pings are answered).
    pub fn receive(&self) -> Message {
        match self.0.receive_message() {
            wit::Message::Text(t) => Message::Text(t),
            wit::Message::Binary(b) => Message::Binary(b),
            wit::Message::Closed(c) => Message::Closed {
                code: c.code,
                reason: c.reason,
            },
        }
    }
    /// Sends a text message.
    pub fn send_text(&self, text: &str) -> Result<(), ClientGone> {
        sent(self.0.send_text(text))
    }
    /// Sends a binary message.
    pub fn send_binary(&self, data: &[u8]) -> Result<(), ClientGone> {
        sent(self.0.send_binary(data))
    }
    /// Sends a ping (at most 125 bytes).
    pub fn send_ping(&self, data: &[u8]) -> Result<(), ClientGone> {
        sent(self.0.send_ping(data))
    }
    /// Starts the closing handshake.
    pub fn close(&self, code: Option<u16>, reason: &str) -> Result<(), ClientGone> {
        sent(self.0.close(code, reason))
    }
    /// One frame exactly as given (see [`Frame`]).
    pub fn write_frame(&self, frame: &Frame) -> Result<(), ClientGone> {
        sent(self.0.write_frame(
            frame.fin,
            frame.rsv,
            frame.opcode,
            frame.mask,
            &frame.payload,
            frame.length_form,
        ))
    }
    /// Any bytes.
    pub fn write_raw(&self, data: &[u8]) -> Result<(), ClientGone> {
        sent(self.0.write_raw(data))
    }
    /// The subprotocol the handshake chose.
    pub fn protocol(&self) -> Option<String> {
        self.0.protocol()
    }
    /// Leaves the answer to the client's close frame to the handler: after
    /// [`Message::Closed`], answer with [`Connection::close`].
    pub fn answer_close_myself(&self) {
        self.0.answer_close_myself()
    }
}

/// A frame for [`Connection::write_frame`]: anything at all, including what
/// the protocol forbids.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// The FIN bit.
    pub fin: bool,
    /// The reserved bits, 0–7.
    pub rsv: u8,
    /// The opcode, 0–15.
    pub opcode: u8,
    /// A masking key (servers must not mask; tests may).
    pub mask: Option<u32>,
    /// The payload.
    pub payload: Vec<u8>,
    /// `Some(7 | 16 | 64)` for a length in that form rather than the shortest.
    pub length_form: Option<u8>,
}

/// A WebSocket handler.
pub trait WebSocketHandler {
    /// Answers the opening handshake; by default accepts it as it is (no
    /// subprotocol). `Err` refuses it with the error's code.
    fn handshake(handshake: &Handshake) -> Result<(), Error> {
        let _ = handshake;
        Ok(())
    }
    /// Runs the connection; the server closes it (1000) when this returns.
    fn transfer(connection: &Connection) -> Result<(), Error>;
}

#[doc(hidden)]
pub fn __handshake<H: WebSocketHandler>(
    request: &wit::HandshakeRequest,
    response: &wit::HandshakeResponse,
) -> Result<(), bindings::sandserve::handler::types::Error> {
    H::handshake(&Handshake { request, response }).map_err(|e| {
        bindings::sandserve::handler::types::Error {
            code: e.code,
            message: e.message,
        }
    })
}

#[doc(hidden)]
pub fn __transfer<H: WebSocketHandler>(
    connection: &wit::Connection,
) -> Result<(), bindings::sandserve::handler::types::Error> {
    H::transfer(&Connection(connection)).map_err(|e| bindings::sandserve::handler::types::Error {
        code: e.code,
        message: e.message,
    })
}

/// Exports a type that implements [`WebSocketHandler`].
#[macro_export]
macro_rules! websocket_handler {
    ($h:ty) => {
        struct __SandserveWebSocket;

        impl $crate::bindings::Guest for __SandserveWebSocket {
            fn handshake(
                request: &$crate::bindings::sandserve::handler::websocket::HandshakeRequest,
                response: &$crate::bindings::sandserve::handler::websocket::HandshakeResponse,
            ) -> ::core::result::Result<(), $crate::bindings::sandserve::handler::types::Error>
            {
                $crate::__handshake::<$h>(request, response)
            }

            fn transfer(
                connection: &$crate::bindings::sandserve::handler::websocket::Connection,
            ) -> ::core::result::Result<(), $crate::bindings::sandserve::handler::types::Error>
            {
                $crate::__transfer::<$h>(connection)
            }
        }

        $crate::bindings::__export_websocket_world!(__SandserveWebSocket);
    };
}
