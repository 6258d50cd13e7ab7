/*
 * sqlite_jobs.c - jobs and their tasks in the SQLite backend.
 *
 * A job is a list of steps for a set of hosts; each host gets one task per
 * step (seq = the step's index).  Task states: queued, running, done,
 * failed, cancelled.  A host's steps run in order; when one fails, the
 * host's later steps become cancelled and the other hosts go on.  What a
 * host and a job "are" (waiting, running, done, failed) is derived from
 * the task states when read, so there is one truth.
 */
#include "sqlite_int.h"

#include "core/timeutil.h"
#include "model/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void now_ts(char ts[BH_TIME_STRLEN])
{
    bh_time_format(bh_wall_ms(), ts);
}

/* ---- reading ------------------------------------------------------------- */

/* host state from its task states, in step order */
static const char *host_state(const json_t *steps)
{
    size_t i, done = 0, n = json_array_size(steps);
    json_t *t;
    bool running = false, failed = false, cancelled = false;
    json_array_foreach(steps, i, t)
    {
        const char *s = json_string_value(json_object_get(t, "state"));
        if (!s)
            continue;
        if (!strcmp(s, "done"))
            done++;
        else if (!strcmp(s, "running"))
            running = true;
        else if (!strcmp(s, "failed"))
            failed = true;
        else if (!strcmp(s, "cancelled"))
            cancelled = true;
    }
    if (failed)
        return "failed";
    if (n && done == n)
        return "done";
    if (running)
        return "running";
    if (cancelled)
        return "cancelled";
    return done ? "running" : "queued";
}

/* job state from its hosts' states */
static const char *job_state(const json_t *hosts)
{
    size_t i, n = json_array_size(hosts), done = 0, failed = 0, cancelled = 0, queued = 0;
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        const char *s = json_string_value(json_object_get(h, "state"));
        if (!strcmp(s, "done"))
            done++;
        else if (!strcmp(s, "failed"))
            failed++;
        else if (!strcmp(s, "cancelled"))
            cancelled++;
        else if (!strcmp(s, "queued"))
            queued++;
    }
    if (n == 0 || done == n)
        return "done";
    if (done + failed + cancelled == n)
        return failed ? "failed" : "cancelled";
    if (queued == n)
        return "queued";
    return "running";
}

