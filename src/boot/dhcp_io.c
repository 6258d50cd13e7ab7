/*
 * dhcp_io.c - the DHCP server on a libuv loop (dhcp.h): sockets, the lease
 * database, replies held back until their lease is durable, events, stats.
 * Decisions are dhcp_server.c's, packets dhcp_proto.c's.
 *
 * Sockets: one UDP socket per interface on 0.0.0.0:67, tied to it with
 * SO_BINDTODEVICE, plus 0.0.0.0:4011 on proxy interfaces (PXE boot
 * server).  uv_poll rather than uv_udp so that recvmsg/sendmsg can use
 * IP_PKTINFO: the request's destination tells broadcast from unicast, and
 * replies leave with our address on that interface as their source.
 *
 * Where replies go (RFC 2131 4.1): to the relay (giaddr:67), to ciaddr:68
 * when the client has an address, else broadcast to 255.255.255.255:68 on
 * the receiving interface.  Broadcasting instead of unicasting to yiaddr
 * means no ARP entries written by hand and no raw sockets; every client
 * accepts it, at the cost of waking the other hosts of the segment.
 *
 * Nothing is allocated per packet: the receive buffer, the parsed message,
 * the decision and the ring of replies waiting for a commit are made once.
 */
#include "dhcp.h"

#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "dhcp_proto.h"
#include "dhcp_server.h"
#include "store/leases.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_BURST     64   /* datagrams read per wake-up before yielding */
#define REPLY_MAX    1472 /* Ethernet MTU - IP - UDP: replies are never fragmented */
#define PARK_SLOTS   2048 /* replies waiting for their lease commit */
#define SWEEP_MS     1000 /* leases_active refresh; a walk of the table */
#define MAX_SOCKETS  (2 * BH_DHCP_MAX_IFACES)
#define RCVBUF_BYTES (4 << 20) /* a boot storm waits in the kernel instead of being dropped */

struct iface {
    char name[IFNAMSIZ];
    unsigned index;
    struct in_addr addr;
    enum bh_dhcp_mode mode;
};

struct sock {
    uv_poll_t poll;
    int fd;
    uint16_t port;
    struct iface *ifc;
    struct bh_dhcp *d;
};

/* A reply held until its lease is committed, with what its event needs. */
struct parked {
    int64_t seq;
    struct sock *s;
    struct sockaddr_in to;
    uint16_t len;
    const char *event;
    struct in_addr yiaddr;
    uint32_t lease_time;
    struct bh_boot_client client;
    struct bh_boot_decision boot;
    uint8_t pkt[REPLY_MAX];
};

struct bh_dhcp {
    uv_loop_t *loop;
    struct bh_dhcp_hooks hooks;
    struct bh_dhcp_server *srv;
    struct bh_leasedb *db;
    struct iface ifaces[BH_DHCP_MAX_IFACES];
    int nifaces;
    struct sock socks[MAX_SOCKETS];
    int nsocks;
    uv_async_t committed;
    uv_timer_t sweep;
    bool stopped;
    uint64_t commits_at_stop, nanos_at_stop;
    struct parked *park; /* ring of PARK_SLOTS */
    size_t park_head, park_n;
    /* per-packet scratch, made once */
    uint8_t rx[BH_DHCP_PKT_MAX + 1];
    uint8_t tx[REPLY_MAX];
    struct bh_dhcp_msg msg;
    struct bh_dhcp_out out;
    _Atomic uint64_t received, malformed, ignored, offers, acks, naks, proxy_offers, pxe_acks,
        releases, declines, informs, leases_active, dropped;
};

#define COUNT(d, field) atomic_fetch_add_explicit(&(d)->field, 1, memory_order_relaxed)

/* ---- events -------------------------------------------------------------- */

static void emit(struct bh_dhcp *d, const char *type, const struct bh_boot_client *c,
                 const struct bh_boot_decision *b, struct in_addr yiaddr, uint32_t lease_time)
{
    if (!type || !d->hooks.on_event)
        return;
    struct bh_dhcp_event ev = {
        .mode = c->mode == BH_DHCP_FULL ? BH_DHCP_FULL : BH_DHCP_PROXY,
        .ip = yiaddr,
        .relay = c->giaddr,
        .boot = b->kind,
        .arch = c->arch,
        .lease_time = lease_time,
    };
    bh_strlcpy(ev.type, type, sizeof(ev.type));
    bh_strlcpy(ev.mac, c->mac_str, sizeof(ev.mac));
    bh_strlcpy(ev.iface, c->iface, sizeof(ev.iface));
    bh_strlcpy(ev.file, b->filename, sizeof(ev.file));
    bh_strlcpy(ev.why, b->why, sizeof(ev.why));
    d->hooks.on_event(d->hooks.ud, c, &ev);
}

