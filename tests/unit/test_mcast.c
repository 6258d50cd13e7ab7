/*
 * test_mcast.c - the multicast protocol without sockets (src/xfer): the
 * datagrams' rules, the receiver's reassembly and requests, the sender's
 * merge, replay and MAC checks, loss signal and pacing, and a whole
 * session over a simulated lossy group that must end with every receiver
 * holding every chunk byte for byte.
 */
#include "core/err.h"
#include "image/chunklist.h"
#include "xfer/mcast_proto.h"
#include "xfer/mcast_rx.h"
#include "xfer/mcast_tx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SESSION 0x1122334455667788ull

static const uint8_t key1[BH_MC_KEY_LEN] = {1, 2, 3};
static const uint8_t key2[BH_MC_KEY_LEN] = {9, 9, 9};
static const uint8_t gkey[BH_MC_KEY_LEN] = {4, 4};

static void test_data_roundtrip_and_rules(void **state)
{
    (void)state;
    uint8_t pay[1000], d[2000];
    for (size_t i = 0; i < sizeof(pay); i++)
        pay[i] = (uint8_t)i;
    /* a chunk of 2,500 bytes in fragments of 1,000: the last carries 500 */
    struct bh_mc_data dt = {
        .chunk = 3, .clen = 2500, .off = 2000, .frag = 1000, .payload = pay, .len = 500};
    size_t n = bh_mc_build_data(d, sizeof(d), SESSION, 77, &dt, gkey);
    assert_int_equal(n, BH_MC_DATA_HDR + 500 + BH_MC_MAC_LEN);
    assert_true(bh_mc_mac_ok(d, n, gkey)); /* the group's key, and no other */
    assert_false(bh_mc_mac_ok(d, n, key1));
    struct bh_mc_hdr h;
    struct bh_mc_data got;
    assert_int_equal(bh_mc_parse_data(d, n, SESSION, 10, &h, &got), BH_MC_OK);
    assert_int_equal(h.seq, 77);
    assert_int_equal(got.chunk, 3);
    assert_int_equal(got.off, 2000);
    assert_int_equal(got.len, 500);
    assert_memory_equal(got.payload, pay, 500);
    /* every way it can be wrong is dropped, and says why */
    assert_int_equal(bh_mc_parse_data(d, n, SESSION + 1, 10, &h, &got), BH_MC_SESSION);
    assert_int_equal(bh_mc_parse_data(d, n, SESSION, 3, &h, &got), BH_MC_BOUNDS); /* chunk 3 of 3 */
    assert_int_equal(bh_mc_parse_data(d, n - 1, SESSION, 10, &h, &got), BH_MC_BOUNDS);
    assert_int_equal(bh_mc_parse_data(d, BH_MC_DATA_HDR + BH_MC_MAC_LEN, SESSION, 10, &h, &got),
                     BH_MC_SHORT);
    assert_int_equal(bh_mc_parse_data(d, 10, SESSION, 10, &h, &got), BH_MC_SHORT);
    uint8_t bad[2000];
    memcpy(bad, d, n);
    bad[0] = 'X';
    assert_int_equal(bh_mc_parse_data(bad, n, SESSION, 10, &h, &got), BH_MC_MAGIC);
    memcpy(bad, d, n);
    bad[4] = 2;
    assert_int_equal(bh_mc_parse_data(bad, n, SESSION, 10, &h, &got), BH_MC_VERS);
    memcpy(bad, d, n);
    bad[7] = 1; /* a flag DATA does not have */
    assert_int_equal(bh_mc_parse_data(bad, n, SESSION, 10, &h, &got), BH_MC_FLAGS);
    memcpy(bad, d, n);
    bad[31] = 1; /* off 2001: not on a fragment boundary */
    assert_int_equal(bh_mc_parse_data(bad, n, SESSION, 10, &h, &got), BH_MC_BOUNDS);
    memcpy(bad, d, n);
    bad[5] = BH_MC_ANNOUNCE;
    assert_int_equal(bh_mc_parse_data(bad, n, SESSION, 10, &h, &got), BH_MC_TYPE);
    /* the builder keeps the same rules */
    dt.len = 499;
    assert_int_equal(bh_mc_build_data(d, sizeof(d), SESSION, 1, &dt, gkey), 0);
    dt.len = 500;
    assert_int_equal(bh_mc_build_data(d, 100, SESSION, 1, &dt, gkey), 0);
    assert_string_equal(bh_mc_drop_name(BH_MC_REPLAY), "replay");
}

