"""sandserve's Python runner: runs a wptserve-style `.py` handler inside the
request handler world.

The component is built once from these sources (scripts/build-python-runner.sh).
For each request the server makes a fresh instance, grants it a read-only
view of the document root, and calls `handle`: the runner reads the handler
file the route named, executes it as wptserve does (fresh, with `__file__`
set and the handler's directory and the document root on the import path),
calls its `main(request, response)` and hands the answer to the world.
"""

import sys

import wit_world
from wit_world.imports import view

import sandserve_runtime
from sandserve_runtime import preload  # noqa: F401  (modules in the snapshot)


class WitWorld(wit_world.WitWorld):
    def handle(self, request, response, writer):
        sandserve_runtime.run(request, response, writer, view.script(), view.doc_root())
