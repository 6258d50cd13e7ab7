/*
 * jobs.h - what operators and hosts do to jobs, with the rules of rules.h
 * applied over the store (bh_store_job_edit reads and writes a job's tasks
 * in one transaction; these functions decide what changes).
 *
 * Every function here returns 0 or a BH_E* code with err set; *out (when
 * given) is the job afterwards, owned by the caller.
 */
#ifndef BH_JOBS_JOBS_H
#define BH_JOBS_JOBS_H

#include "store/store.h"

/* Every unfinished task of the job becomes cancelled. */
int bh_jobs_cancel(struct bh_store *s, int64_t id, const struct bh_actor *a, json_t **out,
                   struct bh_err *err);
/* Every failed or cancelled task is queued again. */
int bh_jobs_retry(struct bh_store *s, int64_t id, const struct bh_actor *a, json_t **out,
                  struct bh_err *err);

/* The host's next step to run, {task, job, seq, step, state}, or JSON null:
 * in the oldest job where the host's first unfinished step is queued or
 * running (bh_host_next) and may start (bh_task_may_start), and whose
 * time has come: not before spec.start_ms, and with spec.when "next-boot"
 * only once the host has booted (an agent session began) after the job
 * was made. */
int bh_jobs_next(struct bh_store *s, const char *mac, int64_t now_ms, json_t **out,
                 struct bh_err *err);

/* A host's report on its task (borrowed strings). */
struct bh_task_report {
    const char *mac;        /* the reporting host */
    const char *session;    /* its agent session (the host token's id); NULL: no claim rule */
    const char *state;      /* running | done | failed */
    const json_t *progress; /* with running; may be NULL */
    const char *error;      /* with failed; may be NULL */
};
/* The host reports on its task: state running (with progress), done or
 * failed (with error; the host's later steps become cancelled).  The claim
 * rule (bh_task_claim_ok) holds.  BH_ECONFLICT if the task is not the
 * host's, is already finished or cancelled, or its job's parallel limit
 * is reached; BH_ECONFLICT with err->type "claimed" (and err->msg naming
 * the holder) if another live session holds it. */
int bh_jobs_report(struct bh_store *s, int64_t task, const struct bh_task_report *rep,
                   const struct bh_actor *a, json_t **out, struct bh_err *err);

#endif
