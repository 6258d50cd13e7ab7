/*
 * cachestep.c - the cache partition in the steps of `run`:
 *
 *   initcache   mount the group's Cache partition and fill it with the
 *               chunks of every image its OS entries name (the version each
 *               entry pins, else latest);
 *   sync, new   (run.c) deploy through the cache when the group has one:
 *               chunks found there are not fetched, fetched ones are kept.
 *
 * LINBO's remote caches (Cache = //server/share) are not supported; such a
 * group syncs from the server directly.
 */
#include "cache.h"
#include "client/httpsrc.h"
#include "steps.h"

#include <stdio.h>
#include <string.h>

static void on_fill(void *ud, uint64_t done, uint64_t total)
{
    bh_agent_progress(ud, "caching", done, total, 0);
}

int bh_agent_initcache(struct bh_agent *a, struct bh_err *err)
{
    const char *dev = bh_agent_cache_dev(a);
    if (!dev)
        return bh_err_set(err, BH_ENOTFOUND, NULL,
                          "the group's start.conf names no cache partition (Cache = /dev/...)");
    char dir[64];
    int rc = bh_agent_mount(a, dev, true, "/cache", dir, sizeof(dir), err);
    if (rc)
        return rc;
    struct bh_httpsrc *hs = NULL;
    struct bh_httpsrc_opts ho = {.server = a->api.url, .token = a->api.token};
    struct bh_err e;
    bh_err_clear(&e);
    bool said = false; /* err says which image failed */
    rc = bh_httpsrc_open(&ho, &hs, &e);
    struct bh_chunk_source src = bh_httpsrc_source(hs);
    struct bh_cache c;
    if (!rc)
        rc = bh_cache_open(&c, dir, &src, &e);
    uint64_t added = 0, images = 0;
    const json_t *oses = json_object_get(json_object_get(a->group, "config"), "os");
    for (size_t i = 0; !rc && i < json_array_size(oses); i++) {
        char name[256], ref[64];
        if (bh_agent_os_image(json_array_get(oses, i), (int)i + 1, name, sizeof(name), ref,
                              sizeof(ref), NULL))
            continue; /* an entry without an image */
        struct bh_manifest m;
        bh_manifest_init(&m);
        uint64_t n = 0;
        rc = bh_httpsrc_manifest(hs, name, ref, &m, &e);
        if (!rc)
            rc = bh_cache_fill(&c, &m, on_fill, a, &n, &e);
        if (rc) {
            bh_err_set(err, rc, NULL, "initcache: %s@%s into %s: %s", name, ref, dev, e.msg);
            said = true;
        } else
            fprintf(stderr, "bootherd-agent: initcache: %s@%s: %llu chunks fetched\n", name, ref,
                    (unsigned long long)n);
        added += n;
        images++;
        bh_manifest_free(&m);
    }
    if (rc && !said)
        bh_err_set(err, rc, NULL, "initcache into %s: %s", dev, e.msg);
    bh_httpsrc_close(hs);
    int urc = bh_agent_umount(dir, rc ? NULL : err);
    if (!rc)
        rc = urc;
    if (!rc) {
        json_t *p = json_pack("{s:s, s:I, s:I}", "phase", "cached", "images", (json_int_t)images,
                              "fetched_chunks", (json_int_t)added);
        bh_agent_report(a, "running", p, NULL);
        json_decref(p);
    }
    return rc;
}
