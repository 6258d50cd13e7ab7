#include "log.h"

#include "err.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static atomic_int g_level = BH_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void bh_log_set_level(int level)
{
    atomic_store(&g_level, level);
}

int bh_log_get_level(void)
{
    return atomic_load(&g_level);
}

int bh_log_parse_level(const char *s, int *level)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *level = BH_LOG_WARN;
        return 0;
    }
    return BH_EINVAL;
}

struct line {
    char p[BH_LOG_LINE_MAX];
    size_t n;
};

static void put(struct line *l, const char *s, size_t n)
{
    size_t room = sizeof(l->p) - 1 - l->n; /* keep one byte for '\n' */
    if (n > room)
        n = room;
    memcpy(l->p + l->n, s, n);
    l->n += n;
}

static void putc_(struct line *l, char c)
{
    put(l, &c, 1);
}

/* logfmt value: bare when safe, else "..." with \" \\ \n \t \xNN escapes */
static void put_value(struct line *l, const char *v)
{
    if (!v)
        v = "(null)";
    bool bare = *v != '\0';
    for (const unsigned char *c = (const unsigned char *)v; *c && bare; c++)
        if (*c <= ' ' || *c == '"' || *c == '=' || *c == '\\' || *c >= 0x7f)
            bare = false;
    if (bare) {
        put(l, v, strlen(v));
        return;
    }
    putc_(l, '"');
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        if (*c == '"' || *c == '\\') {
            putc_(l, '\\');
            putc_(l, (char)*c);
        } else if (*c == '\n') {
            put(l, "\\n", 2);
        } else if (*c == '\t') {
            put(l, "\\t", 2);
        } else if (*c < ' ' || *c == 0x7f) {
            char hex[8];
            int k = snprintf(hex, sizeof(hex), "\\x%02x", *c);
            put(l, hex, (size_t)k);
        } else {
            putc_(l, (char)*c);
        }
    }
    putc_(l, '"');
}

/* The spec was assembled from the caller's literal format (which the
 * compiler checked against the arguments) and only holds flags, width,
 * precision, a length modifier and one conversion. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* Format one printf conversion (spec holds e.g. "%llu") taking its argument
 * from ap according to the length modifier. */
static void put_conv(struct line *l, const char *spec, char conv, const char *len, va_list *ap)
{
    char tmp[128];
    int k = 0;
    if (conv == 's') {
        put_value(l, va_arg(*ap, const char *));
        return;
    }
    if (strchr("di", conv)) {
        if (!strcmp(len, "ll"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, long long));
        else if (!strcmp(len, "l"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, long));
        else if (!strcmp(len, "z"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, ssize_t));
        else if (!strcmp(len, "j"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, intmax_t));
        else if (!strcmp(len, "t"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, ptrdiff_t));
        else
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, int));
    } else if (strchr("uxXo", conv)) {
        if (!strcmp(len, "ll"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, unsigned long long));
        else if (!strcmp(len, "l"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, unsigned long));
        else if (!strcmp(len, "z"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, size_t));
        else if (!strcmp(len, "j"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, uintmax_t));
        else if (!strcmp(len, "t"))
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, size_t));
        else
            k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, unsigned));
    } else if (strchr("fgeFGE", conv)) {
        k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, double));
    } else if (conv == 'c') {
        k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, int));
    } else if (conv == 'p') {
        k = snprintf(tmp, sizeof(tmp), spec, va_arg(*ap, void *));
    }
    if (k > 0)
        put(l, tmp, (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1);
}
#pragma GCC diagnostic pop

static void format_kv(struct line *l, const char *fmt, va_list *ap)
{
    for (const char *f = fmt; *f;) {
        if (*f != '%') {
            putc_(l, *f++);
            continue;
        }
        if (f[1] == '%') {
            putc_(l, '%');
            f += 2;
            continue;
        }
        /* collect "%[flags][width][.prec][len]conv" */
        char spec[32];
        size_t sn = 0;
        spec[sn++] = *f++;
        while (*f && strchr("-+ #0123456789.", *f) && sn < sizeof(spec) - 4)
            spec[sn++] = *f++;
        char len[3] = {0};
        size_t ln = 0;
        while (*f && strchr("hlzjt", *f) && ln < 2 && sn < sizeof(spec) - 2) {
            len[ln++] = *f;
            spec[sn++] = *f++;
        }
        if (!*f)
            break;
        char conv = *f++;
        spec[sn++] = conv;
        spec[sn] = '\0';
        put_conv(l, spec, conv, len, ap);
    }
}

void bh_log(int level, const char *msg, const char *kvfmt, ...)
{
    if (level < atomic_load(&g_level))
        return;
    if (level < BH_LOG_DEBUG || level > BH_LOG_ERROR)
        level = BH_LOG_ERROR;
    struct line l;
    l.n = 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char head[64];
    size_t hn = strftime(head, sizeof(head), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    put(&l, head, hn);
    int k = snprintf(head, sizeof(head), ".%03ldZ level=%s msg=", ts.tv_nsec / 1000000,
                     level_names[level]);
    put(&l, head, (size_t)k);
    put_value(&l, msg);
    if (kvfmt && *kvfmt) {
        putc_(&l, ' ');
        while (*kvfmt == ' ') /* lists made by macros start each pair with one */
            kvfmt++;
        va_list ap;
        va_start(ap, kvfmt);
        format_kv(&l, kvfmt, &ap);
        va_end(ap);
    }
    l.p[l.n++] = '\n';
    ssize_t w = write(STDERR_FILENO, l.p, l.n);
    (void)w;
}
