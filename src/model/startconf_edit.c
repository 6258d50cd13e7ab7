/*
 * startconf_edit.c - write a group's start.conf back as the admin wrote it.
 * Owner: the start.conf module (startconf.c holds the key tables).
 *
 * A group keeps the text of the start.conf it was given beside the parsed
 * form (config.text).  When the parsed form changes through the API, the
 * file is not rewritten from scratch, which would lose every comment and
 * every commented-out alternative; instead the kept text is edited:
 *
 *   - a key whose value changed: only the value on its line is replaced;
 *     the key's spelling, the blanks around '=' and a trailing "# comment"
 *     stay as they were;
 *   - a key that is gone: its line is removed;
 *   - a new key: a line after the section's last key, indented like it;
 *   - a section that is gone ([Partition] or [OS] past the new count, or
 *     [LINBO]): its lines, header to the next header, are removed;
 *   - a new section: written canonically, [Partition] after the last
 *     partition, [OS] at the end, [LINBO] before the first section;
 *   - everything else, byte for byte, line ends included (a CRLF file stays
 *     CRLF; added lines take the file's first line end).
 *
 * Sections are matched by position (partition 2 is partition 2).  The
 * result is parsed again and must give exactly the JSON asked for; if it
 * does not (a value no in-place edit can express), the canonical rendering
 * is returned instead, so the edit can never change what the file means.
 */
#include "model/startconf_int.h"

#include "core/buf.h"
#include "core/ini.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct line {
    size_t start; /* offset in text */
    size_t clen;  /* content, without "\n" or "\r\n" */
    size_t len;   /* with the line end */
};

struct ed {
    const char *text;
    size_t len;
    struct line *ln; /* line number L is ln[L - 1] */
    size_t n;
    unsigned char *drop;  /* per line */
    char **repl;          /* per line: new content (malloc'd) or NULL */
    struct bh_buf *after; /* n + 1: inserted after line k; k = 0 is the start */
    const char *eol;
    int *hdr; /* header line numbers, ascending */
    size_t nhdr;
};

static int split(struct ed *e)
{
    size_t cap = 1;
    for (size_t i = 0; i < e->len; i++)
        cap += e->text[i] == '\n';
    e->ln = calloc(cap, sizeof(*e->ln));
    e->drop = calloc(cap, 1);
    e->repl = calloc(cap, sizeof(*e->repl));
    e->after = calloc(cap + 1, sizeof(*e->after));
    e->hdr = calloc(cap, sizeof(*e->hdr));
    if (!e->ln || !e->drop || !e->repl || !e->after || !e->hdr)
        return BH_ENOMEM;
    for (size_t i = 0; i <= cap; i++)
        bh_buf_init(&e->after[i], BH_STARTCONF_MAX);
    e->eol = "\n";
    for (size_t pos = 0; pos < e->len; e->n++) {
        const char *nl = memchr(e->text + pos, '\n', e->len - pos);
        size_t end = nl ? (size_t)(nl - e->text) : e->len;
        struct line *l = &e->ln[e->n];
        l->start = pos;
        l->clen = end - pos;
        l->len = (nl ? end + 1 : end) - pos;
        if (nl && l->clen && e->text[end - 1] == '\r') {
            l->clen--;
            if (e->n == 0)
                e->eol = "\r\n";
        }
        pos = nl ? end + 1 : end;
    }
    return 0;
}

static void ed_free(struct ed *e)
{
    for (size_t i = 0; e->repl && i < e->n; i++)
        free(e->repl[i]);
    for (size_t i = 0; e->after && i <= e->n; i++)
        bh_buf_free(&e->after[i]);
    free(e->ln);
    free(e->drop);
    free(e->repl);
    free(e->after);
    free(e->hdr);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int line_of(const json_t *m, const char *key)
{
    return (int)json_integer_value(json_object_get(m, key));
}

/* The last line of the section whose header is at line h. */
static int span_end(const struct ed *e, int h)
{
    for (size_t i = 0; i < e->nhdr; i++)
        if (e->hdr[i] > h)
            return e->hdr[i] - 1;
    return (int)e->n;
}

/* The line of the section's last key (its header if it has none). */
static int last_key(const json_t *m)
{
    int last = line_of(m, "@");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        if (json_is_integer(v) && json_integer_value(v) > last)
            last = (int)json_integer_value(v);
    }
    json_object_foreach(json_object_get(m, "extra"), k, v)
    {
        if (json_integer_value(v) > last)
            last = (int)json_integer_value(v);
    }
    return last;
}