static int load_job(struct sq_conn *c, int64_t id, json_t **out, struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(c,
                                      "SELECT id, rev, spec, created_by, created_at, updated_at "
                                      "FROM jobs WHERE id = ?",
                                      err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, id);
    int r = sqlite3_step(st), rc = 0;
    json_t *job = NULL;
    if (r == SQLITE_ROW)
        job = json_pack("{s:I, s:I, s:o, s:s?, s:s?, s:s?}", "id",
                        (json_int_t)sqlite3_column_int64(st, 0), "rev",
                        (json_int_t)sqlite3_column_int64(st, 1), "spec", bh__sq_column_json(st, 2),
                        "created_by", (const char *)sqlite3_column_text(st, 3), "created_at",
                        (const char *)sqlite3_column_text(st, 4), "updated_at",
                        (const char *)sqlite3_column_text(st, 5));
    else if (r == SQLITE_DONE)
        rc = bh_err_set(err, BH_ENOTFOUND, "job", "no job %lld", (long long)id);
    else
        rc = bh__sq_fail(c, err, "read job");
    sqlite3_reset(st);
    if (rc)
        return rc;
    st = bh__sq_prepare(c,
                        "SELECT h.mac, h.name, t.id, t.seq, t.step, t.state, t.progress, t.error, "
                        "t.started_at, t.finished_at FROM tasks t JOIN hosts h ON h.id = t.host_id "
                        "WHERE t.job_id = ? ORDER BY h.mac, t.seq",
                        err);
    if (!st) {
        json_decref(job);
        return BH_EIO;
    }
    sqlite3_bind_int64(st, 1, id);
    json_t *hosts = json_array(), *cur = NULL;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mac = (const char *)sqlite3_column_text(st, 0);
        if (!cur || strcmp(json_string_value(json_object_get(cur, "mac")), mac)) {
            cur = json_pack("{s:s, s:s?, s:[]}", "mac", mac, "name",
                            (const char *)sqlite3_column_text(st, 1), "steps");
            json_array_append_new(hosts, cur);
        }
        json_array_append_new(json_object_get(cur, "steps"),
                              json_pack("{s:I, s:I, s:s, s:s, s:o, s:s?, s:s?, s:s?}", "task",
                                        (json_int_t)sqlite3_column_int64(st, 2), "seq",
                                        (json_int_t)sqlite3_column_int64(st, 3), "step",
                                        (const char *)sqlite3_column_text(st, 4), "state",
                                        (const char *)sqlite3_column_text(st, 5), "progress",
                                        bh__sq_column_json(st, 6), "error",
                                        (const char *)sqlite3_column_text(st, 7), "started_at",
                                        (const char *)sqlite3_column_text(st, 8), "finished_at",
                                        (const char *)sqlite3_column_text(st, 9)));
    }
    if (r != SQLITE_DONE)
        rc = bh__sq_fail(c, err, "read tasks");
    sqlite3_reset(st);
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        json_object_set_new(h, "state", json_string(host_state(json_object_get(h, "steps"))));
    }
    json_object_set_new(job, "state", json_string(job_state(hosts)));
    json_object_set_new(job, "hosts", hosts);
    if (rc)
        json_decref(job);
    else
        *out = job;
    return rc;
}

int bh__sq_job_get(void *impl, int64_t id, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    int rc = load_job(c, id, out, err);
    bh__sq_release(c);
    return rc;
}

int bh__sq_jobs(void *impl, int64_t before, int limit, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st =
        bh__sq_prepare(c, "SELECT id FROM jobs WHERE id < ? ORDER BY id DESC LIMIT ?", err);
    int rc = st ? 0 : BH_EIO;
    json_t *arr = json_array();
    if (st) {
        sqlite3_bind_int64(st, 1, before > 0 ? before : INT64_MAX);
        sqlite3_bind_int(st, 2, limit);
        int64_t ids[BH_LIST_MAX];
        int n = 0, r;
        while (n < BH_LIST_MAX && (r = sqlite3_step(st)) == SQLITE_ROW)
            ids[n++] = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        for (int i = 0; !rc && i < n; i++) {
            json_t *job = NULL;
            rc = load_job(c, ids[i], &job, err);
            if (rc)
                break;
            /* the list shows counts, not every step */
            json_t *counts = json_object();
            size_t k;
            json_t *h;
            json_array_foreach(json_object_get(job, "hosts"), k, h)
            {
                const char *s = json_string_value(json_object_get(h, "state"));
                json_object_set_new(
                    counts, s, json_integer(json_integer_value(json_object_get(counts, s)) + 1));
            }
            json_object_set_new(job, "host_states", counts);
            json_object_set_new(
                job, "host_count",
                json_integer((json_int_t)json_array_size(json_object_get(job, "hosts"))));
            json_object_del(job, "hosts");
            json_array_append_new(arr, job);
        }
    }
    bh__sq_release(c);
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

/* ---- writing ------------------------------------------------------------- */

static int touch_job(struct sq_conn *c, int64_t id, int64_t rev, struct bh_err *err)
{
    char ts[BH_TIME_STRLEN];
    now_ts(ts);
    sqlite3_stmt *st =
        bh__sq_prepare(c, "UPDATE jobs SET rev = ?, updated_at = ? WHERE id = ?", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, rev);
    sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, id);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "update job");
    if (!rc && sqlite3_changes(c->db) == 0)
        rc = bh_err_set(err, BH_ENOTFOUND, "job", "no job %lld", (long long)id);
    sqlite3_reset(st);
    return rc;
}

