//! The on-disk cache of compiled handlers.
//!
//! An entry is the serialised component (`KEY.cwasm`, exactly as wasmtime
//! wrote it, so it can be memory-mapped) and a check file (`KEY.check`: a
//! magic line, the artifact's length and BLAKE3 hash). `KEY` is the BLAKE3
//! hash of the component's bytes; entries live in a directory per engine
//! fingerprint (wasmtime version and every setting that changes compiled
//! code), so an artifact is only ever loaded by an engine that can run it.
//!
//! Both files are written to temporary names and renamed into place, so no
//! reader ever sees half an entry, also with several servers sharing the
//! directory. An entry whose artifact does not match its check — corrupt,
//! truncated, or not written by this server — is deleted and compiled again.
//! The directory is created private (0700). Hits refresh an entry's
//! modification time; when the cache grows past its size limit the least
//! recently used entries go.

use std::fs;
use std::hash::{Hash, Hasher};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use wasmtime::component::Component;
use wasmtime::Engine;

const MAGIC: &str = "sandserve-compiled-component-v2";

/// A cache directory for one engine.
#[derive(Debug)]
pub struct DiskCache {
    dir: PathBuf,
    max_bytes: u64,
}

/// What a cache directory holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DiskUsage {
    /// Entries (compiled components).
    pub entries: u64,
    /// Bytes on disk.
    pub bytes: u64,
}

/// The content key of component bytes (BLAKE3: a 5 MiB component hashes
/// in about a millisecond).
pub fn content_key(bytes: &[u8]) -> [u8; 32] {
    blake3::hash(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's BLAKE3 hash, its length and its first 8 bytes, read in pieces
/// through a buffer kept per thread: no allocation of the file's size (whose
/// page faults cost more than the hashing).
pub fn hash_file(path: &Path) -> io::Result<([u8; 32], u64, [u8; 8])> {
    hash_open(&fs::File::open(path)?)
}

/// [`hash_file`] of an open file, read from its start whatever its offset.
pub fn hash_open(file: &fs::File) -> io::Result<([u8; 32], u64, [u8; 8])> {
    use std::os::unix::fs::FileExt;
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 256 << 10]);
    }
    BUFFER.with_borrow_mut(|buf| {
        let mut hasher = blake3::Hasher::new();
        let (mut len, mut head) = (0u64, [0u8; 8]);
        loop {
            let n = file.read_at(buf, len)?;
            if n == 0 {
                break;
            }
            if len < 8 {
                let take = (8 - len as usize).min(n);
                head[len as usize..len as usize + take].copy_from_slice(&buf[..take]);
            }
            len += n as u64;
            hasher.update(&buf[..n]);
        }
        Ok((hasher.finalize().into(), len, head))
    })
}

/// A component from an artifact this server's own compiler produced (a
/// child process of the same program, with the same settings).
// The crate's other use of `unsafe`: deserialising a compiled artifact.
#[allow(unsafe_code)]
pub fn own_artifact(engine: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
    // SAFETY: `deserialize` trusts that the bytes are an artifact this
    // version of wasmtime produced with compatible settings. They are: they
    // come straight from the pipe of a compiler this process started (its
    // own program, given its own settings), never from a file or a client;
    // and wasmtime still checks the version and settings they record.
    unsafe { Component::deserialize(engine, bytes) }
}

/// Creates a private directory (and its parents).
fn private_dir(path: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

impl DiskCache {
    /// The cache under `root` for `engine`, at most `max_bytes` in all.
    pub fn open(root: &Path, engine: &Engine, max_bytes: u64) -> io::Result<Self> {
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        // The hash covers wasmtime's version and every setting that changes code.
        let fingerprint = format!("wasmtime-{:016x}", hasher.finish());
        let dir = root.join(fingerprint);
        private_dir(&dir)?;
        // Only a directory nobody else can write to is trusted.
        let meta = fs::metadata(root)?;
        if meta.permissions().mode() & 0o022 != 0
            || meta.uid() != rustix::process::geteuid().as_raw()
        {
            return Err(io::Error::other(format!(
                "cache directory {} is writable by others or not ours",
                root.display()
            )));
        }
        Ok(DiskCache { dir, max_bytes })
    }

    fn paths(&self, key: &[u8; 32]) -> (PathBuf, PathBuf) {
        let name = hex(key);
        (
            self.dir.join(format!("{name}.cwasm")),
            self.dir.join(format!("{name}.check")),
        )
    }

    /// The compiled component for `key`, if a sound entry exists.
    // The crate's one use of `unsafe`: mapping a compiled artifact.
    #[allow(unsafe_code)]
    pub fn load(&self, engine: &Engine, key: &[u8; 32]) -> Option<Component> {
        let (artifact, check) = self.paths(key);
        let expected = fs::read_to_string(&check).ok()?;
        let (hash, len, _) = hash_file(&artifact).ok()?;
        if expected != check_line(len, &hash) {
            tracing::warn!("discarding corrupt cache entry {}", artifact.display());
            let _ = fs::remove_file(&artifact);
            let _ = fs::remove_file(&check);
            return None;
        }
        // SAFETY: `deserialize_file` trusts that the file is an artifact this
        // version of wasmtime produced with this engine's settings. It is:
        // the directory is private and per engine fingerprint, every entry
        // is written only by `store` below (temporary file, then rename), and
        // the artifact was just checked against the hash `store` recorded.
        let component = match unsafe { Component::deserialize_file(engine, &artifact) } {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(
                    "discarding unusable cache entry {}: {e:#}",
                    artifact.display()
                );
                let _ = fs::remove_file(&artifact);
                let _ = fs::remove_file(&check);
                return None;
            }
        };
        // Refresh its place in the least-recently-used order.
        let _ = fs::File::options()
            .append(true)
            .open(&check)
            .and_then(|f| f.set_modified(SystemTime::now()));
        Some(component)
    }

    /// Stores a compiled component under `key`, then trims the cache.
    pub fn store(&self, key: &[u8; 32], component: &Component) -> io::Result<()> {
        let bytes = component
            .serialize()
            .map_err(|e| io::Error::other(format!("serialize: {e:#}")))?;
        let (artifact, check) = self.paths(key);
        write_atomically(&self.dir, &artifact, &bytes)?;
        write_atomically(&self.dir, &check, check_text(&bytes).as_bytes())?;
        self.trim()
    }

    /// Deletes least recently used entries until the cache fits its limit.
    fn trim(&self) -> io::Result<()> {
        let mut entries = entries(&self.dir);
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        if total <= self.max_bytes {
            return Ok(());
        }
        entries.sort_by_key(|e| e.used);
        for entry in entries {
            if total <= self.max_bytes {
                break;
            }
            let _ = fs::remove_file(&entry.artifact);
            let _ = fs::remove_file(entry.artifact.with_extension("check"));
            total = total.saturating_sub(entry.bytes);
        }
        Ok(())
    }
}

