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
 * Can the steps work on the hosts they are to run on?  Every (host, step)
 * that cannot is one refusal {host, mac, step, field, reason}:
 *   - a step that needs the host's start.conf (partition, format, sync:N,
 *     new:N, create_image:N, start:N, postsync:N, initcache) and a host in
 *     no group ("the host is in no group, so it has no start.conf") or a
 *     group without one ("group bare has no start.conf");
 *   - an N the group lacks: "group win10 has no OS entry 2 (it has 1)",
 *     "group win10 has no partition 3 (it has 2)" for format:N;
 *   - sync:N and new:N (which deploy the image) when OS entry N names no
 *     image, or an image@ref with no version: "image win10 (OS entry 1 of
 *     group win10) has no version" ("has no version 'stable'" for a tag);
 *   - initcache when the start.conf names no cache partition:
 *     "group win10 has no cache partition (start.conf: [LINBO] Cache)".
 * steps: the job's steps (strings bh_step_parse takes; others are
 * skipped); hosts: the target host objects ({name, mac, group}); groups:
 * each of their groups' name -> its config (start.conf as JSON, or null);
 * versions: "image@ref" -> true for each image version that exists (refs
 * as bh_startconf_image gives them: "latest" when the BaseImage names
 * none).  All borrowed.  Appends at most cap refusals to errors (host
 * order, then step order) and returns how many there are in all;
 * *nhosts (if not NULL) is how many hosts have at least one.
 */
size_t bh_steps_check(const json_t *steps, const json_t *hosts, const json_t *groups,
                      const json_t *versions, json_t *errors, size_t cap, size_t *nhosts);

#endif
