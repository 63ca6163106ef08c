//! `stash`: the server's shared stash, scoped by default to the request path.

use crate::stash::StashError as Error;
use crate::worlds::handler::bindings::sandserve::handler::stash::{Host, StashError};
use crate::worlds::handler::state::HostState;

fn convert(e: Error) -> StashError {
    match e {
        Error::InvalidKey(k) => StashError::InvalidKey(k),
        Error::AlreadyPresent => StashError::AlreadyPresent,
        Error::TooLarge(why) => StashError::TooLarge(why),
    }
}

impl HostState {
    fn stash_path(&self, path: Option<String>) -> String {
        path.unwrap_or_else(|| self.request.path.clone())
    }
}

impl Host for HostState {
    fn put(
        &mut self,
        key: String,
        value: Vec<u8>,
        path: Option<String>,
    ) -> wasmtime::Result<Result<(), StashError>> {
        let path = self.stash_path(path);
        let owner = self.request.peer.client.ip();
        Ok(self.stash.put(&path, &key, value, owner).map_err(convert))
    }

    fn take(
        &mut self,
        key: String,
        path: Option<String>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, StashError>> {
        let path = self.stash_path(path);
        Ok(self.stash.take(&path, &key).map_err(convert))
    }

    fn peek(
        &mut self,
        key: String,
        path: Option<String>,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, StashError>> {
        let path = self.stash_path(path);
        Ok(self.stash.peek(&path, &key).map_err(convert))
    }

    fn compare_and_swap(
        &mut self,
        key: String,
        path: Option<String>,
        expected: Option<Vec<u8>>,
        new: Option<Vec<u8>>,
    ) -> wasmtime::Result<Result<bool, StashError>> {
        let path = self.stash_path(path);
        Ok(self
            .stash
            .compare_and_swap(
                &path,
                &key,
                expected.as_deref(),
                new,
                self.request.peer.client.ip(),
            )
            .map_err(convert))
    }
}
