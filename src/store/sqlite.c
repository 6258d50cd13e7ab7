/*
 * sqlite.c - the embedded SQLite backend: connections, statements,
 * transactions, events, audit and token lookup.
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

#define READERS_DEFAULT 8
#define PRUNE_EVERY     256

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

static int conn_open(struct sq_conn *c, const char *path, bool writer, int busy_ms,
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

static void conn_close(struct sq_conn *c)
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

static void sq_close(void *impl)
{
    struct sq *q = impl;
    if (!q)
        return;
    for (int i = 0; i < q->nreaders; i++)
        conn_close(&q->readers[i]);
    free(q->readers);
    /* a clean close checkpoints the WAL into the main file */
    conn_close(&q->writer);
    for (int k = 0; k < BH_KIND__COUNT; k++)
        free(q->select_cols[k]);
    free(q);
}

static int load_revision(struct sq *q, struct bh_err *err)
{
    sqlite3_stmt *st =
        bh__sq_prepare(&q->writer, "SELECT value FROM meta WHERE key='revision'", err);
    if (!st)
        return BH_EIO;
    if (sqlite3_step(st) != SQLITE_ROW)
        return bh__sq_fail(&q->writer, err, "read revision");
    atomic_store(&q->revision, sqlite3_column_int64(st, 0));
    sqlite3_reset(st);
    return 0;
}

static int sq_open(struct bh_store *owner, const struct bh_store_config *cfg, void **impl,
                   struct bh_err *err)
{
    struct sq *q = calloc(1, sizeof(*q));
    if (!q)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    q->owner = owner;
    q->events_keep = cfg->events_keep > 0 ? cfg->events_keep : 100000;
    int busy = cfg->busy_timeout_ms > 0 ? cfg->busy_timeout_ms : 5000;
    int rc = conn_open(&q->writer, cfg->path, true, busy, err);
    if (rc) {
        free(q);
        return rc;
    }
    if ((rc = bh__sq_migrate(q, err)) || (rc = load_revision(q, err)) ||
        (rc = bh__sq_build_selects(q) ? bh_err_set(err, BH_ENOMEM, NULL, "out of memory") : 0))
        goto fail;
    q->nreaders = cfg->readers > 0 ? cfg->readers : READERS_DEFAULT;
    q->readers = calloc((size_t)q->nreaders, sizeof(*q->readers));
    if (!q->readers) {
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    for (int i = 0; i < q->nreaders; i++) {
        /* a first read opens the WAL and shared-memory files now, while the
         * daemon may still be privileged (see serve.c) */
        if ((rc = conn_open(&q->readers[i], cfg->path, false, busy, err)) ||
            (rc = bh__sq_exec(&q->readers[i], "SELECT value FROM meta", err))) {
            q->nreaders = i + (q->readers[i].db != NULL);
            goto fail;
        }
    }
    *impl = q;
    return 0;
fail:
    sq_close(q);
    return rc;
}

static int sq_ping(void *impl, struct bh_err *err)
{
    struct sq *q = impl;
    struct sq_conn *c = bh__sq_reader(q);
    int rc = 0;
    sqlite3_stmt *st = bh__sq_prepare(c, "SELECT value FROM meta WHERE key='revision'", err);
    if (!st)
        rc = BH_EIO;
    else if (sqlite3_step(st) != SQLITE_ROW)
        rc = bh__sq_fail(c, err, "ping");
    if (st)
        sqlite3_reset(st);
    bh__sq_release(c);
    return rc;
}

/* Kept in memory by bh__sq_commit; reading it never takes a connection (a
 * caller may already hold one). */
static int64_t sq_revision(void *impl)
{
    return atomic_load(&((struct sq *)impl)->revision);
}

static int sq_schema_version(void *impl)
{
    return ((struct sq *)impl)->schema_version;
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

static int bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
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
    int b = sqlite3_bind_int64(st, 1, rev) | bind_text_or_null(st, 2, ts) |
            bind_text_or_null(st, 3, kind) | bind_text_or_null(st, 4, key) |
            bind_text_or_null(st, 5, type) | bind_text_or_null(st, 6, actor) |
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
    b = bind_text_or_null(st, 1, ts) | bind_text_or_null(st, 2, actor) |
        bind_text_or_null(st, 3, a ? a->token_id : NULL) |
        bind_text_or_null(st, 4, a ? a->remote : NULL) | bind_text_or_null(st, 5, type) |
        bind_text_or_null(st, 6, kind) | bind_text_or_null(st, 7, key) |
        bh__sq_bind_json_text(st, 8, before) | bh__sq_bind_json_text(st, 9, after);
    rc = b != SQLITE_OK ? bh_err_set(err, BH_ENOMEM, NULL, "append audit: out of memory")
         : sqlite3_step(st) == SQLITE_DONE ? 0
                                           : bh__sq_fail(&q->writer, err, "append audit");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static json_t *event_row(sqlite3_stmt *st)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:o}", "rev",
                     (json_int_t)sqlite3_column_int64(st, 0), "ts", sqlite3_column_text(st, 1),
                     "kind", sqlite3_column_text(st, 2), "key", sqlite3_column_text(st, 3), "type",
                     sqlite3_column_text(st, 4), "actor", sqlite3_column_text(st, 5), "data",
                     bh__sq_column_json(st, 6));
}

