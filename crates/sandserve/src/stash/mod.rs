//! The stash: small values shared between requests (and between listeners,
//! and between servers sharing a store), keyed by a UUID under a path.
//!
//! Write-once, read-once as in wptserve: `put` refuses a key that is there,
//! `take` removes what it returns. `compare_and_swap` gives the atomic
//! read-modify-write that wptserve's `stash.lock` is used for, and the lock
//! itself is there too. Bounded in every direction: value size, total
//! bytes, entry count, age, and each client's share.
//!
//! Two backends keep the same contract: this process's memory (the
//! default) and a Redis server (or anything speaking its protocol), which
//! several servers share.

mod memory;
mod redis;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::tenants::Tenants;

/// The stash's configuration: where it lives and its limits.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StashConfig {
    /// Where entries live: `"memory"` (this process), or a Redis URL,
    /// `redis://[USER:PASSWORD@]HOST:PORT/DB` (`rediss://` for TLS), shared
    /// by every server given the same URL and `key_prefix`. Default:
    /// `"memory"`.
    pub backend: String,
    /// What every key in the store starts with, so that several deployments
    /// can share one store; the limits hold per prefix. Default:
    /// `"sandserve"`.
    pub key_prefix: String,
    /// Connections to the store. Default: 4.
    pub pool_size: usize,
    /// Seconds a stash call may wait for the store before it fails with
    /// `unavailable`. Default: 2.
    pub timeout_secs: f64,
    /// Seconds the stash lock is leased for in the store; the holder renews
    /// it, so it only runs out when its server has died. Default: 10.
    pub lock_lease_secs: f64,
    /// What start-up does when the store cannot be reached: `"fail"` (the
    /// server does not start) or `"retry"` (it starts, warns, and keeps
    /// trying; stash calls fail with `unavailable` meanwhile). Default:
    /// `"fail"`.
    pub on_unreachable: OnUnreachable,
    /// A PEM file of certificate authorities to trust for `rediss://`, in
    /// place of the system's. Default: none.
    pub ca_file: Option<std::path::PathBuf>,
    /// Largest value in bytes. Default: 1048576 (1 MiB).
    pub max_value_bytes: usize,
    /// Largest total of keys, paths and values in bytes (per key prefix).
    /// Default: 67108864 (64 MiB).
    pub max_total_bytes: usize,
    /// Most entries (per key prefix). Default: 100000.
    pub max_entries: usize,
    /// Seconds an entry lives before it is dropped unread. Default: 3600.
    pub ttl_secs: f64,
}

/// What start-up does when the stash's store cannot be reached.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OnUnreachable {
    /// The server does not start.
    #[default]
    Fail,
    /// The server starts and keeps trying.
    Retry,
}

impl Default for StashConfig {
    fn default() -> Self {
        StashConfig {
            backend: "memory".into(),
            key_prefix: "sandserve".into(),
            pool_size: 4,
            timeout_secs: 2.0,
            lock_lease_secs: 10.0,
            on_unreachable: OnUnreachable::Fail,
            ca_file: None,
            max_value_bytes: 1 << 20,
            max_total_bytes: 64 << 20,
            max_entries: 100_000,
            ttl_secs: 3600.0,
        }
    }
}

