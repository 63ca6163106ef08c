"""Serves a document root with wptserve's default routes, as the benchmark peer."""
import logging
import sys
import time

from wptserve import server

logging.getLogger().setLevel(logging.WARNING)
httpd = server.WebTestHttpd(host="127.0.0.1", port=int(sys.argv[2]), doc_root=sys.argv[1])
httpd.start()
while True:
    time.sleep(3600)
