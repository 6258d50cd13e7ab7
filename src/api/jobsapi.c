/*
 * jobsapi.c - jobs: steps for a set of hosts.
 *
 *   POST /api/v1/jobs                {targets, steps, when?, wake?, parallel?}
 *   GET  /api/v1/jobs[?before=&limit=]
 *   GET  /api/v1/jobs/{id}           the job with every host's steps
 *   POST /api/v1/jobs/{id}/cancel
 *   POST /api/v1/jobs/{id}/retry     failed and cancelled steps run again
 *
 * targets: {hosts: [name or MAC...], room, group, selector}; every part
 * adds hosts; a name that matches nothing is an error, a room that holds
 * no host is not (the job would simply be empty, which is refused).
 * Steps must work on every target host (model/steps.h, bh_steps_check:
 * OS entry N in its group's start.conf, a version of the image sync:N
 * deploys, a cache partition for initcache ...).  When one (host, step)
 * cannot, the whole job is refused, 422 with "errors": [{host, mac, step,
 * field, reason}], and nothing is created: as MAAS and FOG refuse a whole
 * request, and an operator would not want half a room imaged.
 *
 * With wake, the answer says for each host whether a packet was queued and
 * why not (wolapi.c); the job keeps it (bh_store_job_woken), and a reader
 * sees each host's outcome (jobview.c).
 */
#include "api.h"

#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "jobs/jobs.h"
#include "model/startconf.h"
#include "model/steps.h"

#include <stdio.h>
#include <string.h>

#define JOB_HOSTS_MAX 10000

/* hosts: the host objects; macs: their MACs */
static int resolve_targets(struct bh_store *st, const json_t *t, json_t *hosts, json_t *macs,
                           struct bh_err *err)
{
    int rc = bh_api_resolve_hosts(st, t, JOB_HOSTS_MAX, hosts, err);
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        if (!rc)
            json_array_append(macs, json_object_get(h, "mac"));
    }
    if (!rc && json_array_size(macs) == 0)
        rc = bh_err_set(err, BH_EINVAL, "targets", "the targets name no host");
    return rc;
}

/* The normalised spec of a job request, or NULL with err filled. */
static json_t *job_spec(const json_t *body, enum bh_role role, struct bh_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        if (strcmp(key, "targets") && strcmp(key, "steps") && strcmp(key, "when") &&
            strcmp(key, "wake") && strcmp(key, "parallel")) {
            bh_err_sett(err, BH_EINVAL, "unknown-field", key,
                        "unknown field '%.64s': use targets, steps, when, wake, parallel", key);
            return NULL;
        }
    }
    const json_t *steps = json_object_get(body, "steps");
    if (!json_is_array(steps) || json_array_size(steps) == 0 ||
        json_array_size(steps) > BH_STEPS_MAX) {
        bh_err_set(err, BH_EINVAL, "steps", "\"steps\" is a list of 1 to %d steps", BH_STEPS_MAX);
        return NULL;
    }
    size_t i;
    json_array_foreach(steps, i, v)
    {
        struct bh_step s;
        if (!json_is_string(v)) {
            char field[32];
            snprintf(field, sizeof(field), "steps[%zu]", i);
            bh_err_set(err, BH_EINVAL, field, "step %zu is not a string", i + 1);
            return NULL;
        }
        if (bh_step_parse(json_string_value(v), &s, err)) {
            snprintf(err->field, sizeof(err->field), "steps[%zu]", i);
            return NULL;
        }
        if (bh_step_admin_only(&s) && role < BH_ROLE_ADMIN) {
            bh_err_set(err, BH_EPERM, "steps", "a shell step needs the admin role");
            return NULL;
        }
    }
    const char *when = json_string_value(json_object_get(body, "when"));
    if (json_object_get(body, "when") && !when) {
        bh_err_set(err, BH_EINVAL, "when", "\"when\" is now, next-boot or at:TIME");
        return NULL;
    }
    if (!when)
        when = "now";
    int64_t at;
    if (strcmp(when, "now") && strcmp(when, "next-boot") &&
        (strncmp(when, "at:", 3) || bh_time_parse(when + 3, &at))) {
        bh_err_set(err, BH_EINVAL, "when",
                   "\"when\" is now, next-boot or at:TIME (RFC 3339, e.g. "
                   "at:2026-11-23T07:30:00Z)");
        return NULL;
    }
    const json_t *wake = json_object_get(body, "wake"), *par = json_object_get(body, "parallel");
    if (wake && !json_is_boolean(wake)) {
        bh_err_set(err, BH_EINVAL, "wake", "\"wake\" is true or false");
        return NULL;
    }
    if (par && (!json_is_integer(par) || json_integer_value(par) < 0 ||
                json_integer_value(par) > JOB_HOSTS_MAX)) {
        bh_err_set(err, BH_EINVAL, "parallel",
                   "\"parallel\" is the most hosts at once, 0 for no limit");
        return NULL;
    }
    json_t *spec =
        json_pack("{s:O, s:O, s:s, s:b, s:I}", "targets", json_object_get(body, "targets"), "steps",
                  steps, "when", when, "wake", json_is_true(wake), "parallel",
                  par ? json_integer_value(par) : (json_int_t)0);
    if (spec && !strncmp(when, "at:", 3)) /* what the store compares with the clock */
        json_object_set_new(spec, "start_ms", json_integer(at));
    return spec;
}

