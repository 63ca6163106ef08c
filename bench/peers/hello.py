def main(request, response):
    return [("Content-Type", "text/plain")], "Hello, world!\n"