/* ---- sending ------------------------------------------------------------- */

static void send_to(struct bh_dhcp *d, struct sock *s, const struct sockaddr_in *to,
                    const uint8_t *pkt, size_t len)
{
    char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = {0};
    struct iovec iov = {(void *)pkt, len};
    struct msghdr mh = {.msg_name = (void *)to,
                        .msg_namelen = sizeof(*to),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cbuf,
                        .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = IPPROTO_IP;
    cm->cmsg_type = IP_PKTINFO;
    cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi = {0};
    pi.ipi_ifindex = (int)s->ifc->index;
    pi.ipi_spec_dst = s->ifc->addr; /* our address on the interface as the source */
    memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
    ssize_t n;
    do
        n = sendmsg(s->fd, &mh, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        COUNT(d, dropped);
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &to->sin_addr, a, sizeof(a));
        bh_log(BH_LOG_DEBUG, "dhcp send failed", "iface=%s to=%s err=%s", s->ifc->name, a,
               strerror(errno));
    }
}

static void dest_addr(const struct bh_dhcp_out *o, const struct sockaddr_in *src,
                      struct sockaddr_in *to)
{
    memset(to, 0, sizeof(*to));
    to->sin_family = AF_INET;
    switch (o->dest) {
    case BH_DHCP_TO_RELAY:
        to->sin_addr = o->dest_addr;
        to->sin_port = htons(BH_DHCP_SERVER_PORT);
        break;
    case BH_DHCP_TO_CLIENT:
        to->sin_addr = o->dest_addr;
        to->sin_port = htons(BH_DHCP_CLIENT_PORT);
        break;
    case BH_DHCP_TO_SOURCE: *to = *src; break;
    case BH_DHCP_TO_BROADCAST:
        to->sin_addr.s_addr = htonl(INADDR_BROADCAST);
        to->sin_port = htons(BH_DHCP_CLIENT_PORT);
        break;
    }
}

/* Send every parked reply whose lease is on disk (loop thread). */
static void flush_parked(struct bh_dhcp *d)
{
    int64_t done = d->db ? bh_leasedb_committed(d->db) : INT64_MAX;
    while (d->park_n) {
        struct parked *p = &d->park[d->park_head];
        if (p->seq > done)
            break;
        send_to(d, p->s, &p->to, p->pkt, p->len);
        emit(d, p->event, &p->client, &p->boot, p->yiaddr, p->lease_time);
        d->park_head = (d->park_head + 1) % PARK_SLOTS;
        d->park_n--;
    }
}

static void on_committed(uv_async_t *h)
{
    flush_parked(h->data);
}

static void wake_loop(void *ud)
{
    uv_async_send(ud); /* writer thread */
}

/* ---- receiving ----------------------------------------------------------- */

static void count_outcome(struct bh_dhcp *d, enum bh_dhcp_outcome o)
{
    switch (o) {
    case BH_DHCP_O_IGNORED: COUNT(d, ignored); break;
    case BH_DHCP_O_OFFER: COUNT(d, offers); break;
    case BH_DHCP_O_ACK: COUNT(d, acks); break;
    case BH_DHCP_O_NAK: COUNT(d, naks); break;
    case BH_DHCP_O_PROXY_OFFER: COUNT(d, proxy_offers); break;
    case BH_DHCP_O_PXE_ACK: COUNT(d, pxe_acks); break;
    case BH_DHCP_O_RELEASE: COUNT(d, releases); break;
    case BH_DHCP_O_DECLINE: COUNT(d, declines); break;
    case BH_DHCP_O_INFORM: COUNT(d, informs); break;
    }
}

