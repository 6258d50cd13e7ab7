/*
 * cmd_deploy.c - `bootherd-agent deploy`: fetch an image version's
 * manifest from the server and write the image onto a device (see
 * deploy.h), comparing first (sync, the default) or not (--full, LINBO's
 * "new").  Progress goes to stderr: a bar redrawn on a terminal, else a
 * plain line every few seconds; the summary line goes to stdout.
 */
#include "deploy.h"
#include "cache.h"
#include "client/httpsrc.h"

#include "client/progress.h"

#include "core/str.h"
#include "core/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define THREADS_MAX 64

static int usage(void)
{
    fprintf(stderr,
            "usage: bootherd-agent deploy --server URL --token TOKEN --image NAME[@REF]\n"
            "                             --device PATH [--full] [--threads N]\n"
            "                             [--retry-secs N]\n"
            "  --server URL      the bootherd server, e.g. http://192.0.2.1:8080\n"
            "                    (default $BOOTHERD_URL)\n"
            "  --token TOKEN     a token that may read images (default $BOOTHERD_TOKEN)\n"
            "  --image NAME@REF  REF: a version number or a tag (default latest)\n"
            "  --device PATH     a block device, or a file (made when missing)\n"
            "  --full            write everything (LINBO \"new\"); default: sync, which\n"
            "                    leaves alone what the device already holds\n"
            "  --threads N       worker threads (default: twice the CPUs, at least 4)\n"
            "  --retry-secs N    keep retrying an unreachable server this long (default 60)\n");
    return 2;
}

/* the deploy's progress on stderr, with the bytes fetched so far */
static void on_progress(void *ud, uint64_t done, uint64_t total, uint64_t fetched)
{
    struct bh_progress *p = ud;
    char f[32];
    p->total = total;
    bh_progress_human((double)fetched, f, sizeof(f));
    snprintf(p->note, sizeof(p->note), "fetched %s", f);
    if (done == total)
        bh_progress_end(p);
    else
        bh_progress_update(p, done);
}

/* Open the target; a missing path becomes a file.  *size: what it holds
 * (a file shorter than the image is extended: files grow). */
static int open_target(const char *path, uint64_t need, bool must_exist, int *fd_out,
                       uint64_t *size, struct bh_err *err)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !must_exist)
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return bh_err_set(err, BH_ESYS, "device", "%s: %s", path, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0) {
        rc = bh_err_set(err, BH_ESYS, "device", "%s: stat: %s", path, strerror(errno));
    } else if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, size) < 0)
            rc = bh_err_set(err, BH_ESYS, "device", "%s: size: %s", path, strerror(errno));
    } else if (S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        if (*size < need) {
            if (ftruncate(fd, (off_t)need) < 0)
                rc = bh_err_set(err, BH_ESYS, "device", "%s: extending to %llu bytes: %s", path,
                                (unsigned long long)need, strerror(errno));
            *size = need;
        }
    } else {
        rc = bh_err_set(err, BH_EINVAL, "device", "%s: not a block device or regular file", path);
    }
    if (rc)
        close(fd);
    else
        *fd_out = fd;
    return rc;
}

