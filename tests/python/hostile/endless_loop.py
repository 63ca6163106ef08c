def main(request, response):
    while True:
        pass
