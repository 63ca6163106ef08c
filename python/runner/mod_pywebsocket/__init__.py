"""pywebsocket's handler API, as WPT's `*_wsh.py` handlers use it, over
sandserve's websocket-handler world (`import mod_pywebsocket` and
`import pywebsocket3` both find it)."""
