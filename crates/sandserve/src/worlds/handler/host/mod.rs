//! The host side of each imported interface, one module each.

mod log;
mod request;
mod response;
mod server;
mod stash;
mod timing;
mod writer;

use super::bindings::sandserve::handler::{http, types};
use super::state::HostState;

impl types::Host for HostState {}
impl http::Host for HostState {}
