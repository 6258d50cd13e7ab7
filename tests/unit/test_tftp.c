/*
 * test_tftp.c - unit tests for src/boot/tftp_proto.c: request parsing,
 * path checks, option negotiation, packet building, the sender's window
 * state machine (loss, duplicates, stale ACKs, rollover) and netascii.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot/tftp.h"
#include "boot/tftp_proto.h"
#include "core/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
/* a packet from a string literal with embedded NULs */
#define PKT(lit) (const uint8_t *)(lit), sizeof(lit) - 1

static int parse(const uint8_t *p, size_t n, struct bh_tftp_req *r, const char **why)
{
    return bh_tftp_parse_request(p, n, r, why);
}

/* ---- request parsing ------------------------------------------------------ */

static void test_parse_good(void **state)
{
    (void)state;
    struct bh_tftp_req r;
    const char *why;
    assert_int_equal(parse(PKT("\0\1pxelinux.0\0octet\0"), &r, &why), BH_TFTP_PARSE_OK);
    assert_int_equal(r.op, BH_TFTP_RRQ);
    assert_string_equal(r.file, "pxelinux.0");
    assert_int_equal(r.file_len, 10);
    assert_int_equal(r.mode, BH_TFTP_OCTET);
    assert_int_equal(r.opts, 0);

    /* RFC 1350: mode is case-insensitive; RFC 2347: so are option names */
    assert_int_equal(parse(PKT("\0\1a\0NetASCII\0BLKSIZE\0001468\0TSize\0000\0"
                               "timeout\0003\0WindowSize\00016\0"),
                           &r, &why),
                     BH_TFTP_PARSE_OK);
    assert_int_equal(r.mode, BH_TFTP_NETASCII);
    assert_int_equal(r.opts, BH_TFTP_OPT_BLKSIZE | BH_TFTP_OPT_TSIZE | BH_TFTP_OPT_TIMEOUT |
                                 BH_TFTP_OPT_WINDOW);
    assert_int_equal(r.blksize, 1468);
    assert_int_equal(r.tsize, 0);
    assert_int_equal(r.timeout, 3);
    assert_int_equal(r.windowsize, 16);

    assert_int_equal(parse(PKT("\0\2up\0octet\0"), &r, &why), BH_TFTP_PARSE_OK);
    assert_int_equal(r.op, BH_TFTP_WRQ);
}

static void test_parse_options_ignored(void **state)
{
    (void)state;
    struct bh_tftp_req r;
    const char *why;
    /* unknown options are ignored (RFC 2347) */
    assert_int_equal(parse(PKT("\0\1f\0octet\0multicast\0\0blksize\0001024\0"), &r, &why), 0);
    assert_int_equal(r.opts, BH_TFTP_OPT_BLKSIZE);
    /* NUL padding after the options, as some PXE ROMs send */
    assert_int_equal(parse(PKT("\0\1f\0octet\0tsize\0000\0\0\0\0\0"), &r, &why), 0);
    assert_int_equal(r.opts, BH_TFTP_OPT_TSIZE);
    /* values we cannot honour are left out, not errors */
    static const struct {
        const char *pkt;
        size_t n;
    } bad[] = {
#define B(lit) {lit, sizeof(lit) - 1}
        B("\0\1f\0octet\0blksize\0007\0"),                     /* RFC 2348: below 8 */
        B("\0\1f\0octet\0blksize\0abc\0"),                     /* not a number */
        B("\0\1f\0octet\0blksize\0+512\0"),                    /* sign */
        B("\0\1f\0octet\0blksize\0 512\0"),                    /* space */
        B("\0\1f\0octet\0blksize\0\0"),                        /* empty */
        B("\0\1f\0octet\0blksize\000999999999999999999999\0"), /* overflow */
        B("\0\1f\0octet\0timeout\0000\0"),                     /* RFC 2349: 1..255 */
        B("\0\1f\0octet\0timeout\000256\0"),
        B("\0\1f\0octet\0windowsize\0000\0"), /* RFC 7440: 1..65535 */
        B("\0\1f\0octet\0tsize\0-1\0"),
#undef B
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        assert_int_equal(parse((const uint8_t *)bad[i].pkt, bad[i].n, &r, &why), 0);
        assert_int_equal(r.opts, 0);
    }
    /* too large: kept, clamped to what can be answered */
    assert_int_equal(parse(PKT("\0\1f\0octet\0blksize\00070000\0windowsize\000999999\0"), &r, &why),
                     0);
    assert_int_equal(r.blksize, BH_TFTP_BLKSIZE_MAX);
    assert_int_equal(r.windowsize, 65535);
    assert_int_equal(parse(PKT("\0\1f\0octet\0timeout\000255\0blksize\0008\0"), &r, &why), 0);
    assert_int_equal(r.timeout, 255);
    assert_int_equal(r.blksize, 8);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    struct bh_tftp_req r;
    const char *why;
    static const struct {
        const char *pkt;
        size_t n;
        int want;
        const char *why;
    } cases[] = {
#define C(lit, w, y) {lit, sizeof(lit) - 1, w, y}
        C("", BH_TFTP_EBADOP, "packet too short"),
        C("\0", BH_TFTP_EBADOP, "packet too short"),
        C("\0\0f\0octet\0", BH_TFTP_EBADOP, "unknown opcode"),
        C("\0\7f\0octet\0", BH_TFTP_EBADOP, "unknown opcode"),
        C("\1\1f\0octet\0", BH_TFTP_EBADOP, "unknown opcode"),
        C("\0\3\0\1data", BH_TFTP_EBADOP, "not a request"),
        C("\0\4\0\1", BH_TFTP_EBADOP, "not a request"),
        C("\0\6blksize\0008\0", BH_TFTP_EBADOP, "not a request"),
        C("\0\5\0\1oops\0", BH_TFTP_PARSE_DROP, ""), /* RFC 1350: errors are not answered */
        C("\0\1", BH_TFTP_EBADOP, "filename not terminated"),
        C("\0\1file", BH_TFTP_EBADOP, "filename not terminated"),
        C("\0\1\0octet\0", BH_TFTP_EBADOP, "empty filename"),
        C("\0\1file\0", BH_TFTP_EBADOP, "mode not terminated"),
        C("\0\1file\0octet", BH_TFTP_EBADOP, "mode not terminated"),
        C("\0\1file\0\0", BH_TFTP_EBADOP, "unknown transfer mode"),
        C("\0\1file\0binary\0", BH_TFTP_EBADOP, "unknown transfer mode"),
        C("\0\1file\0octets\0", BH_TFTP_EBADOP, "unknown transfer mode"),
        C("\0\1file\0MAIL\0", BH_TFTP_EBADOP, "mail mode not supported"),
        C("\0\1file\0octet\0blksize", BH_TFTP_EBADOP, "option not terminated"),
        C("\0\1file\0octet\0blksize\0", BH_TFTP_EOPTNEG, "option without value"),
        C("\0\1file\0octet\0blksize\0001468", BH_TFTP_EBADOP, "option value not terminated"),
        C("\0\1file\0octet\0blksize\0001468\0BlkSize\000512\0", BH_TFTP_EOPTNEG,
          "duplicate option"),
        C("\0\1file\0octet\0tsize\0000\0tsize\0000\0", BH_TFTP_EOPTNEG, "duplicate option"),
        C("\0\1file\0octet\0windowsize\0x\0windowsize\0004\0", BH_TFTP_EOPTNEG, "duplicate option"),
#undef C
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        int rc = parse((const uint8_t *)cases[i].pkt, cases[i].n, &r, &why);
        if (rc != cases[i].want || strcmp(why, cases[i].why) != 0)
            fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, rc, why, cases[i].want,
                     cases[i].why);
    }
    /* longer than any request we take */
    uint8_t big[BH_TFTP_REQ_MAX + 1];
    memset(big, 'a', sizeof(big));
    memcpy(big, "\0\1", 2);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(parse(big, sizeof(big), &r, &why), BH_TFTP_EBADOP);
    assert_string_equal(why, "request too long");
    assert_int_equal(parse(big, BH_TFTP_REQ_MAX, &r, &why), BH_TFTP_EBADOP);
    assert_string_equal(why, "filename not terminated");
    big[100] = '\0';
    assert_int_equal(parse(big, BH_TFTP_REQ_MAX, &r, &why), BH_TFTP_EBADOP);
    assert_string_equal(why, "mode not terminated");
}