/* Append s's '\n'-separated lines, each after indent and ending in eol. */
static int add_lines(struct bh_buf *dst, const char *s, size_t n, const char *indent, size_t ilen,
                     const char *eol)
{
    int rc = 0;
    for (size_t pos = 0; !rc && pos < n;) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) : n;
        rc = bh_buf_add(dst, indent, ilen);
        if (!rc)
            rc = bh_buf_add(dst, s + pos, end - pos);
        if (!rc)
            rc = bh_buf_adds(dst, eol);
        pos = end + 1;
    }
    return rc;
}

/* Replace the value on line L (1-based) by v, keeping the rest of it. */
static int replace_value(struct ed *e, int L, int sec, const char *name, bool extra,
                         const json_t *v)
{
    const struct line *l = &e->ln[L - 1];
    const char *c = e->text + l->start;
    const char *eq = memchr(c, '=', l->clen);
    struct bh_buf canon, out;
    if (!eq)
        return BH_EINVAL;
    size_t q = (size_t)(eq - c) + 1, vs = q, ve, cs = l->clen;
    while (vs < l->clen && (c[vs] == ' ' || c[vs] == '\t'))
        vs++;
    bool quoted = false; /* where an inline comment starts: as core/ini.c reads it */
    for (size_t j = q; j < l->clen; j++) {
        if (c[j] == '"')
            quoted = !quoted;
        else if (!quoted && c[j] == '#' && j > q && (c[j - 1] == ' ' || c[j - 1] == '\t')) {
            cs = j;
            break;
        }
    }
    ve = cs;
    while (ve > vs && (c[ve - 1] == ' ' || c[ve - 1] == '\t'))
        ve--;
    bh_buf_init(&canon, BH_INI_LINE_MAX);
    bh_buf_init(&out, BH_INI_LINE_MAX);
    int rc = bh__startconf_key_line(&canon, sec, name, extra, v);
    if (!rc) {
        /* canonical: "Key = value\n", "Key = \"value\"\n", "Key =#v\"x\n" or "Key =\n" */
        const char *after = (const char *)memchr(canon.p, '=', canon.len) + 1;
        size_t alen = canon.len - (size_t)(after - canon.p) - 1;
        bool tight = alen && after[0] != ' ';
        if (!tight && alen) {
            after++;
            alen--;
        }
        size_t keep = tight || vs == ve ? q : vs; /* an empty value: the canonical blank */
        rc = bh_buf_add(&out, c, keep);
        if (!rc && keep == q && !tight && alen)
            rc = bh_buf_adds(&out, " ");
        if (!rc)
            rc = bh_buf_add(&out, after, alen);
        if (!rc && ve < l->clen) {
            size_t from = alen ? ve : cs; /* an emptied value drops its blanks */
            if (c[from] == '#' && alen)
                rc = bh_buf_adds(&out, " ");
            if (!rc)
                rc = bh_buf_add(&out, c + from, l->clen - from);
        }
        while (!rc && out.len > 0 && (out.p[out.len - 1] == ' ' || out.p[out.len - 1] == '\t') &&
               ve == l->clen)
            out.len--;
        if (!rc)
            rc = bh_buf_add(&out, "", 0);
    }
    if (!rc) {
        e->repl[L - 1] = bh_buf_steal(&out);
        if (!e->repl[L - 1])
            rc = BH_ENOMEM;
    }
    bh_buf_free(&canon);
    bh_buf_free(&out);
    return rc;
}

