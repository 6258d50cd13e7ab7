/*
 * sqlite_crud.c - generic create/read/update/delete for every kind, driven
 * by the field tables of model/model.h.  Column names in generated SQL come
 * only from those tables, never from input; all values are bound.
 */
#include "sqlite_int.h"

#include "core/buf.h"
#include "core/mac.h"
#include "core/timeutil.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SQL_MAX   16384
#define BINDS_MAX 160

static bool is_timestamp(const struct bh_field *f)
{
    return strcmp(f->name, "created_at") == 0 || strcmp(f->name, "updated_at") == 0;
}

/* SQL expression for a field's value as the API shows it. */
static int field_expr(struct bh_buf *b, const struct bh_field *f)
{
    if (f->type == BH_F_REF)
        return bh_buf_printf(b, "(SELECT name FROM %s WHERE id = t.%s)", bh__sq_table(f->ref_kind),
                             f->column);
    return bh_buf_printf(b, "t.%s", f->column);
}

int bh__sq_build_selects(struct sq *q)
{
    for (int k = 0; k < BH_KIND__COUNT; k++) {
        assert(bh__sq_table((enum bh_kind)k) != NULL); /* every kind has a table */
        const struct bh_kind_desc *kd = bh_kind_get((enum bh_kind)k);
        struct bh_buf b;
        bh_buf_init(&b, SQL_MAX);
        int rc = bh_buf_adds(&b, "t.id, t.rev");
        for (size_t i = 0; i < kd->nfields && !rc; i++) {
            if (kd->fields[i].flags & BH_FF_INTERNAL)
                continue;
            rc = bh_buf_adds(&b, ", ");
            if (!rc)
                rc = field_expr(&b, &kd->fields[i]);
        }
        if (rc) {
            bh_buf_free(&b);
            return rc;
        }
        q->select_cols[k] = bh_buf_steal(&b);
        if (!q->select_cols[k])
            return BH_ENOMEM;
    }
    return 0;
}

/* Build the API object from a row selected with select_cols. */
static json_t *row_to_json(const struct bh_kind_desc *k, sqlite3_stmt *st)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int col = 2;
    for (size_t i = 0; i < k->nfields; i++) {
        const struct bh_field *f = &k->fields[i];
        if (f->flags & BH_FF_INTERNAL)
            continue;
        json_t *v;
        int c = col++;
        if (sqlite3_column_type(st, c) == SQLITE_NULL) {
            v = f->type == BH_F_LABELS ? json_object() : json_null();
        } else {
            switch (f->type) {
            case BH_F_INT: v = json_integer(sqlite3_column_int64(st, c)); break;
            case BH_F_BOOL: v = json_boolean(sqlite3_column_int(st, c)); break;
            case BH_F_LABELS:
            case BH_F_OBJECT:
            case BH_F_STRLIST: v = bh__sq_column_json(st, c); break;
            default:
                v = json_stringn((const char *)sqlite3_column_text(st, c),
                                 (size_t)sqlite3_column_bytes(st, c));
            }
        }
        if (!v || json_object_set_new(o, f->name, v)) {
            json_decref(o);
            return NULL;
        }
    }
    if (json_object_set_new(o, "rev", json_integer(sqlite3_column_int64(st, 1)))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

struct row {
    int64_t id, rev;
    json_t *obj;
};

/* Find an object by any of its key fields. BH_ENOTFOUND if none matches. */
static int find_row(struct sq *q, struct sq_conn *c, const struct bh_kind_desc *k, const char *key,
                    struct row *r, struct bh_err *err)
{
    char sql[SQL_MAX];
    for (size_t i = 0; i < k->nfields; i++) {
        const struct bh_field *f = &k->fields[i];
        char mac[BH_MAC_STRLEN];
        const char *val = key;
        if (!(f->flags & BH_FF_KEY))
            continue;
        if (f->type == BH_F_MAC) {
            if (bh_mac_normalize(key, mac))
                continue;
            val = mac;
        }
        snprintf(sql, sizeof(sql), "SELECT %s FROM %s t WHERE t.%s = ?", q->select_cols[k->kind],
                 bh__sq_table(k->kind), f->column);
        sqlite3_stmt *st = bh__sq_prepare(c, sql, err);
        if (!st)
            return BH_EIO;
        sqlite3_bind_text(st, 1, val, -1, SQLITE_TRANSIENT);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            r->id = sqlite3_column_int64(st, 0);
            r->rev = sqlite3_column_int64(st, 1);
            r->obj = row_to_json(k, st);
            sqlite3_reset(st);
            return r->obj ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        }
        sqlite3_reset(st);
        if (s != SQLITE_DONE)
            return bh__sq_fail(c, err, "find");
    }
    return bh_err_set(err, BH_ENOTFOUND, NULL, "%s '%.128s' not found", k->name, key);
}

