import json
from wptserve.utils import isomorphic_decode


# A realistic handler: the request headers echoed as JSON.
def main(request, response):
    headers = {isomorphic_decode(k): isomorphic_decode(v) for k, v in request.headers.iteritems()}
    return [("Content-Type", "application/json")], json.dumps(headers, sort_keys=True)
