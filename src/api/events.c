/*
 * events.c - GET /api/v1/events: every change since a revision, as a JSON
 * page or as a live WebSocket stream that resumes from any kept revision.
 *
 * Watchers live on the WebSocket hub thread.  When the store commits, the
 * hub is woken; it reads the new events once and hands each watcher the
 * ones it has not seen and wants (optional kind/key filter), and may see:
 * events of a kind whose routes the caller's role may not read (tokens,
 * settings) are left out, on the page and on the stream alike.
 *
 * GET /api/v1/agent/channel is a client agent's watcher (host token): it
 * gets {"type":"hello"} at once and {"type":"jobs"} whenever a job changed,
 * then asks for its next step; the hub's pings are its heartbeat.
 *
 * A stream outlives the request that opened it, so its credential is
 * checked again (bh_api_recheck): before events go out when an event on
 * its token came (login, logout, revoke, role change) or RECHECK_MS passed,
 * and at every ping.  One that no longer stands (logged out, revoked,
 * expired, idle, another role, the agent's session ended) is closed with
 * 1008 and the reason; it gets nothing more.
 */
#include "api.h"

#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH      1000
#define RECHECK_MS 5000
#define REASON_MAX 123 /* RFC 6455 5.5: a close frame's reason, after its code */

struct watcher {
    struct bh_api *api;
    int64_t rev; /* last revision this watcher has been given */
    char kind[32];
    char key[128];
    /* what opened it, checked again (bh_api_recheck): it sees the kinds
     * auth.role may read (bh_event_read_role); with auth.host, an agent's
     * channel, nudged on job changes and given no events */
    struct bh_auth auth;
    int64_t recheck_ms; /* wall clock: check again before sending after this */
};

struct fanout {
    json_t *events;
    char **text;    /* each event encoded once, for every watcher */
    json_t *tokens; /* the token events among them, found once */
    int64_t min_rev;
};

static void min_rev(struct bh_ws_conn *c, void *ud)
{
    struct watcher *w = bh_ws_conn_ud(c);
    struct fanout *f = ud;
    if (f->min_rev < 0 || w->rev < f->min_rev)
        f->min_rev = w->rev;
}

static bool wanted(const struct watcher *w, const json_t *ev)
{
    const char *kind = json_string_value(json_object_get(ev, "kind"));
    const char *key = json_string_value(json_object_get(ev, "key"));
    if (bh_event_read_role(kind) > w->auth.role)
        return false; /* what the kind's routes would refuse this caller */
    if (w->kind[0] && (!kind || strcmp(w->kind, kind) != 0))
        return false;
    if (w->key[0] && (!key || strcmp(w->key, key) != 0))
        return false;
    return true;
}

/* Does the watcher's credential still stand?  If not, close it (1008). */
static bool still_allowed(struct bh_ws_conn *c, struct watcher *w)
{
    struct bh_err e;
    w->recheck_ms = bh_wall_ms() + RECHECK_MS;
    if (!bh_api_recheck(w->api, &w->auth, &e))
        return true;
    char reason[REASON_MAX + 1];
    bh_strlcpy(reason, e.msg, sizeof(reason));
    bh_log(BH_LOG_INFO, "stream closed", "who=%s why=\"%s\"", w->auth.name, e.msg);
    bh_ws_close(c, 1008, reason);
    return false;
}

/* Is an event among the new ones about the watcher's own token (keyed by
 * its id; a console login or logout by its name)? */
static bool touches_token(const struct watcher *w, const struct fanout *f)
{
    size_t i;
    json_t *ev;
    json_array_foreach(f->tokens, i, ev)
    {
        const char *key = json_string_value(json_object_get(ev, "key"));
        if (json_integer_value(json_object_get(ev, "rev")) > w->rev && key &&
            (!strcmp(key, w->auth.token_id) || !strcmp(key, w->auth.name)))
            return true;
    }
    return false;
}

