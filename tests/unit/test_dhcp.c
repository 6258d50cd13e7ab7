/*
 * test_dhcp.c - DHCP packets (dhcp_proto.c), decisions (dhcp_server.c) and
 * durable leases with group commit (leasedb.c).  No sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "boot/dhcp_proto.h"
#include "boot/dhcp_server.h"
#include "store/leases.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- building requests --------------------------------------------------- */

struct pkt {
    uint8_t b[BH_DHCP_PKT_MAX + 16];
    size_t n;
};

static const uint8_t MAC_A[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t MAC_B[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};
static const uint8_t MAC_C[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0c};
static const uint8_t MAC_D[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0d};
static const uint8_t MAC_R[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x77};
static const uint8_t MAC_RPI[6] = {0xdc, 0xa6, 0x32, 0x01, 0x02, 0x03};

static const uint8_t UUID[17] = {0,    0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
                                 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

static uint32_t ip4(const char *s)
{
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a.s_addr; /* network order */
}

static void p_start(struct pkt *p, uint8_t type, const uint8_t mac[6])
{
    memset(p, 0, sizeof(*p));
    p->b[0] = BH_BOOTP_REQUEST;
    p->b[1] = BH_HTYPE_ETHER;
    p->b[2] = BH_HLEN_ETHER;
    p->b[4] = 0xde, p->b[5] = 0xad, p->b[6] = 0xbe, p->b[7] = 0xef;
    memcpy(p->b + 28, mac, 6);
    p->b[236] = 99, p->b[237] = 130, p->b[238] = 83, p->b[239] = 99;
    p->n = BH_DHCP_HDR_LEN;
    if (type) {
        p->b[p->n++] = BH_OPT_MSG_TYPE;
        p->b[p->n++] = 1;
        p->b[p->n++] = type;
    }
}

static void p_opt(struct pkt *p, uint8_t code, const void *v, size_t n)
{
    p->b[p->n++] = code;
    p->b[p->n++] = (uint8_t)n;
    memcpy(p->b + p->n, v, n);
    p->n += n;
}

static void p_str(struct pkt *p, uint8_t code, const char *s)
{
    p_opt(p, code, s, strlen(s));
}

static void p_addr(struct pkt *p, uint8_t code, const char *ip)
{
    uint32_t a = ip4(ip);
    p_opt(p, code, &a, 4);
}

static void p_end(struct pkt *p)
{
    p->b[p->n++] = BH_OPT_END;
}

static void p_field(struct pkt *p, int off, const char *ip)
{
    uint32_t a = ip4(ip);
    memcpy(p->b + off, &a, 4);
}

static const uint8_t PXE_PRL[] = {1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 43, 54, 60, 67};

/* A SeaBIOS/iPXE-ROM-style BIOS PXE DISCOVER (RFC 4578 options). */
static void bios_discover(struct pkt *p, const uint8_t mac[6])
{
    p_start(p, BH_DHCPDISCOVER, mac);
    uint8_t mm[2] = {0x04, 0xec}; /* 1260 */
    p_opt(p, BH_OPT_MAX_MSG, mm, 2);
    p_opt(p, BH_OPT_PARAM_LIST, PXE_PRL, sizeof(PXE_PRL));
    uint8_t arch[2] = {0, 0}, ndi[3] = {1, 2, 1};
    p_opt(p, BH_OPT_CLIENT_ARCH, arch, 2);
    p_opt(p, BH_OPT_CLIENT_NDI, ndi, 3);
    p_opt(p, BH_OPT_CLIENT_UUID, UUID, 17);
    p_str(p, BH_OPT_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001");
    p_end(p);
}

static void parse_ok(const struct pkt *p, struct bh_dhcp_msg *m)
{
    enum bh_dhcp_parse_err e = bh_dhcp_parse(p->b, p->n, m);
    if (e)
        fail_msg("parse: %s", bh_dhcp_parse_err_name(e));
}

/* ---- parsing ------------------------------------------------------------- */

static void test_parse_bios_pxe(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    struct bh_boot_client c;
    bios_discover(&p, MAC_A);
    parse_ok(&p, &m);
    assert_int_equal(m.type, BH_DHCPDISCOVER);
    assert_int_equal(m.max_msg, 1260);
    assert_int_equal(m.arch, BH_ARCH_BIOS);
    assert_true(m.has_ndi);
    assert_int_equal(m.ndi[1], 2);
    assert_true(m.has_uuid);
    assert_true(bh_dhcp_requested(&m, 67));
    assert_false(bh_dhcp_requested(&m, 66));
    bh_dhcp_client_from_msg(&m, &c);
    assert_string_equal(c.mac_str, "52:54:00:12:34:56");
    assert_true(c.pxe);
    assert_false(c.http || c.ipxe || c.rpi);
    assert_string_equal(c.vendor_class, "PXEClient:Arch:00000:UNDI:002001");
    assert_string_equal(c.uuid_str, "00112233-4455-6677-8899-aabbccddeeff");
}

static void test_parse_uefi(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    struct bh_boot_client c;
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    uint8_t arch[2] = {0, 7};
    p_opt(&p, BH_OPT_CLIENT_ARCH, arch, 2);
    p_str(&p, BH_OPT_VENDOR_CLASS, "PXEClient:Arch:00007:UNDI:003016");
    p_end(&p);
    parse_ok(&p, &m);
    bh_dhcp_client_from_msg(&m, &c);
    assert_int_equal(c.arch, BH_ARCH_EFI_X64);
    assert_true(c.pxe);

    /* UEFI HTTP boot */
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    arch[1] = 0x10;
    p_opt(&p, BH_OPT_CLIENT_ARCH, arch, 2);
    p_str(&p, BH_OPT_VENDOR_CLASS, "HTTPClient:Arch:00016:UNDI:003001");
    p_end(&p);
    parse_ok(&p, &m);
    bh_dhcp_client_from_msg(&m, &c);
    assert_int_equal(c.arch, BH_ARCH_HTTP_X64);
    assert_true(c.http);
    assert_false(c.pxe);
}

static void test_parse_ipxe(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    struct bh_boot_client c;
    /* iPXE: plain "iPXE" user class, option 175 */
    p_start(&p, BH_DHCPREQUEST, MAC_A);
    p_str(&p, BH_OPT_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001");
    p_str(&p, BH_OPT_USER_CLASS, "iPXE");
    uint8_t enc[] = {0xb1, 0x05, 0x01, 0x80, 0x86, 0x10, 0x0e, 0x13, 0x01, 0x01};
    p_opt(&p, BH_OPT_IPXE_ENCAP, enc, sizeof(enc));
    p_str(&p, BH_OPT_HOSTNAME, "pc\x01-17");
    p_end(&p);
    parse_ok(&p, &m);
    assert_true(m.ipxe_encap);
    bh_dhcp_client_from_msg(&m, &c);
    assert_true(c.ipxe && c.pxe);
    assert_string_equal(c.user_class, "iPXE");
    assert_string_equal(c.hostname, "pc?-17"); /* control bytes never reach logs */

    /* RFC 3004 form, two classes; and 175 alone marks iPXE too */
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    uint8_t uc[] = {4, 'i', 'P', 'X', 'E', 3, 'l', 'a', 'b'};
    p_opt(&p, BH_OPT_USER_CLASS, uc, sizeof(uc));
    p_end(&p);
    parse_ok(&p, &m);
    bh_dhcp_client_from_msg(&m, &c);
    assert_true(c.ipxe);
    assert_string_equal(c.user_class, "iPXE,lab");

    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    p_opt(&p, BH_OPT_IPXE_ENCAP, enc, 3);
    p_str(&p, BH_OPT_USER_CLASS, "other");
    p_end(&p);
    parse_ok(&p, &m);
    bh_dhcp_client_from_msg(&m, &c);
    assert_true(c.ipxe);
    assert_string_equal(c.user_class, "other");
}

static void test_parse_rpi(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    struct bh_boot_client c;
    bios_discover(&p, MAC_RPI);
    parse_ok(&p, &m);
    bh_dhcp_client_from_msg(&m, &c);
    assert_true(c.rpi && c.pxe);
    /* the same vendor class from another OUI is a plain PXE client */
    bios_discover(&p, MAC_A);
    parse_ok(&p, &m);
    bh_dhcp_client_from_msg(&m, &c);
    assert_false(c.rpi);
    static const uint8_t ouis[][3] = {{0xb8, 0x27, 0xeb},
                                      {0xe4, 0x5f, 0x01},
                                      {0x28, 0xcd, 0xc1},
                                      {0xd8, 0x3a, 0xdd},
                                      {0x2c, 0xcf, 0x67}};
    for (size_t i = 0; i < 5; i++) {
        uint8_t mac[6] = {ouis[i][0], ouis[i][1], ouis[i][2], 1, 2, 3};
        assert_true(bh_dhcp_is_rpi_mac(mac));
    }
}

static const uint8_t OPT82[] = {1, 4, 'e', 't', 'h', '1', 2, 6, 0, 1, 2, 3, 4, 5};

static void relayed_discover(struct pkt *p, const uint8_t mac[6])
{
    p_start(p, BH_DHCPDISCOVER, mac);
    p->b[3] = 1; /* hops */
    p_field(p, 24, "198.51.100.1");
    p_opt(p, BH_OPT_RELAY_AGENT, OPT82, sizeof(OPT82));
    p_end(p);
}

static void test_parse_relayed(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    relayed_discover(&p, MAC_A);
    parse_ok(&p, &m);
    assert_int_equal(m.giaddr.s_addr, ip4("198.51.100.1"));
    assert_int_equal(m.hops, 1);
    size_t n;
    const uint8_t *v = bh_dhcp_opt(&m, BH_OPT_RELAY_AGENT, &n);
    assert_non_null(v);
    assert_int_equal(n, sizeof(OPT82));
    assert_memory_equal(v, OPT82, n);
}

static void test_parse_overload_and_split(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    struct bh_boot_client c;
    /* option 52 = 3: more options in file (first) and sname (RFC 2131 4.1) */
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    uint8_t ov = 3;
    p_opt(&p, BH_OPT_OVERLOAD, &ov, 1);
    p_str(&p, BH_OPT_VENDOR_CLASS, "PXEClient:");
    p_end(&p);
    uint8_t *file = p.b + BH_DHCP_FILE_OFF, *sname = p.b + BH_DHCP_SNAME_OFF;
    memcpy(file,
           "\x3c\x0a"
           "Arch:00007\xff",
           13); /* 60 continued (RFC 3396) */
    sname[0] = BH_OPT_CLIENT_UUID;
    sname[1] = 17;
    memcpy(sname + 2, UUID, 17);
    sname[19] = BH_OPT_END;
    parse_ok(&p, &m);
    assert_int_equal(m.overload, 3);
    bh_dhcp_client_from_msg(&m, &c);
    assert_string_equal(c.vendor_class, "PXEClient:Arch:00007");
    assert_true(c.has_uuid);

    /* a long option in two instances in the options field */
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    p_str(&p, BH_OPT_VENDOR_CLASS, "HTTPClient:Arch:");
    p_str(&p, BH_OPT_HOSTNAME, "x");
    p_str(&p, BH_OPT_VENDOR_CLASS, "00016");
    p_end(&p);
    parse_ok(&p, &m);
    bh_dhcp_client_from_msg(&m, &c);
    assert_string_equal(c.vendor_class, "HTTPClient:Arch:00016");
    assert_true(c.http);

    /* no END, pads, zero-length unknown option: fine */
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    p.b[p.n++] = BH_OPT_PAD;
    p_opt(&p, 224, "", 0);
    parse_ok(&p, &m);
    assert_true(m.opt[224].present);
    assert_int_equal(m.opt[224].len, 0);
    /* plain BOOTP parses, with type 0 */
    p_start(&p, 0, MAC_A);
    p_end(&p);
    parse_ok(&p, &m);
    assert_int_equal(m.type, 0);
}

/* Every malformed shape, and the reason reported. */
static void test_parse_malformed(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
#define EXPECT(want, ...)                                                                          \
    do {                                                                                           \
        __VA_ARGS__;                                                                               \
        enum bh_dhcp_parse_err got = bh_dhcp_parse(p.b, p.n, &m);                                  \
        if (got != (want))                                                                         \
            fail_msg("line %d: want %s, got %s", __LINE__, bh_dhcp_parse_err_name(want),           \
                     bh_dhcp_parse_err_name(got));                                                 \
    } while (0)
    uint8_t v[32] = {0};
    EXPECT(BH_DHCP_ERR_SHORT, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.n = 0);
    EXPECT(BH_DHCP_ERR_SHORT, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.n = 100);
    EXPECT(BH_DHCP_ERR_SHORT, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.n = 239);
    EXPECT(BH_DHCP_ERR_OVERSIZED, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.n = BH_DHCP_PKT_MAX + 1);
    EXPECT(BH_DHCP_ERR_COOKIE, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.b[239] = 0);
    EXPECT(BH_DHCP_ERR_NOT_REQUEST, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.b[0] = 2);
    EXPECT(BH_DHCP_ERR_HWTYPE, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.b[1] = 6);
    EXPECT(BH_DHCP_ERR_HWTYPE, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.b[2] = 16);
    /* an option running past the end, or cut after its code */
    EXPECT(BH_DHCP_ERR_OPTION_LEN, p_start(&p, BH_DHCPDISCOVER, MAC_A);
           p_str(&p, BH_OPT_VENDOR_CLASS, "PXEClient"); p.n -= 3);
    EXPECT(BH_DHCP_ERR_OPTION_LEN, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.b[p.n++] = 60);
    EXPECT(BH_DHCP_ERR_OPTION_LEN, p_start(&p, BH_DHCPDISCOVER, MAC_A); p.b[p.n++] = 60;
           p.b[p.n++] = 255);
    /* fixed-length options of the wrong length */
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 0, MAC_A); p_opt(&p, BH_OPT_MSG_TYPE, v, 2));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 0, MAC_A); p_opt(&p, BH_OPT_MSG_TYPE, v, 0));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); p_opt(&p, BH_OPT_REQUESTED_IP, v, 3));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); p_opt(&p, BH_OPT_SERVER_ID, v, 5));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); p_opt(&p, BH_OPT_MAX_MSG, v, 1));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); p_opt(&p, BH_OPT_CLIENT_ARCH, v, 3));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); p_opt(&p, BH_OPT_CLIENT_ARCH, v, 0));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); p_opt(&p, BH_OPT_CLIENT_NDI, v, 2));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); p_opt(&p, BH_OPT_CLIENT_UUID, v, 16));
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); v[0] = 1;
           p_opt(&p, BH_OPT_CLIENT_UUID, v, 17); v[0] = 0);
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); p_opt(&p, BH_OPT_CLIENT_ID, v, 1));
    /* a split message type adds up to two bytes: wrong too */
    EXPECT(BH_DHCP_ERR_OPTION_VALUE, p_start(&p, 1, MAC_A); v[0] = 1;
           p_opt(&p, BH_OPT_MSG_TYPE, v, 1); v[0] = 0);
    /* message types */
    EXPECT(BH_DHCP_ERR_MSG_TYPE, p_start(&p, 0, MAC_A); p_opt(&p, BH_OPT_MSG_TYPE, v, 1));
    EXPECT(BH_DHCP_ERR_MSG_TYPE, p_start(&p, BH_DHCPOFFER, MAC_A));
    EXPECT(BH_DHCP_ERR_MSG_TYPE, p_start(&p, BH_DHCPACK, MAC_A));
    EXPECT(BH_DHCP_ERR_MSG_TYPE, p_start(&p, BH_DHCPNAK, MAC_A));
    /* overload: bad value, twice, inside an overloaded field, an option
     * running past the file field */
    EXPECT(BH_DHCP_ERR_OVERLOAD, p_start(&p, 1, MAC_A); v[0] = 4; p_opt(&p, BH_OPT_OVERLOAD, v, 1));
    EXPECT(BH_DHCP_ERR_OVERLOAD, p_start(&p, 1, MAC_A); v[0] = 0; p_opt(&p, BH_OPT_OVERLOAD, v, 1));
    EXPECT(BH_DHCP_ERR_OVERLOAD, p_start(&p, 1, MAC_A); v[0] = 1; p_opt(&p, BH_OPT_OVERLOAD, v, 2));
    EXPECT(BH_DHCP_ERR_OVERLOAD, p_start(&p, 1, MAC_A); v[0] = 1; p_opt(&p, BH_OPT_OVERLOAD, v, 1);
           p_opt(&p, BH_OPT_OVERLOAD, v, 1));
    EXPECT(BH_DHCP_ERR_OVERLOAD, p_start(&p, 1, MAC_A); v[0] = 1; p_opt(&p, BH_OPT_OVERLOAD, v, 1);
           p.b[BH_DHCP_FILE_OFF] = BH_OPT_OVERLOAD; p.b[BH_DHCP_FILE_OFF + 1] = 1;
           p.b[BH_DHCP_FILE_OFF + 2] = 1);
    EXPECT(BH_DHCP_ERR_OPTION_LEN, p_start(&p, 1, MAC_A); v[0] = 1;
           p_opt(&p, BH_OPT_OVERLOAD, v, 1); p.b[BH_DHCP_FILE_OFF + 120] = 60;
           p.b[BH_DHCP_FILE_OFF + 121] = 20);
    v[0] = 0;
