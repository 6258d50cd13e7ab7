#include "str.h"

#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

size_t bh_strlcpy(char *dst, const char *src, size_t dstsz)
{
    size_t n = strlen(src);
    if (dstsz) {
        size_t c = n < dstsz - 1 ? n : dstsz - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

int bh_parse_i64n(const char *s, size_t n, int64_t min, int64_t max, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n == 0)
        return BH_EINVAL;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i = 1;
        if (n == 1)
            return BH_EINVAL;
    }
    /* accumulate as negative to reach INT64_MIN without overflow */
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return BH_EINVAL;
        int d = s[i] - '0';
        if (v < (INT64_MIN + d) / 10)
            return BH_EINVAL;
        v = v * 10 - d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            return BH_EINVAL;
        v = -v;
    }
    if (v < min || v > max)
        return BH_EINVAL;
    *out = v;
    return 0;
}

int bh_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    return bh_parse_i64n(s, strlen(s), min, max, out);
}

int bh_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (!*s)
        return BH_EINVAL;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return BH_EINVAL;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return BH_EINVAL;
        v = v * 10 + d;
    }
    if (v > max)
        return BH_EINVAL;
    *out = v;
    return 0;
}

int bh_parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"yes", "true", "on", "1"};
    static const char *no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return BH_EINVAL;
}

int bh_parse_size(const char *s, uint64_t unit, uint64_t *out)
{
    size_t nd = 0;
    while (s[nd] >= '0' && s[nd] <= '9')
        nd++;
    if (nd == 0 || nd > 20)
        return BH_EINVAL;
    char tmp[24];
    memcpy(tmp, s, nd);
    tmp[nd] = '\0';
    const char *rest = s + nd;
    uint64_t mul = unit;
    if (*rest) {
        switch (toupper((unsigned char)*rest)) {
        case 'K': mul = 1ULL << 10; break;
        case 'M': mul = 1ULL << 20; break;
        case 'G': mul = 1ULL << 30; break;
        case 'T': mul = 1ULL << 40; break;
        default: return BH_EINVAL;
        }
        rest++;
        /* "10M", "10MB" and "10MiB" all mean mebibytes */
        if (*rest && strcasecmp(rest, "B") != 0 && strcasecmp(rest, "iB") != 0)
            return BH_EINVAL;
    }
    uint64_t v;
    if (bh_parse_u64(tmp, UINT64_MAX, &v))
        return BH_EINVAL;
    if (mul && v > UINT64_MAX / mul)
        return BH_EINVAL;
    *out = v * mul;
    return 0;
}

void bh_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static size_t b64_common(const unsigned char *p, size_t n, char *out, const char *alpha, bool pad)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        out[o++] = alpha[v >> 6 & 63];
        out[o++] = alpha[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        out[o++] = alpha[v >> 18 & 63];
        out[o++] = alpha[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = alpha[v >> 6 & 63];
        else if (pad)
            out[o++] = '=';
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

size_t bh_b64url(const unsigned char *p, size_t n, char *out)
{
    return b64_common(p, n, out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                      false);
}

size_t bh_b64(const unsigned char *p, size_t n, char *out)
{
    return b64_common(p, n, out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                      true);
}

bool bh_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile unsigned char *x = a, *y = b;
    unsigned char d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (unsigned char)(x[i] ^ y[i]);
    return d == 0;
}

int bh_random(void *p, size_t n)
{
    unsigned char *c = p;
    while (n) {
        ssize_t r = getrandom(c, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return BH_ESYS;
        }
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

bool bh_str_charset(const char *s, const char *allowed)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!isalnum(c) && !(c && strchr(allowed, c)))
            return false;
    }
    return true;
}

bool bh_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t bh_utf8_seqlen(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (n == 0)
        return 0;
    unsigned c = p[0], cp, min;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) { /* 0xc0, 0xc1 only ever start overlongs */
        len = 2;
        cp = c & 0x1f;
        min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3;
        cp = c & 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
        min = 0x10000;
    } else {
        return 0; /* a continuation byte, or a lead past U+10FFFF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, past U+10FFFF, a surrogate */
    return len;
}

bool bh_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t l = bh_utf8_seqlen(s + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

void bh_utf8_scrub(char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t l = bh_utf8_seqlen(s + i, n - i);
        if (l) {
            i += l;
        } else {
            s[i++] = '?';
        }
    }
}

#define UTF8_REPLACEMENT     "\xef\xbf\xbd" /* U+FFFD */
#define UTF8_REPLACEMENT_LEN 3

bool bh_utf8_sanitize(const char *s, char *out, size_t outsz)
{
    size_t n = strlen(s), o = 0, i = 0;
    bool same = true;
    if (outsz == 0)
        return false;
    while (i < n) {
        size_t l = bh_utf8_seqlen(s + i, n - i);
        const char *src = l ? s + i : UTF8_REPLACEMENT;
        size_t sl = l ? l : UTF8_REPLACEMENT_LEN;
        if (o + sl >= outsz) /* cut before a character that does not fit */
            break;
        memcpy(out + o, src, sl);
        o += sl;
        i += l ? l : 1;
        same = same && l;
    }
    out[o] = '\0';
    return same && i == n;
}
