/*
 * resources.c - generic CRUD handlers for every kind (route data = kind).
 */
#include "api.h"

#include "core/str.h"
#include "model/selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 100

static const struct bh_kind_desc *route_kind(struct bh_req *r)
{
    return bh_req_route(r)->data;
}

/* The object a route names: {key} in the path; the one settings object,
 * /api/v1/settings, has no key in its path and is called "boot". */
static const char *obj_key(struct bh_req *r)
{
    const char *k = bh_req_param(r, "key");
    return k ? k : "boot";
}

static void reply_object(struct bh_req *r, int status, json_t *obj)
{
    if (route_kind(r)->kind == BH_KIND_GROUP)
        bh_api_group_notes(bh_api_ctx(r), obj);
    char etag[32];
    bh_etag(json_integer_value(json_object_get(obj, "rev")), etag);
    bh_reply_header(r, "ETag", etag);
    bh_reply_json(r, status, obj);
}

static void bad_query(struct bh_req *r, const char *detail, const char *field)
{
    bh_reply_problem(r, 400, "invalid-query", "Bad request", detail, field);
}

/* ---- list ---------------------------------------------------------------- */

struct bh_api_list {
    struct bh_req *r;
    const struct bh_kind_desc *k;
    struct bh_list_query q;
    struct bh_selector sel;
    bool replied;
    bh_api_list_arg_fn extra; /* the route's own parameters; may be NULL */
    void *extra_ud;
    const char *extra_names;
};

static bool searchable(const struct bh_kind_desc *k)
{
    for (size_t i = 0; i < k->nfields; i++)
        if (k->fields[i].flags & BH_FF_SEARCH)
            return true;
    return false;
}

/* ?q=: printable text of at most BH_SEARCH_MAX bytes */
static bool search_ok(const char *v)
{
    size_t n = strlen(v);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return false;
    return n <= BH_SEARCH_MAX;
}

static int parse_sort(struct bh_api_list *lc, const char *v)
{
    char item[64];
    const char *p = v;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        bool desc = n && p[0] == '-';
        if (desc) {
            p++;
            n--;
        }
        if (n == 0 || n >= sizeof(item) || lc->q.nsort == BH_QUERY_MAX_SORT)
            return -1;
        memcpy(item, p, n);
        item[n] = '\0';
        const struct bh_field *f = bh_kind_field(lc->k, item);
        if (!f || !(f->flags & BH_FF_SORT))
            return -1;
        lc->q.sort[lc->q.nsort].field = f;
        lc->q.sort[lc->q.nsort].desc = desc;
        lc->q.nsort++;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static void sortable_list(const struct bh_kind_desc *k, unsigned flag, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k->nfields && n < cap; i++)
        if (k->fields[i].flags & flag)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "", k->fields[i].name);
}

