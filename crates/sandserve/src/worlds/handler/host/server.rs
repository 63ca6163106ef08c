//! `server`: facts for building URLs.

use crate::worlds::handler::bindings::sandserve::handler::server::Host;
use crate::worlds::handler::state::HostState;

impl Host for HostState {
    fn browser_host(&mut self) -> wasmtime::Result<String> {
        Ok(self.topology.browser_host().to_string())
    }

    fn domain(&mut self, host: String, subdomain: String) -> wasmtime::Result<Option<String>> {
        Ok(self.topology.domain(&host, &subdomain).map(str::to_string))
    }

    fn ports(&mut self, scheme: String) -> wasmtime::Result<Vec<u16>> {
        Ok(self.topology.ports(&scheme).unwrap_or_default().to_vec())
    }
}
