//! `stash`: the server's shared stash, scoped by default to the request
//! path, and (from 0.2) its lock.

use wasmtime::component::Resource;

use crate::worlds::handler::bindings::v0_2::sandserve::handler::stash::HostLockGuard;
use crate::worlds::handler::state::{HostState, LockGuard};

impl HostState {
    fn stash_path(&self, path: Option<String>) -> String {
        path.unwrap_or_else(|| self.request.path.clone())
    }

    /// Takes the stash lock, parked while another request holds it. The
    /// guard lives in the resource table, so it is released when the guest
    /// drops it or the store goes, however the instance ended.
    async fn lock_stash(&mut self) -> wasmtime::Result<Resource<LockGuard>> {
        self.sandbox.give_turn();
        self.sandbox.clock.suspend();
        let held = tokio::select! {
            held = self.stash.hold_lock() => Some(held),
            _ = self.writer.transport().gone() => None,
        };
        self.sandbox.clock.resume();
        let Some(held) = held else {
            return Err(crate::wasm::Stop::ClientGone.into());
        };
        Ok(self.sandbox.table.push(LockGuard(held))?)
    }
}

impl HostLockGuard for HostState {
    fn drop(&mut self, guard: Resource<LockGuard>) -> wasmtime::Result<()> {
        self.sandbox.table.delete(guard)?;
        Ok(())
    }
}

// The same for both versions of the world; `$extra` are the functions only
// the newer one has.
macro_rules! for_version {
    ($v:ident { $($extra:tt)* }) => {
        const _: () = {
            use crate::stash::StashError as Error;
            use crate::worlds::handler::bindings::$v::sandserve::handler::stash::{Host, StashError};

            fn convert(e: Error) -> StashError {
                match e {
                    Error::InvalidKey(k) => StashError::InvalidKey(k),
                    Error::AlreadyPresent => StashError::AlreadyPresent,
                    Error::TooLarge(why) => StashError::TooLarge(why),
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
                    let owner = self.request.peer.client.ip();
                    Ok(self
                        .stash
                        .compare_and_swap(&path, &key, expected.as_deref(), new, owner)
                        .map_err(convert))
                }

                $($extra)*
            }
        };
    };
}

for_version!(v0_1 {});
for_version!(v0_2 {
    async fn lock(&mut self) -> wasmtime::Result<Resource<LockGuard>> {
        self.lock_stash().await
    }
});
