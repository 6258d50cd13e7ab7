/*
 * steps.h - the steps of `bootherd-agent run`, for run.c (which parses a
 * step and dispatches it) and the unit tests.  A step uses the helpers of
 * agent.h and never run.c (run.h); run.c is the only caller of a step.
 *
 * Each returns 0, or a BH_E* code with err saying what went wrong (the
 * text the server shows for the failed task).  A step that reported the
 * task done itself because the machine is going away sets
 * a->step_reported.
 */
#ifndef BH_AGENT_STEPS_H
#define BH_AGENT_STEPS_H

#include "agent.h"

/* osops.c: the steps that mount the OS partition or leave the client OS */
int bh_agent_start(struct bh_agent *a, const struct bh_step *s, struct bh_err *err);
int bh_agent_postsync(struct bh_agent *a, const struct bh_step *s, struct bh_err *err);
int bh_agent_capture(struct bh_agent *a, const struct bh_step *s, struct bh_err *err);
int bh_agent_shell(struct bh_agent *a, const struct bh_step *s, struct bh_err *err);
/* cachestep.c: initcache, the chunks of the group's images into the cache
 * partition */
int bh_agent_initcache(struct bh_agent *a, struct bh_err *err);

#endif
