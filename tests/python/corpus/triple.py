# (status, headers, body) with a plain code, and ((code, reason), ...).
def main(request, response):
    if b"reason" in request.GET:
        return (299, b"Custom Reason"), [("Content-Type", "text/plain")], "reason"
    return 404, [("Content-Type", "text/html")], "<p>missing</p>"
