/*
 * dhcp_server.h - what to answer a parsed DHCP request: ProxyDHCP, the PXE
 * boot server (4011) and full DHCP (pools, reservations, relays, the lease
 * state machine of RFC 2131 4.3).  No sockets and no clock: the caller
 * passes the arrival context and the time, and gets back a reply to build,
 * where to send it, and the lease changes that must be durable first.
 *
 * Leases live in memory, indexed by MAC and by address.  Clients are
 * identified by their hardware address, not by option 61: the PXE ROM,
 * iPXE and the installed OS of one machine send different client ids (or
 * none), and a boot server wants them to keep one address and one host
 * record through that chain.
 *
 * Not done: ICMP ping-check before offering (RFC 2131 4.4.1 says SHOULD).
 * It would hold every OFFER for a timeout; DECLINE handling covers the
 * conflicts a client detects itself with ARP.
 */
#ifndef BH_BOOT_DHCP_SERVER_H
#define BH_BOOT_DHCP_SERVER_H

#include "dhcp.h"
#include "dhcp_proto.h"
#include "store/leases.h"

#define BH_DHCP_OFFER_HOLD_S   60     /* an offered address is kept this long for its client */
#define BH_DHCP_DECLINE_HOLD_S 600    /* a declined address rests this long */
#define BH_DHCP_MAX_LEASES     262144 /* lease records kept in memory */

struct bh_dhcp_server;

/* Where a request arrived. */
struct bh_dhcp_in {
    const char *iface;         /* receiving interface */
    struct in_addr iface_addr; /* our address there: the server identifier */
    enum bh_dhcp_mode mode;    /* the interface's mode */
    uint16_t port;             /* 67, or 4011 for the PXE boot server */
    bool unicast;              /* sent to our address (renewing), not broadcast */
    struct in_addr src;        /* the packet's source address and port */
    uint16_t src_port;
};

/* What happened, for counters. */
enum bh_dhcp_outcome {
    BH_DHCP_O_IGNORED = 0,
    BH_DHCP_O_OFFER,
    BH_DHCP_O_ACK,
    BH_DHCP_O_NAK,
    BH_DHCP_O_PROXY_OFFER,
    BH_DHCP_O_PXE_ACK,
    BH_DHCP_O_RELEASE,
    BH_DHCP_O_DECLINE,
    BH_DHCP_O_INFORM,
};

enum bh_dhcp_dest {
    BH_DHCP_TO_BROADCAST = 0, /* 255.255.255.255:68 on the receiving interface */
    BH_DHCP_TO_RELAY,         /* giaddr:67 (RFC 2131 4.1) */
    BH_DHCP_TO_CLIENT,        /* ciaddr:68 (renewing, rebinding, INFORM) */
    BH_DHCP_TO_SOURCE,        /* back to the request's source address and port (4011) */
};

#define BH_DHCP_MAX_CHANGES 2

struct bh_dhcp_out {
    enum bh_dhcp_outcome outcome;
    bool reply;             /* build `r` and send it to `dest` */
    bool after_commit;      /* only once `changes` are durable (every ACK in full mode) */
    struct bh_dhcp_reply r; /* pointers into this struct or the server */
    enum bh_dhcp_dest dest;
    struct in_addr dest_addr; /* for RELAY and CLIENT */
    struct bh_lease_rec changes[BH_DHCP_MAX_CHANGES];
    int nchanges;
    struct bh_boot_client client;
    struct bh_boot_decision boot;
    /* The address this exchange ties to the client's MAC, for the boot
     * chain's identity check (a later HTTP fetch from it is that machine):
     * a lease we bound (seen_until = its end, seconds), or, in proxy mode,
     * the address a boot client asks for or has (seen_until = 0: only
     * observed now).  Only from a boot client speaking for itself (from
     * port 68: an unprivileged program cannot send from there) or through
     * a relay (seen_relayed).  0.0.0.0 when none. */
    struct in_addr seen;
    int64_t seen_until;
    bool seen_relayed;
    const char *event; /* "dhcp.offer", ... or NULL */
    const char *why;   /* why silent or NAK, for debug logs */
};

/* cfg and hooks are copied.  BH_ENOMEM. */
int bh_dhcp_server_new(const struct bh_boot_config *cfg, const struct bh_dhcp_hooks *hooks,
                       struct bh_dhcp_server **out, struct bh_err *err);
void bh_dhcp_server_free(struct bh_dhcp_server *s);
/* Put back one lease read from the database (before serving).  Records for
 * addresses no subnet holds are kept (they may come back with the config). */
int bh_dhcp_server_restore(struct bh_dhcp_server *s, const struct bh_lease_rec *r);
/* Decide the answer to m (parsed OK), arrived as `in`, at `now` (seconds
 * since the epoch).  Updates the in-memory leases; out->changes must be
 * queued for the database before out->r is sent when out->after_commit. */
void bh_dhcp_server_handle(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m,
                           const struct bh_dhcp_in *in, int64_t now, struct bh_dhcp_out *out);
/* Count of leases bound and unexpired at `now` (walks every record). */
uint64_t bh_dhcp_server_active(const struct bh_dhcp_server *s, int64_t now);
/* Leases as a JSON array of {ip, mac, state, expires, hostname}. */
json_t *bh_dhcp_server_leases(const struct bh_dhcp_server *s);
/* The lease record of mac, if any (tests, diagnostics). */
const struct bh_lease_rec *bh_dhcp_server_find_mac(const struct bh_dhcp_server *s,
                                                   const uint8_t mac[6]);
const struct bh_lease_rec *bh_dhcp_server_find_ip(const struct bh_dhcp_server *s, uint32_t ip);

#endif