#undef EXPECT
}

/* ---- replies ------------------------------------------------------------- */

/* The options of a built reply, found by code (first instance). */
static const uint8_t *ropt(const uint8_t *b, size_t n, uint8_t code, size_t *len)
{
    assert_true(n >= BH_DHCP_HDR_LEN);
    for (size_t i = BH_DHCP_HDR_LEN; i < n;) {
        if (b[i] == BH_OPT_PAD) {
            i++;
            continue;
        }
        if (b[i] == BH_OPT_END)
            return NULL;
        assert_true(i + 2 + b[i + 1] <= n);
        if (b[i] == code) {
            *len = b[i + 1];
            return b + i + 2;
        }
        i += 2u + b[i + 1];
    }
    fail_msg("no END option");
    return NULL;
}

static void assert_opt(const uint8_t *b, size_t n, uint8_t code, const void *want, size_t wn)
{
    size_t len = 0;
    const uint8_t *v = ropt(b, n, code, &len);
    if (!v)
        fail_msg("option %u missing", code);
    assert_int_equal(len, wn);
    assert_memory_equal(v, want, wn);
}

static void assert_no_opt(const uint8_t *b, size_t n, uint8_t code)
{
    size_t len;
    if (ropt(b, n, code, &len))
        fail_msg("option %u present", code);
}