int bh_agent_deploy(const struct bh_agent_deploy_req *q, struct bh_deploy_stats *st,
                    struct bh_err *err)
{
    struct bh_httpsrc *hs = NULL;
    struct bh_manifest m;
    bh_manifest_init(&m);
    struct bh_httpsrc_opts ho = {
        .server = q->server, .token = q->token, .retry_secs = q->retry_secs};
    int fd = -1;
    uint64_t size = 0;
    memset(st, 0, sizeof(*st));
    int rc = bh_httpsrc_open(&ho, &hs, err);
    if (!rc)
        rc = bh_httpsrc_manifest(hs, q->name, q->ref, &m, err);
    if (!rc)
        rc = open_target(q->device, m.size, q->must_exist, &fd, &size, err);
    struct bh_cache cache;
    bool cached = false;
    struct bh_chunk_source src = bh_httpsrc_source(hs);
    if (!rc && q->cache_dir) {
        struct bh_err ce;
        if (bh_cache_open(&cache, q->cache_dir, &src, &ce) == 0) {
            src = bh_cache_source(&cache);
            cached = true;
        } else {
            fprintf(stderr, "bootherd-agent: the cache is not usable, deploying without: %s\n",
                    ce.msg);
        }
    }
    if (!rc) {
        fprintf(stderr, "deploying %s@%s (%llu bytes, %zu extents) to %s: %s%s\n", q->name, q->ref,
                (unsigned long long)m.size, m.n, q->device, q->full ? "full write" : "sync",
                cached ? ", with the cache" : "");
        struct bh_deploy_opts o = {
            .compare = !q->full, .threads = q->threads, .progress = q->progress, .ud = q->ud};
        rc = bh_deploy(fd, size, &m, &src, &o, st, err);
    }
    if (cached) {
        bh_cache_sync(&cache);
        st->cache_hits = atomic_load(&cache.hits);
    }
    if (hs)
        st->retries = bh_httpsrc_retries(hs);
    if (fd >= 0)
        close(fd);
    bh_manifest_free(&m);
    bh_httpsrc_close(hs);
    return rc;
}

int bh_agent_cmd_deploy(int argc, char **argv)
{
    const char *server = getenv("BOOTHERD_URL"), *token = getenv("BOOTHERD_TOKEN");
    const char *image = NULL, *device = NULL;
    bool full = false;
    int threads = 0, retry = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int64_t n;
        if (!strcmp(a, "--server") && v)
            server = argv[++i];
        else if (!strcmp(a, "--token") && v)
            token = argv[++i];
        else if (!strcmp(a, "--image") && v)
            image = argv[++i];
        else if (!strcmp(a, "--device") && v)
            device = argv[++i];
        else if (!strcmp(a, "--full"))
            full = true;
        else if (!strcmp(a, "--threads") && v && !bh_parse_i64(argv[++i], 1, THREADS_MAX, &n))
            threads = (int)n;
        else if (!strcmp(a, "--retry-secs") && v && !bh_parse_i64(argv[++i], 1, 86400, &n))
            retry = (int)n;
        else
            return usage();
    }
    if (!server || !image || !device || !image[0] || image[0] == '@')
        return usage();
    char name[256], ref[128];
    const char *at = strrchr(image, '@');
    size_t nl = at ? (size_t)(at - image) : strlen(image);
    if (nl >= sizeof(name) || (at && strlen(at + 1) >= sizeof(ref))) {
        fprintf(stderr, "bootherd-agent: image name or ref too long\n");
        return 2;
    }
    memcpy(name, image, nl);
    name[nl] = '\0';
    bh_strlcpy(ref, at && at[1] ? at + 1 : "latest", sizeof(ref));

    struct bh_err e;
    bh_err_clear(&e);
    struct bh_deploy_stats st;
    struct bh_progress v;
    bh_progress_start(&v, "deploy", 0);
    struct bh_agent_deploy_req q = {.server = server,
                                    .token = token,
                                    .name = name,
                                    .ref = ref,
                                    .device = device,
                                    .full = full,
                                    .threads = threads,
                                    .retry_secs = retry,
                                    .progress = on_progress,
                                    .ud = &v};
    int rc = bh_agent_deploy(&q, &st, &e);
    if (!rc) {
        printf("deployed %s@%s to %s: %llu extents, %llu skipped, fetched %llu chunks (%llu "
               "bytes), wrote %llu bytes, zeroed %llu bytes (%llu runs) in %.2f s\n",
               name, ref, device, (unsigned long long)st.extents, (unsigned long long)st.skipped,
               (unsigned long long)st.fetched, (unsigned long long)st.fetched_bytes,
               (unsigned long long)st.written, (unsigned long long)st.zeroed,
               (unsigned long long)st.zero_runs, st.seconds);
        fflush(stdout);
    } else {
        fprintf(stderr, "bootherd-agent: deploy %s@%s to %s failed: %s\n", name, ref, device,
                e.msg);
    }
    if (st.retries)
        fprintf(stderr, "bootherd-agent: %llu requests were retried (server unreachable)\n",
                (unsigned long long)st.retries);
    return rc ? 1 : 0;
}