/* The event's news of one task, so a watcher can redraw that host
 * without reading the job again: {task: {id, host, name, step, state,
 * progress, error, eta_s}, host_state}; NULL if the job has no such task. */
static json_t *task_news(const json_t *job, int64_t task)
{
    size_t i, k;
    json_t *h, *t;
    json_array_foreach(json_object_get(job, "hosts"), i, h)
    {
        json_array_foreach(json_object_get(h, "steps"), k, t)
        {
            if (json_integer_value(json_object_get(t, "task")) != task)
                continue;
            const char *state = json_string_value(json_object_get(t, "state"));
            int64_t eta = state && !strcmp(state, "running")
                              ? bh_progress_eta_s(json_object_get(t, "progress"))
                              : -1;
            json_t *progress = json_object_get(t, "progress"), *error = json_object_get(t, "error");
            return json_pack(
                "{s:{s:I, s:O, s:O, s:O, s:O, s:O, s:O, s:o}, s:O}", "task", "id", (json_int_t)task,
                "host", json_object_get(h, "mac"), "name",
                json_object_get(h, "name") ? json_object_get(h, "name") : json_null(), "step",
                json_object_get(t, "step"), "state", json_object_get(t, "state"), "progress",
                progress ? progress : json_null(), "error", error ? error : json_null(), "eta_s",
                eta >= 0 ? json_integer(eta) : json_null(), "host_state",
                json_object_get(h, "state"));
        }
    }
    return NULL;
}

/* finish a write: the job as it is now, as the event's data (with the
 * news of task when it is not 0) */
static int job_write_end(struct sq *q, int64_t rev, int64_t id, const char *type, int64_t task,
                         const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    json_t *job = NULL;
    char key[32];
    snprintf(key, sizeof(key), "%lld", (long long)id);
    int rc = load_job(&q->writer, id, &job, err);
    if (!rc) {
        json_t *data = json_pack("{s:I, s:O, s:I}", "id", (json_int_t)id, "state",
                                 json_object_get(job, "state"), "hosts",
                                 (json_int_t)json_array_size(json_object_get(job, "hosts")));
        json_t *news = task ? task_news(job, task) : NULL;
        if (news)
            json_object_update(data, news);
        json_decref(news);
        if (!strcmp(type, "created")) /* what was asked, shell commands too, is audited */
            json_object_set(data, "spec", json_object_get(job, "spec"));
        rc = bh__sq_record(q, rev, "job", key, type, NULL, data, a, strcmp(type, "progress") != 0,
                           err);
        json_decref(data);
    }
    if (rc) {
        json_decref(job);
        bh__sq_rollback(q);
        return rc;
    }
    rc = bh__sq_commit(q, rev, err);
    if (!rc && out)
        *out = job;
    else
        json_decref(job);
    return rc;
}

int bh__sq_job_create(void *impl, const json_t *spec, const json_t *macs, const struct bh_actor *a,
                      json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev, id = 0;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    char ts[BH_TIME_STRLEN];
    now_ts(ts);
    sqlite3_stmt *st = bh__sq_prepare(c,
                                      "INSERT INTO jobs (rev, state, spec, created_by, created_at, "
                                      "updated_at) VALUES (?, 'queued', ?, ?, ?, ?) RETURNING id",
                                      err);
    if (!st)
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, rev);
        bh__sq_bind_json_text(st, 2, spec);
        sqlite3_bind_text(st, 3, a && a->name ? a->name : "system", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, ts, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 5, ts, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) == SQLITE_ROW)
            id = sqlite3_column_int64(st, 0);
        else
            rc = bh__sq_fail(c, err, "create job");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    const json_t *steps = json_object_get(spec, "steps");
    st = rc ? NULL
            : bh__sq_prepare(c,
                             "INSERT INTO tasks (job_id, host_id, seq, step, state) "
                             "SELECT ?, id, ?, ?, 'queued' FROM hosts WHERE mac = ?",
                             err);
    if (!rc && !st)
        rc = BH_EIO;
    size_t i, k;
    json_t *mac, *step;
    json_array_foreach(macs, i, mac)
    {
        json_array_foreach(steps, k, step)
        {
            if (rc)
                break;
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)k);
            sqlite3_bind_text(st, 3, json_string_value(step), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 4, json_string_value(mac), -1, SQLITE_TRANSIENT);
            if (sqlite3_step(st) != SQLITE_DONE)
                rc = bh__sq_fail(c, err, "create task");
            else if (sqlite3_changes(c->db) != 1)
                rc = bh_err_set(err, BH_ENOREF, "targets", "no host with MAC %s",
                                json_string_value(mac));
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
    }
    if (rc) {
        bh__sq_rollback(q);
        return rc;
    }
    return job_write_end(q, rev, id, "created", 0, a, out, err);
}

