//! The interfaces every world imports alike — `server`, `stash` (and its
//! lock) and `log` of `sandserve:handler@0.3.0` (and 0.2.0, 0.1.0) — implemented
//! once for any store that holds [`Common`]. A world's store implements
//! [`Guest`]; `timing`, whose waiting depends on the world's client, stays
//! with each world.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Resource;

use crate::stash::{LockHeld, Stash, StashError};
use crate::tenants::{Held, Tenants};
use crate::text::log_safe;
use crate::topology::Topology;
use crate::wasm::{Runtime, Sandbox, Sandboxed, Stop};
use crate::worlds::handler::Grant;

/// What an instance of any world is granted besides its sandbox: the stash
/// (its keys under `stash_path` unless a guest names another), the server's
/// names and ports, and its share of the log.
pub struct Common {
    pub stash: Arc<Stash>,
    pub topology: Arc<Topology>,
    /// The default path of stash keys: the request's.
    pub stash_path: String,
    /// Who owns what the guest stores (its client's address).
    pub owner: IpAddr,
    /// Names the request or connection in log lines (escaped for the log).
    pub tag: String,
    /// Bytes of `log` lines still allowed.
    pub log_budget: usize,
    /// Bytes of `log` lines dropped over the budget.
    pub log_dropped: u64,
    /// Where the read-only view this instance was granted is, if any.
    pub view: Option<crate::worlds::handler::ViewPaths>,
}

impl Common {
    /// Logs what the guest printed and the lines it lost over its budget.
    pub fn log_end(&self, output: &crate::wasm::output::LogSink, failed: bool) {
        crate::wasm::output::log_output(&self.tag, output, failed);
        if self.log_dropped > 0 {
            tracing::warn!(
                target: "sandserve::guest",
                "{}: {} bytes of log lines over wasm.max_log_bytes dropped",
                self.tag,
                self.log_dropped
            );
        }
    }
}

/// What every world is given: the runtime its guests run on, the stash and
/// the server's names and ports it grants them, and the per-client caps.
pub struct Base {
    pub runtime: Arc<Runtime>,
    pub stash: Arc<Stash>,
    pub topology: Arc<Topology>,
    pub tenants: Arc<crate::tenants::Tenants>,
}

/// A guest instance ready to be made: admitted, with its sandbox and what it
/// is granted, and when its wall time ends.
pub struct Begun {
    /// Held while it runs: its client's count of handler requests, and an
    /// instance slot.
    pub admitted: (crate::tenants::Pass, tokio::sync::OwnedSemaphorePermit),
    pub sandbox: Sandbox,
    pub common: Common,
    pub deadline: tokio::time::Instant,
}

impl Base {
    /// Admits an instance for `request` (handler `name`, granted `grant`):
    /// counted against its client's caps, then an instance slot, waited for
    /// until the wall time ends (wall time, not CPU time: the sandbox's
    /// clock starts once the slot is won; a client that goes away meanwhile
    /// gives up its place: `Written`, the writer's framing broken); then its
    /// sandbox, charged to the client's memory account.
    pub async fn begin(
        &self,
        request: &crate::http::Request,
        name: &str,
        grant: Option<&Grant>,
        writer: &mut crate::http::ResponseWriter,
    ) -> Result<Begun, crate::reply::Reply> {
        use crate::reply::{ErrorAnswer, Reply};
        let limits = self.runtime.limits();
        let deadline = tokio::time::Instant::now() + limits.wall_time();
        let client = request.peer.client.ip();
        let pass = self
            .tenants
            .admit(client, crate::tenants::Held::HandlerRequest)
            .map_err(|cap| Reply::from(ErrorAnswer::Crowded(cap)))?;
        let slot = tokio::select! {
            slot = self.runtime.slot(deadline) => slot,
            _ = writer.transport().gone() => {
                writer.break_framing();
                return Err(Reply::Written);
            }
        };
        let Some(slot) = slot else {
            let busy = ErrorAnswer::Busy {
                what: "no instance slot came free within the wall-time limit",
            };
            return Err(busy.into());
        };
        let mut sandbox = sandbox(&self.runtime, grant).map_err(|e| Reply::Error(e.into()))?;
        sandbox.limiter.account = self.tenants.memory_account(client);
        let common = Common {
            stash: self.stash.clone(),
            topology: self.topology.clone(),
            stash_path: request.path.clone(),
            owner: client,
            tag: log_safe(&format!("{name} {}", request.target)).into_owned(),
            log_budget: limits.max_log_bytes,
            log_dropped: 0,
            view: grant.map(|g| g.paths.clone()),
        };
        Ok(Begun {
            admitted: (pass, slot),
            sandbox,
            common,
            deadline,
        })
    }
}

