/*
 * agentapi.c - what the client agent on a netbooted machine talks to.
 *
 *   POST /api/v1/agent/hello        {mac, ticket, inventory} (no token: the
 *                                   boot ticket is the credential) ->
 *                                   {token, expires_ms, host, group}
 *   GET  /api/v1/agent/task         the host's next step: 200 {task, job,
 *                                   seq, step, state}, or 204
 *   POST /api/v1/agent/tasks/{id}   {state: running|done|failed,
 *                                   progress?: {phase, done, total, rate},
 *                                   error?}
 *   POST /api/v1/agent/boot-local   the host's next iPXE script boots its
 *                                   disk, once (start:N without kexec)
 *
 * A host token is good for these routes and for reading the images its
 * group's OS entries name (see imageapi.c); nothing else.  It lives for its
 * boot session: BH_AGENT_TOKEN_TTL_MS, renewed while the agent is heard
 * from (auth.c), and ends at the host's next hello or when the host is
 * deleted.  A step belongs to the session that started it (store.h).
 *
 *   POST /api/v1/hosts/{key}/ticket (admin) a boot ticket made by hand, for
 *                                   a machine started some other way
 */
#include "api.h"

#include "core/log.h"
#include "core/mac.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "ticket.h"
#include "boot/bootsvc.h"
#include "jobs/jobs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVENTORY_MAX (256 * 1024)

static bool agent_of(struct bh_req *r, const char **mac)
{
    const struct bh_auth *a = bh_req_auth(r);
    if (!a->host[0]) {
        bh_reply_problem(r, 403, "forbidden", "Forbidden",
                         "this endpoint is for client agents (a host token)", NULL);
        return false;
    }
    *mac = a->host;
    return true;
}

/* LINBO's Autostart: a machine that boots with no step waiting does its
 * group's DefaultAction (sync, new or start; sync when unset) on the first
 * OS entry with Autostart = yes, after AutostartTimeout seconds.  It is an
 * ordinary job (made by "autostart"): it shows up, has progress and can be
 * cancelled within the timeout. */
static void autostart(struct bh_api *api, const char *mac, const json_t *group)
{
    size_t i, n = 0;
    json_t *v, *os = NULL, *next = NULL;
    struct bh_err e;
    json_array_foreach(json_object_get(json_object_get(group, "config"), "os"), i, v)
    {
        if (!os && json_is_true(json_object_get(v, "autostart"))) {
            os = v;
            n = i + 1;
        }
    }
    /* any step of any job waiting for this host, due or not, wins */
    if (!os || bh_store_task_find(api->store, mac, "", true, &next, &e) || !json_is_null(next)) {
        json_decref(next);
        return;
    }
    json_decref(next);
    const char *act = json_string_value(json_object_get(os, "default_action"));
    char s1[32], s2[32], s3[32];
    snprintf(s1, sizeof(s1), "%s:%zu", act && !strcmp(act, "new") ? "new" : "sync", n);
    snprintf(s2, sizeof(s2), "postsync:%zu", n);
    snprintf(s3, sizeof(s3), "start:%zu", n);
    json_t *steps =
        act && !strcmp(act, "start") ? json_pack("[s]", s3) : json_pack("[s, s, s]", s1, s2, s3);
    json_int_t delay = json_integer_value(json_object_get(os, "autostart_timeout"));
    int64_t start = bh_wall_ms() + (delay > 0 && delay < 3600 ? delay : 0) * 1000;
    char when[BH_TIME_STRLEN + 3] = "at:";
    bh_time_format(start, when + 3);
    json_t *spec =
        json_pack("{s:{s:[s]}, s:o, s:s, s:b, s:i, s:I}", "targets", "hosts", mac, "steps", steps,
                  "when", when, "wake", 0, "parallel", 0, "start_ms", (json_int_t)start);
    json_t *macs = json_pack("[s]", mac), *job = NULL;
    struct bh_actor a = {"autostart", NULL, NULL};
    if (bh_store_job_create(api->store, spec, macs, &a, &job, &e))
        bh_log(BH_LOG_WARN, "autostart: cannot make the job", "mac=%s err=%s", mac, e.msg);
    json_decref(spec);
    json_decref(macs);
    json_decref(job);
}

/* Tickets need the agent key; without it, 503 (replied here). */
static bool key_ready(struct bh_req *r, const struct bh_api *api)
{
    if (!api->agent_key_ok)
        bh_reply_problem(r, 503, "unavailable", "Agents unavailable",
                         "the server has no agent key; see its log", NULL);
    return api->agent_key_ok;
}

