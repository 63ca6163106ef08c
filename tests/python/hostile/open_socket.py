import socket
def main(request, response):
    s = socket.socket()
    s.connect(("127.0.0.1", 22))
    return "connected"