static void deliver(struct bh_ws_conn *c, void *ud)
{
    struct watcher *w = bh_ws_conn_ud(c);
    struct fanout *f = ud;
    size_t i;
    json_t *ev;
    bool nudge = false;
    if ((bh_wall_ms() >= w->recheck_ms || touches_token(w, f)) && !still_allowed(c, w))
        return;
    json_array_foreach(f->events, i, ev)
    {
        int64_t rev = json_integer_value(json_object_get(ev, "rev"));
        if (rev <= w->rev)
            continue;
        if (w->auth.host[0]) { /* a job made, retried, woken, cancelled, or a host's step
                                * ended: maybe this agent's turn; progress is not */
            const char *kind = json_string_value(json_object_get(ev, "kind"));
            const char *type = json_string_value(json_object_get(ev, "type"));
            nudge = nudge || (kind && !strcmp(kind, "job") && (!type || strcmp(type, "progress")));
        } else if (wanted(w, ev)) {
            int rc = f->text[i] ? bh_ws_send_text(c, f->text[i], strlen(f->text[i])) : BH_ENOMEM;
            if (rc)
                return; /* closed as too slow; it resumes with since= */
        }
        w->rev = rev;
    }
    static const char jobs[] = "{\"type\":\"jobs\"}";
    if (nudge)
        bh_ws_send_text(c, jobs, sizeof(jobs) - 1);
}

/* The oldest watchers asked for events that are gone: tell them to resync. */
static void close_gone(struct bh_ws_conn *c, void *ud)
{
    struct watcher *w = bh_ws_conn_ud(c);
    const struct fanout *f = ud;
    if (w->rev == f->min_rev)
        bh_ws_close(c, 4410, "events since your revision are gone; read the objects again");
}

void bh_api_events_wake(struct bh_ws_hub *hub, void *ud)
{
    struct bh_api *api = ud;
    struct fanout f = {NULL, NULL, NULL, -1};
    bh_ws_hub_foreach(hub, min_rev, &f);
    if (f.min_rev < 0 || f.min_rev >= bh_store_revision(api->store))
        return;
    struct bh_err e;
    int rc = bh_store_events(api->store, f.min_rev, BATCH, &f.events, &e);
    if (rc == BH_EGONE) {
        bh_ws_hub_foreach(hub, close_gone, &f);
        bh_ws_hub_wake(hub); /* carry on with the others */
        return;
    }
    if (rc) {
        bh_log(BH_LOG_WARN, "events", "err=%s", e.msg);
        return;
    }
    size_t n = json_array_size(f.events);
    f.text = calloc(n ? n : 1, sizeof(char *));
    f.tokens = json_array();
    for (size_t i = 0; f.text && i < n; i++) {
        json_t *ev = json_array_get(f.events, i);
        f.text[i] = json_dumps(ev, JSON_COMPACT);
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        if (kind && !strcmp(kind, "token"))
            json_array_append(f.tokens, ev);
    }
    if (f.text && f.tokens)
        bh_ws_hub_foreach(hub, deliver, &f);
    json_decref(f.tokens);
    for (size_t i = 0; f.text && i < n; i++)
        free(f.text[i]);
    free(f.text);
    if (n == BATCH)
        bh_ws_hub_wake(hub); /* more to come */
    json_decref(f.events);
}

static void w_open(struct bh_ws_conn *c)
{
    struct watcher *w = bh_ws_conn_ud(c);
    static const char hello[] = "{\"type\":\"hello\"}";
    if (w->auth.host[0])
        bh_ws_send_text(c, hello, sizeof(hello) - 1);
    bh_ws_hub_wake(w->api->hub); /* send the backlog since w->rev */
}

static void w_text(struct bh_ws_conn *c, const char *msg, size_t n)
{
    (void)c;
    (void)msg;
    (void)n; /* watchers only listen */
}

static void w_close(struct bh_ws_conn *c)
{
    free(bh_ws_conn_ud(c));
}

static void w_ping(struct bh_ws_conn *c)
{
    still_allowed(c, bh_ws_conn_ud(c));
}

static const struct bh_ws_handler watcher_handler = {w_open, w_text, w_close, w_ping};