/* New keys go after the section's last key line, indented as that line. */
static int add_key(struct ed *e, const json_t *m, int sec, const char *name, bool extra,
                   const json_t *v)
{
    int at = last_key(m);
    const struct line *l = &e->ln[at - 1];
    size_t ind = 0;
    if (at != line_of(m, "@"))
        while (ind < l->clen && (e->text[l->start + ind] == ' ' || e->text[l->start + ind] == '\t'))
            ind++;
    struct bh_buf one;
    bh_buf_init(&one, BH_INI_LINE_MAX);
    int rc = bh__startconf_key_line(&one, sec, name, extra, v);
    if (!rc)
        rc = add_lines(&e->after[at], one.p, one.len, e->text + l->start, ind, e->eol);
    bh_buf_free(&one);
    return rc;
}

/* Known keys (extra = false) or the unknown ones of "extra" of a matched
 * section: o as parsed from the text, n as wanted, m the section's map. */
static int edit_keys(struct ed *e, int sec, const json_t *o, const json_t *n, const json_t *m,
                     bool extra)
{
    const json_t *lm = extra ? json_object_get(m, "extra") : m; /* the keys' lines */
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach((json_t *)n, k, v)
    {
        if (!extra && strcmp(k, "extra") == 0)
            continue;
        const json_t *was = json_object_get(o, k);
        int L = line_of(lm, k);
        if (was && (L < 1 || (size_t)L > e->n))
            return BH_EINVAL; /* can not happen: the map is the text's */
        if (!was)
            rc = add_key(e, m, sec, k, extra, v);
        else if (!json_equal(was, v))
            rc = replace_value(e, L, sec, k, extra, v);
        if (rc)
            return rc;
    }
    json_object_foreach((json_t *)o, k, v)
    {
        int L = line_of(lm, k);
        if ((extra || strcmp(k, "extra") != 0) && !json_object_get(n, k)) {
            if (L < 1 || (size_t)L > e->n)
                return BH_EINVAL;
            e->drop[L - 1] = 1;
        }
    }
    if (!extra)
        rc = edit_keys(e, sec, json_object_get(o, "extra"), json_object_get(n, "extra"), m, true);
    return rc;
}

static void drop_section(struct ed *e, const json_t *m)
{
    int h = line_of(m, "@");
    for (int L = h, end = span_end(e, h); L <= end; L++)
        e->drop[L - 1] = 1;
}

/* A new section at `after` line k: before a header it ends with a blank
 * line; at the end of the file it starts with one. */
static int add_section(struct ed *e, int sec, const json_t *obj, size_t k)
{
    struct bh_buf one;
    bh_buf_init(&one, BH_STARTCONF_MAX);
    int rc = bh__startconf_section(&one, sec, obj);
    struct bh_buf *dst = &e->after[k];
    if (!rc && k == e->n && e->n > 0 && (dst->len > 0 || e->ln[e->n - 1].clen > 0))
        rc = bh_buf_adds(dst, e->eol);
    if (!rc)
        rc = add_lines(dst, one.p, one.len, "", 0, e->eol);
    if (!rc && k < e->n)
        rc = bh_buf_adds(dst, e->eol);
    bh_buf_free(&one);
    return rc;
}

static int collect_headers(struct ed *e, const json_t *map)
{
    for (int s = 0; s < BH__SC_COUNT; s++) {
        const json_t *m = json_object_get(map, bh__startconf_json_name(s));
        if (s == BH__SC_LINBO) {
            if (m)
                e->hdr[e->nhdr++] = line_of(m, "@");
            continue;
        }
        for (size_t i = 0; i < json_array_size(m); i++)
            e->hdr[e->nhdr++] = line_of(json_array_get(m, i), "@");
    }
    qsort(e->hdr, e->nhdr, sizeof(*e->hdr), cmp_int);
    return 0;
}

