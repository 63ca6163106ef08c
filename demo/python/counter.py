"""A counter in the stash: /python/counter.py?key=UUID adds one and answers
the new count. The read and the write happen under the stash lock, so that
no increment is lost when several servers share one stash."""


def main(request, response):
    key = request.GET.first(b"key")
    stash = request.server.stash
    with stash.lock:
        count = (stash.take(key) or 0) + 1
        stash.put(key, count)
    response.headers.set(b"Content-Type", b"text/plain")
    return str(count)