/* Append every row of st (a bound "SELECT rev, ts, kind, key, type, actor,
 * data FROM events ...") to arr as an event object; st is reset after. */
static int event_rows(struct sq_conn *c, sqlite3_stmt *st, json_t *arr, struct bh_err *err)
{
    int rc = 0, r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *ev = event_row(st);
        if (!ev || json_array_append_new(arr, ev)) {
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            break;
        }
    }
    if (!rc && r != SQLITE_DONE)
        rc = bh__sq_fail(c, err, "read events");
    sqlite3_reset(st);
    return rc;
}

static int sq_events(void *impl, int64_t since, int limit, json_t **events, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t now = atomic_load(&q->revision);
    if (since > now)
        return bh_err_set(err, BH_EINVAL, "since",
                          "since=%lld is ahead of the current revision %lld", (long long)since,
                          (long long)now);
    struct sq_conn *c = bh__sq_reader(q);
    json_t *arr = json_array();
    int rc = arr ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    /* the oldest kept event and the page come from one snapshot, so a prune
     * in between cannot open a silent gap */
    bool in_txn = !rc && !(rc = bh__sq_exec(c, "BEGIN", err));
    sqlite3_stmt *st = rc ? NULL : bh__sq_prepare(c, "SELECT MIN(rev) FROM events", err);
    if (!rc && !st)
        rc = BH_EIO;
    if (!rc && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        int64_t oldest = sqlite3_column_int64(st, 0);
        if (since < oldest - 1)
            rc = bh_err_set(err, BH_EGONE, "since",
                            "events before revision %lld are no longer kept; read the objects "
                            "again and resume from revision %lld",
                            (long long)oldest, (long long)now);
    }
    if (st)
        sqlite3_reset(st);
    if (!rc &&
        !(st = bh__sq_prepare(c,
                              "SELECT rev, ts, kind, key, type, actor, data FROM events WHERE "
                              "rev > ? ORDER BY rev LIMIT ?",
                              err)))
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, since);
        sqlite3_bind_int(st, 2, limit);
        rc = event_rows(c, st, arr, err);
    }
    if (in_txn)
        bh__sq_exec(c, "COMMIT", NULL);
    bh__sq_release(c);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *events = arr;
    return 0;
}

static int sq_event_append(void *impl, const char *kind, const char *key, const char *type,
                           const json_t *data, const struct bh_actor *a, bool audit, int64_t *rev,
                           struct bh_err *err)
{
    struct sq *q = impl;
    int64_t r;
    int rc = bh__sq_begin(q, &r, err);
    if (rc)
        return rc;
    if ((rc = bh__sq_record(q, r, kind, key, type, NULL, data, a, audit, err))) {
        bh__sq_rollback(q);
        return rc;
    }
    if ((rc = bh__sq_commit(q, r, err)))
        return rc;
    if (rev)
        *rev = r;
    return 0;
}

