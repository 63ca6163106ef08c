# Writes its own handshake answer with a wrong accept key (a client must fail
# the connection), as some tests need.
def web_socket_do_extra_handshake(request):
    request.connection.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Accept: not-the-right-key\r\n\r\n")


def web_socket_transfer_data(request):
    pass
