/*
 * libFuzzer driver: the request-head parser (src/http/head.c).
 *
 * Invariants: a complete head ends with LF inside the cap and parses the
 * same when cut right after it; one byte less of it is "more", never a
 * refusal; "more" only below the cap; a refusal names one of the statuses
 * the front door answers, and its slug.
 */
#include "http/head.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy exactly as long as the input: reading past it is caught */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    struct bh_head h, h2;
    struct bh_err e;
    int rc = bh_head_parse(p, size, &h, &e);
    if (rc == 0) {
        CHECK(h.len > 0 && h.len <= size && h.len <= BH_HEAD_MAX);
        CHECK(p[h.len - 1] == '\n');
        CHECK(h.cls < BH_CONN__COUNT);
        CHECK(h.minor == 0 || h.minor == 1);
        CHECK(!(h.chunked && h.content_length >= 0));
        CHECK(h.path && h.path >= p && h.path + h.path_len <= p + h.len);
        CHECK(bh_head_parse(p, h.len, &h2, &e) == 0);
        CHECK(h2.len == h.len && h2.cls == h.cls && h2.content_length == h.content_length &&
              h2.chunked == h.chunked);
        CHECK(bh_head_parse(p, h.len - 1, &h2, &e) == BH_HEAD_MORE);
    } else if (rc == BH_HEAD_MORE) {
        CHECK(size < BH_HEAD_MAX);
    } else {
        CHECK(rc == BH_EINVAL || rc == BH_ETOOBIG || rc == BH_EUNSUPP);
        CHECK(h.status == 400 || h.status == 414 || h.status == 431 || h.status == 501 ||
              h.status == 505);
        CHECK(e.type != NULL && e.msg[0]);
        CHECK(!h.path || (h.path >= p && h.path + h.path_len <= p + size));
    }
    free(p);
    return 0;
}
