/*
 * devcsv.c - see devcsv.h.  Values are checked by the same field rules as
 * a host written through the API (model/kinds.c), so an import refuses
 * exactly what a POST would.  Owned by the console's import (issue 10).
 */
#include "devcsv.h"

#include "core/str.h"
#include "model.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const names[BH_DEVCSV_FIELDS + 1] = {
    "",
    "room",
    "hostname",
    "group",
    "mac",
    "ip",
    "officeKey",
    "windowsKey",
    "dhcpOptions",
    "sophomorixRole",
    "lmnReserved10",
    "pxeFlag",
    "lmnReserved12",
    "lmnReserved13",
    "lmnReserved14",
    "sophomorixComment",
    "options",
};

const char *bh_devcsv_field_name(int col)
{
    return col >= 1 && col <= BH_DEVCSV_FIELDS ? names[col] : "";
}

/* ---- errors ---------------------------------------------------------------- */

__attribute__((format(printf, 4, 5))) static int add_error(struct bh_devcsv *d, int line, int col,
                                                           const char *fmt, ...)
{
    d->errors_total++;
    if (d->nerrors == BH_DEVCSV_ERRORS_MAX)
        return 0;
    struct bh_devcsv_error *e = &d->errors[d->nerrors++];
    e->line = line;
    e->column = col;
    bh_strlcpy(e->field, bh_devcsv_field_name(col), sizeof(e->field));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return 0;
}

/* the model's message without its "field 'x': " */
static const char *bare(const struct bh_err *e)
{
    const char *m = e->msg;
    if (!strncmp(m, "field '", 7)) {
        const char *c = strstr(m, "': ");
        if (c)
            return c + 3;
    }
    return m;
}

/* ---- one line ---------------------------------------------------------------- */

struct span {
    const char *p;
    size_t n;
};

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

