/*
 * sqlite_jobs.c - jobs and their tasks in the SQLite backend.
 *
 * The backend stores and queries: jobs, task rows, agent sessions.  Host
 * and job states are derived when read (model/jobstate.h); what may change
 * a task (reports, cancel, retry, the parallel limit, what runs next) is
 * decided in src/jobs, which changes rows through bh_store_job_edit.
 */
#include "sqlite_int.h"

#include "core/timeutil.h"
#include "model/console.h"
#include "model/steps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void now_ts(char ts[BH_TIME_STRLEN])
{
    bh_time_format(bh_wall_ms(), ts);
}

/* ---- reading ------------------------------------------------------------- */

/* a host's state, from its steps ({state}, at most BH_STEPS_MAX) */
static enum bh_run_state host_state(const json_t *steps)
{
    enum bh_task_state ts[BH_STEPS_MAX];
    size_t i, n = 0;
    json_t *t;
    json_array_foreach(steps, i, t)
    {
        if (n < BH_STEPS_MAX &&
            !bh_task_state_parse(json_string_value(json_object_get(t, "state")), &ts[n]))
            n++;
    }
    return bh_host_state(ts, n);
}

/* set each host's state and the job's from the task states */
static int set_states(json_t *job, json_t *hosts, struct bh_err *err)
{
    size_t i, n = json_array_size(hosts);
    enum bh_run_state *hs = malloc((n ? n : 1) * sizeof(*hs));
    if (!hs)
        return bh_err_set(err, BH_ENOMEM, NULL, "job states: out of memory");
    json_t *h;
    json_array_foreach(hosts, i, h)
    {
        hs[i] = host_state(json_object_get(h, "steps"));
        json_object_set_new(h, "state", json_string(bh_run_state_name(hs[i])));
    }
    json_object_set_new(job, "state", json_string(bh_run_state_name(bh_job_state(hs, n))));
    free(hs);
    return 0;
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
    if (!rc)
        rc = set_states(job, hosts, err);
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

/* ---- a job's tasks, read and written for src/jobs ------------------------ */

/* read job's spec and task rows into jt (zeroed; free with bh_job_tasks_free) */
static int read_tasks(struct sq_conn *c, int64_t job, struct bh_job_tasks *jt, struct bh_err *err)
{
    memset(jt, 0, sizeof(*jt));
    jt->job = job;
    sqlite3_stmt *st = bh__sq_prepare(c, "SELECT spec FROM jobs WHERE id = ?", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, job);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW)
        jt->spec = bh__sq_column_json(st, 0);
    else if (r == SQLITE_DONE)
        rc = bh_err_set(err, BH_ENOTFOUND, "job", "no job %lld", (long long)job);
    else
        rc = bh__sq_fail(c, err, "read job");
    sqlite3_reset(st);
    if (rc)
        return rc;
    st = bh__sq_prepare(c,
                        "SELECT t.id, t.host_id, t.seq, t.state, h.mac, t.claim, "
                        "coalesce((SELECT s.expires_ms > ?2 FROM agent_sessions s WHERE s.tid = "
                        "t.claim), 0) FROM tasks t JOIN hosts h ON h.id = t.host_id WHERE "
                        "t.job_id = ?1 ORDER BY h.mac, t.seq",
                        err);
    if (!st) {
        bh_job_tasks_free(jt);
        return BH_EIO;
    }
    sqlite3_bind_int64(st, 1, job);
    sqlite3_bind_int64(st, 2, bh_wall_ms());
    size_t cap = 0;
    while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
        if (jt->n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            struct bh_task_row *nr = realloc(jt->rows, ncap * sizeof(*nr));
            if (!nr) {
                rc = bh_err_set(err, BH_ENOMEM, NULL, "job tasks: out of memory");
                break;
            }
            jt->rows = nr;
            cap = ncap;
        }
        struct bh_task_row *t = &jt->rows[jt->n];
        memset(t, 0, sizeof(*t));
        t->id = sqlite3_column_int64(st, 0);
        t->job = job;
        t->host = sqlite3_column_int64(st, 1);
        t->seq = sqlite3_column_int(st, 2);
        if (bh_task_state_parse((const char *)sqlite3_column_text(st, 3), &t->state))
            rc = bh_err_set(err, BH_EIO, "task", "task %lld has no valid state", (long long)t->id);
        snprintf(t->mac, sizeof(t->mac), "%s", (const char *)sqlite3_column_text(st, 4));
        if (sqlite3_column_type(st, 5) != SQLITE_NULL)
            snprintf(t->claim, sizeof(t->claim), "%s", (const char *)sqlite3_column_text(st, 5));
        t->claim_live = sqlite3_column_int(st, 6) != 0;
        jt->n++;
    }
    if (!rc && r != SQLITE_DONE)
        rc = bh__sq_fail(c, err, "read tasks");
    sqlite3_reset(st);
    if (rc)
        bh_job_tasks_free(jt);
    return rc;
}