impl StashConfig {
    /// Checks what serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.ttl_secs.is_finite() && self.ttl_secs > 0.0) {
            return Err("stash.ttl_secs: must be a positive number of seconds".into());
        }
        for (key, value) in [
            ("stash.timeout_secs", self.timeout_secs),
            ("stash.lock_lease_secs", self.lock_lease_secs),
        ] {
            if !(value.is_finite() && (0.001..1e6).contains(&value)) {
                return Err(format!("{key}: must be a number of seconds, not {value}"));
            }
        }
        if self.pool_size == 0 || self.pool_size > 256 {
            return Err("stash.pool_size: must be from 1 to 256".into());
        }
        if self.key_prefix.is_empty()
            || self.key_prefix.len() > 64
            || self.key_prefix.contains(['{', '}'])
            || self.key_prefix.chars().any(char::is_control)
        {
            return Err(
                "stash.key_prefix: 1 to 64 characters, without braces or control characters".into(),
            );
        }
        self.store().map(|_| ())
    }

    /// Where entries live.
    pub fn store(&self) -> Result<Store, String> {
        let backend = self.backend.trim();
        if backend.is_empty() || backend == "memory" {
            return Ok(Store::Memory);
        }
        if backend.starts_with("redis://") || backend.starts_with("rediss://") {
            return redis::Address::parse(backend).map(Store::Redis);
        }
        Err(format!(
            "stash.backend: \"memory\" or a redis:// or rediss:// URL, not {:?}",
            redis::Address::redacted(backend)
        ))
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_secs)
    }

    pub(crate) fn ttl(&self) -> Duration {
        Duration::from_secs_f64(self.ttl_secs)
    }
}

/// Where the stash's entries live.
#[derive(Clone, Debug)]
pub enum Store {
    /// This process's memory.
    Memory,
    /// A Redis server.
    Redis(redis::Address),
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
    /// The store did not answer in time, or is out of reach.
    Unavailable(String),
}

impl std::fmt::Display for StashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StashError::InvalidKey(k) => write!(f, "stash key {k:?} is not a UUID"),
            StashError::AlreadyPresent => write!(f, "stash key is already present"),
            StashError::TooLarge(why) => write!(f, "stash: {why}"),
            StashError::Unavailable(why) => write!(f, "stash: {why}"),
        }
    }
}

impl std::error::Error for StashError {}

/// The stash lock, held until dropped.
pub enum LockHeld {
    /// This process's lock.
    Memory(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>),
    /// A lease in the store, renewed while held and given back on drop.
    Redis(#[allow(dead_code)] redis::Lease),
}

/// The shared stash, in whichever store the configuration names.
pub struct Stash {
    config: StashConfig,
    backend: Backend,
}

enum Backend {
    Memory(memory::Memory),
    Redis(redis::RedisStash),
}

impl std::fmt::Debug for Stash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stash")
            .field("config", &self.config)
            .finish()
    }
}

/// Who an entry belongs to: the client that put it, charged for its bytes
/// until it is taken or expires.
pub type Owner = IpAddr;

impl Stash {
    /// An empty stash in this process's memory; what each client puts is
    /// counted against its cap in `tenants`.
    pub fn new(config: StashConfig, tenants: Arc<Tenants>) -> Self {
        Stash {
            backend: Backend::Memory(memory::Memory::new(config.clone(), tenants)),
            config,
        }
    }

    /// The stash `config` names. A store that cannot be reached fails this
    /// unless `on_unreachable` is `retry`; then the stash keeps trying in
    /// the background, and its calls fail with `unavailable` meanwhile.
    pub async fn open(config: StashConfig, tenants: Arc<Tenants>) -> Result<Self, String> {
        match config.store()? {
            Store::Memory => Ok(Stash::new(config, tenants)),
            Store::Redis(address) => {
                let store = redis::RedisStash::open(address, &config, tenants.stash_cap()).await?;
                Ok(Stash {
                    backend: Backend::Redis(store),
                    config,
                })
            }
        }
    }

