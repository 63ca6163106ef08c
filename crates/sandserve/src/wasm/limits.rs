//! What bounds a guest: the configured limits, the resource limiter that
//! enforces memory and table sizes, the CPU clock the epoch callback reads,
//! and the classification of a failed call into a [`Fault`] — from wasmtime's
//! trap codes and this module's own error types, never from error text.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use wasmtime::{ResourceLimiter, Trap};

use crate::tenants::{AtCap, MemoryAccount};

/// Limits on each request a WebAssembly handler answers (the `wasm` key of
/// the configuration).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WasmLimits {
    /// CPU time a request may use, in milliseconds (time spent sleeping or
    /// waiting on the client does not count). Default: 10000.
    pub cpu_time_ms: u64,
    /// Wall time a request may take, sleeps included, in seconds. Default: 300.
    pub wall_time_secs: f64,
    /// Linear memory of an instance, in MiB. Default: 128.
    pub max_memory_mib: u64,
    /// Elements of a table. Default: 20000.
    pub max_table_elements: usize,
    /// WebAssembly stack, in KiB. Default: 1024.
    pub max_stack_kib: usize,
    /// Bytes a handler may send (body or writer). Default: 268435456 (256 MiB).
    pub max_response_bytes: u64,
    /// Instances alive at once (concurrent handler requests); more wait for
    /// a slot up to the wall time. Default: 1024.
    pub max_instances: u32,
    /// Linear memory of all live instances together, in MiB: an instance
    /// that would grow past it is stopped as one past its own limit is.
    /// Default: half the machine's memory.
    pub max_total_memory_mib: Option<u64>,
    /// Guest stdout and stderr kept for the log, per request, in bytes. Default: 65536.
    pub max_log_bytes: usize,
    /// Memory (per instance slot) kept resident between requests and reset by
    /// zeroing only the pages a request dirtied, in KiB (on Linux 6.7 and
    /// later; otherwise at most 1024 is kept and zeroed whole). Default: 4096.
    pub keep_resident_kib: usize,
    /// How an instance slot's memory is reset between requests: `pagemap`
    /// (zero only the pages a request dirtied, found with Linux's
    /// `PAGEMAP_SCAN`, 6.7 and later), `plain` (zero a little, return the rest
    /// to the kernel), or `auto` (pagemap where the kernel has it). Default:
    /// `auto`.
    pub memory_reset: MemoryReset,
    /// Start each instance's memory by mapping the component's memory image
    /// copy-on-write (true), or by copying it into the slot's resident pages
    /// (false). Copying pays for large images that most requests write to
    /// — the Python runner's: measured 5.6 ms of CPU per request instead of
    /// 7–8.6 ms, with `keep_resident_kib` raised to 131072 — and costs small
    /// Rust handlers about a tenth of their throughput. Default: true.
    pub memory_init_cow: bool,
    /// Keep compiled handlers on disk across restarts. Default: true.
    pub disk_cache: bool,
    /// Where. Default: `$XDG_CACHE_HOME/sandserve`, else `~/.cache/sandserve`.
    pub cache_dir: Option<PathBuf>,
    /// Largest size of the disk cache in MiB; least recently used entries
    /// go first. Default: 1024.
    pub cache_max_mib: u64,
    /// Largest component file compiled, in MiB. Default: 64.
    pub max_component_mib: u64,
    /// Components compiled at once; more wait. Default: 2.
    pub max_compiles: usize,
    /// Time one compile may take, in seconds; a component that takes longer
    /// answers 500 ("compile limit") until its file changes. Default: 60.
    pub compile_secs: f64,
    /// Memory one compile may use, in MiB (when compiling in a child
    /// process, as the `sandserve` command does). Default: 2048.
    pub compile_memory_mib: u64,
    /// Grant `.wasm` handlers a read-only view of the document root and
    /// aliases (the Python runner always has one). Default: false.
    pub doc_root_view: bool,
    /// Where components are compiled: set by the `sandserve` command (a
    /// child process of its own), not by the configuration file.
    #[serde(skip)]
    pub compiler: super::compiler::Compiler,
}

