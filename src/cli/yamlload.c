/*
 * yamlload.c - YAML -> JSON with positions, on top of libyaml's event API.
 *
 * One pass over the events.  Open collections live on a fixed stack of
 * BH_YAML_MAX_DEPTH frames, so nesting is bounded before anything is built.
 * Every node read from the text has an entry in the position map: its parent
 * entry, its key or index in that parent, and its start mark.  The map is a
 * tree stored as one array, sorted by (parent, segment) at the end so that a
 * path is resolved one segment at a time with bsearch.  Memory stays linear in
 * the input however long the paths get.
 *
 * Aliases are expanded with json_deep_copy.  Each anchor remembers how many
 * nodes, scalar/key bytes and nesting levels its value has, so an alias is
 * refused *before* copying if it would push the document over a cap.
 * Positions are not recorded inside an expanded alias: lookups there fall
 * back to the alias itself, which is where the user should look anyway.
 */
#include "cli/yamlload.h"

#include "core/buf.h"
#include "core/str.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Scalar and key bytes after alias expansion.  The input is capped at
 * BH_YAML_MAX_BYTES; aliases may repeat content, but only this much. */
#define YAML_MAX_EXPANDED_BYTES (4 * (size_t)BH_YAML_MAX_BYTES)
#define YAML_TAG_PREFIX         "tag:yaml.org,2002:"
#define NO_PARENT               UINT32_MAX
#define DIGITS                  "0123456789"
#define IDENT_CHARS             DIGITS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-"
#define QUOTE_MAX               60 /* bytes of a key/value quoted in a message */

enum seg_kind { SEG_INDEX, SEG_KEY };

struct pos_ent {
    uint32_t id;     /* order of recording; the root is 0 */
    uint32_t parent; /* id of the parent, NO_PARENT for the root */
    unsigned kind;   /* enum seg_kind */
    size_t a;        /* SEG_INDEX: index; SEG_KEY: offset of key in keys */
    size_t klen;     /* SEG_KEY: key length */
    const char *key; /* SEG_KEY: set once keys stops moving */
    int line, col;   /* 1-based */
};

struct bh_yaml_pos {
    struct pos_ent *e; /* sorted by (parent, kind, index or key) once done */
    size_t n, cap;
    struct bh_buf keys; /* all key bytes, back to back */
    int root_line, root_col;
};

/* An open sequence or mapping. */
struct frame {
    json_t *v;
    char *anchor; /* owned; registered when the collection closes */
    char *key;    /* mappings: owned pending key, NULL when none */
    size_t klen;
    size_t nodes0, bytes0; /* ctx counters when this collection opened */
    size_t count;          /* sequences: index of the next item */
    uint32_t pid;          /* position entry of this collection */
    int height;            /* tallest child collection */
    int is_map;
};

struct ctx {
    const char *fname, *text;
    size_t len;
    struct bh_err *err;
    struct frame st[BH_YAML_MAX_DEPTH];
    int depth, docs;
    size_t nodes, bytes;
    json_t *root;
    json_t *anchors; /* name -> [value, nodes, bytes, height] */
    struct bh_yaml_pos *pos;
    locale_t cloc;         /* "C" numeric locale for strtod_l */
    char q[QUOTE_MAX + 4]; /* quote()'s output */
};

enum tag { TAG_NONE, TAG_BARE, TAG_STR, TAG_INT, TAG_BOOL, TAG_NULL, TAG_FLOAT, TAG_MAP, TAG_SEQ };

__attribute__((format(printf, 5, 6))) static int fail(struct ctx *c, int code, size_t line,
                                                      size_t col, const char *fmt, ...)
{
    char loc[BH_ERR_FIELD_MAX], what[BH_ERR_MSG_MAX];
    snprintf(loc, sizeof(loc), "%s:%zu:%zu", c->fname, line, col);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return bh_err_set(c->err, code, loc, "%s: %s", loc, what);
}

#define FAIL_AT(c, code, m, ...) fail((c), (code), (m).line + 1, (m).column + 1, __VA_ARGS__)

static int nomem(struct ctx *c)
{
    return bh_err_set(c->err, BH_ENOMEM, NULL, "out of memory");
}

/* True when the next node is the key of an entry of the open mapping. */
static int at_key(const struct ctx *c)
{
    return c->depth > 0 && c->st[c->depth - 1].is_map && !c->st[c->depth - 1].key;
}

/* Copy at most QUOTE_MAX bytes of s for an error message, cut on a UTF-8
 * boundary, with control bytes shown as '?' so a message stays one line. */
