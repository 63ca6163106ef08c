//! Compiling handler files, once each.
//!
//! Each request for a handler checks the file's identity (size, times,
//! inode) — a `stat`, a microsecond. While it is unchanged the pre-linked
//! component in memory is used. When it changes, the file is read and
//! hashed: the same content (a file touched, or copied back) keeps the
//! compiled component; new content is loaded from the disk cache or
//! compiled (then stored there). Compiling runs on the blocking pool, and
//! concurrent first requests for one version share one compilation. Swapping
//! versions is atomic: requests already running keep the version they
//! started with.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::OnceCell;
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

use super::bindings::HandlerPre;
use super::cache::{content_key, hash_file, DiskCache};
use super::state::HostState;

/// A handler ready to instantiate.
pub struct Compiled {
    /// The file it came from.
    pub path: PathBuf,
    /// BLAKE3 hash of the component's bytes.
    pub hash: [u8; 32],
    /// Pre-linked against the host's imports.
    pub pre: HandlerPre<HostState>,
}

/// Why a handler file could not be used.
#[derive(Debug, Clone)]
pub enum LoadError {
    /// There is no such file.
    Missing,
    /// The file is a core WebAssembly module, not a component: a static file.
    CoreModule,
    /// The file is not a component this server can run; the message says why.
    Invalid(String),
}

/// How handlers were obtained since start-up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LoadStats {
    /// Compiled from source.
    pub compiled: u64,
    /// Loaded from the disk cache.
    pub disk_hits: u64,
    /// A changed file whose content was unchanged: the compiled component kept.
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

struct Slot {
    identity: FileIdentity,
    compiled: OnceCell<Result<Arc<Compiled>, LoadError>>,
}

/// The in-memory cache of compiled handlers, in front of the disk cache.
#[derive(Default)]
pub struct Loader {
    slots: Mutex<HashMap<PathBuf, Arc<Slot>>>,
    disk: Option<Arc<DiskCache>>,
    /// Compilations under way, by content hash: two versions of a file (or
    /// two files) with the same content are compiled once.
    compiling: Mutex<HashMap<[u8; 32], InFlight>>,
    compiled: AtomicU64,
    disk_hits: AtomicU64,
    unchanged: AtomicU64,
}

enum Prepared {
    Unchanged,
    FromDisk([u8; 32], Component),
    Missing([u8; 32]),
}

/// A compilation in progress, shared by everyone who needs that content.
type InFlight = Arc<OnceCell<Result<Component, LoadError>>>;

impl Loader {
    /// A loader backed by a disk cache (or none).
    pub fn new(disk: Option<DiskCache>) -> Self {
        Loader {
            disk: disk.map(Arc::new),
            ..Loader::default()
        }
    }

    /// The disk cache, if there is one.
    pub fn disk(&self) -> Option<&DiskCache> {
        self.disk.as_deref()
    }

    /// Counts since start-up.
    pub fn stats(&self) -> LoadStats {
        LoadStats {
            compiled: self.compiled.load(Ordering::Relaxed),
            disk_hits: self.disk_hits.load(Ordering::Relaxed),
            unchanged: self.unchanged.load(Ordering::Relaxed),
        }
    }

