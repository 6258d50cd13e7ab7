/*
 * bootproof.h - which machine is booting where: the evidence behind a boot
 * ticket.
 *
 * A boot ticket (api/ticket.h) lets the client OS of a machine act as that
 * machine.  So the iPXE script carries one only when the request for it
 * comes from the machine that is booting as that MAC:
 *
 *   - full mode: from the address our DHCP bound to that MAC (until the
 *     lease ends);
 *   - proxy mode: from an address the MAC's DHCP or PXE exchange named
 *     (ciaddr, or option 50 of its REQUEST to the other server), seen on a
 *     boot interface within the ticket window;
 *
 * and, in both, the kernel's neighbour table must not say that address
 * belongs to another MAC (it says nothing for clients behind a router).
 * With `neighbour` on, a complete neighbour entry alone is proof as well,
 * for networks where another server does DHCP and PXE.
 *
 * One boot, one ticket: the ticket made for a piece of evidence is kept
 * with it, so a second fetch in the same boot gets the same ticket (which
 * works once); a new DHCP exchange is a new boot and gets a new one.
 *
 * Everything is in memory: after a restart, machines prove themselves
 * again at their next DHCP exchange.  Thread-safe.
 */
#ifndef BH_BOOT_BOOTPROOF_H
#define BH_BOOT_BOOTPROOF_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BH_BOOTPROOF_TICKET_MAX 128
#define BH_BOOTPROOF_MAX        65536 /* machines remembered; when full, the expired go */

struct bh_bootproof;

struct bh_bootproof_config {
    int64_t window_ms; /* proxy mode: how long an observed exchange counts */
    bool neighbour;    /* a complete neighbour entry alone is proof too */
    /* The neighbour table's MAC for ip: 0, or BH_ENOTFOUND / BH_ESYS when
     * it has none or cannot be read.  NULL: bh_net_neighbour. (Tests.) */
    int (*neighbour_of)(const char *ip, char mac[18]);
};

int bh_bootproof_new(const struct bh_bootproof_config *cfg, struct bh_bootproof **out);
void bh_bootproof_free(struct bh_bootproof *p);

/* DHCP tied mac to IPv4 address ip: a lease until until_ms, or (until_ms
 * 0) an exchange observed at now_ms.  Starts a new boot of mac. */
void bh_bootproof_seen(struct bh_bootproof *p, const char *mac, const char *ip, int64_t until_ms,
                       int64_t now_ms);

/* Mint a ticket for mac into out (cap bytes): 0 or BH_E*. */
typedef int (*bh_bootproof_mint_fn)(void *ud, const char *mac, char *out, size_t cap);

/* The ticket of mac's current boot, for a request from address remote at
 * now_ms: the one made for this boot already, or a new one from mint.
 * BH_EPERM with err saying why (for the host's boot log) when remote has
 * not proven that it is mac booting; BH_E* from mint. */
int bh_bootproof_ticket(struct bh_bootproof *p, const char *mac, const char *remote, int64_t now_ms,
                        bh_bootproof_mint_fn mint, void *ud, char out[BH_BOOTPROOF_TICKET_MAX],
                        struct bh_err *err);

#endif
