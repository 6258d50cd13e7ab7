/*
 * tftpd_cmd.c - `bootherd tftpd`: the TFTP server alone, the same code as
 * in `serve`, for labs and benchmarks.
 *
 *   bootherd tftpd --root DIR --listen ADDR:PORT [--max-transfers N]
 *       [--timeout-ms N] [--retries N] [--blksize-max N] [--windowsize-max N]
 *       [--log-level L] [--user U]
 *
 * Binds, opens the root, then (if started as root) becomes the service user:
 * the files only need to be readable by it.  SIGTERM/SIGINT stop it cleanly
 * (exit 0).  One info line per transfer.
 */
#include "daemon.h"

#include "boot/tftp.h"
#include "core/log.h"
#include "core/net.h"
#include "core/str.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#define USAGE                                                                                      \
    "usage: bootherd tftpd --root DIR --listen ADDR:PORT [--max-transfers N]\n"                    \
    "         [--timeout-ms N] [--retries N] [--blksize-max N] [--windowsize-max N]\n"             \
    "         [--log-level debug|info|warn|error] [--user USER]\n"

struct tftpd {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    struct bh_tftp *tftp;
};

static void on_transfer(void *ud, const struct bh_tftp_event *r)
{
    (void)ud;
    char addr[BH_ADDR_STRLEN];
    bh_net_format((const struct sockaddr *)&r->client, addr);
    double ms = (double)r->nanos / 1e6;
    bh_log(BH_LOG_INFO, "tftp transfer",
           "client=%s path=%s ok=%s bytes=%llu ms=%.1f retransmits=%u blksize=%u windowsize=%u "
           "error_code=%d error=%s",
           addr, r->path, r->ok ? "true" : "false", (unsigned long long)r->bytes, ms,
           r->retransmits, r->blksize, r->windowsize, r->error_code, r->error);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct tftpd *d = h->data;
    bh_log(BH_LOG_INFO, "shutting down", "signal=%s", strsignal(signum));
    bh_tftp_stop(d->tftp);
    uv_close((uv_handle_t *)&d->sigterm, NULL);
    uv_close((uv_handle_t *)&d->sigint, NULL);
}

/* One descriptor per transfer plus the shared files: lift the soft limit
 * on open files (often 1024) towards the hard one. */
static void raise_nofile(int64_t transfers)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t want = (rlim_t)transfers * 2 + 64;
    if (rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &rl);
}

/* A bounded integer flag into *out. */
static int int_flag(const char *name, const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (bh_parse_i64(s, min, max, out) == 0)
        return 0;
    fprintf(stderr, "bootherd tftpd: --%s must be an integer in %lld..%lld\n", name, (long long)min,
            (long long)max);
    return -1;
}

static int parse_flags(int argc, char **argv, struct bh_boot_config *c, const char **user)
{
    enum { F_MAXT = 256, F_TMO, F_RETR, F_BLK, F_WIN, F_LEVEL, F_USER };
    static const struct option opts[] = {
        {"root", required_argument, NULL, 'r'},
        {"listen", required_argument, NULL, 'l'},
        {"max-transfers", required_argument, NULL, F_MAXT},
        {"timeout-ms", required_argument, NULL, F_TMO},
        {"retries", required_argument, NULL, F_RETR},
        {"blksize-max", required_argument, NULL, F_BLK},
        {"windowsize-max", required_argument, NULL, F_WIN},
        {"log-level", required_argument, NULL, F_LEVEL},
        {"user", required_argument, NULL, F_USER},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o, level, rc = 0;
    optind = 1;
    /* the ranges are those of the [tftp] settings in bootherd.conf */
    while (rc == 0 && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            if (bh_strlcpy(c->root, optarg, sizeof(c->root)) >= sizeof(c->root))
                rc = -1;
            break;
        case 'l':
            if (bh_strlcpy(c->tftp_listen, optarg, sizeof(c->tftp_listen)) >=
                sizeof(c->tftp_listen))
                rc = -1;
            break;
        case F_MAXT:
            rc = int_flag("max-transfers", optarg, 1, 100000, &c->tftp_max_transfers);
            break;
        case F_TMO: rc = int_flag("timeout-ms", optarg, 50, 60000, &c->tftp_timeout_ms); break;
        case F_RETR: rc = int_flag("retries", optarg, 1, 100, &c->tftp_retries); break;
        case F_BLK: rc = int_flag("blksize-max", optarg, 512, 65464, &c->tftp_blksize_max); break;
        case F_WIN: rc = int_flag("windowsize-max", optarg, 1, 64, &c->tftp_windowsize_max); break;
        case F_LEVEL:
            if (bh_log_parse_level(optarg, &level)) {
                fprintf(stderr, "bootherd tftpd: --log-level must be debug, info, warn or error\n");
                rc = -1;
            } else {
                bh_log_set_level(level);
            }
            break;
        case F_USER: *user = optarg; break;
        case 'h': fputs(USAGE, stdout); return 1;
        default: rc = -1; break;
        }
    }
    if (rc == 0 && (optind != argc || !c->root[0] || !c->tftp_listen[0]))
        rc = -1;
    if (rc)
        fputs(USAGE, stderr);
    return rc;
}

int bh_cmd_tftpd(int argc, char **argv)
{
    struct bh_boot_config cfg;
    const char *user = NULL;
    bh_boot_config_defaults(&cfg);
    cfg.root[0] = '\0';
    int prc = parse_flags(argc, argv, &cfg, &user);
    if (prc)
        return prc > 0 ? 0 : 2;

    struct tftpd d = {0};
    struct bh_err e = {0};
    struct bh_priv priv;
    struct bh_tftp_hooks hooks = {.on_transfer = on_transfer, .ud = &d};
    raise_nofile(cfg.tftp_max_transfers);
    uv_loop_init(&d.loop);
    int rc = bh_priv_lookup(user, &priv, &e);
    if (!rc)
        rc = bh_tftp_start(&d.loop, &cfg, &hooks, &d.tftp, &e);
    if (!rc)
        rc = bh_priv_drop(&priv, &e);
    if (rc) {
        bh_log(BH_LOG_ERROR, "tftpd failed to start", "err=%s", e.msg);
        if (d.tftp) {
            bh_tftp_stop(d.tftp);
            uv_run(&d.loop, UV_RUN_DEFAULT);
            bh_tftp_free(d.tftp);
        }
        uv_loop_close(&d.loop);
        return 1;
    }
    uv_signal_init(&d.loop, &d.sigterm);
    uv_signal_init(&d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    /* runs until a signal stopped the server and every handle is closed */
    uv_run(&d.loop, UV_RUN_DEFAULT);
    struct bh_tftp_stats st;
    bh_tftp_get_stats(d.tftp, &st);
#define KV(f, sample, type, help)  " " #f "=%llu"
#define ARG(f, sample, type, help) , (unsigned long long)st.f
    bh_log(BH_LOG_INFO, "tftp totals", BH_TFTP_STATS(KV) BH_TFTP_STATS(ARG));
#undef KV
#undef ARG
    bh_tftp_free(d.tftp);
    int crc = uv_loop_close(&d.loop);
    if (crc)
        bh_log(BH_LOG_ERROR, "tftpd loop not clean at exit", "err=%s", uv_strerror(crc));
    bh_log(BH_LOG_INFO, "tftpd stopped", "clean=%s", crc ? "false" : "true");
    return crc ? 1 : 0;
}
