/*
 * rules.c - the job and task rules (see rules.h).
 */
#include "rules.h"

#include <string.h>

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

bool bh_host_busy(const struct bh_task_row *rows, size_t n, int64_t host)
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
    /* one pass over the hosts' runs of rows: each other host counts once */
    int64_t busy = 0;
    bool running = false, done = false, queued = false;
    for (size_t i = 0; i < n; i++) {
        running |= rows[i].state == BH_TASK_RUNNING;
        done |= rows[i].state == BH_TASK_DONE;
        queued |= rows[i].state == BH_TASK_QUEUED;
        if (i + 1 < n && rows[i + 1].host == rows[i].host)
            continue; /* the host's run goes on */
        if (rows[i].host != t->host && (running || (done && queued)))
            busy++;
        running = done = queued = false;
    }
    return busy < parallel;
}

const struct bh_task_row *bh_host_next(const struct bh_task_row *rows, size_t n, int64_t host)
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

bool bh_task_claim_ok(const struct bh_task_row *t, const char *session, enum bh_task_state to)
{
    if (!session || !t->claim[0] || !strcmp(t->claim, session))
        return true;
    return !t->claim_live && to == BH_TASK_RUNNING;
}