/* Apply sql (binding ?1 = job id) and record type. */
static int job_change(struct sq *q, int64_t id, const char *const *sql, size_t nsql,
                      const char *type, const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    int64_t rev;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    rc = touch_job(c, id, rev, err);
    char ts[BH_TIME_STRLEN];
    now_ts(ts);
    for (size_t i = 0; !rc && i < nsql; i++) {
        sqlite3_stmt *st = bh__sq_prepare(c, sql[i], err);
        if (!st) {
            rc = BH_EIO;
            break;
        }
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_bind_parameter_count(st) >= 2)
            sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, type);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (rc) {
        bh__sq_rollback(q);
        return rc;
    }
    return job_write_end(q, rev, id, type, 0, a, out, err);
}

int bh__sq_job_cancel(void *impl, int64_t id, const struct bh_actor *a, json_t **out,
                      struct bh_err *err)
{
    static const char *const sql[] = {
        "UPDATE tasks SET state = 'cancelled', finished_at = ?2, updated_at = ?2 WHERE job_id = "
        "?1 AND state IN ('queued', 'running')",
    };
    return job_change(impl, id, sql, 1, "cancelled", a, out, err);
}

int bh__sq_job_retry(void *impl, int64_t id, const struct bh_actor *a, json_t **out,
                     struct bh_err *err)
{
    /* every step of a host from its first unfinished one runs again */
    static const char *const sql[] = {
        "UPDATE tasks SET state = 'queued', error = NULL, progress = NULL, started_at = NULL, "
        "finished_at = NULL, claim = NULL, updated_at = ?2 WHERE job_id = ?1 AND state IN "
        "('failed', 'cancelled')",
    };
    return job_change(impl, id, sql, 1, "retried", a, out, err);
}

/* the host's running step (with queued: or queued one) whose text begins
 * with prefix: {task, job, step, state} or JSON null */
int bh__sq_task_find(void *impl, const char *mac, const char *prefix, bool queued, json_t **out,
                     struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st =
        bh__sq_prepare(c,
                       "SELECT t.id, t.job_id, t.step, t.state, t.claim FROM tasks t JOIN hosts h "
                       "ON h.id = t.host_id WHERE h.mac = ?1 AND (t.state = 'running' "
                       "OR (?3 AND t.state = 'queued')) AND substr(t.step, 1, "
                       "length(?2)) = ?2 ORDER BY t.id LIMIT 1",
                       err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, prefix, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, queued);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            *out = json_pack("{s:I, s:I, s:s, s:s, s:s?}", "task",
                             (json_int_t)sqlite3_column_int64(st, 0), "job",
                             (json_int_t)sqlite3_column_int64(st, 1), "step",
                             (const char *)sqlite3_column_text(st, 2), "state",
                             (const char *)sqlite3_column_text(st, 3), "claim",
                             (const char *)sqlite3_column_text(st, 4));
        else if (r == SQLITE_DONE)
            *out = json_null();
        else
            rc = bh__sq_fail(c, err, "running task");
        sqlite3_reset(st);
    }
    bh__sq_release(c);
    return rc;
}

