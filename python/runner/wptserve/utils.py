"""Helpers handlers import from `wptserve.utils`."""


def isomorphic_decode(s):
    """Bytes to text, byte for code point (Latin-1); text is returned as is."""
    if isinstance(s, str):
        return s
    if isinstance(s, (bytes, bytearray)):
        return bytes(s).decode("iso-8859-1")
    raise TypeError("Unexpected value (expecting string-like): %r" % (s,))


def isomorphic_encode(s):
    """Text to bytes, code point for byte (Latin-1); bytes are returned as is."""
    if isinstance(s, (bytes, bytearray)):
        return bytes(s)
    if isinstance(s, str):
        return s.encode("iso-8859-1")
    raise TypeError("Unexpected value (expecting string-like): %r" % (s,))


def invert_dict(d):
    """A dict of value -> key; values must be unique."""
    rv = {}
    for key, values in d.items():
        for value in values:
            if value in rv:
                raise ValueError
            rv[value] = key
    return rv


class HTTPException(Exception):
    """Answers the request with `code` and wptserve's JSON error body."""

    def __init__(self, code, message=""):
        # The arguments stay as given (`str(e)` is "404" for
        # `HTTPException(404)`), as wptserve's error messages show them.
        self.code = code
        self.message = message


def to_bytes(value):
    """A header name or value as bytes: text as Latin-1, numbers as digits."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("iso-8859-1")
    if isinstance(value, int):
        return str(value).encode("ascii")
    raise TypeError("header names and values are text, bytes or numbers, not %r" % (value,))


_BAD_PORTS = frozenset([
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79,
    87, 95, 101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137,
    139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
    540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723,
    2049, 3659, 4045, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6697,
    10080,
])


def is_bad_port(port):
    """Whether browsers refuse to fetch from `port` (the Fetch standard's list)."""
    return port in _BAD_PORTS
