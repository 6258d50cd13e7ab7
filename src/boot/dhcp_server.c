/*
 * dhcp_server.c - the DHCP decisions (see dhcp_server.h): lease table,
 * address allocation, and the answers of RFC 2131 4.3 and PXE 2.1.
 */
#include "dhcp_server.h"

#include "core/log.h"
#include "core/mac.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* A lease record with its two hash chains (1-based indexes, 0 = end). */
struct lease {
    struct bh_lease_rec rec;
    uint32_t next_mac, next_ip;
    bool used, in_mac;
};

struct subnet_state {
    uint32_t cursor;      /* next offset in the range to try */
    bool fresh_exhausted; /* every address of the range has a record */
};

struct bh_dhcp_server {
    struct bh_boot_config cfg;
    struct bh_dhcp_hooks hooks;
    struct lease *v; /* v[0] unused so that 0 means "none" */
    uint32_t n, cap, free_head, count;
    uint32_t *mac_b, *ip_b, nb; /* bucket heads, nb a power of two */
    struct subnet_state sub[BH_DHCP_MAX_SUBNETS];
};

static const uint8_t zero_mac[6];

/* ---- the lease table ----------------------------------------------------- */

static uint32_t hash_mac(const uint8_t m[6])
{
    uint64_t k = (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
                 (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5];
    return (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 32);
}

static uint32_t hash_ip(uint32_t ip)
{
    return (uint32_t)(((uint64_t)ip * 0x9e3779b97f4a7c15ull) >> 32);
}

static uint32_t find_mac(const struct bh_dhcp_server *s, const uint8_t mac[6])
{
    for (uint32_t i = s->mac_b[hash_mac(mac) & (s->nb - 1)]; i; i = s->v[i].next_mac)
        if (!memcmp(s->v[i].rec.mac, mac, 6))
            return i;
    return 0;
}

static uint32_t find_ip(const struct bh_dhcp_server *s, uint32_t ip)
{
    for (uint32_t i = s->ip_b[hash_ip(ip) & (s->nb - 1)]; i; i = s->v[i].next_ip)
        if (s->v[i].rec.ip == ip)
            return i;
    return 0;
}

static void link_lease(struct bh_dhcp_server *s, uint32_t i)
{
    struct lease *l = &s->v[i];
    uint32_t bi = hash_ip(l->rec.ip) & (s->nb - 1);
    l->next_ip = s->ip_b[bi];
    s->ip_b[bi] = i;
    l->in_mac = memcmp(l->rec.mac, zero_mac, 6) != 0;
    l->next_mac = 0;
    if (l->in_mac) {
        uint32_t bm = hash_mac(l->rec.mac) & (s->nb - 1);
        l->next_mac = s->mac_b[bm];
        s->mac_b[bm] = i;
    }
}

static void unlink_chain(uint32_t *head, uint32_t i, struct lease *v, bool by_mac)
{
    for (uint32_t *p = head; *p; p = by_mac ? &v[*p].next_mac : &v[*p].next_ip) {
        if (*p == i) {
            *p = by_mac ? v[i].next_mac : v[i].next_ip;
            return;
        }
    }
}

static void unlink_lease(struct bh_dhcp_server *s, uint32_t i)
{
    struct lease *l = &s->v[i];
    unlink_chain(&s->ip_b[hash_ip(l->rec.ip) & (s->nb - 1)], i, s->v, false);
    if (l->in_mac)
        unlink_chain(&s->mac_b[hash_mac(l->rec.mac) & (s->nb - 1)], i, s->v, true);
    l->in_mac = false;
}

static int rehash(struct bh_dhcp_server *s, uint32_t nb)
{
    uint32_t *mb = calloc(nb, sizeof(*mb)), *ib = calloc(nb, sizeof(*ib));
    if (!mb || !ib) {
        free(mb);
        free(ib);
        return BH_ENOMEM;
    }
    free(s->mac_b);
    free(s->ip_b);
    s->mac_b = mb;
    s->ip_b = ib;
    s->nb = nb;
    for (uint32_t i = 1; i < s->n; i++)
        if (s->v[i].used)
            link_lease(s, i);
    return 0;
}

/* A new record for rec (not yet in the table); 0 when full. */
static uint32_t add_lease(struct bh_dhcp_server *s, const struct bh_lease_rec *rec)
{
    if (s->count >= BH_DHCP_MAX_LEASES)
        return 0;
    if (s->count + 1 > s->nb && rehash(s, s->nb * 2))
        return 0;
    uint32_t i = s->free_head;
    if (i) {
        s->free_head = s->v[i].next_mac;
    } else {
        if (s->n == s->cap) {
            uint32_t nc = s->cap * 2;
            struct lease *nv = realloc(s->v, nc * sizeof(*nv));
            if (!nv)
                return 0;
            s->v = nv;
            s->cap = nc;
        }
        i = s->n++;
    }
    memset(&s->v[i], 0, sizeof(s->v[i]));
    s->v[i].rec = *rec;
    s->v[i].rec.del = false;
    s->v[i].used = true;
    link_lease(s, i);
    s->count++;
    return i;
}

static void drop_lease(struct bh_dhcp_server *s, uint32_t i)
{
    unlink_lease(s, i);
    s->v[i].used = false;
    s->v[i].next_mac = s->free_head;
    s->free_head = i;
    s->count--;
}

int bh_dhcp_server_new(const struct bh_boot_config *cfg, const struct bh_dhcp_hooks *hooks,
                       struct bh_dhcp_server **out, struct bh_err *err)
{
    struct bh_dhcp_server *s = calloc(1, sizeof(*s));
    if (!s)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    s->cfg = *cfg;
    if (hooks)
        s->hooks = *hooks;
    s->cap = 256;
    s->n = 1;
    s->v = calloc(s->cap, sizeof(*s->v));
    if (!s->v || rehash(s, 256)) {
        bh_dhcp_server_free(s);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    *out = s;
    return 0;
}

void bh_dhcp_server_free(struct bh_dhcp_server *s)
{
    if (!s)
        return;
    free(s->v);
    free(s->mac_b);
    free(s->ip_b);
    free(s);
}

int bh_dhcp_server_restore(struct bh_dhcp_server *s, const struct bh_lease_rec *r)
{
    if (r->state != BH_LEASE_BOUND && r->state != BH_LEASE_RELEASED &&
        r->state != BH_LEASE_DECLINED)
        return BH_EINVAL;
    if (find_ip(s, r->ip))
        return BH_ECONFLICT;
    uint32_t m = memcmp(r->mac, zero_mac, 6) ? find_mac(s, r->mac) : 0;
    if (m) { /* one address per client: keep the later lease */
        if (s->v[m].rec.expires >= r->expires)
            return 0;
        drop_lease(s, m);
    }
    return add_lease(s, r) ? 0 : BH_ENOMEM;
}

const struct bh_lease_rec *bh_dhcp_server_find_mac(const struct bh_dhcp_server *s,
                                                   const uint8_t mac[6])
{
    uint32_t i = find_mac(s, mac);
    return i ? &s->v[i].rec : NULL;
}

const struct bh_lease_rec *bh_dhcp_server_find_ip(const struct bh_dhcp_server *s, uint32_t ip)
{
    uint32_t i = find_ip(s, ip);
    return i ? &s->v[i].rec : NULL;
}

uint64_t bh_dhcp_server_active(const struct bh_dhcp_server *s, int64_t now)
{
    uint64_t n = 0;
    for (uint32_t i = 1; i < s->n; i++)
        if (s->v[i].used && s->v[i].rec.state == BH_LEASE_BOUND && s->v[i].rec.expires > now)
            n++;
    return n;
}

static const char *state_name(uint8_t st)
{
    switch (st) {
    case BH_LEASE_OFFERED: return "offered";
    case BH_LEASE_BOUND: return "bound";
    case BH_LEASE_RELEASED: return "released";
    case BH_LEASE_DECLINED: return "declined";
    }
    return "?";
}

json_t *bh_dhcp_server_leases(const struct bh_dhcp_server *s)
{
    json_t *a = json_array();
    for (uint32_t i = 1; a && i < s->n; i++) {
        if (!s->v[i].used)
            continue;
        const struct bh_lease_rec *r = &s->v[i].rec;
        char ip[INET_ADDRSTRLEN], mac[BH_MAC_STRLEN], ts[BH_TIME_STRLEN];
        struct in_addr a4 = {htonl(r->ip)};
        inet_ntop(AF_INET, &a4, ip, sizeof(ip));
        bh_mac_format(r->mac, mac);
        bh_time_format(r->expires * 1000, ts);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:s}", "ip", ip, "mac", mac,
                                           "state", state_name(r->state), "expires", ts, "hostname",
                                           r->hostname));
    }
    return a;
}

