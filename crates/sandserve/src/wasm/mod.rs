//! WebAssembly handlers: components of the `handler` world in `wit/`, one
//! fresh sandboxed instance per request.
//!
//! - [`runtime`]: the engine, its pooling allocator and epoch ticker;
//! - [`loader`]: compiling each file once, again when its content changes;
//! - [`cache`]: compiled components on disk, across restarts;
//! - [`executor`]: one request in one store, limits armed, result classified;
//! - `host`: the imported interfaces, one module each; `state`: what a store holds.

mod bindings;
pub mod cache;
pub mod executor;
mod host;
pub mod loader;
pub mod precompile;
pub mod runtime;
mod state;

use std::io;
use std::sync::Arc;

use tokio::sync::mpsc;

pub use executor::Outcome;
pub use loader::{Compiled, LoadError, LoadStats};
pub use runtime::WasmRuntime;
use state::WriteOp;

use crate::http::{Request, Response, ResponseWriter};
use crate::route::Captures;
use crate::server::Site;

/// What serving a request with a handler did.
pub enum Served {
    /// The handler's response, to write after the query pipes.
    Response(Response),
    /// The handler failed before writing anything: this error answers (no pipes).
    Failed(Response),
    /// The handler wrote everything itself (or failed part way: the
    /// connection is then closed).
    Written,
}

/// Runs a compiled handler for `request`, carrying its raw writes to
/// `writer` as they happen.
pub async fn serve(
    site: &Arc<Site>,
    compiled: &Compiled,
    request: &Arc<Request>,
    captures: Captures,
    writer: &mut ResponseWriter<'_>,
) -> io::Result<Served> {
    let (writes, mut pending) = mpsc::channel(1);
    let run = site
        .wasm
        .run(compiled, request.clone(), captures, site.clone(), writes);
    tokio::pin!(run);
    let outcome = loop {
        tokio::select! {
            biased;
            Some(cmd) = pending.recv() => {
                let result = apply(writer, cmd.op).await;
                let failed = result.is_err();
                let _ = cmd.done.send(result);
                if failed {
                    writer.break_framing();
                }
            }
            outcome = &mut run => break outcome,
        }
    };
    Ok(match outcome {
        Outcome::Response(response) => Served::Response(response),
        Outcome::Written => Served::Written,
        Outcome::Failed {
            writer_used: true, ..
        } => {
            // Part of a response may be on the wire: close rather than answer.
            writer.break_framing();
            Served::Written
        }
        Outcome::Failed {
            status, message, ..
        } => Served::Failed(Response::error(status, &message)),
    })
}

async fn apply(writer: &mut ResponseWriter<'_>, op: WriteOp) -> io::Result<()> {
    match op {
        WriteOp::Status(code, reason) => writer.write_status(code, reason.as_deref()).await,
        WriteOp::Header(name, value) => writer.write_header(&name, &value).await,
        WriteOp::EndHeaders(add_date) => writer.end_headers(add_date).await,
        WriteOp::Content(data) => writer.write_content(&data).await,
        WriteOp::Raw(data) => writer.write_raw(&data).await,
    }
}
