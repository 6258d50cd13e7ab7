/*
 * run.h - `bootherd-agent run` (run.c), the top of the agent: it calls the
 * steps (steps.h), and nothing in the agent calls it but main.c and the
 * unit tests.
 */
#ifndef BH_AGENT_RUN_H
#define BH_AGENT_RUN_H

#include "agent.h"

/* the agent's life in the client OS (hello, then jobs); an exit status */
int bh_agent_cmd_run(int argc, char **argv);

/* Do one parsed step (text is its text, for messages) of the task a->task.
 * 0, or a BH_E* code with err saying what went wrong (what the server
 * shows for the failed task).  Reports no outcome itself: the caller does,
 * unless the step set a->step_reported (it reported done because the
 * machine is going away). */
int bh_agent_do_step(struct bh_agent *a, const struct bh_step *s, const char *text,
                     struct bh_err *err);

#endif