static int read_by_id(struct sq *q, const struct bh_kind_desc *k, int64_t id, json_t **out,
                      struct bh_err *err)
{
    char sql[SQL_MAX];
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s t WHERE t.id = ?", q->select_cols[k->kind],
             bh__sq_table(k->kind));
    sqlite3_stmt *st = bh__sq_prepare(&q->writer, sql, err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, id);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = row_to_json(k, st);
        if (!*out)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    } else {
        rc = bh__sq_fail(&q->writer, err, "read back");
    }
    sqlite3_reset(st);
    return rc;
}

int bh__sq_get(void *impl, const struct bh_kind_desc *k, const char *key, json_t **out,
               struct bh_err *err)
{
    struct sq *q = impl;
    struct sq_conn *c = bh__sq_reader(q);
    struct row r;
    int rc = find_row(q, c, k, key, &r, err);
    bh__sq_release(c);
    if (!rc)
        *out = r.obj;
    return rc;
}

/* ---- list ---------------------------------------------------------------- */

struct binds {
    const char *v[BINDS_MAX];
    char own[BH_SEL_MAX_TERMS * 4][BH_SEL_KEY_MAX + 8]; /* json paths */
    char like[2 * BH_SEARCH_MAX + 3];                   /* %search% with '\' escapes */
    size_t n, nown;
};

static int bind_push(struct binds *bs, const char *v)
{
    if (bs->n == BINDS_MAX)
        return BH_ETOOBIG;
    bs->v[bs->n++] = v;
    return 0;
}

/* expression for a selector term's subject; label paths go to binds */
static int term_expr(struct bh_buf *b, struct binds *bs, const struct bh_sel_term *t)
{
    if (t->field)
        return field_expr(b, t->field);
    if (bs->nown == sizeof(bs->own) / sizeof(bs->own[0]))
        return BH_ETOOBIG;
    char *path = bs->own[bs->nown++];
    snprintf(path, BH_SEL_KEY_MAX + 8, "$.\"%s\"", t->key);
    int rc = bind_push(bs, path);
    return rc ? rc : bh_buf_adds(b, "json_extract(t.labels, ?)");
}

static int value_set(struct bh_buf *b, struct binds *bs, const struct bh_sel_term *t)
{
    int rc = bh_buf_adds(b, "(");
    for (size_t i = 0; i < t->nvalues && !rc; i++) {
        rc = bh_buf_adds(b, i ? ", ?" : "?");
        if (!rc)
            rc = bind_push(bs, t->values[i]);
    }
    return rc ? rc : bh_buf_adds(b, ")");
}

