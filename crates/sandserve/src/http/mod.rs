//! The HTTP/1.1 wire: parsing requests, modelling requests and responses, and
//! writing responses byte for byte. Nothing here knows about files or handlers.

pub mod chunked;
pub mod date;
pub mod form;
pub mod headers;
pub mod limits;
pub mod memory;
pub mod parse;
pub mod query;
pub mod request;
pub mod response;
pub mod status;
#[cfg(test)]
pub(crate) mod testing;
pub mod writer;

pub use headers::Headers;
pub use limits::Limits;
pub use request::{Peer, Request, Scheme};
pub use response::{Body, FileRange, Pace, Paced, Part, Response};
pub use writer::{Io, ResponseWriter, Transport};
