# Fails in its transfer: the connection is closed with 1011 and the error is logged.
def web_socket_do_extra_handshake(request):
    pass


def web_socket_transfer_data(request):
    raise RuntimeError("this handler fails on purpose")
