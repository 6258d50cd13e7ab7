/*
 * steps.h - the steps of a job, with LINBO's vocabulary:
 *
 *   partition            lay out the disk from the group's layout
 *   format[:N]           every partition, or partition N, from its FSType
 *   sync:N               bring OS N's partition to its image version
 *   new:N                format, then a full deploy (no compare pass)
 *   create_image:N[:NOTE]  capture OS N's partition as a new image version
 *   start:N              boot OS N
 *   postsync:N           the image's post-sync script on the synced partition
 *   initcache            fill the cache partition with the group's chunks
 *   reboot  halt
 *   shell:CMD            a command on the client (admin only)
 *
 * N counts the group's OS entries from 1, as start.conf does.
 */
#ifndef BH_MODEL_STEPS_H
#define BH_MODEL_STEPS_H

#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>

#define BH_STEP_MAX    512 /* bytes of one step, NOTE or CMD included */
#define BH_STEPS_MAX   32  /* steps in one job */
#define BH_STEP_OS_MAX 64  /* highest N */

enum bh_step_kind {
    BH_STEP_PARTITION,
    BH_STEP_FORMAT,
    BH_STEP_SYNC,
    BH_STEP_NEW,
    BH_STEP_CREATE_IMAGE,
    BH_STEP_START,
    BH_STEP_POSTSYNC,
    BH_STEP_INITCACHE,
    BH_STEP_REBOOT,
    BH_STEP_HALT,
    BH_STEP_SHELL,
};

struct bh_step {
    enum bh_step_kind kind;
    int os;          /* N, 0 when none (format: every partition) */
    const char *arg; /* NOTE or CMD, pointing into the parsed text; NULL if none */
};

/* Parse one step; BH_EINVAL with a message that says what is accepted. */
int bh_step_parse(const char *text, struct bh_step *out, struct bh_err *err);
/* Does this step need the admin role (shell)? */
bool bh_step_admin_only(const struct bh_step *s);

/*
 * Do the steps fit the hosts they are to run on?  A step that names an OS
 * entry (sync:N, new:N, create_image:N, start:N, postsync:N) needs entry N
 * in the start.conf of every target host's group, and format:N needs
 * partition N there; a host in no group, or in a group without a
 * start.conf, has neither.  steps: the job's steps (strings that
 * bh_step_parse takes); hosts: the target host objects ({name, mac,
 * group}); groups: each of their groups' name -> its config (the
 * start.conf as JSON, or null).  All borrowed.  0, or BH_EINVAL with
 * err->field "steps[i]" (i from 0) and a message that quotes the step and
 * names the group, how many OS entries (or partitions) it has and a host
 * in it.
 */
int bh_steps_fit_hosts(const json_t *steps, const json_t *hosts, const json_t *groups,
                       struct bh_err *err);

#endif