static int selector_sql(struct bh_buf *b, struct binds *bs, const struct bh_selector *sel)
{
    int rc = 0;
    for (size_t i = 0; i < sel->n && !rc; i++) {
        const struct bh_sel_term *t = &sel->terms[i];
        bool neg = t->op == BH_SEL_NE || t->op == BH_SEL_NOTIN || t->op == BH_SEL_ABSENT;
        rc = bh_buf_adds(b, neg ? " AND (" : " AND (");
        if (!rc)
            rc = term_expr(b, bs, t);
        if (rc)
            break;
        switch (t->op) {
        case BH_SEL_EQ:
        case BH_SEL_IN:
            rc = bh_buf_adds(b, " IN ");
            if (!rc)
                rc = value_set(b, bs, t);
            break;
        case BH_SEL_NE:
        case BH_SEL_NOTIN:
            rc = bh_buf_adds(b, " IS NULL OR ");
            if (!rc)
                rc = term_expr(b, bs, t);
            if (!rc)
                rc = bh_buf_adds(b, " NOT IN ");
            if (!rc)
                rc = value_set(b, bs, t);
            break;
        case BH_SEL_EXISTS: rc = bh_buf_adds(b, t->field ? " != ''" : " IS NOT NULL"); break;
        case BH_SEL_ABSENT:
            rc = bh_buf_adds(b, " IS NULL");
            if (!rc && t->field) {
                rc = bh_buf_adds(b, " OR ");
                if (!rc)
                    rc = term_expr(b, bs, t);
                if (!rc)
                    rc = bh_buf_adds(b, " = ''");
            }
            break;
        }
        if (!rc)
            rc = bh_buf_adds(b, ")");
    }
    return rc;
}

/* ?q=: " AND (f1 LIKE ? ESCAPE '\' OR ...)" over the kind's search fields;
 * the text is a literal, so its '%', '_' and '\' are escaped */
static int search_sql(struct bh_buf *b, struct binds *bs, const struct bh_list_query *qr)
{
    size_t n = strlen(qr->search), o = 0;
    if (n > BH_SEARCH_MAX)
        return BH_ETOOBIG;
    bs->like[o++] = '%';
    for (size_t i = 0; i < n; i++) {
        if (qr->search[i] == '%' || qr->search[i] == '_' || qr->search[i] == '\\')
            bs->like[o++] = '\\';
        bs->like[o++] = qr->search[i];
    }
    bs->like[o++] = '%';
    bs->like[o] = '\0';
    const struct bh_kind_desc *k = qr->kind;
    int rc = 0, terms = 0;
    for (size_t i = 0; i < k->nfields && !rc; i++) {
        const struct bh_field *f = &k->fields[i];
        if (!(f->flags & BH_FF_SEARCH))
            continue;
        /* a MAC is stored aa:bb:..; people also write it aa-bb-.. or aabb.. */
        size_t forms = f->type == BH_F_MAC ? 3 : 1;
        for (size_t j = 0; j < forms && !rc; j++) {
            rc = bh_buf_adds(b, terms++ ? " OR " : " AND (");
            if (!rc && j == 1)
                rc = bh_buf_printf(b, "replace(t.%s, ':', '-')", f->column);
            else if (!rc && j == 2)
                rc = bh_buf_printf(b, "replace(t.%s, ':', '')", f->column);
            else if (!rc)
                rc = field_expr(b, f);
            if (!rc)
                rc = bh_buf_adds(b, " LIKE ? ESCAPE '\\'");
            if (!rc)
                rc = bind_push(bs, bs->like);
        }
    }
    if (!rc)
        rc = bh_buf_adds(b, terms ? ")" : " AND 0"); /* a kind without search fields: none */
    return rc;
}

static int where_sql(struct bh_buf *b, struct binds *bs, const struct bh_list_query *qr)
{
    int rc = bh_buf_adds(b, " WHERE 1");
    for (size_t i = 0; i < qr->nfilters && !rc; i++) {
        const struct bh_field *f = qr->filters[i].field;
        if (f->type == BH_F_REF)
            rc = bh_buf_printf(b, " AND t.%s = (SELECT id FROM %s WHERE name = ?)", f->column,
                               bh__sq_table(f->ref_kind));
        else
            rc = bh_buf_printf(b, " AND t.%s = ?", f->column);
        if (!rc)
            rc = bind_push(bs, qr->filters[i].value);
    }
    if (!rc && qr->selector)
        rc = selector_sql(b, bs, qr->selector);
    if (!rc && qr->search && qr->search[0])
        rc = search_sql(b, bs, qr);
    return rc;
}

