//! The engine every guest runs on — compiled with Cranelift, instances from a
//! pooling allocator, interrupted by epochs — and what every world's store
//! is made of: a [`Sandbox`] that grants nothing, with every limit armed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime::component::ResourceTable;
use wasmtime::{
    CallHook, Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store,
    UpdateDeadline,
};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder};

use super::cache::DiskCache;
use super::limits::{CpuClock, Limiter, MemoryPool, MemoryReset, Stop, WasmLimits};
use super::loader::{LoadError, LoadStats, Loaded, Loader, Source, World};
use super::output::LogSink;

/// How often the epoch advances: the granularity of CPU-time accounting and
/// of yielding to other requests.
pub const TICK: Duration = Duration::from_millis(1);

/// A guest that has computed this long is a heavy one: from then on it takes
/// turns with the other heavy guests (see [`Runtime::store`]).
pub const HEAVY_AFTER: Duration = Duration::from_millis(2);

/// The engine, its instance slots and the loader, shared by every world.
pub struct Runtime {
    engine: Engine,
    limits: WasmLimits,
    slots: Arc<Semaphore>,
    /// The linear memory of all live instances together.
    memory: Arc<MemoryPool>,
    /// Turns to compute for heavy guests: one fewer than the worker threads
    /// (at least one), so a thread is always left for everything else.
    turns: Arc<Semaphore>,
    /// Instances started since start-up.
    started: AtomicU64,
    loader: Loader,
    ticker: Arc<Ticker>,
}

/// The thread that advances the epoch every [`TICK`] while instances run,
/// and sleeps while none does (an idle server does not wake a core a
/// thousand times a second).
#[derive(Debug)]
struct Ticker {
    alive: AtomicBool,
    /// Set while the thread sleeps for want of instances.
    asleep: AtomicBool,
    thread: std::sync::OnceLock<std::thread::Thread>,
}

impl Ticker {
    fn run(&self, engine: &Engine, slots: &Semaphore, all: usize) {
        let idle = || slots.available_permits() == all;
        while self.alive.load(Ordering::Relaxed) {
            std::thread::sleep(TICK);
            engine.increment_epoch();
            if idle() {
                self.asleep.store(true, Ordering::SeqCst);
                // Whoever takes a slot after this sees `asleep` and wakes
                // the thread; the bound is only a second line of defence.
                if idle() {
                    std::thread::park_timeout(Duration::from_millis(100));
                }
                self.asleep.store(false, Ordering::SeqCst);
            }
        }
    }

    /// An instance is about to run.
    fn wake(&self) {
        if self.asleep.load(Ordering::SeqCst) {
            if let Some(thread) = self.thread.get() {
                thread.unpark();
            }
        }
    }

    fn stop(&self) {
        self.alive.store(false, Ordering::Relaxed);
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish()
    }
}

/// Why the runtime could not be made.
#[derive(Debug)]
pub enum RuntimeError {
    /// wasmtime refused the engine's configuration.
    Engine(wasmtime::Error),
    /// The epoch thread could not be started.
    Thread(std::io::Error),
    /// A world's imports could not be linked.
    Linker(wasmtime::Error),
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeError::Engine(e) => write!(f, "wasm engine: {e:#}"),
            RuntimeError::Thread(e) => write!(f, "epoch thread: {e}"),
            RuntimeError::Linker(e) => write!(f, "wasm linker: {e:#}"),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// What every world's store data holds besides its own state: a WASI
/// context that grants nothing (no files, network, environment or
/// arguments; stdout and stderr into a bounded sink), its resource table,
/// the memory limiter and the CPU clock.
pub struct Sandbox {
    /// Resources handed to the guest.
    pub table: ResourceTable,
    /// WASI, granting nothing.
    pub wasi: WasiCtx,
    /// Memory and table limits.
    pub limiter: Limiter,
    /// CPU time used.
    pub clock: CpuClock,
    /// A heavy guest's turn to compute, while it has one.
    pub turn: Arc<std::sync::Mutex<Option<OwnedSemaphorePermit>>>,
    /// The guest's stdout and stderr.
    pub output: LogSink,
}

impl Sandbox {
    /// Gives back a heavy guest's turn to compute, before the guest is
    /// parked (asleep, waiting on its client): a parked guest holds no turn.
    pub fn give_turn(&self) {
        drop(self.turn.lock().unwrap_or_else(|p| p.into_inner()).take());
    }
}

/// Store data of a world: it holds a [`Sandbox`].
pub trait Sandboxed: Send + 'static {
    /// The sandbox.
    fn sandbox(&mut self) -> &mut Sandbox;
}

