/* The stash from C: ?action=put&key=UUID&value=V stores V;
 * ?action=take&key=UUID returns it once (then 404). A store out of reach
 * is a 503; another refusal a 409 naming it. */
#include "sandserve.h"

int handle(ss_request req, ss_response res, ss_writer w) {
    (void)w;
    char *key = ss_param(req, "key"), *action = ss_param(req, "action");
    if (!key)
        return ss_fail(400, "no key");
    if (action && strcmp(action, "put") == 0) {
        char *value = ss_param(req, "value");
        int failed = ss_stash_put(key, value ? value : "", value ? strlen(value) : 0, NULL);
        if (failed)
            return failed;
        ss_body(res, "stored");
        return 0;
    }
    uint8_t *value;
    size_t len;
    bool found;
    int failed = ss_stash_take(key, NULL, &value, &len, &found);
    if (failed)
        return failed;
    if (!found)
        return ss_fail(404, "nothing stashed under that key");
    ss_body_n(res, value, len);
    return 0;
}