static const char *quote(struct ctx *c, const char *s, size_t n)
{
    char *dst = c->q;
    size_t i = 0, lim = n < QUOTE_MAX ? n : QUOTE_MAX;
    if (lim < n)
        while (lim > 0 && ((unsigned char)s[lim] & 0xC0) == 0x80)
            lim--;
    for (; i < lim; i++)
        dst[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (lim < n)
        for (int k = 0; k < 3; k++)
            dst[i++] = '.';
    dst[i] = '\0';
    return dst;
}

/* ---- position map ---- */

static int pos_record(struct ctx *c, yaml_mark_t m, uint32_t *id)
{
    struct bh_yaml_pos *p = c->pos;
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 64;
        struct pos_ent *ne = realloc(p->e, ncap * sizeof(*ne));
        if (!ne)
            return nomem(c);
        p->e = ne;
        p->cap = ncap;
    }
    struct pos_ent *e = &p->e[p->n];
    memset(e, 0, sizeof(*e));
    e->id = (uint32_t)p->n;
    e->line = (int)m.line + 1;
    e->col = (int)m.column + 1;
    e->parent = NO_PARENT;
    if (c->depth > 0) {
        struct frame *f = &c->st[c->depth - 1];
        e->parent = f->pid;
        e->kind = f->is_map ? SEG_KEY : SEG_INDEX;
        e->a = f->count;
        if (f->is_map) {
            e->a = p->keys.len;
            e->klen = f->klen;
            int rc = bh_buf_add(&p->keys, f->key, f->klen);
            if (rc)
                return FAIL_AT(c, rc, m, "keys exceed %zu bytes in total", p->keys.max);
        }
    } else {
        p->root_line = e->line;
        p->root_col = e->col;
    }
    *id = e->id;
    p->n++;
    return 0;
}

static int ent_cmp(const void *va, const void *vb)
{
    const struct pos_ent *a = va, *b = vb;
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->kind == SEG_INDEX)
        return a->a < b->a ? -1 : a->a > b->a;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int r = n ? memcmp(a->key, b->key, n) : 0;
    if (r)
        return r;
    return a->klen < b->klen ? -1 : a->klen > b->klen;
}

static void pos_finish(struct bh_yaml_pos *p)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->e[i].kind == SEG_KEY)
            p->e[i].key = p->keys.p + p->e[i].a;
    if (p->n > 1)
        qsort(p->e, p->n, sizeof(*p->e), ent_cmp);
}

void bh_yaml_pos_free(struct bh_yaml_pos *pos)
{
    if (!pos)
        return;
    free(pos->e);
    bh_buf_free(&pos->keys);
    free(pos);
}

/* Read one path segment at *pp into q (key bytes unescaped into kbuf).
 * Returns 0 and advances *pp, or -1 if the text there is malformed. */
static int next_seg(const char **pp, int first, char *kbuf, struct pos_ent *q)
{
    const char *s = *pp;
    size_t n = 0;
    if (*s == '[' && s[1] == '"') {
        for (s += 2; *s && *s != '"'; s++) {
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\'))
                s++;
            kbuf[n++] = *s;
        }
        if (s[0] != '"' || s[1] != ']')
            return -1;
        s += 2;
        q->kind = SEG_KEY;
    } else if (*s == '[') {
        size_t v = 0;
        for (s++; *s >= '0' && *s <= '9'; s++, n++) {
            if (v > (SIZE_MAX - 9) / 10)
                return -1;
            v = v * 10 + (size_t)(*s - '0');
        }
        if (n == 0 || *s != ']')
            return -1;
        s++;
        q->kind = SEG_INDEX;
        q->a = v;
    } else {
        if (!first && *s++ != '.')
            return -1;
        if ((n = strspn(s, IDENT_CHARS)) == 0)
            return -1;
        memcpy(kbuf, s, n);
        s += n;
        q->kind = SEG_KEY;
    }
    q->key = kbuf;
    q->klen = q->kind == SEG_KEY ? n : 0;
    *pp = s;
    return 0;
}

int bh_yaml_pos_lookup(const struct bh_yaml_pos *pos, const char *path, int *line, int *col)
{
    if (!pos || !path || pos->n == 0)
        return BH_ENOTFOUND;
    int l = pos->root_line, cl = pos->root_col;
    uint32_t cur = 0;
    char *kbuf = malloc(strlen(path) + 1);
    for (const char *s = path; kbuf && *s;) {
        struct pos_ent q = {.parent = cur};
        if (next_seg(&s, s == path, kbuf, &q))
            break;
        const struct pos_ent *hit = bsearch(&q, pos->e, pos->n, sizeof(*pos->e), ent_cmp);
        if (!hit)
            break;
        cur = hit->id;
        l = hit->line;
        cl = hit->col;
    }
    free(kbuf);
    if (line)
        *line = l;
    if (col)
        *col = cl;
    return 0;
}