impl Runtime {
    /// An engine configured by `limits`, with its compile cache in
    /// `cache_dir` (when `limits.disk_cache` is on).
    pub fn new(limits: &WasmLimits, cache_dir: &Path) -> Result<Self, RuntimeError> {
        let engine = match limits.memory_reset {
            MemoryReset::Pagemap => engine_with(limits, true).map_err(RuntimeError::Engine)?,
            MemoryReset::Plain => engine_with(limits, false).map_err(RuntimeError::Engine)?,
            MemoryReset::Auto => match engine_with(limits, true) {
                Ok(engine) => engine,
                Err(e) => {
                    // PAGEMAP_SCAN needs Linux 6.7: without it, instance
                    // memory is reset by zeroing a little and returning the rest.
                    tracing::info!("resetting instance memory without PAGEMAP_SCAN ({e:#})");
                    engine_with(limits, false).map_err(RuntimeError::Engine)?
                }
            },
        };

        let slots = Arc::new(Semaphore::new(limits.max_instances as usize));
        let ticker = Arc::new(Ticker {
            alive: AtomicBool::new(true),
            asleep: AtomicBool::new(false),
            thread: Default::default(),
        });
        let (ticker_engine, ticker_slots, ticking) =
            (engine.clone(), slots.clone(), ticker.clone());
        let all = limits.max_instances as usize;
        let thread = std::thread::Builder::new()
            .name("sandserve-epoch".into())
            .spawn(move || ticking.run(&ticker_engine, &ticker_slots, all))
            .map_err(RuntimeError::Thread)?;
        let _ = ticker.thread.set(thread.thread().clone());

        let disk = if limits.disk_cache {
            match DiskCache::open(cache_dir, &engine, limits.cache_max_mib << 20) {
                Ok(cache) => Some(cache),
                Err(e) => {
                    tracing::warn!("compile cache {} not used: {e}", cache_dir.display());
                    None
                }
            }
        } else {
            None
        };

        Ok(Runtime {
            engine,
            limits: limits.clone(),
            slots,
            memory: Arc::new(MemoryPool::new(limits.total_memory_mib())),
            turns: Arc::new(Semaphore::new(heavy_turns())),
            started: AtomicU64::new(0),
            loader: Loader::new(disk, limits),
            ticker,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits every instance runs under.
    pub fn limits(&self) -> &WasmLimits {
        &self.limits
    }

    /// The component in `path`, compiled once per content and linked once
    /// per content and world.
    pub async fn load<W: World>(
        &self,
        world: &W,
        source: &Source,
    ) -> Result<Arc<Loaded<W::Pre>>, LoadError> {
        self.loader.load(&self.engine, world, source).await
    }

    /// How components were obtained since start-up.
    pub fn load_stats(&self) -> LoadStats {
        self.loader.stats()
    }

    /// Instances running now.
    pub fn instances_running(&self) -> usize {
        self.limits.max_instances as usize - self.slots.available_permits()
    }

    /// Linear memory held by live instances now, in bytes.
    pub fn memory_held(&self) -> u64 {
        self.memory.held()
    }

    /// Instances started since start-up.
    pub fn instances_started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }

    /// An instance slot, waited for until `deadline`; `None` if none came free.
    pub async fn slot(&self, deadline: tokio::time::Instant) -> Option<OwnedSemaphorePermit> {
        let permit = tokio::time::timeout_at(deadline, self.slots.clone().acquire_owned())
            .await
            .ok()?
            .ok()?;
        self.started.fetch_add(1, Ordering::Relaxed);
        self.ticker.wake();
        Some(permit)
    }

    /// A sandbox granting nothing, its CPU clock starting now.
    pub fn sandbox(&self) -> Sandbox {
        self.sandbox_with(WasiCtxBuilder::new())
    }

    /// A sandbox whose WASI context starts from `wasi` (a world that grants
    /// a read-only directory, say); network access is always off and stdout
    /// and stderr always go to the bounded sink.
    pub fn sandbox_with(&self, mut wasi: WasiCtxBuilder) -> Sandbox {
        let output = LogSink::new(self.limits.max_log_bytes);
        let wasi = wasi
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Sandbox {
            table: ResourceTable::new(),
            wasi,
            limiter: Limiter::new(&self.limits, self.memory.clone()),
            clock: CpuClock::start(),
            turn: Default::default(),
            output,
        }
    }

    /// A store for `data` with its limits armed: the memory limiter, and an
    /// epoch callback that stops the guest once its CPU time passes the
    /// budget and otherwise yields to other tasks every tick.
    ///
    /// A guest that has computed for [`HEAVY_AFTER`] takes turns: at each
    /// tick it gives back its turn and waits (parked, not counted as CPU
    /// time) behind the other heavy guests for the next. There are one fewer
    /// turns than worker threads, so however many guests spin, a thread is
    /// left for connections and for requests that need little. It also
    /// gives its turn back whenever it calls the host, and takes one again
    /// at its next tick.
    pub fn store<T: Sandboxed>(&self, data: T) -> Store<Held<T>> {
        let mut store = Store::new(&self.engine, Held(Some(data)));
        store.limiter(|data| &mut data.sandbox().limiter);
        // A heavy guest gives its turn back whenever it calls the host: a
        // call may wait (a file of the view on a slow disk, a named pipe),
        // and a turn held through it would stop every other heavy guest.
        // It takes a turn again at its next tick.
        store.call_hook(|mut ctx, hook| {
            if let CallHook::CallingHost = hook {
                ctx.data_mut().sandbox().give_turn();
            }
            Ok(())
        });
        let budget = self.limits.cpu_time();
        let turns = self.turns.clone();
        store.epoch_deadline_callback(move |mut ctx| {
            let sandbox = ctx.data_mut().sandbox();
            let used = sandbox.clock.used();
            if used > budget {
                return Err(Stop::CpuTime(budget).into());
            }
            sandbox.clock.suspend();
            let clock = sandbox.clock.clone();
            if used < HEAVY_AFTER {
                return Ok(UpdateDeadline::YieldCustom(
                    1,
                    Box::pin(async move {
                        tokio::task::yield_now().await;
                        clock.resume();
                    }),
                ));
            }
            sandbox.give_turn();
            let turn = sandbox.turn.clone();
            let turns = turns.clone();
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(async move {
                    let next = turns.acquire_owned().await.ok();
                    tokio::task::yield_now().await;
                    *turn.lock().unwrap_or_else(|p| p.into_inner()) = next;
                    clock.resume();
                }),
            ))
        });
        store.set_epoch_deadline(1);
        store
    }
}

