import time
def main(request, response):
    time.sleep(60)
    return "slept a minute"
