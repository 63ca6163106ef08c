from wptserve.utils import isomorphic_decode

# request.auth: Basic credentials.
def main(request, response):
    if request.auth.username is None:
        return 401, [("WWW-Authenticate", "Basic realm=test")], "who?"
    return "%s:%s" % (isomorphic_decode(request.auth.username), isomorphic_decode(request.auth.password))
