/* Written raw through the writer: a status line no well-behaved server
 * sends, a header, then the body in two parts with a pause between them
 * (?pause_ms=N, default 200). */
#include "sandserve.h"

int handle(ss_request req, ss_response res, ss_writer w) {
    (void)res;
    char *pause = ss_param(req, "pause_ms");
    uint64_t ms = pause ? strtoull(pause, NULL, 10) : 200;
    free(pause);
    ss_write_raw(w, "HTTP/1.1 299 Very Unusual\r\nContent-Length: 12\r\n\r\n");
    ss_write_raw(w, "first ");
    ss_sleep_ms(ms);
    ss_write_raw(w, "second");
    return 0;
}
