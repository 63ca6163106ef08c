//! The request, read-only.

use crate::bindings::sandserve::handler::http;

/// The request being handled.
pub struct Request<'a> {
    inner: &'a http::Request,
}

/// A form field of a urlencoded or multipart body.
pub use crate::bindings::sandserve::handler::types::FormField;

/// Query parameters in order, every value kept.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Query {
    /// The first value of `name`.
    pub fn first(&self, name: &str) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// The last value of `name`.
    pub fn last(&self, name: &str) -> Option<&[u8]> {
        self.pairs
            .iter()
            .rfind(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// Every value of `name`.
    pub fn get_all<'q>(&'q self, name: &'q str) -> impl Iterator<Item = &'q [u8]> + 'q {
        self.pairs
            .iter()
            .filter(move |(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(Vec<u8>, Vec<u8>)] {
        &self.pairs
    }
}

impl<'a> Request<'a> {
    pub(crate) fn new(inner: &'a http::Request) -> Self {
        Request { inner }
    }

    /// The method, as sent.
    pub fn method(&self) -> String {
        self.inner.method()
    }

    /// `HTTP/1.1`, `HTTP/1.0` or `HTTP/0.9`.
    pub fn version(&self) -> String {
        self.inner.version()
    }

    /// The request line as sent.
    pub fn request_line(&self) -> Vec<u8> {
        self.inner.request_line()
    }

    /// The request target as sent.
    pub fn target(&self) -> String {
        self.inner.target()
    }

    /// The path, still percent-encoded.
    pub fn path(&self) -> String {
        self.inner.path()
    }

    /// The raw query string, without `?`.
    pub fn query_string(&self) -> Option<String> {
        self.inner.query_string()
    }

    /// The absolute URL.
    pub fn url(&self) -> String {
        self.inner.url()
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> String {
        self.inner.scheme()
    }

    /// The host and port the client addressed.
    pub fn host(&self) -> String {
        self.inner.host()
    }

    /// Every header in order, names as sent.
    pub fn headers(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.inner
            .headers()
            .into_iter()
            .map(|f| (f.name, f.value))
            .collect()
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<Vec<u8>> {
        self.inner.header(name)
    }

    /// The first value of a header, as text (invalid UTF-8 replaced).
    pub fn header_str(&self, name: &str) -> Option<String> {
        self.header(name)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }

    /// Every value of a header.
    pub fn header_values(&self, name: &str) -> Vec<Vec<u8>> {
        self.inner.header_values(name)
    }

    /// The query parameters.
    pub fn query(&self) -> Query {
        Query {
            pairs: self
                .inner
                .query()
                .into_iter()
                .map(|f| (f.name, f.value))
                .collect(),
        }
    }

    /// The first value of a query parameter, as text (like `request.GET.first`).
    pub fn param(&self, name: &str) -> Option<String> {
        self.query()
            .first(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// The whole body.
    pub fn body(&self) -> Vec<u8> {
        self.inner.body()
    }

    /// The body's length.
    pub fn body_size(&self) -> u64 {
        self.inner.body_size()
    }

    /// At most `max` bytes of the body from `offset`.
    pub fn read_body(&self, offset: u64, max: u32) -> Vec<u8> {
        self.inner.read_body(offset, max)
    }

    /// The fields of a urlencoded or multipart body.
    pub fn form(&self) -> Result<Vec<FormField>, String> {
        self.inner.form()
    }

    /// Cookies in order (a name may repeat).
    pub fn cookies(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        self.inner
            .cookies()
            .into_iter()
            .map(|f| (f.name, f.value))
            .collect()
    }

    /// A cookie's value; for a repeated name the last, as in wptserve.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .rfind(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
    }

    /// Username and password of `Authorization: Basic`.
    pub fn basic_auth(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        self.inner.basic_auth().map(|c| (c.username, c.password))
    }

    /// The client's address.
    pub fn client_address(&self) -> String {
        self.inner.client_address()
    }

    /// The server's address.
    pub fn server_address(&self) -> String {
        self.inner.server_address()
    }

    /// What the route pattern captured.
    pub fn route_match(&self) -> Vec<(String, String)> {
        self.inner.route_match()
    }
}
