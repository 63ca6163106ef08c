import time

# The raw writer: status, headers, a pause between pieces, no Content-Length.
def main(request, response):
    w = response.writer
    w.write_status(200)
    w.write_header(b"Content-Type", b"text/plain")
    w.write_header("X-Written", 7)
    w.end_headers()
    w.write_content("first,")
    time.sleep(float(request.GET.first(b"pause", b"0.1")))
    w.write_content(b"second")