void bh_h_agent_hello(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    if (!key_ready(r, api))
        return;
    json_t *body = bh_req_json(r);
    if (!body)
        return;
    struct bh_err e;
    bh_err_clear(&e);
    const char *macs = json_string_value(json_object_get(body, "mac"));
    const char *ticket = json_string_value(json_object_get(body, "ticket"));
    const json_t *inv = json_object_get(body, "inventory");
    char mac[BH_MAC_STRLEN], nonce[33];
    int64_t texp;
    int rc = 0;
    if (!macs || bh_mac_normalize(macs, mac))
        rc = bh_err_set(&e, BH_EINVAL, "mac", "\"mac\" is the booting NIC's MAC address");
    else if (!ticket)
        rc = bh_err_set(&e, BH_EINVAL, "ticket", "\"ticket\" is the bootherd.ticket= value");
    else if (inv && !json_is_object(inv))
        rc = bh_err_set(&e, BH_EINVAL, "inventory", "\"inventory\" is an object");
    else
        rc = bh_ticket_check(api->agent_key, ticket, mac, bh_wall_ms(), nonce, &texp, &e);
    char tid[BH_TOKEN_ID_LEN + 1], token[BH_TOKEN_STR_MAX], hash[65];
    int64_t exp = bh_wall_ms() + BH_AGENT_TOKEN_TTL_MS;
    if (!rc && bh_token_generate(tid, token, hash))
        rc = bh_err_set(&e, BH_ESYS, NULL, "no randomness for a token");
    json_t *doc = inv ? json_deep_copy(inv) : json_object();
    if (!rc) {
        char *dump = json_dumps(doc, JSON_COMPACT);
        if (dump && strlen(dump) > INVENTORY_MAX)
            rc = bh_err_set(&e, BH_ETOOBIG, "inventory", "the inventory is over %d bytes",
                            INVENTORY_MAX);
        free(dump);
    }
    if (!rc) {
        struct bh_agent_login l = {.mac = mac,
                                   .nonce = nonce,
                                   .tid = tid,
                                   .hash = hash,
                                   .expires_ms = exp,
                                   .ticket_expires_ms = texp,
                                   .now_ms = bh_wall_ms(),
                                   .inventory = doc};
        rc = bh_store_agent_login(api->store, &l, &e);
    }
    if (!rc && json_object_size(doc)) { /* the inventory becomes the host's hardware */
        json_t *hw = json_pack("{s:O}", "hardware", doc), *obj = NULL;
        struct bh_actor a = {"agent", NULL, bh_req_remote(r)};
        struct bh_err he;
        if (bh_store_update(api->store, bh_kind_get(BH_KIND_HOST), mac, hw, 0,
                            BH_UPD_PARTIAL | BH_UPD_SYSTEM, &a, &obj, &he))
            bh_log(BH_LOG_WARN, "cannot store the inventory", "mac=%s err=%s", mac, he.msg);
        json_decref(hw);
        json_decref(obj);
    }
    json_decref(doc);
    json_decref(body);
    json_t *host = NULL, *group = NULL;
    if (!rc)
        rc = bh_store_get(api->store, bh_kind_get(BH_KIND_HOST), mac, &host, &e);
    const char *gname = json_string_value(json_object_get(host, "group"));
    if (!rc && gname)
        bh_store_get(api->store, bh_kind_get(BH_KIND_GROUP), gname, &group, NULL);
    explicit_bzero(hash, sizeof(hash));
    if (rc) {
        json_decref(host);
        if (rc == BH_EAUTH) /* what failed, but as 401 */
            bh_reply_problem(r, 401, "bad-ticket", "Bad ticket", e.msg, "ticket");
        else
            bh_reply_err(r, &e);
        return;
    }
    autostart(api, mac, group);
    bh_reply_json(r, 200,
                  json_pack("{s:s, s:I, s:o, s:o}", "token", token, "expires_ms", (json_int_t)exp,
                            "host", host, "group", group ? group : json_null()));
    explicit_bzero(token, sizeof(token));
}

#define AGENT_QUIET_MS  15000 /* an agent polls every 2 s: silent this long, it is gone */
#define AGENTS_SEEN_MAX 100000

void bh_api_agent_seen(struct bh_api *api, const char *mac)
{
    if (!api->agents_seen)
        return;
    pthread_mutex_lock(&api->seen_mu);
    if (json_object_size(api->agents_seen) >= AGENTS_SEEN_MAX)
        json_object_clear(api->agents_seen);
    json_object_set_new(api->agents_seen, mac, json_integer(bh_mono_ns() / 1000000));
    pthread_mutex_unlock(&api->seen_mu);
}

void bh_api_job_annotate(struct bh_api *api, json_t *job)
{
    if (!api->agents_seen)
        return;
    int64_t now = (int64_t)(bh_mono_ns() / 1000000);
    size_t i;
    json_t *h;
    pthread_mutex_lock(&api->seen_mu);
    json_array_foreach(json_object_get(job, "hosts"), i, h)
    {
        const char *st = json_string_value(json_object_get(h, "state"));
        const json_t *seen =
            json_object_get(api->agents_seen, json_string_value(json_object_get(h, "mac")));
        if (st && !strcmp(st, "queued") &&
            (!seen || now - json_integer_value(seen) > AGENT_QUIET_MS))
            json_object_set_new(h, "state", json_string("waiting-for-host"));
    }
    pthread_mutex_unlock(&api->seen_mu);
}

