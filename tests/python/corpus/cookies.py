from wptserve.utils import isomorphic_decode

# Request cookies, set_cookie with attributes, delete_cookie.
def main(request, response):
    seen = request.cookies.get(b"seen")
    response.set_cookie(b"seen", b"yes", path="/", max_age=60, httponly=True, samesite="Lax")
    response.set_cookie("plain", "v")
    response.delete_cookie("gone")
    value = isomorphic_decode(seen.value) if seen is not None else "none"
    return [("Content-Type", "text/plain")], "seen=" + value
