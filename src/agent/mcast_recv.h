/*
 * mcast_recv.h - the agent's side of a multicast session (issue 13).
 *
 * Join the session's group on one interface, put chunks together from
 * DATA fragments in whatever order they come, check each whole chunk
 * against its id (the chunk list's) and keep it in the cache, and ask the
 * server by unicast for what is still lacking, until every chunk of the
 * list is had or the session goes quiet.  What is still lacking then comes
 * over HTTP through the cache's source, so a deploy always finishes.  The
 * protocol's rules are xfer/mcast_*.h; this file is the socket half.
 */
#ifndef BH_AGENT_MCAST_RECV_H
#define BH_AGENT_MCAST_RECV_H

#include "cache.h"
#include "image/chunklist.h"
#include "xfer/mcast_proto.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* What the server said when the agent joined (over HTTPS). */
struct bh_mc_join {
    uint64_t session;
    struct in_addr group;             /* the session's group address */
    uint16_t port;                    /* its DATA port */
    struct sockaddr_in server;        /* where REQUESTs go */
    unsigned ifindex;                 /* the interface to join on; 0: the kernel's choice */
    uint32_t receiver;                /* this agent's number in the session */
    uint8_t key[BH_MC_KEY_LEN];       /* its REQUESTs' key */
    uint8_t group_key[BH_MC_KEY_LEN]; /* the session's DATA and ANNOUNCE key */
    int request_ms;                   /* ask for what lacks this often (200) */
    int idle_ms; /* give up after this long with nothing from the session (10000) */
};

struct bh_mc_recv_stats {
    uint64_t chunks; /* kept in the cache from the group */
    uint64_t had;    /* in the cache already at the start */
    uint64_t bad;    /* whole chunks that did not check out against their id */
    uint64_t missed; /* DATA datagrams lost (seq gaps) */
    uint64_t requests;
    uint64_t drops[BH_MC_DROP_COUNT]; /* datagrams dropped, by why */
    bool complete;                    /* every chunk of the list is in the cache */
};

/* Receive the session's chunks of list l (sealed, as the server's) into
 * c.  0 when every chunk is had (st->complete), or when the session went
 * quiet (st->complete false: fetch the rest by HTTP); BH_ESYS for a socket
 * that cannot be set up (no multicast route, no such interface), BH_EINVAL
 * when the session announces another number of chunks than l has. */
int bh_mc_receive(const struct bh_mc_join *j, const struct bh_chunklist *l, struct bh_cache *c,
                  struct bh_mc_recv_stats *st, struct bh_err *err);

#endif
