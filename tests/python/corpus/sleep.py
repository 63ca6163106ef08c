import time

# time.sleep is a pause in the server, not CPU time.
def main(request, response):
    time.sleep(float(request.GET.first(b"s", b"0.3")))
    return "slept"
