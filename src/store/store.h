/*
 * store.h - bootherd's state: the interface every backend implements.
 *
 * Callers (API handlers, boot services, the CLI's init) see only these
 * functions and JSON objects shaped by the kind tables in model/model.h; no
 * SQL crosses this line.  The SQLite backend is the embedded default; a
 * PostgreSQL backend plugs in behind the same table of operations.
 *
 * Every write runs in one transaction that also bumps the global revision,
 * appends an event and writes an audit record, so readers can follow every
 * change with bh_store_events(since).  All functions are thread-safe.
 *
 * Objects returned are new JSON references the caller owns (json_decref).
 * Documents passed in are borrowed.
 */
#ifndef BH_STORE_STORE_H
#define BH_STORE_STORE_H

#include "core/err.h"
#include "core/mac.h"
#include "model/jobstate.h"
#include "model/model.h"
#include "model/selector.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct bh_store;

struct bh_store_config {
    const char *path;    /* SQLite database file */
    int readers;         /* reader connections (default 8) */
    int busy_timeout_ms; /* default 5000 */
    int64_t events_keep; /* events kept for resuming watchers (default 100000) */
};

/* Who performs a write (for events and the audit log). Borrowed strings. */
struct bh_actor {
    const char *name;     /* token name, or "system" */
    const char *token_id; /* may be NULL */
    const char *remote;   /* client address, may be NULL */
};

#define BH_QUERY_MAX_FILTERS 8
#define BH_QUERY_MAX_SORT    4
#define BH_LIST_MAX          1000
#define BH_SEARCH_MAX        64 /* bytes of a list search (?q=) */

struct bh_list_query {
    const struct bh_kind_desc *kind;
    struct {
        const struct bh_field *field;
        const char *value; /* borrowed */
    } filters[BH_QUERY_MAX_FILTERS];
    size_t nfilters;
    const struct bh_selector *selector; /* resolved against kind; may be NULL */
    struct {
        const struct bh_field *field;
        bool desc;
    } sort[BH_QUERY_MAX_SORT];
    size_t nsort;
    int64_t limit; /* 1..BH_LIST_MAX */
    int64_t offset;
    bool want_total;
    /* ?q=: only objects with this text (at most BH_SEARCH_MAX bytes, no
     * wildcards: '%' and '_' are themselves) in one of the kind's
     * BH_FF_SEARCH fields, ignoring ASCII case; a MAC also matches written
     * with '-' or without separators.  NULL or "": no search.  Borrowed. */
    const char *search;
};

struct bh_list_result {
    json_t *items; /* array, owned by the caller */
    int64_t total; /* -1 unless want_total */
    bool more;     /* another page follows */
};

/* update flags */
#define BH_UPD_PARTIAL 0x1u /* only columns present in doc change (system updates) */
#define BH_UPD_SYSTEM  0x2u /* doc may set read-only fields (state, last_seen) */

/* Operation counters for /metrics. */
enum bh_store_op {
    BH_OP_GET,
    BH_OP_LIST,
    BH_OP_CREATE,
    BH_OP_UPDATE,
    BH_OP_DELETE,
    BH_OP_EVENTS,
    BH_OP_AUDIT,
    BH_OP_AUTH,
    BH_OP__COUNT
};

struct bh_store_stats {
    atomic_uint_fast64_t count[BH_OP__COUNT];
    atomic_uint_fast64_t errors[BH_OP__COUNT];
    atomic_uint_fast64_t nanos[BH_OP__COUNT];
};

/* Token record used to authenticate a request. */
struct bh_token_info {
    char name[64];
    char hash[65]; /* hex SHA-256 of the secret */
    enum bh_role role;
    int64_t expires_ms; /* INT64_MAX = never */
};

/* Open (creating if needed) and migrate to the current schema. */
int bh_store_open(const struct bh_store_config *cfg, struct bh_store **out, struct bh_err *err);
void bh_store_close(struct bh_store *s);

/* Called after every committed write with the new revision, from the
 * writing thread.  Must be cheap and thread-safe (e.g. uv_async_send). */
void bh_store_set_notify(struct bh_store *s, void (*fn)(void *ud, int64_t rev), void *ud);