static int bind_all(sqlite3_stmt *st, const struct binds *bs)
{
    for (size_t i = 0; i < bs->n; i++)
        if (sqlite3_bind_text(st, (int)i + 1, bs->v[i], -1, SQLITE_STATIC) != SQLITE_OK)
            return BH_EIO;
    return 0;
}

static int count_rows(struct sq_conn *c, const char *table, const char *where,
                      const struct binds *bs, int64_t *total, struct bh_err *err)
{
    struct bh_buf b;
    bh_buf_init(&b, SQL_MAX);
    int rc = bh_buf_printf(&b, "SELECT COUNT(*) FROM %s t%s", table, where);
    if (rc) {
        bh_buf_free(&b);
        return bh_err_set(err, rc, NULL, "query too complex");
    }
    sqlite3_stmt *st = bh__sq_prepare(c, b.p, err);
    bh_buf_free(&b);
    if (!st)
        return BH_EIO;
    bind_all(st, bs);
    if (sqlite3_step(st) == SQLITE_ROW)
        *total = sqlite3_column_int64(st, 0);
    else
        rc = bh__sq_fail(c, err, "count");
    sqlite3_reset(st);
    return rc;
}

int bh__sq_list(void *impl, const struct bh_list_query *qr, struct bh_list_result *res,
                struct bh_err *err)
{
    struct sq *q = impl;
    const struct bh_kind_desc *k = qr->kind;
    struct binds *bs = calloc(1, sizeof(*bs));
    struct bh_buf where, sql;
    bh_buf_init(&where, SQL_MAX);
    bh_buf_init(&sql, SQL_MAX);
    json_t *items = json_array();
    int rc = !bs || !items ? BH_ENOMEM : where_sql(&where, bs, qr);
    if (!rc)
        rc = bh_buf_printf(&sql, "SELECT %s FROM %s t%s ORDER BY ", q->select_cols[k->kind],
                           bh__sq_table(k->kind), where.p);
    for (size_t i = 0; i < qr->nsort && !rc; i++) {
        rc = field_expr(&sql, qr->sort[i].field);
        if (!rc)
            rc = bh_buf_adds(&sql, qr->sort[i].desc ? " DESC, " : ", ");
    }
    if (!rc)
        rc = bh_buf_adds(&sql, "t.id LIMIT ? OFFSET ?");
    if (rc) {
        rc = bh_err_set(err, rc == BH_ENOMEM ? BH_ENOMEM : BH_EINVAL, NULL,
                        rc == BH_ENOMEM ? "out of memory" : "query too complex");
        goto out;
    }
    struct sq_conn *c = bh__sq_reader(q);
    res->total = -1;
    if (qr->want_total &&
        (rc = count_rows(c, bh__sq_table(k->kind), where.p, bs, &res->total, err))) {
        bh__sq_release(c);
        goto out;
    }
    sqlite3_stmt *st = bh__sq_prepare(c, sql.p, err);
    if (!st) {
        bh__sq_release(c);
        rc = BH_EIO;
        goto out;
    }
    bind_all(st, bs);
    sqlite3_bind_int64(st, (int)bs->n + 1, qr->limit + 1);
    sqlite3_bind_int64(st, (int)bs->n + 2, qr->offset);
    int s;
    int64_t n = 0;
    res->more = false;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ == qr->limit) {
            res->more = true;
            break;
        }
        json_t *o = row_to_json(k, st);
        if (!o || json_array_append_new(items, o)) {
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            break;
        }
    }
    if (!rc && s != SQLITE_DONE && s != SQLITE_ROW)
        rc = bh__sq_fail(c, err, "list");
    sqlite3_reset(st);
    bh__sq_release(c);
out:
    bh_buf_free(&where);
    bh_buf_free(&sql);
    free(bs);
    if (rc) {
        json_decref(items);
        return rc == BH_ENOMEM ? bh_err_set(err, rc, NULL, "out of memory") : rc;
    }
    res->items = items;
    return 0;
}

/* ---- writes -------------------------------------------------------------- */