static int plan(struct ed *e, const json_t *conf, const json_t *orig, const json_t *map)
{
    int rc = collect_headers(e, map);
    const json_t *ol = json_object_get(orig, "linbo"), *nl = json_object_get(conf, "linbo");
    const json_t *ml = json_object_get(map, "linbo");
    if (ol && nl)
        rc = edit_keys(e, BH__SC_LINBO, ol, nl, ml, false);
    else if (ol)
        drop_section(e, ml);
    else if (nl)
        rc = add_section(e, BH__SC_LINBO, nl, e->nhdr ? (size_t)e->hdr[0] - 1 : e->n);
    for (int s = BH__SC_PART; !rc && s <= BH__SC_OS; s++) {
        const char *name = bh__startconf_json_name(s);
        const json_t *oa = json_object_get(orig, name), *na = json_object_get(conf, name);
        const json_t *ma = json_object_get(map, name);
        size_t no = json_array_size(oa), nn = json_array_size(na);
        /* new partitions after the last one, else before the first [OS] */
        size_t at = e->n;
        if (s == BH__SC_PART && no)
            at = (size_t)span_end(e, line_of(json_array_get(ma, no - 1), "@"));
        else if (s == BH__SC_PART && json_array_size(json_object_get(map, "os")))
            at = (size_t)line_of(json_array_get(json_object_get(map, "os"), 0), "@") - 1;
        for (size_t i = 0; !rc && i < no && i < nn; i++)
            rc = edit_keys(e, s, json_array_get(oa, i), json_array_get(na, i),
                           json_array_get(ma, i), false);
        for (size_t i = nn; i < no; i++)
            drop_section(e, json_array_get(ma, i));
        for (size_t i = no; !rc && i < nn; i++)
            rc = add_section(e, s, json_array_get(na, i), at);
    }
    return rc;
}

static int assemble(const struct ed *e, struct bh_buf *out)
{
    int rc = bh_buf_add(out, e->after[0].p, e->after[0].len);
    for (size_t i = 0; !rc && i < e->n; i++) {
        const struct line *l = &e->ln[i];
        if (!e->drop[i] && e->repl[i]) {
            rc = bh_buf_adds(out, e->repl[i]);
            if (!rc)
                rc = bh_buf_add(out, e->text + l->start + l->clen, l->len - l->clen);
        } else if (!e->drop[i]) {
            rc = bh_buf_add(out, e->text + l->start, l->len);
        }
        if (!rc && e->after[i + 1].len && out->len && out->p[out->len - 1] != '\n')
            rc = bh_buf_adds(out, e->eol); /* the last line had no line end */
        if (!rc)
            rc = bh_buf_add(out, e->after[i + 1].p, e->after[i + 1].len);
    }
    if (!rc)
        rc = bh_buf_add(out, "", 0);
    return rc;
}

/* What parse gives back for conf: no "text", both arrays, no empty "extra". */
static json_t *expected(const json_t *conf)
{
    json_t *x = json_deep_copy(conf);
    if (!x)
        return NULL;
    json_object_del(x, "text");
    for (int s = BH__SC_PART; s <= BH__SC_OS; s++)
        if (!json_object_get(x, bh__startconf_json_name(s)))
            json_object_set_new(x, bh__startconf_json_name(s), json_array());
    json_t *l = json_object_get(x, "linbo");
    if (l && json_object_size(json_object_get(l, "extra")) == 0)
        json_object_del(l, "extra");
    for (int s = BH__SC_PART; s <= BH__SC_OS; s++) {
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(x, bh__startconf_json_name(s)), i, o)
        {
            if (json_object_size(json_object_get(o, "extra")) == 0)
                json_object_del(o, "extra");
        }
    }
    return x;
}

char *bh__startconf_edit(const json_t *conf, const char *text, size_t len, struct bh_err *err)
{
    json_t *orig = NULL, *map = NULL, *want = NULL, *got = NULL;
    struct ed e = {.text = text, .len = len};
    struct bh_buf out;
    char *res = NULL;
    bh_buf_init(&out, BH_STARTCONF_MAX);
    if (bh__startconf_parse_map(text, len, &orig, &map, NULL) == 0 && split(&e) == 0 &&
        plan(&e, conf, orig, map) == 0 && assemble(&e, &out) == 0 && (want = expected(conf)) &&
        bh_startconf_parse(out.p, out.len, &got, NULL, NULL) == 0 && json_equal(want, got))
        res = bh_buf_steal(&out);
    ed_free(&e);
    bh_buf_free(&out);
    json_decref(orig);
    json_decref(map);
    json_decref(want);
    json_decref(got);
    return res ? res : bh__startconf_canonical(conf, err);
}
