//! `http.response-writer`: each call writes to the client's socket and has
//! reached it when the call returns. Time spent waiting on the client is not
//! CPU time. When the client has gone, 0.2's calls say so (`closed`) and
//! 0.1's stop the guest; either way the guest is stopped at its next sleep.

use wasmtime::component::Resource;

use crate::wasm::Stop;
use crate::worlds::handler::bindings::v0_1;
use crate::worlds::handler::state::{HostState, WriterHandle};

/// One call of the writer resource.
enum Op<'a> {
    Status(u16, Option<&'a [u8]>),
    Header(&'a [u8], &'a [u8]),
    EndHeaders(bool),
    Content(&'a [u8]),
    Raw(&'a [u8]),
}

/// The client has gone.
struct Gone;

/// Writes answered `closed` before the guest is stopped.
const GONE_WRITES: u8 = 16;

impl HostState {
    /// Runs one write on the writer, parked; a failed write means the client
    /// is gone: nothing more can be sent.
    async fn write(&mut self, op: Op<'_>) -> wasmtime::Result<Result<(), Gone>> {
        self.writer_used = true;
        if self.client_gone {
            return self.report_gone();
        }
        // A session this request created sends its cookie with the headers.
        let cookie = match op {
            Op::EndHeaders(_) => self.session.cookie_for_writer(),
            _ => None,
        };
        self.sandbox.give_turn();
        self.sandbox.clock.suspend();
        let w = &mut self.writer;
        let result = match op {
            Op::Status(code, reason) => w.write_status(code, reason).await,
            Op::Header(name, value) => w.write_header(name, value).await,
            Op::EndHeaders(add_date) => match cookie {
                Some(cookie) => match w.write_header(b"Set-Cookie", &cookie).await {
                    Ok(()) => w.end_headers(add_date).await,
                    Err(e) => Err(e),
                },
                None => w.end_headers(add_date).await,
            },
            Op::Content(data) => w.write_content(data).await,
            Op::Raw(data) => w.write_raw(data).await,
        };
        self.sandbox.clock.resume();
        Ok(result.map_err(|e| {
            tracing::debug!("{}: the client connection failed: {e}", self.common.tag);
            self.writer.break_framing();
            self.client_gone = true;
            self.gone_reported = 1;
            Gone
        }))
    }

    /// The client is gone: the guest hears `closed` (a few times: a
    /// runtime may make several calls for one of the handler's); a handler
    /// that writes on regardless (in a loop, say) is stopped.
    fn report_gone(&mut self) -> wasmtime::Result<Result<(), Gone>> {
        if self.gone_reported >= GONE_WRITES {
            return Err(Stop::ClientGone.into());
        }
        self.gone_reported += 1;
        Ok(Err(Gone))
    }

    /// Counts what a write call sends, then writes it.
    async fn counted_write(
        &mut self,
        bytes: usize,
        op: Op<'_>,
    ) -> wasmtime::Result<Result<(), Gone>> {
        self.count_response_bytes(bytes)?;
        self.write(op).await
    }
}

fn stopped(written: Result<(), Gone>) -> wasmtime::Result<()> {
    written.map_err(|Gone| Stop::ClientGone.into())
}

fn reason_len(reason: &Option<Vec<u8>>) -> usize {
    reason.as_ref().map_or(0, Vec::len)
}

// The same for every version since 0.2, whose writes report a gone client.
macro_rules! reports_closed {
    ($v:ident) => {
        const _: () = {
            use crate::worlds::handler::bindings::$v::sandserve::handler::http::HostResponseWriter;
            use crate::worlds::handler::bindings::$v::sandserve::handler::types::WriteError;

            fn closed(written: Result<(), Gone>) -> Result<(), WriteError> {
                written.map_err(|Gone| WriteError::Closed)
            }

            impl HostResponseWriter for HostState {
                async fn write_status(
                    &mut self,
                    _: Resource<WriterHandle>,
                    code: u16,
                    reason: Option<Vec<u8>>,
                ) -> wasmtime::Result<Result<(), WriteError>> {
                    let op = Op::Status(code, reason.as_deref());
                    Ok(closed(self.counted_write(reason_len(&reason), op).await?))
                }

                async fn write_header(
                    &mut self,
                    _: Resource<WriterHandle>,
                    name: Vec<u8>,
                    value: Vec<u8>,
                ) -> wasmtime::Result<Result<(), WriteError>> {
                    let op = Op::Header(&name, &value);
                    Ok(closed(
                        self.counted_write(name.len() + value.len(), op).await?,
                    ))
                }

                async fn end_headers(
                    &mut self,
                    _: Resource<WriterHandle>,
                    add_date: bool,
                ) -> wasmtime::Result<Result<(), WriteError>> {
                    Ok(closed(self.write(Op::EndHeaders(add_date)).await?))
                }

                async fn write_content(
                    &mut self,
                    _: Resource<WriterHandle>,
                    data: Vec<u8>,
                ) -> wasmtime::Result<Result<(), WriteError>> {
                    Ok(closed(
                        self.counted_write(data.len(), Op::Content(&data)).await?,
                    ))
                }

                async fn write_raw(
                    &mut self,
                    _: Resource<WriterHandle>,
                    data: Vec<u8>,
                ) -> wasmtime::Result<Result<(), WriteError>> {
                    Ok(closed(
                        self.counted_write(data.len(), Op::Raw(&data)).await?,
                    ))
                }

                async fn flush(
                    &mut self,
                    _: Resource<WriterHandle>,
                ) -> wasmtime::Result<Result<(), WriteError>> {
                    // Every write is on the socket already; a client that closed or
                    // reset shows as a failed write, or as the end of its stream (looked
                    // for once, without waiting).
                    let ended = tokio::select! {
                        biased;
                        _ = self.writer.transport().gone() => true,
                        _ = std::future::ready(()) => false,
                    };
                    if !self.client_gone && ended {
                        self.client_gone = true;
                        self.writer.break_framing();
                    }
                    Ok(if self.client_gone {
                        Err(WriteError::Closed)
                    } else {
                        Ok(())
                    })
                }

                fn drop(&mut self, handle: Resource<WriterHandle>) -> wasmtime::Result<()> {
                    if handle.owned() {
                        self.sandbox.table.delete(handle)?;
                    }
                    Ok(())
                }
            }
        };
    };
}

reports_closed!(v0_2);
reports_closed!(v0_3);

impl v0_1::sandserve::handler::http::HostResponseWriter for HostState {
    async fn write_status(
        &mut self,
        _: Resource<WriterHandle>,
        code: u16,
        reason: Option<Vec<u8>>,
    ) -> wasmtime::Result<()> {
        let op = Op::Status(code, reason.as_deref());
        stopped(self.counted_write(reason_len(&reason), op).await?)
    }

    async fn write_header(
        &mut self,
        _: Resource<WriterHandle>,
        name: Vec<u8>,
        value: Vec<u8>,
    ) -> wasmtime::Result<()> {
        let op = Op::Header(&name, &value);
        stopped(self.counted_write(name.len() + value.len(), op).await?)
    }

    async fn end_headers(
        &mut self,
        _: Resource<WriterHandle>,
        add_date: bool,
    ) -> wasmtime::Result<()> {
        stopped(self.write(Op::EndHeaders(add_date)).await?)
    }

    async fn write_content(
        &mut self,
        _: Resource<WriterHandle>,
        data: Vec<u8>,
    ) -> wasmtime::Result<()> {
        stopped(self.counted_write(data.len(), Op::Content(&data)).await?)
    }

    async fn write_raw(
        &mut self,
        _: Resource<WriterHandle>,
        data: Vec<u8>,
    ) -> wasmtime::Result<()> {
        stopped(self.counted_write(data.len(), Op::Raw(&data)).await?)
    }

    fn drop(&mut self, handle: Resource<WriterHandle>) -> wasmtime::Result<()> {
        if handle.owned() {
            self.sandbox.table.delete(handle)?;
        }
        Ok(())
    }
}