impl Default for WasmLimits {
    fn default() -> Self {
        WasmLimits {
            cpu_time_ms: 10_000,
            wall_time_secs: 300.0,
            max_memory_mib: 128,
            max_table_elements: 20_000,
            max_stack_kib: 1024,
            max_response_bytes: 256 << 20,
            max_instances: 1024,
            max_total_memory_mib: None,
            max_log_bytes: 64 << 10,
            keep_resident_kib: 4096,
            memory_reset: MemoryReset::Auto,
            memory_init_cow: true,
            disk_cache: true,
            cache_dir: None,
            cache_max_mib: 1024,
            max_component_mib: 64,
            max_compiles: 2,
            compile_secs: 60.0,
            compile_memory_mib: 2048,
            doc_root_view: false,
            compiler: Default::default(),
        }
    }
}

/// How instance memory is reset between requests.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MemoryReset {
    /// `pagemap` where the kernel has it, else `plain`.
    #[default]
    Auto,
    /// Zero the dirtied pages, found with `PAGEMAP_SCAN` (an error at
    /// start-up where the kernel lacks it).
    Pagemap,
    /// Zero up to 1 MiB, return the rest.
    Plain,
}

impl WasmLimits {
    /// The wall-time limit.
    pub fn wall_time(&self) -> Duration {
        Duration::from_secs_f64(self.wall_time_secs)
    }

    /// The CPU-time limit.
    pub fn cpu_time(&self) -> Duration {
        Duration::from_millis(self.cpu_time_ms)
    }

    /// Linear memory per instance, in bytes.
    pub fn memory_bytes(&self) -> usize {
        (self.max_memory_mib as usize) << 20
    }

    /// Linear memory of all instances together, in MiB: as configured, or
    /// half of the machine's memory.
    pub fn total_memory_mib(&self) -> u64 {
        self.max_total_memory_mib.unwrap_or_else(|| {
            let mem_kib = std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|text| {
                    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
                    line.split_whitespace().nth(1)?.parse::<u64>().ok()
                })
                .unwrap_or(4 << 20);
            (mem_kib / 1024 / 2).max(self.max_memory_mib)
        })
    }
}

/// Why a guest was stopped, or what went wrong running it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Fault {
    /// It used more CPU time than allowed.
    CpuTime(Duration),
    /// It took longer than the wall-time limit.
    WallTime(Duration),
    /// It tried to grow its memory past the limit (in MiB).
    Memory(u64),
    /// Its memory would have taken all instances together past their limit
    /// (in MiB).
    TotalMemory(u64),
    /// It tried to grow a table past the limit (in elements).
    Table(usize),
    /// It overflowed its WebAssembly stack.
    StackOverflow,
    /// It reached an `unreachable` after printing something: a panic, in
    /// every language toolchain we know of.
    Panic,
    /// Another trap.
    Trap(Trap),
    /// It tried to send more than `max_response_bytes`.
    ResponseTooLarge(u64),
    /// Its client went away.
    ClientGone,
    /// Its client's address already has all the sleeping handlers it may.
    Crowded(AtCap),
    /// It gave the structured response API a header name or value, or a
    /// reason phrase, holding CR, LF or NUL (the raw writer is the way to
    /// write such bytes).
    LineBreak(String),
    /// The stash's store failed during a call of a guest built against a
    /// world (before 0.3.0) that cannot be told so.
    StashUnavailable(String),
    /// An error raised by the host on its behalf (a resource it does not own,
    /// say); the text is wasmtime's.
    Host(String),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::CpuTime(limit) => {
                write!(f, "exceeded the CPU-time limit of {} ms", limit.as_millis())
            }
            Fault::WallTime(limit) => write!(
                f,
                "exceeded the wall-time limit of {} s",
                limit.as_secs_f64()
            ),
            Fault::Memory(mib) => write!(f, "exceeded the memory limit of {mib} MiB"),
            Fault::TotalMemory(mib) => write!(
                f,
                "found no memory left: all handlers together are at their limit of {mib} MiB"
            ),
            Fault::Table(n) => write!(f, "exceeded the table limit of {n} elements"),
            Fault::StackOverflow => write!(f, "overflowed its stack"),
            Fault::Panic => write!(f, "panicked"),
            Fault::Trap(trap) => write!(f, "trapped: {trap}"),
            Fault::ResponseTooLarge(limit) => {
                write!(f, "sent a response larger than the limit of {limit} bytes")
            }
            Fault::ClientGone => write!(f, "lost its client"),
            Fault::Crowded(cap) => write!(f, "was stopped: {cap}"),
            Fault::LineBreak(what) => write!(
                f,
                "gave {what} holding CR, LF or NUL to the response (use the writer for raw bytes)"
            ),
            Fault::StashUnavailable(why) => write!(f, "was stopped: {why}"),
            Fault::Host(text) => write!(f, "failed: {text}"),
        }
    }
}