/* ---- scalars (YAML 1.2.2 section 10.3.2, core schema) ---- */

static int is_null_text(const char *s, size_t n)
{
    return n == 0 || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

static int bool_text(const char *s, int *b)
{
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
        return *b = 1, 1;
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
        return *b = 0, 1;
    return 0;
}

/* 1 if s has an integer form, with *range 0 if *v holds it and 1 if the
 * value does not fit in int64; 0 if s is not an integer at all. */
static int int_text(const char *s, size_t n, int64_t *v, int *range)
{
    const char *set = DIGITS;
    int base = 10;
    size_t i = n > 0 && (s[0] == '-' || s[0] == '+');
    if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        base = s[1] == 'o' ? 8 : 16;
        set = base == 8 ? "01234567" : DIGITS "abcdefABCDEF";
        i = 2;
    }
    if (i == n || strspn(s + i, set) != n - i)
        return 0;
    if (base == 10) {
        *range = bh_parse_i64n(s, n, INT64_MIN, INT64_MAX, v) != 0;
        return 1;
    }
    errno = 0; /* digits are checked above, so strtoull sees nothing else */
    unsigned long long u = strtoull(s + i, NULL, base);
    *range = errno == ERANGE || u > INT64_MAX;
    if (!*range)
        *v = (int64_t)u;
    return 1;
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static int float_text(const char *s)
{
    s += *s == '-' || *s == '+';
    size_t whole = strspn(s, DIGITS), frac = 0;
    s += whole;
    if (*s == '.') {
        frac = strspn(++s, DIGITS);
        s += frac;
    }
    if (whole == 0 && frac == 0)
        return 0;
    if (*s == 'e' || *s == 'E') {
        s += 1 + (s[1] == '-' || s[1] == '+');
        size_t exp = strspn(s, DIGITS);
        if (exp == 0)
            return 0;
        s += exp;
    }
    return *s == '\0';
}

static int inf_nan_text(const char *s)
{
    const char *t = (*s == '-' || *s == '+') ? s + 1 : s;
    return !strcmp(t, ".inf") || !strcmp(t, ".Inf") || !strcmp(t, ".INF") || !strcmp(s, ".nan") ||
           !strcmp(s, ".NaN") || !strcmp(s, ".NAN");
}

static const char *const tag_names[] = {
    [TAG_STR] = "str",     [TAG_INT] = "int", [TAG_BOOL] = "bool", [TAG_NULL] = "null",
    [TAG_FLOAT] = "float", [TAG_MAP] = "map", [TAG_SEQ] = "seq",
};

static int parse_tag(struct ctx *c, const yaml_char_t *ytag, yaml_mark_t m, enum tag *t)
{
    const char *tag = (const char *)ytag;
    size_t plen = strlen(YAML_TAG_PREFIX);
    int core = tag && !strncmp(tag, YAML_TAG_PREFIX, plen);
    *t = TAG_NONE;
    if (!tag)
        return 0;
    if (!strcmp(tag, "!"))
        return *t = TAG_BARE, 0; /* non-specific: str, map or seq */
    for (int i = TAG_STR; core && i <= TAG_SEQ; i++)
        if (!strcmp(tag + plen, tag_names[i]))
            return *t = (enum tag)i, 0;
    tag += core ? plen : 0;
    return FAIL_AT(c, BH_EINVAL, m,
                   "unsupported tag '%s%s' (allowed: !!str !!int !!float !!bool !!null !!map "
                   "!!seq)",
                   core ? "!!" : "", quote(c, tag, strlen(tag)));
}

/* Turn a scalar event into a JSON value following the core schema; an
 * explicit tag forces its type and the text must then have that form. */
static int scalar_json(struct ctx *c, const yaml_event_t *ev, enum tag t, json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    yaml_mark_t m = ev->start_mark;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && t == TAG_NONE;
    int nul = strlen(s) != n, b = 0, range = 0;
    int64_t iv = 0;
    *out = NULL;
    if (t == TAG_MAP || t == TAG_SEQ)
        return FAIL_AT(c, BH_EINVAL, m, "tag !!%s cannot be used on a scalar", tag_names[t]);
    if (!plain && (t == TAG_NONE || t == TAG_STR || t == TAG_BARE))
        goto string;
    if (nul)
        return FAIL_AT(c, BH_EINVAL, m, "NUL byte in a !!%s scalar", tag_names[t]);
    if ((plain || t == TAG_NULL) && is_null_text(s, n))
        return (*out = json_null()) ? 0 : nomem(c);
    if ((plain || t == TAG_BOOL) && bool_text(s, &b))
        return (*out = json_boolean(b)) ? 0 : nomem(c);
    if ((plain || t == TAG_INT || t == TAG_FLOAT) && int_text(s, n, &iv, &range)) {
        if (range && t != TAG_FLOAT)
            return FAIL_AT(c, BH_EINVAL, m, "integer '%s' is out of range (64-bit signed)",
                           quote(c, s, n));
        if (t != TAG_FLOAT)
            return (*out = json_integer(iv)) ? 0 : nomem(c);
    }
    if ((plain || t == TAG_FLOAT) && inf_nan_text(s))
        return FAIL_AT(c, BH_EINVAL, m, "'%s' is not a finite number; JSON cannot represent it",
                       quote(c, s, n));
    if ((plain || t == TAG_FLOAT) && float_text(s)) {
        double d = strtod_l(s, NULL, c->cloc);
        if (isinf(d) || isnan(d))
            return FAIL_AT(c, BH_EINVAL, m, "number '%s' is out of range (IEEE double)",
                           quote(c, s, n));
        return (*out = json_real(d)) ? 0 : nomem(c);
    }
    if (!plain && t != TAG_STR && t != TAG_BARE)
        return FAIL_AT(c, BH_EINVAL, m, "'%s' is not a valid !!%s", quote(c, s, n), tag_names[t]);
string:
    /* libyaml only emits valid UTF-8 (its reader rejects bad input and its
     * escapes reject surrogates), so this fails only for lack of memory;
     * fuzz_yaml aborts on BH_ENOMEM to keep that assumption checked. */
    return (*out = json_stringn(s, n)) ? 0 : nomem(c);
}

/* ---- building the tree ---- */

static int account(struct ctx *c, size_t nodes, size_t bytes, yaml_mark_t m)
{
    if (nodes > BH_YAML_MAX_NODES - c->nodes)
        return FAIL_AT(c, BH_ETOOBIG, m, "document has more than %d nodes (counting alias copies)",
                       BH_YAML_MAX_NODES);
    if (bytes > YAML_MAX_EXPANDED_BYTES - c->bytes)
        return FAIL_AT(c, BH_ETOOBIG, m,
                       "document expands to more than %zu bytes of text (counting alias copies)",
                       YAML_MAX_EXPANDED_BYTES);
    c->nodes += nodes;
    c->bytes += bytes;
    return 0;
}

static int add_anchor(struct ctx *c, const char *name, json_t *v, size_t nodes, size_t bytes,
                      int height)
{
    json_t *a = json_pack("[OIIi]", v, (json_int_t)nodes, (json_int_t)bytes, height);
    if (!a || json_object_set_new(c->anchors, name, a))
        return nomem(c);
    return 0;
}

/* Hand a finished value (owned) to the open collection, or make it the root.
 * `height` is the number of collection levels the value contains. */
static int attach(struct ctx *c, json_t *v, int height)
{
    if (c->depth == 0) {
        c->root = v;
        return 0;
    }
    struct frame *f = &c->st[c->depth - 1];
    int rc;
    if (height > f->height)
        f->height = height;
    if (f->is_map) {
        rc = json_object_set_new(f->v, f->key, v);
        free(f->key);
        f->key = NULL;
    } else {
        rc = json_array_append_new(f->v, v);
        f->count++;
    }
    return rc ? nomem(c) : 0;
}

/* The scalar is a mapping key: remember it, rejecting duplicates. */
static int take_key(struct ctx *c, const yaml_event_t *ev, enum tag t)
{
    struct frame *f = &c->st[c->depth - 1];
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (t == TAG_MAP || t == TAG_SEQ)
        return FAIL_AT(c, BH_EINVAL, ev->start_mark, "tag !!%s cannot be used on a key",
                       tag_names[t]);
    if (strlen(s) != n)
        return FAIL_AT(c, BH_EINVAL, ev->start_mark, "mapping key contains a NUL byte");
    if (json_object_get(f->v, s))
        return FAIL_AT(c, BH_EINVAL, ev->start_mark, "duplicate key '%s'", quote(c, s, n));
    int rc = account(c, 0, n, ev->start_mark);
    if (rc)
        return rc;
    if (!(f->key = malloc(n + 1)))
        return nomem(c);
    memcpy(f->key, s, n + 1);
    f->klen = n;
    if (ev->data.scalar.anchor) { /* rare, but `&k name: x` is legal */
        json_t *v = NULL;
        if ((rc = scalar_json(c, ev, t, &v)) == 0)
            rc = add_anchor(c, (const char *)ev->data.scalar.anchor, v, 1, n, 0);
        json_decref(v);
    }
    return rc;
}

static int on_scalar(struct ctx *c, const yaml_event_t *ev)
{
    enum tag t;
    int rc = parse_tag(c, ev->data.scalar.tag, ev->start_mark, &t);
    if (rc)
        return rc;
    if (at_key(c))
        return take_key(c, ev, t);
    uint32_t id;
    json_t *v = NULL;
    if ((rc = account(c, 1, ev->data.scalar.length, ev->start_mark)) ||
        (rc = pos_record(c, ev->start_mark, &id)) || (rc = scalar_json(c, ev, t, &v)))
        return rc;
    const char *anchor = (const char *)ev->data.scalar.anchor;
    if (anchor && (rc = add_anchor(c, anchor, v, 1, ev->data.scalar.length, 0))) {
        json_decref(v);
        return rc;
    }
    return attach(c, v, 0);
}

static int on_alias(struct ctx *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    yaml_mark_t m = ev->start_mark;
    const char *qn = quote(c, name, strlen(name));
    if (at_key(c))
        return FAIL_AT(c, BH_EINVAL, m, "alias '*%s' used as a mapping key is not supported", qn);
    json_t *a = json_object_get(c->anchors, name);
    if (!a) {
        for (int i = 0; i < c->depth; i++)
            if (c->st[i].anchor && !strcmp(c->st[i].anchor, name))
                return FAIL_AT(c, BH_EINVAL, m, "alias '*%s' refers to a node that contains it",
                               qn);
        return FAIL_AT(c, BH_EINVAL, m, "unknown alias '*%s'", qn);
    }
    int height = (int)json_integer_value(json_array_get(a, 3)), rc;
    if (height > BH_YAML_MAX_DEPTH - c->depth)
        return FAIL_AT(c, BH_ETOOBIG, m, "alias '*%s' nests deeper than %d levels", qn,
                       BH_YAML_MAX_DEPTH);
    uint32_t id;
    if ((rc = account(c, (size_t)json_integer_value(json_array_get(a, 1)),
                      (size_t)json_integer_value(json_array_get(a, 2)), m)) ||
        (rc = pos_record(c, m, &id)))
        return rc;
    json_t *v = json_deep_copy(json_array_get(a, 0));
    if (!v)
        return nomem(c);
    return attach(c, v, height);
}

static int on_open(struct ctx *c, const yaml_event_t *ev, int is_map)
{
    yaml_mark_t m = ev->start_mark;
    const yaml_char_t *ytag = is_map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
    const yaml_char_t *anchor =
        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    enum tag t;
    int rc = parse_tag(c, ytag, m, &t);
    if (rc)
        return rc;
    if (t != TAG_NONE && t != TAG_BARE && t != (is_map ? TAG_MAP : TAG_SEQ))
        return FAIL_AT(c, BH_EINVAL, m, "tag !!%s cannot be used on a %s", tag_names[t],
                       is_map ? "mapping" : "sequence");
    if (at_key(c))
        return FAIL_AT(c, BH_EINVAL, m, "mapping key must be a scalar, not a %s",
                       is_map ? "mapping" : "sequence");
    if (c->depth == BH_YAML_MAX_DEPTH)
        return FAIL_AT(c, BH_ETOOBIG, m, "nesting deeper than %d levels", BH_YAML_MAX_DEPTH);
    size_t nodes0 = c->nodes, bytes0 = c->bytes;
    uint32_t id;
    if ((rc = account(c, 1, 0, m)) || (rc = pos_record(c, m, &id)))
        return rc;
    struct frame *f = &c->st[c->depth];
    memset(f, 0, sizeof(*f));
    f->is_map = is_map;
    f->nodes0 = nodes0;
    f->bytes0 = bytes0;
    f->pid = id;
    f->v = is_map ? json_object() : json_array();
    if (anchor && f->v && !(f->anchor = strdup((const char *)anchor))) {
        json_decref(f->v);
        f->v = NULL;
    }
    if (!f->v)
        return nomem(c);
    c->depth++;
    return 0;
}

static int on_close(struct ctx *c)
{
    struct frame f = c->st[--c->depth];
    int rc = 0, height = f.height + 1;
    if (f.anchor)
        rc = add_anchor(c, f.anchor, f.v, c->nodes - f.nodes0, c->bytes - f.bytes0, height);
    free(f.anchor);
    free(f.key); /* libyaml always pairs keys with values; belt and braces */
    if (rc) {
        json_decref(f.v);
        return rc;
    }
    return attach(c, f.v, height);
}

static int on_event(struct ctx *c, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (c->docs++ > 0)
            return FAIL_AT(c, BH_EINVAL, ev->start_mark,
                           "a second document starts here; only one is allowed");
        return 0;
    case YAML_SCALAR_EVENT: return on_scalar(c, ev);
    case YAML_ALIAS_EVENT: return on_alias(c, ev);
    case YAML_SEQUENCE_START_EVENT: return on_open(c, ev, 0);
    case YAML_MAPPING_START_EVENT: return on_open(c, ev, 1);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: return on_close(c);
    default: return 0;
    }
}

