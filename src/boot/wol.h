/*
 * wol.h - Wake-on-LAN: the magic packet, where it must go, and a sender
 * that works through batches off the HTTP threads, staggered so that a room
 * does not draw power all at once.
 *
 * wol.c is the pure half (bytes and decisions, unit-testable without
 * sockets); wol_io.c reads the interfaces, sends and runs the worker.
 */
#ifndef BH_BOOT_WOL_H
#define BH_BOOT_WOL_H

#include "core/err.h"

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The magic packet (AMD "Magic Packet" white paper, 1995): six bytes of
 * 0xFF, then the target's MAC sixteen times; 102 bytes, no SecureOn. */
#define BH_WOL_SYNC_LEN    6
#define BH_WOL_MAC_REPEATS 16
#define BH_WOL_PACKET_LEN  (BH_WOL_SYNC_LEN + 6 * BH_WOL_MAC_REPEATS)

#define BH_WOL_PORT_DEFAULT       9   /* UDP discard; 7 (echo) is the other usual one */
#define BH_WOL_STAGGER_MS_DEFAULT 200 /* between hosts of a batch */
#define BH_WOL_REPEAT             3   /* each packet goes out this often: UDP may be lost */
#define BH_WOL_REPEAT_GAP_MS      5   /* ... this far apart */
#define BH_WOL_DEFAULT_PREFIX     24  /* a remote subnet whose size nobody told us */
#define BH_WOL_QUEUE_MAX          65536

/* Fill out[BH_WOL_PACKET_LEN] with the magic packet for mac. */
void bh_wol_packet(const uint8_t mac[6], uint8_t out[BH_WOL_PACKET_LEN]);

/* ---- where to send (pure) ------------------------------------------------ */

/* One IPv4 address of a local interface (getifaddrs). */
struct bh_wol_iface {
    char name[IFNAMSIZ];
    struct in_addr addr, mask, brd; /* brd: the interface's broadcast address */
    bool up, broadcast, loopback;
};

/* A network bootherd was told about: a [subnet] of the boot config. */
struct bh_wol_net {
    struct in_addr net, mask;
    char iface[IFNAMSIZ]; /* [subnet] interface =, "" if behind a relay */
};

/* What the server knows: borrowed arrays. */
struct bh_wol_env {
    const struct bh_wol_iface *ifaces;
    size_t nifaces;
    const struct bh_wol_net *subnets; /* [subnet] sections */
    size_t nsubnets;
    const char (*dhcp_ifaces)[IFNAMSIZ]; /* [dhcp] interfaces */
    size_t ndhcp;
};

/* What is known about the host. */
struct bh_wol_where {
    bool has_ip;
    struct in_addr ip; /* the host's `ip` field */
    bool has_room_net;
    struct in_addr room_net, room_mask; /* its room's `subnet` */
};

struct bh_wol_target {
    struct in_addr dst;   /* a broadcast address */
    char iface[IFNAMSIZ]; /* send out of this interface; "" = as the routes say */
    bool directed;        /* a remote subnet's broadcast, through a router */
};

/* Choose where the host's magic packet goes:
 *  1. its ip lies in the network of a local interface: that interface's
 *     broadcast address, out of that interface (the most specific wins);
 *  2. its ip lies elsewhere: the directed broadcast of its subnet, whose
 *     prefix comes from its room's subnet, else a [subnet] containing it,
 *     else /24 (RFC 919/922 directed broadcast; the last router must
 *     forward it, which routers do only when told to);
 *  3. no ip: its room's subnet as in 1 and 2;
 *  4. nothing known: the one [dhcp] interface that is up (several: refuse,
 *     rather than guess).
 * Returns 0 and fills t, or BH_ENOTFOUND and *why (a static sentence). */
int bh_wol_choose(const struct bh_wol_env *env, const struct bh_wol_where *w,
                  struct bh_wol_target *t, const char **why);

/* ---- I/O (wol_io.c) ------------------------------------------------------ */

/* The IPv4 addresses of the local interfaces; *out is the caller's to free. */
int bh_wol_ifaces(struct bh_wol_iface **out, size_t *n, struct bh_err *err);

/* Send the magic packet BH_WOL_REPEAT times to t->dst:port (SO_BROADCAST;
 * SO_BINDTODEVICE when t->iface is set).  Blocks about
 * BH_WOL_REPEAT_GAP_MS * (BH_WOL_REPEAT - 1). */
int bh_wol_send(const uint8_t mac[6], const struct bh_wol_target *t, int port, struct bh_err *err);

/* The sender: one thread, a queue of wakes.  Each wake is reported as an
 * event on the host ("wol.sent" or "wol.failed") through the boot worker. */
struct bh_wol;
struct bh_bootwork;

struct bh_wol_config {
    int64_t port;       /* [wol] port */
    int64_t stagger_ms; /* [wol] stagger_ms: from one host's send to the next one's */
};

int bh_wol_start(const struct bh_wol_config *cfg, struct bh_bootwork *work, struct bh_wol **out,
                 struct bh_err *err);
/* Stop the thread; wakes still queued are dropped (and logged).  NULL ok. */
void bh_wol_stop(struct bh_wol *w);
int bh_wol_port(const struct bh_wol *w);

/* Queue one wake (any thread, returns at once).  BH_ECONFLICT if this MAC
 * is already waiting, BH_EBUSY if the queue is full. */
int bh_wol_queue(struct bh_wol *w, const uint8_t mac[6], const struct bh_wol_target *t);

#endif