/* at:TIME jobs with wake whose time has come and whose hosts were not woken
 * yet: their ids */
int bh__sq_jobs_wake_due(void *impl, int64_t now_ms, json_t **ids, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st = bh__sq_prepare(
        c,
        "SELECT j.id FROM jobs j WHERE json_extract(j.spec, '$.wake') AND "
        "json_extract(j.spec, '$.start_ms') <= ?1 AND json_extract(j.spec, '$.woke') IS NULL "
        "AND EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id AND t.state = 'queued') "
        "ORDER BY j.id LIMIT 100",
        err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, now_ms);
        *ids = json_array();
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW)
            json_array_append_new(*ids, json_integer(sqlite3_column_int64(st, 0)));
        if (r != SQLITE_DONE) {
            rc = bh__sq_fail(c, err, "jobs due");
            json_decref(*ids);
            *ids = NULL;
        }
        sqlite3_reset(st);
    }
    bh__sq_release(c);
    return rc;
}

int bh__sq_job_woken(void *impl, int64_t id, const json_t *report, const struct bh_actor *a,
                     json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev;
    char *text = report ? json_dumps(report, JSON_COMPACT) : NULL;
    if (report && !text)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    int rc = bh__sq_begin(q, &rev, err);
    if (rc) {
        free(text);
        return rc;
    }
    struct sq_conn *c = &q->writer;
    rc = touch_job(c, id, rev, err);
    sqlite3_stmt *st =
        rc ? NULL
           : bh__sq_prepare(
                 c, "UPDATE jobs SET spec = json_set(spec, '$.woke', json(?2)) WHERE id = ?1", err);
    if (!rc && !st)
        rc = BH_EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_bind_text(st, 2, text ? text : "true", -1, SQLITE_TRANSIENT) != SQLITE_OK)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "woken: out of memory");
        else
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "woken");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    free(text);
    if (rc) {
        bh__sq_rollback(q);
        return rc;
    }
    return job_write_end(q, rev, id, "woken", 0, a, out, err);
}

/* SQL: task t (a row of tasks) may start as far as its job's parallel limit
 * goes: no limit, or t's host has begun the job already, or fewer than
 * parallel other hosts are in the middle of it (a step running, or done
 * with more to come). */
#define PARALLEL_OK                                                                                \
    "(coalesce(json_extract((SELECT spec FROM jobs WHERE id = t.job_id), '$.parallel'), 0) = 0 "   \
    "OR t.seq > 0 OR t.state = 'running' OR (SELECT count(DISTINCT o.host_id) FROM tasks o "       \
    "WHERE o.job_id = t.job_id AND o.host_id <> t.host_id AND (o.state = 'running' OR "            \
    "(o.state = 'done' AND EXISTS (SELECT 1 FROM tasks w WHERE w.job_id = o.job_id AND "           \
    "w.host_id = o.host_id AND w.state = 'queued')))) < "                                          \
    "json_extract((SELECT spec FROM jobs WHERE id = t.job_id), '$.parallel'))"

/* ---- the agent's side ---------------------------------------------------- */

