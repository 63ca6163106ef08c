# A hand-written status line and headers, byte for byte.
def main(request, response):
    response.writer.write(b"HTTP/1.1 207 Odd   Reason\r\n")
    response.writer.write(b"X-Raw: yes\r\n")
    response.writer.write(b"Content-Length: 3\r\n\r\n")
    response.writer.write(b"raw")
