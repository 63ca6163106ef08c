//! The stash in a Redis server (7, or anything speaking its protocol from
//! 6.2 on: Valkey, say), shared by every server given the same URL and key
//! prefix.
//!
//! Every operation that reads and writes is one Lua script, so it is atomic
//! across servers: `put` stores only a missing key, `take` is `GETDEL`,
//! `compare_and_swap` compares and writes in one step. The limits are kept
//! per key prefix in the store itself: a hash of the bytes and entries held
//! (and each client's bytes), an index of entries by expiry so that the
//! bytes of an entry Redis expired are given back, swept by the writes.
//! The stash lock is a lease with an owner token, renewed while held,
//! given back on drop, and run out when its holder's server died.
//!
//! Keys and values reach the store only as arguments of those scripts and
//! of `GET`/`SET` (length-prefixed in the protocol): nothing a guest sends
//! is ever part of a command. Every key carries the prefix as a hash tag,
//! so a deployment's keys share one cluster slot.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, Client, RedisError, RedisResult, Script, ScriptInvocation};

use super::{cost, OnUnreachable, Owner, StashConfig, StashError};
use crate::tenants::AtCap;

/// A Redis server's address, as configured, and without its password for
/// messages.
#[derive(Clone, Debug)]
pub struct Address {
    url: String,
    shown: String,
}

impl Address {
    /// Checks a `redis://` or `rediss://` URL.
    pub fn parse(url: &str) -> Result<Address, String> {
        let shown = Address::redacted(url);
        ::redis::IntoConnectionInfo::into_connection_info(url)
            .map_err(|e| format!("stash.backend: {shown:?} is not a usable Redis URL: {e}"))?;
        Ok(Address {
            url: url.to_string(),
            shown,
        })
    }

    /// `message` with the URL's password, should it appear, left out.
    fn scrub(&self, message: &str) -> String {
        let password = ::redis::IntoConnectionInfo::into_connection_info(self.url.as_str())
            .ok()
            .and_then(|info| info.redis_settings().password().map(str::to_owned));
        match password {
            Some(p) if !p.is_empty() => message.replace(&p, "…"),
            _ => message.to_string(),
        }
    }

    /// `url` without the user and password it may hold.
    pub fn redacted(url: &str) -> String {
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.chars().take(64).collect();
        };
        let authority_end = rest.find('/').unwrap_or(rest.len());
        match rest[..authority_end].rfind('@') {
            Some(at) => format!("{scheme}://…@{}", &rest[at + 1..]),
            None => url.to_string(),
        }
    }
}

/// Shared by the scripts. `KEYS[1]` is the entry, `KEYS[2]` the index of
/// entries by expiry (ms), `KEYS[3]` each entry's size and owner, `KEYS[4]`
/// what the prefix holds: `bytes`, `entries`, and `c:ADDRESS` per client.
const PRELUDE: &str = r#"
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function account(entry, size, owner, expires)
  redis.call('ZADD', KEYS[2], expires, entry)
  redis.call('HSET', KEYS[3], entry, size .. ' ' .. owner)
  redis.call('HINCRBY', KEYS[4], 'bytes', size)
  redis.call('HINCRBY', KEYS[4], 'entries', 1)
  if owner ~= '' then redis.call('HINCRBY', KEYS[4], 'c:' .. owner, size) end
end
local function forget(entry)
  redis.call('ZREM', KEYS[2], entry)
  local meta = redis.call('HGET', KEYS[3], entry)
  if not meta then return nil end
  redis.call('HDEL', KEYS[3], entry)
  local size, owner = string.match(meta, '^(%d+) (.*)$')
  size = tonumber(size)
  redis.call('HINCRBY', KEYS[4], 'bytes', -size)
  redis.call('HINCRBY', KEYS[4], 'entries', -1)
  if owner ~= '' and redis.call('HINCRBY', KEYS[4], 'c:' .. owner, -size) <= 0 then
    redis.call('HDEL', KEYS[4], 'c:' .. owner)
  end
  return {size, owner}
end
local function sweep(now)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 128)
  for _, entry in ipairs(gone) do
    forget(entry)
    redis.call('DEL', entry)
  end
end
local function refuse(size, owner, max_total, max_entries, cap)
  local bytes = tonumber(redis.call('HGET', KEYS[4], 'bytes') or '0')
  local entries = tonumber(redis.call('HGET', KEYS[4], 'entries') or '0')
  if bytes + size > max_total then
    return {'full', 'the stash is full (' .. bytes .. ' of ' .. max_total .. ' bytes used)'}
  end
  if entries >= max_entries then
    return {'full', 'the stash is full (' .. max_entries .. ' entries)'}
  end
  if cap > 0 and owner ~= '' then
    local held = tonumber(redis.call('HGET', KEYS[4], 'c:' .. owner) or '0')
    if held + size > cap then return {'cap', ''} end
  end
  return nil