static int check_unique(struct sq *q, const struct bh_kind_desc *k, const struct bh_field *f,
                        const json_t *v, int64_t self, struct bh_err *err)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE %s = ? AND id != ?", bh__sq_table(k->kind),
             f->column);
    sqlite3_stmt *st = bh__sq_prepare(&q->writer, sql, err);
    if (!st)
        return BH_EIO;
    bh__sq_bind_json_text(st, 1, v);
    sqlite3_bind_int64(st, 2, self);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s == SQLITE_ROW)
        return bh_err_set(err, BH_ECONFLICT, f->name, "a %s with %s '%.128s' already exists",
                          k->name, f->name, json_string_value(v) ? json_string_value(v) : "?");
    return s == SQLITE_DONE ? 0 : bh__sq_fail(&q->writer, err, "unique check");
}

static int resolve_ref(struct sq *q, const struct bh_field *f, const json_t *v, int64_t *id,
                       struct bh_err *err)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE name = ?", bh__sq_table(f->ref_kind));
    sqlite3_stmt *st = bh__sq_prepare(&q->writer, sql, err);
    if (!st)
        return BH_EIO;
    bh__sq_bind_json_text(st, 1, v);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (s == SQLITE_ROW)
        return 0;
    if (s != SQLITE_DONE)
        return bh__sq_fail(&q->writer, err, "resolve reference");
    return bh_err_set(err, BH_ENOREF, f->name, "%s '%.128s' does not exist",
                      bh_kind_get(f->ref_kind)->name, json_string_value(v));
}

/* The columns a write sets, with their values (borrowed from doc). */
#define COLSET_MAX 64

struct colset {
    const struct bh_field *f[COLSET_MAX];
    const json_t *v[COLSET_MAX];
    int64_t ref[COLSET_MAX];
    size_t n;
};

static int prepare_cols(struct sq *q, const struct bh_kind_desc *k, const json_t *doc, bool create,
                        unsigned flags, int64_t self, struct colset *cs, struct bh_err *err)
{
    cs->n = 0;
    if (k->nfields > COLSET_MAX)
        return bh_err_set(err, BH_EINVAL, NULL, "kind %s has too many fields", k->name);
    for (size_t i = 0; i < k->nfields; i++) {
        const struct bh_field *f = &k->fields[i];
        const json_t *v = json_object_get(doc, f->name);
        if (is_timestamp(f))
            continue;
        if (create || (f->flags & (BH_FF_RO | BH_FF_INTERNAL)) || (flags & BH_UPD_PARTIAL)) {
            if (!v)
                continue;
            if (!create && (f->flags & (BH_FF_RO | BH_FF_INTERNAL)) && !(flags & BH_UPD_SYSTEM))
                continue;
        }
        if (v && json_is_null(v))
            v = NULL;
        int rc;
        if (v && (f->flags & BH_FF_UNIQUE) && (rc = check_unique(q, k, f, v, self, err)))
            return rc;
        cs->ref[cs->n] = 0;
        if (v && f->type == BH_F_REF && (rc = resolve_ref(q, f, v, &cs->ref[cs->n], err)))
            return rc;
        cs->f[cs->n] = f;
        cs->v[cs->n] = v;
        cs->n++;
    }
    return 0;
}

static int bind_col(sqlite3_stmt *st, int idx, const struct colset *cs, size_t i)
{
    if (cs->v[i] && cs->f[i]->type == BH_F_REF)
        return sqlite3_bind_int64(st, idx, cs->ref[i]);
    return bh__sq_bind_json_text(st, idx, cs->v[i]);
}

static int step_write(struct sq *q, sqlite3_stmt *st, const char *what, struct bh_err *err)
{
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s == SQLITE_DONE)
        return 0;
    if ((s & 0xff) == SQLITE_CONSTRAINT)
        return bh_err_set(err, BH_ECONFLICT, NULL, "%s: %s", what, sqlite3_errmsg(q->writer.db));
    return bh__sq_fail(&q->writer, err, what);
}