/* ---- subnets and addresses ----------------------------------------------- */

static bool in_subnet(const struct bh_dhcp_subnet *sn, uint32_t ip)
{
    return (ip & ntohl(sn->mask.s_addr)) == ntohl(sn->net.s_addr);
}

static int subnet_of(const struct bh_dhcp_server *s, uint32_t ip)
{
    for (int i = 0; i < s->cfg.nsubnets; i++)
        if (in_subnet(&s->cfg.subnets[i], ip))
            return i;
    return -1;
}

/* RFC 2131 4.3.1: the subnet of the relay (giaddr), of a renewing client
 * talking to us directly (ciaddr), or of the receiving interface. */
static int select_subnet(const struct bh_dhcp_server *s, const struct bh_dhcp_msg *m,
                         const struct bh_dhcp_in *in)
{
    if (m->giaddr.s_addr)
        return subnet_of(s, ntohl(m->giaddr.s_addr));
    if (in->unicast && m->ciaddr.s_addr) {
        int i = subnet_of(s, ntohl(m->ciaddr.s_addr));
        if (i >= 0)
            return i;
    }
    for (int i = 0; i < s->cfg.nsubnets; i++)
        if (!strcmp(s->cfg.subnets[i].iface, in->iface))
            return i;
    return subnet_of(s, ntohl(in->iface_addr.s_addr));
}

