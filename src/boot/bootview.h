/*
 * bootview.h - what boot decisions read, kept in memory.
 *
 * The boot services must never wait on the database, yet every DHCP packet,
 * TFTP request and boot script depends on hosts, groups, profiles and the
 * run-time settings.  The view holds those objects (immutable JSON, shared
 * by reference count) and follows the store's event stream to stay current.
 * Readers on any thread take a short lock and get a new reference.
 */
#ifndef BH_BOOT_BOOTVIEW_H
#define BH_BOOT_BOOTVIEW_H

#include "core/err.h"
#include "store/store.h"

#include <jansson.h>
#include <stdint.h>

struct bh_bootview;

struct bh_bootview *bh_bootview_new(void);
void bh_bootview_free(struct bh_bootview *v);

/* Load everything from the store (start, or when the events it needs were
 * pruned).  Not on the boot loop. */
int bh_bootview_load(struct bh_bootview *v, struct bh_store *s, struct bh_err *err);
/* Apply the events committed since the last load/apply.  Not on the boot
 * loop.  Reloads by itself if the store no longer has them. */
int bh_bootview_refresh(struct bh_bootview *v, struct bh_store *s, struct bh_err *err);

/* Lookups, any thread: a new reference or NULL. */
json_t *bh_bootview_host(struct bh_bootview *v, const char *mac);
json_t *bh_bootview_host_by_serial(struct bh_bootview *v, const char *serial);
json_t *bh_bootview_host_by_name(struct bh_bootview *v, const char *name);
json_t *bh_bootview_group(struct bh_bootview *v, const char *name);
json_t *bh_bootview_profile(struct bh_bootview *v, const char *name);
json_t *bh_bootview_settings(struct bh_bootview *v);
int64_t bh_bootview_revision(struct bh_bootview *v);
/* Call fn for every host (a new reference each, caller of fn decrefs). */
void bh_bootview_each_host(struct bh_bootview *v, void (*fn)(void *ud, json_t *host), void *ud);

#endif