static struct bh_boot_decision tftp_boot(const char *file)
{
    struct bh_boot_decision d = {.kind = BH_BOOT_TFTP};
    snprintf(d.filename, sizeof(d.filename), "%s", file);
    d.next_server.s_addr = ip4("192.0.2.1");
    return d;
}

static void test_build_proxy_offer(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    uint8_t out[1500];
    bios_discover(&p, MAC_A);
    parse_ok(&p, &m);
    struct bh_boot_decision d = tftp_boot("undionly.kpxe");
    struct bh_dhcp_reply r = {.type = BH_DHCPOFFER, .boot = &d};
    r.server_id.s_addr = ip4("192.0.2.1");
    int n = bh_dhcp_build(&m, &r, out, sizeof(out));
    assert_true(n > BH_DHCP_HDR_LEN);
    assert_int_equal(out[0], BH_BOOTP_REPLY);
    assert_memory_equal(out + 4, p.b + 4, 4);             /* xid */
    assert_memory_equal(out + 16, "\0\0\0\0", 4);         /* no yiaddr: proxy */
    assert_memory_equal(out + 20, "\xc0\x00\x02\x01", 4); /* siaddr */
    assert_memory_equal(out + 28, MAC_A, 6);
    assert_string_equal((const char *)out + BH_DHCP_FILE_OFF, "undionly.kpxe");
    assert_memory_equal(out + 236, "\x63\x82\x53\x63", 4);
    /* first options: 53, 54 */
    assert_memory_equal(out + 240, "\x35\x01\x02\x36\x04\xc0\x00\x02\x01", 9);
    assert_opt(out, (size_t)n, BH_OPT_VENDOR_CLASS, "PXEClient", 9);
    assert_opt(out, (size_t)n, BH_OPT_VENDOR, "\x06\x01\x08\xff", 4);
    assert_opt(out, (size_t)n, BH_OPT_CLIENT_UUID, UUID, 17);
    assert_opt(out, (size_t)n, BH_OPT_BOOTFILE, "undionly.kpxe", 13); /* it asked for 67 */
    assert_no_opt(out, (size_t)n, BH_OPT_LEASE_TIME);
    assert_no_opt(out, (size_t)n, BH_OPT_TFTP_SERVER); /* not asked */
    assert_no_opt(out, (size_t)n, BH_OPT_SUBNET_MASK);
    assert_int_equal(out[n - 1], BH_OPT_END);
}

