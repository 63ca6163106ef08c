//! The stash in this process's memory: a map behind a mutex, swept of
//! expired entries as it is used, each client charged in `Tenants` for what
//! it put.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
}

impl Memory {
    /// An empty stash; what each client puts is counted against its cap in
    /// `tenants`.
    pub(super) fn new(limits: StashConfig, tenants: Arc<Tenants>) -> Self {
        Memory {
            limits,
            tenants,
            inner: Mutex::new(Inner::default()),
            lock: Default::default(),
        }
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
        self.insert(&mut inner, id, value, owner)
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
            if let Err(e) = self.insert(&mut inner, id.clone(), value, owner) {
                // Put the old value back: a refused swap changes nothing.
                if let (Some((old_owner, _)), Some(expected)) = (old, expected) {
                    let _ = self.insert(&mut inner, id, expected.to_vec(), old_owner);
                }
                return Err(e);
            }
        }
        Ok(true)
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
        let expires = Instant::now() + Duration::from_secs_f64(self.limits.ttl_secs);
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
