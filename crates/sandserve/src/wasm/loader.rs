//! Compiling component files, once per content, and linking them, once per
//! content and world.
//!
//! Each request for a component checks the file's identity (size, times,
//! inode) — a `stat`, a microsecond. While it is unchanged the compiled
//! component in memory is used. When it changes, the file is read and
//! hashed: the same content (a file touched, or copied back, or another file
//! with the same bytes) keeps its compiled component; new content is loaded
//! from the disk cache or compiled (then stored there). Compiling runs on the
//! blocking pool, and concurrent first requests for one content share one
//! compilation. Swapping versions is atomic: requests already running keep
//! the version they started with.
//!
//! A compiled component is linked against a world's imports (an
//! `InstancePre`) the first time that world asks for it, and the result is
//! kept beside the component, so no request links anything twice.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use tokio::sync::OnceCell;
use wasmtime::component::Component;
use wasmtime::Engine;

use super::cache::{content_key, hash_open, DiskCache};
use super::compiler;
use super::limits::WasmLimits;

/// Where a component's bytes come from: a file already opened (beneath a
/// mount's directory, so a path swapped meanwhile cannot lead elsewhere), or
/// a path (a handler the configuration names). `key` names it in the cache.
#[derive(Clone, Debug)]
pub struct Source {
    /// What the cache knows it by.
    pub key: PathBuf,
    /// The file, when already open.
    pub file: Option<Arc<std::fs::File>>,
}

impl Source {
    /// The component in `path`, opened when needed.
    pub fn path(path: &Path) -> Source {
        Source {
            key: path.to_path_buf(),
            file: None,
        }
    }

    /// The file, opened if it was not.
    fn open(&self) -> std::io::Result<Arc<std::fs::File>> {
        match &self.file {
            Some(file) => Ok(file.clone()),
            None => std::fs::File::open(&self.key).map(Arc::new),
        }
    }
}

/// A guest world: how a compiled component is linked against its imports
/// and checked for its exports.
pub trait World: Send + Sync + 'static {
    /// The linked, checked component, ready to instantiate.
    type Pre: Send + Sync + 'static;

    /// Links `component` for this world.
    fn link(&self, component: &Component) -> wasmtime::Result<Self::Pre>;
}

/// A component ready to instantiate in a world.
pub struct Loaded<P> {
    /// Linked against the world's imports.
    pub pre: P,
}

/// Why a component file could not be used.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LoadError {
    /// There is no such file.
    Missing,
    /// The file is a core WebAssembly module, not a component.
    CoreModule,
    /// The file could not be read.
    Unreadable(std::io::ErrorKind),
    /// The file changed while it was being read.
    Changed,
    /// It is not a component this engine can compile.
    NotAComponent(Arc<wasmtime::Error>),
    /// It does not fit the world: an import the world lacks, an export it
    /// needs missing or of another type.
    Link(Arc<wasmtime::Error>),
    /// The compiler itself failed.
    CompilerFailed,
    /// The compiler could not be started.
    CompilerUnavailable(std::io::ErrorKind),
    /// The file is larger than `wasm.max_component_mib`.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit in MiB.
        limit_mib: u64,
    },
    /// Compiling it passed a limit: which.
    CompileLimit(&'static str),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Missing => write!(f, "no such file"),
            LoadError::CoreModule => write!(f, "a core module, not a component"),
            LoadError::Unreadable(kind) => write!(f, "cannot be read ({kind})"),
            LoadError::Changed => write!(f, "the file changed while it was read"),
            LoadError::NotAComponent(e) => write!(f, "not a valid component: {e:#}"),
            LoadError::Link(e) => write!(f, "does not fit the world it is served as: {e:#}"),
            LoadError::CompilerFailed => write!(f, "the compiler failed"),
            LoadError::CompilerUnavailable(kind) => {
                write!(f, "the compiler could not be started ({kind})")
            }
            LoadError::TooLarge { size, limit_mib } => write!(
                f,
                "{size} bytes: larger than the limit of {limit_mib} MiB (wasm.max_component_mib)"
            ),
            LoadError::CompileLimit(what) => write!(f, "compile limit: compiling it {what}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// How components were obtained since start-up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadStats {
    /// Compiled from source.
    pub compiled: u64,
    /// Loaded from the disk cache.
    pub disk_hits: u64,
    /// A changed file whose content was already compiled: the compiled
    /// component kept.
    pub unchanged: u64,
}

/// A file changed this recently may still be being written.
const SETTLE_WINDOW: Duration = Duration::from_secs(2);
/// How long to wait before looking at it again.
const SETTLE_PAUSE: Duration = Duration::from_millis(150);
/// How many times.
const SETTLE_ATTEMPTS: u32 = 5;

/// What identifies one version of a file, cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileIdentity {
    len: u64,
    modified: Option<SystemTime>,
    changed: (i64, i64),
    inode: u64,
}

