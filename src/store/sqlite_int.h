/*
 * sqlite_int.h - shared between the SQLite backend's files.
 */
#ifndef BH_STORE_SQLITE_INT_H
#define BH_STORE_SQLITE_INT_H

#include "backend.h"

#include <pthread.h>
#include <sqlite3.h>

#define SQ_CACHE 64 /* prepared statements kept per connection */

struct sq_stmt {
    char *sql;
    uint64_t hash;
    sqlite3_stmt *st;
    uint64_t used;
};

struct sq_conn {
    sqlite3 *db;
    pthread_mutex_t mu;
    struct sq_stmt cache[SQ_CACHE];
    uint64_t tick;
};

struct sq {
    struct bh_store *owner;
    struct sq_conn writer;
    struct sq_conn *readers;
    int nreaders;
    atomic_uint next_reader;
    _Atomic int64_t revision;
    int64_t events_keep;
    int schema_version;
    char *select_cols[BH_KIND__COUNT]; /* column list that builds an object */
};

/* Table that holds objects of kind k. */
const char *bh__sq_table(enum bh_kind k);
/* Apply pending migrations on the writer connection. */
int bh__sq_migrate(struct sq *q, struct bh_err *err);

/* A prepared, reset statement from the connection's cache (caller holds the
 * connection).  NULL with err filled on failure. */
sqlite3_stmt *bh__sq_prepare(struct sq_conn *c, const char *sql, struct bh_err *err);
int bh__sq_exec(struct sq_conn *c, const char *sql, struct bh_err *err);
/* Map the connection's last error to a bh_err. */
int bh__sq_fail(struct sq_conn *c, struct bh_err *err, const char *what);

/* sqlite_conn.c: open one connection (the writer: read-write, WAL,
 * synchronous=FULL; a reader: read-only) and close it with its cache */
int bh__sq_conn_open(struct sq_conn *c, const char *path, bool writer, int busy_ms,
                     struct bh_err *err);
void bh__sq_conn_close(struct sq_conn *c);
struct sq_conn *bh__sq_reader(struct sq *q);
void bh__sq_release(struct sq_conn *c);

/* Write transactions: lock the writer, BEGIN IMMEDIATE, bump the revision. */
int bh__sq_begin(struct sq *q, int64_t *rev, struct bh_err *err);
int bh__sq_commit(struct sq *q, int64_t rev, struct bh_err *err);
void bh__sq_rollback(struct sq *q);
/* Inside a write transaction: the next revision (for a second event). */
int bh__sq_bump(struct sq *q, int64_t *rev, struct bh_err *err);
/* Inside a write transaction: append an event and an audit record. */
int bh__sq_record(struct sq *q, int64_t rev, const char *kind, const char *key, const char *type,
                  const json_t *before, const json_t *after, const struct bh_actor *a, bool audit,
                  struct bh_err *err);

/* Bind a JSON value as text/int/NULL. */
/* bind s as text (copied), or NULL for NULL; the SQLite result code */
int bh__sq_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s);
int bh__sq_bind_json_text(sqlite3_stmt *st, int idx, const json_t *v);
/* Column as a JSON value (parsed if it holds JSON text). */
json_t *bh__sq_column_json(sqlite3_stmt *st, int col);

/* CRUD (sqlite_crud.c) */
int bh__sq_build_selects(struct sq *q);
int bh__sq_get(void *impl, const struct bh_kind_desc *k, const char *key, json_t **out,
               struct bh_err *err);
int bh__sq_list(void *impl, const struct bh_list_query *qr, struct bh_list_result *res,
                struct bh_err *err);
int bh__sq_create(void *impl, const struct bh_kind_desc *k, const json_t *doc,
                  const struct bh_actor *a, json_t **out, struct bh_err *err);
int bh__sq_update(void *impl, const struct bh_kind_desc *k, const char *key, bh_store_modify_fn fn,
                  void *ud, int64_t if_rev, unsigned flags, const struct bh_actor *a, json_t **out,
                  struct bh_err *err);
int bh__sq_update_many(void *impl, const struct bh_kind_desc *k, const json_t *keys,
                       bh_store_modify_fn fn, void *ud, unsigned flags, const struct bh_actor *a,
                       json_t **out, struct bh_err *err);
int bh__sq_delete(void *impl, const struct bh_kind_desc *k, const char *key, int64_t if_rev,
                  const struct bh_actor *a, struct bh_err *err);
/* Inside a write transaction at revision rev (for batches): create the
 * object of doc and record it; *out is the object created. */
int bh__sq_create_in(struct sq *q, const struct bh_kind_desc *k, const json_t *doc,
                     const struct bh_actor *a, int64_t rev, json_t **out, struct bh_err *err);
/* Inside a write transaction at revision rev: read the object, let fn make
 * the new state, write it and record it.  *changed is false when the write
 * changed nothing: nothing is recorded, the caller undoes the write, and
 * *out is the object as it was.  BH_ENOTFOUND (nothing written) when key
 * names no object. */
