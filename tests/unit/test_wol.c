/*
 * test_wol.c - Wake-on-LAN: the magic packet's bytes, the choice of
 * broadcast address and interface from a made-up interface list, the
 * [wol] config keys, and the sender over loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "boot/wol.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "daemon/config.h"

#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint8_t MAC[6] = {0x52, 0x54, 0x00, 0xab, 0xcd, 0xef};

static void test_packet(void **state)
{
    (void)state;
    uint8_t p[BH_WOL_PACKET_LEN];
    memset(p, 0, sizeof(p));
    bh_wol_packet(MAC, p);
    assert_int_equal(BH_WOL_PACKET_LEN, 102);
    for (int i = 0; i < 6; i++)
        assert_int_equal(p[i], 0xff);
    for (int r = 0; r < 16; r++)
        assert_memory_equal(p + 6 + 6 * r, MAC, 6);
}

static struct in_addr A(const char *s) {
    struct in_addr a;
    assert_int_equal(inet_pton(AF_INET, s, &a), 1);
    return a;
}

static void
ifc(struct bh_wol_iface *f, const char *name, const char *addr, const char *mask, const char *brd)
{
    memset(f, 0, sizeof(*f));
    bh_strlcpy(f->name, name, sizeof(f->name));
    f->addr = A(addr);
    f->mask = A(mask);
    f->brd = brd ? A(brd) : A("0.0.0.0");
    f->up = f->broadcast = true;
    f->loopback = !strcmp(name, "lo");
}

/* lo, eth0 192.0.2.1/24, br1 198.51.100.129/25 (no broadcast set), tun0
 * (no broadcast flag), eth2 down */
static struct bh_wol_iface IFS[5];
static struct bh_wol_net NETS[2];
static char DHCP[2][IFNAMSIZ];
static struct bh_wol_env ENV;

static int setup(void **state)
{
    (void)state;
    ifc(&IFS[0], "lo", "127.0.0.1", "255.0.0.0", NULL);
    ifc(&IFS[1], "eth0", "192.0.2.1", "255.255.255.0", "192.0.2.255");
    /* glibc reports the address itself when none was set */
    ifc(&IFS[2], "br1", "198.51.100.129", "255.255.255.128", "198.51.100.129");
    ifc(&IFS[3], "tun0", "203.0.113.1", "255.255.255.0", NULL);
    IFS[3].broadcast = false;
    ifc(&IFS[4], "eth2", "10.9.0.1", "255.255.0.0", "10.9.255.255");
    IFS[4].up = false;
    memset(NETS, 0, sizeof(NETS));
    NETS[0].net = A("10.20.0.0"); /* behind a relay, a /22 */
    NETS[0].mask = A("255.255.252.0");
    NETS[1].net = A("10.30.0.0"); /* a segment on eth0 without an address of ours */
    NETS[1].mask = A("255.255.255.0");
    bh_strlcpy(NETS[1].iface, "eth0", IFNAMSIZ);
    memset(DHCP, 0, sizeof(DHCP));
    bh_strlcpy(DHCP[0], "eth0", IFNAMSIZ);
    ENV = (struct bh_wol_env){IFS, 5, NETS, 2, DHCP, 1};
    return 0;
}

static void expect(const struct bh_wol_where *w, const char *dst, const char *iface, bool directed)
{
    struct bh_wol_target t;
    const char *why = "unset";
    int rc = bh_wol_choose(&ENV, w, &t, &why);
    if (rc)
        fail_msg("no target: %s", why);
    char got[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &t.dst, got, sizeof(got));
    assert_string_equal(got, dst);
    assert_string_equal(t.iface, iface);
    assert_int_equal(t.directed, directed);
    assert_null(why);
}

static struct bh_wol_where ip(const char *s)
{
    struct bh_wol_where w = {0};
    w.has_ip = true;
    w.ip = A(s);
    return w;
}

static void test_choose_local(void **state)
{
    (void)state;
    struct bh_wol_where w = ip("192.0.2.77");
    expect(&w, "192.0.2.255", "eth0", false);
    /* no broadcast address given: computed from address and mask */
    w = ip("198.51.100.200");
    expect(&w, "198.51.100.255", "br1", false);
    /* the other half of that /24 is not on br1: remote, /24 by default */
    w = ip("198.51.100.20");
    expect(&w, "198.51.100.255", "", true);
}

static void test_choose_remote(void **state)
{
    (void)state;
    /* a [subnet] behind a relay gives the prefix */
    struct bh_wol_where w = ip("10.20.1.5");
    expect(&w, "10.20.3.255", "", true);
    /* the room's subnet wins over the [subnet] */
    w.has_room_net = true;
    w.room_net = A("10.20.1.0");
    w.room_mask = A("255.255.255.0");
    expect(&w, "10.20.1.255", "", true);
    /* a room subnet that does not hold the ip is not used */
    w.room_net = A("10.99.0.0");
    expect(&w, "10.20.3.255", "", true);
    /* nothing known: /24 */
    w = ip("172.16.5.9");
    expect(&w, "172.16.5.255", "", true);
    /* a [subnet] tied to an interface goes out of it */
    w = ip("10.30.0.8");
    expect(&w, "10.30.0.255", "eth0", false);
    /* down, loopback and point-to-point interfaces are never chosen */
    w = ip("10.9.1.1");
    expect(&w, "10.9.1.255", "", true);
    w = ip("203.0.113.9");
    expect(&w, "203.0.113.255", "", true);
    w = ip("127.0.0.5");
    expect(&w, "127.0.0.255", "", true);
}