end
"#;

/// ARGV: value, size, owner, ttl (ms), max total, max entries, client cap.
const PUT: &str = r#"
local now = now_ms()
sweep(now)
if redis.call('EXISTS', KEYS[1]) == 1 then return {'present', ''} end
forget(KEYS[1])
local size, ttl = tonumber(ARGV[2]), tonumber(ARGV[4])
local why = refuse(size, ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
if why then return why end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
account(KEYS[1], size, ARGV[3], now + ttl)
return {'ok', ''}
"#;

const TAKE: &str = r#"
local value = redis.call('GETDEL', KEYS[1])
forget(KEYS[1])
return value
"#;

/// ARGV: has expected, expected, has new, new, size, owner, ttl (ms), max
/// total, max entries, client cap.
const SWAP: &str = r#"
local now = now_ms()
sweep(now)
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return {'mismatch', ''} end
elseif current then
  return {'mismatch', ''}
end
local expires = redis.call('ZSCORE', KEYS[2], KEYS[1])
local old = forget(KEYS[1])
if ARGV[3] ~= '1' then
  redis.call('DEL', KEYS[1])
  return {'swapped', ''}
end
local size, ttl = tonumber(ARGV[5]), tonumber(ARGV[7])
local why = refuse(size, ARGV[6], tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10]))
if why then
  if old and expires then account(KEYS[1], old[1], old[2], tonumber(expires)) end
  return why
end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ttl)
account(KEYS[1], size, ARGV[6], now + ttl)
return {'swapped', ''}
"#;

/// A record: stored whatever was there. ARGV as `PUT`'s.
const STORE: &str = r#"
local now = now_ms()
sweep(now)
local current = redis.call('GET', KEYS[1])
local expires = redis.call('ZSCORE', KEYS[2], KEYS[1])
local old = forget(KEYS[1])
local size, ttl = tonumber(ARGV[2]), tonumber(ARGV[4])
local why = refuse(size, ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
if why then
  if old and expires and current then account(KEYS[1], old[1], old[2], tonumber(expires)) end
  return why
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
account(KEYS[1], size, ARGV[3], now + ttl)
return {'ok', ''}
"#;

/// A record read, its time to live (`ARGV[1]`, ms) started again.
const LOAD: &str = r#"
local value = redis.call('GET', KEYS[1])
if value then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  redis.call('ZADD', KEYS[2], 'XX', now_ms() + tonumber(ARGV[1]), KEYS[1])
end
return value
"#;

/// `KEYS[1]` the lock, `ARGV[1]` the holder's token, `ARGV[2]` the lease (ms).
const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// Longest pause between two tries for a lock someone holds.
const LOCK_POLL_MAX: Duration = Duration::from_millis(16);

struct Scripts {
    put: Script,
    take: Script,
    swap: Script,
    store: Script,
    load: Script,
    renew: Script,
    release: Script,
}

/// What the store-backed stash shares with its lock leases: a pool of
/// connections, each made when first needed and made again after it failed
/// (so a store that comes back is used again on the next call).
struct Shared {
    client: Client,
    connect: AsyncConnectionConfig,
    pool: Vec<tokio::sync::Mutex<Option<MultiplexedConnection>>>,
    next: AtomicUsize,
    timeout: Duration,
    scripts: Scripts,
    shown: String,
}

/// Whether an error means the connection is no good (rather than a refusal
/// by the store of one command).
fn broken(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_unrecoverable_error()
}

impl Shared {
    /// Connection `i` of the pool, connecting it when it has none.
    async fn connection(&self, i: usize) -> RedisResult<MultiplexedConnection> {
        let mut slot = self.pool[i].lock().await;
        if let Some(conn) = &*slot {
            return Ok(conn.clone());
        }
        let conn = self
            .client
            .get_multiplexed_async_connection_with_config(&self.connect)
            .await?;
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Runs `run` on connection `i` within the timeout. A connection that
    /// failed is dropped, to be made again by the next call.
    async fn attempt<T>(
        &self,
        i: usize,
        run: impl AsyncFnOnce(&mut MultiplexedConnection) -> RedisResult<T>,
    ) -> Result<T, Failure> {
        let attempt = async {
            let mut conn = self.connection(i).await?;
            run(&mut conn).await
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if broken(&e) {
                    *self.pool[i].lock().await = None;
                }
                Err(Failure::Refused(e))
            }
            Err(_) => {
                *self.pool[i].lock().await = None;
                Err(Failure::Late(self.timeout))
            }
        }
    }

    /// Runs one call against the store, on the pool's next connection; the
    /// guest hears only that the store failed, the log has why.
    async fn call<T>(
        &self,
        what: &str,
        run: impl AsyncFnOnce(&mut MultiplexedConnection) -> RedisResult<T>,
    ) -> Result<T, StashError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.pool.len();
        self.attempt(i, run).await.map_err(|failure| {
            tracing::warn!("stash: {what} in {}: {failure}", self.shown);
            StashError::Unavailable(match failure {
                Failure::Refused(_) => "the stash's store is out of reach".to_string(),
                Failure::Late(after) => format!(
                    "the stash's store did not answer within {} s",
                    after.as_secs_f64()
                ),
            })
        })
    }
}