int bh__sq_create_in(struct sq *q, const struct bh_kind_desc *k, const json_t *doc,
                     const struct bh_actor *a, int64_t rev, json_t **out, struct bh_err *err)
{
    struct colset cs;
    struct bh_buf sql;
    char ts[BH_TIME_STRLEN];
    bh_buf_init(&sql, SQL_MAX);
    bh_time_format(bh_wall_ms(), ts);
    int rc = prepare_cols(q, k, doc, true, 0, -1, &cs, err);
    if (rc)
        goto out;
    rc = bh_buf_printf(&sql, "INSERT INTO %s (rev, created_at, updated_at", bh__sq_table(k->kind));
    for (size_t i = 0; i < cs.n && !rc; i++)
        rc = bh_buf_printf(&sql, ", %s", cs.f[i]->column);
    if (!rc)
        rc = bh_buf_adds(&sql, ") VALUES (?, ?, ?");
    for (size_t i = 0; i < cs.n && !rc; i++)
        rc = bh_buf_adds(&sql, ", ?");
    if (!rc)
        rc = bh_buf_adds(&sql, ")");
    if (rc) {
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        goto out;
    }
    sqlite3_stmt *st = bh__sq_prepare(&q->writer, sql.p, err);
    if (!st) {
        rc = BH_EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, rev);
    sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, ts, -1, SQLITE_TRANSIENT);
    /* a bind that could not copy its value (out of memory) would write NULL */
    for (size_t i = 0; i < cs.n && !rc; i++)
        if (bind_col(st, (int)i + 4, &cs, i) != SQLITE_OK)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (rc) {
        sqlite3_clear_bindings(st);
        goto out;
    }
    if ((rc = step_write(q, st, "insert", err)))
        goto out;
    json_t *after;
    if ((rc = read_by_id(q, k, sqlite3_last_insert_rowid(q->writer.db), &after, err)))
        goto out;
    rc = bh__sq_record(q, rev, k->name, bh_model_key_of(k, after), "created", NULL, after, a, true,
                       err);
    if (rc)
        json_decref(after);
    else
        *out = after;
out:
    bh_buf_free(&sql);
    return rc;
}

int bh__sq_create(void *impl, const struct bh_kind_desc *k, const json_t *doc,
                  const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev;
    json_t *after = NULL;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    if ((rc = bh__sq_create_in(q, k, doc, a, rev, &after, err))) {
        bh__sq_rollback(q);
        return rc;
    }
    if ((rc = bh__sq_commit(q, rev, err))) {
        json_decref(after);
        return rc;
    }
    *out = after;
    return 0;
}

static bool same_state(const json_t *a, const json_t *b)
{
    json_t *x = json_copy((json_t *)a), *y = json_copy((json_t *)b);
    bool eq = false;
    if (x && y) {
        json_object_del(x, "rev");
        json_object_del(x, "updated_at");
        json_object_del(y, "rev");
        json_object_del(y, "updated_at");
        eq = json_equal(x, y);
    }
    json_decref(x);
    json_decref(y);
    return eq;
}

/* find the object for a conditional write: with If-Match, a missing object
 * fails the precondition (RFC 9110 13.1.1) */
static int find_for_write(struct sq *q, const struct bh_kind_desc *k, const char *key,
                          int64_t if_rev, struct row *r, struct bh_err *err)
{
    int rc = find_row(q, &q->writer, k, key, r, err);
    if (rc == BH_ENOTFOUND && if_rev > 0)
        return bh_err_set(err, BH_EPRECOND, NULL, "the %s '%.128s' does not exist", k->name, key);
    return rc;
}

static int precondition(const struct bh_kind_desc *k, const struct row *r, int64_t if_rev,
                        struct bh_err *err)
{
    if (if_rev <= 0 || r->rev == if_rev)
        return 0;
    return bh_err_set(err, BH_EPRECOND, NULL,
                      "the %s changed: you sent revision %lld, it is now at %lld", k->name,
                      (long long)if_rev, (long long)r->rev);
}