    /// The compiled handler of `path`, as the file is now.
    ///
    /// A file that fails to compile right after it changed may be caught
    /// half-written (an editor or `cp` rewriting it in place): it is looked
    /// at again after a short pause, and compiled again if it changed.
    pub async fn load(
        &self,
        engine: &Engine,
        linker: &Linker<HostState>,
        path: &Path,
    ) -> Result<Arc<Compiled>, LoadError> {
        let mut attempts = 0;
        loop {
            let Some(identity) = self.identity(path) else {
                return Err(LoadError::Missing);
            };
            let result = self.load_version(engine, linker, path, identity).await;
            let fresh = identity
                .modified
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age < SETTLE_WINDOW);
            if matches!(result, Err(LoadError::Invalid(_))) && fresh && attempts < SETTLE_ATTEMPTS {
                attempts += 1;
                tokio::time::sleep(SETTLE_PAUSE).await;
                if self.identity(path) != Some(identity) {
                    continue;
                }
            }
            return result;
        }
    }

    fn identity(&self, path: &Path) -> Option<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => Some(FileIdentity {
                len: meta.len(),
                modified: meta.modified().ok(),
                changed: (meta.ctime(), meta.ctime_nsec()),
                inode: meta.ino(),
            }),
            _ => {
                self.slots
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(path);
                None
            }
        }
    }

    async fn load_version(
        &self,
        engine: &Engine,
        linker: &Linker<HostState>,
        path: &Path,
        identity: FileIdentity,
    ) -> Result<Arc<Compiled>, LoadError> {
        let (slot, previous) = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            match slots.get(path) {
                Some(slot) if slot.identity == identity => (slot.clone(), None),
                old => {
                    let previous = old
                        .and_then(|s| s.compiled.get())
                        .and_then(|r| r.as_ref().ok())
                        .cloned();
                    let slot = Arc::new(Slot {
                        identity,
                        compiled: OnceCell::new(),
                    });
                    slots.insert(path.to_path_buf(), slot.clone());
                    (slot, previous)
                }
            }
        };
        slot.compiled
            .get_or_init(|| self.prepare(engine, linker, path.to_path_buf(), previous))
            .await
            .clone()
    }

    async fn prepare(
        &self,
        engine: &Engine,
        linker: &Linker<HostState>,
        path: PathBuf,
        previous: Option<Arc<Compiled>>,
    ) -> Result<Arc<Compiled>, LoadError> {
        let previous_hash = previous.as_ref().map(|p| p.hash);
        let (file, engine_for_work, disk) = (path.clone(), engine.clone(), self.disk.clone());
        let prepared = tokio::task::spawn_blocking(move || -> Result<Prepared, LoadError> {
            // Only the hash is needed unless the component must be compiled.
            let (hash, _, head) = hash_file(&file).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => LoadError::Missing,
                _ => LoadError::Invalid(format!("cannot be read: {e}")),
            })?;
            if head == *b"\0asm\x01\0\0\0" {
                return Err(LoadError::CoreModule);
            }
            if previous_hash == Some(hash) {
                return Ok(Prepared::Unchanged);
            }
            let started = std::time::Instant::now();
            if let Some(component) = disk.as_ref().and_then(|d| d.load(&engine_for_work, &hash)) {
                tracing::info!(
                    "loaded {} from the compile cache in {:.1} ms",
                    file.display(),
                    started.elapsed().as_secs_f64() * 1000.0
                );
                return Ok(Prepared::FromDisk(hash, component));
            }
            Ok(Prepared::Missing(hash))
        })
        .await
        .map_err(|e| LoadError::Invalid(format!("compilation failed: {e}")))??;
        let (hash, component) = match prepared {
            Prepared::Unchanged => {
                self.unchanged.fetch_add(1, Ordering::Relaxed);
                return Ok(previous.expect("an unchanged file has a previous version"));
            }
            Prepared::FromDisk(hash, c) => {
                self.disk_hits.fetch_add(1, Ordering::Relaxed);
                (hash, c)
            }
            Prepared::Missing(hash) => (hash, self.compile(engine, &path, hash).await?),
        };
        let linking = std::time::Instant::now();
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Invalid(format!("cannot be linked: {e:#}")))?;
        let pre = HandlerPre::new(pre)
            .map_err(|e| LoadError::Invalid(format!("does not export the handler world: {e:#}")))?;
        tracing::debug!(
            "linked {} in {:.1} ms",
            path.display(),
            linking.elapsed().as_secs_f64() * 1000.0
        );
        Ok(Arc::new(Compiled { path, hash, pre }))
    }
}

impl Loader {
    /// Compiles the content `hash` of `path` (and stores it on disk), once
    /// however many ask for it at the same time.
    async fn compile(
        &self,
        engine: &Engine,
        path: &Path,
        hash: [u8; 32],
    ) -> Result<Component, LoadError> {
        let cell = self
            .compiling
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(hash)
            .or_default()
            .clone();
        let result = cell
            .get_or_init(|| async {
                let (file, engine, disk) = (path.to_path_buf(), engine.clone(), self.disk.clone());
                let compiled = tokio::task::spawn_blocking(move || {
                    let bytes = read(&file)?;
                    if content_key(&bytes) != hash {
                        // Changed since it was hashed: the caller looks again.
                        return Err(LoadError::Invalid(
                            "the file changed while it was read".into(),
                        ));
                    }
                    let started = std::time::Instant::now();
                    let component = Component::new(&engine, &bytes)
                        .map_err(|e| LoadError::Invalid(format!("not a valid component: {e:#}")))?;
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
                })
                .await
                .map_err(|e| LoadError::Invalid(format!("compilation failed: {e}")))?;
                if compiled.is_ok() {
                    self.compiled.fetch_add(1, Ordering::Relaxed);
                }
                compiled
            })
            .await
            .clone();
        let mut compiling = self.compiling.lock().unwrap_or_else(|p| p.into_inner());
        if compiling.get(&hash).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            compiling.remove(&hash);
        }
        result
    }
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    // One allocation of the file's size: a large component read piecemeal
    // costs several times more.
    std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::Missing,
        _ => LoadError::Invalid(format!("cannot be read: {e}")),
    })
}
