import os
from helpers.greeting import greet

# Reads a file through request.doc_root and one beside __file__; imports a
# helper module from the document root.
def main(request, response):
    with open(os.path.join(request.doc_root, "helpers", "data.txt")) as f:
        data = f.read().strip()
    with open(os.path.join(os.path.dirname(__file__), "helpers", "data.txt")) as f:
        beside = f.read().strip()
    return [("Content-Type", "text/plain")], "%s|%s|%s" % (greet("doc root"), data, beside)