static void test_announce(void **state)
{
    (void)state;
    uint8_t d[64];
    struct bh_mc_announce a = {.nchunks = 4096, .rate_kbit = 90000, .state = BH_MC_RUNNING}, b;
    size_t n = bh_mc_build_announce(d, sizeof(d), SESSION, 5, &a, gkey);
    assert_int_equal(n, BH_MC_ANN_LEN);
    struct bh_mc_hdr h;
    assert_int_equal(bh_mc_parse_announce(d, n, SESSION, &h, &b), BH_MC_OK);
    assert_int_equal(b.nchunks, 4096);
    assert_int_equal(b.state, BH_MC_RUNNING);
    assert_int_equal(bh_mc_parse_announce(d, n + 1, SESSION, &h, &b), BH_MC_BOUNDS);
    d[28] = 7;
    assert_int_equal(bh_mc_parse_announce(d, n, SESSION, &h, &b), BH_MC_BOUNDS);
    a.nchunks = 0;
    assert_int_equal(bh_mc_build_announce(d, sizeof(d), SESSION, 5, &a, gkey), 0);
}

static size_t mk_request(uint8_t *d, uint32_t rcv, uint32_t seq, uint32_t base, uint32_t count,
                         const uint8_t *bits, const uint8_t *key)
{
    struct bh_mc_request r = {.receiver = rcv, .base = base, .count = count, .bitmap = bits};
    return bh_mc_build_request(d, 1500, SESSION, seq, 0, &r, key);
}

static void test_request_rules(void **state)
{
    (void)state;
    uint8_t d[1500], bits[2] = {0xa0, 0xff}; /* chunks 0 and 2 of 3, junk past count */
    size_t n = mk_request(d, 1, 1, 0, 3, bits, key1);
    assert_int_equal(n, BH_MC_REQ_HDR + 1 + BH_MC_MAC_LEN);
    struct bh_mc_hdr h;
    struct bh_mc_request r;
    assert_int_equal(bh_mc_parse_request(d, n, SESSION, 3, &h, &r), BH_MC_OK);
    assert_int_equal(r.bitmap[0], 0xa0); /* the builder cleared the bits past count */
    assert_true(bh_mc_mac_ok(d, n, key1));
    assert_false(bh_mc_mac_ok(d, n, key2));
    d[BH_MC_REQ_HDR] ^= 0x20; /* a flipped bit breaks the MAC */
    assert_false(bh_mc_mac_ok(d, n, key1));
    d[BH_MC_REQ_HDR] = 0xa1; /* a bit past count */
    assert_int_equal(bh_mc_parse_request(d, n, SESSION, 3, &h, &r), BH_MC_BOUNDS);
    n = mk_request(d, 1, 1, 2, 3, bits, key1); /* 2 + 3 > 3 chunks */
    assert_int_equal(bh_mc_parse_request(d, n, SESSION, 3, &h, &r), BH_MC_BOUNDS);
    n = mk_request(d, 1, 1, 0, 16, bits, key1);
    assert_int_equal(bh_mc_parse_request(d, n - 1, SESSION, 16, &h, &r), BH_MC_SHORT);
    assert_int_equal(bh_mc_parse_request(d, 20, SESSION, 16, &h, &r), BH_MC_SHORT);
    struct bh_mc_request big = {.count = BH_MC_REQ_BITS + 1};
    assert_int_equal(bh_mc_build_request(d, sizeof(d), SESSION, 1, 0, &big, key1), 0);
}

