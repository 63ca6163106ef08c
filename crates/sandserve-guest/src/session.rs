//! The session of the request's client: values kept between its requests.
//! The server creates it on the first write (and sets its cookie: write
//! before the writer begins the response), finds it again by that cookie,
//! and drops it after an idle time. The first call waits while another
//! request of the same session runs; what a handler changes is saved when
//! it returns `Ok`, and dropped when it fails.

use crate::bindings::sandserve::handler::session as wit;

/// Why a session call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The session would be over its size limit.
    TooLarge(String),
    /// The store that holds sessions is out of reach.
    Unavailable(String),
    /// A new session needs its cookie in the response's headers, which the
    /// writer has already begun.
    HeadersSent,
}

impl From<wit::SessionError> for Error {
    fn from(e: wit::SessionError) -> Self {
        match e {
            wit::SessionError::TooLarge(why) => Error::TooLarge(why),
            wit::SessionError::Unavailable(why) => Error::Unavailable(why),
            wit::SessionError::HeadersSent => Error::HeadersSent,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::TooLarge(why) | Error::Unavailable(why) => write!(f, "session: {why}"),
            Error::HeadersSent => write!(
                f,
                "session: a new session needs its cookie in the headers, already begun"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The value of `key`.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
    Ok(wit::get(key)?)
}

/// The value of `key` as text (`None` when absent or not UTF-8).
pub fn get_text(key: &str) -> Result<Option<String>, Error> {
    Ok(get(key)?.and_then(|v| String::from_utf8(v).ok()))
}

/// Sets `key`; the first write of a new session creates it.
pub fn set(key: &str, value: impl AsRef<[u8]>) -> Result<(), Error> {
    Ok(wit::set(key, value.as_ref())?)
}

/// Removes `key`.
pub fn delete(key: &str) -> Result<(), Error> {
    Ok(wit::delete(key)?)
}

/// The keys, in order.
pub fn keys() -> Result<Vec<String>, Error> {
    Ok(wit::keys()?)
}

/// Removes every key.
pub fn clear() -> Result<(), Error> {
    Ok(wit::clear()?)
}

/// The session's id; `None` until it is first written.
pub fn id() -> Result<Option<String>, Error> {
    Ok(wit::id()?)
}
