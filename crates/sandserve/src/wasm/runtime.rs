//! The engine every handler runs on: compiled with Cranelift, instances from
//! a pooling allocator, interrupted by epochs, with every limit set.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings::Handler;
use super::cache::{default_dir, DiskCache};
use super::loader::{Compiled, LoadError, LoadStats, Loader};
use super::state::HostState;
use crate::config::WasmLimits;

/// How often the epoch advances: the granularity of CPU-time accounting and
/// of yielding to other requests.
pub const TICK: Duration = Duration::from_millis(10);

/// The handler runtime shared by every connection.
pub struct WasmRuntime {
    pub(super) engine: Engine,
    pub(super) linker: Linker<HostState>,
    pub(super) limits: WasmLimits,
    pub(super) slots: Arc<Semaphore>,
    loader: Loader,
    ticking: Arc<AtomicBool>,
}

impl std::fmt::Debug for WasmRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmRuntime")
            .field("limits", &self.limits)
            .finish()
    }
}

impl WasmRuntime {
    /// An engine configured by `limits`.
    pub fn new(limits: &WasmLimits) -> Result<Self, String> {
        let engine = match engine_with(limits, true) {
            Ok(engine) => engine,
            Err(e) => {
                // PAGEMAP_SCAN needs Linux 6.7: without it, instance memory
                // is reset by zeroing a little and returning the rest.
                tracing::info!("resetting instance memory without PAGEMAP_SCAN ({e})");
                engine_with(limits, false)?
            }
        };

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| format!("wasm linker: {e:#}"))?;
        Handler::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(|e| format!("wasm linker: {e:#}"))?;

        let ticking = Arc::new(AtomicBool::new(true));
        let (ticker_engine, still_ticking) = (engine.clone(), ticking.clone());
        std::thread::Builder::new()
            .name("sandserve-epoch".into())
            .spawn(move || {
                while still_ticking.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    ticker_engine.increment_epoch();
                }
            })
            .map_err(|e| format!("epoch thread: {e}"))?;

        let disk = if limits.disk_cache {
            let root = limits.cache_dir.clone().unwrap_or_else(default_dir);
            match DiskCache::open(&root, &engine, limits.cache_max_mib << 20) {
                Ok(cache) => Some(cache),
                Err(e) => {
                    tracing::warn!("compile cache {} not used: {e}", root.display());
                    None
                }
            }
        } else {
            None
        };

        Ok(WasmRuntime {
            engine,
            linker,
            limits: limits.clone(),
            slots: Arc::new(Semaphore::new(limits.max_instances as usize)),
            loader: Loader::new(disk),
            ticking,
        })
    }

    /// The compiled handler of a file.
    pub async fn load(&self, path: &Path) -> Result<Arc<Compiled>, LoadError> {
        self.loader.load(&self.engine, &self.linker, path).await
    }

    /// How handlers were obtained since start-up.
    pub fn load_stats(&self) -> LoadStats {
        self.loader.stats()
    }

    /// The disk cache in use, if any.
    pub fn disk_cache(&self) -> Option<&DiskCache> {
        self.loader.disk()
    }
}

impl Drop for WasmRuntime {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
    }
}

/// An engine for `limits`. With `pagemap_scan`, slots are reset by finding
/// the pages a request dirtied (Linux `PAGEMAP_SCAN`) and zeroing only those,
/// keeping up to `keep_resident_kib` resident: no `madvise`, so no TLB
/// shootdowns across cores, and no page faults on the next use. Measured:
/// three times the requests per second for a small handler.
fn engine_with(limits: &WasmLimits, pagemap_scan: bool) -> Result<Engine, String> {
    let instances = limits.max_instances;
    let memory = (limits.max_memory_mib as usize) << 20;
    let stack = limits.max_stack_kib << 10;
    let async_stack = stack + (512 << 10);
    let resident = if pagemap_scan {
        limits.keep_resident_kib << 10
    } else {
        // Zeroing all of it would cost more than returning it.
        (limits.keep_resident_kib << 10).min(1 << 20)
    };
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(4))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(2))
        .total_stacks(instances)
        .max_core_instances_per_component(32)
        .max_memories_per_component(8)
        .max_tables_per_component(8)
        .max_memory_size(memory)
        .table_elements(limits.max_table_elements)
        .linear_memory_keep_resident(resident)
        .table_keep_resident(resident)
        .async_stack_keep_resident(async_stack);
    if pagemap_scan {
        pool.pagemap_scan(Enabled::Yes);
    }
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(stack)
        .async_stack_size(async_stack)
        .memory_reservation(memory as u64)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).map_err(|e| format!("wasm engine: {e:#}"))
}
