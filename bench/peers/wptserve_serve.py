"""Serves a document root with wptserve's default routes, as the benchmark peer.

Usage: wptserve_serve.py DOC_ROOT PORT [SUBDOMAIN ...]
"""
import logging
import sys
import time

from wptserve import server
from wptserve.config import ConfigBuilder

logging.getLogger().setLevel(logging.WARNING)
doc_root, port, subdomains = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
builder = ConfigBuilder(logging.getLogger("wptserve"), subdomains=subdomains,
                        browser_host="localhost", ports={"http": [port]},
                        doc_root=doc_root, check_subdomains=False)
with builder as config:
    httpd = server.WebTestHttpd(host="127.0.0.1", port=port, doc_root=doc_root, config=config)
    httpd.start()
    while True:
        time.sleep(3600)