static void handle(struct bh_dhcp *d, struct sock *s, size_t len, const struct sockaddr_in *src,
                   struct in_addr dst)
{
    char from[INET_ADDRSTRLEN];
    enum bh_dhcp_parse_err pe = bh_dhcp_parse(d->rx, len, &d->msg);
    if (pe) {
        COUNT(d, malformed);
        inet_ntop(AF_INET, &src->sin_addr, from, sizeof(from));
        bh_log(BH_LOG_DEBUG, "dhcp malformed packet", "iface=%s from=%s len=%zu why=%s",
               s->ifc->name, from, len, bh_dhcp_parse_err_name(pe));
        return;
    }
    enum bh_dhcp_mode mode =
        d->hooks.mode ? d->hooks.mode(d->hooks.ud, s->ifc->name, s->ifc->mode) : s->ifc->mode;
    if (mode == BH_DHCP_OFF || (s->port == BH_PXE_BOOT_PORT && mode != BH_DHCP_PROXY) ||
        (mode == BH_DHCP_FULL && !d->db)) {
        COUNT(d, ignored);
        return;
    }
    struct bh_dhcp_in in = {
        s->ifc->name,  s->ifc->addr,        mode, s->port, dst.s_addr != htonl(INADDR_BROADCAST),
        src->sin_addr, ntohs(src->sin_port)};
    struct bh_dhcp_out *o = &d->out;
    bh_dhcp_server_handle(d->srv, &d->msg, &in, bh_wall_ms() / 1000, o);
    if (o->seen.s_addr && d->hooks.on_seen)
        d->hooks.on_seen(d->hooks.ud, &o->client, o->seen, o->seen_until, o->seen_relayed);
    int64_t seq = 0;
    /* changes come from full mode only, which always has a database */
    for (int i = 0; d->db && i < o->nchanges; i++) {
        int64_t q = bh_leasedb_queue(d->db, &o->changes[i]);
        if (q < 0) { /* the disk is far behind: let the client retry */
            bh_log(BH_LOG_WARN, "lease queue full; request dropped", "mac=%s", o->client.mac_str);
            COUNT(d, dropped);
            return;
        }
        seq = q;
    }
    count_outcome(d, o->outcome);
    bh_log(BH_LOG_DEBUG, "dhcp", "iface=%s port=%u type=%s mac=%s outcome=%d why=%s", s->ifc->name,
           (unsigned)s->port, bh_dhcp_type_name(d->msg.type), o->client.mac_str, (int)o->outcome,
           o->why ? o->why : "");
    if (!o->reply) {
        emit(d, o->event, &o->client, &o->boot, o->r.yiaddr, 0);
        return;
    }
    struct sockaddr_in to;
    dest_addr(o, src, &to);
    bool wait = o->after_commit && d->db && seq > bh_leasedb_committed(d->db);
    if (!wait) {
        int n = bh_dhcp_build(&d->msg, &o->r, d->tx, sizeof(d->tx));
        if (n > 0) {
            send_to(d, s, &to, d->tx, (size_t)n);
            emit(d, o->event, &o->client, &o->boot, o->r.yiaddr, o->r.lease_time);
        }
        return;
    }
    if (d->park_n == PARK_SLOTS) {
        COUNT(d, dropped);
        return;
    }
    struct parked *p = &d->park[(d->park_head + d->park_n) % PARK_SLOTS];
    int n = bh_dhcp_build(&d->msg, &o->r, p->pkt, sizeof(p->pkt));
    if (n <= 0)
        return;
    p->seq = seq;
    p->s = s;
    p->to = to;
    p->len = (uint16_t)n;
    p->event = o->event;
    p->yiaddr = o->r.yiaddr;
    p->lease_time = o->r.lease_time;
    p->client = o->client;
    p->boot = o->boot;
    d->park_n++;
}

static void on_readable(uv_poll_t *h, int status, int events)
{
    struct sock *s = h->data;
    struct bh_dhcp *d = s->d;
    (void)events;
    if (status < 0 || d->stopped)
        return;
    for (int k = 0; k < RX_BURST; k++) {
        struct sockaddr_in src;
        char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct iovec iov = {d->rx, sizeof(d->rx)};
        struct msghdr mh = {.msg_name = &src,
                            .msg_namelen = sizeof(src),
                            .msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = cbuf,
                            .msg_controllen = sizeof(cbuf)};
        ssize_t n = recvmsg(s->fd, &mh, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break; /* EAGAIN: drained */
        }
        COUNT(d, received);
        if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > BH_DHCP_PKT_MAX) {
            COUNT(d, malformed);
            bh_log(BH_LOG_DEBUG, "dhcp malformed packet", "iface=%s why=oversized", s->ifc->name);
            continue;
        }
        struct in_addr dst = {htonl(INADDR_BROADCAST)};
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
                dst = pi.ipi_addr;
            }
        handle(d, s, (size_t)n, &src, dst);
    }
}

