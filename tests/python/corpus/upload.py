import json
from wptserve.utils import isomorphic_decode

# request.POST: urlencoded fields and multipart uploads; request.body.
def main(request, response):
    out = {"body_length": len(request.body)}
    for key in sorted(request.POST):
        value = request.POST.first(key)
        if hasattr(value, "filename"):
            out[isomorphic_decode(key)] = {"filename": value.filename,
                                           "value": isomorphic_decode(value.value)}
        else:
            out[isomorphic_decode(key)] = isomorphic_decode(value)
    return [("Content-Type", "application/json")], json.dumps(out, sort_keys=True)