static struct span trim(struct span s)
{
    while (s.n && blank(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && blank(s.p[s.n - 1]))
        s.n--;
    return s;
}

/* Check field col's text against a model field and copy it into out
 * (normalised when the model normalises it).  false after an error. */
static bool take(struct bh_devcsv *d, int line, int col, struct span v, enum bh_kind kind,
                 const char *fname, char *out, size_t cap)
{
    if (!bh_utf8_valid(v.p, v.n)) {
        add_error(d, line, col, "%s is not UTF-8 text", bh_devcsv_field_name(col));
        return false;
    }
    if (v.n >= cap) {
        add_error(d, line, col, "%s is longer than %zu bytes", bh_devcsv_field_name(col), cap - 1);
        return false;
    }
    json_t *j = json_stringn(v.p, v.n), *norm = NULL;
    if (!j) {
        add_error(d, line, col, "%s cannot be read (a NUL byte?)", bh_devcsv_field_name(col));
        return false;
    }
    struct bh_err e;
    bh_err_clear(&e);
    const struct bh_field *f = bh_kind_field(bh_kind_get(kind), fname);
    int rc = bh_model_check_value(f, j, &norm, &e);
    if (rc && strstr(bare(&e), json_string_value(j))) /* the model quotes the value */
        add_error(d, line, col, "%s: %s", bh_devcsv_field_name(col), bare(&e));
    else if (rc)
        add_error(d, line, col, "%s '%.*s': %s", bh_devcsv_field_name(col),
                  (int)(v.n > 64 ? 64 : v.n), v.p, bare(&e));
    else
        bh_strlcpy(out, norm ? json_string_value(norm) : json_string_value(j), cap);
    json_decref(j);
    json_decref(norm);
    return rc == 0;
}

static bool required(struct bh_devcsv *d, int line, int col, struct span v)
{
    if (v.n)
        return true;
    add_error(d, line, col, "%s is empty", bh_devcsv_field_name(col));
    return false;
}

static bool is(struct span v, const char *word)
{
    return v.n == strlen(word) && !strncasecmp(v.p, word, v.n);
}

/* A device line split into fields: check each one LINBO's way; a good
 * line becomes a row.  nf: fields on the line (at most BH_DEVCSV_FIELDS
 * kept; the caller checked the ones after). */
static void device(struct bh_devcsv *d, int line, const struct span *f, int nf)
{
    struct bh_devcsv_row r;
    memset(&r, 0, sizeof(r));
    r.line = line;
    size_t before = d->errors_total;
    struct span v;

    v = f[BH_DEVCSV_ROOM];
    if (required(d, line, BH_DEVCSV_ROOM, v))
        take(d, line, BH_DEVCSV_ROOM, v, BH_KIND_ROOM, "name", r.room, sizeof(r.room));
    v = f[BH_DEVCSV_HOSTNAME];
    if (required(d, line, BH_DEVCSV_HOSTNAME, v))
        take(d, line, BH_DEVCSV_HOSTNAME, v, BH_KIND_HOST, "name", r.hostname, sizeof(r.hostname));
    v = f[BH_DEVCSV_GROUP];
    bool nopxe = is(v, "nopxe");
    if (v.n && !nopxe)
        take(d, line, BH_DEVCSV_GROUP, v, BH_KIND_GROUP, "name", r.group, sizeof(r.group));
    v = f[BH_DEVCSV_MAC];
    if (required(d, line, BH_DEVCSV_MAC, v))
        take(d, line, BH_DEVCSV_MAC, v, BH_KIND_HOST, "mac", r.mac, sizeof(r.mac));
    v = f[BH_DEVCSV_IP];
    if (v.n && !is(v, "DHCP"))
        take(d, line, BH_DEVCSV_IP, v, BH_KIND_HOST, "ip", r.ip, sizeof(r.ip));

    v = nf > BH_DEVCSV_ROLE - 1 ? f[BH_DEVCSV_ROLE] : (struct span){"", 0};
    if (v.n) {
        char role[64] = "";
        if (v.n < sizeof(role))
            memcpy(role, v.p, v.n);
        if (v.n >= sizeof(role) || !bh_label_value_ok(role))
            add_error(d, line, BH_DEVCSV_ROLE,
                      "sophomorixRole '%.*s' must be at most 63 letters, digits, '.', '_' or "
                      "'-' (it becomes the label " BH_DEVCSV_ROLE_LABEL ")",
                      (int)(v.n > 64 ? 64 : v.n), v.p);
        else
            bh_strlcpy(r.role, role, sizeof(r.role));
    }
    v = nf > BH_DEVCSV_PXE - 1 ? f[BH_DEVCSV_PXE] : (struct span){"", 0};
    if (v.n == 1 && v.p[0] >= '0' && v.p[0] <= '9')
        r.pxe_flag = v.p[0] - '0';
    else if (v.n && !is(v, "ml"))
        add_error(d, line, BH_DEVCSV_PXE,
                  "pxeFlag '%.*s' is not a PXE flag: empty or 0 (no PXE), 1 (LINBO), 2 or 3 "
                  "(LINBO with opsi, opsi)",
                  (int)(v.n > 16 ? 16 : v.n), v.p);
    r.pxe = r.pxe_flag > 0 && !nopxe;
    v = nf > BH_DEVCSV_COMMENT - 1 ? f[BH_DEVCSV_COMMENT] : (struct span){"", 0};
    if (v.n)
        take(d, line, BH_DEVCSV_COMMENT, v, BH_KIND_HOST, "description", r.comment,
             sizeof(r.comment));

    static const int unkept[] = {6, 7, 8, 10, 12, 13, 14, 16};
    for (size_t i = 0; i < sizeof(unkept) / sizeof(unkept[0]); i++)
        if (unkept[i] <= nf && f[unkept[i]].n)
            d->unkept[unkept[i]]++;
    if (d->errors_total == before)
        d->rows[d->nrows++] = r;
}

/* One line (without its end).  *devices counts device lines. */
static int one_line(struct bh_devcsv *d, int line, const char *p, size_t n, size_t *devices)
{
    if (n > BH_DEVCSV_LINE_MAX)
        return add_error(d, line, 0, "the line is longer than %d bytes", BH_DEVCSV_LINE_MAX);
    if (memchr(p, '\0', n))
        return add_error(d, line, 0, "the line holds a NUL byte: devices.csv is text");
    size_t i = 0, j = 0;
    while (i < n && (blank(p[i]) || p[i] == ';'))
        i++;
    if (i == n) /* empty, or only separators */
        return 0;
    while (j < n && blank(p[j]))
        j++;
    if (p[j] == '#') { /* j < n: the line is not blank */
        d->comments++;
        return 0;
    }
    struct span f[BH_DEVCSV_FIELDS + 1];
    memset(f, 0, sizeof(f));
    int nf = 0;
    size_t start = 0;
    for (size_t k = 0; k <= n; k++) {
        if (k < n && p[k] != ';')
            continue;
        struct span s = trim((struct span){p + start, k - start});
        nf++;
        if (nf <= BH_DEVCSV_FIELDS)
            f[nf] = s;
        else if (s.n)
            return add_error(d, line, nf,
                             "field %d is not empty: devices.csv has %d fields (room;hostname;"
                             "group;mac;ip;...;options)",
                             nf, BH_DEVCSV_FIELDS);
        start = k + 1;
    }
    if (nf < BH_DEVCSV_MIN_FIELDS)
        return add_error(d, line, 0,
                         "the line has %d field%s; a device needs at least %d: "
                         "room;hostname;group;mac;ip",
                         nf, nf == 1 ? "" : "s", BH_DEVCSV_MIN_FIELDS);
    if (++*devices > BH_DEVCSV_ROWS_MAX)
        return BH_ETOOBIG;
    device(d, line, f, nf > BH_DEVCSV_FIELDS ? BH_DEVCSV_FIELDS : nf);
    return 0;
}

/* ---- the same value twice ------------------------------------------------------ */

struct seen {
    const char *key;
    int line;
};

static int seen_cmp(const void *a, const void *b)
{
    const struct seen *x = a, *y = b;
    int c = strcasecmp(x->key, y->key);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* rows whose value at off (a string of the row) repeats an earlier row's */
static int repeats(struct bh_devcsv *d, size_t off, int col, struct seen *v)
{
    size_t n = 0;
    for (size_t i = 0; i < d->nrows; i++) {
        const char *k = (const char *)&d->rows[i] + off;
        if (*k)
            v[n++] = (struct seen){k, d->rows[i].line};
    }
    qsort(v, n, sizeof(*v), seen_cmp);
    size_t run = 0; /* the first (lowest line) of the values equal to v[i] */
    for (size_t i = 1; i < n; i++) {
        if (strcasecmp(v[run].key, v[i].key))
            run = i;
        else
            add_error(d, v[i].line, col, "%s %s is on line %d already", bh_devcsv_field_name(col),
                      v[i].key, v[run].line);
    }
    return 0;
}

static int error_line_cmp(const void *a, const void *b)
{
    const struct bh_devcsv_error *x = a, *y = b;
    if (x->line != y->line)
        return (x->line > y->line) - (x->line < y->line);
    return (x->column > y->column) - (x->column < y->column);
}

/* ---- the file -------------------------------------------------------------------- */

void bh_devcsv_free(struct bh_devcsv *d)
{
    if (!d)
        return;
    free(d->rows);
    free(d->errors);
    memset(d, 0, sizeof(*d));
}

int bh_devcsv_parse(const char *text, size_t len, struct bh_devcsv *out, struct bh_err *err)
{
    struct bh_devcsv *d = out;
    memset(d, 0, sizeof(*d));
    /* at most one device per line: never more rows than lines */
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    size_t cap = lines < BH_DEVCSV_ROWS_MAX ? lines : BH_DEVCSV_ROWS_MAX;
    d->rows = calloc(cap, sizeof(*d->rows));
    d->errors = calloc(BH_DEVCSV_ERRORS_MAX, sizeof(*d->errors));
    if (!d->rows || !d->errors)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    size_t pos = 0, devices = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) /* a UTF-8 byte order mark */
        pos = 3;
    for (int line = 1; pos < len; line++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
        if (n && text[pos + n - 1] == '\r')
            n--;
        if (one_line(d, line, text + pos, n, &devices) == BH_ETOOBIG)
            return bh_err_set(err, BH_ETOOBIG, NULL,
                              "devices.csv has more than %d devices; split it", BH_DEVCSV_ROWS_MAX);
        pos = end + 1;
    }
    struct seen *v = calloc(d->nrows ? d->nrows : 1, sizeof(*v));
    if (!v)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    repeats(d, offsetof(struct bh_devcsv_row, mac), BH_DEVCSV_MAC, v);
    repeats(d, offsetof(struct bh_devcsv_row, hostname), BH_DEVCSV_HOSTNAME, v);
    repeats(d, offsetof(struct bh_devcsv_row, ip), BH_DEVCSV_IP, v);
    free(v);
    if (!d->nerrors)
        return 0;
    qsort(d->errors, d->nerrors, sizeof(*d->errors), error_line_cmp);
    const struct bh_devcsv_error *e = &d->errors[0];
    char where[BH_ERR_FIELD_MAX];
    snprintf(where, sizeof(where), "devices.csv:%d:%d", e->line, e->column);
    return bh_err_set(err, BH_EINVAL, where, "line %d: %s", e->line, e->msg);
}

/* ---- rows as hosts ------------------------------------------------------------------- */

static int set_str(json_t *o, const char *k, const char *v)
{
    return json_object_set_new(o, k, *v ? json_string(v) : json_null());
}

json_t *bh_devcsv_host_new(const struct bh_devcsv_row *r)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s}", "mac", r->mac, "name", r->hostname, "room",
                            r->room, "state", "known");
    if (!doc)
        return NULL;
    int rc = 0;
    if (r->group[0])
        rc |= json_object_set_new(doc, "group", json_string(r->group));
    if (r->ip[0])
        rc |= json_object_set_new(doc, "ip", json_string(r->ip));
    if (r->comment[0])
        rc |= json_object_set_new(doc, "description", json_string(r->comment));
    if (r->role[0])
        rc |= json_object_set_new(doc, "labels", json_pack("{s:s}", BH_DEVCSV_ROLE_LABEL, r->role));
    if (!r->pxe)
        rc |= json_object_set_new(doc, "boot", json_pack("{s:s}", "action", "local"));
    if (rc) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