static bool in_range(const struct bh_dhcp_subnet *sn, uint32_t ip)
{
    return sn->range_start.s_addr && ip >= ntohl(sn->range_start.s_addr) &&
           ip <= ntohl(sn->range_end.s_addr);
}

/* Addresses never handed out: the network and broadcast addresses, ours,
 * the router's. */
static bool excluded(const struct bh_dhcp_subnet *sn, const struct bh_dhcp_in *in, uint32_t ip)
{
    uint32_t mask = ntohl(sn->mask.s_addr), net = ntohl(sn->net.s_addr);
    return ip == net || ip == (net | ~mask) || ip == ntohl(in->iface_addr.s_addr) ||
           ip == ntohl(sn->router.s_addr);
}

/* Is record i holding its address at `now` for someone other than mac? */
static bool held_by_other(const struct bh_dhcp_server *s, uint32_t i, const uint8_t mac[6],
                          int64_t now)
{
    const struct bh_lease_rec *r = &s->v[i].rec;
    if (r->state == BH_LEASE_DECLINED)
        return r->expires > now;
    if (!memcmp(r->mac, mac, 6))
        return false;
    return (r->state == BH_LEASE_BOUND || r->state == BH_LEASE_OFFERED) && r->expires > now;
}

static bool available(const struct bh_dhcp_server *s, uint32_t ip, const uint8_t mac[6],
                      int64_t now)
{
    uint32_t i = find_ip(s, ip);
    return !i || !held_by_other(s, i, mac, now);
}

