import os
def main(request, response):
    return open(os.path.join(request.doc_root, "..", "..", "..", "etc", "passwd")).read()
