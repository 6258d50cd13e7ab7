/*
 * bootwork.c - the boot services' writer thread.
 */
#include "bootwork.h"

#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEEN_INTERVAL_MS  60000 /* last_seen at most this often per host */
#define OFFLINE_CHECK_MS  15000
#define MAX_QUEUED_EVENTS 100000
#define EVENT_BATCH       500

struct bh_bootwork {
    struct bh_store *store;
    struct bh_bootview *view;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop, refresh;
    json_t *events;    /* queued boot events */
    json_t *seen;      /* mac -> {"state": s|null, "ms": n} */
    json_t *register_; /* mac -> host document */
    json_t *booted;    /* mac -> ms of its newest boot (DHCP exchange) */
    /* worker thread only */
    json_t *written;              /* mac -> {"state", "ms"} last written */
    json_t *registered;           /* mac -> ms of the last registration attempt */
    int64_t offline_after_ms;     /* from the config file */
    int64_t effective_offline_ms; /* worker thread: with the settings object */
    uint64_t dropped;
};

static const struct bh_actor boot_actor = {"bootherd boot", NULL, NULL};

static void wake(struct bh_bootwork *w)
{
    pthread_cond_signal(&w->cv);
}

void bh_bootwork_refresh(struct bh_bootwork *w)
{
    pthread_mutex_lock(&w->mu);
    w->refresh = true;
    wake(w);
    pthread_mutex_unlock(&w->mu);
}

void bh_bootwork_event(struct bh_bootwork *w, const char *mac, const char *type, json_t *data)
{
    json_t *ev = json_pack("{s:s, s:s, s:s, s:o}", "kind", "host", "key", mac, "type", type, "data",
                           data ? data : json_object());
    if (!ev)
        return;
    pthread_mutex_lock(&w->mu);
    if (json_array_size(w->events) < MAX_QUEUED_EVENTS)
        json_array_append_new(w->events, ev);
    else {
        w->dropped++;
        json_decref(ev);
    }
    wake(w);
    pthread_mutex_unlock(&w->mu);
}

/* ---- typed boot events: turned into store events here, once ------------ */

#define EVENT_TEXT_MAX 512 /* a client-chosen name in an event, sanitized and capped */

static const char *kind_name(enum bh_boot_kind k)
{
    switch (k) {
    case BH_BOOT_NONE: return "none";
    case BH_BOOT_TFTP: return "tftp";
    case BH_BOOT_HTTP: return "http";
    case BH_BOOT_SCRIPT: return "script";
    case BH_BOOT_RPI: return "rpi";
    }
    return "?";
}

static void addr_text(struct in_addr a, char out[INET_ADDRSTRLEN])
{
    out[0] = '\0';
    if (a.s_addr)
        inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

json_t *bh_bootwork_dhcp_data(const struct bh_dhcp_event *ev)
{
    char ip[INET_ADDRSTRLEN], relay[INET_ADDRSTRLEN];
    addr_text(ev->ip, ip);
    addr_text(ev->relay, relay);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "mode",
                     ev->mode == BH_DHCP_FULL ? "full" : "proxy", "mac", ev->mac, "ip", ip,
                     "interface", ev->iface, "relay", relay, "boot", kind_name(ev->boot), "file",
                     ev->file, "why", ev->why, "arch", (json_int_t)ev->arch, "lease_time",
                     (json_int_t)ev->lease_time);
}

json_t *bh_bootwork_tftp_data(const struct bh_tftp_event *ev)
{
    char ip[INET_ADDRSTRLEN];
    addr_text(ev->client.sin_addr, ip);
    /* the name is what the client asked for, any bytes: the event is JSON */
    char file[EVENT_TEXT_MAX], why[EVENT_TEXT_MAX];
    bh_utf8_sanitize(ev->path, file, sizeof(file));
    json_t *data = json_pack("{s:s, s:I, s:f, s:i, s:i, s:i, s:s}", "file", file, "bytes",
                             (json_int_t)ev->bytes, "ms", (double)ev->nanos / 1e6, "retransmits",
                             (int)ev->retransmits, "blksize", (int)ev->blksize, "windowsize",
                             (int)ev->windowsize, "client", ip);
    if (data && !ev->ok && ev->error[0]) {
        bh_utf8_sanitize(ev->error, why, sizeof(why));
        json_object_set_new(data, "error", json_string(why));
    }
    return data;
}