/* A free address of subnet si for mac: first one that never had a record
 * (round robin from a cursor, so addresses are not reused while unused ones
 * remain), then one whose holder let it expire.  0 when the pool is full. */
static uint32_t allocate(struct bh_dhcp_server *s, int si, const struct bh_dhcp_in *in,
                         const uint8_t mac[6], int64_t now)
{
    const struct bh_dhcp_subnet *sn = &s->cfg.subnets[si];
    struct subnet_state *st = &s->sub[si];
    if (!sn->range_start.s_addr)
        return 0;
    uint32_t lo = ntohl(sn->range_start.s_addr);
    uint64_t size = (uint64_t)ntohl(sn->range_end.s_addr) - lo + 1;
    if (!st->fresh_exhausted) {
        for (uint64_t k = 0; k < size; k++) {
            uint32_t ip = lo + (uint32_t)((st->cursor + k) % size);
            if (!excluded(sn, in, ip) && !find_ip(s, ip)) {
                st->cursor = (uint32_t)((st->cursor + k + 1) % size);
                return ip;
            }
        }
        st->fresh_exhausted = true;
    }
    for (uint64_t k = 0; k < size; k++) {
        uint32_t ip = lo + (uint32_t)((st->cursor + k) % size);
        if (!excluded(sn, in, ip) && available(s, ip, mac, now)) {
            st->cursor = (uint32_t)((st->cursor + k + 1) % size);
            return ip;
        }
    }
    return 0;
}

static void add_change(struct bh_dhcp_out *o, const struct bh_lease_rec *r, bool del)
{
    if (o->nchanges == BH_DHCP_MAX_CHANGES)
        return;
    o->changes[o->nchanges] = *r;
    o->changes[o->nchanges].del = del;
    o->nchanges++;
}

static bool persisted(uint8_t state)
{
    return state == BH_LEASE_BOUND || state == BH_LEASE_RELEASED || state == BH_LEASE_DECLINED;
}

/* Give ip to mac in the table: the client's old record (another address)
 * and another client's stale record for ip go.  Returns the record, or 0
 * when the table is full.  A move away from a stored address queues its
 * deletion. */
static uint32_t assign(struct bh_dhcp_server *s, const uint8_t mac[6], uint32_t ip,
                       struct bh_dhcp_out *o)
{
    uint32_t mi = find_mac(s, mac);
    if (mi && s->v[mi].rec.ip == ip)
        return mi;
    if (mi) {
        if (persisted(s->v[mi].rec.state))
            add_change(o, &s->v[mi].rec, true);
        int si = subnet_of(s, s->v[mi].rec.ip);
        if (si >= 0)
            s->sub[si].fresh_exhausted = false;
        drop_lease(s, mi);
    }
    uint32_t ii = find_ip(s, ip);
    if (ii)
        drop_lease(s, ii); /* stale: its row is overwritten when this one is stored */
    struct bh_lease_rec r = {.ip = ip, .state = BH_LEASE_OFFERED};
    memcpy(r.mac, mac, 6);
    return add_lease(s, &r);
}

static uint32_t lease_time(const struct bh_dhcp_server *s, int si)
{
    uint32_t t = s->cfg.subnets[si].lease_time;
    if (!t)
        t = s->cfg.lease_time > 0 && s->cfg.lease_time < UINT32_MAX ? (uint32_t)s->cfg.lease_time
                                                                    : 3600;
    return t;
}

/* ---- answers ------------------------------------------------------------- */

static void decide(struct bh_dhcp_server *s, struct bh_dhcp_out *o)
{
    memset(&o->boot, 0, sizeof(o->boot));
    if (s->hooks.decide)
        s->hooks.decide(s->hooks.ud, &o->client, &o->boot);
    o->boot.filename[sizeof(o->boot.filename) - 1] = '\0';
    o->r.boot = &o->boot;
}