/// One content, compiled, with what each world linked of it.
struct Compiled {
    component: Component,
    linked: Mutex<Vec<(TypeId, Arc<dyn Any + Send + Sync>)>>,
}

/// One version of one file.
struct Slot {
    identity: FileIdentity,
    compiled: OnceCell<Result<Arc<Compiled>, LoadError>>,
}

/// The in-memory cache of compiled components, in front of the disk cache.
pub struct Loader {
    /// The limits compiling runs under.
    limits: WasmLimits,
    /// Turns to compile.
    compiles: Arc<tokio::sync::Semaphore>,
    slots: Mutex<HashMap<PathBuf, Arc<Slot>>>,
    /// Every content some file version still uses, by hash.
    contents: Mutex<HashMap<[u8; 32], Weak<Compiled>>>,
    disk: Option<Arc<DiskCache>>,
    /// Compilations under way, by content hash: two versions of a file (or
    /// two files) with the same content are compiled once.
    compiling: Mutex<HashMap<[u8; 32], InFlight>>,
    compiled: AtomicU64,
    disk_hits: AtomicU64,
    unchanged: AtomicU64,
}

/// A compilation in progress, shared by everyone who needs that content.
type InFlight = Arc<OnceCell<Result<Component, LoadError>>>;

enum Found {
    Known(Arc<Compiled>),
    FromDisk(Component),
    Absent,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Loader {
    /// A loader backed by a disk cache (or none), compiling within `limits`.
    pub fn new(disk: Option<DiskCache>, limits: &WasmLimits) -> Self {
        Loader {
            limits: limits.clone(),
            compiles: Arc::new(tokio::sync::Semaphore::new(limits.max_compiles.max(1))),
            slots: Default::default(),
            contents: Default::default(),
            disk: disk.map(Arc::new),
            compiling: Default::default(),
            compiled: Default::default(),
            disk_hits: Default::default(),
            unchanged: Default::default(),
        }
    }

    /// Counts since start-up.
    pub fn stats(&self) -> LoadStats {
        LoadStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            disk_hits: self.disk_hits.load(Ordering::Relaxed),
            unchanged: self.unchanged.load(Ordering::Relaxed),
        }
    }

