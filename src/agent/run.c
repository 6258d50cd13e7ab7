/*
 * run.c - `bootherd-agent run`: the agent's life in the client OS.
 *
 *   1. hello: trade the boot ticket (bootherd.ticket= on the kernel command
 *      line) for a host token, with the machine's inventory; retried with
 *      backoff while the server cannot be reached;
 *   2. then, for ever (or until no step is left, with --once): take the
 *      next step of this host's jobs, report it running, do it, report it
 *      done or failed with what went wrong; progress at most twice a second.
 *
 * Steps: partition and format[:N] (disk.c); sync:N and new:N (deploy OS
 * N's image onto its Root partition, from the group's start.conf);
 * start:N, postsync:N, create_image:N and shell:CMD (osops.c); reboot and
 * halt (only inside the client OS, which says so with
 * BOOTHERD_CLIENT_OS=1); initcache, and sync/new through the cache
 * partition (cachestep.c).
 *
 * The calls go one way: run.c (run.h) -> the steps (steps.h: osops.c,
 * cachestep.c; disk.h; deploy.h) -> the helpers below them all (agent.h:
 * agent.c; proc.h, cache.h, httpsrc.h).  A step never includes run.h or
 * calls into run.c, and agent.c includes no step's header.
 */
#include "agent.h"
#include "deploy.h"
#include "disk.h"
#include "run.h"
#include "steps.h"

#include "core/str.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#define HELLO_BACKOFF_MAX_MS 30000

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int usage(void)
{
    fprintf(stderr, "usage: bootherd-agent run --server URL --ticket TICKET --mac MAC [--once]\n"
                    "                          [--poll-ms N]\n"
                    "The client OS's /init starts it with the values of bootherd.server=,\n"
                    "bootherd.ticket= and bootherd.mac= from the kernel command line.\n");
    return 2;
}

static int hello(struct bh_agent *a, const char *ticket)
{
    json_t *body = json_pack("{s:s, s:s, s:o}", "mac", a->mac, "ticket", ticket, "inventory",
                             bh_agent_inventory());
    int wait = 500;
    for (;;) {
        long status = 0;
        json_t *out = NULL;
        struct bh_err e;
        if (bh_cli_json(&a->api, "POST", "/api/v1/agent/hello", body, &status, &out, &e) == 0 &&
            status == 200) {
            const char *tok = json_string_value(json_object_get(out, "token"));
            bh_strlcpy(a->api.token, tok ? tok : "", sizeof(a->api.token));
            a->group = json_incref(json_object_get(out, "group"));
            a->host = json_incref(json_object_get(out, "host"));
            const char *hn =
                json_string_value(json_object_get(json_object_get(out, "host"), "name"));
            fprintf(stderr, "bootherd-agent: hello: this is %s\n", hn ? hn : a->mac);
            json_decref(out);
            json_decref(body);
            return 0;
        }
        if (status == 401 || status == 404 || status == 422) { /* retrying cannot help */
            bh_cli_fail_json("hello", status, out);
            json_decref(out);
            json_decref(body);
            return BH_EAUTH; /* the ticket or the host is refused */
        }
        fprintf(stderr, "bootherd-agent: hello: %s; again in %d ms\n",
                status ? "the server is not ready" : e.msg, wait);
        json_decref(out);
        sleep_ms(wait);
        wait = wait * 2 > HELLO_BACKOFF_MAX_MS ? HELLO_BACKOFF_MAX_MS : wait * 2;
    }
}

static void on_progress(void *ud, uint64_t done, uint64_t total, uint64_t fetched)
{
    bh_agent_progress(ud, "deploying", done, total, fetched);
}