void bh_h_agent_task(struct bh_req *r)
{
    const char *mac;
    if (!agent_of(r, &mac))
        return;
    bh_api_agent_seen(bh_api_ctx(r), mac);
    struct bh_err e;
    json_t *t = NULL;
    if (bh_jobs_next(bh_api_ctx(r)->store, mac, bh_wall_ms(), &t, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    if (json_is_null(t)) {
        json_decref(t);
        bh_reply_empty(r, 204);
        return;
    }
    bh_reply_json(r, 200, t);
}

void bh_h_agent_task_update(struct bh_req *r)
{
    const char *mac;
    if (!agent_of(r, &mac))
        return;
    int64_t id;
    if (bh_parse_i64(bh_req_param(r, "id"), 1, INT64_MAX, &id)) {
        bh_reply_problem(r, 404, "not-found", "Not found", "a task id is a positive number", "id");
        return;
    }
    json_t *body = bh_req_json(r);
    if (!body)
        return;
    const char *state = json_string_value(json_object_get(body, "state"));
    const json_t *prog = json_object_get(body, "progress");
    const json_t *errj = json_object_get(body, "error");
    const char *bad = NULL;
    if (!state || (strcmp(state, "running") && strcmp(state, "done") && strcmp(state, "failed")))
        bad = "state";
    else if (prog && !json_is_object(prog) && !json_is_null(prog))
        bad = "progress";
    else if (errj && !json_is_string(errj) && !json_is_null(errj))
        bad = "error";
    else if (!strcmp(state, "failed") && (!json_is_string(errj) || !json_string_length(errj)))
        bad = "error";
    if (bad) {
        json_decref(body);
        bh_reply_problem(r, 422, "invalid", "Invalid task report",
                         "{state: running|done|failed, progress?: {phase, done, total, rate}, "
                         "error: what failed (required with failed)}",
                         bad);
        return;
    }
    struct bh_err e;
    bh_err_clear(&e);
    struct bh_actor a = bh_api_actor(r);
    json_t *job = NULL;
    struct bh_task_report rep = {mac, bh_req_auth(r)->token_id, state,
                                 json_is_object(prog) ? prog : NULL, json_string_value(errj)};
    int rc = bh_jobs_report(bh_api_ctx(r)->store, id, &rep, &a, &job, &e);
    if (rc && e.type && !strcmp(e.type, "claimed")) { /* the host's timeline says so too */
        json_t *data = json_pack("{s:I, s:s, s:s, s:s?}", "task", (json_int_t)id, "state", state,
                                 "why", e.msg, "client", bh_req_remote(r));
        bh_store_event_append(bh_api_ctx(r)->store, "host", mac, "agent.conflict", data, &a, false,
                              NULL, NULL);
        json_decref(data);
    }
    json_decref(body); /* state lives in it */
    if (rc)
        bh_reply_err(r, &e);
    else
        bh_reply_json(r, 200, job);
}

#define BOOT_LOCAL_TTL_MS (10LL * 60 * 1000) /* the reboot comes within seconds */

void bh_h_agent_boot_local(struct bh_req *r)
{
    const char *mac;
    if (!agent_of(r, &mac))
        return;
    struct bh_api *api = bh_api_ctx(r);
    if (!api->boot) {
        bh_reply_problem(r, 503, "unavailable", "Boot services off",
                         "this server does not serve boot scripts, so it cannot send the "
                         "machine to its disk",
                         NULL);
        return;
    }
    bh_boot_local_once(api->boot, mac, bh_wall_ms() + BOOT_LOCAL_TTL_MS);
    bh_reply_empty(r, 204);
}

/* POST /api/v1/hosts/{key}/ticket: an admin makes a boot ticket by hand,
 * for a machine started without the boot chain (rescue media, a client OS
 * on a stick, a test).  Audited: it lets the holder act as the host. */
void bh_h_host_ticket(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    if (!key_ready(r, api))
        return;
    json_t *host = NULL;
    struct bh_err e;
    if (bh_store_get(api->store, bh_kind_get(BH_KIND_HOST), bh_req_param(r, "key"), &host, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    const char *mac = json_string_value(json_object_get(host, "mac"));
    char ticket[BH_TICKET_MAX];
    int64_t now = bh_wall_ms();
    struct bh_actor a = bh_api_actor(r);
    int rc = bh_ticket_make(api->agent_key, mac, now, BH_TICKET_TTL_MS, ticket);
    json_t *data =
        json_pack("{s:s, s:I}", "by", a.name, "expires_ms", (json_int_t)(now + BH_TICKET_TTL_MS));
    if (rc)
        bh_err_set(&e, rc, NULL, "no randomness for a ticket");
    else
        rc = bh_store_event_append(api->store, "host", mac, "agent.ticket", data, &a, true, NULL,
                                   &e);
    json_decref(data);
    if (rc)
        bh_reply_err(r, &e);
    else
        bh_reply_json(r, 201,
                      json_pack("{s:s, s:s, s:I}", "mac", mac, "ticket", ticket, "expires_ms",
                                (json_int_t)(now + BH_TICKET_TTL_MS)));
    explicit_bzero(ticket, sizeof(ticket));
    json_decref(host);
}