int bh__sq_task_next(void *impl, const char *mac, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    /* the oldest job with an unfinished step for this host whose earlier
     * steps are all done, and that may start:
     *   at:TIME     not before start_ms;
     *   next-boot   once the host has booted (an agent session began)
     *               after the job was made;
     *   parallel N  this host has begun the job already, or fewer than N
     *               other hosts are in the middle of it */
    sqlite3_stmt *st = bh__sq_prepare(
        c,
        "SELECT t.id, t.job_id, t.seq, t.step, t.state FROM tasks t JOIN hosts h ON "
        "h.id = t.host_id JOIN jobs j ON j.id = t.job_id WHERE h.mac = ?1 AND t.state IN "
        "('queued', 'running') AND NOT EXISTS (SELECT 1 FROM tasks p WHERE p.job_id = t.job_id "
        "AND p.host_id = t.host_id AND p.seq < t.seq AND p.state <> 'done') "
        "AND coalesce(json_extract(j.spec, '$.start_ms'), 0) <= ?2 "
        "AND (coalesce(json_extract(j.spec, '$.when'), 'now') <> 'next-boot' OR EXISTS (SELECT 1 "
        "FROM "
        "agent_sessions s WHERE s.host_id = h.id AND s.created_at >= j.created_at)) "
        "AND " PARALLEL_OK " "
        "ORDER BY t.job_id, t.seq LIMIT 1",
        err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, bh_wall_ms());
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            *out = json_pack("{s:I, s:I, s:I, s:s, s:s}", "task",
                             (json_int_t)sqlite3_column_int64(st, 0), "job",
                             (json_int_t)sqlite3_column_int64(st, 1), "seq",
                             (json_int_t)sqlite3_column_int64(st, 2), "step",
                             (const char *)sqlite3_column_text(st, 3), "state",
                             (const char *)sqlite3_column_text(st, 4));
        else if (r == SQLITE_DONE)
            *out = json_null();
        else
            rc = bh__sq_fail(c, err, "next task");
        sqlite3_reset(st);
    }
    bh__sq_release(c);
    return rc;
}

/* The claim rule (store.h): 0 if session may report rep->state on task,
 * BH_ECONFLICT "claimed" if another live session holds it.  A task that is
 * not the host's passes here and fails in the update. */
static int check_claim(struct sq_conn *c, int64_t task, const struct bh_task_report *rep,
                       struct bh_err *err)
{
    if (!rep->session)
        return 0;
    sqlite3_stmt *st =
        bh__sq_prepare(c,
                       "SELECT t.claim, coalesce((SELECT s.expires_ms > ?3 FROM agent_sessions s "
                       "WHERE s.tid = t.claim), 0) FROM tasks t JOIN hosts h ON h.id = t.host_id "
                       "WHERE t.id = ?1 AND h.mac = ?2",
                       err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, task);
    sqlite3_bind_text(st, 2, rep->mac, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, bh_wall_ms());
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        const char *holder = (const char *)sqlite3_column_text(st, 0);
        bool live = sqlite3_column_int(st, 1) != 0;
        /* a session that ended (the host booted again) leaves its task to
         * the next one that starts it */
        if (strcmp(holder, rep->session) != 0 && (live || strcmp(rep->state, "running") != 0)) {
            rc = bh_err_set(err, BH_ECONFLICT, "task",
                            "task %lld is claimed by agent session %s%s; this session (%s) "
                            "may not report on it",
                            (long long)task, holder, live ? "" : ", which has ended", rep->session);
            err->type = "claimed";
        }
    } else if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = bh__sq_fail(c, err, "task claim");
    }
    sqlite3_reset(st);
    return rc;
}