    /// Whether the entries live in a store shared with other servers (and
    /// a call may wait on it).
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Redis(_))
    }

    /// Which store holds the entries, for the start-up log (no password).
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Memory(_) => "this process's memory".into(),
            Backend::Redis(r) => r.describe(),
        }
    }

    /// Stores `value` under (`path`, `key`), for client `owner`.
    pub async fn put(
        &self,
        path: &str,
        key: &str,
        value: Vec<u8>,
        owner: Owner,
    ) -> Result<(), StashError> {
        let key = normalize_key(key)?;
        self.check_value(&value)?;
        match &self.backend {
            Backend::Memory(m) => m.put(path, key, value, owner),
            Backend::Redis(r) => r.put(path, &key, value, owner).await,
        }
    }

    /// Removes and returns the value under (`path`, `key`).
    pub async fn take(&self, path: &str, key: &str) -> Result<Option<Vec<u8>>, StashError> {
        let key = normalize_key(key)?;
        match &self.backend {
            Backend::Memory(m) => Ok(m.take(path, key)),
            Backend::Redis(r) => r.take(path, &key).await,
        }
    }

    /// Returns a copy of the value under (`path`, `key`).
    pub async fn peek(&self, path: &str, key: &str) -> Result<Option<Vec<u8>>, StashError> {
        let key = normalize_key(key)?;
        match &self.backend {
            Backend::Memory(m) => Ok(m.peek(path, key)),
            Backend::Redis(r) => r.peek(path, &key).await,
        }
    }

    /// Replaces the value if it currently is `expected` (`None`: absent);
    /// `new` of `None` removes it. Returns whether it was replaced. A new
    /// value is `owner`'s.
    pub async fn compare_and_swap(
        &self,
        path: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
        owner: Owner,
    ) -> Result<bool, StashError> {
        let key = normalize_key(key)?;
        if let Some(v) = &new {
            self.check_value(v)?;
        }
        match &self.backend {
            Backend::Memory(m) => m.compare_and_swap(path, key, expected, new, owner),
            Backend::Redis(r) => r.compare_and_swap(path, &key, expected, new, owner).await,
        }
    }

    /// Takes the stash lock, waiting while someone else holds it. Only a
    /// store out of reach fails it.
    pub async fn hold_lock(&self) -> Result<LockHeld, StashError> {
        match &self.backend {
            Backend::Memory(m) => Ok(LockHeld::Memory(m.hold_lock().await)),
            Backend::Redis(r) => r.hold_lock().await.map(LockHeld::Redis),
        }
    }

    /// How many entries and bytes an in-memory stash holds.
    #[cfg(test)]
    fn usage(&self) -> Option<(usize, usize)> {
        match &self.backend {
            Backend::Memory(m) => Some(m.usage()),
            Backend::Redis(_) => None,
        }
    }

    /// Takes the lock of record `name` (a session's, say), waiting while
    /// someone else holds it. Only a store out of reach fails it.
    pub async fn hold_record_lock(&self, name: &str) -> Result<LockHeld, StashError> {
        match &self.backend {
            Backend::Memory(m) => Ok(LockHeld::Memory(m.hold_record_lock(name).await)),
            Backend::Redis(r) => r.hold_record_lock(name).await.map(LockHeld::Redis),
        }
    }

    /// Record `name`, if it is there (its time to live, `ttl`, starts
    /// again). Records are the server's own values kept beside the guests'
    /// entries, under the same limits, where no guest key can reach them.
    pub async fn load_record(
        &self,
        name: &str,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StashError> {
        match &self.backend {
            Backend::Memory(m) => Ok(m.load_record(name, ttl)),
            Backend::Redis(r) => r.load_record(name, ttl).await,
        }
    }

    /// Stores record `name`, replacing it, for `owner`, for `ttl`.
    pub async fn store_record(
        &self,
        name: &str,
        value: Vec<u8>,
        owner: Owner,
        ttl: Duration,
    ) -> Result<(), StashError> {
        match &self.backend {
            Backend::Memory(m) => m.store_record(name, value, owner, ttl),
            Backend::Redis(r) => r.store_record(name, value, owner, ttl).await,
        }
    }

    /// Removes record `name`.
    pub async fn drop_record(&self, name: &str) -> Result<(), StashError> {
        match &self.backend {
            Backend::Memory(m) => {
                m.drop_record(name);
                Ok(())
            }
            Backend::Redis(r) => r.drop_record(name).await,
        }
    }

    fn check_value(&self, value: &[u8]) -> Result<(), StashError> {
        if value.len() > self.config.max_value_bytes {
            return Err(StashError::TooLarge(format!(
                "a value of {} bytes is over the limit of {}",
                value.len(),
                self.config.max_value_bytes
            )));
        }
        Ok(())
    }
}

