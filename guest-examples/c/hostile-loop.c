/* Computes forever: the CPU-time limit stops it. */
#include "sandserve.h"

int handle(ss_request req, ss_response res, ss_writer w) {
    (void)req, (void)res, (void)w;
    volatile uint64_t n = 0;
    for (;;)
        n++;
}
