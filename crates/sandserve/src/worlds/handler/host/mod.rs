//! The host side of each interface only this world imports, one module
//! each, for both versions of the world (`server`, `stash`, `log` and `view`
//! are `crate::worlds::shared`'s).

mod request;
mod response;
mod session;
mod timing;
mod writer;

use super::bindings::{v0_1, v0_2, v0_3};
use super::state::HostState;

impl v0_1::sandserve::handler::types::Host for HostState {}
impl v0_1::sandserve::handler::http::Host for HostState {}
impl v0_2::sandserve::handler::types::Host for HostState {}
impl v0_2::sandserve::handler::http::Host for HostState {}
impl v0_3::sandserve::handler::types::Host for HostState {}
impl v0_3::sandserve::handler::http::Host for HostState {}
