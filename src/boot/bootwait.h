/*
 * bootwait.h - why a host with queued job steps has not started them: the
 * boot services' facts about it (the profile its script boots, whether the
 * client OS that runs the agent is in the boot root, whether it was ever
 * seen booting), and the one sentence they come to.
 *
 * Computed when a job is read (src/api/jobview.c), never stored: the facts
 * change as profiles are edited, `bootherd client build` runs and the
 * host boots.  bh_boot_wait_reason is pure (unit-tested in test_boot.c).
 */
#ifndef BH_BOOT_BOOTWAIT_H
#define BH_BOOT_BOOTWAIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct bh_boot;

struct bh_wait_facts {
    const char *action;    /* what the host's script does: profile, menu, local */
    const char *profile;   /* the profile it boots; "" if none is set anywhere */
    bool profile_exists;   /* a profile of that name is stored */
    bool runs_agent;       /* its cmdline passes the agent a ticket (bootherd.ticket) */
    const char *missing;   /* a kernel or initrd of it not in the boot root, or NULL */
    const char *last_seen; /* when the host was last seen booting; NULL: never */
};

/* Why the host waits: a code and a sentence (into reason, cap bytes).
 * Codes, in the order they are looked at:
 *   "local-boot"       the boot action is local: it boots its own disk
 *   "no-profile"       no boot profile is set, or the one set does not exist
 *   "other-profile"    its profile does not start the client OS (no ticket)
 *   "client-not-built" a file of the client OS is not in the boot root
 *   "never-booted"     no network boot was ever seen from it
 *   "agent-silent"     it booted, but its agent has not asked for work
 * Returns the code (a static string). */
const char *bh_boot_wait_reason(const struct bh_wait_facts *f, char *reason, size_t cap);

/* The facts for host (an API host object, borrowed) from the boot
 * services' view and boot root, and the reason they give. */
const char *bh_boot_host_wait(struct bh_boot *b, const json_t *host, char *reason, size_t cap);

#endif
