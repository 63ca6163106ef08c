//! The response being built, and the raw writer.

use crate::bindings::sandserve::handler::http;
use crate::bindings::sandserve::handler::types::{CookieAttributes, WriteError};

/// The response the server writes when the handler returns.
pub struct Response<'a> {
    inner: &'a http::Response,
    writer: Writer<'a>,
}

/// Full control of the bytes on the wire. Nothing is added or fixed, and
/// each call has reached the client when it returns. Once used, the
/// [`Response`] is ignored.
pub struct Writer<'a> {
    inner: &'a http::ResponseWriter,
}

impl<'a> Response<'a> {
    pub(crate) fn new(inner: &'a http::Response, writer: &'a http::ResponseWriter) -> Self {
        Response {
            inner,
            writer: Writer { inner: writer },
        }
    }

    /// Sets the status code (the reason is the server's phrase for it).
    pub fn set_status(&mut self, code: u16) {
        self.inner.set_status(code, None);
    }

    /// Sets the status code and reason phrase (any bytes).
    pub fn set_status_reason(&mut self, code: u16, reason: Option<&[u8]>) {
        self.inner.set_status(code, reason);
    }

    /// Replaces every header of this name by one.
    pub fn set_header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.inner.set_header(name.as_ref(), value.as_ref());
    }

    /// Adds a header after the others of its name.
    pub fn append_header(&mut self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.inner.append_header(name.as_ref(), value.as_ref());
    }

    /// Removes every header of this name.
    pub fn remove_header(&mut self, name: impl AsRef<[u8]>) {
        self.inner.remove_header(name.as_ref());
    }

    /// Adds a `Set-Cookie` header.
    pub fn set_cookie(&mut self, cookie: &Cookie) {
        self.inner
            .set_cookie(&cookie.name, &cookie.value, &cookie.attributes);
    }

    /// Adds a `Set-Cookie` header that expires a cookie.
    pub fn delete_cookie(&mut self, name: &str, path: Option<&str>, domain: Option<&str>) {
        self.inner.delete_cookie(name, path, domain);
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl AsRef<[u8]>) {
        self.inner.set_body(body.as_ref());
    }

    /// Appends to the body.
    pub fn append_body(&mut self, chunk: impl AsRef<[u8]>) {
        self.inner.append_body(chunk.as_ref());
    }

    /// Whether the server adds `Date` and `Content-Length` (default true).
    pub fn set_add_required_headers(&mut self, add: bool) {
        self.inner.set_add_required_headers(add);
    }

    /// Close the connection after this response.
    pub fn set_close_connection(&mut self, close: bool) {
        self.inner.set_close_connection(close);
    }

    /// The raw writer.
    pub fn writer(&mut self) -> &mut Writer<'a> {
        &mut self.writer
    }
}

/// The client has gone: nothing more reaches it. A handler may clean up
/// (write to the stash, say); another write stops it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientGone;

impl std::fmt::Display for ClientGone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the client has gone")
    }
}

impl std::error::Error for ClientGone {}

fn sent(result: Result<(), WriteError>) -> Result<(), ClientGone> {
    result.map_err(|WriteError::Closed| ClientGone)
}

impl Writer<'_> {
    /// `HTTP/1.1 CODE REASON` (the server's phrase when `reason` is `None`).
    pub fn write_status(&mut self, code: u16, reason: Option<&[u8]>) -> Result<(), ClientGone> {
        sent(self.inner.write_status(code, reason))
    }

    /// One header line.
    pub fn write_header(
        &mut self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
    ) -> Result<(), ClientGone> {
        sent(self.inner.write_header(name.as_ref(), value.as_ref()))
    }

    /// Ends the header section, with a `Date` header unless one was written
    /// when `add_date` is true.
    pub fn end_headers(&mut self, add_date: bool) -> Result<(), ClientGone> {
        sent(self.inner.end_headers(add_date))
    }

    /// Body bytes.
    pub fn write_content(&mut self, data: impl AsRef<[u8]>) -> Result<(), ClientGone> {
        sent(self.inner.write_content(data.as_ref()))
    }

    /// Any bytes, as they are.
    pub fn write_raw(&mut self, data: impl AsRef<[u8]>) -> Result<(), ClientGone> {
        sent(self.inner.write_raw(data.as_ref()))
    }

    /// Whether the client is still there (nothing is buffered to flush).
    pub fn flush(&mut self) -> Result<(), ClientGone> {
        sent(self.inner.flush())
    }
}

/// A cookie to set.
#[derive(Debug, Clone)]
pub struct Cookie {
    name: String,
    value: String,
    attributes: CookieAttributes,
}

impl Cookie {
    /// `name=value` with `Path=/` and no other attribute.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Cookie {
            name: name.into(),
            value: value.into(),
            attributes: CookieAttributes {
                path: None,
                domain: None,
                max_age: None,
                expires: None,
                same_site: None,
                secure: false,
                http_only: false,
            },
        }
    }

    /// `Path`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.attributes.path = Some(path.into());
        self
    }

    /// `Domain`.
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.attributes.domain = Some(domain.into());
        self
    }

    /// `Max-Age` in seconds.
    pub fn max_age(mut self, seconds: i64) -> Self {
        self.attributes.max_age = Some(seconds);
        self
    }

    /// `Expires`, written as given.
    pub fn expires(mut self, when: impl Into<String>) -> Self {
        self.attributes.expires = Some(when.into());
        self
    }

    /// `SameSite` (`Strict`, `Lax`, `None`).
    pub fn same_site(mut self, value: impl Into<String>) -> Self {
        self.attributes.same_site = Some(value.into());
        self
    }

    /// `Secure`.
    pub fn secure(mut self) -> Self {
        self.attributes.secure = true;
        self
    }

    /// `HttpOnly`.
    pub fn http_only(mut self) -> Self {
        self.attributes.http_only = true;
        self
    }
}