/* A trivial read through the store: for /ready. */
int bh_store_ping(struct bh_store *s, struct bh_err *err);
/* The revision of the last commit made through this store (a write by
 * another process shows up after this process's next commit). */
int64_t bh_store_revision(struct bh_store *s);
const struct bh_store_stats *bh_store_get_stats(const struct bh_store *s);
const char *bh_store_op_name(enum bh_store_op op);
int bh_store_schema_version(struct bh_store *s);

/* Objects.  `key` is any of the kind's key fields (host: MAC or name). */
int bh_store_get(struct bh_store *s, const struct bh_kind_desc *k, const char *key, json_t **out,
                 struct bh_err *err);
int bh_store_list(struct bh_store *s, const struct bh_list_query *q, struct bh_list_result *res,
                  struct bh_err *err);
/* doc: validated (bh_model_validate CREATE) plus any internal fields. */
int bh_store_create(struct bh_store *s, const struct bh_kind_desc *k, const json_t *doc,
                    const struct bh_actor *a, json_t **out, struct bh_err *err);
/* Replace the writable state with doc (or, with BH_UPD_PARTIAL, just the
 * fields in doc).  if_rev > 0: BH_EPRECOND unless the object's rev equals it.
 * An update that changes nothing commits nothing and returns the object. */
int bh_store_update(struct bh_store *s, const struct bh_kind_desc *k, const char *key,
                    const json_t *doc, int64_t if_rev, unsigned flags, const struct bh_actor *a,
                    json_t **out, struct bh_err *err);
/* Read-modify-write in one transaction: fn gets the current object
 * (borrowed) and returns the new writable document (new reference), or NULL
 * with err filled to abort.  No other write can come between the read and
 * the write, so concurrent modifications never lose an update. */
typedef json_t *(*bh_store_modify_fn)(void *ud, const json_t *cur, struct bh_err *err);
int bh_store_modify(struct bh_store *s, const struct bh_kind_desc *k, const char *key,
                    bh_store_modify_fn fn, void *ud, int64_t if_rev, unsigned flags,
                    const struct bh_actor *a, json_t **out, struct bh_err *err);
int bh_store_delete(struct bh_store *s, const struct bh_kind_desc *k, const char *key,
                    int64_t if_rev, const struct bh_actor *a, struct bh_err *err);
/* bh_store_modify for many objects in ONE transaction: keys is an array
 * of key strings, fn is called for each object in that order (ud carries
 * what it needs to tell them apart).  All or nothing: the first failure
 * (no such object, fn refusing, a unique field taken, a missing
 * reference) rolls every change back and comes back with its code and
 * err->msg beginning with the key ("aa:bb:..: ...").  Each object that
 * changes gets its own revision, event ("updated") and audit record, as a
 * single write would; one that does not change writes nothing.  *out: the
 * objects afterwards, in key order. */
int bh_store_modify_many(struct bh_store *s, const struct bh_kind_desc *k, const json_t *keys,
                         bh_store_modify_fn fn, void *ud, unsigned flags, const struct bh_actor *a,
                         json_t **out, struct bh_err *err);

/* One write of a batch (bh_store_put_many): the object `key` of `kind`
 * gets the new state fn makes of it (as bh_store_modify; fn NULL: it is
 * left as it is), or, when key names no object, is created from `create`
 * (a document validated as bh_store_create wants it; NULL: the put fails
 * with BH_ENOTFOUND).  Borrowed; `result` is filled in. */
enum bh_put_result { BH_PUT_UNCHANGED, BH_PUT_CREATED, BH_PUT_UPDATED };
struct bh_store_put {
    const struct bh_kind_desc *kind;
    const char *key;
    const json_t *create;
    bh_store_modify_fn fn;
    void *ud;
    unsigned flags; /* BH_UPD_* for fn's document */
    enum bh_put_result result;
};
#define BH_PUT_DRY_RUN 0x1u /* do everything, then roll it all back */
/* Called for a put that failed: i is its index, e says why (err->msg
 * begins with its key).  Return false to stop at this one. */