static void test_check_path(void **state)
{
    (void)state;
    const char *out, *why;
    static const struct {
        const char *in, *out;
    } good[] = {
        {"pxelinux.0", "pxelinux.0"},
        {"/pxelinux.0", "pxelinux.0"}, /* firmware sends a leading slash */
        {"pxelinux.cfg/01-aa-bb-cc-dd-ee-ff", "pxelinux.cfg/01-aa-bb-cc-dd-ee-ff"},
        {"a/..b", "a/..b"},
        {"..a/b", "..a/b"},
        {"a/b..", "a/b.."},
        {"./x", "./x"},
        {"grub/x86_64-efi/normal.mod", "grub/x86_64-efi/normal.mod"},
    };
    for (size_t i = 0; i < N_ELEMS(good); i++) {
        assert_int_equal(bh_tftp_check_path(good[i].in, &out, &why), 0);
        assert_string_equal(out, good[i].out);
    }
    static const char *const bad[] = {
        "/",    "//etc/passwd", "../etc/passwd", "/../..",    "a/../../b", "a/..",  "..",
        "a\\b", "\\x",          "a\x01",         "tab\tname", "del\x7f",   "nl\nx", "\x1b[31m",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        if (bh_tftp_check_path(bad[i], &out, &why) != BH_TFTP_EACCESS)
            fail_msg("accepted %s", bad[i]);
    }
}

/* ---- negotiation ------------------------------------------------------------ */

static struct bh_tftp_req req_with(unsigned opts, uint32_t blk, uint32_t win, uint32_t tmo)
{
    struct bh_tftp_req r = {.op = BH_TFTP_RRQ, .file = "f", .file_len = 1};
    r.opts = opts;
    r.blksize = blk;
    r.windowsize = win;
    r.timeout = tmo;
    return r;
}