/// A sandbox granting what `grant` says (read-only directories, through
/// WASI's file system) or nothing; the error names the directory that could
/// not be granted.
fn sandbox(runtime: &Runtime, grant: Option<&Grant>) -> Result<Sandbox, crate::files::FileError> {
    let Some(grant) = grant else {
        return Ok(runtime.sandbox());
    };
    // The view's file system calls go to blocking threads, though running
    // them on the request's thread would take a fifth off a Python
    // request's latency: opening a named pipe blocks until a writer comes,
    // and would hold a worker thread (a served directory may hold one).
    let mut wasi = wasmtime_wasi::WasiCtxBuilder::new();
    for (dir, at) in &grant.dirs {
        if let Err(e) = wasi.preopened_dir(dir, at, wasmtime_wasi::FsPerms::ReadOnly) {
            return Err(crate::files::FileError::Unreadable {
                path: at.clone(),
                source: std::io::Error::other(e.to_string()),
            });
        }
    }
    Ok(runtime.sandbox_with(wasi))
}

/// The stash lock, held: the `stash.lock-guard` resource.
pub struct LockGuard(#[allow(dead_code)] pub LockHeld);

/// A world's store: its sandbox, what it shares with every world, and when
/// its client goes (a guest parked on the stash lock is stopped then).
pub trait Guest: Sandboxed {
    /// What every world grants.
    fn common(&mut self) -> &mut Common;
    /// Resolves when the client has gone.
    fn client_gone(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Waits for `wait` with the guest parked: its turn to compute given back
/// and its CPU clock stopped (the wait is wall time, not CPU time). `None`
/// when its client went first.
pub async fn parked<T: Guest, R>(state: &mut T, wait: impl Future<Output = R>) -> Option<R> {
    state.sandbox().give_turn();
    state.sandbox().clock.suspend();
    let result = tokio::select! {
        result = wait => Some(result),
        _ = state.client_gone() => None,
    };
    state.sandbox().clock.resume();
    result
}

/// Sleeps `nanos`, parked, counted among its client's sleeping handlers
/// (a client at its cap stops the guest). Returns whether the client went
/// meanwhile (which cuts the sleep short).
pub async fn sleep<T: Guest>(
    state: &mut T,
    tenants: &Arc<Tenants>,
    nanos: u64,
) -> wasmtime::Result<bool> {
    let client = state.common().owner;
    let _asleep = tenants
        .admit(client, Held::Sleeping)
        .map_err(Stop::Crowded)?;
    let slept = parked(state, tokio::time::sleep(Duration::from_nanos(nanos))).await;
    Ok(slept.is_none())
}

/// Runs one stash call. A call to a shared store is parked, and a client
/// that goes meanwhile stops the guest; a call to this process's memory
/// just runs.
pub async fn stash_call<T: Guest, R>(
    state: &mut T,
    call: impl Future<Output = R>,
) -> wasmtime::Result<R> {
    if !state.common().stash.is_shared() {
        return Ok(call.await);
    }
    parked(state, call)
        .await
        .ok_or_else(|| Stop::ClientGone.into())
}

/// Takes the stash lock, parked while another guest holds it (wall time,
/// not CPU time). The guard lives in the resource table, so it is released
/// when the guest drops it or the store goes, however the instance ended.
pub async fn lock_stash<T: Guest>(
    state: &mut T,
) -> wasmtime::Result<Result<Resource<LockGuard>, StashError>> {
    let stash = state.common().stash.clone();
    match parked(state, stash.hold_lock()).await {
        None => Err(Stop::ClientGone.into()),
        Some(Ok(held)) => Ok(Ok(state.sandbox().table.push(LockGuard(held))?)),
        Some(Err(e)) => Ok(Err(e)),
    }
}

/// A stash error for a guest whose world (before 0.3.0) has no
/// `unavailable`: the store's failure stops it.
pub fn stash_error_before_0_3<E>(
    e: StashError,
    convert: impl FnOnce(StashError) -> E,
) -> wasmtime::Result<E> {
    match e {
        StashError::Unavailable(why) => Err(Stop::StashUnavailable(why).into()),
        e => Ok(convert(e)),
    }
}

/// Longest line a guest may log; longer ones are cut.
const MAX_LINE: usize = 4096;

/// A guest's line in the server's log, tagged, escaped (a line break or a
/// terminal escape cannot forge a log line), and bounded per instance by
/// `wasm.max_log_bytes` together with its stdout and stderr.
pub fn log_line(c: &mut Common, level: tracing::Level, message: String) {
    if c.log_budget < message.len() {
        c.log_dropped = c.log_dropped.saturating_add(message.len() as u64);
        return;
    }
    c.log_budget -= message.len();
    let mut message = message;
    if message.len() > MAX_LINE {
        let mut cut = MAX_LINE;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push('…');
    }
    let tag = &c.tag;
    let message = log_safe(&message);
    match level {
        tracing::Level::ERROR => tracing::error!(target: "sandserve::guest", "{tag}: {message}"),
        tracing::Level::WARN => tracing::warn!(target: "sandserve::guest", "{tag}: {message}"),
        tracing::Level::INFO => tracing::info!(target: "sandserve::guest", "{tag}: {message}"),
        tracing::Level::DEBUG => tracing::debug!(target: "sandserve::guest", "{tag}: {message}"),
        tracing::Level::TRACE => tracing::trace!(target: "sandserve::guest", "{tag}: {message}"),
    }
}

/// Implements the shared interfaces (`server`, `stash`, `log`, both
/// versions) for a world's store type, which implements [`Guest`].
#[macro_export]
macro_rules! impl_shared_interfaces {
    ($state:ty) => {
        $crate::impl_shared_interfaces!(@stash $state, v0_1, old {});
        $crate::impl_shared_interfaces!(@stash $state, v0_2, old {
            async fn lock(
                &mut self,
            ) -> wasmtime::Result<wasmtime::component::Resource<$crate::worlds::shared::LockGuard>> {
                match $crate::worlds::shared::lock_stash(self).await? {
                    Ok(guard) => Ok(guard),
                    // Only a store out of reach fails the lock.
                    Err(e) => Err(refused(e).err().unwrap_or_else(|| {
                        wasmtime::Error::msg("the stash lock failed")
                    })),
                }
            }
        });
        $crate::impl_shared_interfaces!(@stash $state, v0_3, current {
            async fn lock(
                &mut self,
            ) -> wasmtime::Result<
                Result<wasmtime::component::Resource<$crate::worlds::shared::LockGuard>, StashError>,
            > {
                Ok($crate::worlds::shared::lock_stash(self).await?.map_err(convert))
            }
        });
        $crate::impl_shared_interfaces!(@log $state, v0_1);
        $crate::impl_shared_interfaces!(@log $state, v0_2);
        $crate::impl_shared_interfaces!(@log $state, v0_3);
        $crate::impl_shared_interfaces!(@guard $state, v0_2);
        $crate::impl_shared_interfaces!(@guard $state, v0_3);
        $crate::impl_shared_interfaces!(@server $state, v0_2);
        $crate::impl_shared_interfaces!(@server $state, v0_3);

        impl $crate::worlds::handler::bindings::v0_1::sandserve::handler::server::Host for $state {
            fn browser_host(&mut self) -> wasmtime::Result<String> {
                $crate::worlds::handler::bindings::v0_2::sandserve::handler::server::Host::browser_host(self)
            }

            fn domain(&mut self, host: String, subdomain: String) -> wasmtime::Result<Option<String>> {
                $crate::worlds::handler::bindings::v0_2::sandserve::handler::server::Host::domain(
                    self, host, subdomain,
                )
            }

            fn ports(&mut self, scheme: String) -> wasmtime::Result<Vec<u16>> {
                $crate::worlds::handler::bindings::v0_2::sandserve::handler::server::Host::ports(self, scheme)
            }
        }
    };

    (@guard $state:ty, $v:ident) => {
        impl $crate::worlds::handler::bindings::$v::sandserve::handler::stash::HostLockGuard
            for $state
        {
            fn drop(
                &mut self,
                guard: wasmtime::component::Resource<$crate::worlds::shared::LockGuard>,
            ) -> wasmtime::Result<()> {
                use $crate::wasm::Sandboxed;
                self.sandbox().table.delete(guard)?;
                Ok(())
            }
        }
    };

    (@server $state:ty, $v:ident) => {
        impl $crate::worlds::handler::bindings::$v::sandserve::handler::server::Host for $state {
            fn browser_host(&mut self) -> wasmtime::Result<String> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().topology.browser_host().to_string())
            }

            fn domain(&mut self, host: String, subdomain: String) -> wasmtime::Result<Option<String>> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().topology.domain(&host, &subdomain).map(str::to_string))
            }

            fn ports(&mut self, scheme: String) -> wasmtime::Result<Vec<u16>> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().topology.ports(&scheme).unwrap_or_default().to_vec())
            }

            fn schemes(&mut self) -> wasmtime::Result<Vec<String>> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().topology.schemes().map(str::to_string).collect())
            }

            fn subdomains(&mut self) -> wasmtime::Result<Vec<String>> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().topology.subdomains().map(str::to_string).collect())
            }

            fn not_subdomains(&mut self) -> wasmtime::Result<Vec<String>> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().topology.not_subdomains().to_vec())
            }

            fn alternate_hosts(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
                use $crate::worlds::shared::Guest;
                Ok(self
                    .common()
                    .topology
                    .alternate_hosts()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect())
            }
        }

        impl $crate::worlds::handler::bindings::$v::sandserve::handler::view::Host for $state {
            fn doc_root(&mut self) -> wasmtime::Result<Option<String>> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().view.as_ref().map(|v| v.doc_root.clone()))
            }

            fn aliases(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().view.as_ref().map(|v| v.aliases.clone()).unwrap_or_default())
            }

            fn script(&mut self) -> wasmtime::Result<Option<String>> {
                use $crate::worlds::shared::Guest;
                Ok(self.common().view.as_ref().and_then(|v| v.script.clone()))
            }
        }

    };

    (@stash $state:ty, $v:ident, $era:ident { $($extra:tt)* }) => {
        const _: () = {
            use $crate::stash::StashError as Error;
            use $crate::worlds::handler::bindings::$v::sandserve::handler::stash::{Host, StashError};
            use $crate::worlds::shared::{stash_call, Guest};

            fn convert(e: Error) -> StashError {
                $crate::impl_shared_interfaces!(@convert $era, e)
            }

            /// The error the guest hears, or the stop of a guest that
            /// cannot hear it.
            fn refused(e: Error) -> wasmtime::Result<StashError> {
                $crate::impl_shared_interfaces!(@refused $era, e)
            }

            fn answer<T>(result: Result<T, Error>) -> wasmtime::Result<Result<T, StashError>> {
                match result {
                    Ok(value) => Ok(Ok(value)),
                    Err(e) => Ok(Err(refused(e)?)),
                }
            }

            impl Host for $state {
                async fn put(
                    &mut self,
                    key: String,
                    value: Vec<u8>,
                    path: Option<String>,
                ) -> wasmtime::Result<Result<(), StashError>> {
                    let c = self.common();
                    let (stash, owner) = (c.stash.clone(), c.owner);
                    let path = path.unwrap_or_else(|| c.stash_path.clone());
                    answer(stash_call(self, stash.put(&path, &key, value, owner)).await?)
                }

                async fn take(
                    &mut self,
                    key: String,
                    path: Option<String>,
                ) -> wasmtime::Result<Result<Option<Vec<u8>>, StashError>> {
                    let c = self.common();
                    let stash = c.stash.clone();
                    let path = path.unwrap_or_else(|| c.stash_path.clone());
                    answer(stash_call(self, stash.take(&path, &key)).await?)
                }

                async fn peek(
                    &mut self,
                    key: String,
                    path: Option<String>,
                ) -> wasmtime::Result<Result<Option<Vec<u8>>, StashError>> {
                    let c = self.common();
                    let stash = c.stash.clone();
                    let path = path.unwrap_or_else(|| c.stash_path.clone());
                    answer(stash_call(self, stash.peek(&path, &key)).await?)
                }

                async fn compare_and_swap(
                    &mut self,
                    key: String,
                    path: Option<String>,
                    expected: Option<Vec<u8>>,
                    new: Option<Vec<u8>>,
                ) -> wasmtime::Result<Result<bool, StashError>> {
                    let c = self.common();
                    let (stash, owner) = (c.stash.clone(), c.owner);
                    let path = path.unwrap_or_else(|| c.stash_path.clone());
                    let swap = stash.compare_and_swap(&path, &key, expected.as_deref(), new, owner);
                    answer(stash_call(self, swap).await?)
                }

                $($extra)*
            }
        };
    };

    (@convert current, $e:ident) => {
        match $e {
            Error::InvalidKey(k) => StashError::InvalidKey(k),
            Error::AlreadyPresent => StashError::AlreadyPresent,
            Error::TooLarge(why) => StashError::TooLarge(why),
            Error::Unavailable(why) => StashError::Unavailable(why),
        }
    };

    (@convert old, $e:ident) => {
        match $e {
            Error::InvalidKey(k) => StashError::InvalidKey(k),
            Error::AlreadyPresent => StashError::AlreadyPresent,
            Error::TooLarge(why) | Error::Unavailable(why) => StashError::TooLarge(why),
        }
    };

    (@refused current, $e:ident) => {
        Ok(convert($e))
    };

    (@refused old, $e:ident) => {
        $crate::worlds::shared::stash_error_before_0_3($e, convert)
    };

    (@log $state:ty, $v:ident) => {
        impl $crate::worlds::handler::bindings::$v::sandserve::handler::log::Host for $state {
            fn log(
                &mut self,
                level: $crate::worlds::handler::bindings::$v::sandserve::handler::log::Level,
                message: String,
            ) -> wasmtime::Result<()> {
                use $crate::worlds::handler::bindings::$v::sandserve::handler::log::Level;
                use $crate::worlds::shared::Guest;
                let level = match level {
                    Level::Error => tracing::Level::ERROR,
                    Level::Warn => tracing::Level::WARN,
                    Level::Info => tracing::Level::INFO,
                    Level::Debug => tracing::Level::DEBUG,
                    Level::Trace => tracing::Level::TRACE,
                };
                $crate::worlds::shared::log_line(self.common(), level, message);
                Ok(())
            }
        }
    };
}
