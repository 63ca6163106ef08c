//! The stash: small values shared between requests (and between listeners),
//! keyed by a UUID under a path.
//!
//! Write-once, read-once as in wptserve: `put` refuses a key that is there,
//! `take` removes what it returns. `compare_and_swap` gives the atomic
//! read-modify-write that wptserve's `stash.lock` is used for. Bounded in
//! every direction: value size, total bytes, entry count and age.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::tenants::Tenants;

/// Limits of the stash.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StashLimits {
    /// Largest value in bytes. Default: 1048576 (1 MiB).
    pub max_value_bytes: usize,
    /// Largest total of keys, paths and values in bytes. Default: 67108864 (64 MiB).
    pub max_total_bytes: usize,
    /// Most entries. Default: 100000.
    pub max_entries: usize,
    /// Seconds an entry lives before it is dropped unread. Default: 3600.
    pub ttl_secs: f64,
}

impl Default for StashLimits {
    fn default() -> Self {
        StashLimits {
            max_value_bytes: 1 << 20,
            max_total_bytes: 64 << 20,
            max_entries: 100_000,
            ttl_secs: 3600.0,
        }
    }
}

/// Why a stash operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StashError {
    /// The key is not a UUID.
    InvalidKey(String),
    /// `put` of a key that is there.
    AlreadyPresent,
    /// Over a size or count limit.
    TooLarge(String),
}

impl std::fmt::Display for StashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StashError::InvalidKey(k) => write!(f, "stash key {k:?} is not a UUID"),
            StashError::AlreadyPresent => write!(f, "stash key is already present"),
            StashError::TooLarge(why) => write!(f, "stash: {why}"),
        }
    }
}

struct Entry {
    value: Vec<u8>,
    expires: Instant,
    /// The client that put it, charged for its bytes until it goes.
    owner: IpAddr,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<(String, String), Entry>,
    total_bytes: usize,
    next_sweep: Option<Instant>,
}

/// The shared stash.
pub struct Stash {
    limits: StashLimits,
    tenants: Arc<Tenants>,
    inner: Mutex<Inner>,
    /// The stash's one lock (wptserve's `stash.lock`).
    lock: Arc<tokio::sync::Mutex<()>>,
}

/// The stash lock, held until dropped.
pub type LockHeld = tokio::sync::OwnedMutexGuard<()>;

impl std::fmt::Debug for Stash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stash")
            .field("limits", &self.limits)
            .finish()
    }
}

fn cost(path: &str, key: &str, value: &[u8]) -> usize {
    path.len() + key.len() + value.len()
}

impl Stash {
    /// An empty stash; what each client puts is counted against its cap in
    /// `tenants`.
    pub fn new(limits: StashLimits, tenants: Arc<Tenants>) -> Self {
        Stash {
            limits,
            tenants,
            inner: Mutex::new(Inner::default()),
            lock: Default::default(),
        }
    }

    /// Takes the stash lock, waiting while someone else holds it.
    pub async fn hold_lock(&self) -> LockHeld {
        self.lock.clone().lock_owned().await
    }

    /// Stores `value` under (`path`, `key`), for client `owner`.
    pub fn put(
        &self,
        path: &str,
        key: &str,
        value: Vec<u8>,
        owner: IpAddr,
    ) -> Result<(), StashError> {
        let key = normalize_key(key)?;
        self.check_value(&value)?;
        let mut inner = self.lock();
        let id = (path.to_string(), key);
        if inner.entries.contains_key(&id) {
            return Err(StashError::AlreadyPresent);
        }
        self.insert(&mut inner, id, value, owner)
    }

    /// Removes and returns the value under (`path`, `key`).
    pub fn take(&self, path: &str, key: &str) -> Result<Option<Vec<u8>>, StashError> {
        let key = normalize_key(key)?;
        let mut inner = self.lock();
        Ok(self.remove(&mut inner, &(path.to_string(), key)))
    }

    /// Returns a copy of the value under (`path`, `key`).
    pub fn peek(&self, path: &str, key: &str) -> Result<Option<Vec<u8>>, StashError> {
        let key = normalize_key(key)?;
        let inner = self.lock();
        Ok(inner
            .entries
            .get(&(path.to_string(), key))
            .map(|e| e.value.clone()))
    }