static void test_negotiate(void **state)
{
    (void)state;
    struct bh_tftp_params p;
    struct bh_tftp_limits lim = {65464, 64, 1500};
    struct bh_tftp_req r = req_with(0, 0, 0, 0);
    bh_tftp_negotiate(&r, &lim, true, 1000, &p);
    assert_int_equal(p.oack, 0); /* no options: plain RFC 1350 start */
    assert_int_equal(p.blksize, 512);
    assert_int_equal(p.windowsize, 1);

    r = req_with(BH_TFTP_OPT_BLKSIZE, 1468, 0, 0);
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.oack, BH_TFTP_OPT_BLKSIZE);
    assert_int_equal(p.blksize, 1468);
    /* clamped to the path MTU: 1500 - 20 - 8 - 4 */
    r = req_with(BH_TFTP_OPT_BLKSIZE, 9000, 0, 0);
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.blksize, 1468);
    lim.mtu = 576;
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.blksize, 544);
    /* MTU unknown: the configured maximum */
    lim = (struct bh_tftp_limits){8192, 64, 0};
    r = req_with(BH_TFTP_OPT_BLKSIZE, 65464, 0, 0);
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.blksize, 8192);
    lim.mtu = 65536; /* loopback */
    lim.blksize_max = 65464;
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.blksize, 65464);
    r = req_with(BH_TFTP_OPT_BLKSIZE, 8, 0, 0);
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.blksize, 8);

    /* windowsize: ours is capped at 64, and at the configured maximum */
    r = req_with(BH_TFTP_OPT_WINDOW, 0, 65535, 0);
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.oack, BH_TFTP_OPT_WINDOW);
    assert_int_equal(p.windowsize, 64);
    lim.windowsize_max = 16;
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.windowsize, 16);
    r = req_with(BH_TFTP_OPT_WINDOW, 0, 4, 0);
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.windowsize, 4);

    /* timeout is echoed as asked (RFC 2349) */
    r = req_with(BH_TFTP_OPT_TIMEOUT, 0, 0, 7);
    bh_tftp_negotiate(&r, &lim, true, 0, &p);
    assert_int_equal(p.oack, BH_TFTP_OPT_TIMEOUT);
    assert_int_equal(p.timeout, 7);

    /* tsize: the size on a RRQ; left out when unknown (netascii) or on a WRQ */
    r = req_with(BH_TFTP_OPT_TSIZE, 0, 0, 0);
    bh_tftp_negotiate(&r, &lim, true, 123456789012ull, &p);
    assert_int_equal(p.oack, BH_TFTP_OPT_TSIZE);
    assert_true(p.tsize == 123456789012ull);
    bh_tftp_negotiate(&r, &lim, false, 5, &p);
    assert_int_equal(p.oack, 0);
    r.op = BH_TFTP_WRQ;
    bh_tftp_negotiate(&r, &lim, true, 5, &p);
    assert_int_equal(p.oack, 0);
}

/* ---- packets -------------------------------------------------------------------- */

static void test_build(void **state)
{
    (void)state;
    uint8_t b[128];
    struct bh_tftp_params p = {.oack = BH_TFTP_OPT_BLKSIZE | BH_TFTP_OPT_TSIZE |
                                       BH_TFTP_OPT_TIMEOUT | BH_TFTP_OPT_WINDOW,
                               .blksize = 1468,
                               .windowsize = 16,
                               .timeout = 3,
                               .tsize = 0};
    static const char want[] = "\0\6blksize\0001468\0tsize\0000\0timeout\0003\0windowsize\00016\0";
    size_t n = bh_tftp_build_oack(b, sizeof(b), &p);
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(b, want, n);
    assert_int_equal(bh_tftp_build_oack(b, 20, &p), 0); /* does not fit */
    p.oack = BH_TFTP_OPT_TSIZE;
    p.tsize = UINT64_MAX;
    n = bh_tftp_build_oack(b, sizeof(b), &p);
    assert_int_equal(n, 2 + 6 + 21);
    assert_string_equal((char *)b + 8, "18446744073709551615");

    n = bh_tftp_build_error(b, sizeof(b), BH_TFTP_ENOTFOUND, "file not found");
    assert_int_equal(n, 4 + 15);
    assert_memory_equal(b, "\0\5\0\1file not found\0", n);
    n = bh_tftp_build_error(b, 8, 2, "access violation"); /* truncated, still terminated */
    assert_int_equal(n, 8);
    assert_memory_equal(b, "\0\5\0\2acc\0", 8);
    assert_int_equal(bh_tftp_build_error(b, 4, 0, "x"), 0);

    bh_tftp_data_header(b, 1);
    assert_memory_equal(b, "\0\3\0\1", 4);
    bh_tftp_data_header(b, 65535);
    assert_memory_equal(b, "\0\3\377\377", 4);
    bh_tftp_data_header(b, 65536); /* rolls over to 0 */
    assert_memory_equal(b, "\0\3\0\0", 4);
    bh_tftp_data_header(b, 65537);
    assert_memory_equal(b, "\0\3\0\1", 4);

    uint64_t off;
    size_t len;
    bh_tftp_block_range(1024, 512, 2, &off, &len);
    assert_true(off == 512 && len == 512);
    bh_tftp_block_range(1024, 512, 3, &off, &len); /* the empty final block */
    assert_true(off == 1024 && len == 0);
    bh_tftp_block_range(513, 512, 2, &off, &len);
    assert_true(off == 512 && len == 1);
    bh_tftp_block_range(0, 512, 1, &off, &len);
    assert_true(off == 0 && len == 0);
    bh_tftp_block_range(40000000, 512, 70000, &off, &len);
    assert_true(off == 69999ull * 512 && len == 512);

    uint16_t blk = 0, code = 0;
    assert_int_equal(bh_tftp_parse_reply(PKT("\0\4\1\2"), &blk, &code), BH_TFTP_ACK);
    assert_int_equal(blk, 0x102);
    assert_int_equal(bh_tftp_parse_reply(PKT("\0\5\0\10no\0"), &blk, &code), BH_TFTP_ERROR);
    assert_int_equal(code, 8);
    assert_int_equal(bh_tftp_parse_reply(PKT("\0\4\1"), &blk, &code), 0);
    assert_int_equal(bh_tftp_parse_reply(PKT("\0\3\0\1xx"), &blk, &code), 0);
    assert_int_equal(bh_tftp_parse_reply(PKT("\0\1a\0octet\0"), &blk, &code), 0);
}

