//! Per-client sessions: values a handler keeps for the client that sent
//! the request, found again on the client's later requests by a cookie the
//! server sets, gone after an idle timeout.
//!
//! A session is one record in the stash's store (memory or Redis: a session
//! outlives its server when the store is shared), under the stash's limits
//! and each client's share of them, plus a per-session size limit. Its id
//! is 128 random bits, never derived from the client; a cookie naming no
//! live session gets a new, empty one, so no request reaches a session but
//! its own client's.
//!
//! Concurrency: a request that touches its session holds that session's
//! lock from the first touch until its handler has returned and the
//! session is saved. A handler's read-modify-write (`get`, then `set`)
//! spans several calls; a lock makes it whole, where a per-key
//! compare-and-swap at the end would have to fail or redo the handler.
//! Requests that never touch the session never wait. Changes are saved only
//! when the handler succeeds: a failed request changes nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::stash::{LockHeld, Owner, Stash, StashError};

/// Sessions' configuration.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// The session cookie's name. Default: `"sandserve_session"`.
    pub cookie_name: String,
    /// Seconds a session lives unused. Default: 3600.
    pub idle_secs: f64,
    /// Largest session, keys and values together, in bytes. Default: 65536.
    pub max_bytes: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            cookie_name: "sandserve_session".into(),
            idle_secs: 3600.0,
            max_bytes: 64 << 10,
        }
    }
}

impl SessionConfig {
    /// Checks what serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let name_ok = !self.cookie_name.is_empty()
            && self.cookie_name.len() <= 64
            && self
                .cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !name_ok {
            return Err("sessions.cookie_name: 1 to 64 characters of a cookie name".into());
        }
        if !(self.idle_secs.is_finite() && (0.001..1e9).contains(&self.idle_secs)) {
            return Err("sessions.idle_secs: must be a positive number of seconds".into());
        }
        Ok(())
    }

    fn idle(&self) -> Duration {
        Duration::from_secs_f64(self.idle_secs)
    }
}

/// Why a session call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    /// The session would be over its size limit.
    TooLarge(String),
    /// The store is out of reach.
    Unavailable(String),
    /// A new session needs its cookie in the response's headers, and the
    /// writer has already begun the response.
    HeadersSent,
}

impl std::fmt::Display for SessionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionError::TooLarge(why) | SessionError::Unavailable(why) => {
                write!(f, "session: {why}")
            }
            SessionError::HeadersSent => write!(
                f,
                "session: a new session needs its cookie in the response's headers, \
                 which the writer has already begun"
            ),
        }
    }
}

impl From<StashError> for SessionError {
    fn from(e: StashError) -> Self {
        match e {
            StashError::Unavailable(why) => SessionError::Unavailable(why),
            other => SessionError::TooLarge(other.to_string()),
        }
    }
}

/// Sessions in the stash's store.
#[derive(Debug)]
pub struct Sessions {
    stash: Arc<Stash>,
    config: SessionConfig,
}

impl Sessions {
    /// Sessions kept in `stash`'s store.
    pub fn new(stash: Arc<Stash>, config: SessionConfig) -> Self {
        Sessions { stash, config }
    }

    /// Whether a call may wait on a store shared with other servers.
    pub fn is_shared(&self) -> bool {
        self.stash.is_shared()
    }

    /// The session of a request whose `Cookie` header lines are
    /// `cookie_lines`, for client `owner`, over TLS or not (the cookie's
    /// `Secure`).
    pub fn for_request<'a>(
        self: &Arc<Self>,
        cookie_lines: impl Iterator<Item = &'a [u8]>,
        owner: Owner,
        secure: bool,
    ) -> RequestSession {
        let name = self.config.cookie_name.as_bytes();
        let claimed = cookie_lines
            .flat_map(|line| line.split(|&b| b == b';'))
            .filter_map(|pair| {
                let eq = pair.iter().position(|&b| b == b'=')?;
                (pair[..eq].trim_ascii() == name).then(|| pair[eq + 1..].trim_ascii())
            })
            .find_map(|value| std::str::from_utf8(value).ok().filter(|v| well_formed(v)))
            .map(str::to_string);
        RequestSession {
            sessions: self.clone(),
            claimed,
            owner,
            secure,
            open: None,
        }
    }
}