static void on_sweep(uv_timer_t *t)
{
    struct bh_dhcp *d = t->data;
    atomic_store(&d->leases_active, bh_dhcp_server_active(d->srv, bh_wall_ms() / 1000));
}

/* ---- setup --------------------------------------------------------------- */

/* Our address on ifc: one inside a configured subnet, else the first. */
static int iface_addr(const struct bh_boot_config *cfg, struct iface *ifc, struct bh_err *err)
{
    struct ifaddrs *all, *a;
    if (getifaddrs(&all) < 0)
        return bh_err_set(err, BH_ESYS, ifc->name, "getifaddrs: %s", strerror(errno));
    bool found = false;
    for (a = all; a; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || strcmp(a->ifa_name, ifc->name))
            continue;
        struct sockaddr_in sin;
        memcpy(&sin, a->ifa_addr, sizeof(sin));
        struct in_addr ip = sin.sin_addr;
        bool in_sub = false;
        for (int i = 0; i < cfg->nsubnets; i++)
            if ((ip.s_addr & cfg->subnets[i].mask.s_addr) == cfg->subnets[i].net.s_addr)
                in_sub = true;
        if (!found || in_sub)
            ifc->addr = ip;
        found = true;
        if (in_sub)
            break;
    }
    freeifaddrs(all);
    if (!found)
        return bh_err_set(err, BH_EINVAL, ifc->name,
                          "DHCP interface %s does not exist or has no IPv4 address", ifc->name);
    return 0;
}

static int open_socket(struct bh_dhcp *d, struct iface *ifc, uint16_t port, struct bh_err *err)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return bh_err_set(err, BH_ESYS, ifc->name, "socket: %s", strerror(errno));
    int one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifc->name, (socklen_t)strlen(ifc->name)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int e = errno;
        close(fd);
        return bh_err_set(err, BH_ESYS, ifc->name, "DHCP on %s port %u: %s", ifc->name,
                          (unsigned)port, strerror(e));
    }
    /* past net.core.rmem_max needs CAP_NET_ADMIN (still root here);
     * otherwise take what rmem_max allows */
    int rcvbuf = RCVBUF_BYTES;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sock *s = &d->socks[d->nsocks];
    s->fd = fd;
    s->port = port;
    s->ifc = ifc;
    s->d = d;
    if (uv_poll_init(d->loop, &s->poll, fd) < 0) {
        close(fd);
        return bh_err_set(err, BH_ESYS, ifc->name, "uv_poll_init failed");
    }
    s->poll.data = s;
    d->nsocks++;
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
    return 0;
}

static int restore_one(void *ud, const struct bh_lease_rec *r)
{
    int rc = bh_dhcp_server_restore(ud, r);
    return rc == BH_ENOMEM ? rc : 0; /* duplicates and odd states are skipped */
}

static void on_close_sock(uv_handle_t *h)
{
    struct sock *s = h->data;
    close(s->fd);
    s->fd = -1;
}

static void close_all(struct bh_dhcp *d)
{
    for (int i = 0; i < d->nsocks; i++)
        uv_close((uv_handle_t *)&d->socks[i].poll, on_close_sock);
    d->nsocks = 0;
    uv_close((uv_handle_t *)&d->committed, NULL);
    uv_close((uv_handle_t *)&d->sweep, NULL);
}

