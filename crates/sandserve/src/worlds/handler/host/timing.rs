//! `timing.sleep`: parks the request (never a thread); the time counts as
//! wall time, not CPU time. A client that goes away meanwhile ends it: the
//! guest is stopped and its instance slot freed at once.

use crate::wasm::Stop;
use crate::worlds::handler::bindings::{v0_1, v0_2, v0_3};
use crate::worlds::handler::state::HostState;

impl HostState {
    /// Sleeps. A client known to be gone before the sleep stops the guest;
    /// one that goes during it stops a 0.1 guest, and cuts a 0.2 guest's
    /// sleep short (`cut_short`) so that its next write hears `closed`.
    async fn sleep(&mut self, duration: u64, cut_short: bool) -> wasmtime::Result<()> {
        if self.client_gone {
            return Err(Stop::ClientGone.into());
        }
        let tenants = self.tenants.clone();
        if crate::worlds::shared::sleep(self, &tenants, duration).await? {
            self.client_gone = true;
            self.writer.break_framing();
            if !cut_short {
                return Err(Stop::ClientGone.into());
            }
        }
        Ok(())
    }
}

impl v0_3::sandserve::handler::timing::Host for HostState {
    async fn sleep(&mut self, duration: u64) -> wasmtime::Result<()> {
        HostState::sleep(self, duration, true).await
    }
}

impl v0_2::sandserve::handler::timing::Host for HostState {
    async fn sleep(&mut self, duration: u64) -> wasmtime::Result<()> {
        HostState::sleep(self, duration, true).await
    }
}

impl v0_1::sandserve::handler::timing::Host for HostState {
    async fn sleep(&mut self, duration: u64) -> wasmtime::Result<()> {
        HostState::sleep(self, duration, false).await
    }
}