static void test_build_http_rpi_ack(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    uint8_t out[1500];
    /* UEFI HTTP boot: HTTPClient echoed, URL as the boot file */
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    p_str(&p, BH_OPT_VENDOR_CLASS, "HTTPClient:Arch:00016:UNDI:003001");
    p_end(&p);
    parse_ok(&p, &m);
    struct bh_boot_decision d = {.kind = BH_BOOT_HTTP,
                                 .filename = "http://192.0.2.1:8080/boot/ipxe.efi"};
    struct bh_dhcp_reply r = {.type = BH_DHCPOFFER, .boot = &d, .lease_time = 600};
    r.server_id.s_addr = ip4("192.0.2.1");
    r.yiaddr.s_addr = ip4("192.0.2.100");
    r.mask.s_addr = ip4("255.255.255.0");
    r.router.s_addr = ip4("192.0.2.1");
    r.dns[0].s_addr = ip4("192.0.2.53");
    r.ndns = 1;
    r.domain = "lab.example";
    int n = bh_dhcp_build(&m, &r, out, sizeof(out));
    assert_true(n > 0);
    assert_opt(out, (size_t)n, BH_OPT_VENDOR_CLASS, "HTTPClient", 10);
    assert_opt(out, (size_t)n, BH_OPT_BOOTFILE, d.filename, strlen(d.filename));
    assert_opt(out, (size_t)n, BH_OPT_LEASE_TIME, "\x00\x00\x02\x58", 4);
    assert_opt(out, (size_t)n, BH_OPT_T1, "\x00\x00\x01\x2c", 4);
    assert_opt(out, (size_t)n, BH_OPT_T2, "\x00\x00\x02\x0d", 4); /* 525 */
    assert_opt(out, (size_t)n, BH_OPT_SUBNET_MASK, "\xff\xff\xff\x00", 4);
    assert_opt(out, (size_t)n, BH_OPT_DNS, "\xc0\x00\x02\x35", 4);
    assert_opt(out, (size_t)n, BH_OPT_DOMAIN, "lab.example", 11);
    assert_no_opt(out, (size_t)n, BH_OPT_VENDOR); /* no PXE sub-options for HTTP */
    assert_memory_equal(out + 16, "\xc0\x00\x02\x64", 4);

    /* Raspberry Pi: option 43 with its menu entry, 66 and siaddr */
    bios_discover(&p, MAC_RPI);
    parse_ok(&p, &m);
    struct bh_boot_decision rd = {.kind = BH_BOOT_RPI};
    rd.next_server.s_addr = ip4("192.0.2.1");
    struct bh_dhcp_reply rr = {.type = BH_DHCPOFFER, .boot = &rd};
    rr.server_id.s_addr = ip4("192.0.2.1");
    n = bh_dhcp_build(&m, &rr, out, sizeof(out));
    assert_true(n > 0);
    size_t len;
    const uint8_t *v43 = ropt(out, (size_t)n, BH_OPT_VENDOR, &len);
    assert_non_null(v43);
    assert_non_null(memmem(v43, len, "Raspberry Pi Boot", 17));
    assert_int_equal(v43[len - 1], 0xff);
    assert_opt(out, (size_t)n, BH_OPT_TFTP_SERVER, "192.0.2.1", 9);
    assert_opt(out, (size_t)n, BH_OPT_VENDOR_CLASS, "PXEClient", 9);
    assert_memory_equal(out + 20, "\xc0\x00\x02\x01", 4);
}

