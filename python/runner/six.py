"""The parts of `six` that WPT's handlers use, for Python 3 only."""

import builtins
import io
import sys
import types
import urllib.parse

PY2 = False
PY3 = True
string_types = (str,)
integer_types = (int,)
class_types = (type,)
text_type = str
binary_type = bytes
MAXSIZE = sys.maxsize
BytesIO = io.BytesIO
StringIO = io.StringIO
unichr = chr
int2byte = staticmethod(lambda i: bytes((i,))).__func__
byte2int = staticmethod(lambda b: b[0]).__func__
indexbytes = staticmethod(lambda buf, i: buf[i]).__func__
iterbytes = iter


def b(s):
    return s.encode("latin-1")


def u(s):
    return s


def iteritems(d, **kw):
    return iter(d.items(**kw))


def iterkeys(d, **kw):
    return iter(d.keys(**kw))


def itervalues(d, **kw):
    return iter(d.values(**kw))


def ensure_binary(s, encoding="utf-8", errors="strict"):
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode(encoding, errors)
    raise TypeError("not expecting type '%s'" % type(s))


def ensure_str(s, encoding="utf-8", errors="strict"):
    if isinstance(s, str):
        return s
    if isinstance(s, bytes):
        return s.decode(encoding, errors)
    raise TypeError("not expecting type '%s'" % type(s))


ensure_text = ensure_str


def reraise(tp, value, tb=None):
    if value is None:
        value = tp()
    if value.__traceback__ is not tb:
        raise value.with_traceback(tb)
    raise value


def with_metaclass(meta, *bases):
    return meta("NewBase", bases, {})


def add_metaclass(metaclass):
    def wrapper(cls):
        body = dict(cls.__dict__)
        body.pop("__dict__", None)
        body.pop("__weakref__", None)
        return metaclass(cls.__name__, cls.__bases__, body)
    return wrapper


moves = types.ModuleType("six.moves")
moves.builtins = builtins
moves.range = range
moves.zip = zip
moves.map = map
moves.filter = filter
moves.input = input
moves.urllib = types.ModuleType("six.moves.urllib")
moves.urllib.parse = urllib.parse
moves.urllib_parse = urllib.parse
sys.modules["six.moves"] = moves
sys.modules["six.moves.urllib"] = moves.urllib
sys.modules["six.moves.urllib.parse"] = urllib.parse
