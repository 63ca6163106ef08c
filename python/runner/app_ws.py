"""sandserve's Python runner for WebSocket handlers: runs a pywebsocket-style
`NAME_wsh.py` inside the websocket-handler world.

One instance per connection. `handshake` reads the handler file the server
named (through the read-only view of `ws_doc_root`), executes it, builds the
pywebsocket request object and calls `web_socket_do_extra_handshake`;
`transfer` calls `web_socket_transfer_data` with the same request, and the
client's close frame is answered through `web_socket_passive_closing_handshake`
when the handler has one.
"""

import os
import sys
import traceback

import wit_world
from componentize_py_types import Err
from wit_world.imports import types, view

from sandserve_runtime import preload  # noqa: F401  (modules in the snapshot; time.sleep parks)

import mod_pywebsocket
import pywebsocket3  # noqa: F401  (the name newer handlers import)
from mod_pywebsocket import _connection
from mod_pywebsocket.handshake import AbortedByUserException

_state = {}


def _fail(code, message):
    raise Err(types.Error(code=code, message=message))


class WitWorld(wit_world.WitWorld):
    def handshake(self, request, response):
        script = view.script()
        if script is None:
            _fail(500, "the WebSocket runner was given no handler file")
        directory = os.path.dirname(script)
        if directory not in sys.path:
            sys.path.insert(0, directory)
        namespace = {"__file__": script, "__name__": os.path.basename(script)[:-3]}
        try:
            with open(script, "rb") as f:
                code = compile(f.read(), script, "exec")
            exec(code, namespace)
        except Exception as e:
            _fail(500, "%s: %s: %s" % (os.path.basename(script), type(e).__name__, e))
        for name in ("web_socket_do_extra_handshake", "web_socket_transfer_data"):
            if not callable(namespace.get(name)):
                _fail(500, "%s has no %s(request)" % (os.path.basename(script), name))
        req = _connection.Request(request, response)
        _state["handler"] = namespace
        _state["request"] = req
        try:
            namespace["web_socket_do_extra_handshake"](req)
        except AbortedByUserException:
            response.abort()
            return
        except mod_pywebsocket.handshake.HandshakeException as e:
            response.refuse(getattr(e, "status", None) or 400, None)
            return
        except _connection.ConnectionTerminatedException:
            response.abort()
            return
        except Exception:
            _fail(500, traceback.format_exc())
        req.finish_handshake()

    def transfer(self, connection):
        req = _state["request"]
        handler = _state["handler"]
        passive = handler.get("web_socket_passive_closing_handshake")
        req.start_transfer(connection, passive)
        try:
            handler["web_socket_transfer_data"](req)
        except (AbortedByUserException, _connection.ConnectionTerminatedException):
            return
        except Exception:
            _fail(500, traceback.format_exc())
