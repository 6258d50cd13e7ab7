/*
 * rules.c - the job and task rules (see rules.h).
 */
#include "rules.h"

#include <string.h>

static const char *const task_names[] = {"queued", "running", "done", "failed", "cancelled"};

const char *bh_task_state_name(enum bh_task_state s)
{
    return (unsigned)s < sizeof(task_names) / sizeof(task_names[0]) ? task_names[s] : NULL;
}

int bh_task_state_parse(const char *name, enum bh_task_state *out)
{
    for (size_t i = 0; name && i < sizeof(task_names) / sizeof(task_names[0]); i++)
        if (!strcmp(name, task_names[i])) {
            *out = (enum bh_task_state)i;
            return 0;
        }
    return -1;
}

const char *bh_run_state_name(enum bh_run_state s)
{
    /* the run states are named as the task states of the same number */
    return bh_task_state_name((enum bh_task_state)s);
}

bool bh_task_report_ok(enum bh_task_state from, enum bh_task_state to)
{
    if (to == BH_TASK_QUEUED || to == BH_TASK_CANCELLED)
        return false; /* only the operator (retry, cancel) does these */
    return from == BH_TASK_QUEUED || from == BH_TASK_RUNNING;
}

bool bh_task_cancels(enum bh_task_state s)
{
    return s == BH_TASK_QUEUED || s == BH_TASK_RUNNING;
}

bool bh_task_retries(enum bh_task_state s)
{
    return s == BH_TASK_FAILED || s == BH_TASK_CANCELLED;
}

enum bh_run_state bh_host_state(const enum bh_task_state *tasks, size_t n)
{
    size_t done = 0;
    bool running = false, failed = false, cancelled = false;
    for (size_t i = 0; i < n; i++) {
        done += tasks[i] == BH_TASK_DONE;
        running |= tasks[i] == BH_TASK_RUNNING;
        failed |= tasks[i] == BH_TASK_FAILED;
        cancelled |= tasks[i] == BH_TASK_CANCELLED;
    }
    if (failed)
        return BH_RUN_FAILED;
    if (n && done == n)
        return BH_RUN_DONE;
    if (running)
        return BH_RUN_RUNNING;
    if (cancelled)
        return BH_RUN_CANCELLED;
    return done ? BH_RUN_RUNNING : BH_RUN_QUEUED;
}

enum bh_run_state bh_job_state(const enum bh_run_state *hosts, size_t n)
{
    size_t done = 0, failed = 0, cancelled = 0, queued = 0;
    for (size_t i = 0; i < n; i++) {
        done += hosts[i] == BH_RUN_DONE;
        failed += hosts[i] == BH_RUN_FAILED;
        cancelled += hosts[i] == BH_RUN_CANCELLED;
        queued += hosts[i] == BH_RUN_QUEUED;
    }
    if (done == n)
        return BH_RUN_DONE;
    if (done + failed + cancelled == n)
        return failed ? BH_RUN_FAILED : BH_RUN_CANCELLED;
    if (queued == n)
        return BH_RUN_QUEUED;
    return BH_RUN_RUNNING;
}

bool bh_host_busy(const struct bh_task_row *rows, size_t n, int host)
{
    bool done = false, queued = false;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].host != host)
            continue;
        if (rows[i].state == BH_TASK_RUNNING)
            return true;
        done |= rows[i].state == BH_TASK_DONE;
        queued |= rows[i].state == BH_TASK_QUEUED;
    }
    return done && queued;
}

bool bh_task_may_start(const struct bh_task_row *rows, size_t n, const struct bh_task_row *t,
                       int64_t parallel)
{
    if (parallel <= 0 || t->seq > 0 || t->state == BH_TASK_RUNNING)
        return true;
    /* count each other host once: at its first row */
    int64_t busy = 0;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].host == t->host)
            continue;
        bool first = true;
        for (size_t k = 0; k < i && first; k++)
            first = rows[k].host != rows[i].host;
        if (first && bh_host_busy(rows, n, rows[i].host))
            busy++;
    }
    return busy < parallel;
}

const struct bh_task_row *bh_host_next(const struct bh_task_row *rows, size_t n, int host)
{
    const struct bh_task_row *first = NULL;
    for (size_t i = 0; i < n; i++)
        if (rows[i].host == host && rows[i].state != BH_TASK_DONE &&
            (!first || rows[i].seq < first->seq))
            first = &rows[i];
    if (first && (first->state == BH_TASK_QUEUED || first->state == BH_TASK_RUNNING))
        return first;
    return NULL;
}

size_t bh_fail_cascade(const struct bh_task_row *rows, size_t n, const struct bh_task_row *failed,
                       size_t *cancel)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].host == failed->host && rows[i].seq > failed->seq &&
            rows[i].state == BH_TASK_QUEUED)
            cancel[k++] = i;
    return k;
}
