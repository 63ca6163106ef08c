# A read-modify-write under the stash lock: no increment is lost.
def main(request, response):
    key = request.GET.first(b"key")
    stash = request.server.stash
    with stash.lock:
        count = stash.take(key, "/counter") or 0
        count += 1
        stash.put(key, count, "/counter")
    return str(count)
