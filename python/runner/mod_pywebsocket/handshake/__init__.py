"""pywebsocket's handshake exceptions (and `hybi.compute_accept`)."""


class HandshakeException(Exception):
    """Refuses the handshake: the client gets `status` (default 400)."""

    def __init__(self, name, status=None):
        super().__init__(name)
        self.status = status


class AbortedByUserException(Exception):
    """Ends the connection without an answer (after any bytes the handler
    wrote itself)."""


from . import hybi  # noqa: E402,F401
