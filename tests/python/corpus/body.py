# Returns a body only: no Content-Type.
def main(request, response):
    return "just a body"
