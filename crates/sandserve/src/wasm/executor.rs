//! Running one request: a fresh instance in a fresh store, every limit
//! armed, the export called once, and the result classified.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimitsBuilder, Trap, UpdateDeadline};
use wasmtime_wasi::WasiCtxBuilder;

use super::loader::Compiled;
use super::runtime::WasmRuntime;
use super::state::{HostState, LogSink, RequestHandle, ResponseHandle, WriteCmd, WriterHandle};
use crate::http::{Request, Response};
use crate::route::Captures;
use crate::server::Site;

/// How a handler's request ended.
#[derive(Debug)]
pub enum Outcome {
    /// It returned normally without using the writer: write this response.
    Response(Response),
    /// It returned normally after writing its response itself.
    Written,
    /// It failed: its own error, a trap, or a limit.
    Failed {
        /// The status to answer with (when nothing was written yet).
        status: u16,
        /// What happened, for the JSON error and the log.
        message: String,
        /// Whether it had written anything (then the connection is closed instead).
        writer_used: bool,
    },
}

/// Marks the error raised when the CPU-time budget runs out.
#[derive(Debug)]
struct CpuLimit(Duration);

impl std::fmt::Display for CpuLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exceeded the CPU-time limit of {} ms",
            self.0.as_millis()
        )
    }
}

impl std::error::Error for CpuLimit {}

impl WasmRuntime {
    /// Runs `compiled` for one request. Raw writes travel over `writes`.
    pub async fn run(
        &self,
        compiled: &Compiled,
        request: Arc<Request>,
        captures: Captures,
        site: Arc<Site>,
        writes: mpsc::Sender<WriteCmd>,
    ) -> Outcome {
        let limits = &self.limits;
        let wall = Duration::from_secs_f64(limits.wall_time_secs);
        let deadline = tokio::time::Instant::now() + wall;
        let tag = format!("{} {}", compiled.path.display(), request.target);
        let fail = |message: String| Outcome::Failed {
            status: 500,
            message,
            writer_used: false,
        };

        // Wait for an instance slot (within the wall time).
        let slot = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned()).await;
        let Ok(Ok(_permit)) = slot else {
            return fail(format!("no instance slot free within {wall:?}"));
        };
        // CPU time is counted from here: waiting for a slot is not the guest's.
        let started = Instant::now();

        let output = LogSink::new(limits.max_log_bytes);
        let wasi = WasiCtxBuilder::new()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let memory = (limits.max_memory_mib as usize) << 20;
        let state = HostState {
            table: ResourceTable::new(),
            wasi,
            limits: StoreLimitsBuilder::new()
                .memory_size(memory)
                .table_elements(limits.max_table_elements)
                .trap_on_grow_failure(true)
                .build(),
            request: request.clone(),
            captures,
            site,
            response: Response::default(),
            body: Vec::new(),
            form: None,
            writes,
            writer_used: false,
            response_bytes: 0,
            max_response_bytes: limits.max_response_bytes,
            started,
            parked: Duration::ZERO,
            tag: tag.clone(),
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        let budget = Duration::from_millis(limits.cpu_time_ms);
        store.epoch_deadline_callback(move |ctx| {
            if ctx.data().cpu_time() > budget {
                Err(wasmtime::Error::new(CpuLimit(budget)))
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store.set_epoch_deadline(1);

        let call = async {
            let table = &mut store.data_mut().table;
            let req = table.push(RequestHandle)?;
            let resp = table.push(ResponseHandle)?;
            let writer = table.push(WriterHandle)?;
            let instance = compiled.pre.instantiate_async(&mut store).await?;
            instance.call_handle(&mut store, req, resp, writer).await
        };
        let result = tokio::time::timeout_at(deadline, call).await;

        let mut state = store.into_data();
        state.response.body = std::mem::take(&mut state.body).into();
        let writer_used = state.writer_used;
        let (stdout, dropped) = output.contents();
        let outcome = match result {
            Ok(Ok(Ok(()))) if writer_used => Outcome::Written,
            Ok(Ok(Ok(()))) => Outcome::Response(state.response),
            Ok(Ok(Err(e))) => Outcome::Failed {
                status: e.code,
                message: e.message,
                writer_used,
            },
            Ok(Err(e)) => Outcome::Failed {
                status: 500,
                message: describe_trap(&e, &compiled.path, limits.max_memory_mib, &stdout),
                writer_used,
            },
            Err(_) => Outcome::Failed {
                status: 500,
                message: format!(
                    "handler {} exceeded the wall-time limit of {} s",
                    compiled.path.display(),
                    limits.wall_time_secs
                ),
                writer_used,
            },
        };
        log_output(
            &tag,
            &stdout,
            dropped,
            matches!(outcome, Outcome::Failed { .. }),
        );
        if let Outcome::Failed {
            status, message, ..
        } = &outcome
        {
            if *status >= 500 {
                tracing::warn!(target: "sandserve::guest", "{tag}: {message}");
            }
        }
        outcome
    }
}

/// A trap, in words a test author can act on.
fn describe_trap(
    e: &wasmtime::Error,
    path: &std::path::Path,
    memory_mib: u64,
    output: &[u8],
) -> String {
    let name = path.display();
    let cause = if let Some(limit) = e.downcast_ref::<CpuLimit>() {
        limit.to_string()
    } else if let Some(trap) = e.downcast_ref::<Trap>() {
        match trap {
            Trap::StackOverflow => "overflowed its stack".to_string(),
            Trap::UnreachableCodeReached if !output.is_empty() => "panicked".to_string(),
            other => format!("trapped: {other}"),
        }
    } else {
        let text = format!("{e:#}");
        if text.contains("forcing trap when growing memory")
            || text.contains("memory") && text.contains("limit")
        {
            format!("exceeded the memory limit of {memory_mib} MiB")
        } else {
            format!("failed: {text}")
        }
    };
    let mut message = format!("handler {name} {cause}");
    if !output.is_empty() {
        // The end of the guest's output usually says why (a panic message).
        let tail = &output[output.len().saturating_sub(2048)..];
        message.push_str(": ");
        message.push_str(String::from_utf8_lossy(tail).trim());
    }
    message
}

fn log_output(tag: &str, output: &[u8], dropped: u64, failed: bool) {
    if output.is_empty() {
        return;
    }
    let text = String::from_utf8_lossy(output);
    let more = if dropped > 0 {
        format!(" (and {dropped} more bytes, dropped)")
    } else {
        String::new()
    };
    if failed {
        tracing::warn!(target: "sandserve::guest", "{tag} output{more}:\n{}", text.trim_end());
    } else {
        tracing::info!(target: "sandserve::guest", "{tag} output{more}:\n{}", text.trim_end());
    }
}