int bh__sq_update_in(struct sq *q, const struct bh_kind_desc *k, const char *key,
                     bh_store_modify_fn fn, void *ud, int64_t if_rev, unsigned flags,
                     const struct bh_actor *a, int64_t rev, json_t **out, bool *changed,
                     struct bh_err *err)
{
    struct colset cs;
    struct bh_buf sql;
    struct row r = {0};
    json_t *after = NULL, *doc = NULL;
    char ts[BH_TIME_STRLEN];
    bh_buf_init(&sql, SQL_MAX);
    bh_time_format(bh_wall_ms(), ts);
    int rc;
    *changed = false;
    if ((rc = find_for_write(q, k, key, if_rev, &r, err)) ||
        (rc = precondition(k, &r, if_rev, err)))
        goto out;
    if (!(doc = fn(ud, r.obj, err))) {
        rc = err && err->code ? err->code : BH_EINVAL;
        goto out;
    }
    if ((rc = prepare_cols(q, k, doc, false, flags, r.id, &cs, err)))
        goto out;
    rc = bh_buf_printf(&sql, "UPDATE %s SET rev = ?, updated_at = ?", bh__sq_table(k->kind));
    for (size_t i = 0; i < cs.n && !rc; i++)
        rc = bh_buf_printf(&sql, ", %s = ?", cs.f[i]->column);
    if (!rc)
        rc = bh_buf_adds(&sql, " WHERE id = ?");
    if (rc) {
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        goto out;
    }
    sqlite3_stmt *st = bh__sq_prepare(&q->writer, sql.p, err);
    if (!st) {
        rc = BH_EIO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, rev);
    sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT);
    /* a bind that could not copy its value (out of memory) would write NULL */
    for (size_t i = 0; i < cs.n && !rc; i++)
        if (bind_col(st, (int)i + 3, &cs, i) != SQLITE_OK)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (rc) {
        sqlite3_clear_bindings(st);
        goto out;
    }
    sqlite3_bind_int64(st, (int)cs.n + 3, r.id);
    if ((rc = step_write(q, st, "update", err)) || (rc = read_by_id(q, k, r.id, &after, err)))
        goto out;
    /* nothing changed: no revision, no event, no audit record */
    *changed = !same_state(r.obj, after);
    if (*changed)
        rc = bh__sq_record(q, rev, k->name, bh_model_key_of(k, after), "updated", r.obj, after, a,
                           true, err);
out:
    bh_buf_free(&sql);
    json_decref(doc);
    if (rc) {
        json_decref(r.obj);
        json_decref(after);
        return rc;
    }
    if (*changed) {
        json_decref(r.obj);
        *out = after;
    } else {
        json_decref(after);
        *out = r.obj;
    }
    return 0;
}