/* libyaml failed: report its problem at its mark (or, for bad bytes found by
 * the reader, at the line/column of the byte offset). */
static int libyaml_fail(struct ctx *c, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return nomem(c);
    const char *problem = p->problem ? p->problem : "unknown libyaml error";
    if (p->error == YAML_READER_ERROR) {
        size_t off = p->problem_offset < c->len ? p->problem_offset : c->len;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < off; i++) {
            if (c->text[i] == '\n')
                line++, col = 1;
            else if (((unsigned char)c->text[i] & 0xC0) != 0x80)
                col++;
        }
        if (p->problem_value != -1)
            return fail(c, BH_EINVAL, line, col, "%s (#x%X at byte %zu)", problem,
                        (unsigned)p->problem_value, p->problem_offset);
        return fail(c, BH_EINVAL, line, col, "%s (at byte %zu)", problem, p->problem_offset);
    }
    if (p->context)
        return FAIL_AT(c, BH_EINVAL, p->problem_mark, "%s (%s at line %zu, column %zu)", problem,
                       p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    return FAIL_AT(c, BH_EINVAL, p->problem_mark, "%s", problem);
}

static void ctx_free(struct ctx *c)
{
    for (int i = 0; i < c->depth; i++) {
        json_decref(c->st[i].v);
        free(c->st[i].anchor);
        free(c->st[i].key);
    }
    json_decref(c->root);
    json_decref(c->anchors);
    bh_yaml_pos_free(c->pos);
    if (c->cloc)
        freelocale(c->cloc);
}