static int do_deploy(struct bh_agent *a, const struct bh_step *s, struct bh_err *err)
{
    const json_t *os = bh_agent_os(a, s->os);
    const char *root = json_string_value(json_object_get(os, "root"));
    char name[256], ref[64];
    int rc = bh_agent_os_image(os, s->os, name, sizeof(name), ref, sizeof(ref), err);
    if (rc)
        return rc;
    struct bh_agent_deploy_req q = {.server = a->api.url,
                                    .token = a->api.token,
                                    .name = name,
                                    .ref = ref,
                                    .device = root,
                                    .full = s->kind == BH_STEP_NEW,
                                    .must_exist = true, /* never a file in /dev */
                                    .progress = on_progress,
                                    .ud = a};
    struct bh_deploy_stats st;
    struct bh_err e;
    bh_err_clear(&e);
    /* through the cache partition, when the group has one that mounts */
    const char *cdev = bh_agent_cache_dev(a);
    char cdir[64];
    bool cached = cdev && !bh_agent_mount(a, cdev, true, "/cache", cdir, sizeof(cdir), &e);
    if (cdev && !cached)
        fprintf(stderr, "bootherd-agent: without the cache: %s\n", e.msg);
    q.cache_dir = cached ? cdir : NULL;
    bh_err_clear(&e);
    rc = bh_agent_deploy(&q, &st, &e);
    if (cached)
        bh_agent_umount(cdir, NULL);
    if (rc)
        return bh_err_set(err, rc, NULL, "%s:%d: %s@%s onto %s: %s",
                          s->kind == BH_STEP_NEW ? "new" : "sync", s->os, name, ref, root, e.msg);
    fprintf(stderr,
            "bootherd-agent: %s@%s on %s: %llu extents, %llu already right, fetched %llu chunks "
            "(%llu bytes; %llu from the cache) in %.1f s; %llu requests retried\n",
            name, ref, root, (unsigned long long)st.extents, (unsigned long long)st.skipped,
            (unsigned long long)st.fetched, (unsigned long long)st.fetched_bytes,
            (unsigned long long)st.cache_hits, st.seconds, (unsigned long long)st.retries);
    return 0;
}

/* reboot and halt: the machine only, never a server a test runs on.  The
 * step is reported done first: afterwards nobody is left to say so. */
static int do_power(struct bh_agent *a, const struct bh_step *s, struct bh_err *err)
{
    const char *what = s->kind == BH_STEP_REBOOT ? "reboot" : "halt";
    if (!bh_agent_in_client_os())
        return bh_err_set(err, BH_EPERM, NULL,
                          "refusing to %s: not running in the bootherd client OS", what);
    bh_agent_report(a, "done", NULL, NULL);
    a->step_reported = true;
    sync();
    reboot(s->kind == BH_STEP_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF);
    int e = errno;
    fprintf(stderr, "bootherd-agent: %s failed: %s\n", what, strerror(e));
    return bh_err_set(err, BH_ESYS, NULL, "%s failed: %s", what, strerror(e));
}

int bh_agent_do_step(struct bh_agent *a, const struct bh_step *s, const char *text,
                     struct bh_err *err)
{
    const json_t *config = json_object_get(a->group, "config");
    a->step_reported = false;
    switch (s->kind) {
    case BH_STEP_PARTITION:
        return bh_disk_partition(config, access("/sys/firmware/efi", F_OK) == 0, err);
    case BH_STEP_FORMAT: return bh_disk_format(config, s->os, err);
    case BH_STEP_SYNC:
    case BH_STEP_NEW: return do_deploy(a, s, err);
    case BH_STEP_START: return bh_agent_start(a, s, err);
    case BH_STEP_POSTSYNC: return bh_agent_postsync(a, s, err);
    case BH_STEP_CREATE_IMAGE: return bh_agent_capture(a, s, err);
    case BH_STEP_SHELL: return bh_agent_shell(a, s, err);
    case BH_STEP_INITCACHE: return bh_agent_initcache(a, err);
    case BH_STEP_REBOOT:
    case BH_STEP_HALT: return do_power(a, s, err);
    default:
        return bh_err_set(err, BH_EUNSUPP, NULL, "this agent (%s) cannot do '%s' yet", BH_VERSION,
                          text);
    }
}

