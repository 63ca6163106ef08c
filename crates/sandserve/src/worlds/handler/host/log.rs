//! `log`: a guest's lines in the server's log, tagged with the request,
//! escaped (a line break or a terminal escape cannot forge a log line), and
//! bounded per request by `wasm.max_log_bytes` together with its stdout and
//! stderr.

// The same for both versions of the world.
macro_rules! for_version {
    ($v:ident) => {
        const _: () = {
            use crate::text::log_safe;
            use crate::worlds::handler::bindings::$v::sandserve::handler::log::{Host, Level};
            use crate::worlds::handler::state::HostState;

            /// Longest line a guest may log; longer ones are cut.
            const MAX_LINE: usize = 4096;

            impl Host for HostState {
                fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
                    if self.log_budget < message.len() {
                        self.log_dropped = self.log_dropped.saturating_add(message.len() as u64);
                        return Ok(());
                    }
                    self.log_budget -= message.len();
                    let mut message = message;
                    if message.len() > MAX_LINE {
                        let mut cut = MAX_LINE;
                        while !message.is_char_boundary(cut) {
                            cut -= 1;
                        }
                        message.truncate(cut);
                        message.push('…');
                    }
                    let tag = &self.tag;
                    let message = log_safe(&message);
                    match level {
                        Level::Error => {
                            tracing::error!(target: "sandserve::guest", "{tag}: {message}")
                        }
                        Level::Warn => {
                            tracing::warn!(target: "sandserve::guest", "{tag}: {message}")
                        }
                        Level::Info => {
                            tracing::info!(target: "sandserve::guest", "{tag}: {message}")
                        }
                        Level::Debug => {
                            tracing::debug!(target: "sandserve::guest", "{tag}: {message}")
                        }
                        Level::Trace => {
                            tracing::trace!(target: "sandserve::guest", "{tag}: {message}")
                        }
                    }
                    Ok(())
                }
            }
        };
    };
}

for_version!(v0_1);
for_version!(v0_2);
