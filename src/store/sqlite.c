/*
 * sqlite.c - the embedded SQLite backend: open and close, the backend's
 * table of functions, events, audit and token lookup.  It sits on top of
 * the other sqlite_*.c files; they call down into sqlite_conn.c, never
 * back into this one.
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

static void sq_close(void *impl)
{
    struct sq *q = impl;
    if (!q)
        return;
    for (int i = 0; i < q->nreaders; i++)
        bh__sq_conn_close(&q->readers[i]);
    free(q->readers);
    /* a clean close checkpoints the WAL into the main file */
    bh__sq_conn_close(&q->writer);
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
    int rc = bh__sq_conn_open(&q->writer, cfg->path, true, busy, err);
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
        if ((rc = bh__sq_conn_open(&q->readers[i], cfg->path, false, busy, err)) ||
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
        bh__sq_bind_text_or_null(st, 1, kind);
        bh__sq_bind_text_or_null(st, 2, key);
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
    bh__sq_bind_text_or_null(st, 1, aq->kind);
    bh__sq_bind_text_or_null(st, 2, aq->key);
    bh__sq_bind_text_or_null(st, 3, aq->actor);
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
    bh__sq_bind_text_or_null(st, 6, only);
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
    .job_edit = bh__sq_job_edit,
    .job_tasks = bh__sq_job_tasks,
    .host_open_jobs = bh__sq_host_open_jobs,
    .task_find = bh__sq_task_find,
    .jobs_wake_due = bh__sq_jobs_wake_due,
    .job_woken = bh__sq_job_woken,
    .agent_login = bh__sq_agent_login,
    .agent_session = bh__sq_agent_session,
    .agent_renew = bh__sq_agent_renew,
    .agent_end = bh__sq_agent_end,
    .session_create = bh__sq_session_create,
    .session_get = bh__sq_session_get,
    .session_touch = bh__sq_session_touch,
    .session_end = bh__sq_session_end,
};
