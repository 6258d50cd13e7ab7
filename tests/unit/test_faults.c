/*
 * test_faults.c - failure injection for the store, as SQLite and curl test
 * themselves: a fixed sequence of writes (create a host, update it, create
 * a job) is run again and again with the N-th allocation (SQLite's and
 * jansson's, through their allocator hooks) or the N-th write or sync
 * (through a VFS shim over the default VFS) failing, for N = 1, 2, ...
 * until a run ends with no failure injected.  After every run: each call
 * returned (never crashed), a failed call said so with an error, and the
 * store re-opens, passes PRAGMA integrity_check and holds only whole
 * objects.  Everything injected lives here; the store is the real one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "image/chunkstore.h"
#include "image/manifest.h"
#include "jobs/jobs.h"
#include "model/model.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAC1 "00:00:00:00:00:01"
/* runs beyond this N are sampled (every STRIDE-th), to keep the test short */
#define DENSE_RUNS 200
#define STRIDE     13
#define MAX_RUNS   20000

static const struct bh_actor actor = {"faults", "0123456789ab", "192.0.2.9"};

/* ---- the counters the hooks share ----------------------------------------- */

enum fault_kind { FAULT_ALLOC, FAULT_WRITE, FAULT_IO };

static atomic_bool g_armed;    /* injection on (only around the writes) */
static atomic_long g_count;    /* allocations or writes seen while armed */
static long g_fail_at;         /* the one that fails (1-based) */
static atomic_bool g_injected; /* did this run fail one? */
static enum fault_kind g_kind;

/* true if this allocation or write is the one to fail */
static bool should_fail(enum fault_kind k)
{
    if (!atomic_load(&g_armed) || k != g_kind)
        return false;
    if (atomic_fetch_add(&g_count, 1) + 1 != g_fail_at)
        return false;
    atomic_store(&g_injected, true);
    return true;
}

/* ---- allocators: SQLite's and jansson's ----------------------------------- */

/* SQLite wants xSize: keep the size in front of each block (16 bytes keeps
 * the alignment malloc gives). */
#define HDR 16

static void *fa_malloc(int n)
{
    if (n <= 0 || should_fail(FAULT_ALLOC))
        return NULL;
    char *p = malloc((size_t)n + HDR);
    if (!p)
        return NULL;
    *(size_t *)(void *)p = (size_t)n;
    return p + HDR;
}
static void fa_free(void *p)
{
    if (p)
        free((char *)p - HDR);
}
static int fa_size(void *p)
{
    return p ? (int)*(size_t *)(void *)((char *)p - HDR) : 0;
}
static void *fa_realloc(void *p, int n)
{
    if (!p)
        return fa_malloc(n);
    if (should_fail(FAULT_ALLOC))
        return NULL;
    char *q = realloc((char *)p - HDR, (size_t)n + HDR);
    if (!q)
        return NULL;
    *(size_t *)(void *)q = (size_t)n;
    return q + HDR;
}
static int fa_roundup(int n)
{
    return (n + 7) & ~7;
}
static int fa_init(void *ud)
{
    (void)ud;
    return SQLITE_OK;
}
static void fa_shutdown(void *ud)
{
    (void)ud;
}

static const sqlite3_mem_methods fa_methods = {fa_malloc,  fa_free, fa_realloc,  fa_size,
                                               fa_roundup, fa_init, fa_shutdown, NULL};

static void *ja_malloc(size_t n)
{
    return should_fail(FAULT_ALLOC) ? NULL : malloc(n);
}

/* ---- the VFS shim: writes, syncs and truncations can fail ---------------- */

struct shim_file {
    sqlite3_file base;
    sqlite3_file *real; /* lives right after this struct */
};

static sqlite3_vfs *g_real_vfs;
static sqlite3_vfs g_shim_vfs;
static sqlite3_io_methods g_shim_io;

#define REAL(f) (((struct shim_file *)(void *)(f))->real)