static void adopt(void *ud, int fd, const char *extra, size_t nextra, void *handle)
{
    struct watcher *w = ud;
    bh_ws_hub_adopt(w->api->hub, fd, extra, nextra, handle, &watcher_handler, w);
}

void bh_h_events(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    const char *since_s = bh_req_query(r, "since"), *kind = bh_req_query(r, "kind"),
               *key = bh_req_query(r, "key"), *limit_s = bh_req_query(r, "limit");
    int64_t now = bh_store_revision(api->store), since = now, limit = BATCH;
    if ((since_s && bh_parse_i64(since_s, 0, now, &since)) ||
        (limit_s && bh_parse_i64(limit_s, 1, BATCH, &limit)) ||
        (kind && strlen(kind) >= sizeof(((struct watcher *)0)->kind)) ||
        (key && strlen(key) >= sizeof(((struct watcher *)0)->key))) {
        char detail[200];
        snprintf(detail, sizeof(detail),
                 "since must be a revision from 0 to the current %lld, limit 1..1000, kind and "
                 "key short strings",
                 (long long)now);
        bh_reply_problem(r, 400, "invalid-query", "Bad request", detail, NULL);
        return;
    }
    /* the cursor: a revision, as since is (a page's next is never null:
     * it is where to ask for what happens later) */
    if (bh_api_after(r, 0, now, &since) < 0)
        return;
    json_t *events;
    struct bh_err e;
    /* every event up to rev0 is committed, so a short page covers it all */
    int64_t rev0 = bh_store_revision(api->store);
    /* also tells a resuming watcher early when its revision is gone */
    bool ws = bh_req_header(r, "Upgrade") != NULL;
    if (bh_store_events(api->store, since, ws ? 1 : (int)limit, &events, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    if (!ws) {
        size_t n = json_array_size(events);
        int64_t last =
            n ? json_integer_value(json_object_get(json_array_get(events, n - 1), "rev")) : since;
        int64_t next = (int64_t)n == limit ? last : (last > rev0 ? last : rev0);
        if (next < since)
            next = since;
        struct watcher filter = {.auth = *bh_req_auth(r)};
        if (kind)
            bh_strlcpy(filter.kind, kind, sizeof(filter.kind));
        if (key)
            bh_strlcpy(filter.key, key, sizeof(filter.key));
        for (size_t i = 0; i < json_array_size(events);) {
            if (wanted(&filter, json_array_get(events, i)))
                i++;
            else
                json_array_remove(events, i);
        }
        bh_reply_json(r, 200, bh_api_page(events, next));
        return;
    }
    json_decref(events);
    struct watcher *w = calloc(1, sizeof(*w));
    if (!w) {
        bh_reply_problem(r, 500, "internal", "Internal error", "out of memory", NULL);
        return;
    }
    w->api = api;
    w->rev = since;
    w->auth = *bh_req_auth(r);
    w->recheck_ms = bh_wall_ms() + RECHECK_MS;
    if (kind)
        bh_strlcpy(w->kind, kind, sizeof(w->kind));
    if (key)
        bh_strlcpy(w->key, key, sizeof(w->key));
    if (bh_reply_websocket(r, adopt, w))
        free(w); /* refused: adopt never runs */
}

void bh_h_agent_channel(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    const struct bh_auth *a = bh_req_auth(r);
    if (!a->host[0]) {
        bh_reply_problem(r, 403, "forbidden", "Forbidden",
                         "this endpoint is for client agents (a host token)", NULL);
        return;
    }
    if (!bh_req_header(r, "Upgrade")) {
        bh_reply_problem(r, 400, "websocket-only", "Bad request",
                         "the agent channel is a WebSocket (Upgrade: websocket)", NULL);
        return;
    }
    struct watcher *w = calloc(1, sizeof(*w));
    if (!w) {
        bh_reply_problem(r, 500, "internal", "Internal error", "out of memory", NULL);
        return;
    }
    w->api = api;
    w->rev = bh_store_revision(api->store);
    w->auth = *a;
    w->recheck_ms = bh_wall_ms() + RECHECK_MS;
    if (bh_reply_websocket(r, adopt, w))
        free(w);
}
