/*
 * mcast_tx.h - a multicast session's sender, without I/O: the receivers
 * and their keys, the merged requests (what anyone lacks), the order in
 * which chunks go out, the pacing (a token bucket) and the rate, which
 * backs off when requests show loss and creeps back up when they do not.
 * Time comes in as milliseconds from the caller's clock.
 *
 * A chunk goes out once per round of requests: after it is sent it is
 * not queued again for hold_ms (the receivers' next request may not know
 * of it yet).  Loss shows two ways: each request carries the DATA
 * datagrams the receiver saw missing (gaps in seq), and a receiver that
 * asks again for a chunk sent after its last request lost it.  The worst
 * receiver's loss over an interval sets the rate: a room goes as fast as
 * its weakest link allows without losing, as udpcast's does.
 */
#ifndef BH_XFER_MCAST_TX_H
#define BH_XFER_MCAST_TX_H

#include "mcast_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A token bucket of bytes: rate bytes/s, up to burst bytes saved. */
struct bh_tb {
    double rate, burst, tokens;
    int64_t last_ms;
};
void bh_tb_init(struct bh_tb *tb, double rate, double burst, int64_t now_ms);
/* Take n bytes if there are tokens: 0; else the ms to wait (>= 1) and
 * nothing taken. */
int64_t bh_tb_take(struct bh_tb *tb, int64_t now_ms, size_t n);

struct bh_mc_receiver {
    uint32_t id;
    uint8_t key[BH_MC_KEY_LEN];
    bool seen;         /* a REQUEST came */
    bool done;         /* it said it has everything */
    uint32_t last_seq; /* of its last REQUEST */
    int64_t last_req_ms;
    uint64_t lost;          /* chunks it asked again for after they were sent */
    uint64_t missed;        /* DATA datagrams it reported lost (seq gaps) */
    uint64_t win_missed;    /* of those, since the last bh_mc_tx_adjust */
    uint64_t dgrams_at_req; /* tx->dgrams at its last REQUEST: what it can have missed */
    uint64_t requests;
};

struct bh_mc_tx_cfg {
    uint32_t nchunks;
    double rate_max, rate_min; /* bytes/s */
    int64_t hold_ms;           /* no resend of a chunk sooner than this */
    double loss_high;          /* loss ratio over an interval that backs off (0.02) */
};

struct bh_mc_tx {
    struct bh_mc_tx_cfg cfg;
    uint8_t *pending; /* a bit per chunk: someone lacks it (owned) */
    uint32_t npending, cursor;
    int64_t *sent_ms;           /* when each chunk last went out; 0 never (owned) */
    struct bh_mc_receiver *rcv; /* owned */
    size_t nrcv, rcv_cap;
    double rate; /* bytes/s now */
    uint64_t sent_chunks, resent_chunks, lost_chunks;
    uint64_t win_sent, win_lost; /* since the last bh_mc_tx_adjust */
    uint64_t dgrams, win_dgrams; /* DATA datagrams sent (bh_mc_tx_datagram) */
    uint64_t drops[BH_MC_DROP_COUNT];
};

int bh_mc_tx_init(struct bh_mc_tx *tx, const struct bh_mc_tx_cfg *cfg);
void bh_mc_tx_free(struct bh_mc_tx *tx);
/* A receiver joins (over HTTPS, where its host token was checked) with the
 * key it was given: 0, BH_ECONFLICT for an id taken, BH_ENOMEM. */
int bh_mc_tx_join(struct bh_mc_tx *tx, uint32_t id, const uint8_t key[BH_MC_KEY_LEN]);
struct bh_mc_receiver *bh_mc_tx_receiver(struct bh_mc_tx *tx, uint32_t id);

/* A REQUEST datagram of session `session` came: parse it, check receiver,
 * MAC and seq, and queue what it lacks.  BH_MC_OK or why it was dropped
 * (also counted in tx->drops). */
enum bh_mc_drop bh_mc_tx_request(struct bh_mc_tx *tx, uint64_t session, const uint8_t *d, size_t n,
                                 int64_t now_ms);
/* The next chunk to send (and it is marked sent at now_ms), or -1 when
 * nothing is queued. */
int64_t bh_mc_tx_next(struct bh_mc_tx *tx, int64_t now_ms);
/* The last fragment of chunk went out: the hold counts from now (a chunk
 * that takes long to send is not queued again while it still goes). */
void bh_mc_tx_finished(struct bh_mc_tx *tx, uint32_t chunk, int64_t now_ms);
/* A DATA datagram went out (for the loss ratio). */
void bh_mc_tx_datagram(struct bh_mc_tx *tx);
/* Once per interval: the rate from the loss seen since the last call. */
void bh_mc_tx_adjust(struct bh_mc_tx *tx);
/* Every receiver that joined has said it is done. */
bool bh_mc_tx_all_done(const struct bh_mc_tx *tx);

#endif