static void test_build_relay_nak_limits(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    uint8_t out[1500];
    relayed_discover(&p, MAC_A);
    parse_ok(&p, &m);
    struct bh_dhcp_reply r = {.type = BH_DHCPNAK, .message = "wrong network"};
    r.server_id.s_addr = ip4("192.0.2.1");
    int n = bh_dhcp_build(&m, &r, out, sizeof(out));
    assert_true(n > 0);
    assert_int_equal(out[10] & 0x80, 0x80); /* RFC 2131 4.3.2: broadcast bit via relay */
    assert_memory_equal(out + 24, "\xc6\x33\x64\x01", 4); /* giaddr kept */
    assert_memory_equal(out + 16, "\0\0\0\0", 4);
    assert_opt(out, (size_t)n, BH_OPT_MESSAGE, "wrong network", 13);
    /* option 82 echoed as the last option (RFC 3046 2.2) */
    assert_int_equal(out[n - 1], BH_OPT_END);
    assert_int_equal(out[n - 3 - sizeof(OPT82)], BH_OPT_RELAY_AGENT);
    assert_memory_equal(out + n - 1 - sizeof(OPT82), OPT82, sizeof(OPT82));

    /* a long boot URL goes to option 67 only; the client's 576-byte limit
     * drops what does not fit but keeps 53, 54, 82 and END */
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    p_str(&p, BH_OPT_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001");
    uint8_t big82[250];
    memset(big82, 'x', sizeof(big82));
    big82[0] = 1, big82[1] = 248;
    p_opt(&p, BH_OPT_RELAY_AGENT, big82, sizeof(big82));
    p_end(&p);
    parse_ok(&p, &m);
    struct bh_boot_decision d = {.kind = BH_BOOT_SCRIPT};
    memset(d.filename, 'u', 200);
    d.filename[200] = '\0';
    struct bh_dhcp_reply o = {.type = BH_DHCPOFFER, .boot = &d, .lease_time = 60};
    o.server_id.s_addr = ip4("192.0.2.1");
    n = bh_dhcp_build(&m, &o, out, sizeof(out));
    assert_true(n > 0 && n <= 576 - 28);
    assert_int_equal(out[BH_DHCP_FILE_OFF], 0);
    assert_opt(out, (size_t)n, BH_OPT_MSG_TYPE, "\x02", 1);
    assert_opt(out, (size_t)n, BH_OPT_RELAY_AGENT, big82, sizeof(big82));
    assert_no_opt(out, (size_t)n, BH_OPT_BOOTFILE); /* 202 bytes did not fit */
    /* with room (option 57 = 1500) it is there */
    uint8_t mm[2] = {0x05, 0xdc};
    p.n--;
    p_opt(&p, BH_OPT_MAX_MSG, mm, 2);
    p_end(&p);
    parse_ok(&p, &m);
    n = bh_dhcp_build(&m, &o, out, sizeof(out));
    assert_opt(out, (size_t)n, BH_OPT_BOOTFILE, d.filename, 200);
    /* bad type, tiny buffer */
    o.type = BH_DHCPREQUEST;
    assert_int_equal(bh_dhcp_build(&m, &o, out, sizeof(out)), BH_EINVAL);
    o.type = BH_DHCPOFFER;
    assert_int_equal(bh_dhcp_build(&m, &o, out, 200), BH_ETOOBIG);
}

/* ---- the server ---------------------------------------------------------- */

struct fake {
    enum bh_boot_kind kind;
    int decides;
    bool reserve;
};

static void fake_decide(void *ud, const struct bh_boot_client *c, struct bh_boot_decision *d)
{
    struct fake *f = ud;
    f->decides++;
    d->kind = c->pxe || c->ipxe || c->http || c->rpi ? f->kind : BH_BOOT_NONE;
    snprintf(d->filename, sizeof(d->filename), "%s", "undionly.kpxe");
    d->next_server = c->iface_addr;
}

static bool fake_reservation(void *ud, const uint8_t mac[6], struct in_addr *ip, char *host,
                             size_t cap)
{
    struct fake *f = ud;
    if (!f->reserve || memcmp(mac, MAC_R, 6))
        return false;
    ip->s_addr = ip4("192.0.2.50");
    snprintf(host, cap, "%s", "kiosk-1");
    return true;
}

struct fx {
    struct fake f;
    struct bh_boot_config cfg;
    struct bh_dhcp_server *s;
    struct bh_dhcp_in in;
    struct pkt p;
    struct bh_dhcp_msg m;
    struct bh_dhcp_out o;
    int64_t now;
};

static struct fx *fx_new(enum bh_dhcp_mode mode)
{
    struct fx *x = calloc(1, sizeof(*x));
    assert_non_null(x);
    bh_boot_config_defaults(&x->cfg);
    x->cfg.lease_time = 600;
    x->cfg.nsubnets = 2;
    struct bh_dhcp_subnet *a = &x->cfg.subnets[0], *b = &x->cfg.subnets[1];
    a->net.s_addr = ip4("192.0.2.0");
    a->mask.s_addr = ip4("255.255.255.0");
    a->range_start.s_addr = ip4("192.0.2.100");
    a->range_end.s_addr = ip4("192.0.2.102");
    a->router.s_addr = ip4("192.0.2.1");
    snprintf(a->iface, sizeof(a->iface), "br0");
    b->net.s_addr = ip4("198.51.100.0");
    b->mask.s_addr = ip4("255.255.255.0");
    b->range_start.s_addr = ip4("198.51.100.10");
    b->range_end.s_addr = ip4("198.51.100.20");
    b->lease_time = 120;
    x->f.kind = BH_BOOT_TFTP;
    x->f.reserve = true;
    struct bh_dhcp_hooks h = {.decide = fake_decide, .reservation = fake_reservation, .ud = &x->f};
    struct bh_err e;
    assert_int_equal(bh_dhcp_server_new(&x->cfg, &h, &x->s, &e), 0);
    x->in = (struct bh_dhcp_in){"br0", {ip4("192.0.2.1")}, mode, BH_DHCP_SERVER_PORT, false,
                                {0},   BH_DHCP_CLIENT_PORT};
    x->now = 1700000000;
    return x;
}

static void fx_free(struct fx *x)
{
    bh_dhcp_server_free(x->s);
    free(x);
}

static void fx_run(struct fx *x)
{
    parse_ok(&x->p, &x->m);
    bh_dhcp_server_handle(x->s, &x->m, &x->in, x->now, &x->o);
}

static void fx_discover(struct fx *x, const uint8_t mac[6])
{
    p_start(&x->p, BH_DHCPDISCOVER, mac);
    p_end(&x->p);
    fx_run(x);
}

/* REQUEST in SELECTING state (server id + requested address) */
static void fx_select(struct fx *x, const uint8_t mac[6], const char *ip, const char *sid)
{
    p_start(&x->p, BH_DHCPREQUEST, mac);
    p_addr(&x->p, BH_OPT_SERVER_ID, sid);
    p_addr(&x->p, BH_OPT_REQUESTED_IP, ip);
    p_end(&x->p);
    fx_run(x);
}

static void fx_ciaddr_request(struct fx *x, const uint8_t mac[6], const char *ip, bool unicast)
{
    p_start(&x->p, BH_DHCPREQUEST, mac);
    p_field(&x->p, 12, ip);
    p_end(&x->p);
    x->in.unicast = unicast;
    fx_run(x);
    x->in.unicast = false;
}

static void assert_yiaddr(const struct fx *x, const char *ip)
{
    assert_int_equal(x->o.r.yiaddr.s_addr, ip4(ip));
}

/* DISCOVER -> OFFER -> REQUEST -> ACK (stored first), same address again */
static void test_full_allocate(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    fx_discover(x, MAC_A);
    assert_int_equal(x->o.outcome, BH_DHCP_O_OFFER);
    assert_yiaddr(x, "192.0.2.100");
    assert_int_equal(x->o.r.lease_time, 600);
    assert_int_equal(x->o.r.mask.s_addr, ip4("255.255.255.0"));
    assert_false(x->o.after_commit);
    assert_int_equal(x->o.nchanges, 0); /* offers are not stored */
    assert_int_equal(x->o.dest, BH_DHCP_TO_BROADCAST);
    assert_int_equal(x->o.boot.kind, BH_BOOT_NONE); /* not a boot client */
    assert_int_equal(bh_dhcp_server_find_mac(x->s, MAC_A)->state, BH_LEASE_OFFERED);

    fx_select(x, MAC_A, "192.0.2.100", "192.0.2.1");
    assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    assert_true(x->o.after_commit);
    assert_int_equal(x->o.nchanges, 1);
    assert_int_equal(x->o.changes[0].ip, ntohl(ip4("192.0.2.100")));
    assert_int_equal(x->o.changes[0].state, BH_LEASE_BOUND);
    assert_int_equal(x->o.changes[0].expires, x->now + 600);
    assert_string_equal(x->o.event, "dhcp.ack");
    assert_int_equal(bh_dhcp_server_active(x->s, x->now), 1);
    assert_int_equal(x->o.seen.s_addr, 0); /* not a boot client: no boot to prove */

    /* the next client gets the next address; A keeps its own */
    fx_discover(x, MAC_B);
    assert_yiaddr(x, "192.0.2.101");
    fx_discover(x, MAC_A);
    assert_yiaddr(x, "192.0.2.100");
    assert_int_equal(bh_dhcp_server_find_mac(x->s, MAC_A)->state, BH_LEASE_BOUND);
    /* a requested address (50) is honoured when free */
    p_start(&x->p, BH_DHCPDISCOVER, MAC_C);
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "192.0.2.102");
    p_end(&x->p);
    fx_run(x);
    assert_yiaddr(x, "192.0.2.102");
    /* a PXE client in full mode gets its boot file with the address */
    bios_discover(&x->p, MAC_B);
    fx_run(x);
    assert_yiaddr(x, "192.0.2.101");
    assert_int_equal(x->o.boot.kind, BH_BOOT_TFTP);
    assert_int_equal(x->o.seen.s_addr, 0); /* an offer proves nothing yet */
    /* its ACK ties the address to it for the lease's life */
    p_start(&x->p, BH_DHCPREQUEST, MAC_B);
    p_str(&x->p, BH_OPT_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001");
    p_addr(&x->p, BH_OPT_SERVER_ID, "192.0.2.1");
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "192.0.2.101");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    assert_int_equal(x->o.seen.s_addr, ip4("192.0.2.101"));
    assert_int_equal(x->o.seen_until, x->now + 600);
    json_t *j = bh_dhcp_server_leases(x->s);
    assert_int_equal(json_array_size(j), 3);
    json_decref(j);
    fx_free(x);
}

static void test_full_reservation(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    fx_discover(x, MAC_R);
    assert_yiaddr(x, "192.0.2.50"); /* outside the range: reservations need none */
    assert_string_equal(x->o.r.hostname, "kiosk-1");
    fx_select(x, MAC_R, "192.0.2.50", "192.0.2.1");
    assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    assert_string_equal(x->o.changes[0].hostname, "kiosk-1");
    /* renewing any other address is refused: it must come back to its own */
    fx_ciaddr_request(x, MAC_R, "192.0.2.101", true);
    assert_int_equal(x->o.outcome, BH_DHCP_O_NAK);
    fx_free(x);
}

static void test_full_renew_rebind(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    fx_discover(x, MAC_A);
    fx_select(x, MAC_A, "192.0.2.100", "192.0.2.1");
    x->now += 300;
    /* RENEWING: unicast with ciaddr, answered to ciaddr */
    fx_ciaddr_request(x, MAC_A, "192.0.2.100", true);
    assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    assert_int_equal(x->o.dest, BH_DHCP_TO_CLIENT);
    assert_int_equal(x->o.dest_addr.s_addr, ip4("192.0.2.100"));
    assert_int_equal(x->o.r.ciaddr.s_addr, ip4("192.0.2.100"));
    assert_int_equal(x->o.changes[0].expires, x->now + 600);
    /* REBINDING: broadcast with ciaddr */
    x->now += 300;
    fx_ciaddr_request(x, MAC_A, "192.0.2.100", false);
    assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    /* INIT-REBOOT (50, no ciaddr, no server id) for its address */
    p_start(&x->p, BH_DHCPREQUEST, MAC_A);
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "192.0.2.100");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    assert_int_equal(x->o.dest, BH_DHCP_TO_BROADCAST);
    /* a renewing client we have no record of, on a free pool address: kept */
    fx_ciaddr_request(x, MAC_B, "192.0.2.101", true);
    assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    fx_free(x);
}

