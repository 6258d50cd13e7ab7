/*
 * hostimport.c - POST /api/v1/hosts/import (operator): a LINBO devices.csv
 * in, hosts created or updated (matched by MAC), all or nothing.
 *
 *   ?dry_run=1              report what would happen, write nothing
 *   ?create=rooms,groups    create the rooms and groups the file names that
 *                           do not exist (without it, each is an error at
 *                           the lines that name it, as LINBO refuses a
 *                           device in a room or group it does not know)
 *
 * The file is read by model/devcsv.c (which `bootherd migrate linbo` will
 * share); the rows become hosts by its rules; this file only takes the
 * request apart, asks the store what exists, and hands every write to one
 * store transaction (bh_store_put_many), which also finds every conflict
 * with what is stored.  The answer is a report: {dry_run, created,
 * updated, unchanged, rooms_created, groups_created, hosts: [{line, mac,
 * name, result}], errors: []}; with errors, the same report as an RFC 9457
 * problem, errors [{line, column, field, message}], and nothing written.
 * Owned by the console API (issue 10); docs/api.md "Importing LINBO's
 * devices.csv".
 */
#include "api.h"

#include "core/str.h"
#include "model/devcsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct imp {
    struct bh_req *r;
    bool dry_run, create_rooms, create_groups, replied;
    struct bh_devcsv csv;
    json_t *errors;         /* [{line, column, field, message}] */
    size_t errors_total;    /* found, listed or not */
    json_t *rooms, *groups; /* name -> first line naming it, of those to create */
    /* the store's puts: the rooms, then the groups, then one per row */
    struct bh_store_put *puts;
    size_t nputs, nroom_puts, ngroup_puts;
    json_t **docs; /* per put: the document it creates (owned) */
};

/* ---- the request ------------------------------------------------------------- */

static void bad_query(struct imp *m, const char *detail, const char *field)
{
    bh_reply_problem(m->r, 400, "invalid-query", "Bad request", detail, field);
    m->replied = true;
}

static int query_arg(void *ud, const char *key, const char *val)
{
    struct imp *m = ud;
    if (!strcmp(key, "dry_run")) {
        if (bh_parse_bool(val, &m->dry_run)) {
            bad_query(m, "dry_run is 1 or 0 (true or false)", "dry_run");
            return -1;
        }
        return 0;
    }
    if (!strcmp(key, "create")) {
        const char *p = val;
        do {
            size_t n = strcspn(p, ",");
            if (n == 5 && !strncmp(p, "rooms", n)) {
                m->create_rooms = true;
            } else if (n == 6 && !strncmp(p, "groups", n)) {
                m->create_groups = true;
            } else {
                bad_query(m, "create takes rooms, groups or rooms,groups", "create");
                return -1;
            }
            p += n;
        } while (*p++ == ',');
        return 0;
    }
    char detail[160];
    snprintf(detail, sizeof(detail), "unknown query parameter '%.64s'; use dry_run, create", key);
    bad_query(m, detail, key);
    return -1;
}

/* text/csv (RFC 4180's type, what the console sends) or text/plain */
static bool csv_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strcspn(ct, "; \t");
    return (n == 8 && !strncasecmp(ct, "text/csv", 8)) ||
           (n == 10 && !strncasecmp(ct, "text/plain", 10));
}

/* ---- the report ---------------------------------------------------------------- */

static void add_error(struct imp *m, int line, int col, const char *msg)
{
    m->errors_total++;
    if (json_array_size(m->errors) >= BH_DEVCSV_ERRORS_MAX)
        return;
    json_array_append_new(m->errors, json_pack("{s:i, s:i, s:s, s:s}", "line", line, "column", col,
                                               "field", bh_devcsv_field_name(col), "message", msg));
}

static int by_line(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t lx = json_integer_value(json_object_get(x, "line")),
               ly = json_integer_value(json_object_get(y, "line"));
    if (lx == ly) {
        lx = json_integer_value(json_object_get(x, "column"));
        ly = json_integer_value(json_object_get(y, "column"));
    }
    return (lx > ly) - (lx < ly);
}

/* The failure: a problem with the report in it (RFC 9457 extension
 * members), nothing written. */