void bh_bootwork_dhcp(struct bh_bootwork *w, const struct bh_dhcp_event *ev)
{
    json_t *data = bh_bootwork_dhcp_data(ev);
    if (data)
        bh_bootwork_event(w, ev->mac, ev->type, data);
}

void bh_bootwork_tftp(struct bh_bootwork *w, const char *mac, const struct bh_tftp_event *ev)
{
    json_t *data = bh_bootwork_tftp_data(ev);
    if (data)
        bh_bootwork_event(w, mac, ev->ok ? "tftp.sent" : "tftp.failed", data);
}

void bh_bootwork_seen(struct bh_bootwork *w, const char *mac, const char *state)
{
    json_t *rec = json_pack("{s:s?, s:I}", "state", state, "ms", (json_int_t)bh_wall_ms());
    if (!rec)
        return;
    pthread_mutex_lock(&w->mu);
    /* a later "seen" keeps an earlier state change that is not written yet */
    json_t *prev = json_object_get(w->seen, mac);
    if (!state && prev && json_is_string(json_object_get(prev, "state")))
        json_object_set(rec, "state", json_object_get(prev, "state"));
    json_object_set_new(w->seen, mac, rec);
    wake(w);
    pthread_mutex_unlock(&w->mu);
}

void bh_bootwork_register(struct bh_bootwork *w, json_t *doc)
{
    const char *mac = json_string_value(json_object_get(doc, "mac"));
    if (!mac) {
        json_decref(doc);
        return;
    }
    pthread_mutex_lock(&w->mu);
    json_object_set_new(w->register_, mac, doc);
    wake(w);
    pthread_mutex_unlock(&w->mu);
}

void bh_bootwork_booted(struct bh_bootwork *w, const char *mac, int64_t ms)
{
    pthread_mutex_lock(&w->mu);
    json_object_set_new(w->booted, mac, json_integer(ms));
    wake(w);
    pthread_mutex_unlock(&w->mu);
}

void bh_bootwork_set_offline_after(struct bh_bootwork *w, int64_t seconds)
{
    pthread_mutex_lock(&w->mu);
    w->offline_after_ms = seconds * 1000;
    pthread_mutex_unlock(&w->mu);
}

/* ---- worker thread ------------------------------------------------------- */

static void do_register(struct bh_bootwork *w, json_t *todo)
{
    const char *mac;
    json_t *doc;
    json_object_foreach(todo, mac, doc)
    {
        /* one attempt a minute per MAC, whatever the firmware retries */
        int64_t now = bh_wall_ms();
        json_t *last = json_object_get(w->registered, mac);
        if (last && now - json_integer_value(last) < SEEN_INTERVAL_MS)
            continue;
        json_object_set_new(w->registered, mac, json_integer(now));
        json_t *known = bh_bootview_host(w->view, mac), *norm = NULL, *obj = NULL;
        if (known) {
            json_decref(known);
            continue;
        }
        struct bh_err e;
        const struct bh_kind_desc *k = bh_kind_get(BH_KIND_HOST);
        if (bh_model_validate(k, doc, BH_V_CREATE, &norm, &e) == 0) {
            int rc = bh_store_create(w->store, k, norm, &boot_actor, &obj, &e);
            if (rc == 0)
                bh_log(BH_LOG_INFO, "registered a new host", "mac=%s", mac);
            else if (rc != BH_ECONFLICT)
                bh_log(BH_LOG_WARN, "cannot register host", "mac=%s err=%s", mac, e.msg);
        } else {
            bh_log(BH_LOG_WARN, "cannot register host", "mac=%s err=%s", mac, e.msg);
        }
        json_decref(norm);
        json_decref(obj);
    }
}

/* a new boot ends the host tokens of the ones before (unknown MACs have none) */
static void do_booted(struct bh_bootwork *w, json_t *todo)
{
    const char *mac;
    json_t *ms;
    json_object_foreach(todo, mac, ms)
    {
        struct bh_err e;
        if (bh_store_agent_end(w->store, mac, json_integer_value(ms), &e))
            bh_log(BH_LOG_WARN, "cannot end the host's agent sessions", "mac=%s err=%s", mac,
                   e.msg);
    }
}