impl std::error::Error for Fault {}

/// Raised by the host to stop a guest: carried through wasmtime as the
/// error of a trap and recognised again by type.
#[derive(Debug)]
pub enum Stop {
    /// The CPU-time budget ran out.
    CpuTime(Duration),
    /// Memory would grow past the limit (MiB).
    Memory(u64),
    /// Memory would grow all instances together past their limit (MiB).
    TotalMemory(u64),
    /// A table would grow past the limit (elements).
    Table(usize),
    /// The response would pass its byte limit.
    ResponseTooLarge(u64),
    /// The client went away.
    ClientGone,
    /// The client is at a cap.
    Crowded(AtCap),
    /// A header or reason with a line break, through the structured API: what.
    LineBreak(String),
    /// The stash's store failed, and the guest's world has no error for it.
    StashUnavailable(String),
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stopped by the host: {self:?}")
    }
}

impl std::error::Error for Stop {}

/// Classifies the error a guest call ended with. `printed` tells whether the
/// guest wrote anything to stdout or stderr (a trap at `unreachable` after
/// output is a panic).
pub fn classify(error: &wasmtime::Error, printed: bool) -> Fault {
    if let Some(stop) = error.downcast_ref::<Stop>() {
        return match stop {
            Stop::CpuTime(limit) => Fault::CpuTime(*limit),
            Stop::Memory(mib) => Fault::Memory(*mib),
            Stop::TotalMemory(mib) => Fault::TotalMemory(*mib),
            Stop::Table(n) => Fault::Table(*n),
            Stop::ResponseTooLarge(n) => Fault::ResponseTooLarge(*n),
            Stop::ClientGone => Fault::ClientGone,
            Stop::Crowded(cap) => Fault::Crowded(cap.clone()),
            Stop::LineBreak(what) => Fault::LineBreak(what.clone()),
            Stop::StashUnavailable(why) => Fault::StashUnavailable(why.clone()),
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::StackOverflow) => Fault::StackOverflow,
        Some(Trap::UnreachableCodeReached) if printed => Fault::Panic,
        Some(trap) => Fault::Trap(*trap),
        None => Fault::Host(format!("{error:#}")),
    }
}

/// Linear memory held by every live instance together, against its limit.
#[derive(Debug)]
pub struct MemoryPool {
    held: AtomicU64,
    limit: u64,
    limit_mib: u64,
}

impl MemoryPool {
    /// A pool of `limit_mib` MiB.
    pub fn new(limit_mib: u64) -> Self {
        MemoryPool {
            held: AtomicU64::new(0),
            limit: limit_mib.saturating_mul(1 << 20),
            limit_mib,
        }
    }

    /// Bytes held now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    fn take(&self, bytes: u64) -> bool {
        let mut held = self.held.load(Ordering::Relaxed);
        loop {
            let Some(next) = held.checked_add(bytes).filter(|&n| n <= self.limit) else {
                return false;
            };
            match self
                .held
                .compare_exchange_weak(held, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(now) => held = now,
            }
        }
    }

    fn give(&self, bytes: u64) {
        self.held.fetch_sub(bytes, Ordering::Relaxed);
    }
}