int bh_dhcp_start(uv_loop_t *loop, const struct bh_boot_config *cfg, const char *lease_db,
                  const struct bh_dhcp_hooks *hooks, struct bh_dhcp **out, struct bh_err *err)
{
    *out = NULL;
    struct bh_dhcp *d = calloc(1, sizeof(*d));
    if (!d || !(d->park = calloc(PARK_SLOTS, sizeof(*d->park)))) {
        free(d);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    d->loop = loop;
    if (hooks)
        d->hooks = *hooks;
    int rc = bh_dhcp_server_new(cfg, hooks, &d->srv, err);
    bool dynamic = d->hooks.mode != NULL; /* modes can change: bind everything */
    bool full = dynamic;
    for (int i = 0; !rc && i < cfg->nifaces; i++) {
        if (cfg->ifaces[i].mode == BH_DHCP_OFF && !dynamic)
            continue;
        struct iface *ifc = &d->ifaces[d->nifaces++];
        memcpy(ifc->name, cfg->ifaces[i].name, sizeof(ifc->name));
        ifc->mode = cfg->ifaces[i].mode;
        full = full || ifc->mode == BH_DHCP_FULL;
        ifc->index = if_nametoindex(ifc->name);
        rc = iface_addr(cfg, ifc, err);
    }
    if (!rc && full) {
        if (!lease_db || !lease_db[0])
            rc = bh_err_set(err, BH_EINVAL, NULL, "full DHCP needs a lease database");
        else if (!(rc = bh_leasedb_open(lease_db, &d->db, err)))
            rc = bh_leasedb_load(d->db, restore_one, d->srv, err);
    }
    if (rc)
        goto fail;
    uv_async_init(loop, &d->committed, on_committed);
    d->committed.data = d;
    uv_timer_init(loop, &d->sweep);
    d->sweep.data = d;
    for (int i = 0; !rc && i < d->nifaces; i++) {
        rc = open_socket(d, &d->ifaces[i], BH_DHCP_SERVER_PORT, err);
        if (!rc && (dynamic || d->ifaces[i].mode == BH_DHCP_PROXY))
            rc = open_socket(d, &d->ifaces[i], BH_PXE_BOOT_PORT, err);
    }
    if (!rc && d->db)
        rc = bh_leasedb_start(d->db, cfg->commit_ms, wake_loop, &d->committed, err);
    if (rc) {
        /* handles exist now: close them, and let the loop run the callbacks
         * before the memory goes */
        close_all(d);
        uv_run(loop, UV_RUN_NOWAIT);
        goto fail;
    }
    on_sweep(&d->sweep);
    uv_timer_start(&d->sweep, on_sweep, SWEEP_MS, SWEEP_MS);
    for (int i = 0; i < d->nifaces; i++) {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &d->ifaces[i].addr, a, sizeof(a));
        enum bh_dhcp_mode m = dynamic
                                  ? d->hooks.mode(d->hooks.ud, d->ifaces[i].name, d->ifaces[i].mode)
                                  : d->ifaces[i].mode;
        bh_log(BH_LOG_INFO, "dhcp listening", "iface=%s addr=%s mode=%s", d->ifaces[i].name, a,
               m == BH_DHCP_FULL    ? "full"
               : m == BH_DHCP_PROXY ? "proxy"
                                    : "off");
    }
    *out = d;
    return 0;
fail:
    bh_leasedb_close(d->db);
    bh_dhcp_server_free(d->srv);
    free(d->park);
    free(d);
    return rc;
}

void bh_dhcp_stop(struct bh_dhcp *d)
{
    if (!d || d->stopped)
        return;
    d->stopped = true;
    for (int i = 0; i < d->nsocks; i++)
        uv_poll_stop(&d->socks[i].poll);
    uv_timer_stop(&d->sweep);
    /* the last commit, then the replies that waited for it */
    if (d->db) {
        bh_leasedb_close_writer(d->db);
        bh_leasedb_stats(d->db, &d->commits_at_stop, &d->nanos_at_stop);
    }
    flush_parked(d);
    bh_leasedb_close(d->db);
    d->db = NULL;
    close_all(d);
}

void bh_dhcp_free(struct bh_dhcp *d)
{
    if (!d)
        return;
    bh_leasedb_close(d->db);
    bh_dhcp_server_free(d->srv);
    free(d->park);
    free(d);
}

void bh_dhcp_get_stats(const struct bh_dhcp *d, struct bh_dhcp_stats *o)
{
    struct bh_dhcp *m = (struct bh_dhcp *)d;
    memset(o, 0, sizeof(*o));
    o->received = atomic_load(&m->received);
    o->malformed = atomic_load(&m->malformed);
    o->ignored = atomic_load(&m->ignored) + atomic_load(&m->dropped);
    o->offers = atomic_load(&m->offers);
    o->acks = atomic_load(&m->acks);
    o->naks = atomic_load(&m->naks);
    o->proxy_offers = atomic_load(&m->proxy_offers);
    o->pxe_acks = atomic_load(&m->pxe_acks);
    o->releases = atomic_load(&m->releases);
    o->declines = atomic_load(&m->declines);
    o->informs = atomic_load(&m->informs);
    o->leases_active = atomic_load(&m->leases_active);
    o->commits = m->commits_at_stop;
    o->commit_nanos = m->nanos_at_stop;
    if (m->db)
        bh_leasedb_stats(m->db, &o->commits, &o->commit_nanos);
}

json_t *bh_dhcp_leases(const struct bh_dhcp *d)
{
    return bh_dhcp_server_leases(d->srv);
}
