//! Fairness between clients: what one client address may hold at once —
//! open connections, handler requests in flight (each holds or waits for an
//! instance slot), sleeping handlers, instance memory, stash bytes — so that
//! one client cannot take what every other needs.
//!
//! IPv4 clients are counted by address, IPv6 clients by /64 (one host
//! usually has a whole /64). The caps are on by default when the server
//! listens beyond loopback, off on loopback-only serving (a test machine's
//! own browser is one client).

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde::Deserialize;

/// Caps per client address (the `per_client` key of the configuration).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PerClient {
    /// Whether the caps apply: `true`, `false`, or absent for "when the
    /// server listens on an address other than loopback". Default: absent.
    pub enabled: Option<bool>,
    /// Open connections. Default: 256.
    pub connections: usize,
    /// Handler requests in flight (running, or waiting for an instance
    /// slot). Default: 64.
    pub handler_requests: usize,
    /// Handlers asleep at once. Default: 32.
    pub sleeping: usize,
    /// Linear memory of the instances serving it at once, in MiB. Default:
    /// a quarter of `wasm.max_total_memory_mib`, so that one client's
    /// memory bombs leave the rest of that memory to the others.
    pub instance_memory_mib: Option<u64>,
    /// Bytes of stash entries put and not yet taken. Default: 8388608 (8 MiB).
    pub stash_bytes: usize,
}

impl Default for PerClient {
    fn default() -> Self {
        PerClient {
            enabled: None,
            connections: 256,
            handler_requests: 64,
            sleeping: 32,
            instance_memory_mib: None,
            stash_bytes: 8 << 20,
        }
    }
}

/// What is counted per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Held {
    /// An open connection.
    Connection,
    /// A handler request in flight.
    HandlerRequest,
    /// A sleeping handler.
    Sleeping,
}

impl Held {
    fn name(self) -> &'static str {
        match self {
            Held::Connection => "open connections",
            Held::HandlerRequest => "handler requests in flight",
            Held::Sleeping => "sleeping handlers",
        }
    }
}

/// A client at its cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtCap {
    /// What it holds too many of.
    pub what: &'static str,
    /// The cap.
    pub cap: usize,
}

impl fmt::Display for AtCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "your address already has {} {}", self.cap, self.what)
    }
}

impl std::error::Error for AtCap {}

#[derive(Debug, Default)]
struct Usage {
    connections: usize,
    handler_requests: usize,
    sleeping: usize,
    instance_memory: u64,
    stash_bytes: usize,
}

impl Usage {
    fn slot(&mut self, what: Held) -> &mut usize {
        match what {
            Held::Connection => &mut self.connections,
            Held::HandlerRequest => &mut self.handler_requests,
            Held::Sleeping => &mut self.sleeping,
        }
    }

    fn is_empty(&self) -> bool {
        self.connections == 0
            && self.handler_requests == 0
            && self.sleeping == 0
            && self.instance_memory == 0
            && self.stash_bytes == 0
    }
}

/// What every client holds now, against the caps.
#[derive(Debug)]
pub struct Tenants {
    caps: Option<PerClient>,
    /// The instance memory cap, in bytes, resolved.
    memory_cap: u64,
    usage: Mutex<HashMap<IpAddr, Usage>>,
}

/// The instance memory one request holds, counted against its client
/// and given back when dropped (with the instance's store).
#[derive(Debug)]
pub struct MemoryAccount {
    tenants: Arc<Tenants>,
    client: IpAddr,
    held: u64,
}

impl MemoryAccount {
    /// `bytes` more, unless they would take the client past its share.
    pub fn take(&mut self, bytes: u64) -> Result<(), AtCap> {
        let cap = self.tenants.memory_cap;
        self.tenants.update(self.client, |u| {
            let after = u.instance_memory.saturating_add(bytes);
            if after > cap {
                return Err(AtCap {
                    what: "MiB of instance memory",
                    cap: (cap >> 20) as usize,
                });
            }
            u.instance_memory = after;
            Ok(())
        })?;
        self.held += bytes;
        Ok(())
    }
}

impl Drop for MemoryAccount {
    fn drop(&mut self) {
        if self.held > 0 {
            let held = self.held;
            self.tenants.update(self.client, |u| {
                u.instance_memory = u.instance_memory.saturating_sub(held)
            });
        }
    }
}

/// One thing a client holds; given back when dropped.
#[derive(Debug)]
pub struct Pass {
    /// Whom to give it back to (none when nothing is counted).
    tenants: Option<Arc<Tenants>>,
    client: IpAddr,
    what: Held,
}

impl Drop for Pass {
    fn drop(&mut self) {
        if let Some(tenants) = &self.tenants {
            tenants.update(self.client, |u| {
                let n = u.slot(self.what);
                *n = n.saturating_sub(1);
            });
        }
    }
}

/// The address a client is counted under: IPv4 as it is, IPv6 by its /64.
fn key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
        v4 => v4,
    }
}

impl Tenants {
    /// Counts clients against `caps` (`None`: counts nothing, refuses
    /// nothing), of an instance memory of `total_memory_mib` for all.
    pub fn new(caps: Option<PerClient>, total_memory_mib: u64) -> Self {
        let memory_mib = caps
            .as_ref()
            .and_then(|c| c.instance_memory_mib)
            .unwrap_or(total_memory_mib / 4);
        Tenants {
            caps,
            memory_cap: memory_mib.saturating_mul(1 << 20),
            usage: Mutex::new(HashMap::new()),
        }
    }

