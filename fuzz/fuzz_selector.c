/* libFuzzer driver: label selectors; parsed selectors evaluate safely. */
#include "model/selector.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bh_selector sel;
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct bh_err e;
    if (bh_selector_parse(s, &sel, &e) == 0) {
        bh_selector_resolve(&sel, bh_kind_get(BH_KIND_HOST));
        json_t *host = json_pack("{s:s, s:s, s:{s:s, s:s}}", "arch", "x86_64", "state", "up",
                                 "labels", "role", "kiosk", "floor", "2");
        (void)bh_selector_match(&sel, host);
        json_decref(host);
    } else if (e.msg[0] == '\0') {
        abort();
    }
    free(s);
    return 0;
}
