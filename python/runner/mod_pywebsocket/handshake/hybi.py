"""The `Sec-WebSocket-Accept` computation, for handlers that write their own
handshake answer."""

import base64
import hashlib

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def compute_accept(key):
    """The accept value for `key` (bytes): (base64 digest, the raw digest)."""
    digest = hashlib.sha1(key + _GUID).digest()
    return base64.b64encode(digest), digest


def compute_accept_from_unicode(unicode_key):
    """The accept value for a key given as text, as bytes."""
    return compute_accept(unicode_key.encode("latin-1"))[0]
