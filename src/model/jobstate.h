/*
 * jobstate.h - the states of tasks, hosts and jobs, and one task as a row.
 *
 * A job is a list of steps for a set of hosts; each host gets one task per
 * step (seq = the step's index).  Only task states are stored; what a host
 * and a job "are" is derived from them here, when read, so there is one
 * truth.  What may change a state (reports, cancel, retry, the parallel
 * limit, what a host runs next) is decided above the store, in src/jobs.
 */
#ifndef BH_MODEL_JOBSTATE_H
#define BH_MODEL_JOBSTATE_H

#include "core/mac.h"

#include <jansson.h>
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

#define BH_TASK_CLAIM_MAX 32 /* an agent session's id (12 characters) + NUL, with room */

/* One task as the rules see it and the store reads and writes it. */
struct bh_task_row {
    int64_t id, job;
    int64_t host; /* any number that tells the job's hosts apart */
    int seq;
    enum bh_task_state state;
    /* read by the store besides; zero where a caller has none */
    char mac[BH_MAC_STRLEN];       /* the host's */
    char claim[BH_TASK_CLAIM_MAX]; /* the agent session holding it; "" none */
    bool claim_live;               /* that session has not ended */
    /* set on a row an edit changes (bh_store_job_edit); borrowed */
    bool changed;
    const json_t *progress; /* a report's progress; NULL keeps the stored one */
    const char *error;      /* a report's error; NULL clears it */
    const char *set_claim;  /* the session that claims it now; NULL keeps the claim */
};

/* "queued" etc.; NULL for a bad value. */
const char *bh_task_state_name(enum bh_task_state s);
/* 0 and *out, or -1 for a name that is no task state. */
int bh_task_state_parse(const char *name, enum bh_task_state *out);
const char *bh_run_state_name(enum bh_run_state s);

/* A host's state from its tasks' states (any order): failed if one
 * failed, done if all are, running if one runs, cancelled if one was
 * cancelled, running if some are done, else queued. */
enum bh_run_state bh_host_state(const enum bh_task_state *tasks, size_t n);
/* A job's state from its hosts' states: done when all are (or there are
 * none), failed/cancelled once every host has ended and one failed / none
 * failed, queued while every host is, else running. */
enum bh_run_state bh_job_state(const enum bh_run_state *hosts, size_t n);

#endif