#define JOB_REFUSALS_MAX 100 /* (host, step) refusals listed in the answer */

/* What the check needs to know: each target group's config, and which
 * image@ref its OS entries name that has a version.  Each group and image
 * ref read once. */
static int check_facts(struct bh_store *st, const json_t *hosts, json_t *groups, json_t *versions,
                       struct bh_err *err)
{
    size_t i, k;
    json_t *h, *os;
    json_array_foreach(hosts, i, h)
    {
        const char *g = json_string_value(json_object_get(h, "group"));
        if (!g || json_object_get(groups, g))
            continue;
        json_t *grp = NULL;
        int rc = bh_store_get(st, bh_kind_get(BH_KIND_GROUP), g, &grp, err);
        if (rc)
            return rc;
        const json_t *conf = json_object_get(grp, "config");
        json_object_set(groups, g, conf ? (json_t *)conf : json_null());
        json_array_foreach(json_object_get(conf, "os"), k, os)
        {
            char name[256], ref[128], key[400];
            if (!bh_startconf_image(json_string_value(json_object_get(os, "base_image")), name,
                                    sizeof(name), ref, sizeof(ref)))
                continue;
            snprintf(key, sizeof(key), "%s@%s", name, ref);
            if (json_object_get(versions, key))
                continue;
            json_t *v = NULL;
            struct bh_err ve;
            rc = bh_store_version_get(st, name, ref, &v, &ve);
            json_decref(v);
            if (rc && rc != BH_ENOTFOUND) {
                json_decref(grp);
                *err = ve;
                return rc;
            }
            json_object_set_new(versions, key, json_boolean(rc == 0));
        }
        json_decref(grp);
    }
    return 0;
}

/* Can every step work on every host?  0; or 422 with the refusals, sent
 * here (*replied); or an error for the caller to send. */
static int check_steps(struct bh_req *r, struct bh_store *st, const json_t *steps,
                       const json_t *hosts, bool *replied, struct bh_err *err)
{
    json_t *groups = json_object(), *versions = json_object(), *errors = json_array();
    int rc = groups && versions && errors ? check_facts(st, hosts, groups, versions, err)
                                          : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    size_t nhosts = 0;
    size_t total =
        rc ? 0 : bh_steps_check(steps, hosts, groups, versions, errors, JOB_REFUSALS_MAX, &nhosts);
    if (total) {
        const json_t *first = json_array_get(errors, 0);
        char detail[700];
        snprintf(detail, sizeof(detail),
                 "%zu of %zu host%s cannot run these steps, so nothing was created; %s: %s: %s",
                 nhosts, json_array_size(hosts), json_array_size(hosts) == 1 ? "" : "s",
                 json_string_value(json_object_get(first, "host")),
                 json_string_value(json_object_get(first, "step")),
                 json_string_value(json_object_get(first, "reason")));
        json_t *ext = json_pack("{s:O, s:I}", "errors", errors, "errors_total", (json_int_t)total);
        bh_reply_problem_ext(r, 422, "job-refused", "Job refused", detail,
                             json_string_value(json_object_get(first, "field")), ext);
        json_decref(ext);
        *replied = true;
        rc = BH_EINVAL;
    }
    json_decref(groups);
    json_decref(versions);
    json_decref(errors);
    return rc;
}