    /// The component of `path`, as the file is now, linked for `world`.
    ///
    /// A file that fails to compile right after it changed may be caught
    /// half-written (an editor or `cp` rewriting it in place): it is looked
    /// at again after a short pause, and compiled again if it changed.
    pub async fn load<W: World>(
        &self,
        engine: &Engine,
        world: &W,
        source: &Source,
    ) -> Result<Arc<Loaded<W::Pre>>, LoadError> {
        let mut attempts = 0;
        let compiled = loop {
            let Some(identity) = self.identity(source) else {
                return Err(LoadError::Missing);
            };
            let result = self.load_version(engine, source, identity).await;
            let fresh = identity
                .modified
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age < SETTLE_WINDOW);
            let invalid = matches!(
                result,
                Err(LoadError::NotAComponent(_) | LoadError::Changed)
            );
            if invalid && fresh && attempts < SETTLE_ATTEMPTS {
                attempts += 1;
                tokio::time::sleep(SETTLE_PAUSE).await;
                if self.identity(source) != Some(identity) {
                    continue;
                }
            }
            break result?;
        };
        link(&compiled, world)
    }

    fn identity(&self, source: &Source) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let meta = match &source.file {
            Some(file) => file.metadata(),
            None => std::fs::metadata(&source.key),
        };
        match meta {
            Ok(meta) if meta.is_file() => Some(FileIdentity {
                len: meta.len(),
                modified: meta.modified().ok(),
                changed: (meta.ctime(), meta.ctime_nsec()),
                inode: meta.ino(),
            }),
            _ => {
                lock(&self.slots).remove(&source.key);
                None
            }
        }
    }

    async fn load_version(
        &self,
        engine: &Engine,
        source: &Source,
        identity: FileIdentity,
    ) -> Result<Arc<Compiled>, LoadError> {
        let (slot, previous) = {
            let mut slots = lock(&self.slots);
            match slots.get(&source.key) {
                Some(slot) if slot.identity == identity => (slot.clone(), None),
                _ => {
                    let slot = Arc::new(Slot {
                        identity,
                        compiled: OnceCell::new(),
                    });
                    let previous = slots.insert(source.key.clone(), slot.clone());
                    (slot, previous)
                }
            }
        };
        // The previous version stays alive until the new one is known: a
        // file touched, or rewritten with the same bytes, keeps its component.
        let result = slot
            .compiled
            .get_or_init(|| self.prepare(engine, source.clone()))
            .await
            .clone();
        drop(previous);
        result
    }

    /// Hashes the file and finds its content: already compiled, on disk, or
    /// to be compiled.
    async fn prepare(&self, engine: &Engine, source: Source) -> Result<Arc<Compiled>, LoadError> {
        let unreadable = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => LoadError::Missing,
            kind => LoadError::Unreadable(kind),
        };
        let opened = source.open().map_err(unreadable)?;
        let file = source.key.clone();
        let (engine_for_work, disk) = (engine.clone(), self.disk.clone());
        let known = self.known_contents();
        let for_hash = opened.clone();
        let limit_mib = self.limits.max_component_mib;
        let size = opened.metadata().map_err(unreadable)?.len();
        let (hash, found) = tokio::task::spawn_blocking(move || {
            // Only the hash is needed unless the component must be compiled.
            let (hash, _, head) = hash_open(&for_hash).map_err(unreadable)?;
            if head == *b"\0asm\x01\0\0\0" {
                return Err(LoadError::CoreModule);
            }
            // A core module of any size is a static file; a component is
            // compiled only up to the limit.
            if size > limit_mib.saturating_mul(1 << 20) {
                return Err(LoadError::TooLarge { size, limit_mib });
            }
            if let Some(compiled) = known.get(&hash).and_then(Weak::upgrade) {
                return Ok((hash, Found::Known(compiled)));
            }
            let started = std::time::Instant::now();
            if let Some(component) = disk.as_ref().and_then(|d| d.load(&engine_for_work, &hash)) {
                tracing::info!(
                    "loaded {} from the compile cache in {:.1} ms",
                    file.display(),
                    started.elapsed().as_secs_f64() * 1000.0
                );
                return Ok((hash, Found::FromDisk(component)));
            }
            Ok((hash, Found::Absent))
        })
        .await
        .map_err(|_| LoadError::CompilerFailed)??;
        let component = match found {
            Found::Known(compiled) => {
                self.unchanged.fetch_add(1, Ordering::Relaxed);
                return Ok(compiled);
            }
            Found::FromDisk(component) => {
                self.disk_hits.fetch_add(1, Ordering::Relaxed);
                component
            }
            Found::Absent => self.compile(engine, &source.key, opened, hash).await?,
        };
        let compiled = Arc::new(Compiled {
            component,
            linked: Mutex::new(Vec::new()),
        });
        let mut contents = lock(&self.contents);
        contents.retain(|_, weak| weak.strong_count() > 0);
        contents.insert(hash, Arc::downgrade(&compiled));
        Ok(compiled)
    }

    /// A snapshot of the contents still in use.
    fn known_contents(&self) -> HashMap<[u8; 32], Weak<Compiled>> {
        lock(&self.contents).clone()
    }

    /// Compiles the content `hash` of `path` (and stores it on disk), once
    /// however many ask for it at the same time.
    async fn compile(
        &self,
        engine: &Engine,
        path: &Path,
        opened: Arc<std::fs::File>,
        hash: [u8; 32],
    ) -> Result<Component, LoadError> {
        let cell = lock(&self.compiling).entry(hash).or_default().clone();
        let result = cell
            .get_or_init(|| async {
                let (file, engine, disk) = (path.to_path_buf(), engine.clone(), self.disk.clone());
                let limits = self.limits.clone();
                // Never more than `wasm.max_compiles` at once; the turn is
                // held by the compiling thread, so one that is abandoned
                // past its time still counts while it runs.
                let turn = self
                    .compiles
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| LoadError::CompilerFailed)?;
                let compiling = tokio::task::spawn_blocking(move || {
                    let _turn = turn;
                    let bytes = read(&opened)?;
                    if content_key(&bytes) != hash {
                        // Changed since it was hashed: the caller looks again.
                        return Err(LoadError::Changed);
                    }
                    let started = std::time::Instant::now();
                    let component = compiler::compile(&engine, &limits, &bytes)?;
                    tracing::info!(
                        "compiled {} ({} KiB) in {:.0} ms",
                        file.display(),
                        bytes.len() / 1024,
                        started.elapsed().as_secs_f64() * 1000.0
                    );
                    if let Some(disk) = &disk {
                        if let Err(e) = disk.store(&hash, &component) {
                            tracing::warn!(
                                "cannot store {} in the compile cache: {e}",
                                file.display()
                            );
                        }
                    }
                    Ok(component)
                });
                let compiled =
                    match tokio::time::timeout(self.limits.compile_time(), compiling).await {
                        Ok(joined) => joined.map_err(|_| LoadError::CompilerFailed)?,
                        Err(_) => Err(LoadError::CompileLimit(
                            "took longer than wasm.compile_secs",
                        )),
                    };
                if compiled.is_ok() {
                    self.compiled.fetch_add(1, Ordering::Relaxed);
                }
                compiled
            })
            .await
            .clone();
        let mut compiling = lock(&self.compiling);
        if compiling.get(&hash).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            compiling.remove(&hash);
        }
        result
    }
}

