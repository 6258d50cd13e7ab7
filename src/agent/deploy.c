/*
 * deploy.c - an image onto a disk (see deploy.h).
 *
 * The manifest becomes a list of jobs, run in two phases by a pool of
 * worker threads that take the next job from a shared counter:
 *
 *   phase 1  every zero run (cut into pieces so that a long run spreads
 *            over the workers) and the first extent of every distinct
 *            chunk: compare (sync), else fetch, decode, hash, write;
 *   phase 2  the later extents of a chunk the manifest repeats: compare,
 *            else copy from the first extent, which phase 1 left right on
 *            the target, re-hashing what is read back.
 *
 * Extents never overlap, so workers never touch the same bytes, and the
 * phase barrier is all that orders a copy after its source.  Each worker
 * owns three buffers of the largest chunk (what is on the disk, the frame,
 * the decoded chunk): memory does not depend on the image size.
 */
#include "deploy.h"

#include "core/timeutil.h"
#include "image/cdc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define ZERO_PIECE        (32u * 1024 * 1024) /* a zero run is checked/cleared in these */
#define IO_BUF            (1u * 1024 * 1024)  /* reads of zero runs, written zeros */
#define THREADS_MAX       64
#define THREADS_MIN_AUTO  4
#define PROGRESS_EVERY_MS 500 /* "at most twice a second" */
#define SECTOR            512u

enum job_kind { JOB_ZERO, JOB_CHUNK, JOB_COPY };

struct job {
    enum job_kind kind;
    size_t ext;      /* the extent */
    size_t from;     /* JOB_COPY: the extent holding the same chunk */
    uint64_t off, n; /* JOB_ZERO: the piece of the run */
};

struct run {
    int fd;
    bool blk;
    bool zero_cheap; /* the device zeroes without writing (WRITE ZEROES, a loop's hole) */
    unsigned sector; /* the block device's logical block size */
    const struct bh_manifest *m;
    const struct bh_chunk_source *src;
    const struct bh_deploy_opts *o;
    size_t chunk_max; /* the largest chunk extent */
    struct job *jobs;
    size_t njobs;
    uint8_t *changed; /* per extent, set (atomically) when anything was written */

    pthread_mutex_t mu;
    pthread_cond_t cv;
    int active;
    int failed; /* the first error; under mu, read atomically */
    struct bh_err err;
    size_t next; /* atomic: the next job of the phase */
    size_t phase_end;

    /* atomic counters */
    uint64_t done_bytes, fetched, fetched_bytes, written, zeroed, zero_runs;
};

struct worker {
    struct run *r;
    uint8_t *local, *plain; /* chunk_max each */
    struct bh_buf z;
    ZSTD_DCtx *dctx;
    uint8_t *io; /* IO_BUF */
};

