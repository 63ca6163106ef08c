"""pywebsocket's `msgutil`: messages through a request's stream."""


def send_message(request, message, end=True, binary=False):
    request.ws_stream.send_message(message, end=end, binary=binary)


def receive_message(request):
    return request.ws_stream.receive_message()


def send_ping(request, body=b""):
    request.ws_stream.send_ping(body)


def close_connection(request, code=1000, reason=""):
    request.ws_stream.close_connection(code, reason)
