"""`pywebsocket3`, the name newer WPT handlers import: the same API as
`mod_pywebsocket`."""

import sys

import mod_pywebsocket
from mod_pywebsocket import common, handshake, msgutil, stream  # noqa: F401

for _name in ("common", "handshake", "handshake.hybi", "msgutil", "stream"):
    sys.modules["pywebsocket3." + _name] = sys.modules["mod_pywebsocket." + _name]