static int sq_event_append_many(void *impl, const json_t *events, const struct bh_actor *a,
                                struct bh_err *err)
{
    struct sq *q = impl;
    size_t n = json_array_size(events);
    if (n == 0)
        return 0;
    int64_t rev;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    for (size_t i = 0; !rc && i < n; i++) {
        const json_t *ev = json_array_get(events, i);
        if (i > 0) /* every event has its own revision */
            rc = bh__sq_bump(q, &rev, err);
        if (!rc)
            rc = bh__sq_record(q, rev, json_string_value(json_object_get(ev, "kind")),
                               json_string_value(json_object_get(ev, "key")),
                               json_string_value(json_object_get(ev, "type")), NULL,
                               json_object_get(ev, "data"), a, false, err);
    }
    if (rc) {
        bh__sq_rollback(q);
        return rc;
    }
    return bh__sq_commit(q, rev, err);
}

static int sq_events_of(void *impl, const char *kind, const char *key, int64_t before, int limit,
                        json_t **events, struct bh_err *err)
{
    struct sq *q = impl;
    struct sq_conn *c = bh__sq_reader(q);
    json_t *arr = json_array();
    int rc = arr ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    sqlite3_stmt *st =
        rc ? NULL
           : bh__sq_prepare(
                 c,
                 "SELECT rev, ts, kind, key, type, actor, data FROM events WHERE kind = ? "
                 "AND key = ? AND (?3 = 0 OR rev < ?3) ORDER BY rev DESC LIMIT ?4",
                 err);
    if (!rc && !st)
        rc = BH_EIO;
    if (!rc) {
        bind_text_or_null(st, 1, kind);
        bind_text_or_null(st, 2, key);
        sqlite3_bind_int64(st, 3, before);
        sqlite3_bind_int(st, 4, limit);
        rc = event_rows(c, st, arr, err);
    }
    bh__sq_release(c);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *events = arr;
    return 0;
}

static int sq_audit(void *impl, const struct bh_audit_query *aq, json_t **items, struct bh_err *err)
{
    struct sq *q = impl;
    struct sq_conn *c = bh__sq_reader(q);
    int rc = 0;
    json_t *arr = json_array();
    sqlite3_stmt *st = bh__sq_prepare(
        c,
        "SELECT id, ts, actor, token_id, remote, action, kind, key, before, after FROM audit "
        "WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR key = ?2) AND (?3 IS NULL OR actor = "
        "?3) AND (?4 = 0 OR id < ?4) AND (?6 IS NULL OR kind IN (SELECT value FROM json_each(?6))) "
        "ORDER BY id DESC LIMIT ?5",
        err);
    if (!st || !arr) {
        rc = arr ? BH_EIO : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        goto out;
    }
    bind_text_or_null(st, 1, aq->kind);
    bind_text_or_null(st, 2, aq->key);
    bind_text_or_null(st, 3, aq->actor);
    sqlite3_bind_int64(st, 4, aq->before_id);
    sqlite3_bind_int64(st, 5, aq->limit);
    char *only = NULL;
    if (aq->only_kinds) {
        json_t *a = json_array();
        for (size_t i = 0; a && aq->only_kinds[i]; i++)
            json_array_append_new(a, json_string(aq->only_kinds[i]));
        only = a ? json_dumps(a, JSON_COMPACT) : NULL;
        json_decref(a);
        if (!only) {
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            sqlite3_reset(st);
            goto out;
        }
    }
    bind_text_or_null(st, 6, only);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *r =
            json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s, s:s, s:s, s:o, s:o}", "id",
                      (json_int_t)sqlite3_column_int64(st, 0), "ts", sqlite3_column_text(st, 1),
                      "actor", sqlite3_column_text(st, 2), "token_id", sqlite3_column_text(st, 3),
                      "remote", sqlite3_column_text(st, 4), "action", sqlite3_column_text(st, 5),
                      "kind", sqlite3_column_text(st, 6), "key", sqlite3_column_text(st, 7),
                      "before", bh__sq_column_json(st, 8), "after", bh__sq_column_json(st, 9));
        if (!r || json_array_append_new(arr, r)) {
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            break;
        }
    }
    if (!rc && s != SQLITE_DONE)
        rc = bh__sq_fail(c, err, "read audit");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    free(only);
