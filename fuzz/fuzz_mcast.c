/*
 * libFuzzer driver: the multicast session's datagrams (src/xfer).
 *
 * The first byte picks the target:
 *   0  every parser on the rest as one datagram; what parses must keep
 *      the rules (a payload inside the datagram and its chunk, a bitmap
 *      that fits) and, when its MAC is right, build back to the same bytes
 *   1  a receiver fed the rest as DATA datagrams (2-byte length, bytes):
 *      its memory cap holds and a whole chunk has its length
 *   2  a sender given the rest as REQUEST datagrams (2-byte length,
 *      bytes): nothing foreign queues a chunk, and what it queues is inside
 */
#include "xfer/mcast_proto.h"
#include "xfer/mcast_rx.h"
#include "xfer/mcast_tx.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

#define SESSION 0x42ull
#define NCHUNKS 64u

static const uint8_t key[BH_MC_KEY_LEN] = {7};

static void fuzz_parse(const uint8_t *d, size_t n)
{
    struct bh_mc_hdr h;
    struct bh_mc_data dt;
    static uint8_t back[BH_MC_DGRAM_MAX];
    if (bh_mc_parse_data(d, n, 0, NCHUNKS, &h, &dt) == BH_MC_OK) {
        CHECK(dt.payload == d + BH_MC_DATA_HDR && dt.payload + dt.len + BH_MC_MAC_LEN == d + n);
        CHECK(dt.chunk < NCHUNKS && dt.off < dt.clen && dt.len <= dt.clen - dt.off);
        if (bh_mc_mac_ok(d, n, key)) { /* then it rebuilds exactly */
            CHECK(bh_mc_build_data(back, sizeof(back), h.session, h.seq, &dt, key) == n);
            CHECK(memcmp(back, d, n) == 0);
        }
    }
    struct bh_mc_announce a;
    if (bh_mc_parse_announce(d, n, 0, &h, &a) == BH_MC_OK) {
        CHECK(n == BH_MC_ANN_LEN);
        if (bh_mc_mac_ok(d, n, key)) {
            CHECK(bh_mc_build_announce(back, sizeof(back), h.session, h.seq, &a, key) == n);
            CHECK(memcmp(back, d, n) == 0);
        }
    }
    struct bh_mc_request r;
    if (bh_mc_parse_request(d, n, 0, NCHUNKS, &h, &r) == BH_MC_OK) {
        CHECK(r.base + r.count <= NCHUNKS);
        CHECK(BH_MC_REQ_HDR + (r.count + 7) / 8 + BH_MC_MAC_LEN == n);
        if (bh_mc_mac_ok(d, n, key)) { /* then it rebuilds exactly */
            CHECK(bh_mc_build_request(back, sizeof(back), h.session, h.seq, h.flags, &r, key) == n);
            CHECK(memcmp(back, d, n) == 0);
        }
    }
}

/* the next length-prefixed record of the rest, or false at the end */
static bool next_rec(const uint8_t **d, size_t *n, const uint8_t **rec, size_t *len)
{
    if (*n < 2)
        return false;
    size_t l = (size_t)((*d)[0] << 8 | (*d)[1]);
    *d += 2;
    *n -= 2;
    if (l > *n)
        l = *n;
    *rec = *d;
    *len = l;
    *d += l;
    *n -= l;
    return true;
}

static void fuzz_rx(const uint8_t *d, size_t n)
{
    struct bh_mc_rx rx;
    if (bh_mc_rx_init(&rx, NCHUNKS, 4, 1 << 16))
        return;
    const uint8_t *rec;
    size_t len;
    while (next_rec(&d, &n, &rec, &len)) {
        struct bh_mc_hdr h;
        struct bh_mc_data dt;
        if (bh_mc_parse_data(rec, len, SESSION, NCHUNKS, &h, &dt) != BH_MC_OK)
            continue;
        bh_mc_rx_seq(&rx, h.seq);
        const uint8_t *buf;
        size_t blen;
        enum bh_mc_rx_res res = bh_mc_rx_feed(&rx, &dt, &buf, &blen);
        CHECK(rx.bytes <= rx.max_bytes);
        if (res == BH_MC_RX_WHOLE) {
            CHECK(blen == dt.clen);
            bh_mc_rx_done(&rx, dt.chunk, (buf[0] & 1) != 0);
        }
    }
    uint8_t bits[BH_MC_REQ_BITS / 8];
    uint32_t base;
    uint32_t count = bh_mc_rx_lacking(&rx, 32, &base, bits);
    CHECK(count <= 32 && (count == 0 || base + count <= NCHUNKS));
    bh_mc_rx_free(&rx);
}

static void fuzz_tx(const uint8_t *d, size_t n)
{
    struct bh_mc_tx tx;
    struct bh_mc_tx_cfg cfg = {
        .nchunks = NCHUNKS, .rate_max = 1e6, .rate_min = 1e3, .hold_ms = 10, .loss_high = 0.02};
    if (bh_mc_tx_init(&tx, &cfg))
        return;
    if (bh_mc_tx_join(&tx, 1, key)) {
        bh_mc_tx_free(&tx);
        return;
    }
    const uint8_t *rec;
    size_t len;
    int64_t now = 1;
    while (next_rec(&d, &n, &rec, &len)) {
        uint32_t before = tx.npending;
        enum bh_mc_drop why = bh_mc_tx_request(&tx, SESSION, rec, len, now);
        CHECK(why == BH_MC_OK || tx.npending == before); /* a dropped one queues nothing */
        int64_t c = bh_mc_tx_next(&tx, now);
        CHECK(c < (int64_t)NCHUNKS);
        now += 7;
        bh_mc_tx_adjust(&tx);
        CHECK(tx.rate >= cfg.rate_min && tx.rate <= cfg.rate_max);
    }
    bh_mc_tx_free(&tx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: fuzz_parse(data + 1, size - 1); break;
    case 1: fuzz_rx(data + 1, size - 1); break;
    default: fuzz_tx(data + 1, size - 1); break;
    }
    return 0;
}