    /// The account of the instance memory a request of `client` holds;
    /// `None` when nothing is counted.
    pub fn memory_account(self: &Arc<Self>, client: IpAddr) -> Option<MemoryAccount> {
        self.caps.as_ref()?;
        Some(MemoryAccount {
            tenants: self.clone(),
            client,
            held: 0,
        })
    }

    /// Whether any cap applies.
    pub fn enabled(&self) -> bool {
        self.caps.is_some()
    }

    fn update<T>(&self, client: IpAddr, f: impl FnOnce(&mut Usage) -> T) -> T {
        let mut usage = self.usage.lock().unwrap_or_else(|p| p.into_inner());
        let client = key(client);
        let entry = usage.entry(client).or_default();
        let out = f(entry);
        if entry.is_empty() {
            usage.remove(&client);
        }
        out
    }

    /// One more `what` for `client`, unless it is at its cap.
    pub fn admit(self: &Arc<Self>, client: IpAddr, what: Held) -> Result<Pass, AtCap> {
        let Some(caps) = &self.caps else {
            return Ok(Pass {
                tenants: None,
                client,
                what,
            });
        };
        let cap = match what {
            Held::Connection => caps.connections,
            Held::HandlerRequest => caps.handler_requests,
            Held::Sleeping => caps.sleeping,
        };
        self.update(client, |u| {
            let n = u.slot(what);
            if *n >= cap {
                return Err(AtCap {
                    what: what.name(),
                    cap,
                });
            }
            *n += 1;
            Ok(())
        })?;
        Ok(Pass {
            tenants: Some(self.clone()),
            client,
            what,
        })
    }

    /// Counts `bytes` of stash entries against `client`, unless they would
    /// take it past its cap.
    pub fn charge_stash(&self, client: IpAddr, bytes: usize) -> Result<(), AtCap> {
        let Some(caps) = &self.caps else {
            return Ok(());
        };
        let cap = caps.stash_bytes;
        self.update(client, |u| {
            let after = u.stash_bytes.saturating_add(bytes);
            if after > cap {
                return Err(AtCap {
                    what: "bytes in the stash",
                    cap,
                });
            }
            u.stash_bytes = after;
            Ok(())
        })
    }

    /// Each client's cap on stash bytes, when caps apply (a stash in a
    /// shared store keeps that account itself).
    pub fn stash_cap(&self) -> Option<usize> {
        self.caps.as_ref().map(|c| c.stash_bytes)
    }

    /// Gives back stash bytes `client` was charged for.
    pub fn release_stash(&self, client: IpAddr, bytes: usize) {
        if self.caps.is_some() {
            self.update(client, |u| {
                u.stash_bytes = u.stash_bytes.saturating_sub(bytes)
            });
        }
    }

    /// Clients holding anything now.
    pub fn clients(&self) -> usize {
        self.usage.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> PerClient {
        PerClient {
            enabled: Some(true),
            connections: 2,
            handler_requests: 1,
            sleeping: 1,
            instance_memory_mib: Some(3),
            stash_bytes: 10,
        }
    }

    #[test]
    fn each_client_has_its_own_caps() {
        let t = Arc::new(Tenants::new(Some(caps()), 100));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = t.admit(a, Held::Connection).unwrap();
        let _second = t.admit(a, Held::Connection).unwrap();
        let refused = t.admit(a, Held::Connection).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "your address already has 2 open connections"
        );
        assert!(
            t.admit(b, Held::Connection).is_ok(),
            "another client is not affected"
        );
        drop(first);
        assert!(t.admit(a, Held::Connection).is_ok(), "given back");
        assert!(t.charge_stash(a, 8).is_ok());
        assert!(t.charge_stash(a, 3).is_err());
        t.release_stash(a, 8);
        assert!(t.charge_stash(a, 10).is_ok());
    }

    #[test]
    fn instance_memory_is_shared_out_per_client() {
        let t = Arc::new(Tenants::new(Some(caps()), 100));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let mut first = t.memory_account(a).unwrap();
        let mut second = t.memory_account(a).unwrap();
        first.take(2 << 20).unwrap();
        let refused = second.take(2 << 20).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "your address already has 3 MiB of instance memory"
        );
        t.memory_account(b).unwrap().take(3 << 20).unwrap();
        drop(first);
        second.take(3 << 20).unwrap();
        drop(second);
        assert_eq!(t.clients(), 0, "all given back");
        let shared = Tenants::new(
            Some(PerClient {
                instance_memory_mib: None,
                ..caps()
            }),
            100,
        );
        assert_eq!(shared.memory_cap, 25 << 20, "a quarter by default");
        assert!(Arc::new(Tenants::new(None, 100))
            .memory_account(a)
            .is_none());
    }

    #[test]
    fn ipv6_clients_count_by_64_and_entries_go_when_empty() {
        let t = Arc::new(Tenants::new(Some(caps()), 100));
        let one: IpAddr = "2001:db8::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8::ffff:2".parse().unwrap();
        let other_64: IpAddr = "2001:db8:0:1::1".parse().unwrap();
        let held = t.admit(one, Held::HandlerRequest).unwrap();
        assert!(t.admit(same_64, Held::HandlerRequest).is_err());
        assert!(t.admit(other_64, Held::HandlerRequest).is_ok());
        drop(held);
        assert_eq!(t.clients(), 0);
    }

    #[test]
    fn without_caps_nothing_is_refused() {
        let t = Arc::new(Tenants::new(None, 100));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let passes: Vec<_> = (0..1000)
            .map(|_| t.admit(a, Held::Sleeping).unwrap())
            .collect();
        assert_eq!(passes.len(), 1000);
        assert!(t.charge_stash(a, usize::MAX).is_ok());
    }
}
