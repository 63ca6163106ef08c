//! The stash in this process's memory: a map behind a mutex, swept of
//! expired entries as it is used, each client charged in `Tenants` for what
//! it put.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::{cost, Owner, StashConfig, StashError};
use crate::tenants::Tenants;

struct Entry {
    value: Vec<u8>,
    expires: Instant,
    /// The client that put it, charged for its bytes until it goes.
    owner: Owner,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<(String, String), Entry>,
    total_bytes: usize,
    next_sweep: Option<Instant>,
}

/// The stash in memory. Keys come normalized and values checked against
/// the value limit (by `Stash`).
pub(super) struct Memory {
    limits: StashConfig,
    tenants: Arc<Tenants>,
    inner: Mutex<Inner>,
    /// The stash's one lock (wptserve's `stash.lock`).
    lock: Arc<tokio::sync::Mutex<()>>,
    /// Each record's lock, while someone holds or waits for it.
    record_locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

/// Where records live in the map: beside the guests' entries, which can
/// never have a key without a UUID's hyphens.
const RECORDS: &str = "";

impl Memory {
    /// An empty stash; what each client puts is counted against its cap in
    /// `tenants`.
    pub(super) fn new(limits: StashConfig, tenants: Arc<Tenants>) -> Self {
        Memory {
            limits,
            tenants,
            inner: Mutex::new(Inner::default()),
            lock: Default::default(),
            record_locks: Default::default(),
        }
    }