json_t *bh_devcsv_host_merge(const struct bh_devcsv_row *r, const json_t *cur)
{
    json_t *doc = json_object();
    json_t *labels = json_copy(json_object_get(cur, "labels"));
    json_t *boot = json_copy(json_object_get(cur, "boot"));
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    if (!json_is_object(boot)) {
        json_decref(boot);
        boot = json_object();
    }
    if (!doc || !labels || !boot)
        goto fail;
    int rc = set_str(doc, "name", r->hostname) | set_str(doc, "room", r->room) |
             set_str(doc, "group", r->group) | set_str(doc, "ip", r->ip);
    if (r->comment[0])
        rc |= set_str(doc, "description", r->comment);
    if (r->role[0])
        rc |= json_object_set_new(labels, BH_DEVCSV_ROLE_LABEL, json_string(r->role));
    else
        json_object_del(labels, BH_DEVCSV_ROLE_LABEL);
    const char *action = json_string_value(json_object_get(boot, "action"));
    if (!r->pxe)
        rc |= json_object_set_new(boot, "action", json_string("local"));
    else if (action && !strcmp(action, "local"))
        json_object_del(boot, "action");
    rc |= json_object_set(doc, "labels", labels);
    rc |= json_object_set(doc, "boot", json_object_size(boot) ? boot : json_null());
    const char *state = json_string_value(json_object_get(cur, "state"));
    if (state && !strcmp(state, "new"))
        rc |= set_str(doc, "state", "known");
    if (rc)
        goto fail;
    json_decref(labels);
    json_decref(boot);
    return doc;
fail:
    json_decref(doc);
    json_decref(labels);
    json_decref(boot);
    return NULL;
}
