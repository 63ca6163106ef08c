//! sandserve: a web-platform test server that sends exactly the bytes a test
//! asks for.
//!
//! A request flows one way through these modules:
//!
//! - [`server`]: listeners accept connections; [`server::connection`] reads
//!   requests and keeps connections alive;
//! - [`http`]: request heads are parsed ([`http::parse`], [`http::chunked`])
//!   into a [`http::Request`];
//! - [`route`]: the route table picks a [`handler::Handler`];
//! - [`handler`]: the handler answers, using [`files`] for static files and
//!   `.asis` files; [`pipes`] then change the response as the query asks
//!   (with [`sub`] for template substitution); [`wasm`] runs WebAssembly
//!   handlers, each request in a fresh sandboxed instance, sharing the [`stash`];
//! - [`http::writer`]: the response goes out byte for byte.
//!
//! [`config`] holds what is configurable, each item with its default;
//! [`cli`] is the `sandserve` command.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod files;
pub mod handler;
pub mod hosts;
pub mod http;
pub mod pipes;
pub mod route;
pub mod server;
pub mod stash;
pub mod sub;
pub mod tls;
pub mod wasm;

pub use config::Config;
pub use server::{ListenerInfo, Server, Site, StartError};