typedef bool (*bh_store_put_err_fn)(void *ud, size_t i, const struct bh_err *e);
/* Creates and updates of objects of any kinds in ONE transaction, in
 * order (a room created by an earlier put can be named by a later one).
 * All or nothing: when a put fails, the others still run (each in a
 * savepoint of its own, so every failure is found, not only the first:
 * on_err hears of each, may be NULL), and then everything is rolled back
 * and the first failure's code returned with err filled.  Each object that
 * changes gets its own revision, event and audit record, as a single write
 * would.  With BH_PUT_DRY_RUN everything is rolled back even when all went
 * well: the results say what would have happened, nothing is written. */
int bh_store_put_many(struct bh_store *s, struct bh_store_put *puts, size_t n, unsigned flags,
                      const struct bh_actor *a, bh_store_put_err_fn on_err, void *ud,
                      struct bh_err *err);

/* Events with rev > since, oldest first, at most limit.  BH_EGONE if events
 * after `since` were already pruned (the watcher must resync); BH_EINVAL if
 * since is ahead of the current revision. */
int bh_store_events(struct bh_store *s, int64_t since, int limit, json_t **events,
                    struct bh_err *err);
/* Append a non-CRUD event (e.g. "boot.dhcp" on a host); bumps the revision.
 * With audit, the audit log gets the record too (something a person did,
 * such as issuing a boot ticket by hand). */
int bh_store_event_append(struct bh_store *s, const char *kind, const char *key, const char *type,
                          const json_t *data, const struct bh_actor *a, bool audit, int64_t *rev,
                          struct bh_err *err);

/* Append several events in one transaction (one fsync): events is an array
 * of {"kind", "key", "type", "data"}.  For boot progress, which can come in
 * bursts when a room boots. */
int bh_store_event_append_many(struct bh_store *s, const json_t *events, const struct bh_actor *a,
                               struct bh_err *err);
/* The newest `limit` events of one object older than revision `before`
 * (0: the newest of all), newest first. */
int bh_store_events_of(struct bh_store *s, const char *kind, const char *key, int64_t before,
                       int limit, json_t **events, struct bh_err *err);

/* Audit records, newest first. Filters may be NULL. */
struct bh_audit_query {
    const char *kind;
    const char *key;
    const char *actor;
    int64_t before_id; /* 0 = from the newest */
    int64_t limit;
    /* records of these kinds only (NULL-terminated), e.g. what a
     * non-admin may read; NULL = every kind */
    const char *const *only_kinds;
};
int bh_store_audit(struct bh_store *s, const struct bh_audit_query *q, json_t **items,
                   struct bh_err *err);

int bh_store_token_lookup(struct bh_store *s, const char *tid, struct bh_token_info *out,
                          struct bh_err *err);

/* ---- image versions, tags and uploads --------------------------------------
 * The metadata only: chunks and manifests are files (src/image).  A version
 * is {image, version, state, manifest, logical_size, stored_size,
 * added_bytes, new_bytes, chunks, parent, note, created_by, created_at,
 * promoted_by, promoted_at, tags}; `ref` names one by number ("3") or tag
 * ("latest", "stable").  added_bytes: the stored bytes of the chunks its
 * parent lacks; new_bytes: of those no earlier version of the image had
 * when it was made (null for versions made before bootherd kept it, until
 * the image store works it out at start).
 *
 * state: BH_VERSION_RELEASED, or BH_VERSION_CANDIDATE for a version that
 * waits for an operator's decision (a capture by a client agent).  A
 * candidate carries no tag; bh_store_version_promote releases it.
 * promoted_by/promoted_at: who released a candidate, and when (null for a
 * version released when it was made).
 *
 * "latest" is kept by the store and only by it: it always names the
 * highest-numbered released version (no tag when there is none), and
 * moves in the same transaction as the create, promote or delete that
 * changes which one that is.  No caller can set or remove it. */
#define BH_VERSION_CANDIDATE "candidate"
#define BH_VERSION_RELEASED  "released"
#define BH_TAG_LATEST        "latest"

struct bh_version_new {
    const char *image;    /* image name */
    const char *manifest; /* hex id of the manifest file */
    uint64_t logical_size, stored_size, added_bytes, chunks;
    /* stored bytes of the chunks that no earlier version of the image has */
    uint64_t new_bytes;
    const char *note;
    int64_t parent;     /* 0: none */
    bool candidate;     /* a candidate, not released (then tags must be empty) */
    const json_t *tags; /* array of tag names to point here, besides "latest"; may be NULL */
    const char *upload; /* the upload this finishes (deleted with it); may be NULL */
};
/* Create version max+1 (and point the given tags at it), in one
 * transaction with its event ("version.created" on the image).  A released
 * version becomes "latest"; a candidate leaves "latest" where it is.
 * BH_EINVAL: tags for a candidate, or a tag named "latest". */