static int list_arg(void *ud, const char *key, const char *val)
{
    struct bh_api_list *lc = ud;
    char detail[400];
    int64_t n;
    int took = lc->extra ? lc->extra(lc->extra_ud, lc->r, key, val) : 0;
    if (took) {
        lc->replied = took < 0;
        return took < 0 ? -1 : 0;
    }
    if (strcmp(key, "q") == 0 && searchable(lc->k)) {
        if (!search_ok(val)) {
            snprintf(detail, sizeof(detail),
                     "q is printable text of at most %d bytes (a part of a name, MAC or address)",
                     BH_SEARCH_MAX);
            goto bad;
        }
        lc->q.search = val;
    } else if (strcmp(key, "limit") == 0) {
        if (bh_parse_i64(val, 1, BH_LIST_MAX, &n)) {
            snprintf(detail, sizeof(detail), "limit must be an integer from 1 to %d", BH_LIST_MAX);
            goto bad;
        }
        lc->q.limit = n;
    } else if (strcmp(key, "after") == 0) {
        if (bh_parse_i64(val, 0, INT64_MAX / 2, &n)) {
            snprintf(detail, sizeof(detail), "%s", BH_CURSOR_BAD);
            goto bad;
        }
        lc->q.offset = n;
    } else if (strcmp(key, "offset") == 0) {
        if (bh_parse_i64(val, 0, INT64_MAX / 2, &n)) {
            snprintf(detail, sizeof(detail), "offset must be a non-negative integer");
            goto bad;
        }
        lc->q.offset = n;
    } else if (strcmp(key, "count") == 0) {
        bool b;
        if (bh_parse_bool(val, &b)) {
            snprintf(detail, sizeof(detail), "count must be true or false");
            goto bad;
        }
        lc->q.want_total = b;
    } else if (strcmp(key, "sort") == 0) {
        if (parse_sort(lc, val)) {
            char fields[256];
            sortable_list(lc->k, BH_FF_SORT, fields, sizeof(fields));
            snprintf(detail, sizeof(detail),
                     "sort '%.64s': use up to %d comma-separated fields from %s, '-' for "
                     "descending",
                     val, BH_QUERY_MAX_SORT, fields);
            goto bad;
        }
    } else if (strcmp(key, "selector") == 0) {
        struct bh_err e;
        if (bh_selector_parse(val, &lc->sel, &e)) {
            bad_query(lc->r, e.msg, "selector");
            lc->replied = true;
            return -1;
        }
        bh_selector_resolve(&lc->sel, lc->k);
        lc->q.selector = &lc->sel;
    } else {
        const struct bh_field *f = bh_kind_field(lc->k, key);
        if (!f || !(f->flags & BH_FF_FILTER)) {
            char fields[256];
            sortable_list(lc->k, BH_FF_FILTER, fields, sizeof(fields));
            snprintf(detail, sizeof(detail),
                     "unknown query parameter '%.64s'; use limit, after, offset, sort, count, "
                     "selector%s%s%s%s",
                     key, searchable(lc->k) ? ", q" : "", lc->extra_names ? lc->extra_names : "",
                     fields[0] ? ", " : "", fields);
            goto bad;
        }
        if (f->type == BH_F_ENUM) {
            json_t *v = json_string(val), *norm = NULL;
            struct bh_err e;
            int rc = v ? bh_model_check_value(f, v, &norm, &e) : BH_ENOMEM;
            json_decref(v);
            json_decref(norm);
            if (rc) {
                bad_query(lc->r, e.msg, key);
                lc->replied = true;
                return -1;
            }
        }
        if (lc->q.nfilters == BH_QUERY_MAX_FILTERS) {
            snprintf(detail, sizeof(detail), "too many filters");
            goto bad;
        }
        lc->q.filters[lc->q.nfilters].field = f;
        lc->q.filters[lc->q.nfilters].value = val;
        lc->q.nfilters++;
    }
    return 0;
bad:
    bad_query(lc->r, detail, key);
    lc->replied = true;
    return -1;
}

struct bh_api_list *bh_api_list_parse(struct bh_req *r, const struct bh_kind_desc *k,
                                      bh_api_list_arg_fn extra, void *ud, const char *extra_names)
{
    struct bh_api_list *lc = calloc(1, sizeof(*lc));
    if (!lc) {
        bh_reply_problem(r, 500, "internal", "Internal error", "out of memory", NULL);
        return NULL;
    }
    lc->r = r;
    lc->k = k;
    lc->q.kind = k;
    lc->q.limit = LIST_DEFAULT;
    lc->extra = extra;
    lc->extra_ud = ud;
    lc->extra_names = extra_names;
    if (bh_req_query_each(r, list_arg, lc) || lc->replied) {
        free(lc);
        return NULL;
    }
    if (lc->q.nsort == 0) {
        lc->q.sort[0].field = bh_kind_field(lc->k, lc->k->default_sort);
        lc->q.nsort = 1;
    }
    return lc;
}

const struct bh_list_query *bh_api_list_query(const struct bh_api_list *l)
{
    return &l->q;
}

void bh_api_list_free(struct bh_api_list *l)
{
    free(l);
}

