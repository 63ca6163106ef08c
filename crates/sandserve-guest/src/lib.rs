//! Write [sandserve](https://example.invalid/sandserve) request handlers in Rust.
//!
//! A handler is a function from the request (and the response, for what a
//! return value cannot say) to a [`Reply`], exported with [`handler!`]:
//!
//! ```ignore
//! use sandserve_guest::{handler, Error, Reply, Request, Response};
//!
//! fn handle(request: &Request, _response: &mut Response) -> Result<Reply, Error> {
//!     let name = request.param("name").unwrap_or_else(|| "world".into());
//!     Ok((200, [("Content-Type", "text/plain")], format!("Hello, {name}!")).into())
//! }
//!
//! handler!(handle);
//! ```
//!
//! Build it with `cargo build --target wasm32-wasip2 --release` (crate type
//! `cdylib`) and drop the `.wasm` into the document root.
//!
//! The return forms are wptserve's: a body; `(headers, body)`;
//! `(status, headers, body)`; `((status, reason), headers, body)`; or
//! [`Reply::Done`] when the [`Response`] or the [`Writer`] already said it
//! all. Headers are appended to those already set on the response.

#![deny(missing_docs)]

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "handler",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_handler_world",
        default_bindings_module: "::sandserve_guest::bindings",
    });
}

mod reply;
mod request;
mod response;
pub mod server;
pub mod session;
pub mod stash;

pub use reply::{Error, Reply};
pub use request::{FormField, Query, Request};
pub use response::{ClientGone, Cookie, Response, Writer};

use std::time::Duration;

use bindings::sandserve::handler::{log as wit_log, timing};

/// Waits. The request is parked on the server, not a thread; the time does
/// not count against the CPU-time limit.
pub fn sleep(duration: Duration) {
    timing::sleep(duration.as_nanos().min(u128::from(u64::MAX)) as u64);
}

/// Lines into the server's log, tagged with the request.
pub mod log {
    use super::wit_log::{log, Level};

    /// Logs at error level.
    pub fn error(message: &str) {
        log(Level::Error, message)
    }
    /// Logs at warn level.
    pub fn warn(message: &str) {
        log(Level::Warn, message)
    }
    /// Logs at info level.
    pub fn info(message: &str) {
        log(Level::Info, message)
    }
    /// Logs at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message)
    }
}

/// Runs a handler function for one request. Used by [`handler!`].
#[doc(hidden)]
pub fn __run<R, F>(
    request: &bindings::sandserve::handler::http::Request,
    response: &bindings::sandserve::handler::http::Response,
    writer: &bindings::sandserve::handler::http::ResponseWriter,
    f: F,
) -> Result<(), bindings::sandserve::handler::types::Error>
where
    R: Into<Reply>,
    F: FnOnce(&Request, &mut Response) -> Result<R, Error>,
{
    let request = Request::new(request);
    let mut response = Response::new(response, writer);
    match f(&request, &mut response) {
        Ok(reply) => {
            reply.into().apply(&mut response);
            Ok(())
        }
        Err(e) => Err(bindings::sandserve::handler::types::Error {
            code: e.code,
            message: e.message,
        }),
    }
}

/// Exports a handler function `fn(&Request, &mut Response) -> Result<impl Into<Reply>, Error>`.
#[macro_export]
macro_rules! handler {
    ($f:path) => {
        struct __SandserveHandler;

        impl $crate::bindings::Guest for __SandserveHandler {
            fn handle(
                request: &$crate::bindings::sandserve::handler::http::Request,
                response: &$crate::bindings::sandserve::handler::http::Response,
                writer: &$crate::bindings::sandserve::handler::http::ResponseWriter,
            ) -> ::core::result::Result<(), $crate::bindings::sandserve::handler::types::Error>
            {
                $crate::__run(request, response, writer, $f)
            }
        }

        $crate::bindings::__export_handler_world!(__SandserveHandler);
    };
}
