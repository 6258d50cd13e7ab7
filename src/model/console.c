/*
 * console.c - see console.h.  Owned by the console API (issue 10).
 */
#include "console.h"

#include "core/str.h"

#include <math.h> /* isfinite */
#include <stdio.h>
#include <string.h>

#define SYNTAX "a pattern is text with one range {A..B} of 1 to 9 digits each, like r101-pc{01..30}"

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

int bh_name_pattern_parse(const char *text, struct bh_name_pattern *p, struct bh_err *err)
{
    memset(p, 0, sizeof(*p));
    size_t len = text ? strnlen(text, BH_PATTERN_MAX + 1) : 0;
    if (len == 0)
        return bh_err_set(err, BH_EINVAL, "pattern", "the pattern is empty; " SYNTAX);
    if (len > BH_PATTERN_MAX)
        return bh_err_set(err, BH_EINVAL, "pattern", "the pattern is longer than %d bytes",
                          BH_PATTERN_MAX);
    const char *open = strchr(text, '{'), *close = strchr(text, '}');
    if (!open || !close)
        return bh_err_set(err, BH_EINVAL, "pattern", "'%s' has no range; " SYNTAX, text);
    if (close < open || strchr(open + 1, '{') || strchr(close + 1, '}'))
        return bh_err_set(err, BH_EINVAL, "pattern",
                          "'%s' must have exactly one range {A..B}, with no other braces", text);
    const char *in = open + 1, *dots = strstr(in, "..");
    if (!dots || dots > close)
        return bh_err_set(err, BH_EINVAL, "pattern", "'%s': the range is not A..B; " SYNTAX, text);
    size_t na = (size_t)(dots - in), nb = (size_t)(close - (dots + 2));
    if (!digits(in, na) || !digits(dots + 2, nb))
        return bh_err_set(err, BH_EINVAL, "pattern",
                          "'%s': A and B of {A..B} must be decimal numbers; " SYNTAX, text);
    if (na > BH_PATTERN_DIGITS || nb > BH_PATTERN_DIGITS)
        return bh_err_set(err, BH_EINVAL, "pattern",
                          "'%s': A and B of {A..B} have at most %d digits", text,
                          BH_PATTERN_DIGITS);
    if (bh_parse_i64n(in, na, 0, INT64_MAX, &p->first) ||
        bh_parse_i64n(dots + 2, nb, 0, INT64_MAX, &p->last))
        return bh_err_set(err, BH_EINVAL, "pattern", "'%s': bad numbers in the range", text);
    if (p->first > p->last)
        return bh_err_set(err, BH_EINVAL, "pattern", "'%s': the range runs backwards (%lld > %lld)",
                          text, (long long)p->first, (long long)p->last);
    p->width = (int)na;
    memcpy(p->prefix, text, (size_t)(open - text));
    p->prefix[open - text] = '\0';
    bh_strlcpy(p->suffix, close + 1, sizeof(p->suffix));
    return 0;
}

int64_t bh_name_pattern_count(const struct bh_name_pattern *p)
{
    return p->last - p->first + 1;
}

int bh_name_pattern_name(const struct bh_name_pattern *p, int64_t i, char *out, size_t cap)
{
    if (i < 0 || i >= bh_name_pattern_count(p))
        return BH_EINVAL;
    int n =
        snprintf(out, cap, "%s%0*lld%s", p->prefix, p->width, (long long)(p->first + i), p->suffix);
    return n < 0 || (size_t)n >= cap ? BH_ETOOBIG : 0;
}

int bh_name_pattern_expand(const char *text, size_t n, json_t **names, struct bh_err *err)
{
    struct bh_name_pattern p;
    int rc = bh_name_pattern_parse(text, &p, err);
    if (rc)
        return rc;
    int64_t have = bh_name_pattern_count(&p);
    char a[BH_PATTERN_NAME], z[BH_PATTERN_NAME];
    if ((uint64_t)have < n) {
        bh_name_pattern_name(&p, 0, a, sizeof(a));
        bh_name_pattern_name(&p, have - 1, z, sizeof(z));
        return bh_err_set(err, BH_EINVAL, "pattern",
                          "'%s' gives %lld name%s (%s to %s), but %zu hosts need one", text,
                          (long long)have, have == 1 ? "" : "s", a, z, n);
    }
    json_t *arr = json_array();
    if (!arr)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (bh_name_pattern_name(&p, (int64_t)i, a, sizeof(a))) {
            json_decref(arr);
            return bh_err_set(err, BH_EINVAL, "pattern", "'%s' makes names over %d bytes", text,
                              BH_PATTERN_NAME - 1);
        }
        if (json_array_append_new(arr, json_string(a))) {
            json_decref(arr);
            return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        }
    }
    *names = arr;
    return 0;
}

int64_t bh_progress_eta_s(const json_t *progress)
{
    const json_t *d = json_object_get(progress, "done"), *t = json_object_get(progress, "total"),
                 *r = json_object_get(progress, "rate");
    if (!json_is_number(d) || !json_is_number(t) || !json_is_number(r))
        return -1;
    double done = json_number_value(d), total = json_number_value(t), rate = json_number_value(r);
    if (!(done >= 0) || !(total >= done) || !(rate > 0) || !isfinite(total))
        return -1;
    double left = (total - done) / rate;
    if (!(left < 9.2e18))
        return -1;
    int64_t s = (int64_t)left; /* rounded up: a second and a half left is two */
    return (double)s < left ? s + 1 : s;
}
