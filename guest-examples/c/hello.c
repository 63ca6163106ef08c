/* Hello, in C: a status, a header and a body; ?name=X greets X. */
#include <stdio.h>

#include "sandserve.h"

int handle(ss_request req, ss_response res, ss_writer w) {
    (void)w;
    char *name = ss_param(req, "name");
    char body[256];
    snprintf(body, sizeof body, "Hello, %s!\n", name ? name : "world");
    ss_status(res, 200, NULL);
    ss_header(res, "Content-Type", "text/plain");
    ss_body(res, body);
    free(name);
    return 0;
}