static void reply_errors(struct imp *m, int status, const char *type)
{
    bh_json_sort(m->errors, by_line); /* in file order: line, then column */
    json_t *first = json_array_get(m->errors, 0);
    char detail[600], field[64], tp[96];
    int line = (int)json_integer_value(json_object_get(first, "line"));
    snprintf(detail, sizeof(detail), "%zu error%s in devices.csv, nothing was written; line %d: %s",
             m->errors_total, m->errors_total == 1 ? "" : "s", line,
             json_string_value(json_object_get(first, "message")));
    snprintf(field, sizeof(field), "devices.csv:%d:%d", line,
             (int)json_integer_value(json_object_get(first, "column")));
    snprintf(tp, sizeof(tp), "urn:bootherd:problem:%s", type);
    char inst[512], det[sizeof(detail)];
    bh_utf8_sanitize(bh_req_path(m->r), inst, sizeof(inst));
    bh_utf8_sanitize(detail, det, sizeof(det));
    json_t *p = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:O, s:I}", "type", tp, "title",
        status == 409 ? "devices.csv conflicts with the stored hosts" : "Invalid devices.csv",
        "status", status, "detail", det, "instance", inst, "field", field, "dry_run", m->dry_run,
        "errors", m->errors, "errors_total", (json_int_t)m->errors_total);
    char *s = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!s) {
        bh_reply_problem(m->r, 500, "internal", "Internal error", "out of memory", NULL);
        return;
    }
    bh_reply(m->r, status, "application/problem+json", s, strlen(s));
    free(s);
}

/* ---- rooms and groups ------------------------------------------------------------ */

/* Each room (or group) the rows name that the store lacks: kept in *want
 * (name -> first line) when it may be created, else an error at every
 * line that names it. */
static int check_refs(struct imp *m, struct bh_store *st, enum bh_kind kind, bool create,
                      json_t **want)
{
    const struct bh_kind_desc *k = bh_kind_get(kind);
    json_t *known = json_object(), *missing = json_object();
    *want = json_object();
    if (!known || !missing || !*want) {
        json_decref(known);
        json_decref(missing);
        return BH_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < m->csv.nrows && !rc; i++) {
        const struct bh_devcsv_row *row = &m->csv.rows[i];
        const char *name = kind == BH_KIND_ROOM ? row->room : row->group;
        int col = kind == BH_KIND_ROOM ? BH_DEVCSV_ROOM : BH_DEVCSV_GROUP;
        if (!*name || json_object_get(known, name))
            continue;
        if (!json_object_get(missing, name)) {
            json_t *obj = NULL;
            struct bh_err e;
            int g = bh_store_get(st, k, name, &obj, &e);
            json_decref(obj);
            if (g == 0) {
                json_object_set_new(known, name, json_true());
                continue;
            }
            if (g != BH_ENOTFOUND) {
                rc = g;
                break;
            }
            json_object_set_new(missing, name, json_true());
            if (create)
                json_object_set_new(*want, name, json_integer(row->line));
        }
        if (!create) {
            char msg[256];
            snprintf(msg, sizeof(msg),
                     "%s '%s' does not exist: create it first, or import with "
                     "?create=%s",
                     k->name, name, k->plural);
            add_error(m, row->line, col, msg);
        }
    }
    json_decref(known);
    json_decref(missing);
    return rc;
}

/* ---- the writes ------------------------------------------------------------------ */

static json_t *host_merge(void *ud, const json_t *cur, struct bh_err *err)
{
    json_t *doc = bh_devcsv_host_merge(ud, cur);
    if (!doc)
        bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    return doc;
}

static int add_put(struct imp *m, enum bh_kind kind, const char *key, json_t *doc,
                   const struct bh_devcsv_row *row)
{
    struct bh_store_put *p = &m->puts[m->nputs];
    m->docs[m->nputs++] = doc;
    if (!doc)
        return BH_ENOMEM;
    p->kind = bh_kind_get(kind);
    p->key = key;
    p->create = doc;
    if (row) {
        p->fn = host_merge;
        p->ud = (void *)row;
        p->flags = BH_UPD_PARTIAL | BH_UPD_SYSTEM;
    }
    return 0;
}

