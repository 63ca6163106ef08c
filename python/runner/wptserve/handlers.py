"""Handler helpers from `wptserve.handlers`: `handler`, `json_handler` and
`HTTPException`."""

import json

from .utils import HTTPException  # noqa: F401  (handlers import it from here)


class FunctionHandler:
    """Calls `func(request, response)` and applies what it returns: a body,
    `(headers, body)`, `(status, headers, body)`, or nothing."""

    def __init__(self, func):
        self.func = func

    def __call__(self, request, response):
        try:
            rv = self.func(request, response)
        except HTTPException:
            raise
        except Exception as e:
            raise HTTPException(500) from e
        apply_result(rv, response)


def apply_result(rv, response):
    """Puts a handler's return value into `response`."""
    if rv is None:
        return
    if isinstance(rv, tuple):
        if len(rv) == 3:
            status, headers, content = rv
            response.status = status
        elif len(rv) == 2:
            headers, content = rv
        else:
            raise HTTPException(500)
        response.headers.update(headers)
    else:
        content = rv
    response.content = content


def handler(func):
    """A function `func(request, response)` as a handler."""
    return FunctionHandler(func)


class JsonHandler:
    """A handler whose last returned element is encoded as JSON."""

    def __init__(self, func):
        self.func = func

    def __call__(self, request, response):
        return FunctionHandler(self.handle_request)(request, response)

    def handle_request(self, request, response):
        rv = self.func(request, response)
        response.headers.set("Content-Type", "application/json")
        enc = json.dumps
        if isinstance(rv, tuple):
            rv = list(rv)
            value = tuple(rv[:-1] + [enc(rv[-1])])
            length = len(value[-1])
        else:
            value = enc(rv)
            length = len(value)
        response.headers.set("Content-Length", length)
        return value


def json_handler(func):
    """A handler returning a JSON-serialisable value (last element of a tuple)."""
    return JsonHandler(func)
