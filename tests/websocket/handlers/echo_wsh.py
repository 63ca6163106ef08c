# Echoes each message (text as text, bytes as bytes); chooses "echo" when the
# client offers it; answers the client's close with its own code and reason.
from mod_pywebsocket import common


def web_socket_do_extra_handshake(request):
    if request.ws_requested_protocols and "echo" in request.ws_requested_protocols:
        request.ws_protocol = "echo"
    request.extra_headers.append(("X-Handshake", request.headers_in.get("x-ask", "none")))


def web_socket_transfer_data(request):
    while True:
        message = request.ws_stream.receive_message()
        if message is None:
            return
        request.ws_stream.send_message(message, binary=isinstance(message, bytes))


def web_socket_passive_closing_handshake(request):
    code = request.ws_close_code
    if code == common.STATUS_NO_STATUS_RECEIVED:
        code = None
    return code, "echoed: " + (request.ws_close_reason or "")