/* the sender: foreign receivers, wrong keys and replays are dropped and
 * counted; two receivers' requests merge; a chunk is not resent while it
 * is on its way; asking again after it went out is loss */
static void test_sender_merge_replay_loss(void **state)
{
    (void)state;
    struct bh_mc_tx tx;
    struct bh_mc_tx_cfg cfg = {
        .nchunks = 16, .rate_max = 1e7, .rate_min = 1e5, .hold_ms = 50, .loss_high = 0.02};
    assert_int_equal(bh_mc_tx_init(&tx, &cfg), 0);
    assert_int_equal(bh_mc_tx_join(&tx, 1, key1), 0);
    assert_int_equal(bh_mc_tx_join(&tx, 2, key2), 0);
    assert_int_equal(bh_mc_tx_join(&tx, 2, key2), -4 /* BH_ECONFLICT */);
    uint8_t d[1500], a[2] = {0xc0, 0}, b[2] = {0x40, 0x01};
    size_t n = mk_request(d, 1, 10, 0, 16, a, key1); /* 1 lacks 0, 1 */
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1000), BH_MC_OK);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1001), BH_MC_REPLAY);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION + 1, d, n, 1001), BH_MC_SESSION);
    n = mk_request(d, 2, 1, 0, 16, b, key1); /* receiver 2 with 1's key */
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1001), BH_MC_MAC);
    n = mk_request(d, 3, 1, 0, 16, b, key1);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1001), BH_MC_RECEIVER);
    struct bh_mc_request liar = {.receiver = 2,
                                 .base = 0,
                                 .count = 16,
                                 .missed = 1000000,
                                 .bitmap = b}; /* 2 lacks 1, 15, and claims vast loss */
    n = bh_mc_build_request(d, sizeof(d), SESSION, 1, 0, &liar, key2);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1002), BH_MC_OK);
    assert_int_equal(bh_mc_tx_receiver(&tx, 2)->missed, 0); /* nothing was sent yet */
    assert_int_equal(tx.drops[BH_MC_REPLAY], 1);
    assert_int_equal(tx.drops[BH_MC_MAC], 1);
    assert_int_equal(tx.npending, 3); /* 0, 1, 15: merged */
    assert_int_equal(bh_mc_tx_next(&tx, 1010), 0);
    assert_int_equal(bh_mc_tx_next(&tx, 1010), 1);
    assert_int_equal(bh_mc_tx_next(&tx, 1010), 15);
    assert_int_equal(bh_mc_tx_next(&tx, 1010), -1);
    /* 1 asks again at once for 0 and 1: on their way, not queued */
    n = mk_request(d, 1, 11, 0, 16, a, key1);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1020), BH_MC_OK);
    assert_int_equal(tx.npending, 0);
    assert_int_equal(tx.lost_chunks, 0);
    /* later it still lacks them, though they went out after its request at
     * 1000: lost, queued again */
    n = mk_request(d, 1, 12, 0, 16, a, key1);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1200), BH_MC_OK);
    assert_int_equal(tx.npending, 2);
    /* (the request at 1020 moved its last-request time past the send at
     * 1010, so only a chunk sent after 1020 would count: none did) */
    assert_int_equal(tx.lost_chunks, 0);
    assert_int_equal(bh_mc_tx_next(&tx, 1210), 0);
    assert_int_equal(bh_mc_tx_next(&tx, 1210), 1);
    n = mk_request(d, 1, 13, 0, 16, a, key1);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1400), BH_MC_OK);
    assert_int_equal(tx.lost_chunks, 2);
    /* heavy loss backs the rate off; none brings it back up slowly */
    bh_mc_tx_adjust(&tx);
    assert_true(tx.rate < cfg.rate_max);
    double low = tx.rate;
    assert_int_equal(bh_mc_tx_next(&tx, 1410), 0);
    bh_mc_tx_adjust(&tx);
    assert_true(tx.rate > low && tx.rate <= cfg.rate_max);
    /* done flags */
    assert_false(bh_mc_tx_all_done(&tx));
    struct bh_mc_request r = {.receiver = 1};
    n = bh_mc_build_request(d, sizeof(d), SESSION, 14, BH_MC_REQ_DONE, &r, key1);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1500), BH_MC_OK);
    r.receiver = 2;
    n = bh_mc_build_request(d, sizeof(d), SESSION, 2, BH_MC_REQ_DONE, &r, key2);
    assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, 1500), BH_MC_OK);
    assert_true(bh_mc_tx_all_done(&tx));
    bh_mc_tx_free(&tx);
}