int bh_store_version_create(struct bh_store *s, const struct bh_version_new *v,
                            const struct bh_actor *a, json_t **out, struct bh_err *err);
int bh_store_version_get(struct bh_store *s, const char *image, const char *ref, json_t **out,
                         struct bh_err *err);
/* All versions of an image, oldest first. */
int bh_store_versions(struct bh_store *s, const char *image, json_t **out, struct bh_err *err);
/* Release a candidate: its state becomes released, promoted_by the actor,
 * "latest" the highest released version; event "version.promoted" on the
 * image, audited with the version before and after.  A version released
 * already is answered as it is, and nothing is written (no event). */
int bh_store_version_promote(struct bh_store *s, const char *image, const char *ref,
                             const struct bh_actor *a, json_t **out, struct bh_err *err);
/* Point tag at version `ref` (a rollback is a tag move).  BH_ECONFLICT for
 * "latest" (the store keeps it) and for a candidate (promote it first). */
int bh_store_tag_set(struct bh_store *s, const char *image, const char *tag, const char *ref,
                     const struct bh_actor *a, json_t **out, struct bh_err *err);
/* BH_ECONFLICT for "latest". */
int bh_store_tag_delete(struct bh_store *s, const char *image, const char *tag,
                        const struct bh_actor *a, struct bh_err *err);
/* Delete a version and the tags on it; "latest" moves to the highest
 * released version left.  BH_ECONFLICT while a tag other than latest
 * points at it. */
int bh_store_version_delete(struct bh_store *s, const char *image, const char *ref,
                            const struct bh_actor *a, struct bh_err *err);
/* An upload holds its manifest's chunks against gc until it is committed,
 * deleted or expires.  The same image + manifest resumes the live upload
 * (*out has "resumed": true). */
int bh_store_upload_create(struct bh_store *s, const char *image, const char *manifest,
                           int64_t expires_ms, const struct bh_actor *a, json_t **out,
                           struct bh_err *err);
int bh_store_upload_get(struct bh_store *s, const char *id, json_t **out, struct bh_err *err);
int bh_store_upload_delete(struct bh_store *s, const char *id, struct bh_err *err);
/* The hex ids of every manifest named by a version and, with uploads, by
 * an upload that has not expired at now_ms (gc roots; expired uploads are
 * deleted then). */
int bh_store_image_roots(struct bh_store *s, int64_t now_ms, bool uploads, json_t **manifests,
                         struct bh_err *err);

/* Record new_bytes of a version made before bootherd kept it (the image
 * store works it out once, at start).  A derived figure: no revision,
 * event or audit record.  BH_ENOTFOUND if there is no such version. */
int bh_store_version_set_new_bytes(struct bh_store *s, const char *image, int64_t version,
                                   uint64_t new_bytes, struct bh_err *err);
/* Versions whose new_bytes is not known yet: [{image, version,
 * manifest}], by image, then version. */
int bh_store_versions_without_new_bytes(struct bh_store *s, json_t **out, struct bh_err *err);

/* ---- jobs and tasks ---------------------------------------------------------
 * A job: {id, rev, spec, state, created_by, created_at, updated_at, hosts:
 * [{mac, name, state, steps: [{task, seq, step, state, progress, error,
 * started_at, finished_at}]}]}.  Task states: queued, running, done,
 * failed, cancelled; host and job states are derived from them
 * (model/jobstate.h).  Every change is an event on kind "job", key the id.
 * The backend stores and queries; the rules are src/jobs's. */
/* spec: validated ({steps: [...], ...}); macs: the target hosts' MACs. */
int bh_store_job_create(struct bh_store *s, const json_t *spec, const json_t *macs,
                        const struct bh_actor *a, json_t **out, struct bh_err *err);
int bh_store_job_get(struct bh_store *s, int64_t id, json_t **out, struct bh_err *err);
/* Newest first, ids below `before` (0: from the newest); summaries with
 * host_states counts instead of the hosts. */
