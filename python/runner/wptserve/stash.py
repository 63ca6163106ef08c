"""`request.server.stash`: the server's stash through the world. Keys are
UUIDs (text or bytes, any case); values are any picklable object, stored
pickled; the default path is the request's."""

import pickle
import uuid

from componentize_py_types import Err
from wit_world.imports import stash as world_stash

from .utils import isomorphic_decode


class StashError(Exception):
    pass


def _why(error):
    """The world's stash error as text: `unavailable: the stash's store is
    out of reach`, say."""
    name = type(error).__name__.rsplit("_", 1)[-1]
    kind = "".join(" " + c.lower() if c.isupper() else c for c in name).strip()
    value = getattr(error, "value", None)
    return kind if value is None else "%s: %s" % (kind, value)


def _key(key):
    return str(uuid.UUID(isomorphic_decode(key)))


def _decode(data):
    if data is None:
        return None
    data = bytes(data)
    if data[:1] == b"\x80":
        try:
            return pickle.loads(data)
        except Exception:
            pass
    return data


class _Lock:
    """The stash's one lock, as a context manager. Released when the block
    ends, and by the server when the request ends however it ends."""

    def __init__(self):
        self._guard = None

    def acquire(self, blocking=True, timeout=-1):
        if self._guard is None:
            try:
                self._guard = world_stash.lock()
            except Err as e:
                raise StashError("the stash lock failed: %s" % _why(e.value))
        return True

    def release(self):
        guard, self._guard = self._guard, None
        if guard is not None:
            guard.__exit__(None, None, None)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False


def load_env_config():
    """wptserve's way for a WebSocket handler to find the stash server: here
    the stash is the server's own, so there is nothing to find."""
    return ("sandserve", 0), b""


class Stash:
    def __init__(self, default_path, address=None, authkey=None):
        self.default_path = default_path
        self.lock = _Lock()

    def _path(self, path):
        return isomorphic_decode(path if path is not None else self.default_path)

    def put(self, key, value, path=None):
        if value is None:
            raise ValueError("SharedStash value may not be set to None")
        try:
            world_stash.put(_key(key), pickle.dumps(value), self._path(path))
        except Err as e:
            raise StashError("stash put of %s failed: %s" % (key, _why(e.value)))

    def take(self, key, path=None):
        try:
            return _decode(world_stash.take(_key(key), self._path(path)))
        except Err as e:
            raise StashError("stash take of %s failed: %s" % (key, _why(e.value)))

    def peek(self, key, path=None):
        try:
            return _decode(world_stash.peek(_key(key), self._path(path)))
        except Err as e:
            raise StashError("stash peek of %s failed: %s" % (key, _why(e.value)))