static int sh_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}
static int sh_read(sqlite3_file *f, void *b, int n, sqlite3_int64 off)
{
    return REAL(f)->pMethods->xRead(REAL(f), b, n, off);
}
static int sh_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 off)
{
    if (should_fail(FAULT_WRITE))
        return SQLITE_IOERR_WRITE;
    return REAL(f)->pMethods->xWrite(REAL(f), b, n, off);
}
static int sh_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    if (should_fail(FAULT_WRITE))
        return SQLITE_IOERR_TRUNCATE;
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}
static int sh_sync(sqlite3_file *f, int flags)
{
    (void)f;
    (void)flags;
    if (should_fail(FAULT_WRITE))
        return SQLITE_IOERR_FSYNC;
    /* no power is cut here (tests/integration/crash.sh does that): a sync
     * only has to be a place that can fail, and skipping the real one keeps
     * hundreds of runs fast on a busy disk */
    return SQLITE_OK;
}
static int sh_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}
static int sh_lock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xLock(REAL(f), l);
}
static int sh_unlock(sqlite3_file *f, int l)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), l);
}
static int sh_check(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}
static int sh_fcntl(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}
static int sh_sector(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}
static int sh_devchar(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}
static int sh_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int sh_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void sh_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}
static int sh_shm_unmap(sqlite3_file *f, int del)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), del);
}
static int sh_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}
static int sh_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static int sh_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags,
                   int *out_flags)
{
    (void)vfs;
    struct shim_file *sf = (struct shim_file *)(void *)f;
    sf->real = (sqlite3_file *)(void *)(sf + 1);
    int rc = g_real_vfs->xOpen(g_real_vfs, name, sf->real, flags, out_flags);
    if (rc != SQLITE_OK || !sf->real->pMethods) {
        f->pMethods = NULL;
        return rc;
    }
    g_shim_io.iVersion = sf->real->pMethods->iVersion; /* the unix VFS: the same for all */
    f->pMethods = &g_shim_io;
    return rc;
}
static int sh_delete(sqlite3_vfs *vfs, const char *name, int sync)
{
    (void)vfs;
    if (should_fail(FAULT_WRITE))
        return SQLITE_IOERR_DELETE;
    return g_real_vfs->xDelete(g_real_vfs, name, sync);
}
static int sh_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return g_real_vfs->xAccess(g_real_vfs, name, flags, out);
}
static int sh_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return g_real_vfs->xFullPathname(g_real_vfs, name, n, out);
}
static int sh_random(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return g_real_vfs->xRandomness(g_real_vfs, n, out);
}
static int sh_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return g_real_vfs->xSleep(g_real_vfs, us);
}
static int sh_time(sqlite3_vfs *vfs, double *t)
{
    (void)vfs;
    return g_real_vfs->xCurrentTime(g_real_vfs, t);
}
static int sh_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return g_real_vfs->xGetLastError(g_real_vfs, n, out);
}
static int sh_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
    (void)vfs;
    return g_real_vfs->xCurrentTimeInt64(g_real_vfs, t);
}

static void install_hooks(void)
{
    /* the allocator can only change while SQLite is shut down */
    assert_int_equal(sqlite3_shutdown(), SQLITE_OK);
    assert_int_equal(sqlite3_config(SQLITE_CONFIG_MALLOC, &fa_methods), SQLITE_OK);
    assert_int_equal(sqlite3_initialize(), SQLITE_OK);
    json_set_alloc_funcs(ja_malloc, free);

    g_real_vfs = sqlite3_vfs_find(NULL);
    assert_non_null(g_real_vfs);
    g_shim_io = (sqlite3_io_methods){
        3,           sh_close,       sh_read,      sh_write, sh_truncate, sh_sync,    sh_size,
        sh_lock,     sh_unlock,      sh_check,     sh_fcntl, sh_sector,   sh_devchar, sh_shm_map,
        sh_shm_lock, sh_shm_barrier, sh_shm_unmap, sh_fetch, sh_unfetch,
    };
    g_shim_vfs = *g_real_vfs;
    g_shim_vfs.szOsFile = (int)sizeof(struct shim_file) + g_real_vfs->szOsFile;
    g_shim_vfs.zName = "bh-faults";
    g_shim_vfs.pNext = NULL;
    g_shim_vfs.xOpen = sh_open;
    g_shim_vfs.xDelete = sh_delete;
    g_shim_vfs.xAccess = sh_access;
    g_shim_vfs.xFullPathname = sh_fullpath;
    g_shim_vfs.xRandomness = sh_random;
    g_shim_vfs.xSleep = sh_sleep;
    g_shim_vfs.xCurrentTime = sh_time;
    g_shim_vfs.xGetLastError = sh_lasterr;
    g_shim_vfs.xCurrentTimeInt64 = sh_time64;
    /* the rest (system calls) stays the real VFS's */
    assert_int_equal(sqlite3_vfs_register(&g_shim_vfs, 1), SQLITE_OK);
}

