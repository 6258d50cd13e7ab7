/*
 * mcast_proto.h - the multicast session's datagrams, without I/O.
 *
 * One session sends the stored (zstd) chunks of a list of chunks (every
 * partition of a job, in the order the server gave the receivers when
 * they joined over HTTPS) to one group address.  Receivers ask, by
 * unicast to the server, for what they still lack, as a bitmap over that
 * list; the server sends what anyone lacks.  Bytes in, decisions out: no
 * sockets and no clock here, so every rule is unit-tested and fuzzed.
 *
 * All integers are big-endian.  Every datagram starts with a header:
 *
 *   0  "BHMC"          4  magic
 *   4  version = 1     1
 *   5  type            1  DATA 1, ANNOUNCE 2, REQUEST 3
 *   6  flags           2  REQUEST: BH_MC_REQ_DONE; others 0
 *   8  session         8  random per session: a foreign session is dropped
 *  16  seq             4  DATA: the server's DATA number (a gap is loss);
 *                         ANNOUNCE: numbered apart; REQUEST: strictly
 *                         rising per receiver, so a replay is dropped
 *
 * DATA (server -> group):       20 chunk  24 clen  28 off  32 frag(2)  34 0(2)
 *                               36 payload: bytes off.. of the stored chunk,
 *                               min(frag, clen - off) of them, off % frag == 0
 * ANNOUNCE (server -> group):   20 nchunks  24 rate_kbit  28 state(1)  29 0(3)
 * REQUEST (receiver -> server): 20 receiver  24 base  28 count  32 missed
 *                               36 bitmap: ceil(count / 8) bytes, bit i
 *                               (MSB first) = chunk base + i is lacking
 *
 * Every datagram ends with a 16-byte MAC (HMAC-SHA256, cut) over all of it
 * before the MAC: DATA and ANNOUNCE with the session's group key, which
 * every receiver gets when it joins; REQUEST with the receiver's own key.
 * So nobody outside the session can inject fragments, announce another
 * list or steer the sender.  A chunk's content is still checked by the
 * receiver against its SHA-256 name after reassembly (a receiver of the
 * session holds the group key too).
 */
#ifndef BH_XFER_MCAST_PROTO_H
#define BH_XFER_MCAST_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BH_MC_VERSION    1
#define BH_MC_HDR        20
#define BH_MC_DATA_HDR   36
#define BH_MC_ANN_LEN    48 /* with its MAC */
#define BH_MC_REQ_HDR    36
#define BH_MC_MAC_LEN    16
#define BH_MC_KEY_LEN    32
#define BH_MC_DGRAM_MAX  65507       /* the largest UDP payload over IPv4 */
#define BH_MC_CHUNK_MAX  (17u << 20) /* a stored chunk's largest size (a 16 MiB chunk's frame) */
#define BH_MC_CHUNKS_MAX (1u << 24)  /* chunks in one session */
#define BH_MC_FRAG_MIN   256
#define BH_MC_FRAG_MAX   (BH_MC_DGRAM_MAX - BH_MC_DATA_HDR - BH_MC_MAC_LEN)
/* The most chunks one REQUEST can name: its bitmap in a 1500-byte MTU. */
#define BH_MC_REQ_BITS ((1472u - BH_MC_REQ_HDR - BH_MC_MAC_LEN) * 8u)

enum bh_mc_type { BH_MC_DATA = 1, BH_MC_ANNOUNCE = 2, BH_MC_REQUEST = 3 };

#define BH_MC_REQ_DONE 0x1u /* the receiver has every chunk; count may be 0 */

enum bh_mc_state { BH_MC_RUNNING = 1, BH_MC_ENDING = 2 };