/* write a changed row: what its new state means for its times (store.h) */
static int write_row(struct sq_conn *c, const struct bh_task_row *t, const char *ts,
                     struct bh_err *err)
{
    const char *sql;
    if (t->state == BH_TASK_QUEUED)
        sql = "UPDATE tasks SET state = 'queued', error = NULL, progress = NULL, started_at = "
              "NULL, finished_at = NULL, claim = NULL, updated_at = ?2 WHERE id = ?1";
    else if (t->state == BH_TASK_CANCELLED)
        sql = "UPDATE tasks SET state = 'cancelled', finished_at = ?2, updated_at = ?2 WHERE "
              "id = ?1";
    else
        sql = "UPDATE tasks SET state = ?3, progress = coalesce(?4, progress), error = ?5, "
              "started_at = coalesce(started_at, ?2), finished_at = CASE WHEN ?3 IN ('done', "
              "'failed') THEN ?2 ELSE finished_at END, claim = coalesce(?6, claim), updated_at = "
              "?2 WHERE id = ?1";
    sqlite3_stmt *st = bh__sq_prepare(c, sql, err);
    if (!st)
        return BH_EIO;
    int rc = 0;
    if (sqlite3_bind_int64(st, 1, t->id) || sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT))
        rc = bh__sq_fail(c, err, "task row");
    if (!rc && sqlite3_bind_parameter_count(st) > 2 &&
        (sqlite3_bind_text(st, 3, bh_task_state_name(t->state), -1, SQLITE_STATIC) ||
         bh__sq_bind_json_text(st, 4, t->progress) ||
         (t->error ? sqlite3_bind_text(st, 5, t->error, -1, SQLITE_TRANSIENT)
                   : sqlite3_bind_null(st, 5)) ||
         (t->set_claim ? sqlite3_bind_text(st, 6, t->set_claim, -1, SQLITE_TRANSIENT)
                       : sqlite3_bind_null(st, 6))))
        rc = bh__sq_fail(c, err, "task row");
    if (!rc && sqlite3_step(st) != SQLITE_DONE)
        rc = bh__sq_fail(c, err, "update task");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int job_of_task(struct sq_conn *c, int64_t task, int64_t *job, struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(c, "SELECT job_id FROM tasks WHERE id = ?", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, task);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW)
        *job = sqlite3_column_int64(st, 0);
    else if (r == SQLITE_DONE)
        rc = bh_err_set(err, BH_ENOTFOUND, "task", "no task %lld", (long long)task);
    else
        rc = bh__sq_fail(c, err, "read task");
    sqlite3_reset(st);
    return rc;
}

int bh__sq_job_edit(void *impl, int64_t job, int64_t task, bh_job_edit_fn edit, void *ctx,
                    const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    struct bh_job_tasks jt = {0};
    if (!job)
        rc = job_of_task(c, task, &job, err);
    if (!rc)
        rc = read_tasks(c, job, &jt, err);
    if (!rc) {
        jt.task = task;
        rc = edit(ctx, &jt, err);
    }
    if (!rc && !jt.type)
        rc = bh_err_set(err, BH_EINVAL, NULL, "a job edit named no event");
    char ts[BH_TIME_STRLEN];
    now_ts(ts);
    for (size_t i = 0; !rc && i < jt.n; i++)
        if (jt.rows[i].changed)
            rc = write_row(c, &jt.rows[i], ts, err);
    if (!rc)
        rc = touch_job(c, job, rev, err);
    if (rc) {
        bh_job_tasks_free(&jt);
        bh__sq_rollback(q);
        return rc;
    }
    rc = job_write_end(q, rev, job, jt.type, jt.task, a, out, err);
    bh_job_tasks_free(&jt);
    return rc;
}

int bh__sq_job_tasks(void *impl, int64_t job, struct bh_job_tasks *out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    int rc = read_tasks(c, job, out, err);
    bh__sq_release(c);
    return rc;
}

int bh__sq_host_open_jobs(void *impl, const char *mac, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st = bh__sq_prepare(
        c,
        "SELECT j.id, j.spec, EXISTS (SELECT 1 FROM agent_sessions s WHERE s.host_id = h.id AND "
        "s.created_at >= j.created_at), t.id, t.seq, t.step, t.state FROM tasks t JOIN hosts h "
        "ON h.id = t.host_id JOIN jobs j ON j.id = t.job_id WHERE h.mac = ?1 AND EXISTS (SELECT "
        "1 FROM tasks o WHERE o.job_id = t.job_id AND o.host_id = h.id AND o.state IN "
        "('queued', 'running')) ORDER BY t.job_id, t.seq",
        err);
    int rc = st ? 0 : BH_EIO, r = SQLITE_DONE;
    json_t *jobs = json_array(), *cur = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            json_int_t id = (json_int_t)sqlite3_column_int64(st, 0);
            if (!cur || json_integer_value(json_object_get(cur, "job")) != id) {
                cur =
                    json_pack("{s:I, s:o, s:b, s:[]}", "job", id, "spec", bh__sq_column_json(st, 1),
                              "booted", sqlite3_column_int(st, 2), "tasks");
                json_array_append_new(jobs, cur);
            }
            json_array_append_new(json_object_get(cur, "tasks"),
                                  json_pack("{s:I, s:I, s:s, s:s}", "task",
                                            (json_int_t)sqlite3_column_int64(st, 3), "seq",
                                            (json_int_t)sqlite3_column_int64(st, 4), "step",
                                            (const char *)sqlite3_column_text(st, 5), "state",
                                            (const char *)sqlite3_column_text(st, 6)));
        }
        if (r != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "open jobs");
        sqlite3_reset(st);
    }
    bh__sq_release(c);
    if (rc)
        json_decref(jobs);
    else
        *out = jobs;
    return rc;
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
            snprintf(mac, BH_MAC_STRLEN, "%s", (const char *)sqlite3_column_text(st, 0));
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
