/* The request's headers, in order, as JSON: [["name","value"],...]. */
#include <stdio.h>

#include "sandserve.h"

/* Appends `data` as a JSON string. */
static void json_string(char **out, size_t *len, size_t *cap, const uint8_t *data, size_t n) {
    for (size_t i = 0; i <= n + 1; i++) {
        char piece[8];
        size_t k;
        if (i == 0 || i == n + 1) {
            piece[0] = '"';
            k = 1;
        } else {
            uint8_t c = data[i - 1];
            if (c == '"' || c == '\\') {
                piece[0] = '\\';
                piece[1] = (char)c;
                k = 2;
            } else if (c < 0x20) {
                k = (size_t)snprintf(piece, sizeof piece, "\\u%04x", c);
            } else {
                piece[0] = (char)c;
                k = 1;
            }
        }
        if (*len + k + 1 > *cap) {
            *cap = (*cap + k + 1) * 2;
            *out = realloc(*out, *cap);
        }
        memcpy(*out + *len, piece, k);
        *len += k;
    }
}

int handle(ss_request req, ss_response res, ss_writer w) {
    (void)w;
    sandserve_handler_http_list_field_t headers;
    sandserve_handler_http_method_request_headers(req, &headers);
    size_t len = 0, cap = 256;
    char *json = malloc(cap);
    json[len++] = '[';
    for (size_t i = 0; i < headers.len; i++) {
        if (i > 0)
            json[len++] = ',';
        json[len++] = '[';
        json_string(&json, &len, &cap, headers.ptr[i].name.ptr, headers.ptr[i].name.len);
        json[len++] = ',';
        json_string(&json, &len, &cap, headers.ptr[i].value.ptr, headers.ptr[i].value.len);
        json[len++] = ']';
        if (len + 4 > cap)
            json = realloc(json, cap *= 2);
    }
    json[len++] = ']';
    sandserve_handler_http_list_field_free(&headers);
    ss_header(res, "Content-Type", "application/json");
    ss_body_n(res, json, len);
    free(json);
    return 0;
}
