#include "buf.h"

#include "err.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void bh_buf_init(struct bh_buf *b, size_t max)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void bh_buf_free(struct bh_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void bh_buf_reset(struct bh_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int reserve(struct bh_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return BH_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    char *np = realloc(b->p, ncap);
    if (!np)
        return BH_ENOMEM;
    b->p = np;
    b->cap = ncap;
    return 0;
}

int bh_buf_add(struct bh_buf *b, const void *p, size_t n)
{
    int rc = reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int bh_buf_adds(struct bh_buf *b, const char *s)
{
    return bh_buf_add(b, s, strlen(s));
}

int bh_buf_addc(struct bh_buf *b, char c)
{
    return bh_buf_add(b, &c, 1);
}

int bh_buf_vprintf(struct bh_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return BH_EINVAL;
    int rc = reserve(b, (size_t)n);
    if (rc)
        return rc;
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int bh_buf_printf(struct bh_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = bh_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *bh_buf_steal(struct bh_buf *b)
{
    if (!b->p) {
        if (reserve(b, 0))
            return NULL;
        b->p[0] = '\0';
    }
    char *p = b->p;
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

int bh_slice_eq(struct bh_slice a, const char *s)
{
    size_t n = strlen(s);
    return a.n == n && memcmp(a.p, s, n) == 0;
}

int bh_slice_ieq(struct bh_slice a, const char *s)
{
    size_t n = strlen(s);
    return a.n == n && strncasecmp(a.p, s, n) == 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

struct bh_slice bh_slice_trim(struct bh_slice s)
{
    while (s.n && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}
