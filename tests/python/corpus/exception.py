# An exception: 500 with a traceback.
def main(request, response):
    raise ValueError("something broke")