static void test_full_naks(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    fx_discover(x, MAC_A);
    fx_select(x, MAC_A, "192.0.2.100", "192.0.2.1");
    /* INIT-REBOOT from another network: NAK, broadcast (RFC 2131 4.3.2) */
    p_start(&x->p, BH_DHCPREQUEST, MAC_A);
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "198.51.100.15");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_NAK);
    assert_string_equal(x->o.why, "wrong network");
    assert_int_equal(x->o.dest, BH_DHCP_TO_BROADCAST);
    assert_int_equal(x->o.nchanges, 0);
    /* rebinding (broadcast) with a foreign ciaddr */
    fx_ciaddr_request(x, MAC_B, "203.0.113.9", false);
    assert_int_equal(x->o.outcome, BH_DHCP_O_NAK);
    /* B renewing the address A holds */
    fx_ciaddr_request(x, MAC_B, "192.0.2.100", true);
    assert_int_equal(x->o.outcome, BH_DHCP_O_NAK);
    assert_string_equal(x->o.why, "address held by another client");
    /* SELECTING an address that was not offered to it */
    fx_discover(x, MAC_B);
    fx_select(x, MAC_B, "192.0.2.102", "192.0.2.1");
    assert_int_equal(x->o.outcome, BH_DHCP_O_NAK);
    /* renewing an address outside the pool */
    fx_ciaddr_request(x, MAC_C, "192.0.2.7", true);
    assert_int_equal(x->o.outcome, BH_DHCP_O_NAK);
    /* INIT-REBOOT from a client we never saw: silence */
    p_start(&x->p, BH_DHCPREQUEST, MAC_D);
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "192.0.2.102");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_IGNORED);
    assert_false(x->o.reply);
    /* the client chose another server: silence, our offer is released */
    fx_discover(x, MAC_C);
    assert_yiaddr(x, "192.0.2.102");
    fx_select(x, MAC_C, "192.0.2.102", "192.0.2.254");
    assert_int_equal(x->o.outcome, BH_DHCP_O_IGNORED);
    fx_discover(x, MAC_D);
    assert_yiaddr(x, "192.0.2.102");
    fx_free(x);
}

static void test_full_release_decline(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    fx_discover(x, MAC_A);
    fx_select(x, MAC_A, "192.0.2.100", "192.0.2.1");
    p_start(&x->p, BH_DHCPRELEASE, MAC_A);
    p_field(&x->p, 12, "192.0.2.100");
    p_addr(&x->p, BH_OPT_SERVER_ID, "192.0.2.1");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_RELEASE);
    assert_false(x->o.reply);
    assert_int_equal(x->o.nchanges, 1);
    assert_int_equal(x->o.changes[0].state, BH_LEASE_RELEASED);
    assert_int_equal(bh_dhcp_server_active(x->s, x->now), 0);
    /* the released address comes back to the same client */
    fx_discover(x, MAC_A);
    assert_yiaddr(x, "192.0.2.100");
    fx_select(x, MAC_A, "192.0.2.100", "192.0.2.1");
    /* DECLINE: the address rests; the client gets another one */
    p_start(&x->p, BH_DHCPDECLINE, MAC_A);
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "192.0.2.100");
    p_addr(&x->p, BH_OPT_SERVER_ID, "192.0.2.1");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_DECLINE);
    assert_int_equal(x->o.changes[0].state, BH_LEASE_DECLINED);
    assert_memory_equal(x->o.changes[0].mac, "\0\0\0\0\0\0", 6);
    assert_null(bh_dhcp_server_find_mac(x->s, MAC_A));
    fx_discover(x, MAC_A);
    assert_yiaddr(x, "192.0.2.101");
    fx_discover(x, MAC_B);
    assert_yiaddr(x, "192.0.2.102");
    fx_discover(x, MAC_C);
    assert_false(x->o.reply); /* .100 rests, .101/.102 offered */
    x->now += BH_DHCP_DECLINE_HOLD_S + 1;
    fx_discover(x, MAC_C);
    assert_int_equal(x->o.outcome, BH_DHCP_O_OFFER); /* rested, and offers expired */
    /* a release naming another server is ignored */
    p_start(&x->p, BH_DHCPRELEASE, MAC_A);
    p_field(&x->p, 12, "192.0.2.101");
    p_addr(&x->p, BH_OPT_SERVER_ID, "192.0.2.9");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_IGNORED);
    fx_free(x);
}

static void test_full_exhaustion_expiry(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    const uint8_t *macs[] = {MAC_A, MAC_B, MAC_C};
    const char *ips[] = {"192.0.2.100", "192.0.2.101", "192.0.2.102"};
    for (int i = 0; i < 3; i++) {
        fx_discover(x, macs[i]);
        assert_yiaddr(x, ips[i]);
        fx_select(x, macs[i], ips[i], "192.0.2.1");
        assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    }
    fx_discover(x, MAC_D);
    assert_int_equal(x->o.outcome, BH_DHCP_O_IGNORED);
    assert_string_equal(x->o.why, "address pool exhausted");
    /* half-way, B renews; after the first leases expire D gets A's address */
    x->now += 400;
    fx_ciaddr_request(x, MAC_B, "192.0.2.101", true);
    x->now += 201;
    assert_int_equal(bh_dhcp_server_active(x->s, x->now), 1);
    fx_discover(x, MAC_D);
    assert_int_equal(x->o.outcome, BH_DHCP_O_OFFER);
    assert_true(x->o.r.yiaddr.s_addr == ip4("192.0.2.100") ||
                x->o.r.yiaddr.s_addr == ip4("192.0.2.102"));
    fx_select(x, MAC_D, inet_ntoa(x->o.r.yiaddr), "192.0.2.1");
    assert_int_equal(x->o.outcome, BH_DHCP_O_ACK);
    /* the old holder, back, is refused its address and offered the last */
    fx_free(x);
}

static void test_full_relay_inform(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    relayed_discover(&x->p, MAC_A);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_OFFER);
    assert_yiaddr(x, "198.51.100.10");
    assert_int_equal(x->o.r.lease_time, 120); /* the subnet's own */
    assert_int_equal(x->o.dest, BH_DHCP_TO_RELAY);
    assert_int_equal(x->o.dest_addr.s_addr, ip4("198.51.100.1"));
    /* a relay from nowhere we serve: silence */
    p_start(&x->p, BH_DHCPDISCOVER, MAC_B);
    p_field(&x->p, 24, "203.0.113.1");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_IGNORED);
    /* INFORM: configuration, no address, no lease time, to ciaddr */
    p_start(&x->p, BH_DHCPINFORM, MAC_C);
    p_field(&x->p, 12, "192.0.2.7");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_INFORM);
    assert_int_equal(x->o.r.type, BH_DHCPACK);
    assert_int_equal(x->o.r.lease_time, 0);
    assert_int_equal(x->o.r.yiaddr.s_addr, 0);
    assert_int_equal(x->o.dest, BH_DHCP_TO_CLIENT);
    assert_int_equal(x->o.nchanges, 0);
    /* BOOTP is not answered */
    p_start(&x->p, 0, MAC_C);
    p_end(&x->p);
    fx_run(x);
    assert_false(x->o.reply);
    fx_free(x);
}

/* A client that shows up behind a relay keeps one record: its stored row
 * for the old subnet is deleted in the same batch. */
