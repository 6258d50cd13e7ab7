/*
 * rules.h - the job and task rules, as plain code over plain rows.
 *
 * A job is a list of steps for a set of hosts; each host gets one task per
 * step (seq = the step's index).  These functions decide; they store
 * nothing and include nothing of the store's backend, so any backend (and
 * tests/unit/test_jobs.c, over an in-memory table) can be driven by them.
 * jobs.c applies them to the store through bh_store_job_edit.  The states
 * and what a host's and a job's state are: model/jobstate.h.
 */
#ifndef BH_JOBS_RULES_H
#define BH_JOBS_RULES_H

#include "model/jobstate.h"

/* A host's report may move a task only forward: queued -> running ->
 * done | failed, queued -> done | failed; running may report running
 * again (progress).  Nothing leaves done, failed or cancelled by a report. */
bool bh_task_report_ok(enum bh_task_state from, enum bh_task_state to);
/* The claim rule: the agent session that first reports a task running
 * claims it; only that session may report on it afterwards, unless it has
 * ended and another session reports the task running again (a new boot
 * starts it over), which takes the claim over.  session NULL: no rule. */
bool bh_task_claim_ok(const struct bh_task_row *t, const char *session, enum bh_task_state to);
/* Cancel takes what is unfinished (queued, running) to cancelled. */
bool bh_task_cancels(enum bh_task_state s);
/* Retry queues what failed or was cancelled again. */
bool bh_task_retries(enum bh_task_state s);

/* Whether host `host` is in the middle of the job: a step running, or one
 * done with one still queued.  rows: the job's tasks, any order. */
bool bh_host_busy(const struct bh_task_row *rows, size_t n, int64_t host);
/* The parallel limit: may task t (a row of rows, the job's tasks) start?
 * parallel 0 is no limit; else t's host has begun the job already (t is
 * not its first step, or runs), or fewer than parallel other hosts are in
 * the middle of it.  rows must hold each host's rows together (the store
 * reads them by host, then seq): one pass, for jobs of 10,000 hosts. */
bool bh_task_may_start(const struct bh_task_row *rows, size_t n, const struct bh_task_row *t,
                       int64_t parallel);
/* The host's next task in a job: its first task not done, when that one is
 * queued or running (an earlier failure or cancel stops the host); NULL
 * when there is none. */
const struct bh_task_row *bh_host_next(const struct bh_task_row *rows, size_t n, int64_t host);
/* A failed task stops its host: the indices into rows of the host's later
 * queued tasks, which become cancelled, go to cancel[] (room for n).
 * Returns how many. */
size_t bh_fail_cascade(const struct bh_task_row *rows, size_t n, const struct bh_task_row *failed,
                       size_t *cancel);

#endif
