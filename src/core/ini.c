#include "ini.h"

#include "buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int syntax(struct bh_err *err, const char *fname, int line, const char *what)
{
    char where[BH_ERR_FIELD_MAX];
    snprintf(where, sizeof(where), "%s:%d", fname, line);
    return bh_err_set(err, BH_EINVAL, where, "%s:%d: %s", fname, line, what);
}

/* Strip an inline comment: '#' preceded by whitespace, outside quotes. */
static struct bh_slice strip_inline_comment(struct bh_slice v, bool semicolon)
{
    bool quoted = false;
    for (size_t i = 0; i < v.n; i++) {
        if (v.p[i] == '"')
            quoted = !quoted;
        else if (!quoted && (v.p[i] == '#' || (semicolon && v.p[i] == ';')) && i > 0 &&
                 (v.p[i - 1] == ' ' || v.p[i - 1] == '\t'))
            return (struct bh_slice){v.p, i};
    }
    return v;
}

int bh_ini_parse(const char *text, size_t len, const char *fname, unsigned flags,
                 const struct bh_ini_cb *cb, void *ud, struct bh_err *err)
{
    int lineno = 0;
    size_t pos = 0;
    char key[BH_INI_NAME_MAX];
    char val[BH_INI_LINE_MAX + 1];

    if (!fname)
        fname = "<input>";
    /* a UTF-8 byte order mark is common in files edited on Windows */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len) {
        lineno++;
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        struct bh_slice ln = {text + pos, end - pos};
        pos = end < len ? end + 1 : end;
        if (memchr(ln.p, '\0', ln.n))
            return syntax(err, fname, lineno, "NUL byte in line");
        if (ln.n > BH_INI_LINE_MAX)
            return syntax(err, fname, lineno, "line too long");
        ln = bh_slice_trim(ln);
        if (ln.n == 0 || ln.p[0] == '#' || ln.p[0] == ';')
            continue;
        if (ln.p[0] == '[') {
            /* "[OS]", also "[OS]   # comment" as LINBO files write it */
            const char *close = memchr(ln.p, ']', ln.n);
            if (!close)
                return syntax(err, fname, lineno, "section header without closing ']'");
            struct bh_slice rest = {close + 1, ln.n - (size_t)(close + 1 - ln.p)};
            rest = bh_slice_trim(rest);
            if (rest.n && rest.p[0] != '#' && rest.p[0] != ';')
                return syntax(err, fname, lineno, "unexpected text after section header");
            ln.n = (size_t)(close + 1 - ln.p);
            struct bh_slice name = bh_slice_trim((struct bh_slice){ln.p + 1, ln.n - 2});
            if (name.n == 0 || name.n >= sizeof(key))
                return syntax(err, fname, lineno, "empty or over-long section name");
            memcpy(key, name.p, name.n);
            key[name.n] = '\0';
            int rc = cb->section ? cb->section(ud, key, lineno, err) : 0;
            if (rc)
                return rc;
            continue;
        }
        const char *eq = memchr(ln.p, '=', ln.n);
        if (!eq)
            return syntax(err, fname, lineno, "expected 'key = value'");
        struct bh_slice k = bh_slice_trim((struct bh_slice){ln.p, (size_t)(eq - ln.p)});
        struct bh_slice v = {eq + 1, ln.n - (size_t)(eq - ln.p) - 1};
        if (flags & BH_INI_INLINE_COMMENTS)
            v = strip_inline_comment(v, flags & BH_INI_INLINE_SEMICOLON);
        v = bh_slice_trim(v);
        if (k.n == 0)
            return syntax(err, fname, lineno, "missing key before '='");
        if (k.n >= sizeof(key))
            return syntax(err, fname, lineno, "key too long");
        for (size_t i = 0; i < k.n; i++) {
            unsigned char c = (unsigned char)k.p[i];
            if (c < 0x21 || c == 0x7f || c == '[' || c == ']')
                return syntax(err, fname, lineno, "invalid character in key");
        }
        if (v.n && v.p[0] == '"') {
            if (v.n < 2 || v.p[v.n - 1] != '"')
                return syntax(err, fname, lineno, "unterminated quoted value");
            v.p++;
            v.n -= 2;
        }
        memcpy(key, k.p, k.n);
        key[k.n] = '\0';
        memcpy(val, v.p, v.n);
        val[v.n] = '\0';
        int rc = cb->kv ? cb->kv(ud, key, val, lineno, err) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

int bh_read_file(const char *path, size_t max, char **out, size_t *len, struct bh_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return bh_err_set(err, e == ENOENT ? BH_ENOTFOUND : BH_ESYS, path, "%s: %s", path,
                          strerror(e));
    }
    struct bh_buf b;
    bh_buf_init(&b, max);
    char tmp[16384];
    for (;;) {
        ssize_t r = read(fd, tmp, sizeof(tmp));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            bh_buf_free(&b);
            return bh_err_set(err, BH_ESYS, path, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        int rc = bh_buf_add(&b, tmp, (size_t)r);
        if (rc) {
            close(fd);
            bh_buf_free(&b);
            return bh_err_set(err, rc, path, "%s: larger than %zu bytes", path, max);
        }
    }
    close(fd);
    *len = b.len;
    *out = bh_buf_steal(&b);
    if (!*out)
        return bh_err_set(err, BH_ENOMEM, path, "out of memory");
    return 0;
}
