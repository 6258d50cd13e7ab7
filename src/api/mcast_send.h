/*
 * mcast_send.h - the server's side of a multicast session (issue 13): one
 * thread with its own libuv loop per session, one UDP socket that sends
 * the stored zstd chunks of a chunk list to the group in fragments that
 * fit the MTU, paced by a token bucket, and takes the receivers' REQUESTs
 * on the same socket.  Every decision (what to send next, what a request
 * may queue, the rate) is xfer/mcast_tx.c's; this file moves bytes.
 *
 * Thread-safety: start, join, stats and stop are called from the API's
 * threads; the loop thread owns the socket.  A mutex guards the sender's
 * state between them.
 */
#ifndef BH_API_MCAST_SEND_H
#define BH_API_MCAST_SEND_H

#include "core/err.h"
#include "image/chunklist.h"
#include "image/chunkstore.h"
#include "xfer/mcast_tx.h"

#include <netinet/in.h>
#include <stdint.h>

struct bh_mc_send_cfg {
    uint64_t session;          /* 0: a random one */
    struct in_addr group;      /* the group address (239.x administratively scoped) */
    uint16_t port;             /* the group's DATA port */
    struct in_addr ifaddr;     /* the interface's address: multicast leaves there only, and
                                  REQUESTs come to it */
    uint16_t req_port;         /* the REQUEST port; 0: any free one (bh_mc_send_addr says which) */
    unsigned ttl;              /* 1: the local segment */
    unsigned mtu;              /* the path MTU (1500) */
    double rate_max, rate_min; /* bytes/s */
};

struct bh_mc_send_stats {
    uint64_t session;
    uint32_t nchunks, receivers, done;
    uint64_t sent_chunks, resent_chunks, lost_chunks, datagrams, bytes;
    double rate;
    uint64_t drops[BH_MC_DROP_COUNT];
};

struct bh_mc_send;

/* Start sending list l's chunks from cs (both borrowed: they outlive the
 * session).  The session waits for requests; it sends only what receivers
 * ask for.  NULL with err set (BH_ESYS for a socket, BH_ENOMEM). */
struct bh_mc_send *bh_mc_send_start(const struct bh_mc_send_cfg *cfg, const struct bh_chunklist *l,
                                    struct bh_chunkstore *cs, struct bh_err *err);
/* A receiver joins: its number, a fresh random key for its REQUESTs, and
 * the session's group key that DATA and ANNOUNCE are MACed with. */
int bh_mc_send_join(struct bh_mc_send *s, uint32_t *receiver, uint8_t key[BH_MC_KEY_LEN],
                    uint8_t group_key[BH_MC_KEY_LEN], struct bh_err *err);
/* Where REQUESTs go (ifaddr and the port bound). */
struct sockaddr_in bh_mc_send_addr(const struct bh_mc_send *s);
uint64_t bh_mc_send_session(const struct bh_mc_send *s);
void bh_mc_send_stats(struct bh_mc_send *s, struct bh_mc_send_stats *out);
/* Stop: the loop ends, the thread is joined, everything is freed. */
void bh_mc_send_stop(struct bh_mc_send *s);

#endif