static void test_token_bucket(void **state)
{
    (void)state;
    struct bh_tb tb;
    bh_tb_init(&tb, 1000.0, 1500.0, 0); /* 1,000 bytes/s, 1,500 saved */
    assert_int_equal(bh_tb_take(&tb, 0, 1500), 0);
    int64_t w = bh_tb_take(&tb, 0, 500);
    assert_true(w >= 500 && w <= 501);
    assert_int_equal(bh_tb_take(&tb, 500, 500), 0);
    assert_true(bh_tb_take(&tb, 500, 1) >= 1);
    assert_int_equal(bh_tb_take(&tb, 100000, 1500), 0); /* the burst caps what is saved */
    assert_true(bh_tb_take(&tb, 100000, 1) >= 1);
}

/* the receiver: out of order, duplicates, a conflicting fragment, eviction
 * under the memory cap, a bad chunk lacked again, requests walking round */
static void test_receiver(void **state)
{
    (void)state;
    struct bh_mc_rx rx;
    assert_int_equal(bh_mc_rx_init(&rx, 20, 2, 5000), 0);
    uint8_t pay[2500];
    for (size_t i = 0; i < sizeof(pay); i++)
        pay[i] = (uint8_t)(i * 7);
    const uint8_t *buf;
    size_t len;
    struct bh_mc_data f2 = {
        .chunk = 4, .clen = 2500, .off = 2000, .frag = 1000, .payload = pay + 2000, .len = 500};
    struct bh_mc_data f0 = f2, f1 = f2;
    f0.off = 0, f0.payload = pay, f0.len = 1000;
    f1.off = 1000, f1.payload = pay + 1000, f1.len = 1000;
    assert_int_equal(bh_mc_rx_feed(&rx, &f2, &buf, &len), BH_MC_RX_PART);
    assert_int_equal(bh_mc_rx_feed(&rx, &f2, &buf, &len), BH_MC_RX_DUP);
    assert_int_equal(bh_mc_rx_feed(&rx, &f0, &buf, &len), BH_MC_RX_PART);
    assert_int_equal(bh_mc_rx_feed(&rx, &f1, &buf, &len), BH_MC_RX_WHOLE);
    assert_int_equal(len, 2500);
    assert_memory_equal(buf, pay, 2500);
    bh_mc_rx_done(&rx, 4, false); /* its hash did not match: lacked again */
    assert_false(bh_mc_rx_has(&rx, 4));
    assert_int_equal(rx.bytes, 0);
    assert_int_equal(bh_mc_rx_feed(&rx, &f0, &buf, &len), BH_MC_RX_PART);
    struct bh_mc_data other = f0;
    other.frag = 500, other.len = 500; /* chunk 4 again, cut another way */
    assert_int_equal(bh_mc_rx_feed(&rx, &other, &buf, &len), BH_MC_RX_CONFLICT);
    /* two more chunks: the cap (2 slots, 5,000 bytes) evicts the oldest */
    struct bh_mc_data c7 = f0, c8 = f0;
    c7.chunk = 7;
    c8.chunk = 8;
    assert_int_equal(bh_mc_rx_feed(&rx, &c7, &buf, &len), BH_MC_RX_PART);
    assert_int_equal(bh_mc_rx_feed(&rx, &c8, &buf, &len), BH_MC_RX_PART);
    assert_int_equal(rx.evicted, 1);
    assert_true(rx.bytes <= 5000);
    /* what it has is never taken again, nor asked for */
    for (uint32_t c = 0; c < 20; c++)
        if (c != 3 && c != 17)
            bh_mc_rx_have(&rx, c);
    assert_int_equal(bh_mc_rx_feed(&rx, &c7, &buf, &len), BH_MC_RX_HAVE);
    uint8_t bits[BH_MC_REQ_BITS / 8];
    uint32_t base = 99;
    uint32_t count = bh_mc_rx_lacking(&rx, 10, &base, bits);
    assert_int_equal(base, 3);
    assert_int_equal(count, 10);
    assert_int_equal(bits[0], 0x80); /* chunk 3 */
    count = bh_mc_rx_lacking(&rx, 10, &base, bits);
    assert_int_equal(base, 17); /* the next lacking one on */
    assert_int_equal(count, 3);
    assert_int_equal(bits[0], 0x80);
    count = bh_mc_rx_lacking(&rx, 10, &base, bits);
    assert_int_equal(base, 3); /* and round again */
    bh_mc_rx_have(&rx, 3);
    bh_mc_rx_have(&rx, 17);
    assert_int_equal(bh_mc_rx_lacking(&rx, 10, &base, bits), 0);
    /* loss from seq gaps; a late or repeated one is not loss */
    bh_mc_rx_seq(&rx, 10);
    bh_mc_rx_seq(&rx, 14);
    bh_mc_rx_seq(&rx, 12);
    bh_mc_rx_seq(&rx, 15);
    assert_int_equal(rx.missed, 3);
    bh_mc_rx_seq(&rx, 15 + 100000); /* a jump no loss makes: followed, not counted */
    bh_mc_rx_seq(&rx, 15 + 100002);
    assert_int_equal(rx.missed, 4);
    /* a fragment shorter than its place (not the chunk's last) is refused */
    struct bh_mc_data shortf = c8;
    shortf.len = 999;
    assert_int_equal(bh_mc_rx_feed(&rx, &shortf, &buf, &len), BH_MC_RX_BAD);
    bh_mc_rx_free(&rx);
}

