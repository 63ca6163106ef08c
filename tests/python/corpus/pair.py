# (headers, body), headers appended in order, repeated names kept.
def main(request, response):
    return [("Content-Type", "text/plain"), ("X-One", "1"), ("x-one", "2"), ("X-Two", b"two")], b"pair"
