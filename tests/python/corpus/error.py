from wptserve.handlers import HTTPException

# set_error and HTTPException.
def main(request, response):
    kind = request.GET.first(b"kind", b"set")
    if kind == b"set":
        response.set_error(418, "a teapot")
        return
    if kind == b"http":
        raise HTTPException(403, "forbidden here")
    if kind == b"plain":
        raise HTTPException(410)
    return "no error"