out:
    bh__sq_release(c);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *items = arr;
    return 0;
}

static int sq_token_lookup(void *impl, const char *tid, struct bh_token_info *out,
                           struct bh_err *err)
{
    struct sq *q = impl;
    struct sq_conn *c = bh__sq_reader(q);
    int rc = 0;
    sqlite3_stmt *st =
        bh__sq_prepare(c, "SELECT name, role, hash, expires_at FROM tokens WHERE tid = ?", err);
    if (!st) {
        bh__sq_release(c);
        return BH_EIO;
    }
    sqlite3_bind_text(st, 1, tid, -1, SQLITE_TRANSIENT);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *role = (const char *)sqlite3_column_text(st, 1);
        const char *hash = (const char *)sqlite3_column_text(st, 2);
        const char *exp = (const char *)sqlite3_column_text(st, 3);
        bh_strlcpy(out->name, name ? name : "", sizeof(out->name));
        bh_strlcpy(out->hash, hash ? hash : "", sizeof(out->hash));
        out->expires_ms = INT64_MAX; /* never */
        if (!role || bh_role_parse(role, &out->role))
            out->role = BH_ROLE_NONE;
        if (exp && bh_time_parse(exp, &out->expires_ms))
            out->expires_ms = INT64_MIN; /* unreadable expiry: treat as expired */
    } else if (s == SQLITE_DONE) {
        rc = bh_err_set(err, BH_ENOTFOUND, NULL, "no such token");
    } else {
        rc = bh__sq_fail(c, err, "token lookup");
    }
    sqlite3_reset(st);
    bh__sq_release(c);
    return rc;
}

const struct bh_store_backend bh__sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .ping = sq_ping,
    .revision = sq_revision,
    .schema_version = sq_schema_version,
    .get = bh__sq_get,
    .list = bh__sq_list,
    .create = bh__sq_create,
    .update = bh__sq_update,
    .update_many = bh__sq_update_many,
    .put_many = bh__sq_put_many,
    .del = bh__sq_delete,
    .events = sq_events,
    .event_append = sq_event_append,
    .event_append_many = sq_event_append_many,
    .events_of = sq_events_of,
    .audit = sq_audit,
    .token_lookup = sq_token_lookup,
    .version_create = bh__sq_version_create,
    .version_get = bh__sq_version_get,
    .versions = bh__sq_versions,
    .version_promote = bh__sq_version_promote,
    .tag_set = bh__sq_tag_set,
    .tag_delete = bh__sq_tag_delete,
    .version_delete = bh__sq_version_delete,
    .upload_create = bh__sq_upload_create,
    .upload_get = bh__sq_upload_get,
    .upload_delete = bh__sq_upload_delete,
    .image_roots = bh__sq_image_roots,
    .version_set_new_bytes = bh__sq_version_set_new_bytes,
    .versions_without_new_bytes = bh__sq_versions_without_new_bytes,
    .summary = bh__sq_summary,
    .hosts_activity = bh__sq_hosts_activity,
    .images_usage = bh__sq_images_usage,
    .job_create = bh__sq_job_create,
    .job_get = bh__sq_job_get,
    .jobs = bh__sq_jobs,
    .job_cancel = bh__sq_job_cancel,
    .job_retry = bh__sq_job_retry,
    .task_next = bh__sq_task_next,
    .task_find = bh__sq_task_find,
    .jobs_wake_due = bh__sq_jobs_wake_due,
    .job_woken = bh__sq_job_woken,
    .task_update = bh__sq_task_update,
    .agent_login = bh__sq_agent_login,
    .agent_session = bh__sq_agent_session,
    .agent_renew = bh__sq_agent_renew,
    .agent_end = bh__sq_agent_end,
    .session_create = bh__sq_session_create,
    .session_get = bh__sq_session_get,
    .session_touch = bh__sq_session_touch,
    .session_end = bh__sq_session_end,
};