    /// Takes the lock of record `name`, waiting while someone else holds it.
    pub(super) async fn hold_record_lock(&self, name: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.record_locks.lock().unwrap_or_else(|p| p.into_inner());
            if locks.len() > 1024 {
                locks.retain(|_, lock| lock.strong_count() > 0);
            }
            match locks.get(name).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(name.to_string(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// Record `name`, if it is there; its time to live starts again.
    pub(super) fn load_record(&self, name: &str, ttl: Duration) -> Option<Vec<u8>> {
        let mut inner = self.lock();
        let now = Instant::now();
        let id = (RECORDS.to_string(), name.to_string());
        match inner.entries.get_mut(&id) {
            Some(e) if e.expires > now => {
                e.expires = now + ttl;
                Some(e.value.clone())
            }
            Some(_) => {
                self.remove(&mut inner, &id);
                None
            }
            None => None,
        }
    }

    /// Stores record `name` (replacing it), `owner`'s, for `ttl`.
    pub(super) fn store_record(
        &self,
        name: &str,
        value: Vec<u8>,
        owner: Owner,
        ttl: Duration,
    ) -> Result<(), StashError> {
        let mut inner = self.lock();
        let id = (RECORDS.to_string(), name.to_string());
        let old = inner.entries.remove(&id);
        if let Some(old) = &old {
            let size = cost(&id.0, &id.1, &old.value);
            inner.total_bytes -= size;
            self.tenants.release_stash(old.owner, size);
        }
        self.insert(&mut inner, id.clone(), value, owner, ttl)
            .inspect_err(|_| {
                // A refused store changes nothing.
                if let Some(old) = old {
                    let ttl = old.expires.saturating_duration_since(Instant::now());
                    let _ = self.insert(&mut inner, id, old.value, old.owner, ttl);
                }
            })
    }

    /// Removes record `name`.
    pub(super) fn drop_record(&self, name: &str) {
        let mut inner = self.lock();
        self.remove(&mut inner, &(RECORDS.to_string(), name.to_string()));
    }

    /// Takes the stash lock, waiting while someone else holds it.
    pub(super) async fn hold_lock(&self) -> tokio::sync::OwnedMutexGuard<()> {
        self.lock.clone().lock_owned().await
    }

    /// Stores `value` under (`path`, `key`), for client `owner`.
    pub(super) fn put(
        &self,
        path: &str,
        key: String,
        value: Vec<u8>,
        owner: Owner,
    ) -> Result<(), StashError> {
        let mut inner = self.lock();
        let id = (path.to_string(), key);
        if inner.entries.contains_key(&id) {
            return Err(StashError::AlreadyPresent);
        }
        self.insert(&mut inner, id, value, owner, self.ttl())
    }

    /// Removes and returns the value under (`path`, `key`).
    pub(super) fn take(&self, path: &str, key: String) -> Option<Vec<u8>> {
        let mut inner = self.lock();
        self.remove(&mut inner, &(path.to_string(), key))
    }

    /// Returns a copy of the value under (`path`, `key`).
    pub(super) fn peek(&self, path: &str, key: String) -> Option<Vec<u8>> {
        let inner = self.lock();
        inner
            .entries
            .get(&(path.to_string(), key))
            .map(|e| e.value.clone())
    }

    /// Replaces the value if it currently is `expected` (`None`: absent);
    /// `new` of `None` removes it. Returns whether it was replaced. A new
    /// value is `owner`'s.
    pub(super) fn compare_and_swap(
        &self,
        path: &str,
        key: String,
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
        owner: Owner,
    ) -> Result<bool, StashError> {
        let mut inner = self.lock();
        let id = (path.to_string(), key);
        let current = inner.entries.get(&id).map(|e| e.value.as_slice());
        if current != expected {
            return Ok(false);
        }
        let old = inner.entries.get(&id).map(|e| (e.owner, e.value.len()));
        self.remove(&mut inner, &id);
        if let Some(value) = new {
            if let Err(e) = self.insert(&mut inner, id.clone(), value, owner, self.ttl()) {
                // Put the old value back: a refused swap changes nothing.
                if let (Some((old_owner, _)), Some(expected)) = (old, expected) {
                    let _ = self.insert(&mut inner, id, expected.to_vec(), old_owner, self.ttl());
                }
                return Err(e);
            }
        }
        Ok(true)
    }

    fn ttl(&self) -> Duration {
        self.limits.ttl()
    }

    /// How many entries and bytes the stash holds.
    #[cfg(test)]
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.total_bytes)
    }

    fn insert(
        &self,
        inner: &mut Inner,
        id: (String, String),
        value: Vec<u8>,
        owner: Owner,
        ttl: Duration,
    ) -> Result<(), StashError> {
        let size = cost(&id.0, &id.1, &value);
        if inner.total_bytes + size > self.limits.max_total_bytes {
            return Err(StashError::TooLarge(format!(
                "the stash is full ({} of {} bytes used)",
                inner.total_bytes, self.limits.max_total_bytes
            )));
        }
        if inner.entries.len() >= self.limits.max_entries {
            return Err(StashError::TooLarge(format!(
                "the stash is full ({} entries)",
                self.limits.max_entries
            )));
        }
        self.tenants
            .charge_stash(owner, size)
            .map_err(|cap| StashError::TooLarge(cap.to_string()))?;
        inner.total_bytes += size;
        let expires = Instant::now() + ttl;
        inner.entries.insert(
            id,
            Entry {
                value,
                expires,
                owner,
            },
        );
        Ok(())
    }

    fn remove(&self, inner: &mut Inner, id: &(String, String)) -> Option<Vec<u8>> {
        let entry = inner.entries.remove(id)?;
        let size = cost(&id.0, &id.1, &entry.value);
        inner.total_bytes -= size;
        self.tenants.release_stash(entry.owner, size);
        Some(entry.value)
    }

    /// Locks the map, first dropping expired entries (at most once a second,
    /// or once per time-to-live when that is shorter).
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if inner.next_sweep.is_none_or(|t| now >= t) {
            let mut freed = 0;
            let tenants = &self.tenants;
            inner.entries.retain(|(path, key), e| {
                let keep = e.expires > now;
                if !keep {
                    let size = cost(path, key, &e.value);
                    freed += size;
                    tenants.release_stash(e.owner, size);
                }
                keep
            });
            inner.total_bytes -= freed;
            let every = Duration::from_secs_f64(self.limits.ttl_secs.clamp(0.001, 1.0));
            inner.next_sweep = Some(now + every);
        }
        inner
    }
}
