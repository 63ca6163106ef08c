"""The runner's core: one request, one handler file, wptserve's rules.

`run` is the request handler world's entry point. WebSocket handlers
(pywebsocket's `*_wsh.py`) will be a second entry point of the same runner,
in the WebSocket world: the request object, the stash, the sleep and the
snapshot of preloaded modules are shared; only the handler's calling
convention differs."""

import os
import random
import sys
import time

from wit_world.imports import timing

from wptserve.handlers import FunctionHandler
from wptserve.request import Request
from wptserve.response import Response, http_date, reason_phrase
from wptserve import session
from wptserve.utils import HTTPException, isomorphic_encode, to_bytes


def _sleep(seconds):
    """`time.sleep` parks the request in the server (wall time, not CPU)."""
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    timing.sleep(int(seconds * 1_000_000_000))


time.sleep = _sleep


def run(world_request, world_response, world_writer, script, doc_root):
    """Answers one request with the handler in `script` (a path in the
    read-only view of the document root at `doc_root`)."""
    # The snapshot froze the generator: every instance would draw the same.
    random.seed()
    request = Request(world_request, doc_root or "/")
    response = Response(request, world_writer)
    try:
        _run_script(script, doc_root or "/", request, response)
    except HTTPException as e:
        cause = e.__cause__ if 500 <= e.code < 600 and e.__cause__ is not None else e
        response.set_error(e.code, cause)
        if e.code >= 500:
            session.discard()
    except Exception as e:
        response.set_error(500, e)
        session.discard()
    if not response.writer.content_written:
        _send(response, world_response)
    # What the handler printed reaches the server's log before the
    # instance goes.
    sys.stdout.flush()
    sys.stderr.flush()


def _run_script(script, doc_root, request, response):
    if script is None:
        raise HTTPException(404)
    environ = {"__file__": script}
    sys.path.insert(0, os.path.dirname(script))
    if doc_root not in sys.path:
        sys.path.insert(1, doc_root)
    try:
        with open(script, "rb") as f:
            source = f.read()
    except OSError:
        raise HTTPException(404)
    exec(compile(source, script, "exec"), environ, environ)
    if "main" not in environ:
        raise HTTPException(500, "No main function in script %s" % script)
    FunctionHandler(environ["main"])(request, response)


def _breaks_a_line(data):
    return b"\r" in data or b"\n" in data or b"\0" in data


def _send(response, world_response):
    """Hands a filled response to the server in one piece, with the headers
    wptserve adds (`Date`, then `Content-Length` for a body of text or
    bytes) where wptserve adds them. A status or header carrying a line
    break goes out through the writer instead, byte for byte."""
    code, message = response.status
    reason = isomorphic_encode(message) if message is not None else reason_phrase(code).encode()
    headers = [(to_bytes(n), to_bytes(v)) for n, v in response.headers]
    if _breaks_a_line(reason) or any(_breaks_a_line(n) or _breaks_a_line(v) for n, v in headers):
        response.write()
        return
    seen = {n.lower() for n, _ in headers}
    content = response.content
    if response.add_required_headers:
        if b"date" not in seen:
            headers.append((b"Date", http_date().encode()))
        if isinstance(content, (bytes, str)) and b"content-length" not in seen:
            length = len(content if isinstance(content, bytes) else content.encode(response.encoding))
            headers.append((b"Content-Length", str(length).encode()))
            seen.add(b"content-length")
    if b"content-length" not in seen:
        response.close_connection = True
    world_response.set_status(code, reason)
    for name, value in headers:
        world_response.append_header(name, value)
    world_response.set_add_required_headers(False)
    world_response.set_close_connection(response.close_connection)
    if response.request.method != "HEAD" or response.send_body_for_head_request:
        world_response.set_body(b"".join(response.iter_content()))