int bh_api_after(struct bh_req *r, int64_t min, int64_t max, int64_t *out)
{
    const char *v = bh_req_query(r, "after");
    if (!v)
        return 0;
    if (bh_parse_i64(v, min, max, out) == 0)
        return 1;
    bad_query(r, BH_CURSOR_BAD, "after");
    return -1;
}

json_t *bh_api_page(json_t *items, int64_t next)
{
    char cur[24];
    snprintf(cur, sizeof(cur), "%lld", (long long)next);
    return json_pack("{s:o, s:s?}", "items", items, "next", next >= 0 ? cur : NULL);
}

json_t *bh_api_page_full(json_t *items, int64_t limit, const char *key)
{
    size_t n = json_array_size(items);
    const json_t *last = json_array_get(items, n ? n - 1 : 0);
    return bh_api_page(items,
                       (int64_t)n == limit ? json_integer_value(json_object_get(last, key)) : -1);
}

json_t *bh_api_list_page(const struct bh_api_list *l, json_t *items,
                         const struct bh_list_result *res)
{
    const struct bh_list_query *q = bh_api_list_query(l);
    size_t n = json_array_size(items);
    json_t *out = bh_api_page(items, res->more ? q->offset + (int64_t)n : -1);
    if (out && res->total >= 0)
        json_object_set_new(out, "total", json_integer(res->total));
    return out;
}

void bh_h_list(struct bh_req *r)
{
    struct bh_api_list *l = bh_api_list_parse(r, route_kind(r), NULL, NULL, NULL);
    if (!l)
        return;
    struct bh_list_result res;
    struct bh_err e;
    if (bh_store_list(bh_api_ctx(r)->store, bh_api_list_query(l), &res, &e))
        bh_reply_err(r, &e);
    else
        bh_reply_json(r, 200, bh_api_list_page(l, res.items, &res));
    bh_api_list_free(l);
}

/* ---- single objects ------------------------------------------------------ */