static void set_dest(const struct bh_dhcp_msg *m, struct bh_dhcp_out *o)
{
    /* RFC 2131 4.1: through the relay; NAKs broadcast; to ciaddr when the
     * client has one; else broadcast.  The unicast-to-yiaddr path (which
     * needs an ARP entry made by hand or a raw socket) is never taken:
     * clients without an address get broadcasts, as the broadcast bit
     * fallback of 4.1 allows. */
    if (m->giaddr.s_addr) {
        o->dest = BH_DHCP_TO_RELAY;
        o->dest_addr = m->giaddr;
    } else if (o->r.type != BH_DHCPNAK && m->ciaddr.s_addr) {
        o->dest = BH_DHCP_TO_CLIENT;
        o->dest_addr = m->ciaddr;
    } else {
        o->dest = BH_DHCP_TO_BROADCAST;
    }
}

static void nak(struct bh_dhcp_out *o, const struct bh_dhcp_msg *m, const char *why)
{
    o->outcome = BH_DHCP_O_NAK;
    o->reply = true;
    o->r.type = BH_DHCPNAK;
    o->r.message = why;
    o->why = why;
    o->event = "dhcp.nak";
    set_dest(m, o);
}

static void silent(struct bh_dhcp_out *o, const char *why)
{
    o->outcome = BH_DHCP_O_IGNORED;
    o->reply = false;
    o->why = why;
}

/* The address part of an OFFER/ACK in subnet si. */
static void fill_lease_opts(struct bh_dhcp_server *s, int si, struct bh_dhcp_out *o)
{
    const struct bh_dhcp_subnet *sn = &s->cfg.subnets[si];
    o->r.mask = sn->mask;
    o->r.router = sn->router;
    o->r.ndns = sn->ndns;
    memcpy(o->r.dns, sn->dns, sizeof(o->r.dns));
    o->r.domain = sn->domain;
}

static bool boot_client(const struct bh_boot_client *c)
{
    return c->pxe || c->http || c->ipxe || c->rpi;
}

/* Tie address ip to a boot client's MAC (bh_dhcp_out.seen), when the
 * packet came as a client sends it: from port 68 (RFC 2131 4.1), from
 * 0.0.0.0 or that very address, or through a relay (giaddr, from the
 * relay's port 67). */
static void note_seen(const struct bh_dhcp_msg *m, const struct bh_dhcp_in *in, struct in_addr ip,
                      int64_t until, struct bh_dhcp_out *o)
{
    bool relayed = m->giaddr.s_addr != 0;
    bool direct = !relayed && in->src_port == BH_DHCP_CLIENT_PORT &&
                  (!in->src.s_addr || in->src.s_addr == ip.s_addr);
    bool via_relay =
        relayed && in->src_port == BH_DHCP_SERVER_PORT && in->src.s_addr == m->giaddr.s_addr;
    if (!ip.s_addr || !boot_client(&o->client) || (!direct && !via_relay))
        return;
    o->seen = ip;
    o->seen_until = until;
    o->seen_relayed = relayed;
}

/* ProxyDHCP (PXE 2.1): boot information for boot clients, never an
 * address; on 67 only DISCOVER is answered, on 4011 REQUEST and INFORM. */