impl Runtime {
    /// The data of `store`, taken back once its guest is done; the store
    /// itself (its instances, whose slots are reset for the next request)
    /// goes afterwards on another task, holding `keep` (the instance slot,
    /// say) and the memory it counts until then. A reply is not kept
    /// waiting for the reset, which for an interpreter's instance takes as
    /// long as instantiating it. A slot whose memory grew far (zeroing,
    /// returning pages to the kernel) is reset on a blocking thread rather
    /// than a connection's.
    pub fn close<T: Sandboxed, K: Send + 'static>(&self, mut store: Store<Held<T>>, keep: K) -> T {
        let mut data = store.data_mut().0.take().expect("a store is closed once");
        let held = data.sandbox().limiter.detach();
        let far = held.grown() > self.limits.keep_resident_kib as u64 * 1024;
        let teardown = move || drop((store, held, keep));
        if far {
            drop(tokio::task::spawn_blocking(teardown));
        } else {
            tokio::spawn(async move { teardown() });
        }
        data
    }
}

/// A store's data: the world's state, in the store while its guest may run
/// and taken back by [`Runtime::close`] when it is done.
pub struct Held<T>(Option<T>);

impl<T> std::ops::Deref for Held<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.0
            .as_ref()
            .expect("a store's data is there until it closes")
    }
}

impl<T> std::ops::DerefMut for Held<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0
            .as_mut()
            .expect("a store's data is there until it closes")
    }
}

impl<T: wasmtime_wasi::WasiView> wasmtime_wasi::WasiView for Held<T> {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        (**self).ctx()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker.stop();
    }
}

/// Turns for heavy guests: one fewer than the worker threads, at least one.
fn heavy_turns() -> usize {
    let workers = tokio::runtime::Handle::try_current()
        .map(|h| h.metrics().num_workers())
        .unwrap_or_else(|_| std::thread::available_parallelism().map_or(2, |n| n.get()));
    workers.saturating_sub(1).max(1)
}

/// An engine for `limits`. With `pagemap_scan`, slots are reset by finding
/// the pages a request dirtied (Linux `PAGEMAP_SCAN`) and resetting only
/// those, keeping up to `keep_resident_kib` resident: no `madvise`, so no TLB
/// shootdowns across cores, and no page faults on the next use. Measured:
/// three times the requests per second for a small handler. (The project's
/// patch of wasmtime makes the scan find every dirtied page, however many
/// runs they make, and those swapped out: see `patches/`.)
fn engine_with(limits: &WasmLimits, pagemap_scan: bool) -> wasmtime::Result<Engine> {
    let instances = limits.max_instances;
    let memory = limits.memory_bytes();
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
    let mut config = compiling_config(limits);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config)
}

/// What shapes compiled code: the same for the server's engine and the
/// compiler's, so that what one compiles the other runs.
fn compiling_config(limits: &WasmLimits) -> Config {
    let stack = limits.max_stack_kib << 10;
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .epoch_interruption(true)
        .max_wasm_stack(stack)
        .async_stack_size(stack + (512 << 10))
        .memory_reservation(limits.memory_bytes() as u64)
        .memory_init_cow(limits.memory_init_cow);
    config
}

/// An engine that only compiles, for `limits`: the server's compilation
/// settings without its instance pool.
pub fn engine_for_compiling(limits: &WasmLimits) -> wasmtime::Result<Engine> {
    Engine::new(&compiling_config(limits))
}
