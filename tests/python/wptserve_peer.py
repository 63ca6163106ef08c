"""Serves a document root with wptserve 4.0.3 (the reference), its stash
server running, for the differential tests. Prints the port when ready.

Usage: wptserve_peer.py DOC_ROOT
"""
import logging
import sys
import time

from wptserve import server, stash
from wptserve.config import ConfigBuilder

logging.getLogger().setLevel(logging.ERROR)
doc_root = sys.argv[1]
with stash.StashServer(("127.0.0.1", 0), authkey=b"sandserve-differential"):
    builder = ConfigBuilder(logging.getLogger("wptserve"), browser_host="localhost",
                            ports={"http": [0]}, doc_root=doc_root, check_subdomains=False)
    with builder as config:
        httpd = server.WebTestHttpd(host="127.0.0.1", port=0, doc_root=doc_root,
                                    config=config)
        httpd.start()
        print(httpd.port, flush=True)
        while True:
            time.sleep(3600)