/// What an entry costs against the limits.
fn cost(path: &str, key: &str, value: &[u8]) -> usize {
    path.len() + key.len() + value.len()
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
    use std::net::IpAddr;

    const K: &str = "0b6e1c4e-8f4e-4c57-9a65-3a7c0a4cf001";
    const ME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn stash(limits: StashConfig) -> Stash {
        Stash::new(limits, Arc::new(Tenants::new(None, 0)))
    }

    #[tokio::test]
    async fn write_once_read_once_and_paths() {
        let s = stash(StashConfig::default());
        s.put("/a", K, b"1".to_vec(), ME).await.unwrap();
        assert_eq!(
            s.put("/a", K, b"2".to_vec(), ME).await,
            Err(StashError::AlreadyPresent)
        );
        s.put("/b", K, b"other".to_vec(), ME).await.unwrap();
        assert_eq!(s.peek("/a", K).await.unwrap(), Some(b"1".to_vec()));
        assert_eq!(
            s.take("/a", &K.to_uppercase()).await.unwrap(),
            Some(b"1".to_vec())
        );
        assert_eq!(s.take("/a", K).await.unwrap(), None);
        assert_eq!(s.take("/b", K).await.unwrap(), Some(b"other".to_vec()));
        assert_eq!(s.usage(), Some((0, 0)));
        assert!(matches!(
            s.put("/a", "not-a-uuid", vec![], ME).await,
            Err(StashError::InvalidKey(_))
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn compare_and_swap_is_a_counter() {
        let s = Arc::new(stash(StashConfig::default()));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    for _ in 0..500 {
                        loop {
                            let cur = s.peek("/c", K).await.unwrap();
                            let n: u64 = cur
                                .as_deref()
                                .map(|v| std::str::from_utf8(v).unwrap().parse().unwrap())
                                .unwrap_or(0);
                            let next = (n + 1).to_string().into_bytes();
                            if s.compare_and_swap("/c", K, cur.as_deref(), Some(next), ME)
                                .await
                                .unwrap()
                            {
                                break;
                            }
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(s.take("/c", K).await.unwrap(), Some(b"4000".to_vec()));
    }

    #[tokio::test]
    async fn limits_and_expiry() {
        let s = stash(StashConfig {
            max_value_bytes: 8,
            max_total_bytes: 100,
            max_entries: 2,
            ttl_secs: 0.05,
            ..StashConfig::default()
        });
        assert!(matches!(
            s.put("/", K, vec![0; 9], ME).await,
            Err(StashError::TooLarge(_))
        ));
        s.put("/", K, vec![0; 8], ME).await.unwrap();
        s.put("/x", K, vec![0; 8], ME).await.unwrap();
        assert!(matches!(
            s.put("/y", K, vec![0; 1], ME).await,
            Err(StashError::TooLarge(_))
        ));
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(s.peek("/", K).await.unwrap(), None, "expired");
        assert_eq!(s.usage(), Some((0, 0)));
    }

    #[tokio::test]
    async fn each_client_has_its_share() {
        use crate::tenants::PerClient;
        let caps = PerClient {
            stash_bytes: 100,
            ..PerClient::default()
        };
        let s = Stash::new(
            StashConfig::default(),
            Arc::new(Tenants::new(Some(caps), 0)),
        );
        let other: IpAddr = "10.0.0.9".parse().unwrap();
        let path = "/p";
        let key2 = "0b6e1c4e-8f4e-4c57-9a65-3a7c0a4cf002";
        // 2 + 36 + 60 = 98 bytes: room for one such entry per client.
        s.put(path, K, vec![0; 60], ME).await.unwrap();
        let refused = s.put(path, key2, vec![0; 60], ME).await.unwrap_err();
        assert!(
            matches!(refused, StashError::TooLarge(ref why) if why.contains("bytes in the stash"))
        );
        s.put(path, key2, vec![0; 60], other).await.unwrap();
        // Taken by anyone, the bytes go back to the one who put them.
        s.take(path, K).await.unwrap();
        s.put("/q", K, vec![0; 60], ME).await.unwrap();
    }
}