static void add(uint64_t *c, uint64_t v)
{
    __atomic_add_fetch(c, v, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void mark_changed(struct run *r, size_t ext)
{
    __atomic_store_n(&r->changed[ext], 1, __ATOMIC_RELAXED);
}

static int io_fail(struct bh_err *err, const char *what, uint64_t off, int e)
{
    if (e == ENOSPC || e == EDQUOT)
        return bh_err_sett(err, BH_EIO, "disk-full", NULL, "the target is full (%s) at offset %llu",
                           strerror(e), (unsigned long long)off);
    return bh_err_set(err, BH_EIO, NULL, "%s the target at offset %llu: %s", what,
                      (unsigned long long)off, strerror(e));
}

static int pwrite_all(int fd, const void *p, size_t n, uint64_t off, struct bh_err *err)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return io_fail(err, "writing", off, w < 0 ? errno : EIO);
        b += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Read n bytes at off; *got is less than n only at the end of a file. */
static int pread_all(int fd, void *p, size_t n, uint64_t off, size_t *got, struct bh_err *err)
{
    uint8_t *b = p;
    size_t have = 0;
    while (have < n) {
        ssize_t r = pread(fd, b + have, n - have, (off_t)(off + have));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return io_fail(err, "reading", off + have, errno);
        if (r == 0)
            break;
        have += (size_t)r;
    }
    *got = have;
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* ---- zero runs ------------------------------------------------------------ */

/* Does [off, off+n) read as zeros?  On a file, holes are skipped without
 * reading them (SEEK_DATA/SEEK_HOLE). */
static int is_zero(struct worker *w, uint64_t off, uint64_t n, bool *zero, struct bh_err *err)
{
    struct run *r = w->r;
    uint64_t end = off + n;
    *zero = true;
    while (off < end) {
        uint64_t stop = end;
        if (!r->blk) {
            off_t d = lseek(r->fd, (off_t)off, SEEK_DATA);
            if (d < 0 && errno == ENXIO)
                return 0; /* only holes (or end of file) from here */
            if (d >= 0) {
                if ((uint64_t)d >= end)
                    return 0;
                off = (uint64_t)d;
                off_t h = lseek(r->fd, d, SEEK_HOLE);
                if (h > 0 && (uint64_t)h < end)
                    stop = (uint64_t)h;
            } /* else: no SEEK_DATA here; read everything */
        }
        while (off < stop) {
            size_t want = stop - off < IO_BUF ? (size_t)(stop - off) : IO_BUF, got;
            int rc = pread_all(r->fd, w->io, want, off, &got, err);
            if (rc)
                return rc;
            if (!all_zero(w->io, got))
                return *zero = false, 0;
            if (got < want)
                return 0; /* end of a file: reads as zeros once it is sized */
            off += got;
        }
    }
    return 0;
}

static int write_zeros(struct worker *w, uint64_t off, uint64_t n, struct bh_err *err)
{
    memset(w->io, 0, IO_BUF);
    while (n) {
        size_t k = n < IO_BUF ? (size_t)n : IO_BUF;
        int rc = pwrite_all(w->r->fd, w->io, k, off, err);
        if (rc)
            return rc;
        off += k;
        n -= k;
    }
    return 0;
}

/* Make [off, off+n) zeros, the cheapest way the target allows. */
static int clear(struct worker *w, uint64_t off, uint64_t n, struct bh_err *err)
{
    struct run *r = w->r;
    if (r->blk) {
        /* BLKZEROOUT takes whole logical blocks; the odd edges are written */
        uint64_t s = (off + r->sector - 1) / r->sector * r->sector;
        uint64_t e = (off + n) / r->sector * r->sector;
        if (e > s) {
            uint64_t range[2] = {s, e - s};
            if (ioctl(r->fd, BLKZEROOUT, range) == 0) {
                int rc = s > off ? write_zeros(w, off, s - off, err) : 0;
                return rc ? rc : write_zeros(w, e, off + n - e, err);
            }
        }
        return write_zeros(w, off, n, err);
    }
    if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)n) == 0)
        return 0;
    return write_zeros(w, off, n, err);
}

/* Does the block device zero a range cheaply: its queue offers WRITE
 * ZEROES and it is a loop device (a hole or unwritten extent in the backing
 * file) or not rotational (an SSD's or a virtual disk's zeroing is a
 * mapping change, not a write)?  Then a sync zeroes a zero run instead of
 * reading it first.  A spinning disk writes the zeros: there reading is no
 * dearer, and it writes nothing when the run is zeros already. */
static bool zeroes_cheaply(const struct stat *sb)
{
    static const char *const at[] = {"queue", "../queue"}; /* a disk, a partition */
    bool wz = false, rot = true;
    for (size_t i = 0; i < 2; i++) {
        char p[128], v[32] = "", q[128], r[8] = "";
        snprintf(p, sizeof(p), "/sys/dev/block/%u:%u/%s/write_zeroes_max_bytes", major(sb->st_rdev),
                 minor(sb->st_rdev), at[i]);
        snprintf(q, sizeof(q), "/sys/dev/block/%u:%u/%s/rotational", major(sb->st_rdev),
                 minor(sb->st_rdev), at[i]);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        wz = fgets(v, sizeof(v), f) && strtoull(v, NULL, 10) > 0;
        fclose(f);
        if ((f = fopen(q, "r"))) {
            rot = !fgets(r, sizeof(r), f) || r[0] != '0';
            fclose(f);
        }
        break;
    }
    return wz && (major(sb->st_rdev) == 7 /* loop */ || !rot);
}

static int do_zero(struct worker *w, const struct job *j, struct bh_err *err)
{
    struct run *r = w->r;
    if (r->o->compare && !r->zero_cheap) {
        bool zero;
        int rc = is_zero(w, j->off, j->n, &zero, err);
        if (rc || zero)
            return rc;
    }
    int rc = clear(w, j->off, j->n, err);
    if (!rc) {
        mark_changed(r, j->ext);
        add(&r->zeroed, j->n);
        add(&r->zero_runs, 1);
    }
    return rc;
}

/* ---- chunks --------------------------------------------------------------- */

