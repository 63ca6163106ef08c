//! Host bindings of the `websocket-handler` world: the current version
//! (`wit/handler.wit`, 0.3.0) and 0.2.0 (`wit/v0.2.0/`, kept so that
//! components built against it still run). The interfaces it shares with
//! the request handler world are that world's own bindings of the same
//! version, so one implementation serves both worlds.

// The versions differ in their path and in the handler world's bindings
// they share.
macro_rules! version {
    ($path:literal, $v:ident) => {
        wasmtime::component::bindgen!({
            world: "websocket-handler",
            path: $path,
            imports: {
                "sandserve:handler/websocket.[method]connection.receive-message": async | trappable,
                "sandserve:handler/websocket.[method]connection.send-text": async | trappable,
                "sandserve:handler/websocket.[method]connection.send-binary": async | trappable,
                "sandserve:handler/websocket.[method]connection.send-ping": async | trappable,
                "sandserve:handler/websocket.[method]connection.close": async | trappable,
                "sandserve:handler/websocket.[method]connection.write-frame": async | trappable,
                "sandserve:handler/websocket.[method]connection.write-raw": async | trappable,
                "sandserve:handler/websocket.[method]handshake-response.write-raw": async | trappable,
                default: trappable,
            },
            exports: { default: async },
            with: {
                "sandserve:handler/types": crate::worlds::handler::bindings::$v::sandserve::handler::types,
                "sandserve:handler/server": crate::worlds::handler::bindings::$v::sandserve::handler::server,
                "sandserve:handler/stash": crate::worlds::handler::bindings::$v::sandserve::handler::stash,
                "sandserve:handler/log": crate::worlds::handler::bindings::$v::sandserve::handler::log,
                "sandserve:handler/timing": crate::worlds::handler::bindings::$v::sandserve::handler::timing,
                "sandserve:handler/view": crate::worlds::handler::bindings::$v::sandserve::handler::view,
                "sandserve:handler/websocket.handshake-request": crate::worlds::websocket::state::HandshakeRequest,
                "sandserve:handler/websocket.handshake-response": crate::worlds::websocket::state::HandshakeResponse,
                "sandserve:handler/websocket.connection": crate::worlds::websocket::state::ConnectionHandle,
            },
        });
    };
}

/// `sandserve:handler@0.3.0`.
pub mod v0_3 {
    version!("../../wit", v0_3);
}

/// `sandserve:handler@0.2.0`.
pub mod v0_2 {
    version!("../../wit/v0.2.0", v0_2);
}
