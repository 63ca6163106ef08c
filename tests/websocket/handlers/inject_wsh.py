# Adds a header whose value holds a line break, injecting a second header
# line into the answer (pywebsocket writes it as it is; some tests rely on it).
def web_socket_do_extra_handshake(request):
    request.extra_headers.append(("Set-Cookie", "a=b; Path=/\r\nX-Injected: yes"))


def web_socket_transfer_data(request):
    request.ws_stream.send_message("after an answer of its own", binary=False)
