# Refuses a handshake without the right credentials with a 401 written by the
# handler itself, then aborts; otherwise greets.
from mod_pywebsocket import msgutil
from mod_pywebsocket.handshake import AbortedByUserException


def web_socket_do_extra_handshake(request):
    if request.headers_in.get("Authorization") != "Basic dXNlcjpwYXNz":
        request.connection.write(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                                 b"WWW-Authenticate: Basic realm=\"ws\"\r\n\r\n")
        raise AbortedByUserException("no credentials")


def web_socket_transfer_data(request):
    msgutil.send_message(request, "welcome")