/* Do one step; false when the server did not let it start (cancelled
 * meanwhile, its job's parallel limit reached, or not reachable). */
static bool run_step(struct bh_agent *a, const char *text)
{
    struct bh_step s;
    struct bh_err e;
    bh_err_clear(&e);
    if (bh_step_parse(text, &s, &e)) {
        bh_agent_report(a, "failed", NULL, e.msg);
        return true;
    }
    if (bh_agent_report(a, "running", NULL, NULL)) {
        fprintf(stderr, "bootherd-agent: step '%s' may not start now; asking again later\n", text);
        return false;
    }
    int rc = bh_agent_do_step(a, &s, text, &e);
    if (a->step_reported) /* reported done already; the machine is going away */
        return true;
    a->finished_task = a->task;
    a->finished_ok = rc == 0;
    bh_strlcpy(a->finished_why, rc ? e.msg : "", sizeof(a->finished_why));
    bh_agent_report(a, rc ? "failed" : "done", NULL, rc ? e.msg : NULL);
    return true;
}

int bh_agent_cmd_run(int argc, char **argv)
{
    const char *server = NULL, *ticket = NULL, *mac = NULL;
    bool once = false;
    int64_t poll = 2000;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--server") && v)
            server = argv[++i];
        else if (!strcmp(argv[i], "--ticket") && v)
            ticket = argv[++i];
        else if (!strcmp(argv[i], "--mac") && v)
            mac = argv[++i];
        else if (!strcmp(argv[i], "--once"))
            once = true;
        else if (!strcmp(argv[i], "--poll-ms") && v && !bh_parse_i64(argv[++i], 100, 60000, &poll))
            continue;
        else
            return usage();
    }
    if (!server || !ticket || !mac)
        return usage();
    struct bh_agent a;
    memset(&a, 0, sizeof(a));
    bh_strlcpy(a.api.url, server, sizeof(a.api.url));
    size_t ul = strlen(a.api.url);
    while (ul && a.api.url[ul - 1] == '/')
        a.api.url[--ul] = '\0';
    bh_strlcpy(a.mac, mac, sizeof(a.mac));
    a.poll_ms = (int)poll;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    a.api.curl = curl_easy_init();
    if (!a.api.curl)
        return 1;
    int rc = hello(&a, ticket);
    bool channel = !rc && !once && bh_agent_channel_start(&a) == 0;
    while (!rc) {
        long status = 0;
        json_t *t = NULL;
        struct bh_err e;
        if (bh_cli_json(&a.api, "GET", "/api/v1/agent/task", NULL, &status, &t, &e)) {
            fprintf(stderr, "bootherd-agent: %s\n", e.msg);
            sleep_ms(a.poll_ms);
            continue;
        }
        if (status == 200 && json_is_object(t)) {
            a.task = json_integer_value(json_object_get(t, "task"));
            if (a.task == a.finished_task) { /* done here; the report was lost */
                bh_agent_report(&a, a.finished_ok ? "done" : "failed", NULL,
                                a.finished_ok ? NULL : a.finished_why);
                sleep_ms(a.poll_ms < 1000 ? a.poll_ms : 1000);
            } else if (!run_step(&a, json_string_value(json_object_get(t, "step")))) {
                if (channel)
                    bh_agent_wait(&a, a.poll_ms);
                else
                    sleep_ms(a.poll_ms);
            }
        } else if (status == 204 && once) {
            json_decref(t);
            break;
        } else if (status == 401) {
            bh_cli_fail_json("task", status, t); /* the token is gone: a new boot */
            rc = BH_EAUTH;
        } else if (channel) {
            bh_agent_wait(&a, a.poll_ms);
        } else {
            sleep_ms(a.poll_ms);
        }
        json_decref(t);
    }
    if (channel)
        bh_agent_channel_stop(&a);
    json_decref(a.group);
    json_decref(a.host);
    bh_cli_cleanup(&a.api);
    return rc ? 1 : 0;
}
