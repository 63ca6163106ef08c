import json
from wptserve.utils import isomorphic_decode

# request.headers: case-insensitive, bytes, repeated values joined.
def main(request, response):
    h = request.headers
    out = {
        "x-dup": isomorphic_decode(h.get(b"X-DUP", b"")),
        "x-dup-list": [isomorphic_decode(v) for v in h.get_list("x-dup")],
        "has-x-one": "x-one" in h,
        "has-nope": b"nope" in h,
        "x-one": isomorphic_decode(h[b"x-one"]),
    }
    response.headers.set(b"Content-Type", b"application/json")
    return json.dumps(out, sort_keys=True)