/* A new host's document, as a POST would have it (defaults filled). */
static json_t *new_host(const struct bh_devcsv_row *row, struct bh_err *e)
{
    json_t *raw = bh_devcsv_host_new(row), *doc = NULL;
    if (raw && bh_model_validate(bh_kind_get(BH_KIND_HOST), raw, BH_V_CREATE, &doc, e))
        doc = NULL;
    json_decref(raw);
    return doc;
}

/* A new room's or group's document: its name, the kind's defaults. */
static json_t *named(enum bh_kind kind, const char *name)
{
    json_t *raw = json_pack("{s:s}", "name", name), *doc = NULL;
    if (raw && bh_model_validate(bh_kind_get(kind), raw, BH_V_CREATE, &doc, NULL))
        doc = NULL;
    json_decref(raw);
    return doc;
}

static int plan(struct imp *m)
{
    size_t n = json_object_size(m->rooms) + json_object_size(m->groups) + m->csv.nrows;
    m->puts = calloc(n ? n : 1, sizeof(*m->puts));
    m->docs = calloc(n ? n : 1, sizeof(*m->docs));
    if (!m->puts || !m->docs)
        return BH_ENOMEM;
    const char *name;
    json_t *v;
    json_object_foreach(m->rooms, name, v)
    {
        if (add_put(m, BH_KIND_ROOM, name, named(BH_KIND_ROOM, name), NULL))
            return BH_ENOMEM;
    }
    m->nroom_puts = m->nputs;
    json_object_foreach(m->groups, name, v)
    {
        if (add_put(m, BH_KIND_GROUP, name, named(BH_KIND_GROUP, name), NULL))
            return BH_ENOMEM;
    }
    m->ngroup_puts = m->nputs - m->nroom_puts;
    for (size_t i = 0; i < m->csv.nrows; i++) {
        struct bh_err e;
        bh_err_clear(&e);
        json_t *doc = new_host(&m->csv.rows[i], &e);
        if (!doc && e.code != BH_EINVAL && e.code)
            return e.code;
        if (!doc) { /* the parser's checks are the model's: should not happen */
            add_error(m, m->csv.rows[i].line, 0, e.msg);
            doc = json_object();
        }
        if (add_put(m, BH_KIND_HOST, m->csv.rows[i].mac, doc, &m->csv.rows[i]))
            return BH_ENOMEM;
    }
    return 0;
}

/* The column of the file a stored field comes from. */
static int col_of(const char *field)
{
    static const struct {
        const char *field;
        int col;
    } map[] = {{"name", BH_DEVCSV_HOSTNAME},
               {"mac", BH_DEVCSV_MAC},
               {"ip", BH_DEVCSV_IP},
               {"room", BH_DEVCSV_ROOM},
               {"group", BH_DEVCSV_GROUP}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(field, map[i].field))
            return map[i].col;
    return 0;
}

/* A put the store refused: an error at the line it came from. */
static bool put_failed(void *ud, size_t i, const struct bh_err *e)
{
    struct imp *m = ud;
    int line, col;
    if (i >= m->nroom_puts + m->ngroup_puts) {
        line = m->csv.rows[i - m->nroom_puts - m->ngroup_puts].line;
        col = col_of(e->field);
    } else {
        bool room = i < m->nroom_puts;
        line =
            (int)json_integer_value(json_object_get(room ? m->rooms : m->groups, m->puts[i].key));
        col = room ? BH_DEVCSV_ROOM : BH_DEVCSV_GROUP;
    }
    add_error(m, line, col, e->msg);
    return true;
}

static const char *result_name(enum bh_put_result r)
{
    return r == BH_PUT_CREATED ? "created" : r == BH_PUT_UPDATED ? "updated" : "unchanged";
}