/* ---- sender state machine ---------------------------------------------------------- */

/* Mark a span sent, as the I/O layer does. */
static void sent(struct bh_tftp_tx *tx, const struct bh_tftp_span *s)
{
    for (uint64_t b = s->first; b < s->end; b++)
        bh_tftp_tx_sent(tx, b);
}

static void expect_span(const struct bh_tftp_span *s, uint64_t first, uint64_t end)
{
    if (s->oack || s->first != first || s->end != end)
        fail_msg("span %s[%llu,%llu), want [%llu,%llu)", s->oack ? "OACK " : "",
                 (unsigned long long)s->first, (unsigned long long)s->end,
                 (unsigned long long)first, (unsigned long long)end);
}

static void test_tx_lockstep(void **state)
{
    (void)state;
    struct bh_tftp_tx tx;
    struct bh_tftp_span s;
    /* 1024 bytes at 512: blocks 1, 2 and an empty block 3 */
    bh_tftp_tx_init(&tx, 1, 1024 / 512 + 1, false, 5);
    assert_int_equal(bh_tftp_tx_begin(&tx, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 1, 2);
    sent(&tx, &s);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 0, &s), BH_TFTP_ACT_NONE); /* stale */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 2, &s), BH_TFTP_ACT_NONE); /* not sent yet */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 1, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 2, 3);
    sent(&tx, &s);
    /* RFC 1123 4.2.3.1: a duplicate ACK never causes a resend */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 1, &s), BH_TFTP_ACT_NONE);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 1, &s), BH_TFTP_ACT_NONE);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 2, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 3, 4);
    sent(&tx, &s);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 3, &s), BH_TFTP_ACT_DONE);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 3, &s), BH_TFTP_ACT_NONE);
    assert_int_equal(bh_tftp_tx_on_timeout(&tx, &s), BH_TFTP_ACT_NONE);
    assert_int_equal(tx.retransmits, 0);
}

static void test_tx_oack(void **state)
{
    (void)state;
    struct bh_tftp_tx tx;
    struct bh_tftp_span s;
    bh_tftp_tx_init(&tx, 4, 10, true, 3);
    assert_int_equal(bh_tftp_tx_begin(&tx, &s), BH_TFTP_ACT_SEND);
    assert_true(s.oack);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 1, &s), BH_TFTP_ACT_NONE);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 65535, &s), BH_TFTP_ACT_NONE);
    /* the OACK is resent on timeout */
    assert_int_equal(bh_tftp_tx_on_timeout(&tx, &s), BH_TFTP_ACT_SEND);
    assert_true(s.oack);
    /* RFC 2347: ACK 0 answers the OACK, then the first window */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 0, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 1, 5);
    sent(&tx, &s);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 0, &s), BH_TFTP_ACT_NONE); /* duplicate */
    assert_int_equal(tx.tries, 0); /* progress reset the timeouts */
    /* a full-window ACK opens the next window, up to the last block */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 4, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 5, 9);
    sent(&tx, &s);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 8, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 9, 11);
    sent(&tx, &s);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 10, &s), BH_TFTP_ACT_DONE);
    assert_int_equal(tx.retransmits, 0);
}

static void test_tx_window_loss(void **state)
{
    (void)state;
    struct bh_tftp_tx tx;
    struct bh_tftp_span s;
    bh_tftp_tx_init(&tx, 8, 100, false, 3);
    bh_tftp_tx_begin(&tx, &s);
    expect_span(&s, 1, 9);
    sent(&tx, &s);
    /* block 4 lost: the client acks 3; RFC 7440 sec 4: the next window
     * starts after it, so 4..8 go again and 9..11 are new */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 3, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 4, 12);
    sent(&tx, &s);
    assert_int_equal(tx.retransmits, 5);
    /* blocks of the old window arriving late make the client repeat ACK 3:
     * a duplicate, ignored - no second resend of the window */
    for (int i = 0; i < 5; i++)
        assert_int_equal(bh_tftp_tx_on_ack(&tx, 3, &s), BH_TFTP_ACT_NONE);
    /* a stale ACK from before (reordered) is ignored too */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 1, &s), BH_TFTP_ACT_NONE);
    /* out of the window: never sent */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 12, &s), BH_TFTP_ACT_NONE);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 60000, &s), BH_TFTP_ACT_NONE);
    assert_int_equal(tx.retransmits, 5);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 11, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 12, 20);
    sent(&tx, &s);
    /* timeouts resend the window from the oldest unacknowledged block, with
     * backoff, and give up after max_tries in a row */
    assert_int_equal(bh_tftp_tx_timeout_ms(&tx, 100), 100);
    assert_int_equal(bh_tftp_tx_on_timeout(&tx, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 12, 20);
    sent(&tx, &s);
    assert_int_equal(bh_tftp_tx_timeout_ms(&tx, 100), 200);
    assert_int_equal(bh_tftp_tx_on_timeout(&tx, &s), BH_TFTP_ACT_SEND);
    assert_int_equal(bh_tftp_tx_timeout_ms(&tx, 100), 400);
    assert_int_equal(bh_tftp_tx_on_timeout(&tx, &s), BH_TFTP_ACT_SEND);
    assert_int_equal(bh_tftp_tx_on_timeout(&tx, &s), BH_TFTP_ACT_FAIL);
    assert_int_equal(bh_tftp_tx_timeout_ms(&tx, 10000), BH_TFTP_BACKOFF_MAX_MS);
}

