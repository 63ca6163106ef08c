//! The guest worlds, one sibling module each: its bindings, the host side of
//! what it imports, what its store holds, and its executor. Each uses the
//! shared runtime in `crate::wasm`; adding a world is adding a module here
//! and a route kind in `crate::dispatch`.

pub mod handler;
pub mod shared;
pub mod websocket;
