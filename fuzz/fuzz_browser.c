/*
 * libFuzzer driver: the browser header readers (src/http/browser.c):
 * Cookie, Origin, Accept-Encoding and If-None-Match.
 *
 * The input is one header value, as many bytes as came (no terminator past
 * them: a read beyond is caught).  Invariants: a cookie value found lies
 * inside the input, after "name=" and before any ';' or NUL; a later
 * cookie of the same name is found only when an earlier one was; an Origin
 * is the same as itself as a Host only in its own form; If-None-Match "*"
 * holds for any tag; the answers do not depend on bytes after a NUL.
 */
#include "http/browser.h"

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
    char *p = malloc(size ? size : 1);
    if (!p)
        return 0;
    memcpy(p, data, size);
    const char *v;
    size_t n;
    bool prev = true;
    for (size_t k = 0; k < 4; k++) {
        bool found = bh_cookie_find(p, size, "bh_session", k, &v, &n);
        CHECK(!found || prev);
        if (found) {
            CHECK(v >= p && v + n <= p + size);
            CHECK(!memchr(v, ';', n) && !memchr(v, '\0', n));
        }
        prev = found;
    }
    /* the string readers get a terminated copy */
    char *s = malloc(size + 1);
    if (!s) {
        free(p);
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    bool gz = bh_accepts_gzip(s);
    (void)gz;
    CHECK(!bh_etag_listed(s, "\"x\"") || strchr(s, '*') || strstr(s, "\"x\""));
    if (size && s[0] == '*' && strlen(s) == 1)
        CHECK(bh_etag_listed(s, "\"anything\""));
    bool same = bh_origin_same(s, s, false);
    CHECK(!same); /* "http://..." is never a valid Host */
    if (size > 7 && !strncmp(s, "http://", 7))
        (void)bh_origin_same(s, s + 7, false);
    (void)bh_origin_same(s, s, true);
    free(s);
    free(p);
    return 0;
}
