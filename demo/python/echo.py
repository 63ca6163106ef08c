import json
from wptserve.utils import isomorphic_decode


# A wptserve-style Python handler, run in a fresh sandboxed instance per
# request: edit it and reload the page.
def main(request, response):
    headers = {isomorphic_decode(k): isomorphic_decode(v) for k, v in request.headers.iteritems()}
    name = isomorphic_decode(request.GET.first(b"name", b"world"))
    return [("Content-Type", "application/json")], json.dumps(
        {"hello": name, "method": request.method, "headers": headers}, indent=2)
