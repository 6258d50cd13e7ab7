/*
 * misc.c - health, readiness, metrics, index, whoami, audit, start.conf.
 */
#include "api.h"

#include "boot/bootsvc.h"
#include "core/buf.h"
#include "core/ini.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "http/metrics.h"
#include "image/imagesvc.h"
#include "model/startconf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bh_h_health(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    bh_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:I}", "status", "ok", "version", BH_VERSION, "uptime_s",
                            (json_int_t)((bh_wall_ms() - api->started_ms) / 1000)));
}

void bh_h_ready(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    struct bh_err e;
    if (bh_store_ping(api->store, &e)) {
        bh_reply_problem(r, 503, "unavailable", "Not ready", e.msg, NULL);
        return;
    }
    bh_reply_json(r, 200,
                  json_pack("{s:s, s:I}", "status", "ready", "revision",
                            (json_int_t)bh_store_revision(api->store)));
}

void bh_h_index(struct bh_req *r)
{
    json_t *links = json_object();
    for (size_t i = 0; i < BH_KIND__COUNT; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/api/v1/%s", bh_kinds[i].plural);
        json_object_set_new(links, bh_kinds[i].plural, json_string(path));
    }
    json_object_set_new(links, "audit", json_string("/api/v1/audit"));
    json_object_set_new(links, "events", json_string("/api/v1/events"));
    json_object_set_new(links, "openapi", json_string("/api/v1/openapi.json"));
    bh_reply_json(
        r, 200,
        json_pack("{s:s, s:s, s:o}", "name", "bootherd", "version", BH_VERSION, "links", links));
}

void bh_h_whoami(struct bh_req *r)
{
    const struct bh_auth *a = bh_req_auth(r);
    bh_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:s}", "name", a->name, "role", bh_role_name(a->role),
                            "token_id", a->token_id));
}

/* ---- /metrics ------------------------------------------------------------ */

static int process_metrics(struct bh_buf *o, int64_t started_ms)
{
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    unsigned long utime = 0, stime = 0, vsize = 0;
    long rss = 0, threads = 0;
    char *stat = NULL;
    size_t n;
    if (bh_read_file("/proc/self/stat", 4096, &stat, &n, NULL) == 0) {
        /* fields after the ")" that ends the command name */
        const char *p = strrchr(stat, ')');
        if (p && sscanf(p + 2,
                        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d "
                        "%ld %*d %*u %lu %ld",
                        &utime, &stime, &threads, &vsize, &rss) != 5)
            utime = stime = 0;
        free(stat);
    }
    long fds = 0;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.')
                fds++;
        closedir(d);
        fds--; /* the DIR itself */
    }
    return bh_buf_printf(
        o,
        "# HELP process_cpu_seconds_total User and system CPU time.\n"
        "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n"
        "# HELP process_resident_memory_bytes Resident memory.\n"
        "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %ld\n"
        "# HELP process_virtual_memory_bytes Virtual memory.\n"
        "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %lu\n"
        "# HELP process_open_fds Open file descriptors.\n"
        "# TYPE process_open_fds gauge\nprocess_open_fds %ld\n"
        "# HELP process_threads Threads.\n# TYPE process_threads gauge\nprocess_threads %ld\n"
        "# HELP process_start_time_seconds Start time since the epoch.\n"
        "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %lld\n",
        tick > 0 ? (double)(utime + stime) / (double)tick : 0.0, rss * page, vsize, fds, threads,
        (long long)(started_ms / 1000));
}

