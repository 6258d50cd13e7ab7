/*
 * console.c - what the web console needs from the API (issue 10), so that
 * each screen loads with at most three requests and never lists all hosts
 * to show fifty:
 *
 *   GET  /api/v1/summary[?room=]          the dashboard's counts (viewer)
 *   GET  /api/v1/hosts?...&include=activity&q=TEXT
 *                                         hosts with their current step
 *   POST /api/v1/hosts/register           name and file many new hosts at
 *                                         once, by pattern (operator)
 *   GET  /api/v1/images?...&include=usage images with versions, sizes and
 *                                         the groups that use them
 *   eta_s on the hosts of GET /api/v1/jobs/{id} (bh_api_job_eta)
 *
 * Counts come from the store's aggregate queries (sqlite_console.c); the
 * rules (name patterns, time left) from model/console.c.  Owned by the
 * console API; docs/api.md "For the console" is its contract.
 */
#include "api.h"

#include "boot/bootsvc.h"
#include "core/mac.h"
#include "core/str.h"
#include "http/metrics.h"
#include "image/imagesvc.h"
#include "model/console.h"
#include "model/startconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REGISTER_MAX 1000 /* hosts in one registration */

static void bad_query(struct bh_req *r, const char *detail, const char *field)
{
    bh_reply_problem(r, 400, "invalid-query", "Bad request", detail, field);
}

static void out_of_memory(struct bh_req *r)
{
    bh_reply_problem(r, 500, "internal", "Internal error", "out of memory", NULL);
}

/* ---- include=... ---------------------------------------------------------- */

/* ?include=A,B: each of the comma-separated words must be `known`; sets
 * *on.  1 if key is "include" (0 if not), -1 after replying 400. */
static int include_arg(struct bh_req *r, const char *key, const char *val, const char *known,
                       bool *on)
{
    if (strcmp(key, "include"))
        return 0;
    const char *p = val;
    size_t kn = strlen(known);
    do {
        size_t n = strcspn(p, ",");
        if (n != kn || strncmp(p, known, n)) {
            char detail[200];
            snprintf(detail, sizeof(detail), "include takes %s (a comma-separated list)", known);
            bad_query(r, detail, "include");
            return -1;
        }
        *on = true;
        p += n;
    } while (*p++ == ',');
    return 1;
}

/* ---- GET /api/v1/summary -------------------------------------------------- */

struct summary_q {
    struct bh_req *r;
    const char *room;
    bool replied;
};

static int summary_arg(void *ud, const char *key, const char *val)
{
    struct summary_q *sq = ud;
    if (!strcmp(key, "room")) {
        sq->room = val;
        return 0;
    }
    char detail[160];
    snprintf(detail, sizeof(detail), "unknown query parameter '%.64s'; use room", key);
    bad_query(sq->r, detail, key);
    sq->replied = true;
    return -1;
}

static const char *mode_name(enum bh_dhcp_mode m)
{
    return m == BH_DHCP_FULL ? "full" : m == BH_DHCP_PROXY ? "proxy" : "off";
}

/* What the boot services do now, viewer-safe: modes and interface names,
 * counts; no addresses, ranges or settings. */
static json_t *boot_figures(struct bh_api *api)
{
    json_t *ifaces = json_array();
    const char *mode = "off";
    struct bh_boot_figures f = {0};
    if (api->boot) {
        const struct bh_boot_config *c = bh_boot_config_of(api->boot);
        for (int i = 0; i < c->nifaces; i++) {
            enum bh_dhcp_mode m = bh_boot_iface_mode(api->boot, i);
            json_array_append_new(
                ifaces, json_pack("{s:s, s:s}", "name", c->ifaces[i].name, "mode", mode_name(m)));
            /* one word for them all: the mode the interfaces that are on share */
            if (m != BH_DHCP_OFF)
                mode = !strcmp(mode, "off") || !strcmp(mode, mode_name(m)) ? mode_name(m) : "mixed";
        }
        bh_boot_figures(api->boot, &f);
    }
    struct bh_http *http = atomic_load(&api->http);
    const struct bh_front_stats *conn = http ? bh_http_get_metrics(http)->conn : NULL;
    uint64_t boot_conns = conn ? atomic_load(&conn->open[BH_CONN_BOOT]) : 0;
    return json_pack("{s:b, s:s, s:o, s:I, s:b, s:I, s:I}", "enabled", api->boot != NULL,
                     "dhcp_mode", mode, "interfaces", ifaces, "leases", (json_int_t)f.leases,
                     "tftp", f.tftp, "tftp_transfers", (json_int_t)f.tftp_transfers,
                     "http_connections", (json_int_t)boot_conns);
}

