/*
 * rules.h - the job and task rules, as plain code over plain rows.
 *
 * A job is a list of steps for a set of hosts; each host gets one task per
 * step (seq = the step's index).  These functions decide; they store
 * nothing and include nothing of the store's backend, so any backend (and
 * tests/unit/test_jobs.c, over an in-memory table) can be driven by them.
 *
 * Status (issue 12): the SQLite backend (store/sqlite_jobs.c) still writes
 * the same rules in its own SQL; moving its callers onto these functions
 * is the next step.  Until then the two must say the same, which
 * test_jobs.c checks for the rules and test_store.c for the backend.
 */
#ifndef BH_JOBS_RULES_H
#define BH_JOBS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum bh_task_state {
    BH_TASK_QUEUED,
    BH_TASK_RUNNING,
    BH_TASK_DONE,
    BH_TASK_FAILED,
    BH_TASK_CANCELLED,
};

/* Host and job states, derived from task states, never stored. */
enum bh_run_state {
    BH_RUN_QUEUED,
    BH_RUN_RUNNING,
    BH_RUN_DONE,
    BH_RUN_FAILED,
    BH_RUN_CANCELLED,
};

/* One task as the rules see it (borrowed by every function here). */
struct bh_task_row {
    int64_t id, job;
    int host; /* any number that tells the job's hosts apart */
    int seq;
    enum bh_task_state state;
};

/* "queued" etc.; NULL for a bad value. */
const char *bh_task_state_name(enum bh_task_state s);
/* 0 and *out, or -1 for a name that is no task state. */
int bh_task_state_parse(const char *name, enum bh_task_state *out);
const char *bh_run_state_name(enum bh_run_state s);

/* A host's report may move a task only forward: queued -> running ->
 * done | failed, queued -> done | failed; running may report running
 * again (progress).  Nothing leaves done, failed or cancelled by a report. */
bool bh_task_report_ok(enum bh_task_state from, enum bh_task_state to);
/* Cancel takes what is unfinished (queued, running) to cancelled. */
bool bh_task_cancels(enum bh_task_state s);
/* Retry queues what failed or was cancelled again. */
bool bh_task_retries(enum bh_task_state s);

/* A host's state from its tasks' states (any order): failed if one
 * failed, done if all are, running if one runs, cancelled if one was
 * cancelled, running if some are done, else queued. */
enum bh_run_state bh_host_state(const enum bh_task_state *tasks, size_t n);
/* A job's state from its hosts' states: done when all are (or there are
 * none), failed/cancelled once every host has ended and one failed / none
 * failed, queued while every host is, else running. */
enum bh_run_state bh_job_state(const enum bh_run_state *hosts, size_t n);

/* Whether host `host` is in the middle of the job: a step running, or one
 * done with one still queued.  rows: the job's tasks, any order. */
bool bh_host_busy(const struct bh_task_row *rows, size_t n, int host);
/* The parallel limit: may task t (a row of rows, the job's tasks) start?
 * parallel 0 is no limit; else t's host has begun the job already (t is
 * not its first step, or runs), or fewer than parallel other hosts are in
 * the middle of it. */
bool bh_task_may_start(const struct bh_task_row *rows, size_t n, const struct bh_task_row *t,
                       int64_t parallel);
/* The host's next task in a job: its first task not done, when that one is
 * queued or running (an earlier failure or cancel stops the host); NULL
 * when there is none. */
const struct bh_task_row *bh_host_next(const struct bh_task_row *rows, size_t n, int host);
/* A failed task stops its host: the indices into rows of the host's later
 * queued tasks, which become cancelled, go to cancel[] (room for n).
 * Returns how many. */
size_t bh_fail_cascade(const struct bh_task_row *rows, size_t n, const struct bh_task_row *failed,
                       size_t *cancel);

#endif