int bh_store_jobs(struct bh_store *s, int64_t before, int limit, json_t **out, struct bh_err *err);
/* A job's tasks, as src/jobs reads and changes them. */
struct bh_job_tasks {
    int64_t job;
    json_t *spec;             /* the job's spec (owned: bh_job_tasks_free) */
    struct bh_task_row *rows; /* its tasks by host, then seq (owned) */
    size_t n;
    /* set by an edit (bh_store_job_edit) */
    const char *type; /* the event's type: "cancelled", "done", ... */
    int64_t task;     /* the task whose news the event carries; 0 none */
};
void bh_job_tasks_free(struct bh_job_tasks *jt);
/* An edit decides (src/jobs): it changes rows (changed, state and the
 * report's fields) and sets type; an error it returns undoes everything. */
typedef int (*bh_job_edit_fn)(void *ctx, struct bh_job_tasks *jt, struct bh_err *err);
/* One write over a job's tasks, in one transaction: read the tasks of job
 * (job 0: of the job task `task` is in; BH_ENOTFOUND if there is no such
 * job or task), call edit, write the rows it changed, bump the job's
 * revision and record event jt->type with the job's state.  The backend
 * stores what a state means for the row's times: queued clears progress,
 * error, times and claim; cancelled sets finished_at; running, done and
 * failed keep started_at (or set it), take the report's progress (if
 * any), error and claim (if any), and done and failed set finished_at.
 * *out: the job afterwards. */
int bh_store_job_edit(struct bh_store *s, int64_t job, int64_t task, bh_job_edit_fn edit, void *ctx,
                      const struct bh_actor *a, json_t **out, struct bh_err *err);
/* A snapshot of a job's tasks (no edit); free with bh_job_tasks_free. */
int bh_store_job_tasks(struct bh_store *s, int64_t job, struct bh_job_tasks *out,
                       struct bh_err *err);
/* The jobs in which host mac has a queued or running task, oldest first:
 * [{job, spec, booted, tasks: [{task, seq, step, state}]}]: booted is
 * whether an agent session of the host began after the job was made; tasks
 * are the host's, by seq. */
int bh_store_host_open_jobs(struct bh_store *s, const char *mac, json_t **out, struct bh_err *err);
/* The host's running step (queued: or a queued one) that begins with prefix
 * ({task, job, step, state, claim}: claim is the agent session holding it,
 * or null), or JSON null.  Scheduling is not looked at. */
int bh_store_task_find(struct bh_store *s, const char *mac, const char *prefix, bool queued,
                       json_t **out, struct bh_err *err);
/* Jobs at:TIME with wake whose time has come and that have not woken their
 * hosts yet (ids, at most 100); then mark one woken (event "woken"): the
 * spec's "woke" becomes report (borrowed: what was sent where and what was
 * not, and why; NULL: true), which the job keeps. */
int bh_store_jobs_wake_due(struct bh_store *s, int64_t now_ms, json_t **ids, struct bh_err *err);
int bh_store_job_woken(struct bh_store *s, int64_t id, const json_t *report,
                       const struct bh_actor *a, json_t **out, struct bh_err *err);
/* ---- what the web console reads (issue 10) ------------------------------
 * Figures made by the database in a few aggregate queries, never by
 * listing objects. */

/* The dashboard's counts, from one snapshot: {rev, hosts: {total,
 * by_state: {new, known, booting, up, offline}, busy, failed}, rooms,
 * groups, profiles, images, jobs: {running, waiting}, logical_bytes}.
 * hosts counts only the hosts of room `room` when it is not NULL
 * (BH_ENOTFOUND if there is no such room).  A host's activity (below)
 * decides busy (running) and failed; a job is waiting while all its steps
 * are queued and running while some are queued or running and not all
 * queued.  logical_bytes: the logical sizes of every image version. */
int bh_store_summary(struct bh_store *s, const char *room, json_t **out, struct bh_err *err);
/* What each host of macs (an array of MAC strings) does now or did last,
 * in one query: *out maps each MAC that has a task to {job, task, step,
 * state, progress, error, updated}.  The task is the host's running step;
 * else its next queued one (oldest job first); else its last finished one
 * (a failed step before the steps cancelled with it). */
int bh_store_hosts_activity(struct bh_store *s, const json_t *macs, json_t **out,
                            struct bh_err *err);