static int store_metrics(struct bh_buf *o, struct bh_store *s)
{
    const struct bh_store_stats *st = bh_store_get_stats(s);
    int rc = bh_buf_adds(o, "# HELP bootherd_store_operations_total Store operations.\n"
                            "# TYPE bootherd_store_operations_total counter\n");
    for (int i = 0; i < BH_OP__COUNT && !rc; i++)
        rc = bh_buf_printf(o, "bootherd_store_operations_total{op=\"%s\"} %llu\n",
                           bh_store_op_name((enum bh_store_op)i),
                           (unsigned long long)atomic_load(&st->count[i]));
    if (!rc)
        rc = bh_buf_adds(o, "# HELP bootherd_store_errors_total Store operations that failed.\n"
                            "# TYPE bootherd_store_errors_total counter\n");
    for (int i = 0; i < BH_OP__COUNT && !rc; i++)
        rc = bh_buf_printf(o, "bootherd_store_errors_total{op=\"%s\"} %llu\n",
                           bh_store_op_name((enum bh_store_op)i),
                           (unsigned long long)atomic_load(&st->errors[i]));
    if (!rc)
        rc = bh_buf_adds(o, "# HELP bootherd_store_seconds_total Time spent in the store.\n"
                            "# TYPE bootherd_store_seconds_total counter\n");
    for (int i = 0; i < BH_OP__COUNT && !rc; i++)
        rc = bh_buf_printf(o, "bootherd_store_seconds_total{op=\"%s\"} %.6f\n",
                           bh_store_op_name((enum bh_store_op)i),
                           (double)atomic_load(&st->nanos[i]) / 1e9);
    if (!rc)
        rc = bh_buf_printf(o,
                           "# HELP bootherd_store_revision Current global revision.\n"
                           "# TYPE bootherd_store_revision gauge\nbootherd_store_revision %lld\n",
                           (long long)bh_store_revision(s));
    return rc;
}

void bh_h_metrics(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    struct bh_buf o;
    bh_buf_init(&o, 4u << 20);
    int rc = bh_buf_printf(&o,
                           "# HELP bootherd_build_info Version of this bootherd.\n"
                           "# TYPE bootherd_build_info gauge\n"
                           "bootherd_build_info{version=\"%s\"} 1\n",
                           BH_VERSION);
    struct bh_http *http = atomic_load(&api->http);
    if (!rc && http)
        rc = bh_http_metrics_render(bh_http_get_metrics(http), &o);
    if (!rc)
        rc = store_metrics(&o, api->store);
    if (!rc && api->hub)
        rc = bh_buf_printf(&o,
                           "# HELP bootherd_ws_connections Open WebSocket connections.\n"
                           "# TYPE bootherd_ws_connections gauge\nbootherd_ws_connections %zu\n",
                           bh_ws_hub_count(api->hub));
    if (!rc && api->boot)
        rc = bh_boot_metrics(api->boot, &o);
    if (!rc && api->images)
        rc = bh_imagesvc_metrics(api->images, &o);
    if (!rc)
        rc = process_metrics(&o, api->started_ms);
    if (rc)
        bh_reply_problem(r, 500, "internal", "Internal error", "metrics too large", NULL);
    else
        bh_reply(r, 200, "text/plain; version=0.0.4", o.p, o.len);
    bh_buf_free(&o);
}

/* ---- /audit -------------------------------------------------------------- */

