"""The response a handler fills, and the raw writer `response.writer`."""

import email.utils
import http.client
import json
import time
import traceback
from datetime import datetime, timedelta, timezone
from http.cookies import BaseCookie, Morsel

from componentize_py_types import Err

from .utils import isomorphic_decode, isomorphic_encode, to_bytes

_missing = object()
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


# The codes wptserve has a phrase for (those of RFC 2616); others get none.
_PHRASED = frozenset(
    [100, 101, 307] + list(range(200, 207)) + list(range(300, 306))
    + list(range(400, 418)) + list(range(500, 506)))


def reason_phrase(code):
    """The phrase wptserve writes for a status code (empty when it has none)."""
    if code in _PHRASED:
        return http.client.responses.get(code, "")
    return ""


def http_date():
    return email.utils.formatdate(time.time(), usegmt=True)


class ResponseHeaders:
    """Response headers in order; names compare case-insensitively; values
    of one name are kept together."""

    def __init__(self):
        self.data = {}

    def set(self, key, value):
        key = to_bytes(key)
        self.data[key.lower()] = (key, [to_bytes(value)])

    def append(self, key, value):
        key = to_bytes(key)
        if key.lower() in self.data:
            self.data[key.lower()][1].append(to_bytes(value))
        else:
            self.set(key, value)

    def get(self, key, default=_missing):
        try:
            return self[key]
        except KeyError:
            return [] if default is _missing else default

    def __getitem__(self, key):
        return self.data[to_bytes(key).lower()][1]

    def __delitem__(self, key):
        del self.data[to_bytes(key).lower()]

    def __contains__(self, key):
        return to_bytes(key).lower() in self.data

    def __setitem__(self, key, value):
        self.set(key, value)

    def __iter__(self):
        for key, values in list(self.data.values()):
            for value in values:
                yield key, value

    def items(self):
        return list(self)

    def update(self, items):
        for name, value in items:
            self.append(name, value)

    def __repr__(self):
        return repr(self.data)


class ResponseWriter:
    """Writes to the client as the handler says, each call on the socket
    when it returns. Every method returns False once the client has gone."""

    file_chunk_size = 32 * 1024
    default_status = 200

    def __init__(self, writer, response):
        self._w = writer
        self._response = response
        self._status_written = False
        self._headers_seen = set()
        self._headers_complete = False
        self.content_written = False

    def _call(self, method, *args):
        self.content_written = True
        try:
            method(*args)
            return True
        except Err:
            return False

    def _seen_header(self, name):
        return to_bytes(name).lower() in self._headers_seen

    def write_status(self, code, message=None):
        if message is None:
            message = reason_phrase(code)
        self._status_written = True
        return self._call(self._w.write_status, int(code), isomorphic_encode(message))

    def write_header(self, name, value):
        if not self._status_written:
            self.write_status(self.default_status)
        self._headers_seen.add(to_bytes(name).lower())
        return self._call(self._w.write_header, to_bytes(name), to_bytes(value))

    def write_default_headers(self):
        if not self._seen_header("date"):
            if not self.write_header("Date", http_date()):
                return False
        content = self._response.content
        if isinstance(content, (bytes, str)) and not self._seen_header("content-length"):
            if not self.write_header("Content-Length", len(self.encode(content))):
                return False
        return True

    def end_headers(self):
        if not self._status_written:
            self.write_status(self.default_status)
        if self._response.add_required_headers:
            if not self.write_default_headers():
                return False
        if not self._call(self._w.end_headers, False):
            return False
        if not self._seen_header("content-length"):
            self._response.close_connection = True
        self._headers_complete = True
        return True

    def write_content(self, data):
        if not self._status_written:
            self.write_status(self.default_status)
        if not self._headers_complete:
            self._response.content = data
            self.end_headers()
        return self.write_raw_content(data)

    def write_raw_content(self, data):
        if data is None:
            raise ValueError("data cannot be None")
        if isinstance(data, (str, bytes)):
            return self._call(self._w.write_content, self.encode(data))
        return self.write_content_file(data)

    def write(self, data):
        """Any bytes, unchecked (a malformed status line, say)."""
        return self._call(self._w.write_raw, self.encode(data))

    def write_content_file(self, data):
        ok = True
        while True:
            buf = data.read(self.file_chunk_size)
            if not buf:
                break
            if not self._call(self._w.write_content, self.encode(buf)):
                ok = False
                break
        data.close()
        return ok

    def flush(self):
        """Nothing is buffered; whether the client is still there."""
        return self._call(self._w.flush)

    def encode(self, data):
        if isinstance(data, (bytes, bytearray)):
            return bytes(data)
        if isinstance(data, str):
            return data.encode(self._response.encoding)
        raise ValueError("cannot write %r" % (type(data),))


