# add_required_headers = False: no Date, no Content-Length.
def main(request, response):
    response.add_required_headers = False
    response.headers.set("Content-Type", "text/plain")
    response.content = "bare"
