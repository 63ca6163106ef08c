"""`request.session`: the session of the request's client, for handlers
written for sandserve (wptserve has none). A dictionary of JSON values:
the server creates the session on its first write (and sets its cookie),
finds it again by that cookie, and drops it after an idle time. What a
handler changes is saved when it returns, and dropped when it fails."""

import json

from componentize_py_types import Err

try:
    from wit_world.imports import session as world_session
except ImportError:  # the WebSocket handler world has no sessions
    world_session = None


class SessionError(Exception):
    pass


def _call(function, *args):
    if world_session is None:
        raise SessionError("session: WebSocket handlers have no session")
    try:
        return function(*args)
    except Err as e:
        error = e.value
        name = type(error).__name__.rsplit("_", 1)[-1]
        kind = "".join(" " + c.lower() if c.isupper() else c for c in name).strip()
        value = getattr(error, "value", None)
        raise SessionError("session: " + (kind if value is None else "%s: %s" % (kind, value)))


def _key(key):
    if isinstance(key, bytes):
        return key.decode("utf-8")
    if not isinstance(key, str):
        raise TypeError("session keys are str or bytes, not %s" % type(key).__name__)
    return key


def discard():
    """Drops what the request changed: its handler failed."""
    if world_session is not None:
        world_session.discard()


class Session:
    """A dict-like view of the session: `session["n"] = 1`, `session.get("n")`,
    `del session["n"]`, `in`, `len`, iteration, `keys`, `items`, `clear`, and
    `session.id` (None until first written)."""

    def __getitem__(self, key):
        value = _call(lambda k: world_session.get(k), _key(key))
        if value is None:
            raise KeyError(key)
        return json.loads(bytes(value))

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key, value):
        _call(lambda k, v: world_session.set(k, v), _key(key), json.dumps(value).encode("utf-8"))

    def setdefault(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            self[key] = default
            return default

    def __delitem__(self, key):
        if key not in self:
            raise KeyError(key)
        _call(lambda k: world_session.delete(k), _key(key))

    def pop(self, key, *default):
        try:
            value = self[key]
        except KeyError:
            if default:
                return default[0]
            raise
        _call(lambda k: world_session.delete(k), _key(key))
        return value

    def __contains__(self, key):
        return _call(lambda k: world_session.get(k), _key(key)) is not None

    def keys(self):
        return list(_call(lambda: world_session.keys()))

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.keys())

    def items(self):
        return [(key, self[key]) for key in self.keys()]

    def clear(self):
        _call(lambda: world_session.clear())

    @property
    def id(self):
        return _call(lambda: world_session.id())

    def __repr__(self):
        return "Session(%r)" % dict(self.items())