/* Does the target already hold extent x? */
static int holds(struct worker *w, const struct bh_extent *x, bool *same, struct bh_err *err)
{
    size_t got;
    *same = false;
    int rc = pread_all(w->r->fd, w->local, (size_t)x->len, x->offset, &got, err);
    if (rc || got != x->len)
        return rc;
    uint8_t h[BH_SHA256_LEN];
    bh_sha256(w->local, got, h);
    *same = memcmp(h, x->id, BH_SHA256_LEN) == 0;
    return 0;
}

static int corrupt(struct bh_err *err, const struct bh_extent *x, const char *why)
{
    char hex[BH_SHA256_HEX];
    bh_hex_id(x->id, hex);
    return bh_err_sett(err, BH_EIO, "corrupt-chunk", hex,
                       "chunk %s (image offset %llu, %llu bytes): %s; nothing of it was written",
                       hex, (unsigned long long)x->offset, (unsigned long long)x->len, why);
}

/* Fetch x's chunk, decode and check it into w->plain. */
static int fetch_verified(struct worker *w, const struct bh_extent *x, struct bh_err *err)
{
    struct run *r = w->r;
    bh_buf_reset(&w->z);
    int rc = r->src->fetch(r->src->ud, x->id, &w->z, err);
    if (rc)
        return rc;
    add(&r->fetched, 1);
    add(&r->fetched_bytes, w->z.len);
    /* one frame, all of the input, declaring exactly the extent's length
     * (docs/image-format.md "Chunks"); decoding never exceeds it */
    unsigned long long declared = ZSTD_getFrameContentSize(w->z.p, w->z.len);
    if (declared == ZSTD_CONTENTSIZE_ERROR || declared == ZSTD_CONTENTSIZE_UNKNOWN)
        return corrupt(err, x, "not a zstd frame that declares its size");
    if (declared != x->len)
        return corrupt(err, x, "the frame's size differs from the manifest's");
    size_t fsz = ZSTD_findFrameCompressedSize(w->z.p, w->z.len);
    if (ZSTD_isError(fsz) || fsz != w->z.len)
        return corrupt(err, x, "not exactly one zstd frame");
    size_t out = ZSTD_decompressDCtx(w->dctx, w->plain, (size_t)x->len, w->z.p, w->z.len);
    if (ZSTD_isError(out) || out != x->len)
        return corrupt(err, x, "the frame does not decode");
    uint8_t h[BH_SHA256_LEN];
    bh_sha256(w->plain, out, h);
    if (memcmp(h, x->id, BH_SHA256_LEN))
        return corrupt(err, x, "its content does not hash to its id");
    return 0;
}

static int do_chunk(struct worker *w, const struct job *j, struct bh_err *err)
{
    struct run *r = w->r;
    const struct bh_extent *x = &r->m->ext[j->ext];
    int rc;
    if (r->o->compare) {
        bool same;
        if ((rc = holds(w, x, &same, err)) || same)
            return rc;
    }
    if (j->kind == JOB_CHUNK) {
        rc = fetch_verified(w, x, err);
    } else {
        /* the first extent of this chunk is right on the target by now */
        const struct bh_extent *f = &r->m->ext[j->from];
        size_t got;
        uint8_t h[BH_SHA256_LEN];
        rc = pread_all(r->fd, w->plain, (size_t)f->len, f->offset, &got, err);
        if (!rc && (got != f->len || (bh_sha256(w->plain, got, h), memcmp(h, x->id, 32)))) {
            char hex[BH_SHA256_HEX];
            bh_hex_id(x->id, hex);
            rc = bh_err_sett(err, BH_EIO, "readback-mismatch", hex,
                             "chunk %s written at offset %llu reads back different; is the "
                             "target failing?",
                             hex, (unsigned long long)f->offset);
        }
    }
    if (!rc)
        rc = pwrite_all(r->fd, w->plain, (size_t)x->len, x->offset, err);
    if (!rc) {
        mark_changed(r, j->ext);
        add(&r->written, x->len);
    }
    return rc;
}

/* ---- the pool ------------------------------------------------------------- */

