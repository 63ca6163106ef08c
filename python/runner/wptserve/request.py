"""The request a handler receives, read from the world's `request`
resource. Parts a handler may not need (headers, query, form, cookies,
body) are built on first use."""

import base64
import io
from http.cookies import BaseCookie
from urllib.parse import parse_qsl, urlsplit

from .session import Session
from .utils import HTTPException, isomorphic_decode, isomorphic_encode

_missing = object()


class MultiDict(dict):
    """A dictionary of lists: `d[key]` is the first value, `first`, `last`
    and `get_list` say which."""

    def __setitem__(self, name, value):
        dict.__setitem__(self, name, [value])

    def add(self, name, value):
        if name in self:
            dict.__getitem__(self, name).append(value)
        else:
            dict.__setitem__(self, name, [value])

    def __getitem__(self, key):
        return self.first(key)

    def first(self, key, default=_missing):
        if key in self and dict.__getitem__(self, key):
            return dict.__getitem__(self, key)[0]
        if default is not _missing:
            return default
        raise KeyError(key)

    def last(self, key, default=_missing):
        if key in self and dict.__getitem__(self, key):
            return dict.__getitem__(self, key)[-1]
        if default is not _missing:
            return default
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def get_list(self, key):
        if key in self:
            return dict.__getitem__(self, key)
        return []

    @classmethod
    def from_field_storage(cls, fs):
        return fs


class RequestHeaders(dict):
    """Request headers: names compare case-insensitively; names and values
    are bytes; `h[name]` joins repeated headers with `, `."""

    def __init__(self, fields):
        for field in fields:
            key = bytes(field.name).lower()
            if dict.__contains__(self, key):
                dict.__getitem__(self, key).append(bytes(field.value))
            else:
                dict.__setitem__(self, key, [bytes(field.value)])

    def __getitem__(self, key):
        values = dict.__getitem__(self, isomorphic_encode(key).lower())
        return values[0] if len(values) == 1 else b", ".join(values)

    def __setitem__(self, name, value):
        raise Exception("request headers are read-only")

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def get_list(self, key, default=_missing):
        try:
            return dict.__getitem__(self, isomorphic_encode(key).lower())
        except KeyError:
            if default is not _missing:
                return default
            raise

    def __contains__(self, key):
        return dict.__contains__(self, isomorphic_encode(key).lower())

    def iteritems(self):
        for item in self:
            yield item, self[item]

    def itervalues(self):
        for item in self:
            yield self[item]


class CookieValue:
    """One cookie of the request: `key` and `value` as bytes, and the
    attributes the client sent (rarely any)."""

    def __init__(self, morsel):
        self.key = isomorphic_encode(morsel.key)
        self.value = isomorphic_encode(morsel.value)
        for attr in ["expires", "path", "comment", "domain", "max-age", "secure",
                     "version", "httponly"]:
            setattr(self, attr.replace("-", "_"), morsel[attr])
        self._str = morsel.OutputString()

    def __str__(self):
        return self._str

    def __repr__(self):
        return self._str

    def __eq__(self, other):
        if hasattr(other, "value"):
            return self.value == other.value
        return self.value == other


class Cookies(MultiDict):
    """The request's cookies by name; for a repeated name `[]` is the last."""

    def __getitem__(self, key):
        return self.last(key)


class Authentication:
    """`Authorization: Basic` credentials: `username` and `password` as
    bytes, or None. Another scheme answers 400."""

    def __init__(self, headers):
        self.username = None
        self.password = None
        if "authorization" in headers:
            header = isomorphic_decode(headers.get("authorization"))
            scheme, _, data = header.partition(" ")
            if scheme != "Basic":
                raise HTTPException(400, "Unsupported authentication scheme %s" % scheme)
            decoded = base64.b64decode(data)
            self.username, _, self.password = decoded.partition(b":")


class Upload:
    """An uploaded file of a multipart form: `filename`, `value`, `file`."""

    def __init__(self, field):
        self.name = isomorphic_decode(bytes(field.name))
        self.filename = isomorphic_decode(bytes(field.filename))
        self.type = isomorphic_decode(bytes(field.content_type)) if field.content_type else None
        self.value = bytes(field.value)
        self.file = io.BytesIO(self.value)

    def __repr__(self):
        return "Upload(%r, %r)" % (self.name, self.filename)


class Server:
    """`request.server`: the stash and the configuration."""

    def __init__(self, request):
        self._request = request
        self._stash = None
        self._config = None

    @property
    def stash(self):
        if self._stash is None:
            from .stash import Stash
            self._stash = Stash(self._request.url_parts.path)
        return self._stash

    @property
    def config(self):
        if self._config is None:
            self._config = _config(self._request.doc_root)
        return self._config


