/*
 * libFuzzer driver: the TFTP protocol half (src/boot/tftp_proto.c).
 *
 * The first byte picks the target:
 *   0  request parser, path check, negotiation and OACK/ERROR building on
 *      the rest of the input as a datagram to the server port
 *   1  the sender state machine driven by the rest as events (3 bytes
 *      each: kind, wire block number), with its invariants checked
 *   2  netascii encode in blocks, then decode: must give the input back
 */
#include "boot/tftp_proto.h"

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

static void fuzz_request(const uint8_t *d, size_t n)
{
    struct bh_tftp_req r;
    const char *why = NULL;
    int rc = bh_tftp_parse_request(d, n, &r, &why);
    CHECK(why != NULL);
    if (rc != BH_TFTP_PARSE_OK) {
        CHECK(rc == BH_TFTP_PARSE_DROP || rc == BH_TFTP_EBADOP || rc == BH_TFTP_EOPTNEG);
        CHECK(rc == BH_TFTP_PARSE_DROP || why[0]);
        return;
    }
    CHECK(r.op == BH_TFTP_RRQ || r.op == BH_TFTP_WRQ);
    CHECK(r.file_len > 0 && strlen(r.file) == r.file_len);
    CHECK((const uint8_t *)r.file >= d && (const uint8_t *)r.file + r.file_len < d + n);
    const char *path;
    if (bh_tftp_check_path(r.file, &path, &why) == 0) {
        CHECK(*path && *path != '/' && !strchr(path, '\\'));
        for (const char *c = path; *c; c++)
            CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
    }
    /* negotiate against limits taken from the request itself */
    struct bh_tftp_limits lim = {(uint32_t)(512 + r.file_len * 97), (uint32_t)(r.file_len % 70),
                                 (uint32_t)(r.file_len * 37)};
    struct bh_tftp_params p;
    bh_tftp_negotiate(&r, &lim, r.mode == BH_TFTP_OCTET, r.file_len * 1000003u, &p);
    CHECK(p.blksize >= BH_TFTP_BLKSIZE_MIN && p.blksize <= BH_TFTP_BLKSIZE_MAX);
    CHECK(p.windowsize >= 1 && p.windowsize <= BH_TFTP_WINDOW_MAX);
    if (p.oack & BH_TFTP_OPT_BLKSIZE)
        CHECK(p.blksize <= r.blksize);
    else
        CHECK(p.blksize == BH_TFTP_BLKSIZE_DEFAULT);
    uint8_t out[BH_TFTP_REQ_MAX];
    size_t len = bh_tftp_build_oack(out, sizeof(out), &p);
    CHECK(len >= 2 && len <= sizeof(out));
    CHECK(out[len - 1] == '\0' || len == 2);
    len = bh_tftp_build_error(out, 64, BH_TFTP_EUNDEF, r.file);
    CHECK(len >= 5 && len <= 64 && out[len - 1] == '\0');
}

static void fuzz_tx(const uint8_t *d, size_t n)
{
    if (n < 4)
        return;
    uint16_t window = (uint16_t)(d[0] % BH_TFTP_WINDOW_MAX + 1);
    bool oack = d[1] & 1, unknown = d[1] & 2;
    uint64_t last = (uint64_t)d[2] * 600 + d[3] + 1; /* up to ~153k blocks: wraps */
    struct bh_tftp_tx tx;
    struct bh_tftp_span s;
    bh_tftp_tx_init(&tx, window, unknown ? BH_TFTP_LAST_UNKNOWN : last, oack, 4);
    enum bh_tftp_act a = bh_tftp_tx_begin(&tx, &s);
    for (size_t i = 4; i + 3 <= n && a != BH_TFTP_ACT_DONE && a != BH_TFTP_ACT_FAIL; i += 3) {
        if (a == BH_TFTP_ACT_SEND && !s.oack) {
            /* the I/O contract: a span starts at or below the next new block
             * and stays inside the window and the file */
            CHECK(s.first <= s.end && s.first >= tx.base && s.first <= tx.next);
            CHECK(s.end <= tx.base + tx.window);
            if (tx.last != BH_TFTP_LAST_UNKNOWN)
                CHECK(s.end <= tx.last + 1);
            /* send all, some, or none of it (a full socket) */
            uint64_t stop = s.end - (d[i] & 0x80 ? (s.end - s.first) / 2 : 0);
            for (uint64_t b = s.first; b < stop; b++) {
                bh_tftp_tx_sent(&tx, b);
                if (tx.last == BH_TFTP_LAST_UNKNOWN && b >= last) {
                    bh_tftp_tx_set_last(&tx, b); /* netascii found the end */
                    break;
                }
            }
        }
        uint16_t wire = (uint16_t)(d[i + 1] << 8 | d[i + 2]);
        if (d[i] & 0x40) /* an ACK near the window, the interesting ones */
            wire = (uint16_t)(tx.base + (wire % 130) - 65);
        uint64_t base = tx.base, next = tx.next;
        uint32_t retrans = tx.retransmits;
        a = (d[i] & 0x3) == 0 ? bh_tftp_tx_on_timeout(&tx, &s) : bh_tftp_tx_on_ack(&tx, wire, &s);
        CHECK(tx.base >= base && tx.next == next && tx.retransmits == retrans);
        CHECK(tx.next >= tx.base || tx.done);
        CHECK(tx.next - (tx.base ? tx.base : 1) <= tx.window || tx.done);
        if (a == BH_TFTP_ACT_DONE)
            CHECK(tx.last != BH_TFTP_LAST_UNKNOWN && tx.base == tx.last + 1);
        if (a == BH_TFTP_ACT_NONE)
            CHECK(tx.base == base || tx.done);
    }
}

static void fuzz_netascii(const uint8_t *d, size_t n)
{
    if (n < 1)
        return;
    size_t blksize = (size_t)d[0] % 40 + 1;
    d++;
    n--;
    uint8_t *wire = malloc(2 * n + blksize + 1), *back = malloc(2 * n + 2);
    CHECK(wire && back);
    struct bh_tftp_ascii st = {0};
    size_t w = 0;
    for (;;) {
        CHECK(st.off <= n);
        size_t avail = n - (size_t)st.off;
        size_t got = bh_tftp_ascii_encode(&st, d + st.off, avail < blksize ? avail : blksize,
                                          wire + w, blksize);
        w += got;
        if (got < blksize)
            break;
        CHECK(w <= 2 * n);
    }
    CHECK(st.off == n && !st.has_pend);
    bool cr = false;
    size_t b = bh_tftp_ascii_decode(&cr, wire, w, back);
    CHECK(!cr && b == n && memcmp(back, d, n) == 0);
    free(wire);
    free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0: fuzz_request(data + 1, size - 1); break;
    case 1: fuzz_tx(data + 1, size - 1); break;
    default: fuzz_netascii(data + 1, size - 1); break;
    }
    return 0;
}