/// Why a call to the store failed.
enum Failure {
    /// The store's (or the connection's) error.
    Refused(RedisError),
    /// No answer within this long.
    Late(Duration),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(e) => write!(f, "{e}"),
            Failure::Late(after) => write!(f, "no answer within {} s", after.as_secs_f64()),
        }
    }
}

/// The stash in a Redis server.
pub(super) struct RedisStash {
    shared: Arc<Shared>,
    prefix: String,
    ttl_ms: u64,
    lease: Duration,
    max_total_bytes: usize,
    max_entries: usize,
    /// Each client's cap on bytes, when caps apply.
    client_cap: Option<usize>,
}

impl RedisStash {
    /// Connects to the store at `address` (see `OnUnreachable`).
    pub(super) async fn open(
        address: Address,
        config: &StashConfig,
        client_cap: Option<usize>,
    ) -> Result<RedisStash, String> {
        let shown = address.shown.clone();
        let client = match &config.ca_file {
            None => Client::open(address.url.as_str()),
            Some(ca) => {
                let pem = std::fs::read(ca)
                    .map_err(|e| format!("stash.ca_file: cannot read {}: {e}", ca.display()))?;
                Client::build_with_tls(
                    address.url.as_str(),
                    ::redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )
            }
        }
        .map_err(|e| format!("stash.backend: {shown}: {e}"))?;
        let timeout = config.timeout();
        let shared = Arc::new(Shared {
            client,
            connect: AsyncConnectionConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout)),
            pool: (0..config.pool_size).map(|_| Default::default()).collect(),
            next: AtomicUsize::new(0),
            timeout,
            scripts: Scripts {
                put: Script::new(&format!("{PRELUDE}{PUT}")),
                take: Script::new(&format!("{PRELUDE}{TAKE}")),
                swap: Script::new(&format!("{PRELUDE}{SWAP}")),
                store: Script::new(&format!("{PRELUDE}{STORE}")),
                load: Script::new(&format!("{PRELUDE}{LOAD}")),
                renew: Script::new(RENEW),
                release: Script::new(RELEASE),
            },
            shown: format!("Redis at {shown}"),
        });
        let stash = RedisStash {
            shared,
            prefix: config.key_prefix.clone(),
            ttl_ms: config.ttl().as_millis().max(1) as u64,
            lease: Duration::from_secs_f64(config.lock_lease_secs),
            max_total_bytes: config.max_total_bytes,
            max_entries: config.max_entries,
            client_cap,
        };
        if let Err(e) = stash.ping(&address).await {
            match config.on_unreachable {
                OnUnreachable::Fail => {
                    return Err(format!(
                        "stash.backend: cannot reach the Redis server at {shown}: {e} \
                         (set stash.on_unreachable to \"retry\" to start anyway)"
                    ))
                }
                OnUnreachable::Retry => tracing::warn!(
                    "stash: cannot reach the Redis server at {shown} ({e}); starting anyway, \
                     stash calls fail until it answers"
                ),
            }
        }
        Ok(stash)
    }

    /// Whether the store answers, on every connection of the pool; if not,
    /// why, for the operator (a refused connection, a certificate that is
    /// not trusted or not for this host, a password refused).
    async fn ping(&self, address: &Address) -> Result<(), String> {
        for i in 0..self.shared.pool.len() {
            self.shared
                .attempt(i, async |conn| {
                    ::redis::cmd("PING").query_async::<String>(conn).await
                })
                .await
                .map_err(|failure| address.scrub(&failure.to_string()))?;
        }
        Ok(())
    }

    /// For the start-up log.
    pub(super) fn describe(&self) -> String {
        format!("{} (key prefix {:?})", self.shared.shown, self.prefix)
    }

    /// The store's keys of this prefix: an entry, the index, the sizes, the
    /// usage, and the lock.
    fn entry_key(&self, path: &str, key: &str) -> Vec<u8> {
        let mut k = format!("{{{}}}:e:{key}:", self.prefix).into_bytes();
        k.extend_from_slice(path.as_bytes());
        k
    }

    /// A record's key: beside the guests' entries, never one of them.
    fn record_key(&self, name: &str) -> Vec<u8> {
        format!("{{{}}}:r:{name}", self.prefix).into_bytes()
    }

    /// Names the keys every entry script touches: the entry, then the
    /// prefix's index, sizes and usage.
    fn keyed<'a>(&self, script: &'a Script, entry: &[u8]) -> ScriptInvocation<'a> {
        let p = &self.prefix;
        let mut call = script.prepare_invoke();
        call.key(entry)
            .key(format!("{{{p}}}:index"))
            .key(format!("{{{p}}}:sizes"))
            .key(format!("{{{p}}}:usage"));
        call
    }

    /// Adds what a script needs to admit `size` bytes of `owner`'s: the
    /// time to live and the limits (the scripts' last arguments).
    fn admitting(&self, call: &mut ScriptInvocation<'_>, size: usize, owner: Owner, ttl_ms: u64) {
        call.arg(size)
            .arg(owner.to_string())
            .arg(ttl_ms)
            .arg(self.max_total_bytes)
            .arg(self.max_entries)
            .arg(self.client_cap.unwrap_or(0));
    }

    fn refused(&self, status: &str, message: String) -> StashError {
        match status {
            "cap" => StashError::TooLarge(
                AtCap {
                    what: "bytes in the stash",
                    cap: self.client_cap.unwrap_or(0),
                }
                .to_string(),
            ),
            _ => StashError::TooLarge(message),
        }
    }

    pub(super) async fn put(
        &self,
        path: &str,
        key: &str,
        value: Vec<u8>,
        owner: Owner,
    ) -> Result<(), StashError> {
        let entry = self.entry_key(path, key);
        let size = cost(path, key, &value);
        let mut call = self.keyed(&self.shared.scripts.put, &entry);
        call.arg(value);
        self.admitting(&mut call, size, owner, self.ttl_ms);
        let (status, message): (String, String) = self
            .shared
            .call("put", async |conn| call.invoke_async(conn).await)
            .await?;
        match status.as_str() {
            "ok" => Ok(()),
            "present" => Err(StashError::AlreadyPresent),
            other => Err(self.refused(other, message)),
        }
    }

    pub(super) async fn take(&self, path: &str, key: &str) -> Result<Option<Vec<u8>>, StashError> {
        let entry = self.entry_key(path, key);
        let call = self.keyed(&self.shared.scripts.take, &entry);
        self.shared
            .call("take", async |conn| call.invoke_async(conn).await)
            .await
    }

    pub(super) async fn peek(&self, path: &str, key: &str) -> Result<Option<Vec<u8>>, StashError> {
        let entry = self.entry_key(path, key);
        let mut cmd = ::redis::cmd("GET");
        cmd.arg(&entry);
        self.shared
            .call("peek", async |conn| cmd.query_async(conn).await)
            .await
    }

    pub(super) async fn compare_and_swap(
        &self,
        path: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: Option<Vec<u8>>,
        owner: Owner,
    ) -> Result<bool, StashError> {
        let entry = self.entry_key(path, key);
        let size = new.as_deref().map_or(0, |v| cost(path, key, v));
        let mut call = self.keyed(&self.shared.scripts.swap, &entry);
        call.arg(if expected.is_some() { "1" } else { "0" })
            .arg(expected.unwrap_or_default())
            .arg(if new.is_some() { "1" } else { "0" })
            .arg(new.unwrap_or_default());
        self.admitting(&mut call, size, owner, self.ttl_ms);
        let (status, message): (String, String) = self
            .shared
            .call("compare-and-swap", async |conn| {
                call.invoke_async(conn).await
            })
            .await?;
        match status.as_str() {
            "swapped" => Ok(true),
            "mismatch" => Ok(false),
            other => Err(self.refused(other, message)),
        }
    }

    /// Takes the lease on the stash lock.
    pub(super) async fn hold_lock(&self) -> Result<Lease, StashError> {
        self.hold_lease(format!("{{{}}}:lock", self.prefix)).await
    }

    /// Takes the lease of record `name`'s lock.
    pub(super) async fn hold_record_lock(&self, name: &str) -> Result<Lease, StashError> {
        self.hold_lease(format!("{{{}}}:rl:{name}", self.prefix))
            .await
    }

    /// Record `name`, if it is there; its time to live starts again.
    pub(super) async fn load_record(
        &self,
        name: &str,
        ttl: Duration,
    ) -> Result<Option<Vec<u8>>, StashError> {
        let entry = self.record_key(name);
        let mut call = self.keyed(&self.shared.scripts.load, &entry);
        call.arg(ttl.as_millis().max(1) as u64);
        self.shared
            .call("load", async |conn| call.invoke_async(conn).await)
            .await
    }

    /// Stores record `name` (replacing it), `owner`'s, for `ttl`.
    pub(super) async fn store_record(
        &self,
        name: &str,
        value: Vec<u8>,
        owner: Owner,
        ttl: Duration,
    ) -> Result<(), StashError> {
        let entry = self.record_key(name);
        let size = cost("", name, &value);
        let mut call = self.keyed(&self.shared.scripts.store, &entry);
        call.arg(value);
        self.admitting(&mut call, size, owner, ttl.as_millis().max(1) as u64);
        let (status, message): (String, String) = self
            .shared
            .call("store", async |conn| call.invoke_async(conn).await)
            .await?;
        match status.as_str() {
            "ok" => Ok(()),
            other => Err(self.refused(other, message)),
        }
    }

    /// Removes record `name`.
    pub(super) async fn drop_record(&self, name: &str) -> Result<(), StashError> {
        let entry = self.record_key(name);
        let call = self.keyed(&self.shared.scripts.take, &entry);
        self.shared
            .call("drop", async |conn| {
                call.invoke_async::<Option<Vec<u8>>>(conn).await
            })
            .await
            .map(drop)
    }

    /// Takes the lease on a lock, trying again (at most every 16 ms) while
    /// another holder has it.
    async fn hold_lease(&self, key: String) -> Result<Lease, StashError> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let lease_ms = self.lease.as_millis().max(1) as u64;
        let mut pause = Duration::from_millis(1);
        loop {
            let mut cmd = ::redis::cmd("SET");
            cmd.arg(&key).arg(&token).arg("NX").arg("PX").arg(lease_ms);
            let set = async |conn: &mut MultiplexedConnection| {
                cmd.query_async::<Option<String>>(conn).await
            };
            if self.shared.call("lock", set).await?.is_some() {
                return Ok(Lease::held(self.shared.clone(), key, token, self.lease));
            }
            tokio::time::sleep(pause + Duration::from_micros(fastrand::u64(0..1000))).await;
            pause = (pause * 2).min(LOCK_POLL_MAX);
        }
    }
}

