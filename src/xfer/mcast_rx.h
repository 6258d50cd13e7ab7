/*
 * mcast_rx.h - a multicast receiver's state, without I/O: which chunks it
 * has, the chunks it is putting together from DATA fragments (out of
 * order, duplicates ignored), the loss it saw, and the REQUEST bitmaps it
 * sends.  The caller verifies each finished chunk against its SHA-256 name
 * and says so (bh_mc_rx_done); a bad one is simply lacked again.
 *
 * Memory is capped: at most `slots` chunks and `max_bytes` of fragment
 * buffers at once; a chunk that would pass either evicts the least
 * recently fed one (which is requested again later).
 */
#ifndef BH_XFER_MCAST_RX_H
#define BH_XFER_MCAST_RX_H

#include "mcast_proto.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bh_mc_slot {
    bool used;
    uint32_t chunk, clen, nfrags, ngot;
    uint16_t frag;
    uint8_t *buf; /* clen bytes (owned) */
    uint8_t *got; /* a bit per fragment (owned) */
    uint64_t fed; /* the rx's clock when last fed, for eviction */
};

struct bh_mc_rx {
    uint32_t nchunks;
    uint8_t *have; /* a bit per chunk: written and verified (owned) */
    uint32_t nhave;
    struct bh_mc_slot *slot; /* owned */
    size_t nslots, bytes, max_bytes;
    uint64_t clock;
    uint32_t cursor; /* where the next REQUEST starts looking */
    bool seq_seen;
    uint32_t last_seq;
    /* counters */
    uint64_t missed;   /* DATA datagrams lost (gaps in seq) since the last
                          bh_mc_rx_lacking, which sets it to 0: read it first */
    uint64_t frags;    /* fragments taken */
    uint64_t dups;     /* fragments or chunks already there */
    uint64_t evicted;  /* chunks dropped half done to make room */
    uint64_t conflict; /* fragments that disagree with their chunk's (clen, frag) */
};

/* 0, or BH_ENOMEM / BH_EINVAL (nchunks 0 or over BH_MC_CHUNKS_MAX, no slots). */
int bh_mc_rx_init(struct bh_mc_rx *rx, uint32_t nchunks, size_t slots, size_t max_bytes);
void bh_mc_rx_free(struct bh_mc_rx *rx);

/* A chunk the receiver has already (on its disk or cache): never asked for. */
void bh_mc_rx_have(struct bh_mc_rx *rx, uint32_t chunk);
bool bh_mc_rx_has(const struct bh_mc_rx *rx, uint32_t chunk);

/* The seq of each DATA datagram of the session, in arrival order: a
 * forward gap counts as loss, up to BH_MC_SEQ_JUMP; a longer jump is
 * followed without counting (no real loss looks like that). */
#define BH_MC_SEQ_JUMP 4096
void bh_mc_rx_seq(struct bh_mc_rx *rx, uint32_t seq);

enum bh_mc_rx_res {
    BH_MC_RX_PART,     /* taken; the chunk is not whole yet */
    BH_MC_RX_WHOLE,    /* taken and the chunk is whole: *buf, *len */
    BH_MC_RX_HAVE,     /* the chunk is had already: ignored */
    BH_MC_RX_DUP,      /* this fragment is there already: ignored */
    BH_MC_RX_CONFLICT, /* disagrees with the chunk's earlier fragments: the
                          chunk is started over from this one */
    BH_MC_RX_NOMEM,
    BH_MC_RX_BAD, /* fields bh_mc_parse_data would have refused */
};
/* Take one parsed DATA fragment.  With BH_MC_RX_WHOLE, *buf (clen bytes,
 * the stored chunk) stays valid until bh_mc_rx_done for that chunk. */
enum bh_mc_rx_res bh_mc_rx_feed(struct bh_mc_rx *rx, const struct bh_mc_data *dt,
                                const uint8_t **buf, size_t *len);
/* After the caller checked (and wrote) a whole chunk: ok marks it had; not
 * ok drops it, so it is lacked and asked for again. */
void bh_mc_rx_done(struct bh_mc_rx *rx, uint32_t chunk, bool ok);

/* The next REQUEST's range: from the cursor on, up to `max` chunks
 * (<= BH_MC_REQ_BITS) starting at the first lacking one, with the lacking
 * ones set in bitmap (room for ceil(max / 8) bytes).  Returns count; 0
 * when nothing is lacking (send a REQUEST with BH_MC_REQ_DONE).  Successive
 * calls walk the list round, so every lacking chunk is asked for. */
uint32_t bh_mc_rx_lacking(struct bh_mc_rx *rx, uint32_t max, uint32_t *base, uint8_t *bitmap);

#endif