static void test_tx_timeout_progress(void **state)
{
    (void)state;
    struct bh_tftp_tx tx;
    struct bh_tftp_span s;
    bh_tftp_tx_init(&tx, 1, 5, false, 2);
    bh_tftp_tx_begin(&tx, &s);
    sent(&tx, &s);
    for (uint64_t b = 1; b < 5; b++) {
        /* two timeouts per block are fine: progress resets the count */
        assert_int_equal(bh_tftp_tx_on_timeout(&tx, &s), BH_TFTP_ACT_SEND);
        expect_span(&s, b, b + 1);
        sent(&tx, &s);
        assert_int_equal(bh_tftp_tx_on_timeout(&tx, &s), BH_TFTP_ACT_SEND);
        sent(&tx, &s);
        assert_int_equal(bh_tftp_tx_on_ack(&tx, (uint16_t)b, &s), BH_TFTP_ACT_SEND);
        sent(&tx, &s);
    }
    assert_int_equal(tx.retransmits, 8);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 5, &s), BH_TFTP_ACT_DONE);
}

static void test_tx_rollover(void **state)
{
    (void)state;
    /* 40 MB at blksize 512: 78126 blocks, the wire number wraps once */
    const uint64_t last = 40000000 / 512 + 1;
    for (uint16_t win = 1; win <= 64; win = (uint16_t)(win * 4)) {
        struct bh_tftp_tx tx;
        struct bh_tftp_span s;
        bh_tftp_tx_init(&tx, win, last, true, 3);
        bh_tftp_tx_begin(&tx, &s);
        enum bh_tftp_act a = bh_tftp_tx_on_ack(&tx, 0, &s);
        uint64_t got = 0;
        while (a == BH_TFTP_ACT_SEND) {
            assert_true(s.first == got + 1);
            sent(&tx, &s);
            got = s.end - 1;
            if (got >= 65534 && got <= 65540) /* a duplicate at the wrap */
                assert_int_equal(bh_tftp_tx_on_ack(&tx, (uint16_t)(got - win), &s),
                                 BH_TFTP_ACT_NONE);
            a = bh_tftp_tx_on_ack(&tx, (uint16_t)got, &s);
        }
        assert_int_equal(a, BH_TFTP_ACT_DONE);
        assert_true(got == last);
        assert_int_equal(tx.retransmits, 0);
    }
}

static void test_tx_perblock_acker(void **state)
{
    (void)state;
    /* a client that asked for a window of 8 but ACKs every block */
    struct bh_tftp_tx tx;
    struct bh_tftp_span s;
    bh_tftp_tx_init(&tx, 8, 1000, false, 3);
    bh_tftp_tx_begin(&tx, &s);
    sent(&tx, &s);
    uint64_t data_sent = 8;
    for (uint16_t b = 1; b <= 400; b++) {
        enum bh_tftp_act a = bh_tftp_tx_on_ack(&tx, b, &s);
        assert_int_equal(a, BH_TFTP_ACT_SEND);
        data_sent += s.end - s.first;
        sent(&tx, &s);
    }
    assert_true(tx.slide);
    /* two go-backs at most before it slides: bounded extra traffic */
    assert_true(data_sent <= 408 + 2 * 8);
    assert_true(tx.retransmits <= 16);
}

static void test_tx_unknown_last(void **state)
{
    (void)state;
    /* netascii: the end is found while building blocks */
    struct bh_tftp_tx tx;
    struct bh_tftp_span s;
    bh_tftp_tx_init(&tx, 4, BH_TFTP_LAST_UNKNOWN, false, 3);
    bh_tftp_tx_begin(&tx, &s);
    expect_span(&s, 1, 5);
    bh_tftp_tx_sent(&tx, 1);
    bh_tftp_tx_sent(&tx, 2);
    bh_tftp_tx_set_last(&tx, 2); /* block 2 came out short */
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 3, &s), BH_TFTP_ACT_NONE);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 1, &s), BH_TFTP_ACT_SEND);
    expect_span(&s, 2, 3);
    assert_int_equal(bh_tftp_tx_on_ack(&tx, 2, &s), BH_TFTP_ACT_DONE);
}

/* A lossy, reordering network between the state machine and an RFC 7440
 * receiver, run in rounds: every DATA packet of a span and every ACK may
 * be dropped or swapped with its neighbour.  The receiver accepts only the
 * next block in order, ACKs at the end of each window and the last block,
 * and on a gap or a block it already has repeats the ACK of what it has
 * (what real receivers do, at once or on their own timer). */
static uint32_t rnd_state;
static uint32_t rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) & 0x7fff;
}

