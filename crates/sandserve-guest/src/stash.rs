//! The stash: values shared between requests, keyed by a UUID under a path
//! (by default the request's path).

use crate::bindings::sandserve::handler::stash as wit;

/// Why a stash operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The key is not a UUID.
    InvalidKey(String),
    /// `put` of a key that is already there.
    AlreadyPresent,
    /// The value, or the stash, is over a size limit.
    TooLarge(String),
    /// The store behind the stash (shared by several servers) is out of
    /// reach; nothing is known of the call's effect.
    Unavailable(String),
}

impl From<wit::StashError> for Error {
    fn from(e: wit::StashError) -> Self {
        match e {
            wit::StashError::InvalidKey(k) => Error::InvalidKey(k),
            wit::StashError::AlreadyPresent => Error::AlreadyPresent,
            wit::StashError::TooLarge(why) => Error::TooLarge(why),
            wit::StashError::Unavailable(why) => Error::Unavailable(why),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidKey(k) => write!(f, "stash key {k:?} is not a UUID"),
            Error::AlreadyPresent => write!(f, "stash key is already present"),
            Error::TooLarge(why) | Error::Unavailable(why) => write!(f, "stash: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// Stores a value; a key can be put once until it is taken.
pub fn put(key: &str, value: &[u8], path: Option<&str>) -> Result<(), Error> {
    Ok(wit::put(key, value, path)?)
}

/// Removes and returns a value.
pub fn take(key: &str, path: Option<&str>) -> Result<Option<Vec<u8>>, Error> {
    Ok(wit::take(key, path)?)
}

/// Returns a value, leaving it there.
pub fn peek(key: &str, path: Option<&str>) -> Result<Option<Vec<u8>>, Error> {
    Ok(wit::peek(key, path)?)
}

/// Replaces the value if it is `expected`; `new` of `None` removes it.
pub fn compare_and_swap(
    key: &str,
    path: Option<&str>,
    expected: Option<&[u8]>,
    new: Option<&[u8]>,
) -> Result<bool, Error> {
    Ok(wit::compare_and_swap(key, path, expected, new)?)
}

/// Atomically replaces the value by `f(current)`, retrying on contention;
/// returns the new value. (What wptserve's `with stash.lock:` is used for.)
pub fn update(
    key: &str,
    path: Option<&str>,
    mut f: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
) -> Result<Option<Vec<u8>>, Error> {
    loop {
        let current = peek(key, path)?;
        let next = f(current.as_deref());
        if compare_and_swap(key, path, current.as_deref(), next.as_deref())? {
            return Ok(next);
        }
    }
}

/// The stash's one lock, held (wptserve's `stash.lock`): released when
/// dropped, and by the server when the request ends however it ends.
pub struct Lock(#[allow(dead_code)] wit::LockGuard);

/// Takes the stash lock, waiting while another request holds it (waiting
/// is not counted as CPU time).
pub fn lock() -> Result<Lock, Error> {
    Ok(Lock(wit::lock()?))
}
