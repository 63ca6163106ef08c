//! What every guest world shares: the engine with its pooling allocator and
//! epoch ticker ([`runtime`]), compiling and linking once per content
//! ([`loader`], with compiled components kept on disk by [`cache`]), the
//! limits and how a stopped guest's fault is told ([`limits`]), and where a
//! guest's stdout and stderr go ([`output`]).
//!
//! A world (the request handler world in `crate::worlds::handler`, say) is
//! a sibling that uses these: it links its imports, builds its store data
//! around a [`Sandbox`], and calls its exports.

pub mod cache;
pub mod compiler;
pub mod limits;
pub mod loader;
pub mod output;
pub mod runtime;

pub use limits::{classify, Fault, Stop, WasmLimits};
pub use loader::{LoadError, LoadStats, Loaded, Source, World};
pub use runtime::{Held, Runtime, RuntimeError, Sandbox, Sandboxed};
