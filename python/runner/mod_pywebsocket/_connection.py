"""The request object a pywebsocket handler is given, over the world's
handshake request and answer, then over its connection."""


from wit_world.imports import websocket

from . import common


class ConnectionTerminatedException(Exception):
    """The connection is gone: nothing more can be sent or received."""


class BadOperationException(Exception):
    """An operation the connection's state does not allow."""


class _Headers(dict):
    """Request headers: names compare case-insensitively; values are text
    (Latin-1), as pywebsocket gives them."""

    def __init__(self, fields):
        super().__init__()
        for f in fields:
            name = f.name.decode("latin-1").lower()
            value = f.value.decode("latin-1")
            if name in self:
                dict.__setitem__(self, name, self[name] + ", " + value)
            else:
                dict.__setitem__(self, name, value)

    def __getitem__(self, name):
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name):
        return dict.__contains__(self, name.lower())

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)


class _RawConnection:
    """`request.connection`: bytes straight to the client."""

    def __init__(self, request):
        self._request = request

    def write(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self._request._write_raw(bytes(data))

    def read(self, length):
        raise NotImplementedError(
            "request.connection.read is not available in sandserve's runner")

    def get_local_addr(self):
        return ("", 0)

    def get_remote_addr(self):
        host, _, port = self._request._client.rpartition(":")
        return (host, int(port or 0))


class Stream:
    """`request.ws_stream`: messages."""

    def __init__(self, request):
        self._request = request

    def _conn(self):
        conn = self._request._conn
        if conn is None:
            raise BadOperationException("the handshake is not over")
        return conn

    def send_message(self, message, end=True, binary=False):
        conn = self._conn()
        if self._request.server_terminated:
            raise BadOperationException("the connection has been closed")
        try:
            if binary or isinstance(message, (bytes, bytearray)):
                if isinstance(message, str):
                    message = message.encode("utf-8")
                conn.send_binary(bytes(message))
            else:
                conn.send_text(message)
        except Exception:
            raise ConnectionTerminatedException("the client has gone")

    def receive_message(self):
        conn = self._conn()
        if self._request.client_terminated:
            return None
        message = conn.receive_message()
        if isinstance(message, websocket.Message_Text):
            return message.value
        if isinstance(message, websocket.Message_Binary):
            return bytes(message.value)
        info = message.value
        request = self._request
        request.client_terminated = True
        request.ws_close_code = (
            common.STATUS_NO_STATUS_RECEIVED if info.code is None else info.code)
        request.ws_close_reason = info.reason
        if not request.server_terminated:
            code, reason = request._passive_close(request)
            request.server_terminated = True
            try:
                conn.close(code, reason or "")
            except Exception:
                pass
        return None

    def send_ping(self, body=b""):
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            self._conn().send_ping(bytes(body))
        except Exception:
            raise ConnectionTerminatedException("the client has gone")

    def close_connection(self, code=common.STATUS_NORMAL_CLOSURE, reason="", wait_response=True):
        request = self._request
        if request.server_terminated:
            return
        request.server_terminated = True
        try:
            self._conn().close(code, reason or "")
        except Exception:
            return
        while wait_response and not request.client_terminated:
            self.receive_message()


def _default_passive_close(request):
    return common.STATUS_NORMAL_CLOSURE, ""


class Request:
    """What `web_socket_do_extra_handshake(request)` and
    `web_socket_transfer_data(request)` are given."""

    def __init__(self, handshake_request, handshake_response):
        self._hs_request = handshake_request
        self._hs_response = handshake_response
        self._conn = None
        self._client = handshake_request.client_address()
        self._passive_close = _default_passive_close
        target = handshake_request.target()
        self.uri = target
        self.unparsed_uri = target
        self.ws_resource = target
        self.method = "GET"
        self.protocol = "HTTP/1.1"
        self.headers_in = _Headers(handshake_request.headers())
        self.headers_out = {}
        self.extra_headers = []
        self.status = None
        self.ws_origin = self.headers_in.get("origin")
        self.ws_version = 13
        self.ws_requested_protocols = handshake_request.protocols() or None
        self.ws_protocol = None
        self.ws_requested_extensions = handshake_request.extensions() or None
        self.ws_extensions = None
        self.ws_extension_processors = []
        self.ws_deflate = False
        self.ws_close_code = None
        self.ws_close_reason = None
        self.server_terminated = False
        self.client_terminated = False
        self.connection = _RawConnection(self)
        self.ws_stream = Stream(self)
        self.is_https = lambda: handshake_request.scheme() == "wss"

    def _write_raw(self, data):
        try:
            if self._conn is None:
                self._hs_response.write_raw(data)
            else:
                self._conn.write_raw(data)
        except Exception:
            raise ConnectionTerminatedException("the client has gone")

    def finish_handshake(self):
        """Hands what the handler set to the world's answer. Headers that
        hold line breaks (WPT's handlers inject header lines that way, as
        pywebsocket writes them as they are) make the whole answer the
        handler's own, written as bytes."""
        if self.status is not None and self.status != 101:
            self._hs_response.refuse(int(self.status), None)
            return
        extra = [(str(n).encode("latin-1"), str(v).encode("latin-1"))
                 for n, v in list(self.extra_headers) + list(self.headers_out.items())]
        if any(b"\r" in n + v or b"\n" in n + v for n, v in extra):
            from .handshake import hybi
            key = self.headers_in.get("sec-websocket-key", "")
            lines = [b"HTTP/1.1 101 Switching Protocols", b"Upgrade: websocket",
                     b"Connection: Upgrade",
                     b"Sec-WebSocket-Accept: " + hybi.compute_accept_from_unicode(key)]
            if self.ws_protocol is not None:
                lines.append(b"Sec-WebSocket-Protocol: " + self.ws_protocol.encode("latin-1"))
            lines += [n + b": " + v for n, v in extra]
            self._write_raw(b"\r\n".join(lines) + b"\r\n\r\n")
            self._hs_response.accept_as_written()
            return
        if self.ws_protocol is not None:
            self._hs_response.set_protocol(self.ws_protocol)
        for name, value in extra:
            self._hs_response.append_header(name, value)

    def start_transfer(self, connection, passive_close):
        self._conn = connection
        connection.answer_close_myself()
        if passive_close is not None:
            self._passive_close = passive_close