/// Session ids: 32 lowercase hex digits (128 bits).
fn well_formed(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn new_id() -> String {
    let mut bits = [0u8; 16];
    getrandom::fill(&mut bits).expect("the system's random numbers");
    bits.iter().map(|b| format!("{b:02x}")).collect()
}

fn record(id: &str) -> String {
    format!("session:{id}")
}

/// A request's session, opened on its first use.
pub struct RequestSession {
    sessions: Arc<Sessions>,
    /// The id the request's cookie names, if well formed.
    claimed: Option<String>,
    owner: Owner,
    secure: bool,
    open: Option<Open>,
}

struct Open {
    /// `None` until a new session is first written.
    id: Option<String>,
    /// The session existed in the store before this request.
    existed: bool,
    data: BTreeMap<String, Vec<u8>>,
    bytes: usize,
    dirty: bool,
    /// A new session's cookie has gone out through the writer.
    cookie_written: bool,
    _lock: Option<LockHeld>,
}

impl RequestSession {
    /// Whether a call may wait (the store is shared, and the session not yet
    /// open).
    pub fn may_wait(&self) -> bool {
        self.open.is_none() && self.sessions.is_shared()
    }

    /// Opens the session: the claimed one, locked and loaded, if it lives;
    /// else a new, empty one.
    async fn open(&mut self) -> Result<&mut Open, SessionError> {
        if self.open.is_none() {
            let mut open = Open {
                id: None,
                existed: false,
                data: BTreeMap::new(),
                bytes: 0,
                dirty: false,
                cookie_written: false,
                _lock: None,
            };
            if let Some(id) = &self.claimed {
                let stash = &self.sessions.stash;
                let lock = stash.hold_record_lock(&record(id)).await?;
                let idle = self.sessions.config.idle();
                if let Some(saved) = stash.load_record(&record(id), idle).await? {
                    if let Some(data) = decode(&saved) {
                        open.bytes = saved.len();
                        open.data = data;
                        open.id = Some(id.clone());
                        open.existed = true;
                        open._lock = Some(lock);
                    }
                }
            }
            self.open = Some(open);
        }
        Ok(self.open.as_mut().expect("opened"))
    }

    /// The value of `key`.
    pub async fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, SessionError> {
        Ok(self.open().await?.data.get(key).cloned())
    }

    /// The keys, in order.
    pub async fn keys(&mut self) -> Result<Vec<String>, SessionError> {
        Ok(self.open().await?.data.keys().cloned().collect())
    }

    /// The session's id, once it has one.
    pub async fn id(&mut self) -> Result<Option<String>, SessionError> {
        Ok(self.open().await?.id.clone())
    }

    /// Sets `key`; a new session is created now (`headers_open`: whether
    /// its cookie can still reach the response's headers).
    pub async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        headers_open: bool,
    ) -> Result<(), SessionError> {
        let max = self.sessions.config.max_bytes;
        let open = self.open().await?;
        let old = open.data.get(&key).map_or(0, |v| entry_size(&key, v));
        let bytes = open.bytes - old + entry_size(&key, &value);
        if bytes > max {
            return Err(SessionError::TooLarge(format!(
                "the session would hold {bytes} bytes, over the limit of {max}"
            )));
        }
        if open.id.is_none() {
            if !headers_open {
                return Err(SessionError::HeadersSent);
            }
            open.id = Some(new_id());
        }
        open.bytes = bytes;
        open.data.insert(key, value);
        open.dirty = true;
        Ok(())
    }

    /// Removes `key`.
    pub async fn delete(&mut self, key: &str) -> Result<(), SessionError> {
        let open = self.open().await?;
        if let Some(value) = open.data.remove(key) {
            open.bytes -= entry_size(key, &value);
            open.dirty = true;
        }
        Ok(())
    }

    /// Removes every key.
    pub async fn clear(&mut self) -> Result<(), SessionError> {
        let open = self.open().await?;
        if !open.data.is_empty() {
            open.data.clear();
            open.bytes = 0;
            open.dirty = true;
        }
        Ok(())
    }

    /// Drops this request's changes (and gives the lock back).
    pub fn discard(&mut self) {
        self.open = None;
    }

    /// The `Set-Cookie` value of a session created by this request, when
    /// the writer is about to end the response's headers (once).
    pub fn cookie_for_writer(&mut self) -> Option<Vec<u8>> {
        let cookie = self.new_cookie()?;
        self.open.as_mut()?.cookie_written = true;
        Some(cookie)
    }

    /// The `Set-Cookie` value of a session created by this request.
    fn new_cookie(&self) -> Option<Vec<u8>> {
        let open = self.open.as_ref()?;
        if open.existed || open.cookie_written || open.data.is_empty() {
            return None;
        }
        let id = open.id.as_ref()?;
        let name = &self.sessions.config.cookie_name;
        let secure = if self.secure { "; Secure" } else { "" };
        Some(format!("{name}={id}; Path=/; HttpOnly; SameSite=Lax{secure}").into_bytes())
    }

    /// The handler succeeded: saves what it changed (and gives the lock
    /// back). Returns the `Set-Cookie` value a structured response must
    /// carry, for a new session. A new session whose cookie could not be
    /// sent (the handler wrote its response raw) is not kept.
    pub async fn save(&mut self, structured: bool) -> Result<Option<Vec<u8>>, SessionError> {
        let cookie = if structured { self.new_cookie() } else { None };
        let Some(open) = self.open.take() else {
            return Ok(None);
        };
        let reachable = open.existed || open.cookie_written || cookie.is_some();
        let (Some(id), true, true) = (&open.id, open.dirty, reachable) else {
            return Ok(None);
        };
        let stash = &self.sessions.stash;
        if open.data.is_empty() {
            stash.drop_record(&record(id)).await?;
            return Ok(None);
        }
        let idle = self.sessions.config.idle();
        stash
            .store_record(&record(id), encode(&open.data), self.owner, idle)
            .await?;
        Ok(cookie)
    }
}

