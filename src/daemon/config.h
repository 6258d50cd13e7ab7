/*
 * config.h - bootherd.conf: the daemon's settings.
 *
 *   [server]  data = DIR          user = bootherd
 *   [http]    listen = 127.0.0.1:8080   threads = 4   max_body = 1M   timeout = 60
 *             api_connections = 1024  boot_connections = 1024  ws_connections = 2048
 *             api_per_address = 64  boot_per_address = 32  ws_per_address = 32
 *             pending = 1024  pending_per_address = 32  header_timeout = 10
 *             body_timeout = 20  body_min_rate = 500  ws_ping = 30  ws_idle_close = 90
 *             session_idle = 1800  session_max = 43200  ui_dir = DIR
 *             tls_cert = tls/cert.pem  tls_key = tls/key.pem  (both: HTTPS on `listen`)
 *             boot_listen = 0.0.0.0:8081 | off  (plain HTTP for booting machines, TLS on)
 *   [log]     level = info
 *   [store]   readers = 8   busy_timeout_ms = 5000   events_keep = 100000
 *   [boot]    root, server_ip, http_base, unknown_hosts, offline_after, default_profile, snponly
 *   [dhcp]    interfaces = eth0, br1:full   mode = proxy   lease_time = 3600   commit_ms = 5
 *   [subnet]  (repeated) network, range, router, dns, domain, lease_time, interface
 *   [tftp]    listen = 0.0.0.0:69   max_transfers, timeout_ms, retries, blksize_max,
 *             windowsize_max
 *   [wol]     port = 9   stagger_ms = 200
 *
 * Command-line flags override the file.  Unknown sections and keys are
 * errors naming the file, line and key.
 */
#ifndef BH_DAEMON_CONFIG_H
#define BH_DAEMON_CONFIG_H

#include "boot/boot.h"
#include "core/err.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bh_config {
    char data_dir[PATH_MAX];
    char user[64];
    char http_listen[128];
    /* HTTPS (docs/admin-guide.md "HTTPS"): PEM paths, relative to the data
     * directory allowed; both empty = plain HTTP */
    char http_tls_cert[PATH_MAX];
    char http_tls_key[PATH_MAX];
    /* with TLS: the plain listener for booting machines; "" = the host of
     * http_listen, port BH_BOOT_LISTEN_PORT; "off" = none */
    char http_boot_listen[128];
    int64_t http_threads;
    uint64_t http_max_body;
    int64_t http_timeout;
    /* connection limits (the front door, src/http/front.h) */
    int64_t http_conns[3];       /* api, boot, ws: open connections */
    int64_t http_per_address[3]; /* api, boot, ws: per client address; 0 = no limit */
    int64_t http_pending, http_pending_per_address;
    int64_t http_header_timeout, http_body_timeout;
    uint64_t http_body_min_rate; /* bytes per second */
    uint64_t http_send_min_rate; /* bytes per second */
    int64_t http_ws_ping, http_ws_idle_close;
    /* browser sessions: seconds without a request, and in all */
    int64_t http_session_idle, http_session_max;
    char http_ui_dir[PATH_MAX]; /* the console's files; "": DIR-OF-bootherd/web */
    int log_level;
    int64_t store_readers;
    int64_t busy_timeout_ms;
    int64_t events_keep;
    struct bh_boot_config boot;
    /* [wol] */
    int64_t wol_port;
    int64_t wol_stagger_ms;
};

/* boot_listen's port when not given */
#define BH_BOOT_LISTEN_PORT 8081

void bh_config_defaults(struct bh_config *c);
/* Whether [http] tls_cert and tls_key are set. */
bool bh_config_tls(const struct bh_config *c);
/* The plain boot listener's address with TLS on: boot_listen, or the host
 * of listen with port BH_BOOT_LISTEN_PORT; "" when it is off.  BH_EINVAL
 * when the default would be the port `listen` has. */
int bh_config_boot_listen(const struct bh_config *c, char *out, size_t cap, struct bh_err *err);
/* Read `path` on top of what c holds. */
int bh_config_load(struct bh_config *c, const char *path, struct bh_err *err);
/* Parse text (for tests and fuzzing); fname is used in messages. */
int bh_config_parse(struct bh_config *c, const char *text, size_t len, const char *fname,
                    struct bh_err *err);

#endif
