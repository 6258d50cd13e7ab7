/*
 * jobview.c - what a job's reader sees besides the stored job, worked out
 * when it is read (GET /api/v1/jobs/{id} and the job create answer):
 *
 *   hosts[].wake            for a job with wake: whether a magic packet
 *                           went out to the host, and why not:
 *                           {state: queued|sent|failed|skipped, why?,
 *                           address?, interface?, error?}
 *   hosts[].waiting         for a host that waits (waiting-for-host): why
 *   hosts[].waiting_reason  (src/boot/bootwait.h: no boot profile, client
 *                           OS not built, never booted, boots another
 *                           profile ...)
 *
 * The wake answer is kept with the job (spec.woke, bh_store_job_woken);
 * whether a queued packet went out is the sender's "wol.sent" or
 * "wol.failed" event on the host after that answer.  The waiting reason
 * is never stored: profiles, the client OS and the host's boots change.
 */
#include "api.h"

#include "boot/bootsvc.h"
#include "boot/bootview.h"
#include "boot/bootwait.h"
#include "core/str.h"

#include <string.h>

#define WAKE_EVENTS_LOOKED 20 /* a host's newest events searched for the send's outcome */

/* the sender's outcome for mac after `at`: "wol.sent" or "wol.failed" */
static void wake_outcome(struct bh_api *api, const char *mac, const char *at, json_t *w)
{
    json_t *evs = NULL;
    if (bh_store_events_of(api->store, "host", mac, 0, WAKE_EVENTS_LOOKED, &evs, NULL))
        return;
    size_t i;
    json_t *ev;
    json_array_foreach(evs, i, ev) /* newest first */
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        const char *ts = json_string_value(json_object_get(ev, "ts"));
        if (!type || !ts || strcmp(ts, at) < 0)
            break;
        bool sent = !strcmp(type, "wol.sent");
        if (!sent && strcmp(type, "wol.failed"))
            continue;
        json_object_set_new(w, "state", json_string(sent ? "sent" : "failed"));
        json_object_set_new(w, "at", json_string(ts));
        const json_t *e = json_object_get(json_object_get(ev, "data"), "error");
        if (!sent && json_is_string(e))
            json_object_set(w, "error", (json_t *)e);
        break;
    }
    json_decref(evs);
}

/* hosts[].wake from the kept answer */
static void view_wake(struct bh_api *api, json_t *job)
{
    const json_t *rep = json_object_get(json_object_get(job, "spec"), "woke");
    if (!json_is_object(rep))
        return;
    json_t *by_mac = json_object();
    const char *err = json_string_value(json_object_get(rep, "error"));
    size_t i;
    json_t *o, *h;
    json_array_foreach(json_object_get(rep, "queued"), i, o)
    {
        const char *mac = json_string_value(json_object_get(o, "mac"));
        if (mac)
            json_object_set_new(by_mac, mac,
                                json_pack("{s:s, s:O, s:O}", "state", "queued", "address",
                                          json_object_get(o, "address"), "interface",
                                          json_object_get(o, "interface")
                                              ? json_object_get(o, "interface")
                                              : json_null()));
    }
    json_array_foreach(json_object_get(rep, "skipped"), i, o)
    {
        const char *mac = json_string_value(json_object_get(o, "mac"));
        if (mac)
            json_object_set_new(
                by_mac, mac,
                json_pack("{s:s, s:O}", "state", "skipped", "why", json_object_get(o, "why")));
    }
    const char *at = json_string_value(json_object_get(rep, "at"));
    json_array_foreach(json_object_get(job, "hosts"), i, h)
    {
        const char *mac = json_string_value(json_object_get(h, "mac"));
        json_t *w = mac ? json_object_get(by_mac, mac) : NULL;
        if (err)
            json_object_set_new(h, "wake", json_pack("{s:s, s:s}", "state", "skipped", "why", err));
        else if (w) {
            if (at && !strcmp(json_string_value(json_object_get(w, "state")), "queued"))
                wake_outcome(api, mac, at, w);
            json_object_set(h, "wake", w);
        }
    }
    json_decref(by_mac);
}

/* hosts[].waiting and waiting_reason for the hosts that wait */
static void view_waiting(struct bh_api *api, json_t *job)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(job, "hosts"), i, h)
    {
        const char *st = json_string_value(json_object_get(h, "state"));
        const char *mac = json_string_value(json_object_get(h, "mac"));
        if (!st || strcmp(st, "waiting-for-host") || !mac)
            continue;
        char reason[512];
        const char *code;
        if (!api->boot) {
            code = "no-boot-services";
            bh_strlcpy(reason, "this server does not run the boot services", sizeof(reason));
        } else {
            json_t *host = bh_bootview_host(bh_boot_view(api->boot), mac);
            code = bh_boot_host_wait(api->boot, host, reason, sizeof(reason));
            json_decref(host);
        }
        json_object_set_new(h, "waiting", json_string(code));
        json_object_set_new(h, "waiting_reason", json_string(reason));
    }
}

void bh_api_job_view(struct bh_api *api, json_t *job)
{
    bh_api_job_annotate(api, job);
    bh_api_job_eta(job);
    view_wake(api, job);
    view_waiting(api, job);
}