fn entry_size(key: &str, value: &[u8]) -> usize {
    8 + key.len() + value.len()
}

/// A session's bytes: each key and value with its length before it.
fn encode(data: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in data {
        for part in [key.as_bytes(), value.as_slice()] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
    }
    out
}

fn decode(mut bytes: &[u8]) -> Option<BTreeMap<String, Vec<u8>>> {
    let take = |bytes: &mut &[u8]| -> Option<Vec<u8>> {
        let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let part = bytes.get(4..4 + len)?.to_vec();
        *bytes = &bytes[4 + len..];
        Some(part)
    };
    let mut data = BTreeMap::new();
    while !bytes.is_empty() {
        let key = String::from_utf8(take(&mut bytes)?).ok()?;
        let value = take(&mut bytes)?;
        data.insert(key, value);
    }
    Some(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenants::Tenants;

    const ME: Owner = Owner::V4(std::net::Ipv4Addr::LOCALHOST);

    fn sessions(config: SessionConfig) -> Arc<Sessions> {
        let tenants = Arc::new(Tenants::new(None, 0));
        let stash = Arc::new(Stash::new(Default::default(), tenants));
        Arc::new(Sessions::new(stash, config))
    }

    fn cookie_of(set_cookie: &[u8]) -> String {
        let text = std::str::from_utf8(set_cookie).unwrap();
        text.split(';').next().unwrap().to_string()
    }

    #[test]
    fn encoding_round_trips_and_refuses_garbage() {
        let mut data = BTreeMap::new();
        data.insert("a".to_string(), b"1".to_vec());
        data.insert("empty".to_string(), Vec::new());
        assert_eq!(decode(&encode(&data)), Some(data));
        assert_eq!(decode(&[0, 0, 0, 9, b'x']), None);
    }

    #[tokio::test]
    async fn a_session_is_created_on_first_write_and_found_by_its_cookie() {
        let s = sessions(SessionConfig::default());
        let mut first = s.for_request(std::iter::empty(), ME, true);
        assert_eq!(first.get("n").await.unwrap(), None);
        assert_eq!(first.id().await.unwrap(), None, "no id before a write");
        first.set("n".into(), b"1".to_vec(), true).await.unwrap();
        let set_cookie = first
            .save(true)
            .await
            .unwrap()
            .expect("a new session's cookie");
        let text = String::from_utf8(set_cookie.clone()).unwrap();
        assert!(
            text.ends_with("; Path=/; HttpOnly; SameSite=Lax; Secure"),
            "{text}"
        );
        let cookie = cookie_of(&set_cookie);
        let line = format!("other=1; {cookie}");
        let mut second = s.for_request([line.as_bytes()].into_iter(), ME, false);
        assert_eq!(second.get("n").await.unwrap(), Some(b"1".to_vec()));
        second.set("n".into(), b"2".to_vec(), true).await.unwrap();
        assert_eq!(second.save(true).await.unwrap(), None, "no new cookie");
        // A forged or unknown id is a new, empty session.
        for forged in [
            "sandserve_session=00000000000000000000000000000000",
            "sandserve_session=../x",
        ] {
            let mut r = s.for_request([forged.as_bytes()].into_iter(), ME, false);
            assert_eq!(r.keys().await.unwrap(), Vec::<String>::new(), "{forged}");
        }
    }

    #[tokio::test]
    async fn a_failed_request_changes_nothing_and_limits_hold() {
        let s = sessions(SessionConfig {
            max_bytes: 64,
            ..SessionConfig::default()
        });
        let mut r = s.for_request(std::iter::empty(), ME, false);
        r.set("k".into(), b"kept".to_vec(), true).await.unwrap();
        let cookie = cookie_of(&r.save(true).await.unwrap().unwrap());
        // Not saved: the handler failed (the session is dropped unsaved).
        let mut failed = s.for_request([cookie.as_bytes()].into_iter(), ME, false);
        failed
            .set("k".into(), b"lost".to_vec(), true)
            .await
            .unwrap();
        drop(failed);
        let mut r = s.for_request([cookie.as_bytes()].into_iter(), ME, false);
        assert_eq!(r.get("k").await.unwrap(), Some(b"kept".to_vec()));
        let big = r.set("big".into(), vec![0; 100], true).await.unwrap_err();
        assert!(matches!(big, SessionError::TooLarge(_)), "{big:?}");
        // Written raw before it existed, a new session cannot send its cookie.
        let mut raw = s.for_request(std::iter::empty(), ME, false);
        assert_eq!(
            raw.set("k".into(), b"v".to_vec(), false).await,
            Err(SessionError::HeadersSent)
        );
    }

    #[tokio::test]
    async fn an_idle_session_goes() {
        let s = sessions(SessionConfig {
            idle_secs: 0.1,
            ..SessionConfig::default()
        });
        let mut r = s.for_request(std::iter::empty(), ME, false);
        r.set("k".into(), b"v".to_vec(), true).await.unwrap();
        let cookie = cookie_of(&r.save(true).await.unwrap().unwrap());
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut r = s.for_request([cookie.as_bytes()].into_iter(), ME, false);
        assert_eq!(r.get("k").await.unwrap(), None);
    }
}
