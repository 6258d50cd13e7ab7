/*
 * ingest.c - a file or block device into a manifest and chunks (see
 * ingest.h).  bh_export lives in export.c.
 *
 * The pipeline.  The calling thread reads the source into a window, finds
 * zero runs, cuts the rest with the CDC and copies each chunk into a slot of
 * a ring.  Workers take slots in order, hash the chunk, decide (once per
 * distinct id, through a set shared under the pipeline mutex) whether it is
 * wanted, and compress it.  The calling thread delivers slots strictly in
 * ring order: the manifest is built in stream order and on_chunk sees
 * frames in stream order.  The ring has a fixed number of slots, each
 * holding at most one chunk (cdc max bytes) and its frame, so memory does
 * not depend on the image size.
 *
 * Into a store, the workers also write each new frame to a temporary file
 * (file creation costs as much as compressing a small chunk), and the
 * calling thread makes them durable in batches (image_int.h).
 *
 * Zero runs are decided by the content alone, never by where a read or a
 * chunk happened to end: a zero run is a maximal run of all-zero 4 KiB
 * blocks (the stream's last, partial block counts when it is all zeros)
 * of at least BH_ZERO_RUN_MIN bytes.  Before a chunk is cut, the scan has
 * either found the next zero run, or knows none starts within max bytes
 * (no run of zero blocks in progress there), so the chunk ends where the
 * data does.  The same bytes give the same manifest whatever the buffer
 * sizes and thread count.
 */
#include "ingest.h"

#include "cdc.h"
#include "idset.h"
#include "image_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK             4096u               /* zero detection granularity */
#define READ_MIN          (8u * 1024 * 1024)  /* the smallest read into the window */
#define PROGRESS_EVERY    (64u * 1024 * 1024) /* bytes between progress calls */
#define THREADS_MAX       64
#define SLOTS_PER_THREAD  3
#define SLOTS_EXTRA       4
#define LEVEL_DEFAULT     3
#define STORE_BATCH_BYTES (512u * 1024 * 1024) /* staged bytes per flush (to_store) */

/* ---- the pipeline ------------------------------------------------------- */

enum slot_kind { SLOT_CHUNK, SLOT_ZERO, SLOT_PACK };

/* Where a worker puts a frame itself instead of handing it to on_chunk
 * (bh_ingest_to_store: the file writes then run on the workers too). */
struct sink {
    int (*stage)(void *ud, const uint8_t id[BH_SHA256_LEN], const void *z, size_t zlen,
                 struct bh_err *err);            /* a worker */
    int (*staged)(void *ud, struct bh_err *err); /* the calling thread, after each */
    void *ud;
};

struct slot {
    /* the calling thread's, until submitted */
    enum slot_kind kind;
    uint64_t off, len;
    uint8_t *data;
    size_t dcap;
    uint8_t id[BH_SHA256_LEN]; /* SLOT_PACK: expected; else the worker's result */
    /* the worker's, until done */
    uint8_t *z;
    size_t zcap, zlen; /* zlen 0: no frame to deliver */
    int status;
    bool staged;        /* the sink took the frame */
    struct bh_err serr; /* the sink's error, when status is its code */
    bool done;
};

struct pipe {
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    struct slot *slots;
    size_t nslots;
    uint64_t head, next, tail; /* deliver <= take <= fill, as sequence numbers */
    bool stop;
    pthread_t *thr;
    int nthr;
    struct bh_idset seen; /* ingest: under mu */
    bool compress;
    int level;
    const struct bh_ingest_opts *o;
    const struct sink *sink; /* NULL: frames go to o->on_chunk */
    /* progress */
    uint64_t done_bytes, last_progress, total;
};

static bool wanted(const struct bh_ingest_opts *o, const uint8_t id[BH_SHA256_LEN])
{
    return !o->want || o->want(o->ud, id);
}