/* Wake the hosts of a job that starts now, and keep the answer with it:
 * job becomes the job afterwards, with "wake" the answer. */
static void wake_now(struct bh_api *api, const json_t *hosts, const struct bh_actor *a,
                     json_t **job)
{
    json_t *woke = NULL, *after = NULL;
    struct bh_err we;
    char at[BH_TIME_STRLEN];
    if (!api->wol || bh_api_wake_hosts(api, hosts, a, &woke, &we)) {
        bh_time_format(bh_wall_ms(), at);
        woke = json_pack("{s:s, s:s}", "at", at, "error",
                         api->wol ? we.msg : "Wake-on-LAN is off on this server");
    }
    int64_t id = json_integer_value(json_object_get(*job, "id"));
    if (woke && bh_store_job_woken(api->store, id, woke, a, &after, &we) == 0) {
        json_decref(*job);
        *job = after;
    } else if (woke) {
        bh_log(BH_LOG_WARN, "cannot keep a job's wake answer", "job=%lld err=%s", (long long)id,
               we.msg);
    }
    if (woke)
        json_object_set_new(*job, "wake", woke);
}

void bh_h_job_create(struct bh_req *r)
{
    json_t *body = bh_req_json(r);
    if (!body)
        return;
    struct bh_err e;
    bh_err_clear(&e);
    json_t *spec = json_is_object(body) ? job_spec(body, bh_req_auth(r)->role, &e) : NULL;
    if (!json_is_object(body))
        bh_err_set(&e, BH_EINVAL, NULL, "a job is a JSON object");
    json_t *macs = json_array(), *hosts = json_array(), *job = NULL;
    int rc = spec ? 0 : e.code;
    struct bh_api *api = bh_api_ctx(r);
    struct bh_store *st = api->store;
    bool replied = false;
    if (!rc)
        rc = resolve_targets(st, json_object_get(spec, "targets"), hosts, macs, &e);
    if (!rc)
        rc = check_steps(r, st, json_object_get(spec, "steps"), hosts, &replied, &e);
    struct bh_actor a = bh_api_actor(r);
    if (!rc)
        rc = bh_store_job_create(st, spec, macs, &a, &job, &e);
    /* wake now what should start now; the answer says what was sent where */
    if (!rc && json_is_true(json_object_get(spec, "wake")) &&
        !strcmp(json_string_value(json_object_get(spec, "when")), "now"))
        wake_now(api, hosts, &a, &job);
    json_decref(hosts);
    json_decref(body);
    json_decref(spec);
    json_decref(macs);
    if (rc) {
        if (!replied)
            bh_reply_err(r, &e);
        return;
    }
    bh_api_job_view(api, job);
    char loc[64];
    snprintf(loc, sizeof(loc), "/api/v1/jobs/%lld",
             (long long)json_integer_value(json_object_get(job, "id")));
    bh_reply_header(r, "Location", loc);
    bh_reply_json(r, 201, job);
}

static bool job_id(struct bh_req *r, int64_t *id)
{
    if (bh_parse_i64(bh_req_param(r, "id"), 1, INT64_MAX, id) == 0)
        return true;
    bh_reply_problem(r, 404, "not-found", "Not found", "a job id is a positive number", "id");
    return false;
}

