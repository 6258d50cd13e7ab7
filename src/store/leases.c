/*
 * leases.c - durable leases with group commit (see leases.h); the rows
 * themselves go through the backend (backend.h: bh__sq_lease_*).
 *
 * One mutex guards the queue; the loop thread holds it only to append.  The
 * writer swaps the queue out and writes its batch without the lock, so
 * a slow disk never stalls the loop: it only delays the replies that wait
 * for the commit.
 */
#include "leases.h"

#include "backend.h"

#include "core/log.h"
#include "core/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MS     100 /* after a failed commit */
#define STOP_RETRIES 3   /* failed commits tolerated while stopping */

struct queue {
    struct bh_lease_rec *v;
    size_t n, cap;
};

struct bh_leasedb {
    struct bh__lease_rows *rows; /* the backend's */
    pthread_t thread;
    bool started, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct queue q, batch; /* q under mu; batch the writer's own */
    int64_t queued_seq;    /* sequence number of the last queued change (mu) */
    uint64_t first_ns;     /* when the oldest change in q arrived (mu) */
    int64_t commit_ms;
    void (*on_commit)(void *ud);
    void *ud;
    _Atomic int64_t committed;
    _Atomic uint64_t commits, nanos;
};

int bh_leasedb_open(const char *path, struct bh_leasedb **out, struct bh_err *err)
{
    struct bh_leasedb *l = calloc(1, sizeof(*l));
    if (!l)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = bh__sq_lease_open(path, &l->rows, err);
    if (rc) {
        bh_leasedb_close(l);
        return rc;
    }
    *out = l;
    return 0;
}

int bh_leasedb_load(struct bh_leasedb *l, int (*cb)(void *ud, const struct bh_lease_rec *r),
                    void *ud, struct bh_err *err)
{
    return bh__sq_lease_load(l->rows, cb, ud, err);
}

static void deadline(struct timespec *ts, uint64_t mono_ns)
{
    ts->tv_sec = (time_t)(mono_ns / 1000000000u);
    ts->tv_nsec = (long)(mono_ns % 1000000000u);
}

static void *writer(void *arg)
{
    struct bh_leasedb *l = arg;
    int failures = 0;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (!l->q.n && !l->batch.n && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        if (!l->q.n && !l->batch.n)
            break; /* stopping, nothing left */
        /* group commit: wait for company until commit_ms after the first */
        uint64_t until = l->first_ns + (uint64_t)l->commit_ms * 1000000u;
        while (l->commit_ms > 0 && !l->stop && !l->batch.n && bh_mono_ns() < until) {
            struct timespec ts;
            deadline(&ts, until);
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
        }
        /* take the queue (a batch that failed before is retried first) */
        if (!l->batch.n) {
            struct queue t = l->batch;
            l->batch = l->q;
            l->q = t;
            l->q.n = 0;
        } else if (l->q.n) {
            size_t need = l->batch.n + l->q.n;
            if (need > l->batch.cap) {
                struct bh_lease_rec *nv = realloc(l->batch.v, need * sizeof(*nv));
                if (nv) {
                    l->batch.v = nv;
                    l->batch.cap = need;
                }
            }
            if (need <= l->batch.cap) {
                memcpy(l->batch.v + l->batch.n, l->q.v, l->q.n * sizeof(*l->q.v));
                l->batch.n = need;
                l->q.n = 0;
            }
        }
        int64_t seq = l->queued_seq - (int64_t)l->q.n;
        pthread_mutex_unlock(&l->mu);

        uint64_t t0 = bh_mono_ns();
        struct bh_err e = {0};
        int rc = bh__sq_lease_apply(l->rows, l->batch.v, l->batch.n, &e);
        pthread_mutex_lock(&l->mu);
        if (rc == 0) {
            failures = 0;
            l->batch.n = 0;
            atomic_store(&l->committed, seq);
            atomic_fetch_add(&l->commits, 1);
            atomic_fetch_add(&l->nanos, bh_mono_ns() - t0);
            if (l->on_commit) {
                pthread_mutex_unlock(&l->mu);
                l->on_commit(l->ud);
                pthread_mutex_lock(&l->mu);
            }
            continue;
        }
        failures++;
        bh_log(BH_LOG_ERROR, "lease commit failed; retrying", "changes=%zu err=%s", l->batch.n,
               e.msg);
        if (l->stop && failures >= STOP_RETRIES) {
            bh_log(BH_LOG_ERROR, "lease changes lost at shutdown", "changes=%zu",
                   l->batch.n + l->q.n);
            break;
        }
        struct timespec ts;
        deadline(&ts, bh_mono_ns() + (uint64_t)RETRY_MS * 1000000u);
        pthread_cond_timedwait(&l->cv, &l->mu, &ts);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int bh_leasedb_start(struct bh_leasedb *l, int64_t commit_ms, void (*on_commit)(void *ud), void *ud,
                     struct bh_err *err)
{
    l->commit_ms = commit_ms < 0 ? 0 : commit_ms;
    l->on_commit = on_commit;
    l->ud = ud;
    int e = pthread_create(&l->thread, NULL, writer, l);
    if (e)
        return bh_err_set(err, BH_ESYS, NULL, "lease writer thread: %s", strerror(e));
    l->started = true;
    return 0;
}

int64_t bh_leasedb_queue(struct bh_leasedb *l, const struct bh_lease_rec *r)
{
    int64_t seq;
    pthread_mutex_lock(&l->mu);
    if (l->q.n >= BH_LEASEDB_MAX_QUEUE) {
        pthread_mutex_unlock(&l->mu);
        return BH_EBUSY;
    }
    if (l->q.n == l->q.cap) {
        size_t nc = l->q.cap ? l->q.cap * 2 : 64;
        struct bh_lease_rec *nv = realloc(l->q.v, nc * sizeof(*nv));
        if (!nv) {
            pthread_mutex_unlock(&l->mu);
            return BH_ENOMEM;
        }
        l->q.v = nv;
        l->q.cap = nc;
    }
    if (!l->q.n) /* the window of the next batch opens with its first change */
        l->first_ns = bh_mono_ns();
    l->q.v[l->q.n++] = *r;
    seq = ++l->queued_seq;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return seq;
}

int64_t bh_leasedb_committed(const struct bh_leasedb *l)
{
    return atomic_load(&((struct bh_leasedb *)l)->committed);
}

void bh_leasedb_stats(const struct bh_leasedb *l, uint64_t *commits, uint64_t *nanos)
{
    struct bh_leasedb *m = (struct bh_leasedb *)l;
    *commits = atomic_load(&m->commits);
    *nanos = atomic_load(&m->nanos);
}

void bh_leasedb_close_writer(struct bh_leasedb *l)
{
    if (!l->started)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    l->started = false;
}

void bh_leasedb_close(struct bh_leasedb *l)
{
    if (!l)
        return;
    bh_leasedb_close_writer(l);
    bh__sq_lease_close(l->rows);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->q.v);
    free(l->batch.v);
    free(l);
}