static int compress_slot(struct pipe *p, ZSTD_CCtx *cc, struct slot *s)
{
    size_t bound = ZSTD_compressBound((size_t)s->len);
    if (s->zcap < bound) {
        uint8_t *nz = realloc(s->z, bound);
        if (!nz)
            return BH_ENOMEM;
        s->z = nz;
        s->zcap = bound;
    }
    size_t r = ZSTD_compressCCtx(cc, s->z, s->zcap, s->data, (size_t)s->len, p->level);
    if (ZSTD_isError(r))
        return BH_EIO;
    s->zlen = r;
    return 0;
}

static void process(struct pipe *p, ZSTD_CCtx *cc, struct slot *s)
{
    s->zlen = 0;
    s->status = 0;
    s->staged = false;
    s->serr.code = 0;
    if (s->kind == SLOT_ZERO)
        return;
    uint8_t h[BH_SHA256_LEN];
    bh_sha256(s->data, (size_t)s->len, h);
    if (s->kind == SLOT_PACK) {
        if (memcmp(h, s->id, BH_SHA256_LEN))
            s->status = BH_ECONFLICT;
        else if (p->compress)
            s->status = compress_slot(p, cc, s);
        return;
    }
    memcpy(s->id, h, BH_SHA256_LEN);
    if (!p->compress)
        return;
    pthread_mutex_lock(&p->mu);
    int first = bh_idset_add(&p->seen, h);
    pthread_mutex_unlock(&p->mu);
    if (first < 0)
        s->status = first;
    else if (first && wanted(p->o, h))
        s->status = compress_slot(p, cc, s);
    if (!s->status && s->zlen && p->sink) {
        bh_err_clear(&s->serr);
        s->status = p->sink->stage(p->sink->ud, h, s->z, s->zlen, &s->serr);
        if (!s->status)
            s->staged = true;
        else if (!s->serr.code) /* a code without a message */
            bh_err_set(&s->serr, s->status, NULL, "ingest: storing a chunk failed");
        s->zlen = 0;
    }
}

static void *worker(void *arg)
{
    struct pipe *p = arg;
    ZSTD_CCtx *cc = p->compress ? ZSTD_createCCtx() : NULL;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->next == p->tail)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop)
            break;
        uint64_t seq = p->next++;
        struct slot *s = &p->slots[seq % p->nslots];
        pthread_mutex_unlock(&p->mu);
        if (p->compress && !cc)
            s->status = BH_ENOMEM;
        else
            process(p, cc, s);
        pthread_mutex_lock(&p->mu);
        s->done = true;
        if (seq == p->head)
            pthread_cond_signal(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    ZSTD_freeCCtx(cc);
    return NULL;
}

static void pipe_stop(struct pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthr; i++)
        pthread_join(p->thr[i], NULL);
    p->nthr = 0;
}

static void pipe_free(struct pipe *p)
{
    pipe_stop(p);
    for (size_t i = 0; p->slots && i < p->nslots; i++) {
        free(p->slots[i].data);
        free(p->slots[i].z);
    }
    free(p->slots);
    free(p->thr);
    bh_idset_clear(&p->seen);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->mu);
}

static int pipe_init(struct pipe *p, const struct bh_ingest_opts *o, const struct sink *sink,
                     uint64_t total, struct bh_err *err)
{
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->o = o;
    p->total = total;
    p->sink = sink;
    p->compress = o->on_chunk != NULL || sink != NULL;
    p->level = o->zstd_level ? o->zstd_level : LEVEL_DEFAULT;
    if (p->level < ZSTD_minCLevel() || p->level > ZSTD_maxCLevel())
        return bh_err_set(err, BH_EINVAL, "zstd_level", "zstd level %d is out of range %d..%d",
                          o->zstd_level, ZSTD_minCLevel(), ZSTD_maxCLevel());
    int n = o->threads;
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)(c < THREADS_MAX ? c : THREADS_MAX) : 1;
    }
    if (n > THREADS_MAX)
        n = THREADS_MAX;
    p->nslots = (size_t)n * SLOTS_PER_THREAD + SLOTS_EXTRA;
    p->slots = calloc(p->nslots, sizeof(*p->slots));
    p->thr = calloc((size_t)n, sizeof(*p->thr));
    if (!p->slots || !p->thr)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    for (; p->nthr < n; p->nthr++) {
        int e = pthread_create(&p->thr[p->nthr], NULL, worker, p);
        if (e)
            return bh_err_set(err, BH_ESYS, NULL, "ingest: starting a worker: %s", strerror(e));
    }
    return 0;
}

