//! sandserve: a web-platform test server that sends exactly the bytes a test
//! asks for, whose request handlers are sandboxed WebAssembly components.
//!
//! A request flows one way through these modules:
//!
//! - `server`: listeners accept connections; a connection reads requests
//!   (`http::parse`, `http::chunked`) into an `http::Request` and keeps the
//!   connection alive;
//! - `dispatch`: the route table picks a route kind and runs it — `files`
//!   for static files and `.asis` files, or a guest world in `worlds` for a
//!   WebAssembly handler (each request in a fresh sandboxed instance, built
//!   on the shared runtime in `wasm`); `pipes` then change the response as
//!   the query asks (with `sub` for template substitution);
//! - `reply`: what a handler gives back — a response, an error answer from
//!   the one table of them, or nothing more (it wrote its own bytes);
//! - `http::writer`: the response goes out byte for byte.
//!
//! Each module receives only the small values it needs — the `mounts`, the
//! `topology` (host names and ports), the `stash`, the limits — built from
//! the [`config`] in one place, `app`, the composition root. [`cli`] is the
//! `sandserve` command.

#![deny(unsafe_code)]
#![deny(missing_docs)]

pub(crate) mod app;
pub mod cli;
pub mod config;
pub(crate) mod dispatch;
pub(crate) mod files;
pub(crate) mod http;
pub(crate) mod mounts;
pub(crate) mod pipes;
pub(crate) mod reply;
pub(crate) mod route;
pub(crate) mod server;
pub(crate) mod session;
pub(crate) mod stash;
pub(crate) mod sub;
pub(crate) mod tenants;
#[doc(hidden)]
pub mod testing;
pub(crate) mod text;
pub(crate) mod tls;
pub(crate) mod topology;
pub(crate) mod wasm;
pub(crate) mod websocket;
pub(crate) mod worlds;
pub(crate) mod wpt;

pub use app::precompile::Summary as PrecompileSummary;
pub use app::StartError;
pub use config::Config;
pub use server::{is_bad_port, ListenerInfo, Monitor, Server, Stats};
pub use wasm::LoadStats;
