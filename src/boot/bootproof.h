/*
 * bootproof.h - which machine is booting where: the evidence behind a boot
 * ticket.
 *
 * A boot ticket (api/ticket.h) lets the client OS of a machine act as that
 * machine.  So an iPXE script carries one only when the request for it
 * comes from the machine that is booting as that MAC:
 *
 *   - its DHCP exchange, within the ticket window, named the address the
 *     request comes from: in full mode the lease we bound, in proxy mode
 *     the address it asked the other server for (option 50) or had
 *     (ciaddr).  Only packets a client sends for itself count: from port
 *     68 (which an unprivileged program on the machine cannot use), from
 *     0.0.0.0 or its own address (dhcp_server.c);
 *   - and the kernel's neighbour table gives that address to that MAC.  A
 *     request from an address it has no entry for (behind a router, or
 *     this server itself) is refused, unless the exchange came through a
 *     DHCP relay and `relayed` is on: then the relay's word is all there
 *     is.  Loopback is always refused.
 *
 * With `neighbour` on, a complete neighbour entry alone is proof as well,
 * for networks where another server does DHCP and PXE.
 *
 * One boot, one ticket: the first request of a boot gets it, later ones
 * get none; a new DHCP exchange is a new boot.  A script that does not use
 * {{ticket}} asks for none (bootscript.c), so a machine sent to its disk
 * leaves nothing for a program on its installed OS to pick up.
 *
 * Everything is in memory: after a restart, machines prove themselves
 * again at their next DHCP exchange.  Thread-safe.
 */
#ifndef BH_BOOT_BOOTPROOF_H
#define BH_BOOT_BOOTPROOF_H

#include "core/err.h"
#include "core/mac.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BH_BOOTPROOF_TICKET_MAX 128
#define BH_BOOTPROOF_MAX        65536 /* machines remembered; when full, the least recently seen go */

struct bh_bootproof;

struct bh_bootproof_config {
    int64_t window_ms; /* how long after its DHCP exchange a boot may fetch its ticket */
    bool neighbour;    /* a complete neighbour entry alone is proof too */
    bool relayed;      /* an exchange through a DHCP relay is proof without a neighbour entry */
    /* The neighbour table's MAC for ip: 0, or BH_ENOTFOUND / BH_ESYS when
     * it has none or cannot be read.  NULL: bh_net_neighbour. (Tests.) */
    int (*neighbour_of)(const char *ip, char mac[BH_MAC_STRLEN]);
};

int bh_bootproof_new(const struct bh_bootproof_config *cfg, struct bh_bootproof **out);
void bh_bootproof_free(struct bh_bootproof *p);

/* DHCP tied mac to IPv4 address ip at now_ms (through a relay: relayed):
 * a lease until until_ms, or (until_ms 0) an exchange observed.  Starts a
 * new boot of mac, which lasts the window (at most until the lease ends). */
void bh_bootproof_seen(struct bh_bootproof *p, const char *mac, const char *ip, int64_t until_ms,
                       bool relayed, int64_t now_ms);

/* Has remote proven at now_ms that it is mac booting (whether or not this
 * boot's ticket went out)?  0, or BH_EPERM with why. */
int bh_bootproof_check(struct bh_bootproof *p, const char *mac, const char *remote, int64_t now_ms,
                       struct bh_err *err);

/* Mint a ticket for mac into out (cap bytes): 0 or BH_E*. */
typedef int (*bh_bootproof_mint_fn)(void *ud, const char *mac, char *out, size_t cap);

/* The ticket of mac's current boot, for a request from address remote at
 * now_ms, made by mint.  BH_EPERM with err saying why (for the host's boot
 * log) when remote has not proven that it is mac booting, or this boot's
 * ticket went out already; BH_E* from mint. */
int bh_bootproof_ticket(struct bh_bootproof *p, const char *mac, const char *remote, int64_t now_ms,
                        bh_bootproof_mint_fn mint, void *ud, char out[BH_BOOTPROOF_TICKET_MAX],
                        struct bh_err *err);

#endif