static void proxy(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m,
                  const struct bh_dhcp_in *in, struct bh_dhcp_out *o)
{
    if (!boot_client(&o->client))
        return silent(o, "not a boot client");
    /* the address a boot client has (ciaddr) or asks another server for
     * (option 50 of its REQUEST, RFC 2131 4.3.2): we answer neither, but a
     * later HTTP fetch from it is this machine booting */
    if (m->type == BH_DHCPREQUEST || m->type == BH_DHCPINFORM)
        note_seen(m, in,
                  m->ciaddr.s_addr      ? m->ciaddr
                  : m->has_requested_ip ? m->requested_ip
                                        : m->ciaddr,
                  0, o);
    bool boot_port = in->port == BH_PXE_BOOT_PORT;
    if (boot_port ? (m->type != BH_DHCPREQUEST && m->type != BH_DHCPINFORM)
                  : m->type != BH_DHCPDISCOVER)
        return silent(o, "proxy: not answered on this port");
    decide(s, o);
    if (o->boot.kind == BH_BOOT_NONE) /* the policy says why */
        return silent(o, o->boot.why[0] ? o->boot.why : "policy: no boot");
    o->reply = true;
    if (boot_port) {
        o->r.type = BH_DHCPACK;
        o->r.ciaddr = m->ciaddr;
        o->outcome = BH_DHCP_O_PXE_ACK;
        o->event = "pxe.ack";
        o->dest = BH_DHCP_TO_SOURCE;
    } else {
        o->r.type = BH_DHCPOFFER;
        o->outcome = BH_DHCP_O_PROXY_OFFER;
        o->event = "dhcp.offer";
        set_dest(m, o);
    }
}

static void reserved_hostname(struct bh_dhcp_server *s, const uint8_t mac[6], uint32_t *ip,
                              char *host, size_t cap)
{
    struct in_addr a = {0};
    host[0] = '\0';
    *ip = 0;
    if (s->hooks.reservation && s->hooks.reservation(s->hooks.ud, mac, &a, host, cap))
        *ip = ntohl(a.s_addr);
    host[cap - 1] = '\0';
}

static void discover(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m,
                     const struct bh_dhcp_in *in, int si, int64_t now, struct bh_dhcp_out *o)
{
    const struct bh_dhcp_subnet *sn = &s->cfg.subnets[si];
    const uint8_t *mac = o->client.mac;
    char host[BH_LEASE_HOSTNAME_MAX];
    uint32_t resv, ip = 0;
    reserved_hostname(s, mac, &resv, host, sizeof(host));
    uint32_t mi = find_mac(s, mac);
    if (resv && in_subnet(sn, resv)) {
        if (!available(s, resv, mac, now))
            return silent(o, "reserved address held by another client");
        ip = resv;
    } else if (mi && in_range(sn, s->v[mi].rec.ip) && !excluded(sn, in, s->v[mi].rec.ip) &&
               available(s, s->v[mi].rec.ip, mac, now)) {
        ip = s->v[mi].rec.ip; /* RFC 2131 4.3.1: the client's current or last address */
    } else if (m->has_requested_ip && in_range(sn, ntohl(m->requested_ip.s_addr)) &&
               !excluded(sn, in, ntohl(m->requested_ip.s_addr)) &&
               available(s, ntohl(m->requested_ip.s_addr), mac, now)) {
        ip = ntohl(m->requested_ip.s_addr);
    } else {
        ip = allocate(s, si, in, mac, now);
    }
    if (!ip)
        return silent(o, "address pool exhausted");
    uint32_t li = assign(s, mac, ip, o);
    if (!li)
        return silent(o, "lease table full");
    struct bh_lease_rec *r = &s->v[li].rec;
    /* a bound lease stays bound (and keeps its end) while re-offered */
    if (!(r->state == BH_LEASE_BOUND && r->expires > now)) {
        r->state = BH_LEASE_OFFERED;
        r->expires = now + BH_DHCP_OFFER_HOLD_S;
    }
    bh_strlcpy(r->hostname, host[0] ? host : o->client.hostname, sizeof(r->hostname));
    o->outcome = BH_DHCP_O_OFFER;
    o->reply = true;
    o->event = "dhcp.offer";
    o->r.type = BH_DHCPOFFER;
    o->r.yiaddr.s_addr = htonl(ip);
    o->r.lease_time = lease_time(s, si);
    o->r.hostname = host[0] ? r->hostname : NULL;
    fill_lease_opts(s, si, o);
    decide(s, o);
    set_dest(m, o);
}

