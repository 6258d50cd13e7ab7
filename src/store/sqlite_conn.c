/*
 * sqlite_conn.c - the SQLite backend's ground floor: connections and their
 * statement caches, the writer's transactions (begin, commit with the
 * revision bump and event pruning, rollback), JSON binding, and the event
 * and audit rows every write appends.  Every other sqlite_*.c file calls
 * down into this one; it calls none of them.
 *
 * One writer connection, serialised by a mutex (SQLite allows one writer at
 * a time anyway; queueing here avoids SQLITE_BUSY storms), and a pool of
 * reader connections that in WAL mode never wait for the writer.  Every
 * connection caches its prepared statements.  synchronous=FULL: a write is
 * on disk before the API acknowledges it.
 */
#include "sqlite_int.h"

#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_EVERY 256

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int bh__sq_fail(struct sq_conn *c, struct bh_err *err, const char *what)
{
    int code = sqlite3_extended_errcode(c->db);
    int rc = BH_EIO;
    if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED)
        rc = BH_EBUSY;
    else if ((code & 0xff) == SQLITE_NOMEM)
        rc = BH_ENOMEM;
    else if ((code & 0xff) == SQLITE_FULL)
        rc = BH_EIO;
    bh_log(BH_LOG_ERROR, "store error", "op=%s code=%d err=%s", what, code, sqlite3_errmsg(c->db));
    return bh_err_set(err, rc, NULL, "store: %s: %s", what, sqlite3_errmsg(c->db));
}

sqlite3_stmt *bh__sq_prepare(struct sq_conn *c, const char *sql, struct bh_err *err)
{
    uint64_t h = hash_str(sql);
    struct sq_stmt *victim = &c->cache[0];
    c->tick++;
    for (int i = 0; i < SQ_CACHE; i++) {
        struct sq_stmt *e = &c->cache[i];
        if (e->st && e->hash == h && strcmp(e->sql, sql) == 0) {
            e->used = c->tick;
            sqlite3_reset(e->st);
            sqlite3_clear_bindings(e->st);
            return e->st;
        }
        if (!e->st)
            victim = e;
        else if (victim->st && e->used < victim->used)
            victim = e;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        bh__sq_fail(c, err, "prepare");
        return NULL;
    }
    char *copy = strdup(sql);
    if (!copy) {
        sqlite3_finalize(st);
        bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    if (victim->st) {
        sqlite3_finalize(victim->st);
        free(victim->sql);
    }
    victim->st = st;
    victim->sql = copy;
    victim->hash = h;
    victim->used = c->tick;
    return st;
}

int bh__sq_exec(struct sq_conn *c, const char *sql, struct bh_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = bh__sq_fail(c, err, "exec");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

int bh__sq_conn_open(struct sq_conn *c, const char *path, bool writer, int busy_ms,
                     struct bh_err *err)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    int flags = SQLITE_OPEN_NOMUTEX |
                (writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        int rc = bh_err_set(err, BH_EIO, path, "cannot open database %s: %s", path,
                            c->db ? sqlite3_errmsg(c->db) : "out of memory");
        sqlite3_close(c->db);
        c->db = NULL;
        return rc;
    }
    sqlite3_busy_timeout(c->db, busy_ms);
    sqlite3_extended_result_codes(c->db, 1);
    int rc = bh__sq_exec(c, "PRAGMA foreign_keys = ON", err);
    if (!rc && writer)
        rc = bh__sq_exec(c,
                         "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                         "PRAGMA wal_autocheckpoint = 1000",
                         err);
    if (rc) {
        sqlite3_close(c->db);
        c->db = NULL;
    }
    return rc;
}

void bh__sq_conn_close(struct sq_conn *c)
{
    if (!c->db)
        return;
    for (int i = 0; i < SQ_CACHE; i++) {
        if (c->cache[i].st) {
            sqlite3_finalize(c->cache[i].st);
            free(c->cache[i].sql);
        }
    }
    sqlite3_close(c->db);
    c->db = NULL;
    pthread_mutex_destroy(&c->mu);
}

struct sq_conn *bh__sq_reader(struct sq *q)
{
    unsigned start = atomic_fetch_add_explicit(&q->next_reader, 1, memory_order_relaxed);
    for (int i = 0; i < q->nreaders; i++) {
        struct sq_conn *c = &q->readers[(start + (unsigned)i) % (unsigned)q->nreaders];
        if (pthread_mutex_trylock(&c->mu) == 0)
            return c;
    }
    struct sq_conn *c = &q->readers[start % (unsigned)q->nreaders];
    pthread_mutex_lock(&c->mu);
    return c;
}

void bh__sq_release(struct sq_conn *c)
{
    pthread_mutex_unlock(&c->mu);
}

int bh__sq_bump(struct sq *q, int64_t *rev, struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(
        &q->writer, "UPDATE meta SET value = value + 1 WHERE key='revision' RETURNING value", err);
    if (!st)
        return BH_EIO;
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        *rev = sqlite3_column_int64(st, 0);
    else
        rc = bh__sq_fail(&q->writer, err, "bump revision");
    sqlite3_reset(st);
    return rc;
}

int bh__sq_begin(struct sq *q, int64_t *rev, struct bh_err *err)
{
    pthread_mutex_lock(&q->writer.mu);
    int rc = bh__sq_exec(&q->writer, "BEGIN IMMEDIATE", err);
    if (rc) {
        pthread_mutex_unlock(&q->writer.mu);
        return rc;
    }
    if ((rc = bh__sq_bump(q, rev, err))) {
        bh__sq_rollback(q);
        return rc;
    }
    return 0;
}

static int prune_events(struct sq *q, int64_t rev, struct bh_err *err)
{
    if (rev % PRUNE_EVERY != 0 || rev <= q->events_keep)
        return 0;
    sqlite3_stmt *st = bh__sq_prepare(&q->writer, "DELETE FROM events WHERE rev <= ?", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, rev - q->events_keep);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(&q->writer, err, "prune events");
    sqlite3_reset(st);
    return rc;
}

int bh__sq_commit(struct sq *q, int64_t rev, struct bh_err *err)
{
    int rc = prune_events(q, rev, err);
    if (!rc)
        rc = bh__sq_exec(&q->writer, "COMMIT", err);
    if (rc) {
        bh__sq_rollback(q);
        return rc;
    }
    atomic_store(&q->revision, rev);
    pthread_mutex_unlock(&q->writer.mu);
    bh__store_notify(q->owner, rev);
    return 0;
}

void bh__sq_rollback(struct sq *q)
{
    if (!sqlite3_get_autocommit(q->writer.db))
        bh__sq_exec(&q->writer, "ROLLBACK", NULL);
    pthread_mutex_unlock(&q->writer.mu);
}

int bh__sq_bind_json_text(sqlite3_stmt *st, int idx, const json_t *v)
{
    if (!v || json_is_null(v))
        return sqlite3_bind_null(st, idx);
    if (json_is_string(v))
        return sqlite3_bind_text(st, idx, json_string_value(v), (int)json_string_length(v),
                                 SQLITE_TRANSIENT);
    if (json_is_integer(v))
        return sqlite3_bind_int64(st, idx, json_integer_value(v));
    if (json_is_boolean(v))
        return sqlite3_bind_int(st, idx, json_is_true(v));
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s)
        return SQLITE_NOMEM;
    return sqlite3_bind_text(st, idx, s, -1, free);
}

