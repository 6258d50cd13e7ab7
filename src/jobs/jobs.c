/*
 * jobs.c - the job rules applied over the store (see jobs.h).
 */
#include "jobs.h"

#include "rules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cancel_edit(void *ctx, struct bh_job_tasks *jt, struct bh_err *err)
{
    (void)ctx;
    (void)err;
    for (size_t i = 0; i < jt->n; i++)
        if (bh_task_cancels(jt->rows[i].state)) {
            jt->rows[i].state = BH_TASK_CANCELLED;
            jt->rows[i].changed = true;
        }
    jt->type = "cancelled";
    return 0;
}

static int retry_edit(void *ctx, struct bh_job_tasks *jt, struct bh_err *err)
{
    (void)ctx;
    (void)err;
    for (size_t i = 0; i < jt->n; i++)
        if (bh_task_retries(jt->rows[i].state)) {
            jt->rows[i].state = BH_TASK_QUEUED;
            jt->rows[i].changed = true;
        }
    jt->type = "retried";
    return 0;
}

int bh_jobs_cancel(struct bh_store *s, int64_t id, const struct bh_actor *a, json_t **out,
                   struct bh_err *err)
{
    return bh_store_job_edit(s, id, 0, cancel_edit, NULL, a, out, err);
}

int bh_jobs_retry(struct bh_store *s, int64_t id, const struct bh_actor *a, json_t **out,
                  struct bh_err *err)
{
    return bh_store_job_edit(s, id, 0, retry_edit, NULL, a, out, err);
}

static int64_t parallel_of(const json_t *spec)
{
    return json_integer_value(json_object_get(spec, "parallel"));
}

/* the row of task id in jt, or NULL */
static struct bh_task_row *row_of(struct bh_job_tasks *jt, int64_t id)
{
    for (size_t i = 0; i < jt->n; i++)
        if (jt->rows[i].id == id)
            return &jt->rows[i];
    return NULL;
}

static int refuse(int64_t task, struct bh_err *err)
{
    return bh_err_set(err, BH_ECONFLICT, "task",
                      "task %lld is not this host's, is finished or cancelled, or its job's "
                      "parallel limit is reached",
                      (long long)task);
}

struct report_ctx {
    const struct bh_task_report *rep;
    enum bh_task_state to;
};

static int report_edit(void *ctx, struct bh_job_tasks *jt, struct bh_err *err)
{
    const struct report_ctx *rc = ctx;
    const struct bh_task_report *rep = rc->rep;
    struct bh_task_row *t = row_of(jt, jt->task);
    if (!t || strcmp(t->mac, rep->mac))
        return refuse(jt->task, err);
    if (!bh_task_claim_ok(t, rep->session, rc->to)) {
        bh_err_set(err, BH_ECONFLICT, "task",
                   "task %lld is claimed by agent session %s%s; this session (%s) may not "
                   "report on it",
                   (long long)t->id, t->claim, t->claim_live ? "" : ", which has ended",
                   rep->session);
        err->type = "claimed";
        return BH_ECONFLICT;
    }
    if (!bh_task_report_ok(t->state, rc->to))
        return refuse(t->id, err);
    if (t->state == BH_TASK_QUEUED && rc->to == BH_TASK_RUNNING &&
        !bh_task_may_start(jt->rows, jt->n, t, parallel_of(jt->spec)))
        return refuse(t->id, err);
    t->state = rc->to;
    t->changed = true;
    t->progress = rep->progress;
    t->error = rep->error;
    t->set_claim = rep->session;
    if (rc->to == BH_TASK_FAILED) { /* a failed step stops this host */
        size_t *cancel = malloc(jt->n * sizeof(*cancel));
        if (!cancel)
            return bh_err_set(err, BH_ENOMEM, NULL, "task report: out of memory");
        size_t k = bh_fail_cascade(jt->rows, jt->n, t, cancel);
        for (size_t i = 0; i < k; i++) {
            jt->rows[cancel[i]].state = BH_TASK_CANCELLED;
            jt->rows[cancel[i]].changed = true;
        }
        free(cancel);
    }
    jt->type = rc->to == BH_TASK_RUNNING && rep->progress ? "progress" : rep->state;
    return 0;
}

int bh_jobs_report(struct bh_store *s, int64_t task, const struct bh_task_report *rep,
                   const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    struct report_ctx ctx = {rep, BH_TASK_QUEUED};
    if (bh_task_state_parse(rep->state, &ctx.to) || !bh_task_report_ok(BH_TASK_QUEUED, ctx.to))
        return bh_err_set(err, BH_EINVAL, "state", "a task report is running, done or failed");
    int rc = bh_store_job_edit(s, 0, task, report_edit, &ctx, a, out, err);
    if (rc == BH_ENOTFOUND) /* no such task: not this host's either */
        rc = refuse(task, err);
    return rc;
}

/* The next task of the host (named by mac) in open job j, or NULL. */
static int next_in(struct bh_store *s, const json_t *j, const char *mac, json_t **out,
                   struct bh_err *err)
{
    struct bh_job_tasks jt;
    int64_t id = json_integer_value(json_object_get(j, "job"));
    int rc = bh_store_job_tasks(s, id, &jt, err);
    if (rc)
        return rc == BH_ENOTFOUND ? 0 : rc; /* deleted meanwhile */
    const struct bh_task_row *next = NULL;
    for (size_t i = 0; i < jt.n; i++)
        if (!strcmp(jt.rows[i].mac, mac)) {
            next = bh_host_next(jt.rows, jt.n, jt.rows[i].host);
            break;
        }
    if (next && bh_task_may_start(jt.rows, jt.n, next, parallel_of(jt.spec))) {
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(j, "tasks"), i, t)
        {
            if (json_integer_value(json_object_get(t, "task")) != next->id)
                continue;
            *out = json_pack("{s:I, s:I, s:I, s:O, s:s}", "task", (json_int_t)next->id, "job",
                             (json_int_t)id, "seq", (json_int_t)next->seq, "step",
                             json_object_get(t, "step"), "state", bh_task_state_name(next->state));
            break;
        }
    }
    bh_job_tasks_free(&jt);
    return 0;
}

int bh_jobs_next(struct bh_store *s, const char *mac, int64_t now_ms, json_t **out,
                 struct bh_err *err)
{
    json_t *jobs = NULL, *found = NULL;
    int rc = bh_store_host_open_jobs(s, mac, &jobs, err);
    size_t i;
    json_t *j;
    json_array_foreach(jobs, i, j)
    {
        const json_t *spec = json_object_get(j, "spec");
        const char *when = json_string_value(json_object_get(spec, "when"));
        if (json_integer_value(json_object_get(spec, "start_ms")) > now_ms)
            continue; /* at:TIME, not yet */
        if (when && !strcmp(when, "next-boot") && !json_is_true(json_object_get(j, "booted")))
            continue; /* the host has not booted since */
        rc = next_in(s, j, mac, &found, err);
        if (rc || found)
            break;
    }
    json_decref(jobs);
    if (!rc)
        *out = found ? found : json_null();
    return rc;
}