/* ACK ip to the client for a fresh lease_time, stored before it leaves. */
static void ack(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m, const struct bh_dhcp_in *in,
                int si, uint32_t ip, int64_t now, struct bh_dhcp_out *o)
{
    char host[BH_LEASE_HOSTNAME_MAX];
    uint32_t resv;
    reserved_hostname(s, o->client.mac, &resv, host, sizeof(host));
    uint32_t li = assign(s, o->client.mac, ip, o);
    if (!li)
        return silent(o, "lease table full");
    struct bh_lease_rec *r = &s->v[li].rec;
    uint32_t t = lease_time(s, si);
    r->state = BH_LEASE_BOUND;
    r->expires = now + t;
    if (host[0] || o->client.hostname[0])
        bh_strlcpy(r->hostname, host[0] ? host : o->client.hostname, sizeof(r->hostname));
    add_change(o, r, false);
    o->after_commit = true;
    o->outcome = BH_DHCP_O_ACK;
    o->reply = true;
    o->event = "dhcp.ack";
    o->r.type = BH_DHCPACK;
    o->r.ciaddr = m->ciaddr;
    o->r.yiaddr.s_addr = htonl(ip);
    o->r.lease_time = t;
    o->r.hostname = host[0] ? r->hostname : NULL;
    note_seen(m, in, o->r.yiaddr, r->expires, o);
    fill_lease_opts(s, si, o);
    decide(s, o);
    set_dest(m, o);
}

/* RFC 2131 4.3.2: DHCPREQUEST in its four states. */
static void request(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m,
                    const struct bh_dhcp_in *in, int si, int64_t now, struct bh_dhcp_out *o)
{
    const struct bh_dhcp_subnet *sn = &s->cfg.subnets[si];
    const uint8_t *mac = o->client.mac;
    uint32_t mi = find_mac(s, mac);
    char host[BH_LEASE_HOSTNAME_MAX];
    uint32_t resv;
    reserved_hostname(s, mac, &resv, host, sizeof(host));
    if (resv && !in_subnet(sn, resv))
        resv = 0;

    if (m->has_server_id) { /* SELECTING */
        if (m->server_id.s_addr != in->iface_addr.s_addr) {
            /* the client took another server's offer: free ours */
            if (mi && s->v[mi].rec.state == BH_LEASE_OFFERED)
                s->v[mi].rec.expires = now;
            return silent(o, "client chose another server");
        }
        if (!m->has_requested_ip)
            return nak(o, m, "requested address missing");
        uint32_t ip = ntohl(m->requested_ip.s_addr);
        if (!mi || s->v[mi].rec.ip != ip || !in_subnet(sn, ip))
            return nak(o, m, "address not offered to this client");
        return ack(s, m, in, si, ip, now, o);
    }

    uint32_t ip;
    bool init_reboot = !m->ciaddr.s_addr;
    if (init_reboot) {
        if (!m->has_requested_ip)
            return silent(o, "request without address");
        ip = ntohl(m->requested_ip.s_addr);
    } else {
        ip = ntohl(m->ciaddr.s_addr); /* RENEWING / REBINDING */
    }
    if (!in_subnet(sn, ip))
        return nak(o, m, "wrong network");
    if (resv && resv != ip)
        return nak(o, m, "address reserved elsewhere for this client");
    if (mi && s->v[mi].rec.ip == ip && s->v[mi].rec.state != BH_LEASE_DECLINED)
        return ack(s, m, in, si, ip, now, o);
    if (!available(s, ip, mac, now))
        return nak(o, m, "address held by another client");
    if (init_reboot && !mi && !resv)
        return silent(o, "no record of this client"); /* RFC 2131 4.3.2 */
    if (mi && init_reboot)
        return nak(o, m, "client has another address");
    if (resv == ip || (in_range(sn, ip) && !excluded(sn, in, ip)))
        return ack(s, m, in, si, ip, now, o); /* a free address the client already uses */
    return nak(o, m, "address not in the pool");
}

