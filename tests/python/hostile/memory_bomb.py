def main(request, response):
    hoard = []
    while True:
        hoard.append(bytearray(8 << 20))