int bh__sq_task_update(void *impl, int64_t task, const struct bh_task_report *rep,
                       const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev, job = 0;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    char ts[BH_TIME_STRLEN];
    now_ts(ts);
    rc = check_claim(c, task, rep, err);
    /* only the host's own task, and only forward: queued -> running ->
     * done | failed; a cancelled task stays cancelled */
    sqlite3_stmt *st =
        rc ? NULL
           : bh__sq_prepare(
                 c,
                 "UPDATE tasks AS t SET state = ?3, progress = "
                 "coalesce(?4, progress), error = ?5, started_at = "
                 "coalesce(started_at, ?6), finished_at = CASE WHEN ?3 IN "
                 "('done', 'failed') THEN ?6 ELSE finished_at END, claim = "
                 "coalesce(?7, claim), updated_at = ?6 WHERE id = ?1 AND host_id = (SELECT "
                 "id FROM hosts WHERE mac = ?2) AND (state = 'queued' OR "
                 "(state = 'running' AND ?3 <> 'queued')) AND (t.state <> "
                 "'queued' OR ?3 <> 'running' OR " PARALLEL_OK ") RETURNING job_id",
                 err);
    if (!rc && !st)
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, task);
        sqlite3_bind_text(st, 2, rep->mac, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, rep->state, -1, SQLITE_TRANSIENT);
        bh__sq_bind_json_text(st, 4, rep->progress);
        if (rep->error)
            sqlite3_bind_text(st, 5, rep->error, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 5);
        sqlite3_bind_text(st, 6, ts, -1, SQLITE_TRANSIENT);
        if (rep->session)
            sqlite3_bind_text(st, 7, rep->session, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 7);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            job = sqlite3_column_int64(st, 0);
        else if (r == SQLITE_DONE)
            rc = bh_err_set(err, BH_ECONFLICT, "task",
                            "task %lld is not this host's, is finished or cancelled, or its "
                            "job's parallel limit is reached",
                            (long long)task);
        else
            rc = bh__sq_fail(c, err, "update task");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    /* a failed step stops this host: its later steps are cancelled */
    if (!rc && !strcmp(rep->state, "failed")) {
        st = bh__sq_prepare(
            c,
            "UPDATE tasks SET state = 'cancelled', finished_at = ?2, updated_at = "
            "?2 WHERE job_id = ?1 AND host_id = (SELECT host_id FROM tasks WHERE id = "
            "?3) AND seq > "
            "(SELECT seq FROM tasks WHERE id = ?3) AND state = 'queued'",
            err);
        if (!st)
            rc = BH_EIO;
        else {
            sqlite3_bind_int64(st, 1, job);
            sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 3, task);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "stop host");
            sqlite3_reset(st);
        }
    }
    if (!rc)
        rc = touch_job(c, job, rev, err);
    if (rc) {
        bh__sq_rollback(q);
        return rc;
    }
    return job_write_end(q, rev, job,
                         strcmp(rep->state, "running") || !rep->progress ? rep->state : "progress",
                         task, a, out, err);
}

/* ---- agent sessions ------------------------------------------------------ */

/* exec sql with ?1 = now (ms), ?2 = mac and ?3 = n (as far as it has them) */
static int session_exec(struct sq_conn *c, const char *sql, const char *mac, int64_t n,
                        struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(c, sql, err);
    if (!st)
        return BH_EIO;
    int np = sqlite3_bind_parameter_count(st);
    sqlite3_bind_int64(st, 1, bh_wall_ms());
    if (np >= 2)
        sqlite3_bind_text(st, 2, mac, -1, SQLITE_TRANSIENT);
    if (np >= 3)
        sqlite3_bind_int64(st, 3, n);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "agent sessions");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* one statement on the writer, outside any transaction: bookkeeping that
 * needs no revision (renew, end) */
