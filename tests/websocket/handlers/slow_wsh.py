# Sleeps in the handshake (time.sleep parks the connection), then sends the
# time it slept and closes with 4001.
import time


def web_socket_do_extra_handshake(request):
    time.sleep(0.3)


def web_socket_transfer_data(request):
    request.ws_stream.send_message("slept", binary=False)
    request.ws_stream.close_connection(4001, "done")
