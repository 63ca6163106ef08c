def main(request, response):
    return open("/etc/passwd").read()
