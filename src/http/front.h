/*
 * front.h - the front door of the HTTP port: one thread with its own libuv
 * loop owns the listening socket, accepts every connection and holds it,
 * unread, until its request head has arrived (peeked with MSG_PEEK, so the
 * bytes stay in the socket for the pool that serves it).  The head is then
 * checked and classified (head.h), the connection counted against its
 * class's budget and its client address's share, and handed to the pool of
 * that class.  The front answers by itself, with problem+json, what it
 * refuses: a malformed head, a full budget or address share (503 with
 * Retry-After), a head that did not arrive within header_timeout (408).
 *
 * Connections whose head has not arrived are "pending".  Too many pending
 * connections, from one address or in all, close the OLDEST pending one:
 * idle sockets can never lock a new client out, even from their address.
 *
 * Handed-over connections stay known to the front until their pool says
 * they closed (bh_front_conn_closed), so the counts are exact; a pool can
 * give one a deadline (bh_front_conn_deadline) after which the front cuts
 * it with shutdown(2): slow bodies, and the head of the next request on a
 * kept-alive connection.
 *
 * With TLS on, the front owns two listening sockets (BH_LISTEN_TLS and
 * BH_LISTEN_BOOT).  On the TLS port it tells the two protocols apart by the
 * first byte (a TLS record starts with 22, no HTTP method does): a
 * ClientHello is held until its first record is in and checked
 * (bh_tls_hello_check), then handed to the TLS pool, counted as an API
 * connection, with the head deadline still running (it covers the
 * handshake and the first request); a plain HTTP head there is answered
 * by the front with 308 to the same target over https.  What the front
 * refuses on a TLS connection it cannot say in HTTP: it sends a TLS alert
 * (RFC 8446 6.2) and closes.
 */
#ifndef BH_HTTP_FRONT_H
#define BH_HTTP_FRONT_H

#include "core/err.h"
#include "head.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

/* How long a refused connection is drained before it closes, so that the
 * client reads the refusal instead of a reset (RFC 9112 9.6). */
#define BH_FRONT_LINGER_MS 1000
/* Retry-After of a 503 for a full budget or address share, seconds */
#define BH_FRONT_RETRY_AFTER 5

struct bh_front;
struct bh_front_conn;

/* What a listening socket serves. */
enum bh_listen_mode {
    BH_LISTEN_ALL,  /* plain HTTP, every route (TLS is off) */
    BH_LISTEN_TLS,  /* TLS to the TLS pool; a plain head gets 308 to https */
    BH_LISTEN_BOOT, /* plain HTTP for booting machines (TLS is on); the pools
                     * serve only what server.c allows there */
};
#define BH_FRONT_MAX_LISTEN 2

struct bh_front_limits {
    unsigned budget[BH_CONN__COUNT];      /* open connections per class */
    unsigned per_address[BH_CONN__COUNT]; /* per client address and class; 0 = no limit */
    unsigned pending;                     /* heads not yet arrived, in all */
    unsigned pending_per_address;
    unsigned header_timeout; /* seconds for a head to arrive */
};

/* Why the front refused or cut a connection (the metrics' reason label). */
enum bh_front_reason {
    BH_FRONT_BUDGET,         /* the class's budget is full: 503 */
    BH_FRONT_ADDRESS,        /* the address's share of the class is full: 503 */
    BH_FRONT_EVICTED,        /* pending, and older than the pending caps allow */
    BH_FRONT_HEADER_TIMEOUT, /* the head did not arrive in time: 408 */
    BH_FRONT_MALFORMED,      /* the head was refused by bh_head_parse */
    BH_FRONT_BODY_TIMEOUT,   /* cut: the body came too slowly */
    BH_FRONT_IDLE_TIMEOUT,   /* cut: no next request on a kept-alive connection */
    BH_FRONT_SEND_TIMEOUT,   /* cut: the client read the answer too slowly */
    BH_FRONT_ERROR,          /* the pool could not take it (out of memory, fds) */
    BH_FRONT__NREASONS
};

/* Counters, read by /metrics from any thread. */
struct bh_front_stats {
    atomic_uint_fast64_t pending;                     /* gauge */
    atomic_uint_fast64_t open[BH_CONN__COUNT];        /* gauge */
    atomic_uint_fast64_t accepted[BH_CONN__COUNT];    /* handed over, counter */
    atomic_uint_fast64_t refused[BH_FRONT__NREASONS]; /* counter */
    atomic_uint_fast64_t tls_accepted;                /* handed to the TLS pool */
    atomic_uint_fast64_t redirected;                  /* plain heads sent to https */
};

/* Hand a connection to the pool of class cls (of the TLS pool when mode is
 * BH_LISTEN_TLS): fd is non-blocking, its head (or ClientHello) unread.
 * The taker owns fd from this call on, whatever it returns (it closes fd
 * on failure); return 0 if it took the connection.  Runs on the front
 * thread. */
typedef int (*bh_front_handoff_fn)(void *ud, enum bh_conn_class cls, enum bh_listen_mode mode,
                                   int fd, const struct sockaddr *sa, socklen_t salen);

struct bh_front_listener {
    int fd; /* a bound, listening TCP socket; owned by the front */
    enum bh_listen_mode mode;
};

struct bh_front_config {
    struct bh_front_listener listen[BH_FRONT_MAX_LISTEN];
    size_t nlisten; /* 1 or 2 */
    struct bh_front_limits lim;
    bh_front_handoff_fn handoff;
    void *ud;
};

/* Start the front thread.  *out is set before the first connection is
 * handed over (the pools may look it up at once).  On failure the
 * listening sockets are left open and *out is NULL. */
int bh_front_start(const struct bh_front_config *cfg, struct bh_front **out, struct bh_err *err);
/* Stop accepting, close the pending connections and the listening socket,
 * join the thread.  Connections already handed over are the pools'. */
void bh_front_stop(struct bh_front *f);
/* After the pools have stopped (every bh_front_conn_closed called). */
void bh_front_free(struct bh_front *f);

const struct bh_front_stats *bh_front_get_stats(const struct bh_front *f);
const char *bh_front_reason_name(enum bh_front_reason r);

/* ---- from the pools' threads ---------------------------------------------- */

/* The connection on fd has started in its pool: its record, or NULL if the
 * front did not hand fd over. */
struct bh_front_conn *bh_front_conn_started(struct bh_front *f, int fd);
/* It is closing; fd is still open.  c is freed. */
void bh_front_conn_closed(struct bh_front *f, struct bh_front_conn *c);
/* Cut c (shutdown(2), its pool then sees the end) if it is still open at
 * the monotonic time deadline_ns, counting `why`; 0 = no deadline. */
void bh_front_conn_deadline(struct bh_front_conn *c, uint64_t deadline_ns,
                            enum bh_front_reason why);
/* Count a connection a pool cut by itself. */
void bh_front_count(struct bh_front *f, enum bh_front_reason why);
/* The listener c came in on (BH_LISTEN_BOOT when c is NULL: the narrowest). */
enum bh_listen_mode bh_front_conn_mode(const struct bh_front_conn *c);
/* Count c in class cls from now on (a WebSocket handshake seen inside a
 * TLS connection, which the front counted as API).  BH_EBUSY with err set
 * (type "server-busy" or "too-many-connections", counted like the front's
 * own refusals) when that class's budget or the address's share is full;
 * c stays in its class then. */
int bh_front_conn_reclass(struct bh_front *f, struct bh_front_conn *c, enum bh_conn_class cls,
                          struct bh_err *err);

#endif
