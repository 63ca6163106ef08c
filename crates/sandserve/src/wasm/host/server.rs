//! `server`: facts for building URLs.

use crate::wasm::bindings::sandserve::handler::server::Host;
use crate::wasm::state::HostState;

impl Host for HostState {
    fn browser_host(&mut self) -> wasmtime::Result<String> {
        Ok(self.site.config.browser_host.clone())
    }

    fn domain(&mut self, host: String, subdomain: String) -> wasmtime::Result<Option<String>> {
        Ok(self
            .site
            .hosts
            .domain(&host, &subdomain)
            .map(str::to_string))
    }

    fn ports(&mut self, scheme: String) -> wasmtime::Result<Vec<u16>> {
        Ok(self.site.ports.get(&scheme).cloned().unwrap_or_default())
    }
}
