/*
 * jobstate.c - task, host and job states (see jobstate.h).
 */
#include "jobstate.h"

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