static void test_full_move_subnet(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    fx_discover(x, MAC_A);
    fx_select(x, MAC_A, "192.0.2.100", "192.0.2.1");
    relayed_discover(&x->p, MAC_A);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_OFFER);
    assert_yiaddr(x, "198.51.100.10");
    assert_int_equal(x->o.nchanges, 1);
    assert_true(x->o.changes[0].del);
    assert_int_equal(x->o.changes[0].ip, ntohl(ip4("192.0.2.100")));
    assert_null(bh_dhcp_server_find_ip(x->s, ntohl(ip4("192.0.2.100"))));
    /* the freed address is handed out again */
    fx_discover(x, MAC_B);
    fx_discover(x, MAC_C);
    fx_discover(x, MAC_D);
    assert_int_equal(x->o.outcome, BH_DHCP_O_OFFER);
    json_t *j = bh_dhcp_server_leases(x->s);
    json_t *first = json_array_get(j, 0);
    assert_non_null(json_object_get(first, "expires"));
    assert_non_null(json_object_get(first, "state"));
    json_decref(j);
    fx_free(x);
}

static void test_reply_limit(void **state)
{
    (void)state;
    struct pkt p;
    static struct bh_dhcp_msg m;
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    p_end(&p);
    parse_ok(&p, &m);
    assert_int_equal(bh_dhcp_reply_limit(&m, 1472), 548); /* RFC 2131: 576 - IP - UDP */
    uint8_t mm[2] = {0x05, 0xdc};
    p.n--;
    p_opt(&p, BH_OPT_MAX_MSG, mm, 2);
    p_end(&p);
    parse_ok(&p, &m);
    assert_int_equal(bh_dhcp_reply_limit(&m, 1472), 1472);
    assert_int_equal(bh_dhcp_reply_limit(&m, 1000), 1000);
    mm[0] = 0, mm[1] = 100; /* below the legal minimum: read as 576 */
    p_start(&p, BH_DHCPDISCOVER, MAC_A);
    p_opt(&p, BH_OPT_MAX_MSG, mm, 2);
    parse_ok(&p, &m);
    assert_int_equal(m.max_msg, 576);
    assert_string_equal(bh_dhcp_type_name(BH_DHCPINFORM), "INFORM");
    assert_string_equal(bh_dhcp_type_name(200), "?");
    assert_string_equal(bh_dhcp_parse_err_name(BH_DHCP_ERR_COOKIE), "cookie");
}

static void test_proxy(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_PROXY);
    /* not a boot client: never answered, the hook is not even asked */
    fx_discover(x, MAC_A);
    assert_false(x->o.reply);
    assert_int_equal(x->f.decides, 0);
    /* a PXE client: boot information, no address, no lease */
    bios_discover(&x->p, MAC_A);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_PROXY_OFFER);
    assert_int_equal(x->o.r.yiaddr.s_addr, 0);
    assert_int_equal(x->o.r.lease_time, 0);
    assert_int_equal(x->o.nchanges, 0);
    assert_int_equal(x->o.client.mode, BH_DHCP_PROXY);
    assert_int_equal(x->o.boot.kind, BH_BOOT_TFTP);
    assert_null(bh_dhcp_server_find_mac(x->s, MAC_A));
    assert_int_equal(x->o.seen.s_addr, 0); /* a DISCOVER names no address */
    /* its REQUEST to the real server on 67 is not answered, but the address
     * it asks for is noted: the boot chain's proof of who is booting there */
    p_start(&x->p, BH_DHCPREQUEST, MAC_A);
    p_str(&x->p, BH_OPT_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001");
    p_addr(&x->p, BH_OPT_SERVER_ID, "192.0.2.254");
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "192.0.2.88");
    p_end(&x->p);
    fx_run(x);
    assert_false(x->o.reply);
    assert_int_equal(x->o.seen.s_addr, ip4("192.0.2.88"));
    assert_int_equal(x->o.seen_until, 0); /* observed, not leased by us */
    assert_false(x->o.seen_relayed);
    /* the same from another port than 68: any program on a machine can send
     * that, so it proves nothing */
    x->in.src_port = 40000;
    fx_run(x);
    assert_int_equal(x->o.seen.s_addr, 0);
    x->in.src_port = BH_DHCP_CLIENT_PORT;
    /* from an address that is neither 0.0.0.0 nor the one it names: nothing */
    x->in.src.s_addr = ip4("192.0.2.99");
    fx_run(x);
    assert_int_equal(x->o.seen.s_addr, 0);
    x->in.src.s_addr = ip4("192.0.2.88"); /* a client that has the address already */
    fx_run(x);
    assert_int_equal(x->o.seen.s_addr, ip4("192.0.2.88"));
    x->in.src.s_addr = 0;
    /* through a relay: noted as relayed, only when it comes from the relay */
    p_start(&x->p, BH_DHCPREQUEST, MAC_A);
    p_str(&x->p, BH_OPT_VENDOR_CLASS, "PXEClient:Arch:00000:UNDI:002001");
    p_addr(&x->p, BH_OPT_SERVER_ID, "192.0.2.254");
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "198.51.100.7");
    p_end(&x->p);
    p_field(&x->p, 24, "198.51.100.1"); /* giaddr */
    x->in.src.s_addr = ip4("198.51.100.1");
    x->in.src_port = BH_DHCP_SERVER_PORT;
    fx_run(x);
    assert_int_equal(x->o.seen.s_addr, ip4("198.51.100.7"));
    assert_true(x->o.seen_relayed);
    x->in.src.s_addr = ip4("198.51.100.2"); /* not the relay it names */
    fx_run(x);
    assert_int_equal(x->o.seen.s_addr, 0);
    x->in.src.s_addr = 0;
    x->in.src_port = BH_DHCP_CLIENT_PORT;
    /* a plain client's REQUEST (an installed OS) is not noted */
    p_start(&x->p, BH_DHCPREQUEST, MAC_B);
    p_addr(&x->p, BH_OPT_SERVER_ID, "192.0.2.254");
    p_addr(&x->p, BH_OPT_REQUESTED_IP, "192.0.2.89");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.seen.s_addr, 0);
    /* on 4011: a PXE boot server ACK, back to the source */
    x->in.port = BH_PXE_BOOT_PORT;
    p_start(&x->p, BH_DHCPREQUEST, MAC_A);
    p_field(&x->p, 12, "192.0.2.77");
    p_str(&x->p, BH_OPT_VENDOR_CLASS, "PXEClient:Arch:00007:UNDI:003016");
    p_end(&x->p);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_PXE_ACK);
    assert_int_equal(x->o.r.type, BH_DHCPACK);
    assert_int_equal(x->o.dest, BH_DHCP_TO_SOURCE);
    assert_int_equal(x->o.r.ciaddr.s_addr, ip4("192.0.2.77"));
    assert_string_equal(x->o.event, "pxe.ack");
    assert_int_equal(x->o.seen.s_addr, ip4("192.0.2.77")); /* the address it has */
    x->in.port = BH_DHCP_SERVER_PORT;
    /* the policy says no: silence in proxy mode */
    x->f.kind = BH_BOOT_NONE;
    bios_discover(&x->p, MAC_B);
    fx_run(x);
    assert_false(x->o.reply);
    /* full mode with policy NONE: an address, no boot options */
    fx_free(x);
    x = fx_new(BH_DHCP_FULL);
    x->f.kind = BH_BOOT_NONE;
    bios_discover(&x->p, MAC_B);
    fx_run(x);
    assert_int_equal(x->o.outcome, BH_DHCP_O_OFFER);
    assert_int_equal(x->o.boot.kind, BH_BOOT_NONE);
    uint8_t out[1500];
    int n = bh_dhcp_build(&x->m, &x->o.r, out, sizeof(out));
    assert_true(n > 0);
    assert_no_opt(out, (size_t)n, BH_OPT_VENDOR);
    assert_no_opt(out, (size_t)n, BH_OPT_VENDOR_CLASS);
    assert_int_equal(out[BH_DHCP_FILE_OFF], 0);
    /* OFF interfaces answer nothing */
    x->in.mode = BH_DHCP_OFF;
    fx_discover(x, MAC_A);
    assert_false(x->o.reply);
    fx_free(x);
}

