# request.raw_headers: the headers as sent, names in their own case, in order.
def main(request, response):
    return [("Content-Type", "text/plain")], str(request.raw_headers)