fn check_text(artifact: &[u8]) -> String {
    check_line(artifact.len() as u64, blake3::hash(artifact).as_bytes())
}

fn check_line(len: u64, hash: &[u8; 32]) -> String {
    format!("{MAGIC}\n{len}\n{}\n", hex(hash))
}

fn write_atomically(dir: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!(
        ".tmp-{}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, target)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

struct Entry {
    artifact: PathBuf,
    bytes: u64,
    used: SystemTime,
}

fn entries(dir: &Path) -> Vec<Entry> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    read.filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        .filter_map(|e| {
            let artifact = e.path();
            let meta = e.metadata().ok()?;
            let check = fs::metadata(artifact.with_extension("check")).ok();
            let used = check
                .as_ref()
                .and_then(|c| c.modified().ok())
                .or_else(|| meta.modified().ok())?;
            let bytes = meta.len() + check.map_or(0, |c| c.len());
            Some(Entry {
                artifact,
                bytes,
                used,
            })
        })
        .collect()
}

/// Entries and bytes under a cache root (every engine's directory).
pub fn usage(root: &Path) -> DiskUsage {
    let mut usage = DiskUsage::default();
    if let Ok(read) = fs::read_dir(root) {
        for dir in read.filter_map(Result::ok).filter(|e| e.path().is_dir()) {
            for entry in entries(&dir.path()) {
                usage.entries += 1;
                usage.bytes += entry.bytes;
            }
        }
    }
    usage
}

/// Deletes every entry under a cache root; returns what was there.
pub fn clear(root: &Path) -> io::Result<DiskUsage> {
    let before = usage(root);
    if let Ok(read) = fs::read_dir(root) {
        for dir in read.filter_map(Result::ok) {
            let name = dir.file_name();
            if dir.path().is_dir() && name.to_string_lossy().starts_with("wasmtime-") {
                fs::remove_dir_all(dir.path())?;
            }
        }
    }
    Ok(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest valid component: a header and nothing else.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn engine() -> Engine {
        Engine::new(wasmtime::Config::new().wasm_component_model(true)).unwrap()
    }

    #[test]
    fn round_trip_and_least_recently_used_eviction() {
        let engine = engine();
        let component = Component::new(&engine, EMPTY_COMPONENT).unwrap();
        let size = component.serialize().unwrap().len() as u64 + 200;
        let root = tempfile_dir();
        // Room for two entries.
        let cache = DiskCache::open(&root, &engine, 2 * size + size / 2).unwrap();
        let keys = [[1u8; 32], [2u8; 32], [3u8; 32]];
        cache.store(&keys[0], &component).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        cache.store(&keys[1], &component).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        // Using the first makes the second the least recently used.
        assert!(cache.load(&engine, &keys[0]).is_some());
        std::thread::sleep(std::time::Duration::from_millis(20));
        cache.store(&keys[2], &component).unwrap();
        assert!(cache.load(&engine, &keys[0]).is_some());
        assert!(cache.load(&engine, &keys[1]).is_none(), "evicted");
        assert!(cache.load(&engine, &keys[2]).is_some());
        assert_eq!(usage(&root).entries, 2);
        assert_eq!(clear(&root).unwrap().entries, 2);
        assert_eq!(usage(&root).entries, 0);
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn a_foreign_file_is_never_loaded() {
        let engine = engine();
        let root = tempfile_dir();
        let cache = DiskCache::open(&root, &engine, 1 << 30).unwrap();
        let key = [9u8; 32];
        let (artifact, check) = cache.paths(&key);
        std::fs::write(&artifact, b"not an artifact").unwrap();
        assert!(cache.load(&engine, &key).is_none(), "no check file");
        std::fs::write(&check, check_text(b"something else")).unwrap();
        assert!(cache.load(&engine, &key).is_none(), "check does not match");
        assert!(!artifact.exists(), "the bad entry is removed");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn servers_opening_one_cache_at_once_all_use_it() {
        // Several servers of one process (or of several) start together on
        // a shared cache; none may find it unusable because of another.
        let engine = engine();
        let root = tempfile_dir();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..500 {
                        DiskCache::open(&root, &engine, 1 << 30).unwrap();
                    }
                });
            }
        });
        std::fs::remove_dir_all(root).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("sandserve-cache-test-{:016x}", fastrand::u64(..)));
        private_dir(&dir).unwrap();
        dir
    }
}