void bh_h_audit(struct bh_req *r)
{
    struct bh_audit_query q = {
        bh_req_query(r, "kind"), bh_req_query(r, "key"), bh_req_query(r, "actor"), 0, 100, NULL};
    const char *before = bh_req_query(r, "before"), *limit = bh_req_query(r, "limit");
    if ((before && bh_parse_i64(before, 1, INT64_MAX, &q.before_id)) ||
        (limit && bh_parse_i64(limit, 1, BH_LIST_MAX, &q.limit))) {
        bh_reply_problem(r, 400, "invalid-query", "Bad request",
                         "before must be a positive audit id and limit 1..1000", NULL);
        return;
    }
    /* the cursor: the id of the page's last (oldest) record */
    if (bh_api_after(r, 1, INT64_MAX, &q.before_id) < 0)
        return;
    /* the records of kinds this caller may read, as for events */
    const char *kinds[BH_KIND__COUNT + 2];
    size_t nk = 0, all = 0;
    for (; bh_event_kinds[all]; all++)
        if (bh_event_read_role(bh_event_kinds[all]) <= bh_req_auth(r)->role)
            kinds[nk++] = bh_event_kinds[all];
    kinds[nk] = NULL;
    if (nk < all)
        q.only_kinds = kinds;
    json_t *items;
    struct bh_err e;
    if (bh_store_audit(bh_api_ctx(r)->store, &q, &items, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    bh_reply_json(r, 200, bh_api_page_full(items, q.limit, "id"));
}

/* ---- start.conf ---------------------------------------------------------- */

void bh_h_startconf_get(struct bh_req *r)
{
    json_t *g;
    struct bh_err e;
    const struct bh_kind_desc *k = bh_req_route(r)->data;
    if (bh_store_get(bh_api_ctx(r)->store, k, bh_req_param(r, "key"), &g, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    json_t *conf = json_object_get(g, "config");
    json_t *empty = json_object();
    char *text = bh_startconf_render(json_is_object(conf) ? conf : empty, &e);
    json_decref(empty);
    char etag[32];
    bh_etag(json_integer_value(json_object_get(g, "rev")), etag);
    json_decref(g);
    if (!text) {
        bh_reply_err(r, &e);
        return;
    }
    bh_reply_header(r, "ETag", etag);
    bh_reply(r, 200, "text/plain; charset=utf-8", text, strlen(text));
    free(text);
}

static bool image_in_store(void *ud, const char *name)
{
    json_t *img = NULL;
    bool ok = bh_store_get(ud, bh_kind_get(BH_KIND_IMAGE), name, &img, NULL) == 0;
    json_decref(img);
    return ok;
}

void bh_api_group_notes(struct bh_api *api, json_t *group)
{
    const json_t *conf = json_object_get(group, "config");
    json_t *notes = json_array();
    if (!notes ||
        (json_is_object(conf) && bh_startconf_notes(conf, image_in_store, api->store, notes))) {
        json_decref(notes);
        return;
    }
    json_object_set_new(group, "startconf_notes", notes);
}

void bh_h_startconf_put(struct bh_req *r)
{
    const struct bh_kind_desc *k = bh_req_route(r)->data;
    int64_t if_rev = bh_if_match(r);
    size_t len;
    const char *body = bh_req_body(r, &len);
    json_t *conf = NULL, *warnings = NULL, *obj = NULL;
    struct bh_err e;
    if (if_rev < 0) {
        bh_reply_problem(r, 412, "precondition-failed", "Precondition failed",
                         "If-Match must be an ETag from this server, like \"42\"", NULL);
        return;
    }
    if (bh_startconf_parse(body, len, &conf, &warnings, &e)) {
        bh_reply_problem(r, e.code == BH_ETOOBIG ? 413 : 422, "invalid-startconf",
                         "Invalid start.conf", e.msg, e.field);
        return;
    }
    if (bh_startconf_keep_text(conf, body, len, warnings)) {
        json_decref(conf);
        json_decref(warnings);
        bh_reply_problem(r, 500, "internal", "Internal error", "out of memory", NULL);
        return;
    }
    json_t *doc = json_pack("{s:o}", "config", conf);
    struct bh_actor a = bh_api_actor(r);
    if (!doc || bh_store_update(bh_api_ctx(r)->store, k, bh_req_param(r, "key"), doc, if_rev,
                                BH_UPD_PARTIAL, &a, &obj, &e)) {
        if (!doc)
            bh_err_set(&e, BH_ENOMEM, NULL, "out of memory");
        bh_reply_err(r, &e);
    } else {
        /* the file's own warnings, then the cross-checks and notes */
        bh_api_group_notes(bh_api_ctx(r), obj);
        json_array_extend(warnings, json_object_get(obj, "startconf_notes"));
        json_object_set_new(obj, "warnings", warnings);
        warnings = NULL;
        char etag[32];
        bh_etag(json_integer_value(json_object_get(obj, "rev")), etag);
        bh_reply_header(r, "ETag", etag);
        bh_reply_json(r, 200, obj);
    }
    json_decref(doc);
    json_decref(warnings);
}