/* A whole session: 6 receivers of 300 chunks, each already holding a
 * different part; every datagram to each receiver is lost with 10%
 * chance (and requests too); the sender paces nothing here.  Every
 * receiver ends with every chunk, byte for byte, and the chunks sent stay
 * far below one copy per receiver. */
#define NCH  300
#define NRCV 6
static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static void chunk_bytes(uint32_t c, uint8_t *out, uint32_t *clen)
{
    *clen = 500 + (c * 37) % 3000;
    for (uint32_t i = 0; i < *clen; i++)
        out[i] = (uint8_t)(c * 31 + i);
}

static void test_lossy_session(void **state)
{
    (void)state;
    struct bh_mc_tx tx;
    struct bh_mc_tx_cfg cfg = {
        .nchunks = NCH, .rate_max = 1e7, .rate_min = 1e5, .hold_ms = 20, .loss_high = 0.02};
    assert_int_equal(bh_mc_tx_init(&tx, &cfg), 0);
    struct bh_mc_rx rx[NRCV];
    uint8_t keys[NRCV][BH_MC_KEY_LEN];
    uint32_t rseq[NRCV] = {0};
    for (int r = 0; r < NRCV; r++) {
        memset(keys[r], r + 1, BH_MC_KEY_LEN);
        assert_int_equal(bh_mc_tx_join(&tx, (uint32_t)r + 1, keys[r]), 0);
        assert_int_equal(bh_mc_rx_init(&rx[r], NCH, 8, 64 * 1024), 0);
        for (uint32_t c = 0; c < NCH; c++)
            if ((c + (uint32_t)r) % 3 == 0) /* a third it has on disk */
                bh_mc_rx_have(&rx[r], c);
    }
    uint8_t chunk[4000], d[2000];
    uint32_t seq = 0;
    int64_t now = 1;
    uint64_t datagrams = 0;
    for (int round = 0; round < 200; round++) {
        /* every receiver asks (requests are lost too) */
        for (int r = 0; r < NRCV; r++) {
            uint8_t bits[BH_MC_REQ_BITS / 8];
            uint32_t missed = (uint32_t)rx[r].missed; /* read before lacking resets it */
            uint32_t base = 0, count = bh_mc_rx_lacking(&rx[r], 128, &base, bits);
            struct bh_mc_request q = {.receiver = (uint32_t)r + 1,
                                      .missed = missed,
                                      .base = base,
                                      .count = count,
                                      .bitmap = bits};
            size_t n = bh_mc_build_request(d, sizeof(d), SESSION, ++rseq[r],
                                           (uint16_t)(count ? 0 : BH_MC_REQ_DONE), &q, keys[r]);
            assert_true(n > 0);
            if (rnd() % 10)
                assert_int_equal(bh_mc_tx_request(&tx, SESSION, d, n, now), BH_MC_OK);
        }
        if (bh_mc_tx_all_done(&tx))
            break;
        /* the sender sends what is queued, fragment by fragment */
        int64_t c;
        while ((c = bh_mc_tx_next(&tx, now)) >= 0) {
            uint32_t clen;
            chunk_bytes((uint32_t)c, chunk, &clen);
            for (uint32_t off = 0; off < clen; off += 1000) {
                struct bh_mc_data dt = {.chunk = (uint32_t)c,
                                        .clen = clen,
                                        .off = off,
                                        .frag = 1000,
                                        .payload = chunk + off,
                                        .len = clen - off < 1000 ? clen - off : 1000};
                size_t n = bh_mc_build_data(d, sizeof(d), SESSION, ++seq, &dt, gkey);
                assert_true(n > 0);
                datagrams++;
                bh_mc_tx_datagram(&tx);
                for (int r = 0; r < NRCV; r++) {
                    if (rnd() % 10 == 0)
                        continue; /* lost on the way to r */
                    struct bh_mc_hdr h;
                    struct bh_mc_data in;
                    assert_true(bh_mc_mac_ok(d, n, gkey));
                    assert_int_equal(bh_mc_parse_data(d, n, SESSION, NCH, &h, &in), BH_MC_OK);
                    bh_mc_rx_seq(&rx[r], h.seq);
                    const uint8_t *buf;
                    size_t len;
                    if (bh_mc_rx_feed(&rx[r], &in, &buf, &len) == BH_MC_RX_WHOLE) {
                        uint8_t want[4000];
                        uint32_t wl;
                        chunk_bytes(in.chunk, want, &wl);
                        bool ok = len == wl && !memcmp(buf, want, wl); /* "the hash" */
                        assert_true(ok);
                        bh_mc_rx_done(&rx[r], in.chunk, ok);
                    }
                }
            }
        }
        now += 50; /* past hold_ms: the next requests may queue again */
        bh_mc_tx_adjust(&tx);
    }
    assert_true(bh_mc_tx_all_done(&tx));
    for (int r = 0; r < NRCV; r++) {
        assert_int_equal(rx[r].nhave, NCH);
        bh_mc_rx_free(&rx[r]);
    }
    /* every receiver lacked 200 chunks: unicast would send 1,200; the
     * group got each at most a few times */
    print_message("# lossy session: %llu chunks sent (%llu again), %llu datagrams, %llu lost\n",
                  (unsigned long long)tx.sent_chunks, (unsigned long long)tx.resent_chunks,
                  (unsigned long long)datagrams, (unsigned long long)tx.lost_chunks);
    assert_true(tx.sent_chunks < 2 * NCH);
    assert_true(tx.lost_chunks > 0); /* the loss was seen, from requests alone */
    uint64_t missed = 0;
    for (size_t i = 0; i < tx.nrcv; i++)
        missed += tx.rcv[i].missed;
    /* about 10% of every receiver's datagrams, as reported (requests lost too) */
    assert_true(missed > datagrams * NRCV / 20 && missed < datagrams * NRCV / 5);
    assert_true(tx.rate < cfg.rate_max); /* 10% loss: the rate backed off */
    bh_mc_tx_free(&tx);
}