static void simulate(uint16_t win, uint64_t last, unsigned loss_pct, unsigned reorder_pct)
{
    struct bh_tftp_tx tx;
    struct bh_tftp_span s;
    uint64_t expected = 1, since_ack = 0, data_sent = 0;
    uint64_t inflight[BH_TFTP_WINDOW_MAX * 2];
    uint16_t acks[BH_TFTP_WINDOW_MAX * 2];
    bh_tftp_tx_init(&tx, win, last, false, 50);
    enum bh_tftp_act a = bh_tftp_tx_begin(&tx, &s);
    for (int round = 0; round < 2000000 && a != BH_TFTP_ACT_DONE; round++) {
        assert_int_not_equal(a, BH_TFTP_ACT_FAIL);
        size_t n = 0, na = 0;
        if (a == BH_TFTP_ACT_SEND) {
            for (uint64_t b = s.first; b < s.end; b++) {
                bh_tftp_tx_sent(&tx, b);
                data_sent++;
                if (rnd() % 100 >= loss_pct)
                    inflight[n++] = b;
            }
        }
        for (size_t i = 0; i + 1 < n; i++) {
            if (rnd() % 100 < reorder_pct) {
                uint64_t t = inflight[i];
                inflight[i] = inflight[i + 1];
                inflight[i + 1] = t;
            }
        }
        for (size_t i = 0; i < n; i++) {
            uint64_t b = inflight[i];
            if (b == expected) {
                expected++;
                if (++since_ack == win || b == last) {
                    acks[na++] = (uint16_t)b;
                    since_ack = 0;
                }
            } else {
                acks[na++] = (uint16_t)(expected - 1); /* gap or duplicate */
                since_ack = 0;
            }
        }
        a = BH_TFTP_ACT_NONE;
        bool any = false;
        for (size_t i = 0; i < na && a != BH_TFTP_ACT_DONE; i++) {
            if (rnd() % 100 < loss_pct)
                continue;
            struct bh_tftp_span t;
            enum bh_tftp_act r = bh_tftp_tx_on_ack(&tx, acks[i], &t);
            if (r != BH_TFTP_ACT_NONE) {
                a = r;
                s = t;
                any = true;
            }
        }
        if (!any) /* nothing moved: the retransmit timer fires */
            a = bh_tftp_tx_on_timeout(&tx, &s);
    }
    assert_int_equal(a, BH_TFTP_ACT_DONE);
    assert_true(expected == last + 1);
    if (loss_pct == 0 && reorder_pct == 0)
        assert_true(data_sent == last);
    else /* each loss or swap costs about one window (go-back, RFC 7440) */
        assert_true((double)data_sent <
                    (double)last * (2.0 + 2.0 * win * (loss_pct + reorder_pct) / 100.0));
}

static void test_tx_simulated_network(void **state)
{
    (void)state;
    static const uint16_t wins[] = {1, 2, 4, 16, 64};
    static const unsigned loss[] = {0, 1, 5, 20};
    rnd_state = 42;
    for (size_t w = 0; w < N_ELEMS(wins); w++) {
        for (size_t l = 0; l < N_ELEMS(loss); l++) {
            simulate(wins[w], 3000, loss[l], 0);
            simulate(wins[w], 3000, loss[l], 10);
        }
    }
    simulate(16, 70000, 2, 5); /* across the rollover */
}

/* ---- netascii ------------------------------------------------------------------- */

/* Encode src in blocks of blksize, as the server does (the start of every
 * block remembered, each block encoded twice to model a retransmission),
 * then decode the stream and compare. */
static void ascii_roundtrip(const uint8_t *src, size_t n, size_t blksize)
{
    uint8_t *wire = malloc(2 * n + blksize + 1), *back = malloc(2 * n + 2);
    uint8_t *blk = malloc(blksize), *again = malloc(blksize);
    assert_non_null(wire);
    assert_non_null(back);
    struct bh_tftp_ascii st = {0};
    size_t w = 0, blocks = 0;
    for (;;) {
        struct bh_tftp_ascii start = st, st2;
        size_t avail = (size_t)(n - st.off);
        size_t take = avail < blksize ? avail : blksize;
        size_t got = bh_tftp_ascii_encode(&st, src + start.off, take, blk, blksize);
        st2 = start; /* a retransmission from the remembered start */
        size_t got2 = bh_tftp_ascii_encode(&st2, src + start.off, take, again, blksize);
        assert_int_equal(got, got2);
        assert_memory_equal(blk, again, got);
        assert_true(st2.off == st.off && st2.has_pend == st.has_pend);
        memcpy(wire + w, blk, got);
        w += got;
        blocks++;
        if (got < blksize)
            break; /* the short block ends the transfer */
        assert_true(blocks < 4 * n + 4);
    }
    size_t lf = 0, cr = 0;
    for (size_t i = 0; i < n; i++) {
        lf += src[i] == '\n';
        cr += src[i] == '\r';
    }
    assert_int_equal(w, n + lf + cr);
    assert_int_equal(blocks, w / blksize + 1);
    bool held = false;
    size_t b = bh_tftp_ascii_decode(&held, wire, w, back);
    assert_false(held);
    assert_int_equal(b, n);
    assert_memory_equal(back, src, n);
    free(wire);
    free(back);
    free(blk);
    free(again);
}

