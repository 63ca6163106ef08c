//! `server`: facts for building URLs.

use crate::worlds::handler::bindings::{v0_1, v0_2};
use crate::worlds::handler::state::HostState;

impl v0_2::sandserve::handler::server::Host for HostState {
    fn browser_host(&mut self) -> wasmtime::Result<String> {
        Ok(self.topology.browser_host().to_string())
    }

    fn domain(&mut self, host: String, subdomain: String) -> wasmtime::Result<Option<String>> {
        Ok(self.topology.domain(&host, &subdomain).map(str::to_string))
    }

    fn ports(&mut self, scheme: String) -> wasmtime::Result<Vec<u16>> {
        Ok(self.topology.ports(&scheme).unwrap_or_default().to_vec())
    }

    fn schemes(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.topology.schemes().map(str::to_string).collect())
    }

    fn subdomains(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.topology.subdomains().map(str::to_string).collect())
    }

    fn not_subdomains(&mut self) -> wasmtime::Result<Vec<String>> {
        Ok(self.topology.not_subdomains().to_vec())
    }

    fn alternate_hosts(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .topology
            .alternate_hosts()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect())
    }
}

impl v0_1::sandserve::handler::server::Host for HostState {
    fn browser_host(&mut self) -> wasmtime::Result<String> {
        v0_2::sandserve::handler::server::Host::browser_host(self)
    }

    fn domain(&mut self, host: String, subdomain: String) -> wasmtime::Result<Option<String>> {
        v0_2::sandserve::handler::server::Host::domain(self, host, subdomain)
    }

    fn ports(&mut self, scheme: String) -> wasmtime::Result<Vec<u16>> {
        v0_2::sandserve::handler::server::Host::ports(self, scheme)
    }
}