class Response:
    """The response a handler builds: status, headers, content and flags,
    written when the handler returns unless it used `writer` itself."""

    def __init__(self, request, writer):
        self.request = request
        self.encoding = "utf8"
        self.add_required_headers = True
        self.send_body_for_head_request = False
        self.close_connection = False
        self.writer = ResponseWriter(writer, self)
        self._status = (200, None)
        self.headers = ResponseHeaders()
        self.content = []

    @property
    def status(self):
        return self._status

    @status.setter
    def status(self, value):
        if hasattr(value, "__len__"):
            if len(value) != 2:
                raise ValueError
            code, message = value
            if not isinstance(message, (bytes, str)):
                message = str(message)
            self._status = (int(code), message)
        else:
            self._status = (int(value), None)

    def set_cookie(self, name, value, path="/", domain=None, max_age=None,
                   expires=None, samesite=None, secure=False, httponly=False,
                   comment=None):
        if value is None:
            value = b""
            max_age = 0
            expires = timedelta(days=-1)
        name = isomorphic_decode(name)
        value = isomorphic_decode(value)
        if isinstance(expires, timedelta):
            expires = datetime.now(timezone.utc) + expires
        if expires is not None and not isinstance(expires, str):
            expires = expires.strftime("%d ") + _MONTHS[expires.month - 1] + expires.strftime(" %Y %H:%M:%S GMT")
        if max_age is not None:
            if hasattr(max_age, "total_seconds"):
                max_age = int(max_age.total_seconds())
            max_age = "%.0d" % max_age
        morsel = Morsel()
        morsel.set(name, value, value)
        for key, attr in [("path", path), ("domain", domain), ("comment", comment),
                          ("expires", expires), ("max-age", max_age), ("secure", secure),
                          ("httponly", httponly), ("samesite", samesite)]:
            if attr is not None and attr is not False:
                morsel[key] = attr
        self.headers.append("Set-Cookie", morsel.OutputString())

    def unset_cookie(self, name):
        name = isomorphic_decode(name)
        parser = BaseCookie()
        for cookie in self.headers.get("Set-Cookie"):
            parser.load(isomorphic_decode(cookie))
        if name in parser.keys():
            del self.headers["Set-Cookie"]
            for morsel in parser.values():
                if morsel.key != name:
                    self.headers.append("Set-Cookie", morsel.OutputString())

    def delete_cookie(self, name, path="/", domain=None):
        self.set_cookie(name, None, path=path, domain=domain, max_age=0,
                        expires=timedelta(days=-1))

    def iter_content(self, read_file=False):
        content = self.content
        if isinstance(content, bytes):
            yield content
        elif isinstance(content, str):
            yield content.encode(self.encoding)
        elif hasattr(content, "read"):
            if read_file:
                yield content.read()
            else:
                while True:
                    piece = content.read(32 * 1024)
                    if not piece:
                        break
                    yield piece
            content.close()
        else:
            for item in content:
                value = item() if callable(item) else item
                if value:
                    yield value.encode(self.encoding) if isinstance(value, str) else value

    def write_status_headers(self):
        self.writer.write_status(*self.status)
        for name, value in self.headers:
            self.writer.write_header(name, value)
        self.writer.end_headers()

    def write_content(self):
        if self.request.method != "HEAD" or self.send_body_for_head_request:
            for item in self.iter_content():
                self.writer.write_content(item)

    def write(self):
        self.write_status_headers()
        self.write_content()

    def set_error(self, code, err=None):
        if 500 <= code < 600:
            message = self._format_server_error(err)
        else:
            message = "" if err is None else str(err)
        data = json.dumps({"error": {"code": code, "message": message}})
        self.status = code
        self.headers = ResponseHeaders()
        self.headers.set("Content-Type", "application/json")
        self.headers.set("Content-Length", len(data))
        self.content = data

    def _format_server_error(self, err):
        if err is None:
            suffix = "<no traceback>"
        elif isinstance(err, str):
            suffix = err
        else:
            tb = "\n".join("  %s" % line for line in traceback.format_tb(err.__traceback__))
            suffix = "Traceback (most recent call last):\n%s  %s: %s\n" % (
                tb, type(err).__name__, err)
        return "Internal server error loading %s:\n  %s" % (self.request.url, suffix)
