/*
 * dhcp.h - the DHCPv4 server: ProxyDHCP (port 67 and the PXE boot server on
 * 4011) and full DHCP (pools, reservations, relays), per interface.
 * RFC 2131/2132, PXE 2.1, RFC 4578, 3004, 3046.
 *
 * Runs on the caller's libuv loop and never blocks it.  Boot decisions and
 * reservations come from hooks that answer from memory.  In full mode a
 * lease is on disk before its ACK leaves: acknowledgements wait for a group
 * commit (one fsync for every lease that arrived within commit_ms), so a
 * boot storm is not bound by one fsync per lease and kill -9 loses nothing
 * that was acknowledged.
 */
#ifndef BH_BOOT_DHCP_H
#define BH_BOOT_DHCP_H

#include "boot.h"
#include "bootevent.h"

#include <jansson.h>
#include <uv.h>

struct bh_dhcp;

/* The lease database's file name in the data directory. */
#define BH_DHCP_LEASE_DB "leases.db"

struct bh_dhcp_hooks {
    /* Loop thread, from memory.  Decide how client c boots; d arrives
     * zeroed.  Asked for: proxy DISCOVERs of boot clients (pxe, http, ipxe
     * or rpi set; others are never answered in proxy mode), PXE boot server
     * requests on 4011, and every full-mode OFFER, ACK and INFORM.  kind
     * NONE: proxy stays silent; full mode hands out the address without
     * boot options.  c->mode says which (4011 counts as proxy). */
    void (*decide)(void *ud, const struct bh_boot_client *c, struct bh_boot_decision *d);
    /* Loop thread, from memory.  A fixed address for this MAC (full mode,
     * every DISCOVER and REQUEST): return true and fill *ip (and hostname,
     * if known; it is sent as option 12).  Used only when ip lies in the
     * subnet the request came through; it need not lie in the range.  The
     * allocator cannot ask "is this address reserved?", so reserved
     * addresses should be kept outside the dynamic range.  May be NULL. */
    bool (*reservation)(void *ud, const uint8_t mac[6], struct in_addr *ip, char *hostname,
                        size_t hostname_cap);
    /* Loop thread.  Something a user should see happened to client c:
     * ev->type says what (bootevent.h).  "dhcp.ack" fires when the ACK
     * leaves, after its lease is committed.  ev is borrowed for the call.
     * May be NULL. */
    void (*on_event)(void *ud, const struct bh_boot_client *c, const struct bh_dhcp_event *ev);
    /* Loop thread, from memory.  A boot client's MAC was tied to address
     * ip by this request (from port 68, or through a relay: `relayed`): a
     * lease we bound until `until` (seconds since the epoch), or, until =
     * 0, an address it has or asks another DHCP server for (proxy mode).
     * May be NULL. */
    void (*on_seen)(void *ud, const struct bh_boot_client *c, struct in_addr ip, int64_t until,
                    bool relayed);
    /* Loop thread, from memory, once per request.  The mode interface
     * `iface` runs in now (`configured` is its mode in the config), so an
     * admin can switch it at run time.  With this hook every configured
     * interface is bound at start, whatever its mode (off too, so that it
     * can be switched on), with the PXE boot server on 4011, and the lease
     * database is always opened; requests to an interface that is off are
     * ignored, as are 4011 requests to one that is not in proxy mode.
     * NULL: the configured modes are fixed and only what they need is
     * bound and opened. */
    enum bh_dhcp_mode (*mode)(void *ud, const char *iface, enum bh_dhcp_mode configured);
    void *ud;
};

/* The counters, once: X(field, Prometheus sample or NULL, type, help).
 * The struct, the /metrics lines (bootsvc.c) and the stats `bootherd dhcpd`
 * logs on SIGUSR1 are all made from this list. */
#define BH_DHCP_STATS(X)                                                                           \
    X(received, "bootherd_dhcp_packets_total", "counter", "DHCP packets received.")                \
    X(malformed, "bootherd_dhcp_malformed_total", "counter", "Malformed DHCP packets dropped.")    \
    X(ignored, "bootherd_dhcp_ignored_total", "counter", "")                                       \
    X(offers, "bootherd_dhcp_replies_total{type=\"offer\"}", "counter", "")                        \
    X(acks, "bootherd_dhcp_replies_total{type=\"ack\"}", "counter", "")                            \
    X(naks, "bootherd_dhcp_replies_total{type=\"nak\"}", "counter", "")                            \
    X(proxy_offers, "bootherd_dhcp_replies_total{type=\"proxy_offer\"}", "counter", "")            \
    X(pxe_acks, "bootherd_dhcp_replies_total{type=\"pxe_ack\"}", "counter", "")                    \
    X(releases, NULL, "counter", "")                                                               \
    X(declines, NULL, "counter", "")                                                               \
    X(informs, NULL, "counter", "")                                                                \
    X(leases_active, "bootherd_dhcp_leases", "gauge", "")                                          \
    X(commits, "bootherd_dhcp_lease_commits_total", "counter", "")                                 \
    X(commit_nanos, NULL, "counter", "")
#define BH_DHCP_STATS_FIELD(f, metric, type, help) uint64_t f;
struct bh_dhcp_stats {
    BH_DHCP_STATS(BH_DHCP_STATS_FIELD)
};

/* Bind the interfaces of cfg (call while still privileged: port 67,
 * SO_BINDTODEVICE) and, when an interface is in full mode, open and load
 * the lease database `lease_db` (a path relative to the working directory;
 * unused and may be NULL in proxy mode) and start its writer thread.  The
 * server identifier of each interface is its IPv4 address, read now.
 * Interfaces with mode OFF are skipped; proxy interfaces also get the PXE
 * boot server on 4011.  hooks are copied.  BH_EINVAL (an interface without
 * an IPv4 address), BH_ESYS (a port taken, no privilege), BH_EIO (the
 * database).  When running as root, the lease file should belong to the
 * service user before this opens it (dhcpd_cmd.c shows how). */
int bh_dhcp_start(uv_loop_t *loop, const struct bh_boot_config *cfg, const char *lease_db,
                  const struct bh_dhcp_hooks *hooks, struct bh_dhcp **out, struct bh_err *err);
/* Stop answering, flush pending commits (blocks the loop for that last
 * commit), send the ACKs that waited for it, close handles (loop thread);
 * bh_dhcp_free after the loop ran the close callbacks. */
void bh_dhcp_stop(struct bh_dhcp *d);
void bh_dhcp_free(struct bh_dhcp *d);
/* Counters (any thread; relaxed atomics).  leases_active is refreshed
 * every second; ignored includes requests dropped for lack of room. */
void bh_dhcp_get_stats(const struct bh_dhcp *d, struct bh_dhcp_stats *out);
/* The current leases as a JSON array (loop thread). */
json_t *bh_dhcp_leases(const struct bh_dhcp *d);

#endif
