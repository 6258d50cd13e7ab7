/*
 * dhcpd_cmd.c - `bootherd dhcpd`: the DHCP server alone, for labs and
 * benchmarks.  Same code as in `bootherd serve`, with a built-in boot
 * policy by client type instead of the host database, and no
 * reservations.
 *
 *   bootherd dhcpd --config FILE [--data DIR] [--log-level L]
 *
 * The config file is bootherd.conf ([dhcp], [subnet], [boot]).  Leases go
 * to DIR/leases.db (DIR defaults to the current directory).  SIGTERM or
 * SIGINT: commit what is pending, send the replies that waited for it,
 * exit 0.  SIGUSR1: log the counters.
 */
#include "daemon.h"

#include "boot/dhcp.h"
#include "config.h"
#include "core/log.h"
#include "core/str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define HTTP_PORT 8080

struct dhcpd {
    struct bh_config cfg;
    struct bh_dhcp *dhcp;
    uv_loop_t loop;
    uv_signal_t sigterm, sigint, sigusr1;
};

/* BIOS -> undionly.kpxe, UEFI -> iPXE for its architecture, UEFI HTTP boot
 * -> iPXE over HTTP, iPXE -> its script, Raspberry Pi -> its own kind. */
static void decide(void *ud, const struct bh_boot_client *c, struct bh_boot_decision *d)
{
    const struct bh_boot_config *b = ud;
    struct in_addr server = c->iface_addr;
    if (b->server_ip[0])
        inet_pton(AF_INET, b->server_ip, &server);
    char ip[INET_ADDRSTRLEN], base[300];
    inet_ntop(AF_INET, &server, ip, sizeof(ip));
    if (b->http_base[0])
        snprintf(base, sizeof(base), "%s", b->http_base);
    else
        snprintf(base, sizeof(base), "http://%s:%d", ip, HTTP_PORT);
    d->next_server = server;
    const char *file = NULL, *why = NULL;
    if (c->rpi) {
        d->kind = BH_BOOT_RPI;
        why = "rpi";
        file = "";
    } else if (c->ipxe) {
        d->kind = BH_BOOT_SCRIPT;
        why = "ipxe";
        if ((size_t)snprintf(d->filename, sizeof(d->filename), "%s/boot/boot.ipxe", base) >=
            sizeof(d->filename))
            d->kind = BH_BOOT_NONE, why = "URL too long";
    } else if (c->http) {
        d->kind = BH_BOOT_HTTP;
        why = "http";
        if ((size_t)snprintf(d->filename, sizeof(d->filename), "%s/boot/%s", base,
                             c->arch == BH_ARCH_HTTP_ARM64 ? "ipxe-arm64.efi" : "ipxe.efi") >=
            sizeof(d->filename))
            d->kind = BH_BOOT_NONE, why = "URL too long";
    } else if (c->pxe) {
        d->kind = BH_BOOT_TFTP;
        switch (c->arch) {
        case BH_ARCH_BIOS:
        case BH_ARCH_NONE: file = "undionly.kpxe", why = "bios"; break;
        case BH_ARCH_EFI_X64:
        case BH_ARCH_EFI_BC: file = b->snponly ? "snponly.efi" : "ipxe.efi", why = "efi64"; break;
        case BH_ARCH_EFI_ARM64: file = "ipxe-arm64.efi", why = "efiarm64"; break;
        default: d->kind = BH_BOOT_NONE, why = "unsupported arch"; break;
        }
    } else {
        d->kind = BH_BOOT_NONE;
        why = "not a boot client";
    }
    if (file)
        bh_strlcpy(d->filename, file, sizeof(d->filename));
    bh_strlcpy(d->why, why, sizeof(d->why));
}

static void on_event(void *ud, const struct bh_boot_client *c, const struct bh_dhcp_event *ev)
{
    (void)ud;
    char ip[INET_ADDRSTRLEN] = "";
    if (ev->ip.s_addr)
        inet_ntop(AF_INET, &ev->ip, ip, sizeof(ip));
    bh_log(BH_LOG_DEBUG, "dhcp event", "type=%s mac=%s ip=%s iface=%s file=%s", ev->type,
           c->mac_str, ip, c->iface, ev->file);
}