/// The resource limiter of one store: refuses memory and table growth past
/// the limits — its own, and that of all instances together — with a
/// [`Stop`] (a trap the guest cannot catch), and remembers that it did. What
/// it took from the pool goes back when it is dropped with its store.
#[derive(Debug)]
pub struct Limiter {
    memory_bytes: usize,
    memory_mib: u64,
    table_elements: usize,
    pool: Arc<MemoryPool>,
    /// Bytes this store holds of the pool.
    taken: u64,
    /// The share of its client, where clients are counted.
    pub account: Option<MemoryAccount>,
    /// Set when a growth was refused.
    pub hit: bool,
}

impl Limiter {
    /// A limiter for `limits`, drawing on `pool`.
    pub fn new(limits: &WasmLimits, pool: Arc<MemoryPool>) -> Self {
        Limiter {
            memory_bytes: limits.memory_bytes(),
            memory_mib: limits.max_memory_mib,
            table_elements: limits.max_table_elements,
            pool,
            taken: 0,
            account: None,
            hit: false,
        }
    }
}

impl Limiter {
    /// Bytes of linear memory the store's instances grew by.
    pub fn grown(&self) -> u64 {
        self.taken
    }

    /// What the store holds of the pool and of its client's share, moved
    /// to a limiter of its own (this one is left holding nothing): the
    /// memory is counted until that one is dropped with the store.
    pub fn detach(&mut self) -> Limiter {
        Limiter {
            memory_bytes: self.memory_bytes,
            memory_mib: self.memory_mib,
            table_elements: self.table_elements,
            pool: self.pool.clone(),
            taken: std::mem::take(&mut self.taken),
            account: self.account.take(),
            hit: self.hit,
        }
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.pool.give(self.taken);
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.hit = true;
            return Err(Stop::Memory(self.memory_mib).into());
        }
        let more = desired.saturating_sub(current) as u64;
        if let Some(account) = &mut self.account {
            if let Err(cap) = account.take(more) {
                self.hit = true;
                return Err(Stop::Crowded(cap).into());
            }
        }
        if !self.pool.take(more) {
            self.hit = true;
            return Err(Stop::TotalMemory(self.pool.limit_mib).into());
        }
        self.taken += more;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            self.hit = true;
            return Err(Stop::Table(self.table_elements).into());
        }
        Ok(true)
    }
}

/// The CPU time a guest has used: the CPU time of the threads it ran on,
/// counted from each time it resumes to each time it is suspended (a yield,
/// a wait in a host call, the end of the call). Time it spends parked —
/// asleep, waiting on its client, waiting for its turn or for a thread — is
/// not counted, however busy the machine. Should it move to another thread
/// without saying so (inside a WASI call, say), that stretch is counted in
/// wall time: more, never less.
#[derive(Clone, Debug)]
pub struct CpuClock(Arc<Mutex<ClockState>>);

#[derive(Debug)]
struct ClockState {
    /// Counted so far.
    used: Duration,
    /// Where and when the guest last resumed; `None` while it is suspended.
    mark: Option<Mark>,
}

#[derive(Clone, Copy, Debug)]
struct Mark {
    thread: std::thread::ThreadId,
    cpu: Duration,
    wall: Instant,
}

impl Mark {
    fn now() -> Mark {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Mark {
            thread: std::thread::current().id(),
            cpu: Duration::new(t.tv_sec as u64, t.tv_nsec as u32),
            wall: Instant::now(),
        }
    }

    /// The time from `self` to `now`: CPU time on one thread, else wall time.
    fn until(&self, now: &Mark) -> Duration {
        if self.thread == now.thread {
            now.cpu.saturating_sub(self.cpu)
        } else {
            now.wall.saturating_duration_since(self.wall)
        }
    }
}

