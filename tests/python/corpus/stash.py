# stash put/take, with the default path and an explicit one.
def main(request, response):
    key = request.GET.first(b"key")
    action = request.GET.first(b"action")
    path = request.GET.first(b"path", None)
    path = path.decode() if path else None
    stash = request.server.stash
    if action == b"put":
        stash.put(key, request.GET.first(b"value").decode(), path=path)
        return "stored"
    value = stash.take(key, path=path)
    return "taken: %r" % (value,)