/* The images of names (an array of image names), in one query: *out maps
 * each to {versions, candidates, latest, logical_bytes, stored_bytes}:
 * logical_bytes is the size of the latest released version (else of the
 * newest candidate), stored_bytes the sum of the versions' new_bytes
 * (added_bytes where new_bytes is not known), 0 and null without
 * versions. */
int bh_store_images_usage(struct bh_store *s, const json_t *names, json_t **out,
                          struct bh_err *err);

/* ---- client agents ---------------------------------------------------------
 * A used boot ticket becomes an agent session: the host token's id and
 * hash, bound to the host.  A new session ends the host's earlier ones (a
 * new boot): their tokens stop working at once.  The ticket's nonce is kept
 * until the ticket expires, whatever becomes of the session or the host,
 * so a ticket never works twice. */
struct bh_agent_login {
    const char *mac, *nonce, *tid, *hash; /* hash: hex SHA-256 of the host token */
    int64_t expires_ms;                   /* the host token's end (renewable) */
    int64_t ticket_expires_ms;            /* the ticket's end: its nonce is kept till then */
    int64_t now_ms;                       /* when the session begins */
    const json_t *inventory;              /* becomes the host's "agent.hello" event */
};
/* BH_EAUTH when the ticket's nonce was used already; BH_ENOTFOUND when no
 * host has the MAC. */
int bh_store_agent_login(struct bh_store *s, const struct bh_agent_login *l, struct bh_err *err);
/* The session of host token id tid: its host, hash and end (0 once ended).
 * BH_ENOTFOUND if there is none. */
int bh_store_agent_session(struct bh_store *s, const char *tid, char mac[BH_MAC_STRLEN],
                           char hash[65], int64_t *expires_ms, struct bh_err *err);
/* Move a live session's end to expires_ms (the agent is still at work).
 * Bookkeeping: no revision, event or audit record.  BH_ENOTFOUND if the
 * session has ended or does not exist. */
int bh_store_agent_renew(struct bh_store *s, const char *tid, int64_t expires_ms,
                         struct bh_err *err);
/* The host booted again at boot_ms (its DHCP exchange): end its sessions
 * that began before.  Bookkeeping, as renew.  0 also when there were none;
 * BH_ENOTFOUND never. */
int bh_store_agent_end(struct bh_store *s, const char *mac, int64_t boot_ms, struct bh_err *err);

/* ---- browser sessions ------------------------------------------------------
 * A console login: a random secret (in the browser's cookie; the store keeps
 * only its hex SHA-256) bound to the API token it was traded for.  The
 * name and role are the token's, read again at each request; deleting
 * (revoking) the token deletes its sessions in the same transaction.
 * Login and logout are events on the token (kind "token", key its name:
 * admins see them), audited; touching and removing dead sessions is
 * bookkeeping (no revision, event or audit record). */
struct bh_session_new {
    const char *hash;       /* hex SHA-256 of the secret */
    const char *token_id;   /* the token's public id */
    const char *token_name; /* the event's key */
    int64_t now_ms;         /* the session begins, and was last used */
    int64_t expires_ms;     /* its absolute end */
    int64_t idle_before_ms; /* sessions last used before this are dead: removed */
    const json_t *data;     /* the "session.login" event's data */
};
struct bh_session_info {
    char token_id[32];
    int64_t created_ms, last_ms, expires_ms;
};
/* BH_ENOREF if the token is gone (revoked between its check and now). */
int bh_store_session_create(struct bh_store *s, const struct bh_session_new *n,
                            const struct bh_actor *a, struct bh_err *err);
/* BH_ENOTFOUND if there is no session with that hash. */
int bh_store_session_get(struct bh_store *s, const char *hash, struct bh_session_info *out,
                         struct bh_err *err);
/* The session was used at now_ms. */
int bh_store_session_touch(struct bh_store *s, const char *hash, int64_t now_ms,
                           struct bh_err *err);
/* End a session.  With token_name and a: a logout, the "session.logout"
 * event and audit record on that token; without: a dead session removed.
 * 0 also when it was gone already. */
int bh_store_session_end(struct bh_store *s, const char *hash, const char *token_name,
                         const struct bh_actor *a, struct bh_err *err);

#endif