/// The stash lock held in the store: renewed every third of its lease
/// while held, given back when dropped.
pub struct Lease {
    shared: Arc<Shared>,
    key: String,
    token: String,
    renewing: tokio::task::AbortHandle,
}

impl Lease {
    fn held(shared: Arc<Shared>, key: String, token: String, lease: Duration) -> Lease {
        let renewing = {
            let (shared, key, token) = (shared.clone(), key.clone(), token.clone());
            let lease_ms = lease.as_millis().max(1) as u64;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    let mut call = shared.scripts.renew.prepare_invoke();
                    call.key(&key).arg(&token).arg(lease_ms);
                    let renew = async |conn: &mut MultiplexedConnection| {
                        call.invoke_async::<i64>(conn).await
                    };
                    match shared.call("lock renewal", renew).await {
                        Ok(1) => {}
                        Ok(_) => {
                            tracing::warn!("stash: the lock's lease ran out while held");
                            return;
                        }
                        // Tried again at the next third: the lease may last.
                        Err(_) => {}
                    }
                }
            })
            .abort_handle()
        };
        Lease {
            shared,
            key,
            token,
            renewing,
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewing.abort();
        let (shared, key, token) = (
            self.shared.clone(),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.token),
        );
        // Given back in the background; if that fails, the lease runs out.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut call = shared.scripts.release.prepare_invoke();
                call.key(&key).arg(&token);
                let release =
                    async |conn: &mut MultiplexedConnection| call.invoke_async::<i64>(conn).await;
                let _ = shared.call("lock release", release).await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Address;

    #[test]
    fn addresses_are_shown_without_their_password() {
        assert_eq!(
            Address::redacted("redis://user:secret@db.example:6379/2"),
            "redis://…@db.example:6379/2"
        );
        assert_eq!(
            Address::redacted("rediss://127.0.0.1:6380"),
            "rediss://127.0.0.1:6380"
        );
        assert!(Address::parse("redis://127.0.0.1:6379/0").is_ok());
        let e = Address::parse("redis://:pw@127.0.0.1:notaport/0").unwrap_err();
        assert!(!e.contains("pw"), "{e}");
    }
}
