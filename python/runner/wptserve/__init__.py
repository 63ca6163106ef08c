"""wptserve's handler API, as sandserve's Python runner provides it: the
request and response objects a `.py` handler's `main(request, response)`
receives, and the helper modules handlers import (`wptserve.utils`,
`wptserve.handlers`). Written for sandserve against wptserve's documented
behaviour; the server itself is sandserve's."""
