"""Counts this browser's visits in its session (sandserve's
`request.session`): open it in two browsers, or a private window."""


def main(request, response):
    session = request.session
    session["visits"] = session.get("visits", 0) + 1
    return "visits: %d, keys: %s" % (session["visits"], ",".join(session.keys()))
