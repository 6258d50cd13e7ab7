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
 */
#include "agent.h"
#include "deploy.h"
#include "disk.h"

#include "core/str.h"
#include "model/startconf.h"
#include "core/timeutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <time.h>
#include <unistd.h>

#define HELLO_BACKOFF_MAX_MS 30000
#define PROGRESS_EVERY_MS    500

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
            return 1;
        }
        fprintf(stderr, "bootherd-agent: hello: %s; again in %d ms\n",
                status ? "the server is not ready" : e.msg, wait);
        json_decref(out);
        sleep_ms(wait);
        wait = wait * 2 > HELLO_BACKOFF_MAX_MS ? HELLO_BACKOFF_MAX_MS : wait * 2;
    }
}

bool bh_agent_in_client_os(void)
{
    const char *os = getenv("BOOTHERD_CLIENT_OS");
    return os && !strcmp(os, "1");
}

int bh_agent_report(struct bh_agent *a, const char *state, json_t *progress, const char *error)
{
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/agent/tasks/%lld", (long long)a->task);
    json_t *body = json_pack("{s:s}", "state", state);
    if (progress)
        json_object_set(body, "progress", progress);
    json_t *ej = error ? json_string(error) : NULL; /* NULL when not UTF-8 */
    if (error) /* never drop the error: without one, "failed" is refused */
        json_object_set_new(body, "error", ej ? ej : json_string("(an error that is not text)"));
    long status = 0;
    json_t *out = NULL;
    struct bh_err e;
    int rc = bh_cli_json(&a->api, "POST", path, body, &status, &out, &e);
    if (!rc && status != 200)
        rc = bh_cli_fail_json("report", status, out);
    else if (rc)
        fprintf(stderr, "bootherd-agent: report: %s\n", e.msg);
    json_decref(body);
    json_decref(out);
    return rc;
}

void bh_agent_progress(struct bh_agent *a, const char *phase, uint64_t done, uint64_t total,
                       uint64_t fetched)
{
    uint64_t now = bh_mono_ns() / 1000000;
    if (strcmp(a->phase, phase) || a->phase_task != a->task) { /* a new phase: its clock */
        bh_strlcpy(a->phase, phase, sizeof(a->phase));
        a->phase_task = a->task;
        a->phase_t0_ms = now;
    }
    if (done < total && now - a->last_report_ms < PROGRESS_EVERY_MS)
        return;
    a->last_report_ms = now;
    json_t *p = json_pack("{s:s, s:I, s:I}", "phase", phase, "done", (json_int_t)done, "total",
                          (json_int_t)total);
    if (fetched)
        json_object_set_new(p, "fetched", json_integer((json_int_t)fetched));
    uint64_t ms = now - a->phase_t0_ms;
    if (ms >= 200 && done) { /* rate over the phase so far, and what is left at that rate */
        uint64_t rate = done * 1000 / ms;
        json_object_set_new(p, "rate", json_integer((json_int_t)rate));
        if (rate && total >= done)
            json_object_set_new(p, "eta_s", json_integer((json_int_t)((total - done) / rate)));
    }
    bh_agent_report(a, "running", p, NULL);
    json_decref(p);
}

static void on_progress(void *ud, uint64_t done, uint64_t total, uint64_t fetched)
{
    bh_agent_progress(ud, "deploying", done, total, fetched);
}

const json_t *bh_agent_os(const struct bh_agent *a, int n)
{
    return json_array_get(json_object_get(json_object_get(a->group, "config"), "os"),
                          (size_t)(n - 1));
}

int bh_agent_os_image(const json_t *os, int n, char *name, size_t ncap, char *ref, size_t rcap,
                      char *why, size_t cap)
{
    const char *base = json_string_value(json_object_get(os, "base_image"));
    const char *root = json_string_value(json_object_get(os, "root"));
    if (!os || !base || !*base || !root || !*root) {
        snprintf(why, cap, "the group has no OS entry %d with a BaseImage and a Root", n);
        return 1;
    }
    if (!bh_startconf_image(base, name, ncap, ref, rcap)) {
        snprintf(why, cap, "OS entry %d's BaseImage '%.64s' names no image", n, base);
        return 1;
    }
    return 0;
}

