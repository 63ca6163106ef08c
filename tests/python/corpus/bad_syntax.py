def main(request, response)
    return "never"
