"""Hello, in Python written against the handler world itself (no wptserve
API, no runner): componentize-py makes this module a component of its own,
`hello-python.wasm` (scripts/build-python-runner.sh builds it). ?name=X
greets X; ?raw writes a status line of its own through the writer."""

import wit_world
from wit_world.imports import timing


class WitWorld(wit_world.WitWorld):
    def handle(self, request, response, writer):
        query = {bytes(f.name): bytes(f.value) for f in request.query()}
        name = query.get(b"name", b"world")
        if b"raw" in query:
            writer.write_raw(b"HTTP/1.1 299 Very Unusual\r\nContent-Length: 12\r\n\r\nfirst ")
            timing.sleep(200_000_000)
            writer.write_raw(b"second")
            return
        response.set_status(200, None)
        response.set_header(b"Content-Type", b"text/plain")
        response.set_body(b"Hello, " + name + b"!\n")
