from wptserve.handlers import json_handler

# The json_handler decorator.
@json_handler
def main(request, response):
    return {"ok": True, "n": [1, 2, 3]}
