/*
 * bootwork.h - the boot services' store I/O, on its own thread.
 *
 * DHCP, TFTP and the boot endpoints report what they see (a new MAC, a host
 * booting, a file sent) from threads that must not wait on the database.
 * They hand it to this worker, which batches it: every boot event queued
 * while it was busy goes into one transaction, repeated "still alive" updates
 * of a host collapse into one, a MAC is registered once.  It also keeps the
 * boot view current after each commit, and marks silent hosts offline.
 */
#ifndef BH_BOOT_BOOTWORK_H
#define BH_BOOT_BOOTWORK_H

#include "bootevent.h"
#include "bootview.h"

#include <jansson.h>
#include <stdint.h>

struct bh_bootwork;

int bh_bootwork_start(struct bh_store *s, struct bh_bootview *v, struct bh_bootwork **out,
                      struct bh_err *err);
/* Write what is queued, then stop the thread. */
void bh_bootwork_stop(struct bh_bootwork *w);

/* All of these may be called from any thread and return at once. */

/* The store committed: bring the view up to date (coalesced). */
void bh_bootwork_refresh(struct bh_bootwork *w);
/* A boot event on host `mac` (takes data, may be NULL). */
void bh_bootwork_event(struct bh_bootwork *w, const char *mac, const char *type, json_t *data);
/* What DHCP did for a client (ev->mac), queued as a store event of
 * ev->type.  ev is borrowed for the call; this is the one place a boot
 * event becomes JSON. */
void bh_bootwork_dhcp(struct bh_bootwork *w, const struct bh_dhcp_event *ev);
/* A TFTP transfer of host `mac` ended: "tftp.sent" or "tftp.failed". */
void bh_bootwork_tftp(struct bh_bootwork *w, const char *mac, const struct bh_tftp_event *ev);
/* The event data the two above record (new object, caller owns; NULL when
 * out of memory): one field per struct field, as the console reads them. */
json_t *bh_bootwork_dhcp_data(const struct bh_dhcp_event *ev);
json_t *bh_bootwork_tftp_data(const struct bh_tftp_event *ev);
/* Host `mac` showed a sign of life; state is the new state, or NULL to
 * keep it.  last_seen is written at most once a minute per host unless the
 * state changes. */
void bh_bootwork_seen(struct bh_bootwork *w, const char *mac, const char *state);
/* A MAC bootherd does not know: create the host (state new) with what DHCP
 * learned (takes doc: {"mac", "arch", "uuid", ...}), once. */
void bh_bootwork_register(struct bh_bootwork *w, json_t *doc);
/* Machine `mac` is netbooting again (its boot client's DHCP exchange, at
 * ms): the host tokens of its earlier boots end (bh_store_agent_end). */
void bh_bootwork_booted(struct bh_bootwork *w, const char *mac, int64_t ms);
/* Hosts in state booting or up with no sign of life for this many seconds
 * go offline (checked every 15 s). */
void bh_bootwork_set_offline_after(struct bh_bootwork *w, int64_t seconds);

#endif
