/*
 * sqlite_session.c - browser sessions of the console in the SQLite backend
 * (table web_sessions, migration 10; the contract is in store.h).
 *
 * A login and a logout are writes with an event and an audit record, like
 * any change a person makes.  Touching a session (at most once a minute per
 * session, the API decides) and removing dead ones are single statements on
 * the writer outside any transaction, as agent sessions are renewed: they
 * move no revision and wake no watcher.
 */
#include "sqlite_int.h"

#include "core/str.h"

#include <string.h>

/* one bookkeeping statement: ?1 = hash, ?2 = n */
static int session_write(struct sq *q, const char *sql, const char *hash, int64_t n,
                         struct bh_err *err)
{
    struct sq_conn *c = &q->writer;
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *st = bh__sq_prepare(c, sql, err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
        if (sqlite3_bind_parameter_count(st) >= 2)
            sqlite3_bind_int64(st, 2, n);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "browser session");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int bh__sq_session_create(void *impl, const struct bh_session_new *n, const struct bh_actor *a,
                          struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    /* the dead go first: the table holds live sessions and a few more */
    sqlite3_stmt *st =
        bh__sq_prepare(c, "DELETE FROM web_sessions WHERE expires_ms <= ?1 OR last_ms < ?2", err);
    if (!st)
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, n->now_ms);
        sqlite3_bind_int64(st, 2, n->idle_before_ms);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "remove dead browser sessions");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (!rc &&
        !(st = bh__sq_prepare(c,
                              "INSERT INTO web_sessions (hash, token_tid, created_ms, last_ms, "
                              "expires_ms) VALUES (?1, ?2, ?3, ?3, ?4)",
                              err)))
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_text(st, 1, n->hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, n->token_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, n->now_ms);
        sqlite3_bind_int64(st, 4, n->expires_ms);
        int r = sqlite3_step(st);
        if (r != SQLITE_DONE && sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
            rc = bh_err_set(err, BH_ENOREF, "token", "the token was revoked just now");
        else if (r != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "browser session");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (!rc)
        rc = bh__sq_record(q, rev, "token", n->token_name, "session.login", NULL, n->data, a, true,
                           err);
    if (rc) {
        bh__sq_rollback(q);
        return rc;
    }
    return bh__sq_commit(q, rev, err);
}

int bh__sq_session_get(void *impl, const char *hash, struct bh_session_info *out,
                       struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st = bh__sq_prepare(c,
                                      "SELECT token_tid, created_ms, last_ms, expires_ms "
                                      "FROM web_sessions WHERE hash = ?",
                                      err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            const char *tid = (const char *)sqlite3_column_text(st, 0);
            bh_strlcpy(out->token_id, tid ? tid : "", sizeof(out->token_id));
            out->created_ms = sqlite3_column_int64(st, 1);
            out->last_ms = sqlite3_column_int64(st, 2);
            out->expires_ms = sqlite3_column_int64(st, 3);
        } else if (r == SQLITE_DONE) {
            rc = bh_err_set(err, BH_ENOTFOUND, NULL, "no such browser session");
        } else {
            rc = bh__sq_fail(c, err, "browser session");
        }
        sqlite3_reset(st);
    }
    bh__sq_release(c);
    return rc;
}

int bh__sq_session_touch(void *impl, const char *hash, int64_t now_ms, struct bh_err *err)
{
    return session_write(impl, "UPDATE web_sessions SET last_ms = max(last_ms, ?2) WHERE hash = ?1",
                         hash, now_ms, err);
}

int bh__sq_session_end(void *impl, const char *hash, const char *token_name,
                       const struct bh_actor *a, struct bh_err *err)
{
    struct sq *q = impl;
    if (!token_name || !a)
        return session_write(q, "DELETE FROM web_sessions WHERE hash = ?1", hash, 0, err);
    int64_t rev;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    sqlite3_stmt *st = bh__sq_prepare(c, "DELETE FROM web_sessions WHERE hash = ?", err);
    if (!st)
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "end browser session");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    bool gone = !rc && sqlite3_changes(c->db) == 0; /* ended already: no second logout */
    if (!rc && !gone)
        rc = bh__sq_record(q, rev, "token", token_name, "session.logout", NULL, NULL, a, true, err);
    if (rc || gone) {
        bh__sq_rollback(q);
        return rc;
    }
    return bh__sq_commit(q, rev, err);
}
