/*
 * sqlite_leases.c - the lease rows in SQLite (see leases.h for why they
 * have their own file): one connection, owned by the lease writer thread
 * once it runs (before that, by the thread that opened and loads it).
 */
#include "backend.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUSY_TIMEOUT_MS 5000

static const char schema[] = "CREATE TABLE IF NOT EXISTS leases ("
                             " ip INTEGER PRIMARY KEY," /* host byte order */
                             " mac BLOB NOT NULL,"
                             " state INTEGER NOT NULL,"
                             " expires INTEGER NOT NULL," /* seconds since the epoch */
                             " hostname TEXT NOT NULL DEFAULT '')";

struct bh__lease_rows {
    sqlite3 *db;
    sqlite3_stmt *put, *del;
};

static int db_fail(struct bh__lease_rows *l, const char *what, struct bh_err *err)
{
    return bh_err_set(err, BH_EIO, NULL, "lease database: %s: %s", what, sqlite3_errmsg(l->db));
}

int bh__sq_lease_open(const char *path, struct bh__lease_rows **out, struct bh_err *err)
{
    struct bh__lease_rows *l = calloc(1, sizeof(*l));
    if (!l)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
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
    bh__sq_lease_close(l);
    return rc;
}

int bh__sq_lease_load(struct bh__lease_rows *l, int (*cb)(void *ud, const struct bh_lease_rec *r),
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

int bh__sq_lease_apply(struct bh__lease_rows *l, const struct bh_lease_rec *v, size_t n,
                       struct bh_err *err)
{
    if (sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(l, "begin", err);
    for (size_t i = 0; i < n; i++) {
        const struct bh_lease_rec *r = &v[i];
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
            rc = db_fail(l, "write", err);
            sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
            return rc;
        }
    }
    if (sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = db_fail(l, "commit", err);
        sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return 0;
}

void bh__sq_lease_close(struct bh__lease_rows *l)
{
    if (!l)
        return;
    sqlite3_finalize(l->put);
    sqlite3_finalize(l->del);
    sqlite3_close(l->db);
    free(l);
}