static void release(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m,
                    const struct bh_dhcp_in *in, int64_t now, struct bh_dhcp_out *o)
{
    /* RFC 2131 4.3.4: ciaddr names the address; the client keeps no state */
    if (m->has_server_id && m->server_id.s_addr != in->iface_addr.s_addr)
        return silent(o, "release for another server");
    uint32_t mi = find_mac(s, o->client.mac);
    if (!mi || s->v[mi].rec.ip != ntohl(m->ciaddr.s_addr) || s->v[mi].rec.state != BH_LEASE_BOUND)
        return silent(o, "release of an unknown lease");
    struct bh_lease_rec *r = &s->v[mi].rec;
    r->state = BH_LEASE_RELEASED;
    r->expires = now;
    add_change(o, r, false);
    o->outcome = BH_DHCP_O_RELEASE;
    o->event = "dhcp.release";
    o->r.yiaddr = m->ciaddr;
}

static void decline(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m,
                    const struct bh_dhcp_in *in, int64_t now, struct bh_dhcp_out *o)
{
    /* RFC 2131 4.3.3: option 50 names the address found in use */
    if (m->has_server_id && m->server_id.s_addr != in->iface_addr.s_addr)
        return silent(o, "decline for another server");
    uint32_t mi = find_mac(s, o->client.mac);
    if (!m->has_requested_ip || !mi || s->v[mi].rec.ip != ntohl(m->requested_ip.s_addr))
        return silent(o, "decline of an unknown lease");
    struct bh_lease_rec *r = &s->v[mi].rec;
    unlink_lease(s, mi);
    memset(r->mac, 0, 6);
    r->state = BH_LEASE_DECLINED;
    r->expires = now + BH_DHCP_DECLINE_HOLD_S;
    r->hostname[0] = '\0';
    link_lease(s, mi);
    add_change(o, r, false);
    o->outcome = BH_DHCP_O_DECLINE;
    o->event = "dhcp.decline";
    o->r.yiaddr = m->requested_ip;
}

/* RFC 2131 4.3.5: configuration for a client that has its address. */
static void inform(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m, int si,
                   struct bh_dhcp_out *o)
{
    o->outcome = BH_DHCP_O_INFORM;
    o->reply = true;
    o->event = NULL;
    o->r.type = BH_DHCPACK;
    o->r.ciaddr = m->ciaddr;
    fill_lease_opts(s, si, o);
    decide(s, o);
    set_dest(m, o);
}

void bh_dhcp_server_handle(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m,
                           const struct bh_dhcp_in *in, int64_t now, struct bh_dhcp_out *o)
{
    memset(o, 0, sizeof(*o));
    bh_dhcp_client_from_msg(m, &o->client);
    bh_strlcpy(o->client.iface, in->iface, sizeof(o->client.iface));
    o->client.iface_addr = in->iface_addr;
    o->client.mode = in->mode;
    o->r.server_id = in->iface_addr;
    if (m->type == 0)
        return silent(o, "BOOTP without DHCP");
    if (in->mode == BH_DHCP_PROXY || in->port == BH_PXE_BOOT_PORT) {
        o->client.mode = BH_DHCP_PROXY;
        return proxy(s, m, in, o);
    }
    if (in->mode != BH_DHCP_FULL)
        return silent(o, "DHCP off on this interface");
    int si = (m->type == BH_DHCPINFORM && m->ciaddr.s_addr) ? subnet_of(s, ntohl(m->ciaddr.s_addr))
                                                            : select_subnet(s, m, in);
    if (si < 0)
        return silent(o, "no subnet for this client");
    switch (m->type) {
    case BH_DHCPDISCOVER: return discover(s, m, in, si, now, o);
    case BH_DHCPREQUEST: return request(s, m, in, si, now, o);
    case BH_DHCPRELEASE: return release(s, m, in, now, o);
    case BH_DHCPDECLINE: return decline(s, m, in, now, o);
    case BH_DHCPINFORM: return inform(s, m, si, o);
    default: return silent(o, "unsupported message type");
    }
}