/* a session's chunk list: two partitions' manifests, a chunk shared
 * between them and one repeated inside one, zero runs left out; the same
 * manifests in the same order give the same list and digest */
static void mf(struct bh_manifest *m, const uint8_t *seeds, size_t n)
{
    bh_manifest_init(m);
    for (size_t i = 0; i < n; i++) {
        uint8_t id[BH_SHA256_LEN];
        bh_sha256(&seeds[i], 1, id);
        assert_int_equal(bh_manifest_add(m, seeds[i] == 0, 4096, seeds[i] ? id : NULL), 0);
    }
}

static void test_chunklist(void **state)
{
    (void)state;
    struct bh_manifest a, b;
    const uint8_t sa[] = {1, 2, 0, 2, 3}, sb[] = {3, 4, 0, 1};
    mf(&a, sa, sizeof(sa));
    mf(&b, sb, sizeof(sb));
    struct bh_chunklist l, l2;
    bh_chunklist_init(&l);
    assert_int_equal(bh_chunklist_add(&l, &a, 100), 0);
    assert_int_equal(bh_chunklist_add(&l, &b, 100), 0);
    assert_int_equal(l.n, 4); /* 1 2 3 4 */
    assert_int_equal(bh_chunklist_seal(&l), 0);
    assert_int_equal(bh_chunklist_add(&l, &a, 100), -2 /* BH_EINVAL: sealed */);
    for (uint8_t s = 1; s <= 4; s++) {
        uint8_t id[BH_SHA256_LEN];
        bh_sha256(&s, 1, id);
        assert_int_equal(bh_chunklist_index(&l, id), s - 1);
    }
    uint8_t five = 5, id5[BH_SHA256_LEN];
    bh_sha256(&five, 1, id5);
    assert_int_equal(bh_chunklist_index(&l, id5), -1);
    /* the same manifests in another order: another list, another digest */
    bh_chunklist_init(&l2);
    assert_int_equal(bh_chunklist_add(&l2, &b, 100), 0);
    assert_int_equal(bh_chunklist_add(&l2, &a, 100), 0);
    uint8_t d1[BH_SHA256_LEN], d2[BH_SHA256_LEN];
    bh_chunklist_digest(&l, d1);
    bh_chunklist_digest(&l2, d2);
    assert_memory_not_equal(d1, d2, BH_SHA256_LEN);
    bh_chunklist_free(&l2);
    bh_chunklist_init(&l2);
    assert_int_equal(bh_chunklist_add(&l2, &a, 100), 0);
    assert_int_equal(bh_chunklist_add(&l2, &b, 100), 0);
    bh_chunklist_digest(&l2, d2);
    assert_memory_equal(d1, d2, BH_SHA256_LEN);
    bh_chunklist_free(&l2);
    bh_chunklist_init(&l2);
    assert_int_equal(bh_chunklist_add(&l2, &a, 2), BH_ETOOBIG);
    bh_chunklist_free(&l2);
    bh_chunklist_free(&l);
    bh_manifest_free(&a);
    bh_manifest_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_roundtrip_and_rules),
        cmocka_unit_test(test_announce),
        cmocka_unit_test(test_request_rules),
        cmocka_unit_test(test_sender_merge_replay_loss),
        cmocka_unit_test(test_token_bucket),
        cmocka_unit_test(test_receiver),
        cmocka_unit_test(test_lossy_session),
        cmocka_unit_test(test_chunklist),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
