"""Counts this browser's visits in its session (sandserve's
`request.session`); `?fail` counts and then fails, which must change
nothing."""


def main(request, response):
    session = request.session
    session["visits"] = session.get("visits", 0) + 1
    if b"fail" in request.GET:
        raise RuntimeError("failing after a write to the session")
    return "visits: %d, keys: %s" % (session["visits"], ",".join(session.keys()))