    /// Replaces the value if it currently is `expected` (`None`: absent);
    /// `new` of `None` removes it. Returns whether it was replaced. A new
    /// value is `owner`'s.
    pub fn compare_and_swap(
        &self,
        path: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
        owner: IpAddr,
    ) -> Result<bool, StashError> {
        let key = normalize_key(key)?;
        if let Some(v) = &new {
            self.check_value(v)?;
        }
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

    fn check_value(&self, value: &[u8]) -> Result<(), StashError> {
        if value.len() > self.limits.max_value_bytes {
            return Err(StashError::TooLarge(format!(
                "a value of {} bytes is over the limit of {}",
                value.len(),
                self.limits.max_value_bytes
            )));
        }
        Ok(())
    }

    fn insert(
        &self,
        inner: &mut Inner,
        id: (String, String),
        value: Vec<u8>,
        owner: IpAddr,
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

/// Keys are UUIDs in any of their usual spellings; stored in one spelling.
fn normalize_key(key: &str) -> Result<String, StashError> {
    uuid::Uuid::parse_str(key.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| StashError::InvalidKey(key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "0b6e1c4e-8f4e-4c57-9a65-3a7c0a4cf001";
    const ME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn stash(limits: StashLimits) -> Stash {
        Stash::new(limits, Arc::new(Tenants::new(None, 0)))
    }

    #[test]
    fn write_once_read_once_and_paths() {
        let s = stash(StashLimits::default());
        s.put("/a", K, b"1".to_vec(), ME).unwrap();
        assert_eq!(
            s.put("/a", K, b"2".to_vec(), ME),
            Err(StashError::AlreadyPresent)
        );
        s.put("/b", K, b"other".to_vec(), ME).unwrap();
        assert_eq!(s.peek("/a", K).unwrap(), Some(b"1".to_vec()));
        assert_eq!(
            s.take("/a", &K.to_uppercase()).unwrap(),
            Some(b"1".to_vec())
        );
        assert_eq!(s.take("/a", K).unwrap(), None);
        assert_eq!(s.take("/b", K).unwrap(), Some(b"other".to_vec()));
        assert_eq!(s.usage(), (0, 0));
        assert!(matches!(
            s.put("/a", "not-a-uuid", vec![], ME),
            Err(StashError::InvalidKey(_))
        ));
    }

    #[test]
    fn compare_and_swap_is_a_counter() {
        let s = Arc::new(stash(StashLimits::default()));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for _ in 0..500 {
                        loop {
                            let cur = s.peek("/c", K).unwrap();
                            let n: u64 = cur
                                .as_deref()
                                .map(|v| std::str::from_utf8(v).unwrap().parse().unwrap())
                                .unwrap_or(0);
                            let next = (n + 1).to_string().into_bytes();
                            if s.compare_and_swap("/c", K, cur.as_deref(), Some(next), ME)
                                .unwrap()
                            {
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(s.take("/c", K).unwrap(), Some(b"4000".to_vec()));
    }

    #[test]
    fn limits_and_expiry() {
        let s = stash(StashLimits {
            max_value_bytes: 8,
            max_total_bytes: 100,
            max_entries: 2,
            ttl_secs: 0.05,
        });
        assert!(matches!(
            s.put("/", K, vec![0; 9], ME),
            Err(StashError::TooLarge(_))
        ));
        s.put("/", K, vec![0; 8], ME).unwrap();
        s.put("/x", K, vec![0; 8], ME).unwrap();
        assert!(matches!(
            s.put("/y", K, vec![0; 1], ME),
            Err(StashError::TooLarge(_))
        ));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(s.peek("/", K).unwrap(), None, "expired");
        assert_eq!(s.usage(), (0, 0));
    }

    #[test]
    fn each_client_has_its_share() {
        use crate::tenants::PerClient;
        let caps = PerClient {
            stash_bytes: 100,
            ..PerClient::default()
        };
        let s = Stash::new(
            StashLimits::default(),
            Arc::new(Tenants::new(Some(caps), 0)),
        );
        let other: IpAddr = "10.0.0.9".parse().unwrap();
        let path = "/p";
        let key2 = "0b6e1c4e-8f4e-4c57-9a65-3a7c0a4cf002";
        // 2 + 36 + 60 = 98 bytes: room for one such entry per client.
        s.put(path, K, vec![0; 60], ME).unwrap();
        let refused = s.put(path, key2, vec![0; 60], ME).unwrap_err();
        assert!(
            matches!(refused, StashError::TooLarge(ref why) if why.contains("bytes in the stash"))
        );
        s.put(path, key2, vec![0; 60], other).unwrap();
        // Taken by anyone, the bytes go back to the one who put them.
        s.take(path, K).unwrap();
        s.put("/q", K, vec![0; 60], ME).unwrap();
    }
}