static void write_state(struct bh_bootwork *w, const char *mac, const char *state, int64_t ms)
{
    char ts[BH_TIME_STRLEN];
    bh_time_format(ms, ts);
    json_t *doc = json_pack("{s:s}", "last_seen", ts), *obj = NULL;
    if (state)
        json_object_set_new(doc, "state", json_string(state));
    struct bh_err e;
    int rc = bh_store_update(w->store, bh_kind_get(BH_KIND_HOST), mac, doc, 0,
                             BH_UPD_PARTIAL | BH_UPD_SYSTEM, &boot_actor, &obj, &e);
    if (rc && rc != BH_ENOTFOUND)
        bh_log(BH_LOG_WARN, "cannot update host", "mac=%s err=%s", mac, e.msg);
    json_decref(doc);
    json_decref(obj);
}

static void do_seen(struct bh_bootwork *w, json_t *todo)
{
    const char *mac;
    json_t *rec;
    json_object_foreach(todo, mac, rec)
    {
        const char *state = json_string_value(json_object_get(rec, "state"));
        int64_t ms = json_integer_value(json_object_get(rec, "ms"));
        json_t *host = bh_bootview_host(w->view, mac);
        if (!host)
            continue; /* not registered (yet): nothing to update */
        const char *cur = json_string_value(json_object_get(host, "state"));
        json_t *last = json_object_get(w->written, mac);
        /* a machine the admin has not accepted yet stays "new" (the
         * console's New devices) until it is registered; only its last_seen
         * moves */
        if (cur && !strcmp(cur, "new"))
            state = NULL;
        bool state_change = state && (!cur || strcmp(cur, state) != 0);
        bool stale =
            !last || ms - json_integer_value(json_object_get(last, "ms")) >= SEEN_INTERVAL_MS;
        if (state_change || stale) {
            write_state(w, mac, state_change ? state : NULL, ms);
            json_object_set_new(w->written, mac, json_pack("{s:I}", "ms", (json_int_t)ms));
        }
        json_decref(host);
    }
}

static void do_events(struct bh_bootwork *w, json_t *events)
{
    size_t n = json_array_size(events);
    for (size_t off = 0; off < n; off += EVENT_BATCH) {
        json_t *batch = json_array();
        for (size_t i = off; i < n && i < off + EVENT_BATCH; i++)
            json_array_append(batch, json_array_get(events, i));
        struct bh_err e;
        if (bh_store_event_append_many(w->store, batch, &boot_actor, &e))
            bh_log(BH_LOG_WARN, "cannot record boot events", "count=%zu err=%s",
                   json_array_size(batch), e.msg);
        json_decref(batch);
    }
}

struct offline_scan {
    struct bh_bootwork *w;
    int64_t now, limit;
    json_t *gone;
};

static void check_host(void *ud, json_t *host)
{
    struct offline_scan *sc = ud;
    const char *state = json_string_value(json_object_get(host, "state"));
    const char *seen = json_string_value(json_object_get(host, "last_seen"));
    int64_t ms;
    if (state && (!strcmp(state, "booting") || !strcmp(state, "up")) && seen &&
        bh_time_parse(seen, &ms) == 0 && sc->now - ms > sc->limit)
        json_array_append(sc->gone, json_object_get(host, "mac"));
    json_decref(host);
}

static void do_offline(struct bh_bootwork *w, int64_t limit_ms)
{
    struct offline_scan sc = {w, bh_wall_ms(), limit_ms, json_array()};
    bh_bootview_each_host(w->view, check_host, &sc);
    size_t i;
    json_t *mac;
    json_array_foreach(sc.gone, i, mac)
    {
        json_t *host = bh_bootview_host(w->view, json_string_value(mac));
        const char *seen = json_string_value(json_object_get(host, "last_seen"));
        int64_t ms = 0;
        if (seen)
            bh_time_parse(seen, &ms);
        /* keep last_seen: offline says when it was last heard */
        json_t *doc = json_pack("{s:s}", "state", "offline"), *obj = NULL;
        struct bh_err e;
        if (bh_store_update(w->store, bh_kind_get(BH_KIND_HOST), json_string_value(mac), doc, 0,
                            BH_UPD_PARTIAL | BH_UPD_SYSTEM, &boot_actor, &obj, &e) == 0)
            bh_log(BH_LOG_INFO, "host offline", "mac=%s last_seen=%s", json_string_value(mac),
                   seen ? seen : "-");
        json_decref(doc);
        json_decref(obj);
        json_decref(host);
    }
    json_decref(sc.gone);
}

