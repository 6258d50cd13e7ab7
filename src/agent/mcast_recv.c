/*
 * mcast_recv.c - the agent's side of a multicast session (see
 * mcast_recv.h).
 */
#include "mcast_recv.h"

#include "core/timeutil.h"
#include "image/chunkstore.h"
#include "xfer/mcast_rx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_SLOTS     256
#define RX_BYTES     (256u << 20) /* fragments of chunks in flight, at most */
#define RCVBUF_BYTES (16 << 20)   /* a burst the loop is slow to read */

static int64_t now_ms(void)
{
    return (int64_t)(bh_mono_ns() / 1000000u);
}

static int open_socket(const struct bh_mc_join *j, struct bh_err *err)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return bh_err_set(err, BH_ESYS, NULL, "multicast socket: %s", strerror(errno)), -1;
    int one = 1, size = RCVBUF_BYTES;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* as large as root may make it; else as large as the system allows */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(j->port), .sin_addr = j->group};
    struct ip_mreqn mr = {.imr_multiaddr = j->group, .imr_ifindex = (int)j->ifindex};
    const char *what = NULL;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
        what = "bind";
    else if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)))
        what = "join the group";
    if (what) {
        char g[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &j->group, g, sizeof(g));
        bh_err_set(err, BH_ESYS, NULL, "multicast %s:%u: cannot %s: %s", g, j->port, what,
                   strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* ask for what lacks (or say it is done): true when nothing lacks */
static bool ask(int fd, const struct bh_mc_join *j, struct bh_mc_rx *rx, uint32_t *seq,
                struct bh_mc_recv_stats *st)
{
    uint8_t bits[BH_MC_REQ_BITS / 8], d[1500];
    uint32_t missed = (uint32_t)(rx->missed > UINT32_MAX ? UINT32_MAX : rx->missed);
    st->missed += rx->missed;
    uint32_t base = 0, count = bh_mc_rx_lacking(rx, BH_MC_REQ_BITS, &base, bits);
    struct bh_mc_request q = {
        .receiver = j->receiver, .base = base, .count = count, .missed = missed, .bitmap = bits};
    size_t n = bh_mc_build_request(d, sizeof(d), j->session, ++*seq,
                                   (uint16_t)(count ? 0 : BH_MC_REQ_DONE), &q, j->key);
    if (n)
        (void)sendto(fd, d, n, 0, (const struct sockaddr *)&j->server, sizeof(j->server));
    st->requests++;
    return count == 0;
}

/* one datagram from the group (from the server's address) */
static void take(const uint8_t *d, size_t n, const struct bh_mc_join *j,
                 const struct bh_chunklist *l, struct bh_mc_rx *rx, struct bh_cache *c,
                 struct bh_mc_recv_stats *st)
{
    struct bh_mc_hdr h;
    enum bh_mc_drop why = bh_mc_parse_hdr(d, n, j->session, &h);
    if (why == BH_MC_OK && h.type == BH_MC_ANNOUNCE) {
        struct bh_mc_announce a;
        why = bh_mc_parse_announce(d, n, j->session, &h, &a);
        if (why == BH_MC_OK && a.nchunks != l->n)
            why = BH_MC_BOUNDS; /* not the list this host was given (or forged): ignored */
    } else if (why == BH_MC_OK && h.type == BH_MC_DATA) {
        struct bh_mc_data dt;
        why = bh_mc_parse_data(d, n, j->session, (uint32_t)l->n, &h, &dt);
        if (why == BH_MC_OK) {
            bh_mc_rx_seq(rx, h.seq);
            const uint8_t *buf;
            size_t len;
            if (bh_mc_rx_feed(rx, &dt, &buf, &len) == BH_MC_RX_WHOLE) {
                /* only a chunk that is what its id says reaches the cache */
                bool ok = bh_cs_check_frame(buf, len, l->id[dt.chunk], NULL) == 0 &&
                          bh_cache_keep(c, l->id[dt.chunk], buf, len);
                if (ok)
                    st->chunks++;
                else
                    st->bad++;
                bh_mc_rx_done(rx, dt.chunk, ok);
            }
        }
    } else if (why == BH_MC_OK) {
        why = BH_MC_TYPE; /* a REQUEST on the group: not for receivers */
    }
    if (why != BH_MC_OK)
        st->drops[why]++;
}

/* tell the server this receiver has everything (thrice: UDP may lose one) */
static void say_done(int fd, const struct bh_mc_join *j, struct bh_mc_rx *rx, uint32_t *seq,
                     struct bh_mc_recv_stats *st)
{
    for (int k = 0; k < 3; k++)
        ask(fd, j, rx, seq, st);
}

int bh_mc_receive(const struct bh_mc_join *j, const struct bh_chunklist *l, struct bh_cache *c,
                  struct bh_mc_recv_stats *st, struct bh_err *err)
{
    memset(st, 0, sizeof(*st));
    struct bh_mc_rx rx;
    if (l->n == 0 || l->n > BH_MC_CHUNKS_MAX)
        return bh_err_set(err, BH_EINVAL, NULL, "multicast: a list of %zu chunks", l->n);
    if (bh_mc_rx_init(&rx, (uint32_t)l->n, RX_SLOTS, RX_BYTES))
        return bh_err_set(err, BH_ENOMEM, NULL, "multicast: out of memory");
    for (size_t i = 0; i < l->n; i++)
        if (bh_cache_has(c, l->id[i])) {
            bh_mc_rx_have(&rx, (uint32_t)i);
            st->had++;
        }
    int fd = open_socket(j, err);
    int rc = fd < 0 ? BH_ESYS : 0;
    uint8_t *d = fd >= 0 ? malloc(BH_MC_DGRAM_MAX) : NULL;
    if (fd >= 0 && !d)
        rc = bh_err_set(err, BH_ENOMEM, NULL, "multicast: out of memory");
    /* seq goes on rising across runs of one join (a restarted agent) */
    uint32_t seq = (uint32_t)bh_wall_ms();
    uint32_t had = rx.nhave;
    int64_t progress = now_ms(), next_ask = 0;
    int idle = j->idle_ms > 0 ? j->idle_ms : 10000;
    while (!rc) {
        int64_t now = now_ms();
        if (rx.nhave == rx.nchunks) {
            say_done(fd, j, &rx, &seq, st);
            break;
        }
        if (now >= next_ask) {
            ask(fd, j, &rx, &seq, st);
            next_ask = now + (j->request_ms > 0 ? j->request_ms : 200);
        }
        if (rx.nhave > had) { /* only new chunks keep the session alive here: a forged or
                                 useless datagram cannot hold the agent off HTTP */
            had = rx.nhave;
            progress = now;
        }
        if (now - progress > idle)
            break; /* no progress: HTTP fetches the rest */
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int w = (int)(next_ask - now);
        if (poll(&p, 1, w > 0 ? w : 0) < 0 && errno != EINTR) {
            rc = bh_err_set(err, BH_ESYS, NULL, "multicast: poll: %s", strerror(errno));
            break;
        }
        for (int k = 0; k < 256; k++) { /* drain, then ask again if it is time */
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n = recvfrom(fd, d, BH_MC_DGRAM_MAX, 0, (struct sockaddr *)&from, &fl);
            if (n < 0)
                break; /* EAGAIN: drained */
            if (from.sin_addr.s_addr != j->server.sin_addr.s_addr) {
                st->drops[BH_MC_SESSION]++; /* not from the session's server */
                continue;
            }
            struct bh_mc_hdr h;
            enum bh_mc_drop why = bh_mc_parse_hdr(d, (size_t)n, j->session, &h);
            if (why == BH_MC_OK && !bh_mc_mac_ok(d, (size_t)n, j->group_key))
                why = BH_MC_MAC; /* forged, or of a session this host did not join */
            if (why != BH_MC_OK) {
                st->drops[why]++;
                continue;
            }
            take(d, (size_t)n, j, l, &rx, c, st);
        }
    }
    st->complete = rx.nhave == rx.nchunks;
    if (fd >= 0) {
        bh_cache_sync(c);
        close(fd);
    }
    free(d);
    bh_mc_rx_free(&rx);
    return rc;
}
