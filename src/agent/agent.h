/*
 * agent.h - what the steps of `bootherd-agent run` share: the server
 * connection with the host token, this host and its group as hello
 * answered, and the task being done; and the helpers below every step
 * (agent.c: reports, the group's OS entries, mounting).  The steps
 * themselves are declared in steps.h, for run.c (and the tests) only.
 */
#ifndef BH_AGENT_AGENT_H
#define BH_AGENT_AGENT_H

#include "client/client.h"
#include "core/err.h"
#include "core/mac.h"
#include "model/steps.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct bh_agent {
    struct bh_cli api; /* url, host token (RAM only), curl handle */
    char mac[BH_MAC_STRLEN];
    json_t *host;  /* from hello: name, room, group */
    json_t *group; /* from hello: the layout and OS entries */
    int64_t task;  /* the step being done */
    /* set by a step that reported the task done itself because the machine
     * is going away (reboot, halt, kexec): run.c then reports nothing more */
    bool step_reported;
    /* the last step finished here and how: if the server lost the report
     * (it was away), it is sent again instead of the step being redone */
    int64_t finished_task;
    bool finished_ok;
    char finished_why[1024];
    uint64_t last_report_ms;
    char phase[24]; /* the phase progress is about, since phase_t0_ms */
    int64_t phase_task;
    uint64_t phase_t0_ms;
    int poll_ms;
    /* the WebSocket channel (channel.c) */
    pthread_t th;
    bool has_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool kicked; /* under mu: a nudge came */
    _Atomic bool quit, channel_up;
    /* the heartbeat (channel.c): its own thread, so that a step that says
     * nothing for hours still keeps the host token alive */
    pthread_t hb;
    bool has_hb;
    pthread_cond_t hb_cv; /* with mu: quit */
};

/* Every BH_AGENT_HEARTBEAT_MS the heartbeat thread asks the server for
 * the next step (a read): the server renews a host token it hears from, and
 * ends it after BH_AGENT_TOKEN_TTL_MS of silence (api.h). */
#define BH_AGENT_HEARTBEAT_MS (20LL * 60 * 1000)

/* Hold the channel and the heartbeat in threads (after hello: they need
 * the token). */
int bh_agent_channel_start(struct bh_agent *a);
void bh_agent_channel_stop(struct bh_agent *a);
/* Wait for a nudge, or poll_ms (10 s while the channel is up). */
void bh_agent_wait(struct bh_agent *a, int poll_ms);

/* The machine as sysfs and procfs tell it (inventory.c). */
json_t *bh_agent_inventory(void);
/* Tell the server how the current task goes (state running|done|failed).
 * 0, or a BH_E* code (said on stderr) when the server did not take it: a
 * step refused "running" may not start now. */
int bh_agent_report(struct bh_agent *a, const char *state, json_t *progress, const char *error);
/* Progress of a phase, at most twice a second (always at the end). */
void bh_agent_progress(struct bh_agent *a, const char *phase, uint64_t done, uint64_t total,
                       uint64_t fetched);
/* OS entry n (from 1) of the group's start.conf, or NULL. */
const json_t *bh_agent_os(const struct bh_agent *a, int n);
/* Image name and version ref of an OS entry's BaseImage ("win10.qcow2",
 * "win10@stable", "win10"); BH_ENOTFOUND (no such entry, or one without
 * BaseImage or Root) or BH_EINVAL (no image named), with err filled. */
int bh_agent_os_image(const json_t *os, int n, char *name, size_t ncap, char *ref, size_t rcap,
                      struct bh_err *err);
/* Is this the bootherd client OS (BOOTHERD_CLIENT_OS=1)?  Only there are
 * reboot, halt and kexec allowed. */
bool bh_agent_in_client_os(void);

/* Mount dev (its FSType in the start.conf, else ext4, vfat or ntfs3) at
 * where in the client OS, elsewhere at a new /tmp/bootherd-os.* directory;
 * dir: where it is.  Then unmount (and remove that directory).  0, or a
 * BH_E* code with err filled (err may be NULL). */
int bh_agent_mount(const struct bh_agent *a, const char *dev, bool rw, const char *where, char *dir,
                   size_t dcap, struct bh_err *err);
int bh_agent_umount(const char *dir, struct bh_err *err);
/* The group's cache partition (start.conf Cache), or NULL. */
const char *bh_agent_cache_dev(const struct bh_agent *a);

#endif
