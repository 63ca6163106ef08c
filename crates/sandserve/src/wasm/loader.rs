//! Compiling handler files, once each: the compiled, pre-linked component is
//! kept in memory and used until the file changes. Concurrent first requests
//! for one file share one compilation, which runs off the async threads.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio::sync::OnceCell;
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

use super::bindings::HandlerPre;
use super::state::HostState;

/// A handler ready to instantiate.
pub struct Compiled {
    /// The file it came from.
    pub path: PathBuf,
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

/// What identifies one version of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Version {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

struct Slot {
    version: Version,
    compiled: OnceCell<Result<Arc<Compiled>, LoadError>>,
}

/// The in-memory cache of compiled handlers.
#[derive(Default)]
pub struct Loader {
    slots: Mutex<HashMap<PathBuf, Arc<Slot>>>,
}

impl Loader {
    /// The compiled handler of `path`, compiling it if it is new or changed.
    pub async fn load(
        &self,
        engine: &Engine,
        linker: &Linker<HostState>,
        path: &Path,
    ) -> Result<Arc<Compiled>, LoadError> {
        let meta = match std::fs::metadata(path) {
            Ok(m) if m.is_file() => m,
            Ok(_) => return Err(LoadError::Missing),
            Err(_) => {
                self.slots
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(path);
                return Err(LoadError::Missing);
            }
        };
        let version = Version {
            len: meta.len(),
            modified: meta.modified().ok(),
            inode: std::os::unix::fs::MetadataExt::ino(&meta),
        };
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            match slots.get(path) {
                Some(slot) if slot.version == version => slot.clone(),
                _ => {
                    let slot = Arc::new(Slot {
                        version,
                        compiled: OnceCell::new(),
                    });
                    slots.insert(path.to_path_buf(), slot.clone());
                    slot
                }
            }
        };
        slot.compiled
            .get_or_init(|| compile(engine.clone(), linker, path.to_path_buf()))
            .await
            .clone()
    }
}

async fn compile(
    engine: Engine,
    linker: &Linker<HostState>,
    path: PathBuf,
) -> Result<Arc<Compiled>, LoadError> {
    let file = path.clone();
    let component = tokio::task::spawn_blocking(move || -> Result<Component, LoadError> {
        let bytes = read(&file)?;
        if bytes.get(4..8) == Some(&[1, 0, 0, 0]) && bytes.starts_with(b"\0asm") {
            return Err(LoadError::CoreModule);
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
        Ok(component)
    })
    .await
    .map_err(|e| LoadError::Invalid(format!("compilation failed: {e}")))??;
    let pre = linker
        .instantiate_pre(&component)
        .map_err(|e| LoadError::Invalid(format!("cannot be linked: {e:#}")))?;
    let pre = HandlerPre::new(pre)
        .map_err(|e| LoadError::Invalid(format!("does not export the handler world: {e:#}")))?;
    Ok(Arc::new(Compiled { path, pre }))
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LoadError::Missing,
            _ => LoadError::Invalid(format!("cannot be read: {e}")),
        })?;
    Ok(bytes)
}
