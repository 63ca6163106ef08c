//! `view` (0.2): where the read-only view of the document root is in the
//! guest's file system, when the route granted one.

use crate::worlds::handler::bindings::v0_2::sandserve::handler::view::Host;
use crate::worlds::handler::state::HostState;

impl Host for HostState {
    fn doc_root(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.view.as_ref().map(|v| v.doc_root.clone()))
    }

    fn aliases(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        Ok(self
            .view
            .as_ref()
            .map(|v| v.aliases.clone())
            .unwrap_or_default())
    }

    fn script(&mut self) -> wasmtime::Result<Option<String>> {
        Ok(self.view.as_ref().and_then(|v| v.script.clone()))
    }
}
