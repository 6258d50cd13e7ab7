/*
 * leasedb.c - durable leases with group commit (see leasedb.h).
 *
 * One mutex guards the queue; the loop thread holds it only to append.  The
 * writer swaps the queue out and does its SQLite work without the lock, so
 * a slow disk never stalls the loop: it only delays the replies that wait
 * for the commit.
 */
#include "leasedb.h"

#include "core/log.h"
#include "core/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RETRY_MS        100 /* after a failed commit */
#define STOP_RETRIES    3   /* failed commits tolerated while stopping */
#define BUSY_TIMEOUT_MS 5000

static const char schema[] = "CREATE TABLE IF NOT EXISTS leases ("
                             " ip INTEGER PRIMARY KEY," /* host byte order */
                             " mac BLOB NOT NULL,"
                             " state INTEGER NOT NULL,"
                             " expires INTEGER NOT NULL," /* seconds since the epoch */
                             " hostname TEXT NOT NULL DEFAULT '')";

struct queue {
    struct bh_lease_rec *v;
    size_t n, cap;
};

struct bh_leasedb {
    sqlite3 *db;
    sqlite3_stmt *put, *del;
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

static int db_fail(struct bh_leasedb *l, const char *what, struct bh_err *err)
{
    return bh_err_set(err, BH_EIO, NULL, "lease database: %s: %s", what, sqlite3_errmsg(l->db));
}

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
    int rc;
    if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        rc = bh_err_set(err, BH_EIO, path, "lease database %s: %s", path,
                        l->db ? sqlite3_errmsg(l->db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
    /* WAL + FULL: a commit is one fsync of the WAL, and survives power loss */
    if (sqlite3_exec(l->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(l->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(l->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(l, "setup", err);
        goto fail;
    }
    if (sqlite3_prepare_v2(l->db,
                           "INSERT OR REPLACE INTO leases(ip, mac, state, expires, hostname) "
                           "VALUES (?, ?, ?, ?, ?)",
                           -1, &l->put, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(l->db, "DELETE FROM leases WHERE ip = ?", -1, &l->del, NULL) !=
            SQLITE_OK) {
        rc = db_fail(l, "prepare", err);
        goto fail;
    }
    *out = l;
    return 0;
fail:
    bh_leasedb_close(l);
    return rc;
}

int bh_leasedb_load(struct bh_leasedb *l, int (*cb)(void *ud, const struct bh_lease_rec *r),
                    void *ud, struct bh_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(l->db,
                           "SELECT ip, mac, state, expires, hostname FROM leases ORDER BY ip", -1,
                           &st, NULL) != SQLITE_OK)
        return db_fail(l, "load", err);
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct bh_lease_rec r = {0};
        sqlite3_int64 ip = sqlite3_column_int64(st, 0);
        if (ip < 0 || ip > UINT32_MAX || sqlite3_column_bytes(st, 1) != 6)
            continue; /* not ours: skip rather than refuse to start */
        r.ip = (uint32_t)ip;
        memcpy(r.mac, sqlite3_column_blob(st, 1), 6);
        r.state = (uint8_t)sqlite3_column_int(st, 2);
        r.expires = sqlite3_column_int64(st, 3);
        const unsigned char *h = sqlite3_column_text(st, 4);
        if (h)
            snprintf(r.hostname, sizeof(r.hostname), "%s", (const char *)h);
        if ((rc = cb(ud, &r)) != 0)
            break;
    }
    if (!rc && step != SQLITE_DONE)
        rc = db_fail(l, "load", err);
    sqlite3_finalize(st);
    return rc;
}

/* One transaction for the whole batch. */
static int apply(struct bh_leasedb *l, const struct queue *b)
{
    if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return BH_EIO;
    for (size_t i = 0; i < b->n; i++) {
        const struct bh_lease_rec *r = &b->v[i];
        sqlite3_stmt *st = r->del ? l->del : l->put;
        sqlite3_bind_int64(st, 1, r->ip);
        if (!r->del) {
            sqlite3_bind_blob(st, 2, r->mac, 6, SQLITE_STATIC);
            sqlite3_bind_int(st, 3, r->state);
            sqlite3_bind_int64(st, 4, r->expires);
            sqlite3_bind_text(st, 5, r->hostname, -1, SQLITE_STATIC);
        }
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        if (rc != SQLITE_DONE) {
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
            return BH_EIO;
        }
    }
    if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return BH_EIO;
    }
    return 0;
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
        int rc = apply(l, &l->batch);
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
               sqlite3_errmsg(l->db));
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
    sqlite3_finalize(l->put);
    sqlite3_finalize(l->del);
    sqlite3_close(l->db);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
    free(l->q.v);
    free(l->batch.v);
    free(l);
}