json_t *bh__sq_column_json(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return json_null();
    const char *s = (const char *)sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    json_t *v = json_loadb(s, (size_t)n, JSON_DECODE_ANY, NULL);
    return v ? v : json_null();
}

int bh__sq_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
{
    return s ? sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, idx);
}

int bh__sq_record(struct sq *q, int64_t rev, const char *kind, const char *key, const char *type,
                  const json_t *before, const json_t *after, const struct bh_actor *a, bool audit,
                  struct bh_err *err)
{
    char ts[BH_TIME_STRLEN];
    bh_time_format(bh_wall_ms(), ts);
    const char *actor = a && a->name ? a->name : "system";
    sqlite3_stmt *st = bh__sq_prepare(&q->writer,
                                      "INSERT INTO events (rev, ts, kind, key, type, actor, data) "
                                      "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                      err);
    if (!st)
        return BH_EIO;
    /* a bind that failed (out of memory copying the text) would store NULL
     * in its place: refuse the write instead */
    int b = sqlite3_bind_int64(st, 1, rev) | bh__sq_bind_text_or_null(st, 2, ts) |
            bh__sq_bind_text_or_null(st, 3, kind) | bh__sq_bind_text_or_null(st, 4, key) |
            bh__sq_bind_text_or_null(st, 5, type) | bh__sq_bind_text_or_null(st, 6, actor) |
            bh__sq_bind_json_text(st, 7, after ? after : before);
    int rc = b != SQLITE_OK ? bh_err_set(err, BH_ENOMEM, NULL, "append event: out of memory")
             : sqlite3_step(st) == SQLITE_DONE ? 0
                                               : bh__sq_fail(&q->writer, err, "append event");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc || !audit)
        return rc;
    st =
        bh__sq_prepare(&q->writer,
                       "INSERT INTO audit (ts, actor, token_id, remote, action, kind, key, before, "
                       "after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       err);
    if (!st)
        return BH_EIO;
    b = bh__sq_bind_text_or_null(st, 1, ts) | bh__sq_bind_text_or_null(st, 2, actor) |
        bh__sq_bind_text_or_null(st, 3, a ? a->token_id : NULL) |
        bh__sq_bind_text_or_null(st, 4, a ? a->remote : NULL) |
        bh__sq_bind_text_or_null(st, 5, type) | bh__sq_bind_text_or_null(st, 6, kind) |
        bh__sq_bind_text_or_null(st, 7, key) | bh__sq_bind_json_text(st, 8, before) |
        bh__sq_bind_json_text(st, 9, after);
    rc = b != SQLITE_OK ? bh_err_set(err, BH_ENOMEM, NULL, "append audit: out of memory")
         : sqlite3_step(st) == SQLITE_DONE ? 0
                                           : bh__sq_fail(&q->writer, err, "append audit");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}