/* Why a datagram was dropped (each is counted by the I/O half). */
enum bh_mc_drop {
    BH_MC_OK = 0,
    BH_MC_SHORT,    /* shorter than its type needs, or a bitmap cut off */
    BH_MC_MAGIC,    /* not ours */
    BH_MC_VERS,     /* another version */
    BH_MC_TYPE,     /* unknown type, or a type this side does not take */
    BH_MC_FLAGS,    /* unknown flag bits */
    BH_MC_SESSION,  /* another session */
    BH_MC_BOUNDS,   /* a field out of range (chunk, clen, off, frag, count) */
    BH_MC_MAC,      /* the MAC does not match the key (the receiver's, or the group's) */
    BH_MC_REPLAY,   /* REQUEST: seq not above the receiver's last */
    BH_MC_RECEIVER, /* REQUEST: no such receiver in the session */
    BH_MC_DROP_COUNT,
};
/* "short", "magic", ... for metrics and logs. */
const char *bh_mc_drop_name(enum bh_mc_drop d);

struct bh_mc_hdr {
    uint8_t type;
    uint16_t flags;
    uint64_t session;
    uint32_t seq;
};

struct bh_mc_data {
    uint32_t chunk, clen, off;
    uint16_t frag;
    const uint8_t *payload; /* borrowed from the datagram (its MAC follows) */
    size_t len;
};

struct bh_mc_announce {
    uint32_t nchunks, rate_kbit;
    uint8_t state; /* enum bh_mc_state */
};

struct bh_mc_request {
    uint32_t receiver, base, count, missed;
    const uint8_t *bitmap; /* borrowed: ceil(count / 8) bytes, MSB first */
};

/* The header of any datagram of session `session` (0: any session).
 * BH_MC_OK or why it is dropped. */
enum bh_mc_drop bh_mc_parse_hdr(const uint8_t *d, size_t n, uint64_t session, struct bh_mc_hdr *h);
/* A DATA datagram of a session of nchunks chunks.  Checks the header
 * (type DATA, flags 0) and every field against the rules above; the MAC
 * is bh_mc_mac_ok's (check it first: a forged datagram is dropped whole). */
enum bh_mc_drop bh_mc_parse_data(const uint8_t *d, size_t n, uint64_t session, uint32_t nchunks,
                                 struct bh_mc_hdr *h, struct bh_mc_data *out);
enum bh_mc_drop bh_mc_parse_announce(const uint8_t *d, size_t n, uint64_t session,
                                     struct bh_mc_hdr *h, struct bh_mc_announce *out);
/* A REQUEST's fields without its MAC checked (the server looks the
 * receiver's key up by out->receiver, then calls bh_mc_mac_ok):
 * the bitmap must fit the datagram exactly and lie inside nchunks, and bits
 * past count in its last byte must be 0. */
enum bh_mc_drop bh_mc_parse_request(const uint8_t *d, size_t n, uint64_t session, uint32_t nchunks,
                                    struct bh_mc_hdr *h, struct bh_mc_request *out);
/* Whether the datagram's last 16 bytes are the MAC of the rest under key
 * (compared in constant time). */
bool bh_mc_mac_ok(const uint8_t *d, size_t n, const uint8_t key[BH_MC_KEY_LEN]);

/* Builders: write into out (room for cap bytes), MAC included, and return
 * the length, or 0 when it does not fit or a field breaks the rules. */
size_t bh_mc_build_data(uint8_t *out, size_t cap, uint64_t session, uint32_t seq,
                        const struct bh_mc_data *dt, const uint8_t key[BH_MC_KEY_LEN]);
size_t bh_mc_build_announce(uint8_t *out, size_t cap, uint64_t session, uint32_t seq,
                            const struct bh_mc_announce *a, const uint8_t key[BH_MC_KEY_LEN]);
/* bitmap: ceil(count / 8) bytes (bits past count are sent as 0). */
size_t bh_mc_build_request(uint8_t *out, size_t cap, uint64_t session, uint32_t seq, uint16_t flags,
                           const struct bh_mc_request *r, const uint8_t key[BH_MC_KEY_LEN]);

/* The largest fragment payload for a path MTU (IPv4 + UDP headers and the
 * DATA header and MAC off). */
uint16_t bh_mc_frag_for_mtu(unsigned mtu);

#endif