static int do_deploy(struct bh_agent *a, const struct bh_step *s, char *why, size_t cap)
{
    const json_t *os = bh_agent_os(a, s->os);
    const char *root = json_string_value(json_object_get(os, "root"));
    char name[256], ref[64];
    if (bh_agent_os_image(os, s->os, name, sizeof(name), ref, sizeof(ref), why, cap))
        return 1;
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
    char cdir[64], cwhy[512];
    bool cached =
        cdev && !bh_agent_mount(a, cdev, true, "/cache", cdir, sizeof(cdir), cwhy, sizeof(cwhy));
    if (cdev && !cached)
        fprintf(stderr, "bootherd-agent: without the cache: %s\n", cwhy);
    q.cache_dir = cached ? cdir : NULL;
    int rc = bh_agent_deploy(&q, &st, &e);
    if (cached)
        bh_agent_umount(cdir, NULL, 0);
    if (rc) {
        snprintf(why, cap, "%s:%d: %s@%s onto %s: %s", s->kind == BH_STEP_NEW ? "new" : "sync",
                 s->os, name, ref, root, e.msg);
        return 1;
    }
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
static int do_power(struct bh_agent *a, const struct bh_step *s, char *why, size_t cap)
{
    const char *what = s->kind == BH_STEP_REBOOT ? "reboot" : "halt";
    if (!bh_agent_in_client_os()) {
        snprintf(why, cap, "refusing to %s: not running in the bootherd client OS", what);
        return 1;
    }
    bh_agent_report(a, "done", NULL, NULL);
    sync();
    reboot(s->kind == BH_STEP_REBOOT ? RB_AUTOBOOT : RB_POWER_OFF);
    snprintf(why, cap, "%s failed: %s", what, strerror(errno));
    fprintf(stderr, "bootherd-agent: %s\n", why);
    return -1; /* reported done already */
}

/* Do one step; false when the server did not let it start (cancelled
 * meanwhile, its job's parallel limit reached, or not reachable). */
static bool run_step(struct bh_agent *a, const char *text)
{
    struct bh_step s;
    struct bh_err e;
    char why[1024] = "";
    if (bh_step_parse(text, &s, &e)) {
        bh_agent_report(a, "failed", NULL, e.msg);
        return true;
    }
    if (bh_agent_report(a, "running", NULL, NULL)) {
        fprintf(stderr, "bootherd-agent: step '%s' may not start now; asking again later\n", text);
        return false;
    }
    int rc;
    const json_t *config = json_object_get(a->group, "config");
    switch (s.kind) {
    case BH_STEP_PARTITION:
        rc = bh_disk_partition(config, access("/sys/firmware/efi", F_OK) == 0, why, sizeof(why));
        break;
    case BH_STEP_FORMAT: rc = bh_disk_format(config, s.os, why, sizeof(why)); break;
    case BH_STEP_SYNC:
    case BH_STEP_NEW: rc = do_deploy(a, &s, why, sizeof(why)); break;
    case BH_STEP_START: rc = bh_agent_start(a, &s, why, sizeof(why)); break;
    case BH_STEP_POSTSYNC: rc = bh_agent_postsync(a, &s, why, sizeof(why)); break;
    case BH_STEP_CREATE_IMAGE: rc = bh_agent_capture(a, &s, why, sizeof(why)); break;
    case BH_STEP_SHELL: rc = bh_agent_shell(a, &s, why, sizeof(why)); break;
    case BH_STEP_INITCACHE: rc = bh_agent_initcache(a, why, sizeof(why)); break;
    case BH_STEP_REBOOT:
    case BH_STEP_HALT: rc = do_power(a, &s, why, sizeof(why)); break;
    default:
        snprintf(why, sizeof(why), "this agent (%s) cannot do '%s' yet", BH_VERSION, text);
        rc = 1;
    }
    if (rc < 0) /* reported done already; the machine is going away */
        return true;
    a->finished_task = a->task;
    a->finished_ok = rc == 0;
    bh_strlcpy(a->finished_why, why, sizeof(a->finished_why));
    bh_agent_report(a, rc ? "failed" : "done", NULL, rc ? why : NULL);
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
            rc = bh_cli_fail_json("task", status, t); /* the token is gone: a new boot */
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
