import json
from wptserve.utils import isomorphic_decode

# request.GET: first, last, get_list, blank values, + as space, bytes keys.
def main(request, response):
    g = request.GET
    out = {
        "first": isomorphic_decode(g.first(b"a", b"-")),
        "last": isomorphic_decode(g.last(b"a", b"-")),
        "all": [isomorphic_decode(v) for v in g.get_list(b"a")],
        "blank": isomorphic_decode(g.get(b"blank", b"absent")),
        # Each percent-escaped byte stays a byte (not UTF-8 decoded).
        "e": list(g.first(b"e", b"")),
        "missing": g.get(b"nope") is None,
        "method": request.method,
        "path": request.url_parts.path,
        "query": request.url_parts.query,
        "request_path": request.request_path,
    }
    return [("Content-Type", "application/json")], json.dumps(out, sort_keys=True)