static void *work_main(void *arg)
{
    struct bh_bootwork *w = arg;
    uint64_t next_offline = bh_mono_ns() + (uint64_t)OFFLINE_CHECK_MS * 1000000ull;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && !w->refresh && !json_array_size(w->events) &&
               !json_object_size(w->seen) && !json_object_size(w->register_) &&
               !json_object_size(w->booted) && bh_mono_ns() < next_offline) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        }
        bool stop = w->stop, refresh = w->refresh;
        json_t *events = w->events, *seen = w->seen, *reg = w->register_, *booted = w->booted;
        w->events = json_array();
        w->seen = json_object();
        w->register_ = json_object();
        w->booted = json_object();
        w->refresh = false;
        int64_t offline_after = w->offline_after_ms;
        pthread_mutex_unlock(&w->mu);

        struct bh_err e;
        /* the view first: registration and updates consult it */
        if (refresh && bh_bootview_refresh(w->view, w->store, &e))
            bh_log(BH_LOG_WARN, "boot view refresh failed", "err=%s", e.msg);
        if (refresh) { /* the settings object may have changed offline_after */
            json_t *st = bh_bootview_settings(w->view);
            json_t *oa = json_object_get(st, "offline_after");
            /* a value stored before the API checked the range is ignored */
            if (json_is_integer(oa) && json_integer_value(oa) >= BH_OFFLINE_AFTER_MIN &&
                json_integer_value(oa) <= BH_OFFLINE_AFTER_MAX)
                offline_after = json_integer_value(oa) * 1000;
            else
                offline_after = w->offline_after_ms;
            json_decref(st);
            w->effective_offline_ms = offline_after;
        } else if (w->effective_offline_ms) {
            offline_after = w->effective_offline_ms;
        }
        do_register(w, reg);
        do_booted(w, booted);
        do_seen(w, seen);
        do_events(w, events);
        json_decref(booted);
        json_decref(reg);
        json_decref(seen);
        json_decref(events);
        if (bh_mono_ns() >= next_offline) {
            if (offline_after > 0)
                do_offline(w, offline_after);
            next_offline = bh_mono_ns() + (uint64_t)OFFLINE_CHECK_MS * 1000000ull;
        }

        pthread_mutex_lock(&w->mu);
        if (stop && !json_array_size(w->events) && !json_object_size(w->seen) &&
            !json_object_size(w->register_) && !json_object_size(w->booted))
            break;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int bh_bootwork_start(struct bh_store *s, struct bh_bootview *v, struct bh_bootwork **out,
                      struct bh_err *err)
{
    struct bh_bootwork *w = calloc(1, sizeof(*w));
    if (!w)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    w->store = s;
    w->view = v;
    w->offline_after_ms = 600000;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->events = json_array();
    w->seen = json_object();
    w->register_ = json_object();
    w->booted = json_object();
    w->written = json_object();
    w->registered = json_object();
    if (!w->events || !w->seen || !w->register_ || !w->booted || !w->written || !w->registered ||
        pthread_create(&w->thread, NULL, work_main, w)) {
        json_decref(w->events);
        json_decref(w->seen);
        json_decref(w->register_);
        json_decref(w->booted);
        json_decref(w->written);
        json_decref(w->registered);
        free(w);
        return bh_err_set(err, BH_ESYS, NULL, "cannot start the boot worker");
    }
    *out = w;
    return 0;
}

void bh_bootwork_stop(struct bh_bootwork *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    wake(w);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    if (w->dropped)
        bh_log(BH_LOG_WARN, "boot events dropped (queue full)", "count=%llu",
               (unsigned long long)w->dropped);
    json_decref(w->events);
    json_decref(w->seen);
    json_decref(w->register_);
    json_decref(w->booted);
    json_decref(w->written);
    json_decref(w->registered);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