int bh__sq_update_in(struct sq *q, const struct bh_kind_desc *k, const char *key,
                     bh_store_modify_fn fn, void *ud, int64_t if_rev, unsigned flags,
                     const struct bh_actor *a, int64_t rev, json_t **out, bool *changed,
                     struct bh_err *err);

/* Make err->msg begin with the key of the object it is about. */
void bh__sq_err_of_key(struct bh_err *err, const char *key);

/* Many creates and updates in one transaction (sqlite_batch.c) */
int bh__sq_put_many(void *impl, struct bh_store_put *puts, size_t n, unsigned flags,
                    const struct bh_actor *a, bh_store_put_err_fn on_err, void *ud,
                    struct bh_err *err);

/* Image versions, tags, uploads (sqlite_image.c) */
int bh__sq_version_create(void *impl, const struct bh_version_new *v, const struct bh_actor *a,
                          json_t **out, struct bh_err *err);
int bh__sq_version_get(void *impl, const char *image, const char *ref, json_t **out,
                       struct bh_err *err);
int bh__sq_versions(void *impl, const char *image, json_t **out, struct bh_err *err);
int bh__sq_version_promote(void *impl, const char *image, const char *ref, const struct bh_actor *a,
                           json_t **out, struct bh_err *err);
int bh__sq_tag_set(void *impl, const char *image, const char *tag, const char *ref,
                   const struct bh_actor *a, json_t **out, struct bh_err *err);
int bh__sq_tag_delete(void *impl, const char *image, const char *tag, const struct bh_actor *a,
                      struct bh_err *err);
int bh__sq_version_delete(void *impl, const char *image, const char *ref, const struct bh_actor *a,
                          struct bh_err *err);
int bh__sq_upload_create(void *impl, const char *image, const char *manifest, int64_t expires_ms,
                         const struct bh_actor *a, json_t **out, struct bh_err *err);
int bh__sq_upload_get(void *impl, const char *id, json_t **out, struct bh_err *err);
int bh__sq_upload_delete(void *impl, const char *id, struct bh_err *err);
int bh__sq_image_roots(void *impl, int64_t now_ms, bool uploads, json_t **manifests,
                       struct bh_err *err);

int bh__sq_version_set_new_bytes(void *impl, const char *image, int64_t version, uint64_t new_bytes,
                                 struct bh_err *err);
int bh__sq_versions_without_new_bytes(void *impl, json_t **out, struct bh_err *err);

/* What the web console reads (sqlite_console.c) */
int bh__sq_summary(void *impl, const char *room, json_t **out, struct bh_err *err);
int bh__sq_hosts_activity(void *impl, const json_t *macs, json_t **out, struct bh_err *err);
int bh__sq_images_usage(void *impl, const json_t *names, json_t **out, struct bh_err *err);

/* Jobs and tasks (sqlite_jobs.c) */
int bh__sq_job_create(void *impl, const json_t *spec, const json_t *macs, const struct bh_actor *a,
                      json_t **out, struct bh_err *err);
int bh__sq_job_get(void *impl, int64_t id, json_t **out, struct bh_err *err);
int bh__sq_jobs(void *impl, int64_t before, int limit, json_t **out, struct bh_err *err);
int bh__sq_job_edit(void *impl, int64_t job, int64_t task, bh_job_edit_fn edit, void *ctx,
                    const struct bh_actor *a, json_t **out, struct bh_err *err);
int bh__sq_job_tasks(void *impl, int64_t job, struct bh_job_tasks *out, struct bh_err *err);
int bh__sq_host_open_jobs(void *impl, const char *mac, json_t **out, struct bh_err *err);
int bh__sq_task_find(void *impl, const char *mac, const char *prefix, bool queued, json_t **out,
                     struct bh_err *err);
int bh__sq_jobs_wake_due(void *impl, int64_t now_ms, json_t **ids, struct bh_err *err);
int bh__sq_job_woken(void *impl, int64_t id, const json_t *report, const struct bh_actor *a,
                     json_t **out, struct bh_err *err);
int bh__sq_agent_login(void *impl, const struct bh_agent_login *l, struct bh_err *err);
int bh__sq_agent_renew(void *impl, const char *tid, int64_t expires_ms, struct bh_err *err);
int bh__sq_agent_end(void *impl, const char *mac, int64_t boot_ms, struct bh_err *err);
int bh__sq_agent_session(void *impl, const char *tid, char mac[BH_MAC_STRLEN], char hash[65],
                         int64_t *expires_ms, struct bh_err *err);

/* Browser sessions (sqlite_session.c) */
int bh__sq_session_create(void *impl, const struct bh_session_new *n, const struct bh_actor *a,
                          struct bh_err *err);
int bh__sq_session_get(void *impl, const char *hash, struct bh_session_info *out,
                       struct bh_err *err);
int bh__sq_session_touch(void *impl, const char *hash, int64_t now_ms, struct bh_err *err);
int bh__sq_session_end(void *impl, const char *hash, const char *token_name,
                       const struct bh_actor *a, struct bh_err *err);

#endif
