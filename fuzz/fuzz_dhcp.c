/* libFuzzer driver: DHCP packets, then the decisions on them.
 *
 * Every input is parsed; one that parses is handed to a proxy server and a
 * full server (fake hooks: a boot file for boot clients, one reservation),
 * and every reply they decide on is built.  The two servers live across
 * inputs, so lease state builds up as it would in a long run; they are
 * remade now and then to keep the table small.  The clock moves with the
 * inputs. */
#include "boot/dhcp_proto.h"
#include "boot/dhcp_server.h"
#include "core/log.h"
#include "core/str.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define REMAKE_EVERY 20000

static void decide(void *ud, const struct bh_boot_client *c, struct bh_boot_decision *d)
{
    (void)ud;
    if (!(c->pxe || c->ipxe || c->http || c->rpi))
        return;
    d->kind = c->rpi ? BH_BOOT_RPI : c->http ? BH_BOOT_HTTP : BH_BOOT_TFTP;
    memset(d->filename, 'f', c->arch % 255); /* up to 254 bytes: tests option 67 fallback */
    d->next_server = c->iface_addr;
}

static bool reservation(void *ud, const uint8_t mac[6], struct in_addr *ip, char *host, size_t cap)
{
    (void)ud;
    if (mac[5] != 0x42)
        return false;
    ip->s_addr = htonl(0xc0000232u); /* 192.0.2.50 */
    memset(host, 'h', cap - 1);      /* a hostname that fills the buffer */
    host[cap - 1] = '\0';
    return true;
}

static struct bh_dhcp_server *proxy_srv, *full_srv;
static struct bh_boot_config cfg;
static int runs;
static int64_t now = 1700000000;

static void make(void)
{
    bh_dhcp_server_free(proxy_srv);
    bh_dhcp_server_free(full_srv);
    bh_boot_config_defaults(&cfg);
    cfg.nsubnets = 2;
    cfg.subnets[0].net.s_addr = htonl(0xc0000200u);
    cfg.subnets[0].mask.s_addr = htonl(0xffffff00u);
    cfg.subnets[0].range_start.s_addr = htonl(0xc0000264u);
    cfg.subnets[0].range_end.s_addr = htonl(0xc0000270u);
    cfg.subnets[0].router.s_addr = htonl(0xc0000201u);
    cfg.subnets[0].ndns = 1;
    cfg.subnets[0].dns[0].s_addr = htonl(0xc0000201u);
    bh_strlcpy(cfg.subnets[0].domain, "lab.example", sizeof(cfg.subnets[0].domain));
    bh_strlcpy(cfg.subnets[0].iface, "br0", sizeof(cfg.subnets[0].iface));
    cfg.subnets[1].net.s_addr = htonl(0xc6336400u);
    cfg.subnets[1].mask.s_addr = htonl(0xffffff00u);
    cfg.subnets[1].range_start.s_addr = htonl(0xc633640au);
    cfg.subnets[1].range_end.s_addr = htonl(0xc633640cu);
    struct bh_dhcp_hooks h = {.decide = decide, .reservation = reservation};
    struct bh_err e;
    if (bh_dhcp_server_new(&cfg, &h, &proxy_srv, &e) || bh_dhcp_server_new(&cfg, &h, &full_srv, &e))
        abort();
}

static void run(struct bh_dhcp_server *s, const struct bh_dhcp_msg *m, enum bh_dhcp_mode mode,
                uint16_t port, bool unicast)
{
    static struct bh_dhcp_out o;
    static uint8_t out[1472];
    /* the source: a client's own port (68, from 0.0.0.0 or ciaddr) or, as
     * some of the input's bits say, a relay's or any program's */
    struct in_addr src = unicast ? m->ciaddr : (struct in_addr){0};
    uint16_t sport = m->xid & 1 ? BH_DHCP_SERVER_PORT : m->xid & 2 ? 40000 : BH_DHCP_CLIENT_PORT;
    if (sport == BH_DHCP_SERVER_PORT)
        src = m->giaddr;
    struct bh_dhcp_in in = {"br0", {htonl(0xc0000201u)}, mode, port, unicast, src, sport};
    bh_dhcp_server_handle(s, m, &in, now, &o);
    if (o.after_commit && o.nchanges == 0)
        abort(); /* an ACK must have something to wait for */
    if (o.seen.s_addr && sport == 40000)
        abort(); /* what any program may send proves no boot */
    if (o.seen.s_addr && o.seen_relayed != (m->giaddr.s_addr != 0))
        abort();
    if (mode == BH_DHCP_PROXY && (o.nchanges || o.r.yiaddr.s_addr || o.r.lease_time))
        abort(); /* proxy mode never hands out addresses */
    if (!o.reply)
        return;
    int n = bh_dhcp_build(m, &o.r, out, sizeof(out));
    size_t n82;
    bh_dhcp_opt(m, BH_OPT_RELAY_AGENT, &n82);
    /* only a relay option too big to echo within the client's limit may
     * make a reply impossible (it is then dropped) */
    if (n < 0 && !(n == BH_ETOOBIG && n82 > 255))
        abort();
    if (n > 0 && (size_t)n > bh_dhcp_reply_limit(m, sizeof(out)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bh_dhcp_msg m;
    static struct bh_boot_client c;
    if (!runs)
        bh_log_set_level(BH_LOG_ERROR);
    if (runs++ % REMAKE_EVERY == 0)
        make();
    if (bh_dhcp_parse(data, size, &m) != BH_DHCP_PARSE_OK)
        return 0;
    bh_dhcp_client_from_msg(&m, &c);
    if (strlen(c.vendor_class) >= sizeof(c.vendor_class) ||
        strlen(c.user_class) >= sizeof(c.user_class))
        abort();
    now += m.secs % 120; /* the clock moves, leases and offers expire */
    bool unicast = m.flags & 1;
    run(proxy_srv, &m, BH_DHCP_PROXY, BH_DHCP_SERVER_PORT, false);
    run(proxy_srv, &m, BH_DHCP_PROXY, BH_PXE_BOOT_PORT, true);
    run(full_srv, &m, BH_DHCP_FULL, BH_DHCP_SERVER_PORT, unicast);
    return 0;
}