/* ---- one run -------------------------------------------------------------- */

static char g_dir[64], g_path[128];

static struct bh_store *open_store(void)
{
    struct bh_store_config cfg = {.path = g_path, .readers = 2};
    struct bh_store *s = NULL;
    struct bh_err e;
    if (bh_store_open(&cfg, &s, &e))
        fail_msg("open %s: %s", g_path, e.msg);
    return s;
}

static void fresh_dir_only(void)
{
    char cmd[160];
    if (g_dir[0]) {
        snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
        assert_int_equal(system(cmd), 0);
    }
    snprintf(g_dir, sizeof(g_dir), "/tmp/bh-test-faults-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    snprintf(g_path, sizeof(g_path), "%s/state.db", g_dir);
}

static void fresh_dir(void)
{
    fresh_dir_only();
    bh_store_close(open_store()); /* the schema, before any injection */
}

/* An error must say what went wrong. */
static void failed_cleanly(int rc, const struct bh_err *e, const char *what, long n)
{
    if (rc >= 0)
        fail_msg("%s with failure %ld: rc %d is no error", what, n, rc);
    if (!e->msg[0])
        fail_msg("%s with failure %ld: error %d without a message", what, n, rc);
}

/* What the run managed, for the check after it. */
struct outcome {
    bool created, updated, job, cancelled;
};

static struct outcome run_writes(struct bh_store *s, long n)
{
    struct outcome o = {0};
    struct bh_err e;
    json_t *out = NULL;
    /* the documents are built before injection: only the store is tried */
    json_t *host = json_pack("{s:s, s:s}", "mac", MAC1, "name", "pc01");
    json_t *doc = NULL;
    bh_err_clear(&e);
    assert_int_equal(bh_model_validate(&bh_kinds[BH_KIND_HOST], host, BH_V_CREATE, &doc, &e), 0);
    json_t *patch = json_pack("{s:s}", "description", "updated under fire");
    json_t *spec = json_pack("{s:[s,s]}", "steps", "partition", "start:1");
    json_t *macs = json_pack("[s]", MAC1);

    atomic_store(&g_armed, true);
    int rc = bh_store_create(s, &bh_kinds[BH_KIND_HOST], doc, &actor, &out, &e);
    if (rc) {
        atomic_store(&g_armed, false);
        failed_cleanly(rc, &e, "create host", n);
        goto done;
    }
    json_decref(out);
    out = NULL;
    o.created = true;
    rc = bh_store_update(s, &bh_kinds[BH_KIND_HOST], MAC1, patch, 0, BH_UPD_PARTIAL, &actor, &out,
                         &e);
    if (rc) {
        atomic_store(&g_armed, false);
        failed_cleanly(rc, &e, "update host", n);
        goto done;
    }
    json_decref(out);
    out = NULL;
    o.updated = true;
    rc = bh_store_job_create(s, spec, macs, &actor, &out, &e);
    if (rc) {
        atomic_store(&g_armed, false);
        failed_cleanly(rc, &e, "create job", n);
        goto done;
    }
    o.job = true;
    /* a job edit: the rules read and change the task rows in one write */
    int64_t id = json_integer_value(json_object_get(out, "id"));
    json_decref(out);
    out = NULL;
    rc = bh_jobs_cancel(s, id, &actor, &out, &e);
    atomic_store(&g_armed, false);
    if (rc) {
        failed_cleanly(rc, &e, "cancel job", n);
        goto done;
    }
    o.cancelled = true;
done:
    atomic_store(&g_armed, false);
    json_decref(out);
    json_decref(host);
    json_decref(doc);
    json_decref(patch);
    json_decref(spec);
    json_decref(macs);
    return o;
}

static void integrity_ok(long n)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const char *v = (const char *)sqlite3_column_text(st, 0);
    if (!v || strcmp(v, "ok") != 0)
        fail_msg("integrity check after failure %ld: %s", n, v ? v : "(null)");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* Re-open: every object there is whole, and what was acknowledged is there. */
static void store_whole(const struct outcome *o, long n)
{
    integrity_ok(n);
    struct bh_store *s = open_store();
    struct bh_err e;
    json_t *h = NULL;
    int rc = bh_store_get(s, &bh_kinds[BH_KIND_HOST], MAC1, &h, &e);
    if (o->created && rc)
        fail_msg("failure %ld: the acknowledged host is gone: %s", n, e.msg);
    if (!rc) {
        const char *name = json_string_value(json_object_get(h, "name"));
        if (!name || strcmp(name, "pc01") != 0) {
            char *dump = json_dumps(h, JSON_COMPACT);
            fail_msg("failure %ld (%s): the host is torn: %s", n,
                     o->created ? "acknowledged" : "refused", dump ? dump : "?");
        }
        const char *d = json_string_value(json_object_get(h, "description"));
        if (o->updated && (!d || strcmp(d, "updated under fire") != 0))
            fail_msg("failure %ld: the acknowledged update is lost", n);
        if (d && d[0] && strcmp(d, "updated under fire") != 0)
            fail_msg("failure %ld: a torn description '%s'", n, d);
    } else {
        assert_int_equal(rc, BH_ENOTFOUND);
    }
    json_decref(h);
    json_t *jobs = NULL;
    assert_int_equal(bh_store_jobs(s, 0, 10, &jobs, &e), 0);
    json_t *items = json_is_array(jobs) ? jobs : json_object_get(jobs, "items");
    size_t nj = json_array_size(items);
    if (o->job && nj != 1)
        fail_msg("failure %ld: the acknowledged job is missing (%zu jobs)", n, nj);
    assert_true(nj <= 1);
    if (nj == 1) { /* a job is whole: its host and both steps */
        int64_t id = json_integer_value(json_object_get(json_array_get(items, 0), "id"));
        json_t *job = NULL;
        assert_int_equal(bh_store_job_get(s, id, &job, &e), 0);
        json_t *hosts = json_object_get(job, "hosts");
        assert_int_equal(json_array_size(hosts), 1);
        json_t *steps = json_object_get(json_array_get(hosts, 0), "steps");
        assert_int_equal(json_array_size(steps), 2);
        /* the cancel is whole or absent: both steps cancelled, or both queued */
        const char *s0 = json_string_value(json_object_get(json_array_get(steps, 0), "state"));
        const char *s1 = json_string_value(json_object_get(json_array_get(steps, 1), "state"));
        if (!s0 || !s1 || strcmp(s0, s1) != 0)
            fail_msg("failure %ld: a torn cancel: steps %s and %s", n, s0 ? s0 : "?",
                     s1 ? s1 : "?");
        if (o->cancelled && strcmp(s0, "cancelled") != 0)
            fail_msg("failure %ld: the acknowledged cancel is lost (%s)", n, s0);
        json_decref(job);
    }
    json_decref(jobs);
    bh_store_close(s);
}

static void inject_all(enum fault_kind kind, const char *name)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long runs = 0, n = 1;
    for (;; n = n < DENSE_RUNS ? n + 1 : n + STRIDE) {
        assert_true(n < MAX_RUNS);
        fresh_dir();
        struct bh_store *s = open_store();
        g_kind = kind;
        g_fail_at = n;
        atomic_store(&g_count, 0);
        atomic_store(&g_injected, false);
        struct outcome o = run_writes(s, n);
        bh_store_close(s);
        bool injected = atomic_load(&g_injected);
        runs++;
        if (!injected && !(o.created && o.updated && o.job && o.cancelled))
            fail_msg("%s: run %ld failed with nothing injected", name, n);
        store_whole(&o, n);
        if (!injected)
            break; /* the whole sequence ran with fewer than n: done */
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("# %s: %ld runs, the sequence makes %ld, %.1f s\n", name, runs,
                  (long)atomic_load(&g_count),
                  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    assert_int_equal(system(cmd), 0);
    g_dir[0] = '\0';
}

static void test_store_alloc_failures(void **state)
{
    (void)state;
    inject_all(FAULT_ALLOC, "store allocations");
}

static void test_store_write_failures(void **state)
{
    (void)state;
    inject_all(FAULT_WRITE, "store writes");
}

/* ---- the chunk store: system calls through the linker's --wrap --------- */

/* meson.build links this test with -Wl,--wrap= for these: the chunk store's
 * calls land here, and pass through unless it is their turn to fail. */
ssize_t __real_write(int fd, const void *p, size_t n);
ssize_t __wrap_write(int fd, const void *p, size_t n);
int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __real_renameat2(int a, const char *an, int b, const char *bn, unsigned fl);
int __wrap_renameat2(int a, const char *an, int b, const char *bn, unsigned fl);
int __real_linkat(int a, const char *an, int b, const char *bn, int fl);
int __wrap_linkat(int a, const char *an, int b, const char *bn, int fl);
int __real_syncfs(int fd);
int __wrap_syncfs(int fd);
int __real_openat(int at, const char *path, int flags, ...);
int __wrap_openat(int at, const char *path, int flags, ...);

int __wrap_syncfs(int fd)
{
    if (should_fail(FAULT_IO)) {
        errno = EIO;
        return -1;
    }
    return __real_syncfs(fd);
}
ssize_t __wrap_write(int fd, const void *p, size_t n)
{
    if (should_fail(FAULT_IO)) {
        errno = ENOSPC;
        return -1;
    }
    return __real_write(fd, p, n);
}
int __wrap_fsync(int fd)
{
    if (should_fail(FAULT_IO)) {
        errno = EIO;
        return -1;
    }
    return __real_fsync(fd);
}
int __wrap_renameat2(int a, const char *an, int b, const char *bn, unsigned fl)
{
    if (should_fail(FAULT_IO)) {
        errno = EIO;
        return -1;
    }
    return __real_renameat2(a, an, b, bn, fl);
}
int __wrap_linkat(int a, const char *an, int b, const char *bn, int fl)
{
    if (should_fail(FAULT_IO)) {
        errno = EIO;
        return -1;
    }
    return __real_linkat(a, an, b, bn, fl);
}
int __wrap_openat(int at, const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | __O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = va_arg(ap, mode_t);
        va_end(ap);
    }
    if (should_fail(FAULT_IO)) {
        errno = EIO;
        return -1;
    }
    return __real_openat(at, path, flags, mode);
}

#define CS_OLD 3 /* chunks there before the run */
#define CS_NEW 3 /* chunks the run adds */

static void chunk_data(int i, uint8_t *buf, size_t n)
{
    for (size_t k = 0; k < n; k++)
        buf[k] = (uint8_t)(i * 31 + (int)(k % 251) * (i + 1));
}

/* put chunk i (raw, the store compresses) and return its id */
static int put_chunk(struct bh_chunkstore *cs, int i, uint8_t id[BH_SHA256_LEN], struct bh_err *e)
{
    uint8_t data[8192];
    chunk_data(i, data, sizeof(data));
    bh_sha256(data, sizeof(data), id);
    return bh_cs_put_raw(cs, id, data, sizeof(data), 3, NULL, e);
}

/* the canonical encoding of a manifest over n chunks of chunk_data */
static void encode_manifest(uint8_t ids[][BH_SHA256_LEN], int n, struct bh_buf *out)
{
    struct bh_manifest m;
    bh_manifest_init(&m);
    m.kind = BH_IMG_PARTITION;
    snprintf(m.fstype, sizeof(m.fstype), "ext4");
    m.chunk_avg = 0; /* informative only: unknown */
    for (int i = 0; i < n; i++)
        assert_int_equal(bh_manifest_add(&m, false, 8192, ids[i]), 0);
    assert_int_equal(bh_manifest_encode(&m, out), 0);
    bh_manifest_free(&m);
}

/* the manifest id is there, parses, and names n extents */
static void manifest_ok(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], size_t n,
                        long run, const char *what)
{
    struct bh_manifest m;
    struct bh_err e;
    bh_manifest_init(&m);
    if (bh_cs_get_manifest(cs, id, &m, &e))
        fail_msg("failure %ld: %s: %s", run, what, e.msg);
    assert_int_equal(m.n, n);
    bh_manifest_free(&m);
}

