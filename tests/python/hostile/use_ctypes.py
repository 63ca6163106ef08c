import ctypes
def main(request, response):
    return repr(ctypes.CDLL(None))
