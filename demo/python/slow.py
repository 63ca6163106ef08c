import time


# Writes a piece, pauses, writes another: the pause is visible on the wire.
def main(request, response):
    response.writer.write_status(200)
    response.writer.write_header("Content-Type", "text/plain")
    response.writer.end_headers()
    for i in range(3):
        if not response.writer.write_content("piece %d\n" % i):
            return  # the client has gone
        time.sleep(0.5)