static json_t *report(struct imp *m)
{
    json_int_t count[3] = {0, 0, 0};
    json_t *hosts = json_array(), *rooms = json_array(), *groups = json_array();
    for (size_t i = 0; i < m->nputs; i++) {
        const struct bh_store_put *p = &m->puts[i];
        if (i < m->nroom_puts + m->ngroup_puts) {
            if (p->result == BH_PUT_CREATED)
                json_array_append_new(i < m->nroom_puts ? rooms : groups, json_string(p->key));
            continue;
        }
        const struct bh_devcsv_row *row = p->ud;
        count[p->result]++;
        json_array_append_new(hosts,
                              json_pack("{s:i, s:s, s:s, s:s}", "line", row->line, "mac", row->mac,
                                        "name", row->hostname, "result", result_name(p->result)));
    }
    return json_pack("{s:b, s:I, s:I, s:I, s:o, s:o, s:o, s:[]}", "dry_run", m->dry_run, "created",
                     count[BH_PUT_CREATED], "updated", count[BH_PUT_UPDATED], "unchanged",
                     count[BH_PUT_UNCHANGED], "rooms_created", rooms, "groups_created", groups,
                     "hosts", hosts, "errors");
}

/* ---- the handler ----------------------------------------------------------------- */

static void imp_free(struct imp *m)
{
    for (size_t i = 0; i < m->nputs; i++)
        json_decref(m->docs[i]);
    free(m->docs);
    free(m->puts);
    json_decref(m->errors);
    json_decref(m->rooms);
    json_decref(m->groups);
    bh_devcsv_free(&m->csv);
}

/* Refused by the store: a conflict with what is stored (409), or a value
 * it does not take (422), at the lines they came from.  A failure of the
 * store itself is not the file's. */
static void reply_store_err(struct imp *m, const struct bh_err *e)
{
    bool data = e->code == BH_ECONFLICT || e->code == BH_EINVAL || e->code == BH_ENOREF ||
                e->code == BH_ENOTFOUND;
    if (data && json_array_size(m->errors))
        reply_errors(m, e->code == BH_ECONFLICT ? 409 : 422,
                     e->code == BH_ECONFLICT ? "conflict" : "invalid-devices-csv");
    else
        bh_reply_err(m->r, e);
}

void bh_h_hosts_import(struct bh_req *r)
{
    struct imp m = {.r = r, .errors = json_array()};
    struct bh_store *st = bh_api_ctx(r)->store;
    struct bh_err e;
    bh_err_clear(&e);
    size_t len;
    const char *body = bh_req_body(r, &len);
    if (bh_req_query_each(r, query_arg, &m) || m.replied)
        goto out;
    if (!csv_type(bh_req_header(r, "Content-Type"))) {
        bh_reply_problem(r, 415, "unsupported-media-type", "Unsupported media type",
                         "send devices.csv as text/csv (or text/plain)", NULL);
        goto out;
    }
    int rc = bh_devcsv_parse(body, len, &m.csv, &e);
    if (rc && rc != BH_EINVAL) {
        bh_reply_err(r, &e);
        goto out;
    }
    for (size_t i = 0; i < m.csv.nerrors; i++)
        add_error(&m, m.csv.errors[i].line, m.csv.errors[i].column, m.csv.errors[i].msg);
    m.errors_total = m.csv.errors_total;
    if (!rc && m.csv.nrows == 0)
        add_error(&m, 1, 0, "the file names no device (only comments and empty lines)");
    if (!json_array_size(m.errors) &&
        ((rc = check_refs(&m, st, BH_KIND_ROOM, m.create_rooms, &m.rooms)) ||
         (rc = check_refs(&m, st, BH_KIND_GROUP, m.create_groups, &m.groups)))) {
        bh_err_set(&e, rc, NULL, rc == BH_ENOMEM ? "out of memory" : "the store failed");
        bh_reply_err(r, &e);
        goto out;
    }
    if (json_array_size(m.errors)) {
        reply_errors(&m, 422, "invalid-devices-csv");
        goto out;
    }
    if ((rc = plan(&m))) {
        bh_err_set(&e, rc, NULL, "out of memory");
        bh_reply_err(r, &e);
        goto out;
    }
    if (json_array_size(m.errors)) {
        reply_errors(&m, 422, "invalid-devices-csv");
        goto out;
    }
    struct bh_actor a = bh_api_actor(r);
    if ((rc = bh_store_put_many(st, m.puts, m.nputs, m.dry_run ? BH_PUT_DRY_RUN : 0, &a, put_failed,
                                &m, &e))) {
        reply_store_err(&m, &e);
        goto out;
    }
    bh_reply_json(r, 200, report(&m));
out:
    imp_free(&m);
}
