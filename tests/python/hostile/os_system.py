import os
def main(request, response):
    return "status %r" % os.system("touch /tmp/sandserve-escaped")