static void log_stats(struct dhcpd *s)
{
    struct bh_dhcp_stats st;
    bh_dhcp_get_stats(s->dhcp, &st);
#define KV(f, sample, type, help)  " " #f "=%llu"
#define ARG(f, sample, type, help) , (unsigned long long)st.f
    bh_log(BH_LOG_INFO, "dhcp stats", BH_DHCP_STATS(KV) BH_DHCP_STATS(ARG));
#undef KV
#undef ARG
}

static void on_usr1(uv_signal_t *h, int signum)
{
    (void)signum;
    log_stats(h->data);
}

static void on_stop(uv_signal_t *h, int signum)
{
    struct dhcpd *s = h->data;
    bh_log(BH_LOG_INFO, "shutting down", "signal=%s", strsignal(signum));
    bh_dhcp_stop(s->dhcp);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigusr1, NULL);
}

static int usage(FILE *f, int rc)
{
    fprintf(f,
            "usage: bootherd dhcpd --config FILE [--data DIR] [--log-level LEVEL]\n"
            "The DHCP server alone ([dhcp], [subnet] and [boot] of FILE), with a built-in\n"
            "boot policy; leases in DIR/" BH_DHCP_LEASE_DB " (DIR defaults to the current one).\n");
    return rc;
}

int bh_cmd_dhcpd(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"data", required_argument, NULL, 'd'},
                                         {"log-level", required_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *data = ".", *level = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': data = optarg; break;
        case 'v': level = optarg; break;
        case 'h': return usage(stdout, 0);
        default: return usage(stderr, 2);
        }
    }
    if (!config || optind < argc)
        return usage(stderr, 2);

    static struct dhcpd s; /* large (the config); one per process */
    struct bh_err e;
    bh_config_defaults(&s.cfg);
    if (bh_config_load(&s.cfg, config, &e)) {
        fprintf(stderr, "bootherd dhcpd: %s\n", e.msg);
        return 2;
    }
    int lvl = s.cfg.log_level;
    if (level && bh_log_parse_level(level, &lvl)) {
        fprintf(stderr, "bootherd dhcpd: --log-level must be debug, info, warn or error\n");
        return 2;
    }
    bh_log_set_level(lvl);
    if (!s.cfg.boot.nifaces) {
        fprintf(stderr, "bootherd dhcpd: %s lists no [dhcp] interfaces\n", config);
        return 2;
    }
    if (chdir(data) < 0) {
        bh_log(BH_LOG_ERROR, "cannot enter the data directory", "data=%s err=%s", data,
               strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    struct bh_priv priv;
    /* events only feed debug lines here: without them no JSON is built */
    struct bh_dhcp_hooks hooks = {
        .decide = decide, .on_event = lvl == BH_LOG_DEBUG ? on_event : NULL, .ud = &s.cfg.boot};
    uv_loop_init(&s.loop);
    static const char *const dbs[] = {BH_DHCP_LEASE_DB, NULL};
    if (bh_priv_lookup(s.cfg.user, &priv, &e) || bh_priv_hand_over(&priv, ".", dbs, &e) ||
        bh_dhcp_start(&s.loop, &s.cfg.boot, BH_DHCP_LEASE_DB, &hooks, &s.dhcp, &e) ||
        bh_priv_drop(&priv, &e)) {
        bh_log(BH_LOG_ERROR, "cannot start", "err=%s", e.msg);
        if (s.dhcp) {
            bh_dhcp_stop(s.dhcp);
            uv_run(&s.loop, UV_RUN_DEFAULT);
            bh_dhcp_free(s.dhcp);
        }
        uv_loop_close(&s.loop);
        return 1;
    }
    uv_signal_init(&s.loop, &s.sigterm);
    uv_signal_init(&s.loop, &s.sigint);
    uv_signal_init(&s.loop, &s.sigusr1);
    s.sigterm.data = s.sigint.data = s.sigusr1.data = &s;
    uv_signal_start(&s.sigterm, on_stop, SIGTERM);
    uv_signal_start(&s.sigint, on_stop, SIGINT);
    uv_signal_start(&s.sigusr1, on_usr1, SIGUSR1);
    bh_log(BH_LOG_INFO, "dhcpd ready", "config=%s data=%s", config, data);
    uv_run(&s.loop, UV_RUN_DEFAULT);
    log_stats(&s);
    bh_dhcp_free(s.dhcp);
    int rc = uv_loop_close(&s.loop);
    if (rc)
        bh_log(BH_LOG_WARN, "loop closed with handles open", "err=%s", uv_strerror(rc));
    return 0;
}