/* The image store's whole figures: the chunk store's (kept current in
 * memory) and the logical sizes the summary added up; null without it. */
static json_t *store_figures(struct bh_api *api, json_int_t logical)
{
    if (!api->images)
        return json_null();
    struct bh_imagesvc_totals t;
    bh_imagesvc_totals(api->images, &t);
    return json_pack("{s:I, s:I, s:I, s:f}", "chunks", (json_int_t)t.chunks, "stored_bytes",
                     (json_int_t)t.bytes, "logical_bytes", logical, "dedup_ratio",
                     t.bytes ? (double)logical / (double)t.bytes : 0.0);
}

void bh_h_summary(struct bh_req *r)
{
    struct summary_q sq = {r, NULL, false};
    if (bh_req_query_each(r, summary_arg, &sq) || sq.replied)
        return;
    struct bh_api *api = bh_api_ctx(r);
    json_t *sum = NULL;
    struct bh_err e;
    bh_err_clear(&e);
    if (bh_store_summary(api->store, sq.room, &sum, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    json_int_t logical = json_integer_value(json_object_get(sum, "logical_bytes"));
    json_object_del(sum, "logical_bytes");
    if (sq.room)
        json_object_set_new(sum, "room", json_string(sq.room));
    if (json_object_set_new(sum, "store", store_figures(api, logical)) ||
        json_object_set_new(sum, "boot", boot_figures(api))) {
        json_decref(sum);
        out_of_memory(r);
        return;
    }
    bh_reply_json(r, 200, sum);
}

/* ---- activity and time left ----------------------------------------------- */

/* eta_s of a step: its time left when it runs and its progress says, else
 * null */
static json_t *eta_of(const json_t *step)
{
    const char *st = json_string_value(json_object_get(step, "state"));
    int64_t s =
        st && !strcmp(st, "running") ? bh_progress_eta_s(json_object_get(step, "progress")) : -1;
    return s >= 0 ? json_integer(s) : json_null();
}

void bh_api_job_eta(json_t *job)
{
    size_t i, k;
    json_t *h, *t;
    json_array_foreach(json_object_get(job, "hosts"), i, h)
    {
        json_t *eta = NULL;
        json_array_foreach(json_object_get(h, "steps"), k, t)
        {
            const char *st = json_string_value(json_object_get(t, "state"));
            if (!eta && st && !strcmp(st, "running"))
                eta = eta_of(t);
        }
        json_object_set_new(h, "eta_s", eta ? eta : json_null());
    }
}

/* Each host of items gets "activity": what it does now or did last, or
 * null; one store query for the page. */
static int add_activity(struct bh_store *st, json_t *items, struct bh_err *err)
{
    json_t *macs = json_array(), *act = NULL;
    size_t i;
    json_t *h;
    if (!macs)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    json_array_foreach(items, i, h) json_array_append(macs, json_object_get(h, "mac"));
    int rc = bh_store_hosts_activity(st, macs, &act, err);
    json_decref(macs);
    if (rc)
        return rc;
    json_array_foreach(items, i, h)
    {
        json_t *a = json_object_get(act, json_string_value(json_object_get(h, "mac")));
        if (a)
            json_object_set_new(a, "eta_s", eta_of(a));
        json_object_set(h, "activity", a ? a : json_null());
    }
    json_decref(act);
    return 0;
}

/* ---- GET /api/v1/hosts ---------------------------------------------------- */

static int hosts_arg(void *ud, struct bh_req *r, const char *key, const char *val)
{
    return include_arg(r, key, val, "activity", ud);
}

void bh_h_hosts_list(struct bh_req *r)
{
    bool activity = false;
    const struct bh_kind_desc *k = bh_kind_get(BH_KIND_HOST);
    struct bh_api_list *l = bh_api_list_parse(r, k, hosts_arg, &activity, ", include");
    if (!l)
        return;
    struct bh_store *st = bh_api_ctx(r)->store;
    struct bh_list_result res;
    struct bh_err e;
    if (bh_store_list(st, bh_api_list_query(l), &res, &e)) {
        bh_api_list_free(l);
        bh_reply_err(r, &e);
        return;
    }
    if (activity && add_activity(st, res.items, &e)) {
        json_decref(res.items);
        bh_api_list_free(l);
        bh_reply_err(r, &e);
        return;
    }
    bh_reply_json(r, 200, bh_api_list_page(l, res.items, &res));
    bh_api_list_free(l);
}

/* ---- POST /api/v1/hosts/register ------------------------------------------ */

struct reg {
    json_t *names; /* MAC -> name */
    const char *room, *group;
};

/* Inside the store's transaction, for each host: only a new one is named
 * (the store puts its MAC before the message) */
static json_t *register_one(void *ud, const json_t *cur, struct bh_err *err)
{
    struct reg *g = ud;
    const char *state = json_string_value(json_object_get(cur, "state"));
    const char *mac = json_string_value(json_object_get(cur, "mac"));
    if (!state || strcmp(state, "new")) {
        bh_err_sett(err, BH_EINVAL, "not-new", "hosts",
                    "the host is %s, not new: only new hosts are registered (rename a known "
                    "one with PATCH)",
                    state ? state : "in no state");
        return NULL;
    }
    json_t *doc = json_pack("{s:O, s:s}", "name", json_object_get(g->names, mac), "state", "known");
    if (doc && g->room)
        json_object_set_new(doc, "room", json_string(g->room));
    if (doc && g->group)
        json_object_set_new(doc, "group", json_string(g->group));
    if (!doc)
        bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    return doc;
}

/* The MACs of body.hosts, normalised, checked and in body order. */
static int reg_macs(const json_t *hosts, json_t *macs, struct bh_err *e)
{
    if (!json_is_array(hosts) || json_array_size(hosts) == 0 ||
        json_array_size(hosts) > REGISTER_MAX)
        return bh_err_sett(e, BH_EINVAL, json_is_array(hosts) ? "invalid-value" : "wrong-type",
                           "hosts", "\"hosts\" is a list of 1 to %d MAC addresses", REGISTER_MAX);
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        char mac[BH_MAC_STRLEN], field[32];
        snprintf(field, sizeof(field), "hosts[%zu]", i);
        if (!json_is_string(h) || bh_mac_normalize(json_string_value(h), mac))
            return bh_err_sett(e, BH_EINVAL, "invalid-value", field,
                               "%s is not a MAC address (like 00:11:22:33:44:55)", field);
        for (size_t k = 0; k < json_array_size(macs); k++)
            if (!strcmp(json_string_value(json_array_get(macs, k)), mac))
                return bh_err_sett(e, BH_EINVAL, "invalid-value", field, "%s: %s is listed twice",
                                   field, mac);
        json_array_append_new(macs, json_string(mac));
    }
    return 0;
}

/* macs sorted by first seen (created_at; MAC for a tie): the new hosts
 * listed in that order, a page at a time, keeping those of macs.  A MAC
 * that is not a new host keeps its place at the end, for the store to
 * name in its refusal. */
static int by_first_seen(struct bh_store *st, json_t *macs, struct bh_err *e)
{
    const struct bh_kind_desc *k = bh_kind_get(BH_KIND_HOST);
    struct bh_list_query q = {.kind = k, .limit = BH_LIST_MAX};
    q.filters[0].field = bh_kind_field(k, "state");
    q.filters[0].value = "new";
    q.nfilters = 1;
    q.sort[0].field = bh_kind_field(k, "created_at");
    q.sort[1].field = bh_kind_field(k, "mac");
    q.nsort = 2;
    json_t *want = json_object(), *sorted = json_array();
    size_t i;
    json_t *m;
    json_array_foreach(macs, i, m) json_object_set_new(want, json_string_value(m), json_true());
    int rc = 0;
    for (bool more = true; !rc && more && json_object_size(want);) {
        struct bh_list_result res = {0};
        if ((rc = bh_store_list(st, &q, &res, e)))
            break;
        json_t *h;
        json_array_foreach(res.items, i, h)
        {
            const char *mac = json_string_value(json_object_get(h, "mac"));
            if (mac && json_object_get(want, mac)) {
                json_array_append_new(sorted, json_string(mac));
                json_object_del(want, mac);
            }
        }
        more = res.more;
        q.offset += (int64_t)json_array_size(res.items);
        json_decref(res.items);
    }
    json_array_foreach(macs, i, m)
    {
        if (json_object_get(want, json_string_value(m)))
            json_array_append(sorted, m);
    }
    if (!rc) {
        json_array_clear(macs);
        json_array_extend(macs, sorted);
    }
    json_decref(want);
    json_decref(sorted);
    return rc;
}

static int mac_cmp(const void *a, const void *b)
{
    return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

/* Each name of names must be a valid host name (the host kind's rules). */
static int names_ok(const json_t *names, struct bh_err *e)
{
    const struct bh_field *f = bh_kind_field(bh_kind_get(BH_KIND_HOST), "name");
    size_t i;
    json_t *n;
    json_array_foreach(names, i, n)
    {
        json_t *norm = NULL;
        struct bh_err fe;
        int rc = bh_model_check_value(f, n, &norm, &fe);
        json_decref(norm);
        if (rc)
            return bh_err_sett(e, BH_EINVAL, "invalid-value", "pattern",
                               "the pattern makes '%s', which is not a host name: %s",
                               json_string_value(n), fe.msg);
    }
    return 0;
}

static const char *const reg_fields[] = {"hosts", "pattern", "order", "room", "group", NULL};

static int reg_body(const json_t *body, const char **pattern, const char **order, struct reg *g,
                    struct bh_err *e)
{
    if (!json_is_object(body))
        return bh_err_sett(e, BH_EINVAL, "wrong-type", NULL,
                           "the body is {hosts, pattern, order?, room?, group?}");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        size_t i = 0;
        while (reg_fields[i] && strcmp(reg_fields[i], key))
            i++;
        if (!reg_fields[i])
            return bh_err_sett(e, BH_EINVAL, "unknown-field", key,
                               "unknown field '%.64s': use hosts, pattern, order, room, group",
                               key);
        if (strcmp(key, "hosts") && !json_is_string(v) &&
            !(json_is_null(v) && (!strcmp(key, "room") || !strcmp(key, "group"))))
            return bh_err_sett(e, BH_EINVAL, "wrong-type", key, "\"%s\" is a string", key);
    }
    *pattern = json_string_value(json_object_get(body, "pattern"));
    if (!*pattern)
        return bh_err_sett(e, BH_EINVAL, "missing-field", "pattern",
                           "\"pattern\" names the hosts, like r101-pc{01..30}");
    *order = json_string_value(json_object_get(body, "order"));
    if (!*order)
        *order = "given";
    if (strcmp(*order, "given") && strcmp(*order, "mac") && strcmp(*order, "first_seen"))
        return bh_err_sett(e, BH_EINVAL, "invalid-value", "order",
                           "\"order\" is given, mac or first_seen");
    g->room = json_string_value(json_object_get(body, "room"));
    g->group = json_string_value(json_object_get(body, "group"));
    return 0;
}

/* The store's refusals as the registration's: 422, naming the field. */
static void reg_reply_err(struct bh_req *r, struct bh_err *e)
{
    if (e->code == BH_ENOTFOUND) { /* a MAC that is no host */
        e->code = BH_ENOREF;
        e->type = "missing-reference";
        bh_strlcpy(e->field, "hosts", sizeof(e->field));
    } else if (e->code == BH_ECONFLICT && !strcmp(e->field, "name")) { /* a name taken */
        e->code = BH_EINVAL;
        e->type = "name-taken";
        bh_strlcpy(e->field, "pattern", sizeof(e->field));
    }
    bh_reply_err(r, e);
}

void bh_h_hosts_register(struct bh_req *r)
{
    json_t *body = bh_req_json(r);
    if (!body)
        return;
    struct bh_store *st = bh_api_ctx(r)->store;
    struct reg g = {json_object(), NULL, NULL};
    json_t *macs = json_array(), *names = NULL, *out = NULL;
    const char *pattern = NULL, *order = NULL;
    struct bh_err e;
    bh_err_clear(&e);
    int rc = g.names && macs ? 0 : bh_err_set(&e, BH_ENOMEM, NULL, "out of memory");
    if (!rc)
        rc = reg_body(body, &pattern, &order, &g, &e);
    if (!rc)
        rc = reg_macs(json_object_get(body, "hosts"), macs, &e);
    if (!rc && !strcmp(order, "mac"))
        bh_json_sort(macs, mac_cmp);
    if (!rc && !strcmp(order, "first_seen"))
        rc = by_first_seen(st, macs, &e);
    if (!rc)
        rc = bh_name_pattern_expand(pattern, json_array_size(macs), &names, &e);
    if (!rc)
        rc = names_ok(names, &e);
    size_t i;
    json_t *m;
    json_array_foreach(macs, i, m)
    {
        if (!rc)
            json_object_set(g.names, json_string_value(m), json_array_get(names, i));
    }
    struct bh_actor a = bh_api_actor(r);
    if (!rc)
        rc = bh_store_modify_many(st, bh_kind_get(BH_KIND_HOST), macs, register_one, &g,
                                  BH_UPD_PARTIAL | BH_UPD_SYSTEM, &a, &out, &e);
    if (rc)
        reg_reply_err(r, &e);
    else
        bh_reply_json(r, 200, json_pack("{s:o}", "hosts", out));
    json_decref(g.names);
    json_decref(macs);
    json_decref(names);
    json_decref(body); /* pattern, order, room and group live in it */
}

/* ---- GET /api/v1/images --------------------------------------------------- */

/* Each image of items gets "usage": its versions and sizes (one store
 * query for the page) and the groups whose start.conf names it (the rule
 * of a host token's reads: bh_startconf_uses_image). */
static int add_usage(struct bh_store *st, json_t *items, struct bh_err *err)
{
    json_t *names = json_array(), *usage = NULL;
    size_t i;
    json_t *img;
    if (!names)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    json_array_foreach(items, i, img) json_array_append(names, json_object_get(img, "name"));
    int rc = bh_store_images_usage(st, names, &usage, err);
    json_decref(names);
    json_array_foreach(items, i, img)
    {
        json_t *u = json_object_get(usage, json_string_value(json_object_get(img, "name")));
        if (!rc && u) {
            json_object_set_new(u, "groups", json_array());
            json_object_set(img, "usage", u);
        }
    }
    json_decref(usage);
    /* groups are few (tens, hundreds): read them a page at a time */
    const struct bh_kind_desc *gk = bh_kind_get(BH_KIND_GROUP);
    struct bh_list_query q = {.kind = gk, .limit = BH_LIST_MAX};
    q.sort[0].field = bh_kind_field(gk, "name");
    q.nsort = 1;
    for (bool more = !rc && json_array_size(items); more;) {
        struct bh_list_result res = {0};
        if ((rc = bh_store_list(st, &q, &res, err)))
            break;
        size_t k;
        json_t *grp;
        json_array_foreach(res.items, k, grp)
        {
            const json_t *conf = json_object_get(grp, "config");
            json_array_foreach(items, i, img)
            {
                const char *name = json_string_value(json_object_get(img, "name"));
                json_t *groups = json_object_get(json_object_get(img, "usage"), "groups");
                if (name && groups && bh_startconf_uses_image(conf, name))
                    json_array_append(groups, json_object_get(grp, "name"));
            }
        }
        more = res.more;
        q.offset += (int64_t)json_array_size(res.items);
        json_decref(res.items);
    }
    return rc;
}

static int images_arg(void *ud, struct bh_req *r, const char *key, const char *val)
{
    return include_arg(r, key, val, "usage", ud);
}

void bh_h_images_list(struct bh_req *r)
{
    bool usage = false;
    const struct bh_kind_desc *k = bh_kind_get(BH_KIND_IMAGE);
    struct bh_api_list *l = bh_api_list_parse(r, k, images_arg, &usage, ", include");
    if (!l)
        return;
    struct bh_store *st = bh_api_ctx(r)->store;
    struct bh_list_result res;
    struct bh_err e;
    if (bh_store_list(st, bh_api_list_query(l), &res, &e)) {
        bh_api_list_free(l);
        bh_reply_err(r, &e);
        return;
    }
    if (usage && add_usage(st, res.items, &e)) {
        json_decref(res.items);
        bh_api_list_free(l);
        bh_reply_err(r, &e);
        return;
    }
    bh_reply_json(r, 200, bh_api_list_page(l, res.items, &res));
    bh_api_list_free(l);
}