static void test_netascii(void **state)
{
    (void)state;
    uint8_t out[16];
    struct bh_tftp_ascii st = {0};
    /* LF -> CR LF, CR -> CR NUL */
    size_t n = bh_tftp_ascii_encode(&st, (const uint8_t *)"a\nb\rc", 5, out, sizeof(out));
    assert_int_equal(n, 7);
    assert_memory_equal(out, "a\r\nb\r\0c", 7);
    /* a pair split over a block boundary */
    st = (struct bh_tftp_ascii){0};
    n = bh_tftp_ascii_encode(&st, (const uint8_t *)"ab\n", 3, out, 3);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "ab\r", 3);
    assert_true(st.has_pend && st.pend == '\n' && st.off == 3);
    n = bh_tftp_ascii_encode(&st, (const uint8_t *)"", 0, out, 3);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], '\n');
    /* decode across chunks, and a stray CR */
    bool cr = false;
    n = bh_tftp_ascii_decode(&cr, (const uint8_t *)"x\r", 2, out);
    assert_int_equal(n, 1);
    assert_true(cr);
    n = bh_tftp_ascii_decode(&cr, (const uint8_t *)"\ny\rz\r\0", 6, out);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "\ny\rz\r", 5);

    static const char *const texts[] = {
        "",
        "\n",
        "\r",
        "\r\n",
        "\n\r",
        "plain",
        "line\n",
        "dos\r\nline\r\n",
        "\r\r\r\n\n\n",
        "a\rb\nc\r\nd\n\re",
    };
    static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 512};
    for (size_t t = 0; t < N_ELEMS(texts); t++)
        for (size_t z = 0; z < N_ELEMS(sizes); z++)
            ascii_roundtrip((const uint8_t *)texts[t], strlen(texts[t]), sizes[z]);
    /* random bytes, dense in CR and LF, at block sizes around the pairs */
    uint8_t buf[5000];
    rnd_state = 7;
    for (size_t i = 0; i < sizeof(buf); i++) {
        uint32_t r = rnd() % 8;
        buf[i] = r == 0 ? '\n' : r == 1 ? '\r' : r == 2 ? 0 : (uint8_t)rnd();
    }
    for (size_t z = 1; z <= 24; z++)
        ascii_roundtrip(buf, sizeof(buf), z);
    ascii_roundtrip(buf, sizeof(buf), 512);
    ascii_roundtrip(buf, sizeof(buf), 1468);
}

/* ---- the server on a loop, over loopback -------------------------------------- */

struct srv_fixture {
    uv_loop_t loop;
    struct bh_tftp *t;
    uint16_t port;
    char root[64];
    int reports, ok_reports;
    char last_path[BH_TFTP_EVENT_PATH_MAX];
    char hook_path[64];
    char hook_local[INET_ADDRSTRLEN];
};

static int vfile_hook(void *ud, const struct sockaddr *client, const struct in_addr *local,
                      const char *path, char **data, size_t *len)
{
    struct srv_fixture *f = ud;
    (void)client;
    snprintf(f->hook_path, sizeof(f->hook_path), "%s", path);
    /* the address the request came to, as the server already knows it */
    inet_ntop(AF_INET, local, f->hook_local, sizeof(f->hook_local));
    if (!strcmp(path, "secret"))
        return BH_EPERM;
    if (strcmp(path, "gen/menu.cfg") != 0)
        return BH_ENOTFOUND;
    static const char text[] = "menu line\nsecond line\n";
    *data = malloc(sizeof(text) - 1);
    memcpy(*data, text, sizeof(text) - 1);
    *len = sizeof(text) - 1;
    return 0;
}

static void report_hook(void *ud, const struct bh_tftp_event *r)
{
    struct srv_fixture *f = ud;
    f->reports++;
    f->ok_reports += r->ok;
    snprintf(f->last_path, sizeof(f->last_path), "%s", r->path);
}

static void srv_start(struct srv_fixture *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/bh-tftp-unit.XXXXXX");
    assert_non_null(mkdtemp(f->root));
    char p[128];
    snprintf(p, sizeof(p), "%s/file", f->root);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    for (int i = 0; i < 3000; i++) /* 3000 bytes of a repeating pattern */
        assert_int_equal(write(fd, &(char){(char)('a' + i % 26)}, 1), 1);
    close(fd);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    struct bh_boot_config cfg;
    bh_boot_config_defaults(&cfg);
    snprintf(cfg.root, sizeof(cfg.root), "%s", f->root);
    cfg.tftp_timeout_ms = 100;
    cfg.tftp_retries = 2;
    struct bh_tftp_hooks hooks = {vfile_hook, report_hook, f};
    struct bh_err err;
    for (int i = 0; i < 20; i++) { /* a free port */
        f->port = (uint16_t)(20000 + (getpid() * 7 + i * 131) % 30000);
        snprintf(cfg.tftp_listen, sizeof(cfg.tftp_listen), "127.0.0.1:%u", f->port);
        if (bh_tftp_start(&f->loop, &cfg, &hooks, &f->t, &err) == 0)
            return;
    }
    fail_msg("bh_tftp_start: %s", err.msg);
}

static void srv_stop(struct srv_fixture *f)
{
    bh_tftp_stop(f->t);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    bh_tftp_free(f->t);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    char p[128];
    snprintf(p, sizeof(p), "%s/file", f->root);
    unlink(p);
    rmdir(f->root);
}

/* Send a request and run a lock-step client until the transfer ends.
 * Returns the bytes received, or -(TFTP error code) - 1 on an ERROR, or
 * INT32_MIN on a timeout.  ACK 0 answers an OACK. */