int bh_yaml_load(const char *text, size_t len, const char *fname, json_t **out,
                 struct bh_yaml_pos **pos, struct bh_err *err)
{
    struct ctx c = {.fname = fname ? fname : "<input>", .text = text, .len = len, .err = err};
    yaml_parser_t p;
    int rc;
    if (out)
        *out = NULL;
    if (pos)
        *pos = NULL;
    if (!out || (!text && len))
        return fail(&c, BH_EINVAL, 1, 1, "bad arguments to bh_yaml_load");
    if (len > BH_YAML_MAX_BYTES)
        return fail(&c, BH_ETOOBIG, 1, 1, "input is %zu bytes, over the limit of %u", len,
                    BH_YAML_MAX_BYTES);
    c.anchors = json_object();
    c.pos = calloc(1, sizeof(*c.pos));
    c.cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    if (!c.anchors || !c.pos || !c.cloc || !yaml_parser_initialize(&p)) {
        ctx_free(&c);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    bh_buf_init(&c.pos->keys, YAML_MAX_EXPANDED_BYTES);
    yaml_parser_set_input_string(&p, (const unsigned char *)(text ? text : ""), len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = libyaml_fail(&c, &p);
            break;
        }
        rc = on_event(&c, &ev);
        yaml_event_type_t type = ev.type;
        yaml_event_delete(&ev);
        if (rc || type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&p);
    if (rc == 0 && !c.root)
        c.root = json_null(); /* empty stream; json_null() cannot fail */
    if (rc) {
        ctx_free(&c);
        return rc;
    }
    *out = c.root;
    c.root = NULL;
    pos_finish(c.pos);
    if (pos) {
        *pos = c.pos;
        c.pos = NULL;
    }
    ctx_free(&c);
    return 0;
}
