/*
 * agent.c - what the steps of `bootherd-agent run` share, below them all:
 * the task's reports and progress to the server, the group's OS entries
 * and cache partition, mounting a partition.  It calls no step: run.c
 * calls the steps, the steps call this (see run.c).
 */
#include "agent.h"

#include "core/str.h"
#include "core/timeutil.h"
#include "model/startconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_EVERY_MS 500

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
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
    if (!rc && status != 200) {
        bh_cli_fail_json("report", status, out); /* says why on stderr */
        rc = status == 401 ? BH_EAUTH : BH_EIO;
    } else if (rc)
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

const json_t *bh_agent_os(const struct bh_agent *a, int n)
{
    return json_array_get(json_object_get(json_object_get(a->group, "config"), "os"),
                          (size_t)(n - 1));
}

int bh_agent_os_image(const json_t *os, int n, char *name, size_t ncap, char *ref, size_t rcap,
                      struct bh_err *err)
{
    const char *base = json_string_value(json_object_get(os, "base_image"));
    const char *root = json_string_value(json_object_get(os, "root"));
    if (!os || !base || !*base || !root || !*root)
        return bh_err_set(err, BH_ENOTFOUND, NULL,
                          "the group has no OS entry %d with a BaseImage and a Root", n);
    if (!bh_startconf_image(base, name, ncap, ref, rcap))
        return bh_err_set(err, BH_EINVAL, NULL, "OS entry %d's BaseImage '%.64s' names no image", n,
                          base);
    return 0;
}

const char *bh_agent_cache_dev(const struct bh_agent *a)
{
    const char *c = json_string_value(
        json_object_get(json_object_get(json_object_get(a->group, "config"), "linbo"), "cache"));
    return c && !strncmp(c, "/dev/", 5) ? c : NULL;
}

/* the FSType start.conf gives the partition dev */
static const char *fstype_of(const struct bh_agent *a, const char *dev)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(json_object_get(a->group, "config"), "partitions"), i, p)
    {
        const char *d = jstr(p, "dev");
        if (d && !strcmp(d, dev))
            return jstr(p, "fstype");
    }
    return NULL;
}

int bh_agent_mount(const struct bh_agent *a, const char *dev, bool rw, const char *where, char *dir,
                   size_t dcap, struct bh_err *err)
{
    if (bh_agent_in_client_os()) {
        bh_strlcpy(dir, where, dcap);
        mkdir(dir, 0755);
    } else {
        bh_strlcpy(dir, "/tmp/bootherd-os.XXXXXX", dcap);
        if (!mkdtemp(dir))
            return bh_err_set(err, BH_ESYS, NULL, "mkdtemp: %s", strerror(errno));
    }
    const char *fs = fstype_of(a, dev);
    const char *want = !fs                   ? NULL
                       : !strcmp(fs, "ntfs") ? "ntfs3"
                       : !strcmp(fs, "swap") ? "swap"
                                             : fs;
    if (want && !strcmp(want, "swap")) {
        if (!bh_agent_in_client_os())
            rmdir(dir);
        return bh_err_set(err, BH_EINVAL, NULL, "%s is a swap partition, not an OS", dev);
    }
    static const char *const any[] = {"ext4", "vfat", "ntfs3", NULL};
    unsigned long fl = rw ? 0 : MS_RDONLY;
    int merr = 0;
    if (want) {
        if (mount(dev, dir, want, fl, NULL) == 0)
            return 0;
        merr = errno;
    } else {
        for (int i = 0; any[i]; i++) {
            if (mount(dev, dir, any[i], fl, NULL) == 0)
                return 0;
            merr = errno;
        }
    }
    bh_err_set(err, BH_ESYS, NULL, "cannot mount %s (%s) on %s: %s", dev,
               want ? want : "ext4/vfat/ntfs3", dir, strerror(merr));
    if (!bh_agent_in_client_os())
        rmdir(dir);
    return BH_ESYS;
}

int bh_agent_umount(const char *dir, struct bh_err *err)
{
    sync();
    for (int i = 0; i < 50; i++) {
        if (umount2(dir, 0) == 0) {
            if (!strncmp(dir, "/tmp/bootherd-", 14))
                rmdir(dir);
            return 0;
        }
        if (errno != EBUSY)
            break;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return bh_err_set(err, BH_ESYS, NULL, "cannot unmount %s: %s", dir, strerror(errno));
}
