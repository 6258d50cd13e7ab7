/*
 * libFuzzer driver: the request-head parser (src/http/head.c), the
 * redirect to HTTPS it computes, and the check of a first TLS record.
 *
 * Invariants: a complete head ends with LF inside the cap and parses the
 * same when cut right after it; one byte less of it is "more", never a
 * refusal; "more" only below the cap; a refusal names one of the statuses
 * the front door answers, and its slug.  A redirect is "https://" and
 * printable ASCII without spaces (nothing a header line could split on),
 * or a refusal; it fits the buffer.  A TLS record accepted is exactly its
 * header and length, accepted again alone, and "more" one byte short;
 * "more" never past the largest record.
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

static void check_location(const struct bh_head *h)
{
    char out[512];
    struct bh_err e;
    int n = bh_head_https_location(h, out, sizeof(out), &e);
    if (n < 0) {
        CHECK(n == BH_EINVAL || n == BH_ETOOBIG);
        CHECK(e.type != NULL && e.msg[0]);
        return;
    }
    CHECK((size_t)n < sizeof(out) && strlen(out) == (size_t)n);
    CHECK(!strncmp(out, "https://", 8));
    for (int i = 0; i < n; i++)
        CHECK(out[i] > 0x20 && out[i] < 0x7f);
    CHECK(strchr(out + 8, '/') != NULL);
}

static void check_tls(const char *p, size_t size)
{
    size_t len, len2;
    struct bh_err e;
    int rc = bh_tls_hello_check(p, size, &len, &e);
    if (rc == 0) {
        CHECK(len >= BH_TLS_RECORD_HEADER + 6 && len <= size);
        CHECK(len <= BH_TLS_RECORD_HEADER + BH_TLS_RECORD_MAX);
        CHECK(bh_tls_record_start(p, size));
        CHECK(len == BH_TLS_RECORD_HEADER + ((size_t)(uint8_t)p[3] << 8 | (uint8_t)p[4]));
        CHECK(bh_tls_hello_check(p, len, &len2, &e) == 0 && len2 == len);
        CHECK(bh_tls_hello_check(p, len - 1, &len2, &e) == BH_HEAD_MORE);
    } else if (rc == BH_HEAD_MORE) {
        CHECK(size < BH_TLS_RECORD_HEADER + BH_TLS_RECORD_MAX);
        CHECK(size == 0 || bh_tls_record_start(p, size));
    } else {
        CHECK(rc == BH_EINVAL && e.type != NULL && e.msg[0]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy exactly as long as the input: reading past it is caught */
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    check_tls(p, size);
    struct bh_head h, h2;
    struct bh_err e;
    int rc = bh_head_parse(p, size, &h, &e);
    if (rc == 0) {
        check_location(&h);
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
