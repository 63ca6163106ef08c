//! `http.response-writer`: each call is carried to the connection, written,
//! and acknowledged before the guest continues.

use std::time::Instant;

use tokio::sync::oneshot;
use wasmtime::component::Resource;

use crate::wasm::bindings::sandserve::handler::http::HostResponseWriter;
use crate::wasm::state::{HostState, WriteCmd, WriteOp, WriterHandle};

impl HostState {
    async fn write(&mut self, op: WriteOp) -> wasmtime::Result<()> {
        self.writer_used = true;
        let (done, written) = oneshot::channel();
        let waiting = Instant::now();
        let sent = self.writes.send(WriteCmd { op, done }).await;
        let result = match sent {
            Ok(()) => written.await.ok(),
            Err(_) => None,
        };
        self.parked += waiting.elapsed();
        match result {
            Some(Ok(())) => Ok(()),
            // The client is gone: nothing more can be sent, so stop the guest.
            Some(Err(e)) => wasmtime::bail!("the client connection failed: {e}"),
            None => wasmtime::bail!("the client connection is gone"),
        }
    }
}

impl HostResponseWriter for HostState {
    async fn write_status(
        &mut self,
        _: Resource<WriterHandle>,
        code: u16,
        reason: Option<Vec<u8>>,
    ) -> wasmtime::Result<()> {
        self.write(WriteOp::Status(code, reason)).await
    }

    async fn write_header(
        &mut self,
        _: Resource<WriterHandle>,
        name: Vec<u8>,
        value: Vec<u8>,
    ) -> wasmtime::Result<()> {
        self.count_response_bytes(name.len() + value.len())?;
        self.write(WriteOp::Header(name, value)).await
    }

    async fn end_headers(
        &mut self,
        _: Resource<WriterHandle>,
        add_date: bool,
    ) -> wasmtime::Result<()> {
        self.write(WriteOp::EndHeaders(add_date)).await
    }

    async fn write_content(
        &mut self,
        _: Resource<WriterHandle>,
        data: Vec<u8>,
    ) -> wasmtime::Result<()> {
        self.count_response_bytes(data.len())?;
        self.write(WriteOp::Content(data)).await
    }

    async fn write_raw(
        &mut self,
        _: Resource<WriterHandle>,
        data: Vec<u8>,
    ) -> wasmtime::Result<()> {
        self.count_response_bytes(data.len())?;
        self.write(WriteOp::Raw(data)).await
    }

    fn drop(&mut self, handle: Resource<WriterHandle>) -> wasmtime::Result<()> {
        if handle.owned() {
            self.table.delete(handle)?;
        }
        Ok(())
    }
}
