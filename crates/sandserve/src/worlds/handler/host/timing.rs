//! `timing.sleep`: parks the request (never a thread); the time counts as
//! wall time, not CPU time.

use std::time::{Duration, Instant};

use crate::worlds::handler::bindings::sandserve::handler::timing::Host;
use crate::worlds::handler::state::HostState;

impl Host for HostState {
    async fn sleep(&mut self, duration: u64) -> wasmtime::Result<()> {
        let start = Instant::now();
        tokio::time::sleep(Duration::from_nanos(duration)).await;
        self.sandbox.clock.parked_since(start);
        Ok(())
    }
}