/* Hand the filled slot of sequence p->tail to the workers. */
static void pipe_submit(struct pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->tail++;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

/* Deliver the head slot: into the manifest (m may be NULL), and its frame
 * to on_chunk. */
static int deliver(struct pipe *p, struct slot *s, struct bh_manifest *m, struct bh_err *err)
{
    const struct bh_ingest_opts *o = p->o;
    int rc = s->status;
    if (rc && s->serr.code) {
        if (err)
            *err = s->serr;
        return rc;
    }
    if (rc == BH_ECONFLICT) {
        char hex[BH_SHA256_HEX];
        bh_hex_id(s->id, hex);
        return bh_err_sett(err, BH_ECONFLICT, "source-changed", hex,
                           "the source changed since it was read: the %llu bytes at offset %llu "
                           "no longer hash to chunk %s",
                           (unsigned long long)s->len, (unsigned long long)s->off, hex);
    }
    if (rc == BH_ENOMEM)
        return bh_err_set(err, rc, NULL, "out of memory");
    if (rc)
        return bh_err_set(err, rc, NULL, "ingest: zstd compression failed");
    if (m && (rc = bh_manifest_add(m, s->kind == SLOT_ZERO, s->len, s->id)) != 0)
        return bh_err_set(err, rc, NULL, "ingest: the manifest would exceed %u extents",
                          BH_MF_EXTENTS_MAX);
    if (s->zlen) {
        if ((rc = o->on_chunk(o->ud, s->id, s->z, s->zlen, (uint32_t)s->len, err)) != 0)
            return rc;
    }
    if (s->staged && (rc = p->sink->staged(p->sink->ud, err)) != 0)
        return rc;
    p->done_bytes = s->off + s->len;
    if (o->progress && p->done_bytes - p->last_progress >= PROGRESS_EVERY) {
        p->last_progress = p->done_bytes;
        o->progress(o->ud, p->done_bytes, p->total);
    }
    return 0;
}

/* Deliver finished slots from the head: all that are done, and at least
 * one when `wait` (the ring is full, or we are draining). */
static int pipe_deliver(struct pipe *p, bool wait, struct bh_manifest *m, struct bh_err *err)
{
    for (;;) {
        if (p->head == p->tail)
            return 0;
        struct slot *s = &p->slots[p->head % p->nslots];
        pthread_mutex_lock(&p->mu);
        while (wait && !s->done)
            pthread_cond_wait(&p->done_cv, &p->mu);
        bool done = s->done;
        pthread_mutex_unlock(&p->mu);
        if (!done)
            return 0;
        int rc = deliver(p, s, m, err);
        pthread_mutex_lock(&p->mu);
        s->done = false;
        p->head++;
        pthread_mutex_unlock(&p->mu);
        if (rc)
            return rc;
        wait = false;
    }
}

/* A free slot for sequence p->tail, delivering as needed. */
static int pipe_slot(struct pipe *p, struct bh_manifest *m, struct slot **out, struct bh_err *err)
{
    int rc = pipe_deliver(p, p->tail - p->head >= p->nslots, m, err);
    if (rc)
        return rc;
    *out = &p->slots[p->tail % p->nslots];
    return 0;
}

static int pipe_drain(struct pipe *p, struct bh_manifest *m, struct bh_err *err)
{
    while (p->head != p->tail) {
        int rc = pipe_deliver(p, true, m, err);
        if (rc)
            return rc;
    }
    if (p->o->progress)
        p->o->progress(p->o->ud, p->total, p->total);
    return 0;
}

static int slot_room(struct slot *s, size_t len)
{
    if (s->dcap >= len)
        return 0;
    uint8_t *nd = realloc(s->data, len);
    if (!nd)
        return BH_ENOMEM;
    s->data = nd;
    s->dcap = len;
    return 0;
}

/* ---- reading and zero runs ---------------------------------------------- */

struct src {
    int fd;
    uint64_t size;
    uint8_t *buf;
    size_t cap;
    uint64_t base; /* source offset of buf[0] */
    size_t len;    /* bytes in buf */
    /* zero scan: blocks before zs are classified; [zrun, zs) are zero */
    uint64_t zs, zrun;
};

static uint64_t src_end(const struct src *r)
{
    return r->base + r->len;
}

/* Read more, keeping the bytes from `keep` on. */
static int src_fill(struct src *r, uint64_t keep, struct bh_err *err)
{
    size_t drop = (size_t)(keep - r->base);
    if (drop) {
        memmove(r->buf, r->buf + drop, r->len - drop);
        r->base += drop;
        r->len -= drop;
    }
    uint64_t left = r->size - src_end(r);
    size_t want = r->cap - r->len;
    if ((uint64_t)want > left)
        want = (size_t)left;
    while (want) {
        ssize_t n = pread(r->fd, r->buf + r->len, want, (off_t)src_end(r));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return bh_err_set(err, BH_EIO, NULL, "ingest: reading the source at %llu: %s",
                              (unsigned long long)src_end(r), strerror(errno));
        if (n == 0)
            return bh_err_set(err, BH_EIO, NULL,
                              "ingest: the source ended at %llu, %llu bytes were expected "
                              "(it shrank while read)",
                              (unsigned long long)src_end(r), (unsigned long long)r->size);
        r->len += (size_t)n;
        want -= (size_t)n;
    }
    return 0;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    size_t i = 0;
    if (n >= 16 && (load64(p) | load64(p + 8)))
        return false; /* most data blocks stop here */
    uint64_t acc = 0;
    for (; i + 32 <= n; i += 32)
        acc |= load64(p + i) | load64(p + i + 8) | load64(p + i + 16) | load64(p + i + 24);
    for (; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* Classify buffered blocks from zs on, up to `limit` (but always whole
 * blocks, or the stream's partial last one).  Stops early when a zero run
 * qualifies.  True when one has: it starts at zrun. */
static bool scan_zero(struct src *r, uint64_t limit)
{
    if (r->zs - r->zrun >= BH_ZERO_RUN_MIN)
        return true;
    while (r->zs < limit && r->zs < r->size) {
        uint64_t blen = r->size - r->zs < BLOCK ? r->size - r->zs : BLOCK;
        if (r->zs + blen > src_end(r))
            break; /* not read yet */
        if (all_zero(r->buf + (r->zs - r->base), (size_t)blen)) {
            r->zs += blen;
            if (r->zs - r->zrun >= BH_ZERO_RUN_MIN)
                return true;
        } else {
            r->zs += blen;
            r->zrun = r->zs;
        }
    }
    return false;
}

/* A zero slot for [off, off + len). */
static int submit_zero(struct pipe *p, struct bh_manifest *m, uint64_t off, uint64_t len,
                       struct bh_err *err)
{
    struct slot *s;
    int rc = pipe_slot(p, m, &s, err);
    if (rc)
        return rc;
    s->kind = SLOT_ZERO;
    s->off = off;
    s->len = len;
    memset(s->id, 0, sizeof(s->id));
    pipe_submit(p);
    return 0;
}

/* The zero run that starts at cur (r->zrun == cur and it qualified): up to
 * its end, as slots (consecutive zero slots merge in the manifest).  The
 * block that ends the run is left unclassified, for scan_zero. */
static int emit_zero_run(struct pipe *p, struct src *r, struct bh_manifest *m, uint64_t *cur,
                         struct bh_err *err)
{
    for (;;) {
        bool data = false;
        while (r->zs < r->size) {
            uint64_t blen = r->size - r->zs < BLOCK ? r->size - r->zs : BLOCK;
            if (r->zs + blen > src_end(r))
                break; /* not read yet */
            if (!all_zero(r->buf + (r->zs - r->base), (size_t)blen)) {
                data = true;
                break;
            }
            r->zs += blen;
        }
        int rc;
        if (r->zs > *cur && (rc = submit_zero(p, m, *cur, r->zs - *cur, err)) != 0)
            return rc;
        *cur = r->zs;
        if (data || r->zs >= r->size) {
            r->zrun = r->zs;
            return 0;
        }
        if ((rc = src_fill(r, *cur, err)) != 0)
            return rc;
    }
}

static int check_opts(const struct bh_ingest_opts *o, struct bh_cdc *cdc, struct bh_err *err)
{
    return bh_cdc_init(cdc, o->chunk_avg ? o->chunk_avg : BH_CDC_AVG_DEFAULT, err);
}

static int run_ingest(int fd, uint64_t size, const struct bh_ingest_opts *o,
                      const struct sink *sink, struct bh_manifest *m, struct bh_err *err)
{
    struct bh_cdc cdc;
    int rc = check_opts(o, &cdc, err);
    if (rc)
        return rc;
    if (m->n || m->size)
        return bh_err_set(err, BH_EINVAL, NULL, "ingest: the manifest is not empty");
    m->chunk_avg = cdc.avg;
    struct src r = {.fd = fd, .size = size};
    /* room for a whole chunk, the zero lookahead behind it and a big read */
    r.cap = cdc.max + BH_ZERO_RUN_MIN + BLOCK + (cdc.max > READ_MIN ? cdc.max : READ_MIN);
    r.buf = malloc(r.cap);
    struct pipe p;
    if ((rc = pipe_init(&p, o, sink, size, err)) != 0 || !r.buf) {
        if (!rc)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        goto out;
    }
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint64_t cur = 0;
    while (cur < size) {
        /* look for a zero run until one is found, or none can start
         * within max bytes of cur */
        uint64_t horizon = cur + cdc.max;
        bool found;
        while (!(found = scan_zero(&r, UINT64_MAX)) && r.zrun < horizon && r.zs < size) {
            if ((rc = src_fill(&r, cur, err)) != 0)
                goto out;
        }
        assert(!found || r.zrun >= cur);
        if (found && r.zrun == cur) {
            if ((rc = emit_zero_run(&p, &r, m, &cur, err)) != 0)
                goto out;
            continue;
        }
        /* data from cur to the zero run or to the end of the stream */
        uint64_t end = found ? r.zrun : size;
        uint64_t avail = (end < src_end(&r) ? end : src_end(&r)) - cur;
        size_t cut = bh_cdc_cut(&cdc, r.buf + (cur - r.base), (size_t)avail, cur + avail == end);
        if (!cut) { /* needs bytes not read yet */
            if ((rc = src_fill(&r, cur, err)) != 0)
                goto out;
            continue;
        }
        struct slot *s;
        if ((rc = pipe_slot(&p, m, &s, err)) != 0)
            goto out;
        if (slot_room(s, cut)) {
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            goto out;
        }
        s->kind = SLOT_CHUNK;
        s->off = cur;
        s->len = cut;
        memcpy(s->data, r.buf + (cur - r.base), cut);
        pipe_submit(&p);
        cur += cut;
    }
    rc = pipe_drain(&p, m, err);
out:
    pipe_free(&p);
    free(r.buf);
    if (rc) {
        m->n = 0;
        m->size = 0;
    }
    return rc;
}

int bh_ingest(int fd, uint64_t size, const struct bh_ingest_opts *o, struct bh_manifest *m,
              struct bh_err *err)
{
    return run_ingest(fd, size, o, NULL, m, err);
}

/* Exactly n bytes at off; a source that ends early has changed. */
static int read_at(int fd, uint8_t *buf, size_t n, uint64_t off, struct bh_err *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return bh_err_set(err, BH_EIO, NULL, "pack: reading the source at %llu: %s",
                              (unsigned long long)(off + got), strerror(errno));
        if (r == 0)
            return bh_err_sett(err, BH_ECONFLICT, "source-changed", NULL,
                               "the source changed since it was read: it ends at %llu, before "
                               "%llu",
                               (unsigned long long)(off + got), (unsigned long long)(off + n));
        got += (size_t)r;
    }
    return 0;
}

int bh_ingest_pack(int fd, const struct bh_manifest *m, const struct bh_ingest_opts *o,
                   struct bh_err *err)
{
    struct pipe p;
    int rc = pipe_init(&p, o, NULL, m->size, err);
    if (rc)
        goto out;
    struct bh_idset done = {0};
    for (size_t i = 0; i < m->n; i++) {
        const struct bh_extent *e = &m->ext[i];
        if (e->zero)
            continue;
        int add = bh_idset_add(&done, e->id);
        if (add < 0) {
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            break;
        }
        if (!add || !wanted(o, e->id))
            continue;
        struct slot *s;
        if ((rc = pipe_slot(&p, NULL, &s, err)) != 0)
            break;
        if (e->len > BH_CDC_CHUNK_MAX) {
            rc = bh_err_set(err, BH_EINVAL, NULL, "pack: a chunk of %llu bytes is too large",
                            (unsigned long long)e->len);
            break;
        }
        if (slot_room(s, (size_t)e->len)) {
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            break;
        }
        if ((rc = read_at(fd, s->data, (size_t)e->len, e->offset, err)) != 0)
            break;
        s->kind = SLOT_PACK;
        s->off = e->offset;
        s->len = e->len;
        memcpy(s->id, e->id, BH_SHA256_LEN);
        pipe_submit(&p);
    }
    bh_idset_clear(&done);
    if (!rc)
        rc = pipe_drain(&p, NULL, err);
out:
    pipe_free(&p);
    return rc;
}

/* ---- into a store ------------------------------------------------------- */

struct to_store {
    struct bh_chunkstore *cs;
    struct bh__cs_batch *batch;
    uint64_t added;
    void (*progress)(void *ud, uint64_t done, uint64_t total);
    void *ud;
};

static void store_progress(void *ud, uint64_t done, uint64_t total)
{
    struct to_store *t = ud;
    t->progress(t->ud, done, total);
}

static bool store_want(void *ud, const uint8_t id[BH_SHA256_LEN])
{
    struct to_store *t = ud;
    return !bh_cs_has(t->cs, id);
}

static int store_stage(void *ud, const uint8_t id[BH_SHA256_LEN], const void *z, size_t zlen,
                       struct bh_err *err)
{
    struct to_store *t = ud;
    return bh__cs_batch_stage(t->batch, id, z, zlen, err);
}

static int store_staged(void *ud, struct bh_err *err)
{
    struct to_store *t = ud;
    if (bh__cs_batch_pending(t->batch) >= STORE_BATCH_BYTES)
        return bh__cs_batch_commit(t->batch, &t->added, err);
    return 0;
}

int bh_ingest_to_store(int fd, uint64_t size, struct bh_chunkstore *cs,
                       const struct bh_ingest_opts *o, struct bh_manifest *m, uint64_t *added_bytes,
                       struct bh_err *err)
{
    struct to_store t = {.cs = cs, .progress = o->progress, .ud = o->ud};
    if (bh__cs_batch_new(cs, &t.batch))
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    struct bh_ingest_opts so = *o;
    so.want = store_want;
    so.on_chunk = NULL;
    so.ud = &t;
    so.progress = o->progress ? store_progress : NULL;
    const struct sink sink = {store_stage, store_staged, &t};
    int rc = run_ingest(fd, size, &so, &sink, m, err);
    if (!rc)
        rc = bh__cs_batch_commit(t.batch, &t.added, err);
    bh__cs_batch_free(t.batch);
    if (added_bytes)
        *added_bytes = t.added;
    return rc;
}
