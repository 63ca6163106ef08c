//! `http.response-writer`: each call writes to the client's socket and has
//! reached it when the call returns. Time spent waiting on the client is not
//! CPU time.

use wasmtime::component::Resource;

use crate::wasm::Stop;
use crate::worlds::handler::bindings::sandserve::handler::http::HostResponseWriter;
use crate::worlds::handler::state::{HostState, WriterHandle};

/// One call of the writer resource.
enum Op<'a> {
    Status(u16, Option<&'a [u8]>),
    Header(&'a [u8], &'a [u8]),
    EndHeaders(bool),
    Content(&'a [u8]),
    Raw(&'a [u8]),
}

impl HostState {
    /// Runs one write on the writer, parked; a failed write means the client
    /// is gone: nothing more can be sent, so the guest is stopped.
    async fn write(&mut self, op: Op<'_>) -> wasmtime::Result<()> {
        self.writer_used = true;
        self.sandbox.give_turn();
        self.sandbox.clock.suspend();
        let w = &mut self.writer;
        let result = match op {
            Op::Status(code, reason) => w.write_status(code, reason).await,
            Op::Header(name, value) => w.write_header(name, value).await,
            Op::EndHeaders(add_date) => w.end_headers(add_date).await,
            Op::Content(data) => w.write_content(data).await,
            Op::Raw(data) => w.write_raw(data).await,
        };
        self.sandbox.clock.resume();
        result.map_err(|e| {
            tracing::debug!("{}: the client connection failed: {e}", self.tag);
            self.writer.break_framing();
            Stop::ClientGone.into()
        })
    }
}

impl HostResponseWriter for HostState {
    async fn write_status(
        &mut self,
        _: Resource<WriterHandle>,
        code: u16,
        reason: Option<Vec<u8>>,
    ) -> wasmtime::Result<()> {
        self.count_response_bytes(reason.as_ref().map_or(0, Vec::len))?;
        self.write(Op::Status(code, reason.as_deref())).await
    }

    async fn write_header(
        &mut self,
        _: Resource<WriterHandle>,
        name: Vec<u8>,
        value: Vec<u8>,
    ) -> wasmtime::Result<()> {
        self.count_response_bytes(name.len() + value.len())?;
        self.write(Op::Header(&name, &value)).await
    }

    async fn end_headers(
        &mut self,
        _: Resource<WriterHandle>,
        add_date: bool,
    ) -> wasmtime::Result<()> {
        self.write(Op::EndHeaders(add_date)).await
    }

    async fn write_content(
        &mut self,
        _: Resource<WriterHandle>,
        data: Vec<u8>,
    ) -> wasmtime::Result<()> {
        self.count_response_bytes(data.len())?;
        self.write(Op::Content(&data)).await
    }

    async fn write_raw(
        &mut self,
        _: Resource<WriterHandle>,
        data: Vec<u8>,
    ) -> wasmtime::Result<()> {
        self.count_response_bytes(data.len())?;
        self.write(Op::Raw(&data)).await
    }

    fn drop(&mut self, handle: Resource<WriterHandle>) -> wasmtime::Result<()> {
        if handle.owned() {
            self.sandbox.table.delete(handle)?;
        }
        Ok(())
    }
}