static void test_choose_room_only(void **state)
{
    (void)state;
    struct bh_wol_where w = {0};
    w.has_room_net = true;
    w.room_net = A("192.0.2.0");
    w.room_mask = A("255.255.255.0");
    expect(&w, "192.0.2.255", "eth0", false);
    w.room_net = A("10.50.0.0");
    w.room_mask = A("255.255.254.0");
    expect(&w, "10.50.1.255", "", true);
}

static void test_choose_nothing_known(void **state)
{
    (void)state;
    struct bh_wol_where w = {0};
    /* the one [dhcp] interface */
    expect(&w, "192.0.2.255", "eth0", false);
    struct bh_wol_target t;
    const char *why = NULL;
    /* several: refuse to guess */
    bh_strlcpy(DHCP[1], "br1", IFNAMSIZ);
    ENV.ndhcp = 2;
    assert_int_equal(bh_wol_choose(&ENV, &w, &t, &why), BH_ENOTFOUND);
    assert_non_null(strstr(why, "several"));
    /* none up */
    bh_strlcpy(DHCP[0], "eth2", IFNAMSIZ);
    ENV.ndhcp = 1;
    assert_int_equal(bh_wol_choose(&ENV, &w, &t, &why), BH_ENOTFOUND);
    assert_non_null(strstr(why, "no [dhcp] interface"));
    /* a /32 has no broadcast address */
    w = ip("172.16.0.1");
    w.has_room_net = true;
    w.room_net = A("172.16.0.1");
    w.room_mask = A("255.255.255.255");
    assert_int_equal(bh_wol_choose(&ENV, &w, &t, &why), BH_ENOTFOUND);
    assert_non_null(strstr(why, "/32"));
}

static void test_config(void **state)
{
    (void)state;
    struct bh_config c;
    struct bh_err e;
    bh_config_defaults(&c);
    assert_int_equal(c.wol_port, 9);
    assert_int_equal(c.wol_stagger_ms, 200);
    const char *ok = "[wol]\nport = 7\nstagger_ms = 0\n";
    assert_int_equal(bh_config_parse(&c, ok, strlen(ok), "t.conf", &e), 0);
    assert_int_equal(c.wol_port, 7);
    assert_int_equal(c.wol_stagger_ms, 0);
    const char *bad = "[wol]\nstager_ms = 5\n";
    assert_int_equal(bh_config_parse(&c, bad, strlen(bad), "t.conf", &e), BH_EINVAL);
    assert_non_null(strstr(e.msg, "unknown key 'stager_ms' in [wol]"));
    const char *range = "[wol]\nport = 0\n";
    assert_int_equal(bh_config_parse(&c, range, strlen(range), "t.conf", &e), BH_EINVAL);
    assert_int_equal(c.wol_port, 7); /* a bad file changes nothing */
}

/* the sender over loopback: every queued MAC arrives 3 times, in order, the
 * stagger apart; a MAC already waiting is refused */
static void test_sender(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    struct bh_wol_config cfg = {ntohs(sa.sin_port), 60};
    struct bh_wol *w;
    struct bh_err e;
    assert_int_equal(bh_wol_start(&cfg, NULL, &w, &e), 0);
    assert_int_equal(bh_wol_port(w), ntohs(sa.sin_port));
    struct bh_wol_target t = {0};
    t.dst = sa.sin_addr;
    uint8_t m[3][6];
    for (int i = 0; i < 3; i++) {
        memcpy(m[i], MAC, 6);
        m[i][5] = (uint8_t)i;
        assert_int_equal(bh_wol_queue(w, m[i], &t), 0);
    }
    assert_int_equal(bh_wol_queue(w, m[2], &t), BH_ECONFLICT);
    uint64_t first[3] = {0};
    int got[3] = {0}, last = -1;
    for (int n = 0; n < 9; n++) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 3000), 1);
        uint8_t buf[200], want[BH_WOL_PACKET_LEN];
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        assert_int_equal(k, BH_WOL_PACKET_LEN);
        int i = buf[6 + 5];
        assert_in_range(i, 0, 2);
        assert_true(i >= last); /* in queue order */
        last = i;
        bh_wol_packet(m[i], want);
        assert_memory_equal(buf, want, sizeof(want));
        if (!got[i]++)
            first[i] = bh_mono_ns();
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(got[i], BH_WOL_REPEAT);
    assert_true(first[1] - first[0] >= 55u * 1000000u);
    assert_true(first[2] - first[1] >= 55u * 1000000u);
    /* stopping with wakes queued drops them */
    cfg.stagger_ms = 10000;
    bh_wol_stop(w);
    assert_int_equal(bh_wol_start(&cfg, NULL, &w, &e), 0);
    assert_int_equal(bh_wol_queue(w, m[0], &t), 0);
    assert_int_equal(bh_wol_queue(w, m[1], &t), 0);
    bh_wol_stop(w);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packet),
        cmocka_unit_test_setup(test_choose_local, setup),
        cmocka_unit_test_setup(test_choose_remote, setup),
        cmocka_unit_test_setup(test_choose_room_only, setup),
        cmocka_unit_test_setup(test_choose_nothing_known, setup),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_sender),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
