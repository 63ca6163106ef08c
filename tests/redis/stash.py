"""The stash from a Python handler, for the tests of a stash shared by
several servers: ?op=put|take|peek|count|fail-holding-lock&key=UUID,
with &value=V for put and &path=P to name another path."""

import time


def main(request, response):
    q = request.GET
    op, key = q.first(b"op"), q.first(b"key")
    path = q.first(b"path", None)
    stash = request.server.stash
    if op == b"put":
        stash.put(key, q.first(b"value"), path)
        return "stored"
    if op in (b"take", b"peek"):
        value = (stash.take if op == b"take" else stash.peek)(key, path)
        if value is None:
            return 404, [], "nothing stashed under that key"
        return value
    if op == b"count":
        # wptserve's way of a read-modify-write: under the stash lock.
        with stash.lock:
            n = stash.take(key, path) or 0
            stash.put(key, n + 1, path)
        return str(n + 1)
    if op == b"fail-holding-lock":
        stash.lock.acquire()
        raise RuntimeError("failing while holding the stash lock")
    if op == b"hold-lock":
        with stash.lock:
            time.sleep(float(q.first(b"secs")))
        return "held"
    return 400, [], "unknown op"
