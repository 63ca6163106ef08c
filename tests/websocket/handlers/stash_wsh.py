# Puts the query's value into the stash under the query's key (path /ws-shared)
# and sends back what was there before, through wptserve's stash API.
import urllib.parse

from wptserve import stash as stash_module

address, authkey = stash_module.load_env_config()
stash = stash_module.Stash("/ws-shared", address=address, authkey=authkey)


def web_socket_do_extra_handshake(request):
    pass


def web_socket_transfer_data(request):
    query = dict(urllib.parse.parse_qsl(request.unparsed_uri.partition("?")[2]))
    before = stash.take(query["key"])
    stash.put(query["key"], query["value"])
    request.ws_stream.send_message("before: %s" % before, binary=False)