static int fetch_raw(struct srv_fixture *f, const void *req, size_t reqlen, uint8_t *out,
                     size_t cap, int *dups)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(s >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(f->port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(sendto(s, req, reqlen, 0, (struct sockaddr *)&to, sizeof(to)),
                     (ssize_t)reqlen);
    if (dups) /* the client repeats its request: still one transfer */
        for (int i = 0; i < *dups; i++)
            sendto(s, req, reqlen, 0, (struct sockaddr *)&to, sizeof(to));
    size_t got = 0, blksize = 512;
    uint16_t expect = 1;
    int rc = INT32_MIN;
    uint64_t deadline = bh_mono_ns() + 3000000000ull;
    while (bh_mono_ns() < deadline) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        uint8_t pkt[2048];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(s, pkt, sizeof(pkt), 0, (struct sockaddr *)&from, &fl);
        if (n < 4)
            continue;
        uint16_t op = (uint16_t)(pkt[0] << 8 | pkt[1]), blk = (uint16_t)(pkt[2] << 8 | pkt[3]);
        uint8_t ack[4] = {0, BH_TFTP_ACK, 0, 0};
        if (op == BH_TFTP_ERROR) {
            rc = -blk - 1;
            break;
        }
        if (op == BH_TFTP_OACK) {
            const char *o = (const char *)pkt + 2;
            if (!strcmp(o, "blksize"))
                blksize = (size_t)strtoul(o + 8, NULL, 10);
        } else if (op == BH_TFTP_DATA && blk == expect) {
            size_t dl = (size_t)n - 4;
            assert_true(got + dl <= cap);
            memcpy(out + got, pkt + 4, dl);
            got += dl;
            expect++;
            ack[2] = pkt[2];
            ack[3] = pkt[3];
            sendto(s, ack, 4, 0, (struct sockaddr *)&from, fl);
            if (dl < blksize) {
                rc = (int)got;
                break;
            }
            continue;
        } else {
            continue;
        }
        sendto(s, ack, 4, 0, (struct sockaddr *)&from, fl);
    }
    close(s);
    for (int i = 0; i < 20; i++) /* let the server see the last ACK */
        uv_run(&f->loop, UV_RUN_NOWAIT);
    return rc;
}

#define RRQ(lit) fetch_raw(&f, lit, sizeof(lit) - 1, buf, sizeof(buf), NULL)

static void test_server_loopback(void **state)
{
    (void)state;
    struct srv_fixture f;
    uint8_t buf[8192];
    srv_start(&f);
    /* a file from the root, leading slash stripped, plain RFC 1350 */
    int dups = 3;
    assert_int_equal(fetch_raw(&f, "\0\1/file\0octet\0", 15, buf, sizeof(buf), &dups), 3000);
    assert_int_equal(buf[0], 'a');
    assert_int_equal(buf[2999], 'a' + 2999 % 26);
    assert_string_equal(f.last_path, "/file");
    assert_string_equal(f.hook_path, "file");       /* the hook saw the checked name */
    assert_string_equal(f.hook_local, "127.0.0.1"); /* and the address it came to */
    /* with options: OACK then data */
    assert_int_equal(RRQ("\0\1file\0octet\0blksize\0001000\0tsize\0000\0"), 3000);
    /* a generated file, converted to netascii */
    int n = RRQ("\0\1gen/menu.cfg\0netascii\0");
    assert_int_equal(n, 24);
    assert_memory_equal(buf, "menu line\r\nsecond line\r\n", 24);
    /* refusals */
    assert_int_equal(RRQ("\0\1secret\0octet\0"), -BH_TFTP_EACCESS - 1);
    assert_int_equal(RRQ("\0\1missing\0octet\0"), -BH_TFTP_ENOTFOUND - 1);
    assert_int_equal(RRQ("\0\1../file\0octet\0"), -BH_TFTP_EACCESS - 1);
    assert_int_equal(RRQ("\0\1a\\b\0octet\0"), -BH_TFTP_EACCESS - 1);
    assert_int_equal(RRQ("\0\2file\0octet\0"), -BH_TFTP_EACCESS - 1);
    assert_int_equal(RRQ("\0\1file\0octet\0blksize\0"), -BH_TFTP_EOPTNEG - 1);
    assert_int_equal(RRQ("\0\1file\0bogus\0"), -BH_TFTP_EBADOP - 1);
    struct bh_tftp_stats st;
    bh_tftp_get_stats(f.t, &st);
    assert_true(st.completed == 3 && st.active == 0 && st.bytes == 3000 + 3000 + 22);
    assert_true(st.refused == 7 && st.malformed == 2); /* malformed ones are refused too */
    assert_true(st.requests == 10 + 3 /* the repeated requests */);
    assert_int_equal(f.reports, 10);
    assert_int_equal(f.ok_reports, 3);
    /* a transfer left hanging is aborted by stop; everything is freed */
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(f.port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sendto(s, "\0\1file\0octet\0", 14, 0, (struct sockaddr *)&to, sizeof(to));
    for (int i = 0; i < 50; i++)
        uv_run(&f.loop, UV_RUN_NOWAIT);
    bh_tftp_get_stats(f.t, &st);
    assert_true(st.active == 1);
    close(s);
    srv_stop(&f);
    assert_int_equal(f.reports, 11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),      cmocka_unit_test(test_parse_options_ignored),
        cmocka_unit_test(test_parse_malformed), cmocka_unit_test(test_check_path),
        cmocka_unit_test(test_negotiate),       cmocka_unit_test(test_build),
        cmocka_unit_test(test_tx_lockstep),     cmocka_unit_test(test_tx_oack),
        cmocka_unit_test(test_tx_window_loss),  cmocka_unit_test(test_tx_timeout_progress),
        cmocka_unit_test(test_tx_rollover),     cmocka_unit_test(test_tx_perblock_acker),
        cmocka_unit_test(test_tx_unknown_last), cmocka_unit_test(test_tx_simulated_network),
        cmocka_unit_test(test_netascii),        cmocka_unit_test(test_server_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