impl CpuClock {
    /// A clock of a guest running now, on this thread.
    pub fn start() -> Self {
        CpuClock(Arc::new(Mutex::new(ClockState {
            used: Duration::ZERO,
            mark: Some(Mark::now()),
        })))
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// CPU time used so far (with the current stretch, when running).
    pub fn used(&self) -> Duration {
        let state = self.state();
        match &state.mark {
            Some(mark) => state.used + mark.until(&Mark::now()),
            None => state.used,
        }
    }

    /// The guest stops running on this thread (it yields or waits).
    pub fn suspend(&self) {
        let mut state = self.state();
        if let Some(mark) = state.mark.take() {
            state.used += mark.until(&Mark::now());
        }
    }

    /// The guest runs again, on this thread.
    pub fn resume(&self) {
        self.state().mark = Some(Mark::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_come_from_types_not_text() {
        let stop: wasmtime::Error = Stop::Memory(32).into();
        assert!(matches!(classify(&stop, false), Fault::Memory(32)));
        let trap: wasmtime::Error = Trap::StackOverflow.into();
        assert!(matches!(classify(&trap, false), Fault::StackOverflow));
        let trap: wasmtime::Error = Trap::UnreachableCodeReached.into();
        assert!(matches!(classify(&trap, true), Fault::Panic));
        assert!(matches!(
            classify(&Trap::UnreachableCodeReached.into(), false),
            Fault::Trap(Trap::UnreachableCodeReached)
        ));
        // Text that looks like a limit is not one.
        let text = wasmtime::Error::msg("memory limit exceeded, forcing trap when growing memory");
        assert!(matches!(classify(&text, false), Fault::Host(_)));
        assert_eq!(
            Fault::CpuTime(Duration::from_millis(2000)).to_string(),
            "exceeded the CPU-time limit of 2000 ms"
        );
        assert_eq!(
            Fault::WallTime(Duration::from_secs(3)).to_string(),
            "exceeded the wall-time limit of 3 s"
        );
    }

    #[test]
    fn the_clock_counts_cpu_not_waiting() {
        let clock = CpuClock::start();
        // Spins for `ms` of this thread's CPU time, however busy the machine.
        let spin = |ms| {
            let start = Mark::now();
            while start.until(&Mark::now()) < Duration::from_millis(ms) {
                std::hint::black_box(0);
            }
        };
        spin(30);
        clock.suspend();
        std::thread::sleep(Duration::from_millis(100));
        let after_sleep = clock.used();
        clock.resume();
        spin(30);
        let used = clock.used();
        assert!(after_sleep >= Duration::from_millis(30), "{after_sleep:?}");
        assert!(after_sleep < Duration::from_millis(60), "{after_sleep:?}");
        assert!(used >= Duration::from_millis(60), "{used:?}");
        assert!(
            used < Duration::from_millis(100),
            "the sleep is not counted: {used:?}"
        );
    }

    #[test]
    fn the_limiter_refuses_growth_past_the_limit_and_says_so() {
        let mut l = Limiter::new(
            &WasmLimits {
                max_memory_mib: 1,
                max_table_elements: 10,
                ..WasmLimits::default()
            },
            Arc::new(MemoryPool::new(100)),
        );
        assert!(l.memory_growing(0, 1 << 20, None).unwrap());
        assert!(!l.hit);
        let e = l.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        assert!(l.hit);
        assert!(matches!(classify(&e, false), Fault::Memory(1)));
        let e = l.table_growing(0, 11, None).unwrap_err();
        assert!(matches!(classify(&e, false), Fault::Table(10)));
    }

    #[test]
    fn all_instances_together_share_one_pool() {
        let limits = WasmLimits {
            max_memory_mib: 2,
            ..WasmLimits::default()
        };
        let pool = Arc::new(MemoryPool::new(3));
        let mut a = Limiter::new(&limits, pool.clone());
        let mut b = Limiter::new(&limits, pool.clone());
        assert!(a.memory_growing(0, 2 << 20, None).unwrap());
        assert!(b.memory_growing(0, 1 << 20, None).unwrap());
        let e = b.memory_growing(1 << 20, 2 << 20, None).unwrap_err();
        assert!(matches!(classify(&e, false), Fault::TotalMemory(3)), "{e}");
        assert_eq!(pool.held(), 3 << 20);
        drop(a);
        assert_eq!(pool.held(), 1 << 20, "given back with the store");
        assert!(b.memory_growing(1 << 20, 2 << 20, None).unwrap());
    }
}