void bh_h_get(struct bh_req *r)
{
    json_t *obj;
    struct bh_err e;
    if (bh_store_get(bh_api_ctx(r)->store, route_kind(r), obj_key(r), &obj, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    char etag[32];
    bh_etag(json_integer_value(json_object_get(obj, "rev")), etag);
    const char *inm = bh_req_header(r, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0) {
        json_decref(obj);
        bh_reply_header(r, "ETag", etag);
        bh_reply_empty(r, 304);
        return;
    }
    reply_object(r, 200, obj);
}

static bool if_match_ok(struct bh_req *r, int64_t *if_rev)
{
    *if_rev = bh_if_match(r);
    if (*if_rev >= 0)
        return true;
    bh_reply_problem(r, 412, "precondition-failed", "Precondition failed",
                     "If-Match must be an ETag from this server, like \"42\"", NULL);
    return false;
}

void bh_h_create(struct bh_req *r)
{
    const struct bh_kind_desc *k = route_kind(r);
    json_t *body = bh_req_json(r), *doc = NULL, *obj = NULL;
    struct bh_err e;
    if (!body)
        return;
    struct bh_actor a = bh_api_actor(r);
    if (bh_model_validate(k, body, BH_V_CREATE, &doc, &e) ||
        bh_store_create(bh_api_ctx(r)->store, k, doc, &a, &obj, &e)) {
        bh_reply_err(r, &e);
    } else {
        char loc[256];
        snprintf(loc, sizeof(loc), "/api/v1/%s/%s", k->plural, bh_model_key_of(k, obj));
        bh_reply_header(r, "Location", loc);
        reply_object(r, 201, obj);
    }
    json_decref(body);
    json_decref(doc);
}

void bh_h_replace(struct bh_req *r)
{
    const struct bh_kind_desc *k = route_kind(r);
    int64_t if_rev;
    struct bh_err e;
    if (!if_match_ok(r, &if_rev))
        return;
    json_t *body = bh_req_json(r), *doc = NULL, *obj = NULL;
    if (!body)
        return;
    struct bh_actor a = bh_api_actor(r);
    if (bh_model_validate(k, body, BH_V_REPLACE, &doc, &e) ||
        bh_store_update(bh_api_ctx(r)->store, k, obj_key(r), doc, if_rev, 0, &a, &obj, &e))
        bh_reply_err(r, &e);
    else
        reply_object(r, 200, obj);
    json_decref(body);
    json_decref(doc);
}

struct patch_ctx {
    const struct bh_kind_desc *k;
    const json_t *patch;
};

/* Inside the store's write transaction: current state + patch -> new state. */
static json_t *apply_patch(void *ud, const json_t *cur, struct bh_err *err)
{
    struct patch_ctx *pc = ud;
    json_t *merged = bh_model_writable(pc->k, cur), *doc = NULL;
    if (!merged) {
        bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    bh_merge_patch(merged, pc->patch);
    bh_model_validate(pc->k, merged, BH_V_REPLACE, &doc, err);
    json_decref(merged);
    return doc;
}

/*
 * PATCH (RFC 7396 merge patch).  The store applies the patch to the current
 * state inside its write transaction, so concurrent patches of different
 * fields never lose an update; with If-Match the client asked for exactly
 * that revision and gets 412 if it moved.
 */
void bh_h_patch(struct bh_req *r)
{
    const struct bh_kind_desc *k = route_kind(r);
    int64_t if_rev;
    struct bh_err e;
    if (!if_match_ok(r, &if_rev))
        return;
    json_t *body = bh_req_json(r), *patch = NULL, *obj = NULL;
    if (!body)
        return;
    struct bh_actor a = bh_api_actor(r);
    bh_err_clear(&e);
    if (bh_model_validate(k, body, BH_V_PATCH, &patch, &e)) {
        bh_reply_err(r, &e);
    } else {
        struct patch_ctx pc = {k, patch};
        if (bh_store_modify(bh_api_ctx(r)->store, k, obj_key(r), apply_patch, &pc, if_rev, 0, &a,
                            &obj, &e))
            bh_reply_err(r, &e);
        else
            reply_object(r, 200, obj);
    }
    json_decref(body);
    json_decref(patch);
}

void bh_h_delete(struct bh_req *r)
{
    int64_t if_rev;
    struct bh_err e;
    if (!if_match_ok(r, &if_rev))
        return;
    struct bh_actor a = bh_api_actor(r);
    if (bh_store_delete(bh_api_ctx(r)->store, route_kind(r), obj_key(r), if_rev, &a, &e))
        bh_reply_err(r, &e);
    else
        bh_reply_empty(r, 204);
}

/* POST /tokens: the plaintext token is in this one response and nowhere else. */
void bh_h_token_create(struct bh_req *r)
{
    const struct bh_kind_desc *k = route_kind(r);
    json_t *body = bh_req_json(r), *doc = NULL, *obj = NULL;
    struct bh_err e;
    char tid[BH_TOKEN_ID_LEN + 1], token[BH_TOKEN_STR_MAX], hash[65];
    if (!body)
        return;
    struct bh_actor a = bh_api_actor(r);
    if (bh_model_validate(k, body, BH_V_CREATE, &doc, &e)) {
        bh_reply_err(r, &e);
    } else if (bh_token_generate(tid, token, hash)) {
        bh_reply_problem(r, 500, "internal", "Internal error", "no randomness", NULL);
    } else {
        json_object_set_new(doc, "id", json_string(tid));
        json_object_set_new(doc, "hash", json_string(hash));
        json_object_set_new(doc, "created_by", json_string(a.name));
        if (bh_store_create(bh_api_ctx(r)->store, k, doc, &a, &obj, &e)) {
            bh_reply_err(r, &e);
        } else {
            json_object_set_new(obj, "token", json_string(token));
            char loc[128];
            snprintf(loc, sizeof(loc), "/api/v1/tokens/%s", tid);
            bh_reply_header(r, "Location", loc);
            reply_object(r, 201, obj);
        }
    }
    explicit_bzero(token, sizeof(token));
    json_decref(body);
    json_decref(doc);
}