static int session_write(struct sq *q, const char *sql, const char *mac, int64_t n, int *changes,
                         struct bh_err *err)
{
    struct sq_conn *c = &q->writer;
    pthread_mutex_lock(&c->mu);
    int rc = session_exec(c, sql, mac, n, err);
    if (changes)
        *changes = sqlite3_changes(c->db);
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int bh__sq_agent_login(void *impl, const struct bh_agent_login *l, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    char ts[BH_TIME_STRLEN];
    now_ts(ts);
    /* forget run-out tickets and sessions; end the host's earlier sessions
     * (this is a new boot); the nonce makes a ticket work once */
    rc = session_exec(c, "DELETE FROM agent_nonces WHERE expires_ms <= ?1", NULL, 0, err);
    if (!rc)
        rc = session_exec(c, "DELETE FROM agent_sessions WHERE expires_ms <= ?1", NULL, 0, err);
    if (!rc)
        rc = session_exec(c,
                          "UPDATE agent_sessions SET expires_ms = 0 WHERE expires_ms > ?1 AND "
                          "host_id = (SELECT id FROM hosts WHERE mac = ?2)",
                          l->mac, 0, err);
    sqlite3_stmt *st = NULL;
    if (!rc && !(st = bh__sq_prepare(
                     c, "INSERT INTO agent_nonces (nonce, expires_ms) VALUES (?, ?)", err)))
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_text(st, 1, l->nonce, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, l->ticket_expires_ms);
        int r = sqlite3_step(st);
        if ((r & 0xff) == SQLITE_CONSTRAINT) /* a ticket used twice */
            rc = bh_err_set(err, BH_EAUTH, "ticket",
                            "this ticket was used already: boot the machine again for a new one");
        else if (r != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "ticket nonce");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (!rc &&
        !(st = bh__sq_prepare(c,
                              "INSERT INTO agent_sessions (tid, host_id, nonce, hash, "
                              "expires_ms, created_at, created_ms) SELECT ?, id, ?, ?, ?, ?, "
                              "? FROM hosts WHERE mac = ?",
                              err)))
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_text(st, 1, l->tid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, l->nonce, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 3, l->hash, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, l->expires_ms);
        sqlite3_bind_text(st, 5, ts, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 6, l->now_ms);
        sqlite3_bind_text(st, 7, l->mac, -1, SQLITE_TRANSIENT);
        int r = sqlite3_step(st);
        if (r != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "agent session");
        else if (sqlite3_changes(c->db) == 0)
            rc = bh_err_set(err, BH_ENOTFOUND, "mac", "no host with MAC %s", l->mac);
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (!rc) {
        struct bh_actor a = {"agent", l->tid, NULL};
        rc = bh__sq_record(q, rev, "host", l->mac, "agent.hello", NULL, l->inventory, &a, false,
                           err);
    }
    if (rc) {
        bh__sq_rollback(q);
        return rc;
    }
    return bh__sq_commit(q, rev, err);
}

int bh__sq_agent_renew(void *impl, const char *tid, int64_t expires_ms, struct bh_err *err)
{
    int changes = 0;
    int rc = session_write(impl,
                           "UPDATE agent_sessions SET expires_ms = ?3 WHERE tid = ?2 AND "
                           "expires_ms > ?1",
                           tid, expires_ms, &changes, err);
    if (!rc && !changes)
        rc = bh_err_set(err, BH_ENOTFOUND, "token", "the agent session has ended");
    return rc;
}

int bh__sq_agent_end(void *impl, const char *mac, int64_t boot_ms, struct bh_err *err)
{
    return session_write(impl,
                         "UPDATE agent_sessions SET expires_ms = 0 WHERE expires_ms > ?1 AND "
                         "created_ms < ?3 AND host_id = (SELECT id FROM hosts WHERE mac = ?2)",
                         mac, boot_ms, NULL, err);
}

int bh__sq_agent_session(void *impl, const char *tid, char mac[BH_MAC_STRLEN], char hash[65],
                         int64_t *expires_ms, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st = bh__sq_prepare(c,
                                      "SELECT h.mac, s.hash, s.expires_ms FROM agent_sessions s "
                                      "JOIN hosts h ON h.id = s.host_id WHERE s.tid = ?",
                                      err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, tid, -1, SQLITE_TRANSIENT);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            snprintf(mac, 18, "%s", (const char *)sqlite3_column_text(st, 0));
            snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(st, 1));
            *expires_ms = sqlite3_column_int64(st, 2);
        } else if (r == SQLITE_DONE) {
            rc = bh_err_set(err, BH_ENOTFOUND, "token", "no such agent session");
        } else {
            rc = bh__sq_fail(c, err, "agent session");
        }
        sqlite3_reset(st);
    }
    bh__sq_release(c);
    return rc;
}