void bh_h_job_get(struct bh_req *r)
{
    int64_t id;
    if (!job_id(r, &id))
        return;
    struct bh_err e;
    json_t *job = NULL;
    if (bh_store_job_get(bh_api_ctx(r)->store, id, &job, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    bh_api_job_view(bh_api_ctx(r), job);
    bh_reply_json(r, 200, job);
}

void bh_h_jobs(struct bh_req *r)
{
    int64_t before = 0, limit = 50;
    const char *b = bh_req_query(r, "before"), *l = bh_req_query(r, "limit");
    if ((b && bh_parse_i64(b, 1, INT64_MAX, &before)) ||
        (l && bh_parse_i64(l, 1, BH_LIST_MAX, &limit))) {
        bh_reply_problem(r, 400, "invalid-query", "Bad request",
                         "before is a job id; limit is 1 to 1000", NULL);
        return;
    }
    /* the cursor: the id of the page's last (oldest) job */
    if (bh_api_after(r, 1, INT64_MAX, &before) < 0)
        return;
    struct bh_err e;
    json_t *jobs = NULL;
    if (bh_store_jobs(bh_api_ctx(r)->store, before, (int)limit, &jobs, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    bh_reply_json(r, 200, bh_api_page_full(jobs, limit, "id"));
}

static void job_action(struct bh_req *r,
                       int (*fn)(struct bh_store *, int64_t, const struct bh_actor *, json_t **,
                                 struct bh_err *))
{
    int64_t id;
    if (!job_id(r, &id))
        return;
    struct bh_err e;
    struct bh_actor a = bh_api_actor(r);
    json_t *job = NULL;
    if (fn(bh_api_ctx(r)->store, id, &a, &job, &e))
        bh_reply_err(r, &e);
    else
        bh_reply_json(r, 200, job);
}

void bh_h_job_cancel(struct bh_req *r)
{
    job_action(r, bh_jobs_cancel);
}

void bh_h_job_retry(struct bh_req *r)
{
    job_action(r, bh_jobs_retry);
}

/* The scheduler's tick (the daemon calls it every few seconds): wake the
 * waiting hosts of at:TIME jobs with wake whose time has come, once. */
void bh_api_jobs_tick(struct bh_api *api)
{
    json_t *ids = NULL;
    struct bh_err e;
    if (!api->wol || bh_store_jobs_wake_due(api->store, bh_wall_ms(), &ids, &e)) {
        if (api->wol)
            bh_log(BH_LOG_WARN, "scheduler: cannot list due jobs", "err=%s", e.msg);
        return;
    }
    size_t i, k;
    json_t *id, *h;
    struct bh_actor a = {"scheduler", NULL, NULL};
    json_array_foreach(ids, i, id)
    {
        int64_t jid = json_integer_value(id);
        json_t *job = NULL, *hosts = json_array(), *woke = NULL, *out = NULL;
        if (bh_store_job_get(api->store, jid, &job, &e) == 0) {
            json_array_foreach(json_object_get(job, "hosts"), k, h)
            {
                json_t *host = NULL;
                if (!strcmp(json_string_value(json_object_get(h, "state")), "queued") &&
                    bh_store_get(api->store, bh_kind_get(BH_KIND_HOST),
                                 json_string_value(json_object_get(h, "mac")), &host, NULL) == 0)
                    json_array_append_new(hosts, host);
            }
            if (bh_api_wake_hosts(api, hosts, &a, &woke, &e) == 0)
                bh_log(BH_LOG_INFO, "scheduler: woke the hosts of a job", "job=%lld queued=%zu",
                       (long long)jid, json_array_size(json_object_get(woke, "queued")));
        }
        /* the answer is kept (else it would wake for ever) */
        if (bh_store_job_woken(api->store, jid, woke, &a, &out, &e))
            bh_log(BH_LOG_WARN, "scheduler: cannot mark a job woken", "job=%lld err=%s",
                   (long long)jid, e.msg);
        json_decref(job);
        json_decref(hosts);
        json_decref(woke);
        json_decref(out);
    }
    json_decref(ids);
}