class Config(dict):
    """The server's configuration, as wptserve's handlers read it: keys,
    or attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)


def _config(doc_root):
    from wit_world.imports import server
    hosts = {"": server.browser_host()}
    hosts.update(dict(server.alternate_hosts()))
    labels = [""] + list(server.subdomains()) + list(server.not_subdomains())
    domains = {}
    for key in hosts:
        domains[key] = {}
        for label in labels:
            name = server.domain(key, label)
            if name is not None:
                domains[key][label] = name
    not_subdomains = list(server.not_subdomains())
    all_domains = {k: {l: d for l, d in v.items() if l not in not_subdomains}
                   for k, v in domains.items()}
    not_domains = {k: {l: d for l, d in v.items() if l in not_subdomains}
                   for k, v in domains.items()}
    ports = {scheme: list(server.ports(scheme)) for scheme in server.schemes()}
    return Config(
        browser_host=server.browser_host(),
        alternate_hosts=dict(server.alternate_hosts()),
        doc_root=doc_root,
        domains=domains,
        all_domains=all_domains,
        not_domains=not_domains,
        domains_set=sorted({d for v in all_domains.values() for d in v.values()}),
        ports=ports,
        subdomains=list(server.subdomains()),
        not_subdomains=not_subdomains,
        server_host=server.browser_host(),
        logging={"suppress_handler_traceback": False},
    )


class Request:
    """The request, as wptserve's handlers see it."""

    def __init__(self, request, doc_root):
        self._r = request
        self.doc_root = doc_root
        self.method = request.method()
        self.protocol_version = request.version()
        self.request_line = isomorphic_decode(request.request_line())
        self.request_path = request.target()
        self.url = request.url()
        self.url_parts = urlsplit(self.url)
        self.url_base = "/"
        host, _, port = request.client_address().rpartition(":")
        self.client_address = (host.strip("[]"), int(port) if port.isdigit() else 0)
        self.route_match = dict(request.route_match())
        self.server = Server(self)
        self._headers = None
        self._raw_headers = None
        self._get = None
        self._post = None
        self._cookies = None
        self._body = None
        self._auth = None
        self._session = None

    @property
    def headers(self):
        if self._headers is None:
            self._headers = RequestHeaders(self._r.headers())
        return self._headers

    @property
    def raw_headers(self):
        """The headers as the client sent them: names in their own case, in
        order (an `email.message.Message`, as wptserve's `BaseHTTPRequestHandler`
        gives; its text is `Name: value` lines)."""
        if self._raw_headers is None:
            import email.message

            message = email.message.Message()
            for field in self._r.headers():
                message[field.name.decode("latin-1")] = field.value.decode("latin-1")
            self._raw_headers = message
        return self._raw_headers

    @property
    def GET(self):
        if self._get is None:
            self._get = MultiDict()
            # Latin-1 keeps each percent-escaped byte a byte, as wptserve does.
            params = parse_qsl(self.url_parts.query, keep_blank_values=True,
                               encoding="iso-8859-1")
            for key, value in params:
                self._get.add(isomorphic_encode(key), isomorphic_encode(value))
        return self._get

    @property
    def POST(self):
        if self._post is None:
            self._post = MultiDict()
            try:
                fields = self._r.form()
            except Exception:
                fields = []
            for field in fields:
                name = bytes(field.name)
                if field.filename is not None:
                    self._post.add(name, Upload(field))
                else:
                    self._post.add(name, bytes(field.value))
        return self._post

    @property
    def cookies(self):
        if self._cookies is None:
            parser = BaseCookie()
            for header in self.headers.get_list("cookie", []):
                try:
                    parser.load(isomorphic_decode(header))
                except Exception:
                    pass
            self._cookies = Cookies()
            for key, morsel in parser.items():
                self._cookies.add(isomorphic_encode(key), CookieValue(morsel))
        return self._cookies

    @property
    def session(self):
        """The client's session (sandserve's; not in wptserve)."""
        if self._session is None:
            self._session = Session()
        return self._session

    @property
    def body(self):
        if self._body is None:
            self._body = bytes(self._r.body())
        return self._body

    @property
    def raw_input(self):
        stream = io.BytesIO(self.body)
        stream.length = len(self.body)
        return stream

    @property
    def auth(self):
        if self._auth is None:
            self._auth = Authentication(self.headers)
        return self._auth