static void test_chunkstore_io_failures(void **state)
{
    (void)state;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long n = 1, runs = 0;
    for (;; n++) {
        assert_true(n < 2000);
        fresh_dir_only();
        char root[160];
        snprintf(root, sizeof(root), "%s/chunks", g_dir);
        struct bh_chunkstore *cs = NULL;
        struct bh_err e;
        assert_int_equal(bh_cs_open(root, &cs, &e), 0);
        uint8_t old[CS_OLD][BH_SHA256_LEN], neu[CS_NEW][BH_SHA256_LEN], mid[BH_SHA256_LEN],
            mid2[BH_SHA256_LEN];
        for (int i = 0; i < CS_OLD; i++)
            assert_int_equal(put_chunk(cs, i, old[i], &e), 0);
        struct bh_buf enc;
        bh_buf_init(&enc, 1 << 20);
        encode_manifest(old, CS_OLD, &enc);
        assert_int_equal(bh_cs_put_manifest(cs, enc.p, enc.len, mid, &e), 0);

        g_kind = FAULT_IO;
        g_fail_at = n;
        atomic_store(&g_count, 0);
        atomic_store(&g_injected, false);
        atomic_store(&g_armed, true);
        int rc = 0, acked = 0;
        bool man_acked = false;
        for (int i = 0; i < CS_NEW && !rc; i++)
            if (!(rc = put_chunk(cs, CS_OLD + i, neu[i], &e)))
                acked++;
        if (!rc) {
            atomic_store(&g_armed, false); /* the encoding is not under test */
            encode_manifest(neu, CS_NEW, &enc);
            atomic_store(&g_armed, true);
            if (!(rc = bh_cs_put_manifest(cs, enc.p, enc.len, mid2, &e)))
                man_acked = true;
        }
        if (!rc)
            rc = bh_cs_sync(cs, &e);
        atomic_store(&g_armed, false);
        bool injected = atomic_load(&g_injected);
        runs++;
        if (injected && !rc)
            fail_msg("chunk store: failure %ld was swallowed: every call returned 0", n);
        if (rc && !injected)
            fail_msg("chunk store: run %ld failed with nothing injected: %s", n, e.msg);
        if (rc && !e.msg[0])
            fail_msg("chunk store: failure %ld: error %d without a message", n, rc);
        bh_cs_close(cs);

        /* re-open: the old chunks and manifest verify, the acknowledged new
         * ones too, and a new one not acknowledged is absent or whole */
        assert_int_equal(bh_cs_open(root, &cs, &e), 0);
        for (int i = 0; i < CS_OLD; i++)
            if (bh_cs_verify(cs, old[i], NULL, &e))
                fail_msg("failure %ld: old chunk %d: %s", n, i, e.msg);
        manifest_ok(cs, mid, CS_OLD, n, "the old manifest");
        for (int i = 0; i < acked; i++)
            if (bh_cs_verify(cs, neu[i], NULL, &e))
                fail_msg("failure %ld: acknowledged chunk %d: %s", n, i, e.msg);
        for (int i = acked; i < CS_NEW && i < acked + 1; i++) {
            int v = bh_cs_verify(cs, neu[i], NULL, &e);
            if (v && v != BH_ENOTFOUND)
                fail_msg("failure %ld: a refused chunk is torn: %s", n, e.msg);
        }
        if (man_acked)
            manifest_ok(cs, mid2, CS_NEW, n, "the acknowledged manifest");
        bh_buf_free(&enc);
        bh_cs_close(cs);
        if (!injected)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("# chunk store I/O: %ld runs, the sequence makes %ld calls, %.1f s\n", runs,
                  (long)atomic_load(&g_count),
                  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    assert_int_equal(system(cmd), 0);
    g_dir[0] = '\0';
}

int main(void)
{
    install_hooks();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_write_failures),
        cmocka_unit_test(test_store_alloc_failures),
        cmocka_unit_test(test_chunkstore_io_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