static void fail(struct run *r, int rc, const struct bh_err *e)
{
    pthread_mutex_lock(&r->mu);
    if (!r->failed) {
        r->err = *e;
        __atomic_store_n(&r->failed, rc, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&r->mu);
}

static void *work(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    for (;;) {
        if (__atomic_load_n(&r->failed, __ATOMIC_RELAXED))
            break;
        size_t i = __atomic_fetch_add(&r->next, 1, __ATOMIC_RELAXED);
        if (i >= r->phase_end)
            break;
        const struct job *j = &r->jobs[i];
        struct bh_err e;
        bh_err_clear(&e);
        int rc = j->kind == JOB_ZERO ? do_zero(w, j, &e) : do_chunk(w, j, &e);
        if (rc) {
            fail(r, rc, &e);
            break;
        }
        add(&r->done_bytes, j->kind == JOB_ZERO ? j->n : r->m->ext[j->ext].len);
    }
    pthread_mutex_lock(&r->mu);
    r->active--;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

static void report(struct run *r)
{
    if (r->o->progress)
        r->o->progress(r->o->ud, get(&r->done_bytes), r->m->size, get(&r->fetched_bytes));
}

/* Run jobs [from, to) on the workers; the calling thread reports progress. */
static void run_phase(struct run *r, struct worker *ws, pthread_t *th, int n, size_t from,
                      size_t to)
{
    r->next = from;
    r->phase_end = to;
    pthread_mutex_lock(&r->mu);
    int started = 0;
    for (int i = 0; i < n; i++)
        if (pthread_create(&th[i], NULL, work, &ws[i]) == 0)
            started++;
        else
            th[i] = pthread_self();
    r->active = started;
    if (!started && from < to) {
        /* no thread at all: run the phase here */
        r->active = 1;
        pthread_mutex_unlock(&r->mu);
        work(&ws[0]);
        pthread_mutex_lock(&r->mu);
    }
    while (r->active > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += PROGRESS_EVERY_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT && r->active > 0) {
            pthread_mutex_unlock(&r->mu);
            report(r);
            pthread_mutex_lock(&r->mu);
        }
    }
    pthread_mutex_unlock(&r->mu);
    for (int i = 0; i < n; i++)
        if (!pthread_equal(th[i], pthread_self()))
            pthread_join(th[i], NULL);
}

/* ---- planning ------------------------------------------------------------- */

static int by_id(const void *a, const void *b, void *ud)
{
    const struct bh_manifest *m = ud;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    int c = memcmp(m->ext[x].id, m->ext[y].id, BH_SHA256_LEN);
    return c ? c : (x > y) - (x < y);
}

/* jobs: phase 1 in [0, *n1), phase 2 in [*n1, r->njobs) */
static int plan(struct run *r, size_t *n1, struct bh_err *err)
{
    const struct bh_manifest *m = r->m;
    size_t nchunks = 0, npieces = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (m->ext[i].zero) {
            npieces += (size_t)((m->ext[i].len + ZERO_PIECE - 1) / ZERO_PIECE);
        } else {
            nchunks++;
            if (m->ext[i].len > r->chunk_max)
                r->chunk_max = (size_t)m->ext[i].len;
        }
    }
    size_t *order = malloc((nchunks ? nchunks : 1) * sizeof(*order));
    size_t *first = malloc((m->n ? m->n : 1) * sizeof(*first));
    r->jobs = malloc((nchunks + npieces + 1) * sizeof(*r->jobs));
    r->changed = calloc(m->n ? m->n : 1, 1);
    if (!order || !first || !r->jobs || !r->changed) {
        free(order);
        free(first);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory planning %zu extents", m->n);
    }
    /* the first extent of each distinct chunk: sort extents by (id, index) */
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!m->ext[i].zero)
            order[k++] = i;
    qsort_r(order, nchunks, sizeof(*order), by_id, (void *)m);
    for (size_t i = 0; i < nchunks; i++) {
        bool same = i && !memcmp(m->ext[order[i]].id, m->ext[order[i - 1]].id, BH_SHA256_LEN);
        first[order[i]] = same ? first[order[i - 1]] : order[i];
    }
    free(order);
    size_t nj = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct bh_extent *x = &m->ext[i];
        if (x->zero) {
            for (uint64_t o = 0; o < x->len; o += ZERO_PIECE)
                r->jobs[nj++] =
                    (struct job){.kind = JOB_ZERO,
                                 .ext = i,
                                 .off = x->offset + o,
                                 .n = x->len - o < ZERO_PIECE ? x->len - o : ZERO_PIECE};
        } else if (first[i] == i) {
            r->jobs[nj++] = (struct job){.kind = JOB_CHUNK, .ext = i};
        }
    }
    *n1 = nj;
    for (size_t i = 0; i < m->n; i++)
        if (!m->ext[i].zero && first[i] != i)
            r->jobs[nj++] = (struct job){.kind = JOB_COPY, .ext = i, .from = first[i]};
    r->njobs = nj;
    free(first);
    return 0;
}