int bh__sq_update(void *impl, const struct bh_kind_desc *k, const char *key, bh_store_modify_fn fn,
                  void *ud, int64_t if_rev, unsigned flags, const struct bh_actor *a, json_t **out,
                  struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev;
    bool changed;
    json_t *obj = NULL;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    rc = bh__sq_update_in(q, k, key, fn, ud, if_rev, flags, a, rev, &obj, &changed, err);
    if (rc || !changed) {
        bh__sq_rollback(q);
        if (!rc)
            *out = obj;
        return rc;
    }
    if ((rc = bh__sq_commit(q, rev, err))) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

void bh__sq_err_of_key(struct bh_err *err, const char *key)
{
    if (!err || !strncmp(err->msg, key, strlen(key)))
        return;
    char m[BH_ERR_MSG_MAX];
    snprintf(m, sizeof(m), "%.128s: %.380s", key, err->msg);
    memcpy(err->msg, m, sizeof(m));
}

/* Every object in one transaction; each one that changes in a savepoint of
 * its own, with its own revision, so one that does not change is undone
 * alone and leaves no revision behind. */
int bh__sq_update_many(void *impl, const struct bh_kind_desc *k, const json_t *keys,
                       bh_store_modify_fn fn, void *ud, unsigned flags, const struct bh_actor *a,
                       json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t first, last = 0;
    json_t *objs = json_array();
    if (!objs)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    int rc = bh__sq_begin(q, &first, err);
    if (rc) {
        json_decref(objs);
        return rc;
    }
    size_t i;
    json_t *key;
    json_array_foreach(keys, i, key)
    {
        const char *ks = json_string_value(key);
        int64_t rev = first;
        bool changed = false;
        json_t *obj = NULL;
        if (!ks) {
            rc = bh_err_set(err, BH_EINVAL, NULL, "key %zu is not a string", i);
            break;
        }
        if ((rc = bh__sq_exec(&q->writer, "SAVEPOINT many", err)) ||
            (last && (rc = bh__sq_bump(q, &rev, err))))
            break;
        if ((rc = bh__sq_update_in(q, k, ks, fn, ud, 0, flags, a, rev, &obj, &changed, err))) {
            bh__sq_err_of_key(err, ks);
            break;
        }
        if (changed)
            last = rev;
        if (json_array_append_new(objs, obj))
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        if (!rc)
            rc = bh__sq_exec(&q->writer,
                             changed ? "RELEASE many" : "ROLLBACK TO many; RELEASE many", err);
        if (rc)
            break;
    }
    if (rc || !last) { /* a failure, or nothing changed */
        bh__sq_rollback(q);
        if (rc)
            json_decref(objs);
        else
            *out = objs;
        return rc;
    }
    if ((rc = bh__sq_commit(q, last, err))) {
        json_decref(objs);
        return rc;
    }
    *out = objs;
    return 0;
}

/* BH_ECONFLICT if any object still refers to row id of kind k. */
static int check_unreferenced(struct sq *q, const struct bh_kind_desc *k, const char *key,
                              int64_t id, struct bh_err *err)
{
    for (int kk = 0; kk < BH_KIND__COUNT; kk++) {
        const struct bh_kind_desc *other = bh_kind_get((enum bh_kind)kk);
        for (size_t i = 0; i < other->nfields; i++) {
            const struct bh_field *f = &other->fields[i];
            if (f->type != BH_F_REF || f->ref_kind != k->kind)
                continue;
            char sql[256];
            snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE %s = ?",
                     bh__sq_table(other->kind), f->column);
            sqlite3_stmt *st = bh__sq_prepare(&q->writer, sql, err);
            if (!st)
                return BH_EIO;
            sqlite3_bind_int64(st, 1, id);
            int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
            sqlite3_reset(st);
            if (n < 0)
                return bh__sq_fail(&q->writer, err, "reference check");
            if (n > 0)
                return bh_err_set(err, BH_ECONFLICT, NULL,
                                  "%s '%.128s' is still used by %lld %s (field '%s'); move or "
                                  "delete them first",
                                  k->name, key, (long long)n, n == 1 ? other->name : other->plural,
                                  f->name);
        }
    }
    return 0;
}

int bh__sq_delete(void *impl, const struct bh_kind_desc *k, const char *key, int64_t if_rev,
                  const struct bh_actor *a, struct bh_err *err)
{
    struct sq *q = impl;
    struct row r = {0};
    int64_t rev;
    char sql[256];
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    if ((rc = find_for_write(q, k, key, if_rev, &r, err)) ||
        (rc = precondition(k, &r, if_rev, err)) || (rc = check_unreferenced(q, k, key, r.id, err)))
        goto fail;
    snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = ?", bh__sq_table(k->kind));
    sqlite3_stmt *st = bh__sq_prepare(&q->writer, sql, err);
    if (!st) {
        rc = BH_EIO;
        goto fail;
    }
    sqlite3_bind_int64(st, 1, r.id);
    if ((rc = step_write(q, st, "delete", err)) ||
        (rc = bh__sq_record(q, rev, k->name, bh_model_key_of(k, r.obj), "deleted", r.obj, NULL, a,
                            true, err)))
        goto fail;
    json_decref(r.obj);
    return bh__sq_commit(q, rev, err);
fail:
    bh__sq_rollback(q);
    json_decref(r.obj);
    return rc;
}
