# Returns nothing: the response object is filled in place.
def main(request, response):
    response.status = 202
    response.headers.set("Content-Type", "text/plain")
    response.headers.append("X-List", "a")
    response.headers.append("X-List", "b")
    response.headers.set("X-Replaced", "old")
    response.headers.set("X-Replaced", "new")
    response.headers.update([("X-Updated", "u")])
    del response.headers["X-Updated"]
    response.content = ["piece one, ", "piece two"]