static int threads_for(const struct bh_deploy_opts *o)
{
    if (o->threads > 0)
        return o->threads < THREADS_MAX ? o->threads : THREADS_MAX;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    long n = cpus > 0 ? 2 * cpus : THREADS_MIN_AUTO;
    if (n < THREADS_MIN_AUTO)
        n = THREADS_MIN_AUTO;
    return n < THREADS_MAX ? (int)n : THREADS_MAX;
}

int bh_deploy(int fd, uint64_t dev_size, const struct bh_manifest *m,
              const struct bh_chunk_source *src, const struct bh_deploy_opts *o,
              struct bh_deploy_stats *st, struct bh_err *err)
{
    uint64_t t0 = bh_mono_ns();
    static const struct bh_deploy_opts defaults = {0};
    if (!o)
        o = &defaults;
    if (st)
        memset(st, 0, sizeof(*st));
    if (dev_size < m->size)
        return bh_err_sett(err, BH_EINVAL, "device-too-small", "device",
                           "the target holds %llu bytes (%.1f MiB), the image needs %llu "
                           "(%.1f MiB): %llu bytes short",
                           (unsigned long long)dev_size, (double)dev_size / 1048576.0,
                           (unsigned long long)m->size, (double)m->size / 1048576.0,
                           (unsigned long long)(m->size - dev_size));
    struct stat sb;
    if (fstat(fd, &sb) < 0)
        return bh_err_set(err, BH_ESYS, "device", "stat: %s", strerror(errno));
    struct run r = {
        .fd = fd, .blk = S_ISBLK(sb.st_mode), .sector = SECTOR, .m = m, .src = src, .o = o};
    int ssz = 0;
    if (r.blk && ioctl(fd, BLKSSZGET, &ssz) == 0 && ssz > 0)
        r.sector = (unsigned)ssz;
    r.zero_cheap = r.blk && zeroes_cheaply(&sb);
    size_t n1 = 0;
    int rc = plan(&r, &n1, err);
    int nth = threads_for(o);
    struct worker *ws = rc ? NULL : calloc((size_t)nth, sizeof(*ws));
    pthread_t *th = rc ? NULL : calloc((size_t)nth, sizeof(*th));
    if (!rc && (!ws || !th))
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    for (int i = 0; !rc && i < nth; i++) {
        struct worker *w = &ws[i];
        w->r = &r;
        bh_buf_init(&w->z, ZSTD_compressBound(BH_CDC_CHUNK_MAX));
        w->local = malloc(r.chunk_max ? r.chunk_max : 1);
        w->plain = malloc(r.chunk_max ? r.chunk_max : 1);
        w->io = malloc(IO_BUF);
        w->dctx = ZSTD_createDCtx();
        if (!w->local || !w->plain || !w->io || !w->dctx)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory for %d workers", nth);
    }
    if (!rc) {
        pthread_mutex_init(&r.mu, NULL);
        pthread_cond_init(&r.cv, NULL);
        run_phase(&r, ws, th, nth, 0, n1);
        if (!r.failed)
            run_phase(&r, ws, th, nth, n1, r.njobs);
        pthread_cond_destroy(&r.cv);
        pthread_mutex_destroy(&r.mu);
        if (r.failed) {
            rc = r.failed;
            if (err)
                *err = r.err;
        }
    }
    if (!rc && fsync(fd) < 0)
        rc = bh_err_set(err, BH_EIO, "device", "flushing the target: %s", strerror(errno));
    if (!rc)
        report(&r);
    if (st) {
        st->extents = m->n;
        for (size_t i = 0; o->compare && r.changed && i < m->n; i++)
            st->skipped += !r.changed[i];
        if (rc)
            st->skipped = 0; /* unknown: not every extent was looked at */
        st->fetched = r.fetched;
        st->fetched_bytes = r.fetched_bytes;
        st->written = r.written;
        st->zeroed = r.zeroed;
        st->zero_runs = r.zero_runs;
        st->seconds = (double)(bh_mono_ns() - t0) / 1e9;
    }
    for (int i = 0; ws && i < nth; i++) {
        bh_buf_free(&ws[i].z);
        free(ws[i].local);
        free(ws[i].plain);
        free(ws[i].io);
        ZSTD_freeDCtx(ws[i].dctx);
    }
    free(ws);
    free(th);
    free(r.jobs);
    free(r.changed);
    return rc;
}
