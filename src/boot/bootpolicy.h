/*
 * bootpolicy.h - the boot loader chosen for a DHCP client (bootpolicy.c).
 */
#ifndef BH_BOOT_BOOTPOLICY_H
#define BH_BOOT_BOOTPOLICY_H

#include "bootctx.h"

/* How DHCP client c boots, from the view in x (loop thread, from memory).
 * An unknown MAC is queued for registration when settings say so.  d is
 * filled whole; nothing fails: kind NONE says why not in d->why. */
void bh_bootpolicy_decide(const struct bh_bootctx *x, const struct bh_boot_client *c,
                          struct bh_boot_decision *d);

#endif
