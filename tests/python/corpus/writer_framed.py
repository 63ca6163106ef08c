# The writer with a Content-Length it wrote itself.
def main(request, response):
    body = b"framed body"
    response.writer.write_status(201, b"Made")
    response.writer.write_header("Content-Length", len(body))
    response.writer.write_header("Content-Type", "text/plain")
    response.writer.end_headers()
    response.writer.write_content(body)