/* ---- durable leases ------------------------------------------------------ */

struct notify {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;
};

static void on_commit(void *ud)
{
    struct notify *n = ud;
    pthread_mutex_lock(&n->mu);
    n->calls++;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
}

static void wait_commit(struct bh_leasedb *db, struct notify *n, int64_t seq)
{
    for (int i = 0; i < 500 && bh_leasedb_committed(db) < seq; i++)
        usleep(10000);
    assert_true(bh_leasedb_committed(db) >= seq);
    pthread_mutex_lock(&n->mu);
    assert_true(n->calls > 0);
    pthread_mutex_unlock(&n->mu);
}

/* Row count for ip, read through a connection of its own (what is on disk
 * for everyone, not what the writer has in a transaction). */
static int rows_for(const char *path, uint32_t ip)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM leases WHERE ip = ?", -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(st, 1, ip);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static int restore_cb(void *ud, const struct bh_lease_rec *r)
{
    return bh_dhcp_server_restore(ud, r) == BH_ENOMEM;
}

/* The ACK may leave only once its lease is committed; one commit for all
 * the changes of a window; everything back after a restart. */
static void test_group_commit(void **state)
{
    (void)state;
    char dir[] = "/tmp/bh-dhcp-test.XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/leases.db", dir);
    struct bh_leasedb *db;
    struct bh_err e;
    struct notify n = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    assert_int_equal(bh_leasedb_open(path, &db, &e), 0);
    assert_int_equal(bh_leasedb_start(db, 300, on_commit, &n, &e), 0);

    struct fx *x = fx_new(BH_DHCP_FULL);
    fx_discover(x, MAC_A);
    fx_select(x, MAC_A, "192.0.2.100", "192.0.2.1");
    assert_true(x->o.after_commit);
    int64_t seq = 0;
    for (int i = 0; i < x->o.nchanges; i++)
        seq = bh_leasedb_queue(db, &x->o.changes[i]);
    assert_true(seq > 0);
    /* within the window: not committed, not on disk, the ACK must wait */
    assert_true(bh_leasedb_committed(db) < seq);
    assert_int_equal(rows_for(path, ntohl(ip4("192.0.2.100"))), 0);
    /* more changes join the same window */
    int64_t last = seq;
    for (uint32_t i = 0; i < 50; i++) {
        struct bh_lease_rec r = {.ip = 0xc0000200u + 150 + i, .state = BH_LEASE_BOUND};
        r.mac[5] = (uint8_t)i;
        r.expires = x->now + 60;
        last = bh_leasedb_queue(db, &r);
    }
    wait_commit(db, &n, last);
    /* when told, the ACK's lease is on disk */
    assert_int_equal(rows_for(path, ntohl(ip4("192.0.2.100"))), 1);
    uint64_t commits, nanos;
    bh_leasedb_stats(db, &commits, &nanos);
    assert_int_equal(commits, 1);
    /* a change queued right before close is flushed by the close */
    struct bh_lease_rec d = {.ip = 0xc0000200u + 150, .del = true};
    bh_leasedb_queue(db, &d);
    bh_leasedb_close(db);
    assert_int_equal(rows_for(path, 0xc0000200u + 150), 0);

    /* restart: the bound lease is back, the client keeps its address */
    assert_int_equal(bh_leasedb_open(path, &db, &e), 0);
    struct fx *y = fx_new(BH_DHCP_FULL);
    assert_int_equal(bh_leasedb_load(db, restore_cb, y->s, &e), 0);
    const struct bh_lease_rec *r = bh_dhcp_server_find_mac(y->s, MAC_A);
    assert_non_null(r);
    assert_int_equal(r->state, BH_LEASE_BOUND);
    y->now = x->now;
    fx_ciaddr_request(y, MAC_A, "192.0.2.100", true);
    assert_int_equal(y->o.outcome, BH_DHCP_O_ACK);
    bh_leasedb_close(db);
    fx_free(x);
    fx_free(y);
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Restoring: duplicates keep the later lease; offered rows are refused. */
static void test_restore(void **state)
{
    (void)state;
    struct fx *x = fx_new(BH_DHCP_FULL);
    struct bh_lease_rec a = {.ip = 0xc0000264u, .state = BH_LEASE_BOUND, .expires = 100};
    memcpy(a.mac, MAC_A, 6);
    assert_int_equal(bh_dhcp_server_restore(x->s, &a), 0);
    struct bh_lease_rec b = a;
    b.ip = 0xc0000265u;
    b.expires = 200;
    assert_int_equal(bh_dhcp_server_restore(x->s, &b), 0);
    assert_int_equal(bh_dhcp_server_find_mac(x->s, MAC_A)->ip, 0xc0000265u);
    assert_null(bh_dhcp_server_find_ip(x->s, 0xc0000264u));
    assert_int_equal(bh_dhcp_server_restore(x->s, &b), BH_ECONFLICT);
    b.state = BH_LEASE_OFFERED;
    b.ip++;
    assert_int_equal(bh_dhcp_server_restore(x->s, &b), BH_EINVAL);
    /* many leases: the tables grow */
    for (uint32_t i = 0; i < 5000; i++) {
        struct bh_lease_rec r = {.ip = 0x0a000000u + i, .state = BH_LEASE_BOUND, .expires = 1};
        r.mac[0] = 2, r.mac[4] = (uint8_t)(i >> 8), r.mac[5] = (uint8_t)i;
        assert_int_equal(bh_dhcp_server_restore(x->s, &r), 0);
    }
    assert_non_null(bh_dhcp_server_find_ip(x->s, 0x0a000000u + 4321));
    fx_free(x);
}

int main(void)
{
    bh_log_set_level(BH_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_bios_pxe),
        cmocka_unit_test(test_parse_uefi),
        cmocka_unit_test(test_parse_ipxe),
        cmocka_unit_test(test_parse_rpi),
        cmocka_unit_test(test_parse_relayed),
        cmocka_unit_test(test_parse_overload_and_split),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_build_proxy_offer),
        cmocka_unit_test(test_build_http_rpi_ack),
        cmocka_unit_test(test_build_relay_nak_limits),
        cmocka_unit_test(test_full_allocate),
        cmocka_unit_test(test_full_reservation),
        cmocka_unit_test(test_full_renew_rebind),
        cmocka_unit_test(test_full_naks),
        cmocka_unit_test(test_full_release_decline),
        cmocka_unit_test(test_full_exhaustion_expiry),
        cmocka_unit_test(test_full_relay_inform),
        cmocka_unit_test(test_full_move_subnet),
        cmocka_unit_test(test_reply_limit),
        cmocka_unit_test(test_proxy),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