/// `compiled` linked for `world`: done once, then kept beside it.
fn link<W: World>(compiled: &Compiled, world: &W) -> Result<Arc<Loaded<W::Pre>>, LoadError> {
    let key = TypeId::of::<W>();
    let mut linked = lock(&compiled.linked);
    if let Some((_, any)) = linked.iter().find(|(k, _)| *k == key) {
        if let Ok(loaded) = any.clone().downcast::<Loaded<W::Pre>>() {
            return Ok(loaded);
        }
    }
    let pre = world
        .link(&compiled.component)
        .map_err(|e| LoadError::Link(Arc::new(e)))?;
    let loaded = Arc::new(Loaded { pre });
    linked.push((key, loaded.clone()));
    Ok(loaded)
}

/// The whole file, from its start: one allocation of its size (a large
/// component read piecemeal costs several times more).
fn read(file: &std::fs::File) -> Result<Vec<u8>, LoadError> {
    use std::os::unix::fs::FileExt;
    let len = file
        .metadata()
        .map_err(|e| LoadError::Unreadable(e.kind()))?
        .len() as usize;
    let mut bytes = vec![0; len];
    let mut at = 0;
    while at < len {
        match file.read_at(&mut bytes[at..], at as u64) {
            Ok(0) => return Err(LoadError::Changed),
            Ok(n) => at += n,
            Err(e) => return Err(LoadError::Unreadable(e.kind())),
        }
    }
    Ok(bytes)
}
