/*
 * serve.c - `bootherd serve`: one process, several loops.
 *
 *   main thread   libuv loop: signals now, the boot services (DHCP, TFTP)
 *                 later; never waits on HTTP handlers or on the database
 *   HTTP workers  libmicrohttpd's thread pool, running the API handlers
 *   hub thread    WebSocket connections (event watchers, agents)
 *
 * SIGTERM/SIGINT: stop accepting, let requests in flight finish (every
 * acknowledged write is already committed), close the store.  SIGHUP:
 * re-read the config file and apply what can change at run time.
 *
 * HTTPS ([http] tls_cert, tls_key): the key is read while still root;
 * `listen` speaks TLS and a second, plain listener (boot_listen) serves
 * booting machines, whose firmware cannot check a certificate.
 */
#include "daemon.h"

#include "api/api.h"
#include "api/ticket.h"
#include "boot/bootsvc.h"
#include "boot/dhcp.h"
#include "boot/wol.h"
#include "config.h"
#include "core/log.h"
#include "core/net.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "http/server.h"
#include "http/ws.h"
#include "image/imagesvc.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

struct flags {
    const char *data, *config, *http, *level, *user;
};

struct serve {
    struct flags fl;
    char abs_data[PATH_MAX], abs_config[PATH_MAX];
    char config_path[PATH_MAX + 32];
    struct bh_config cfg;
    struct bh_api api;
    struct bh_http *http;
    uv_loop_t *loop;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t jobs_tick; /* the job scheduler */
    int lock_fd;          /* BH_LOCK_FILE, locked while this serve runs */
};

#define JOBS_TICK_MS 5000

static void on_jobs_tick(uv_timer_t *t)
{
    bh_api_jobs_tick(t->data);
}

static int apply_flags(struct bh_config *c, const struct flags *fl, struct bh_err *err)
{
    if (fl->data && bh_strlcpy(c->data_dir, fl->data, sizeof(c->data_dir)) >= sizeof(c->data_dir))
        return bh_err_set(err, BH_EINVAL, "data", "--data: path too long");
    if (fl->http) {
        struct sockaddr_storage ss;
        socklen_t len;
        if (bh_net_parse_hostport(fl->http, &ss, &len, err))
            return BH_EINVAL;
        bh_strlcpy(c->http_listen, fl->http, sizeof(c->http_listen));
    }
    if (fl->level && bh_log_parse_level(fl->level, &c->log_level))
        return bh_err_set(err, BH_EINVAL, "log-level",
                          "--log-level must be debug, info, warn or error");
    if (fl->user)
        bh_strlcpy(c->user, fl->user, sizeof(c->user));
    return 0;
}

/* defaults, then the config file, then the flags */
static int load_config(struct serve *s, struct bh_config *out, struct bh_err *err)
{
    bh_config_defaults(out);
    if (s->fl.config) {
        bh_strlcpy(s->config_path, s->fl.config, sizeof(s->config_path));
    } else {
        const char *dir = s->fl.data ? s->fl.data : out->data_dir;
        snprintf(s->config_path, sizeof(s->config_path), "%s/bootherd.conf", dir);
        if (access(s->config_path, F_OK) != 0)
            s->config_path[0] = '\0';
    }
    int rc = s->config_path[0] ? bh_config_load(out, s->config_path, err) : 0;
    return rc ? rc : apply_flags(out, &s->fl, err);
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    bh_log(BH_LOG_INFO, "shutting down", "signal=%s", strsignal(signum));
    uv_stop(s->loop);
}

/* The names of the settings that differ between a and b, except the log
 * level (which a reload applies). */
static void changed_keys(const struct bh_config *a, const struct bh_config *b, char *out,
                         size_t cap)
{
    struct {
        const char *name;
        bool diff;
    } keys[] = {
        {"server.data", strcmp(a->data_dir, b->data_dir) != 0},
        {"server.user", strcmp(a->user, b->user) != 0},
        {"http.listen", strcmp(a->http_listen, b->http_listen) != 0},
        {"http.tls_cert", strcmp(a->http_tls_cert, b->http_tls_cert) != 0},
        {"http.tls_key", strcmp(a->http_tls_key, b->http_tls_key) != 0},
        {"http.boot_listen", strcmp(a->http_boot_listen, b->http_boot_listen) != 0},
        {"http.threads", a->http_threads != b->http_threads},
        {"http.max_body", a->http_max_body != b->http_max_body},
        {"http.timeout", a->http_timeout != b->http_timeout},
        {"http.*_connections", memcmp(a->http_conns, b->http_conns, sizeof(a->http_conns)) != 0},
        {"http.*_per_address",
         memcmp(a->http_per_address, b->http_per_address, sizeof(a->http_per_address)) != 0},
        {"http.pending", a->http_pending != b->http_pending},
        {"http.pending_per_address", a->http_pending_per_address != b->http_pending_per_address},
        {"http.header_timeout", a->http_header_timeout != b->http_header_timeout},
        {"http.body_timeout", a->http_body_timeout != b->http_body_timeout},
        {"http.body_min_rate", a->http_body_min_rate != b->http_body_min_rate},
        {"http.send_min_rate", a->http_send_min_rate != b->http_send_min_rate},
        {"http.ws_ping", a->http_ws_ping != b->http_ws_ping},
        {"http.ws_idle_close", a->http_ws_idle_close != b->http_ws_idle_close},
        {"http.session_idle", a->http_session_idle != b->http_session_idle},
        {"http.session_max", a->http_session_max != b->http_session_max},
        {"http.ui_dir", strcmp(a->http_ui_dir, b->http_ui_dir) != 0},
        {"store.readers", a->store_readers != b->store_readers},
        {"store.busy_timeout_ms", a->busy_timeout_ms != b->busy_timeout_ms},
        {"store.events_keep", a->events_keep != b->events_keep},
    };
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) && n < cap; i++)
        if (keys[i].diff)
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", keys[i].name);
}

static void on_hup(uv_signal_t *h, int signum)
{
    (void)signum;
    struct serve *s = h->data;
    struct bh_config nc;
    struct bh_err e;
    char changed[256];
    if (load_config(s, &nc, &e)) {
        bh_log(BH_LOG_ERROR, "config reload failed; keeping the running config", "err=%s", e.msg);
        return;
    }
    /* the data dir was made absolute at start; compare like with like */
    char abs[PATH_MAX];
    if (realpath(nc.data_dir, abs))
        bh_strlcpy(nc.data_dir, abs, sizeof(nc.data_dir));
    bh_log_set_level(nc.log_level);
    s->cfg.log_level = nc.log_level;
    changed_keys(&s->cfg, &nc, changed, sizeof(changed));
    if (changed[0])
        bh_log(BH_LOG_WARN, "config reloaded; these changes need a restart", "file=%s keys=%s",
               s->config_path[0] ? s->config_path : "(none)", changed);
    else
        bh_log(BH_LOG_INFO, "config reloaded", "file=%s",
               s->config_path[0] ? s->config_path : "(none)");
}

/* after every commit: wake the event watchers and the boot view */
static void on_commit(void *ud, int64_t rev)
{
    (void)rev;
    struct bh_api *api = ud;
    bh_ws_hub_wake(api->hub);
    bh_boot_on_commit(api->boot);
}

/* the port clients reach the API and boot endpoints on */
/* DATA/agent.key signs boot tickets: read it, or make it (mode 0600) */
static int agent_key_load(uint8_t key[BH_AGENT_KEY_LEN], struct bh_err *err)
{
    int fd = open(BH_AGENT_KEY_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        ssize_t n = read(fd, key, BH_AGENT_KEY_LEN);
        close(fd);
        return n == BH_AGENT_KEY_LEN
                   ? 0
                   : bh_err_set(err, BH_EIO, BH_AGENT_KEY_FILE,
                                "%s is damaged (not %d bytes): delete it (boot tickets already "
                                "handed out then stop working)",
                                BH_AGENT_KEY_FILE, BH_AGENT_KEY_LEN);
    }
    if (errno != ENOENT)
        return bh_err_set(err, BH_ESYS, BH_AGENT_KEY_FILE, "%s: %s", BH_AGENT_KEY_FILE,
                          strerror(errno));
    if (RAND_bytes(key, BH_AGENT_KEY_LEN) != 1)
        return bh_err_set(err, BH_ESYS, NULL, "no randomness for the agent key");
    return bh_write_file_atomic(BH_AGENT_KEY_FILE, (const char *)key, BH_AGENT_KEY_LEN, 0600, err);
}

static int port_of(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    int64_t port = 0;
    if (colon)
        bh_parse_i64(colon + 1, 0, 65535, &port);
    return (int)port;
}

/* Descriptors the HTTP limits can take at once, and some for the rest
 * (database, image files, TFTP transfers, the pools' own). */
#define FDS_BESIDES_HTTP 512

static rlim_t fds_needed(const struct bh_config *c)
{
    rlim_t n = FDS_BESIDES_HTTP + (rlim_t)c->http_pending;
    for (int i = 0; i < 3; i++)
        n += (rlim_t)c->http_conns[i];
    return n;
}

/* Every connection is a descriptor: take the hard limit (as root, raise
 * it to what the limits need), before privileges are dropped; say so if
 * the limits can still run out of descriptors. */
static void raise_nofile(const struct bh_config *c)
{
    struct rlimit rl;
    rlim_t need = fds_needed(c);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_max < need && geteuid() == 0) {
        struct rlimit up = {need, need};
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need)
        bh_log(BH_LOG_WARN, "the open-files limit is below what [http] limits allow",
               "limit=%llu need=%llu hint=%s", (unsigned long long)rl.rlim_cur,
               (unsigned long long)need,
               "raise LimitNOFILE= (systemd) or ulimit -n, or lower the [http] connection limits");
}

/* The console's directory, [http] ui_dir or the bootherd executable's
 * directory's web/ (where `make` writes it), opened now: as root, before
 * the working directory moves to the data directory.  A console that is
 * not there leaves the API running; / then says so. */
static void open_console(struct serve *s)
{
    char dir[PATH_MAX];
    s->api.ui_fd = -1;
    s->api.ui_ok = false;
    if (s->cfg.http_ui_dir[0]) {
        bh_strlcpy(dir, s->cfg.http_ui_dir, sizeof(dir));
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        char *slash = n > 0 ? memchr(exe, '/', (size_t)n) : NULL;
        if (!slash)
            return;
        exe[n] = '\0';
        *strrchr(exe, '/') = '\0';
        if (snprintf(dir, sizeof(dir), "%s/web", exe) >= (int)sizeof(dir))
            return;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        bh_log(BH_LOG_INFO, "no web console", "ui_dir=%s err=%s hint=%s", dir, strerror(errno),
               "build it with make, or set [http] ui_dir");
        return;
    }
    s->api.ui_fd = fd;
    s->api.ui_ok = true;
}

static int parse_flags(struct serve *s, int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"http", required_argument, NULL, 'l'},
                                         {"log-level", required_argument, NULL, 'v'},
                                         {"user", required_argument, NULL, 'u'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': s->fl.data = optarg; break;
        case 'c': s->fl.config = optarg; break;
        case 'l': s->fl.http = optarg; break;
        case 'v': s->fl.level = optarg; break;
        case 'u': s->fl.user = optarg; break;
        case 'h':
            printf("usage: bootherd serve [--data DIR] [--config FILE] [--http ADDR:PORT]\n"
                   "                      [--log-level LEVEL] [--user USER]\n"
                   "The config file defaults to DIR/bootherd.conf when it exists.\n");
            return 1;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bootherd serve: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* Write what clients read to find the server: DATA/http.addr (host:port,
 * as always), DATA/http.url, and with TLS DATA/boot.url. */
static void write_addr_files(const char *addr, const char *boot_addr, bool tls)
{
    struct bh_err e;
    char line[BH_ADDR_STRLEN + 16];
    int n = snprintf(line, sizeof(line), "%s\n", addr);
    if (bh_write_file_atomic(BH_ADDR_FILE, line, (size_t)n, 0644, &e))
        bh_log(BH_LOG_WARN, "cannot record the address", "err=%s", e.msg);
    n = snprintf(line, sizeof(line), "%s://%s\n", tls ? "https" : "http", addr);
    if (bh_write_file_atomic(BH_URL_FILE, line, (size_t)n, 0644, &e))
        bh_log(BH_LOG_WARN, "cannot record the address", "err=%s", e.msg);
    n = snprintf(line, sizeof(line), "http://%s\n", boot_addr);
    if (boot_addr[0] && bh_write_file_atomic(BH_BOOT_URL_FILE, line, (size_t)n, 0644, &e))
        bh_log(BH_LOG_WARN, "cannot record the address", "err=%s", e.msg);
}

/* the address a listening socket got (port 0 asks the kernel for one) */
static int local_addr(int fd, char out[BH_ADDR_STRLEN], struct bh_err *err)
{
    if (bh_net_local_addr(fd, out) == 0)
        return 0;
    return bh_err_set(err, BH_ESYS, NULL, "cannot read the listening address: %s", strerror(errno));
}

/* One serve per data directory: two would share a database, overwrite
 * each other's http.url and remove it at exit.  The lock goes with the
 * process (flock), so a kill -9 leaves nothing stale; the file says who
 * holds it. */
static int lock_data(struct serve *s)
{
    s->lock_fd = open(BH_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (s->lock_fd < 0) {
        bh_log(BH_LOG_ERROR, "cannot open the lock file", "data=%s file=%s err=%s", s->cfg.data_dir,
               BH_LOCK_FILE, strerror(errno));
        return 1;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(s->lock_fd, pid, sizeof(pid) - 1, 0);
        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        bh_log(BH_LOG_ERROR, "another bootherd serve runs on this data directory", "data=%s pid=%s",
               s->cfg.data_dir, pid[0] ? pid : "?");
        close(s->lock_fd);
        s->lock_fd = -1;
        return 1;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) < 0 || pwrite(s->lock_fd, line, (size_t)n, 0) != n)
        bh_log(BH_LOG_WARN, "cannot write the lock file", "file=%s err=%s", BH_LOCK_FILE,
               strerror(errno));
    return 0;
}

static int run(struct serve *s)
{
    struct bh_err e;
    int listen_fd = -1, boot_fd = -1;
    bool tls = bh_config_tls(&s->cfg);
    struct bh_tls_pem pem = {0};
    struct bh_tls_info tinfo;
    char path[PATH_MAX + 32], addr[BH_ADDR_STRLEN], boot_addr[BH_ADDR_STRLEN] = "";
    char boot_listen[128] = "";
    struct bh_store *store = NULL;
    struct bh_ws_hub *hub = NULL;

    open_console(s);
    /* Work inside the data directory with relative paths, so the daemon
     * keeps reaching its files after dropping root even when a parent
     * directory is closed to the unprivileged user. */
    if (chdir(s->cfg.data_dir) < 0) {
        bh_log(BH_LOG_ERROR, "cannot enter the data directory", "data=%s err=%s", s->cfg.data_dir,
               strerror(errno));
        if (s->api.ui_ok)
            close(s->api.ui_fd);
        return 1;
    }
    snprintf(path, sizeof(path), "%s", BH_DB_FILE);
    if (access(path, F_OK) != 0) {
        bh_log(BH_LOG_ERROR, "not initialized", "data=%s hint=%s", s->cfg.data_dir,
               "run: bootherd init --data DIR");
        if (s->api.ui_ok)
            close(s->api.ui_fd);
        return 1;
    }
    if (lock_data(s)) {
        if (s->api.ui_ok)
            close(s->api.ui_fd);
        return 1;
    }
    /* the key may be root's alone: read it now (paths relative to DATA) */
    if (tls && (bh_tls_load(&s->cfg, &pem, &tinfo, &e) ||
                bh_config_boot_listen(&s->cfg, boot_listen, sizeof(boot_listen), &e))) {
        bh_log(BH_LOG_ERROR, "cannot start", "err=%s", e.msg);
        bh_tls_pem_free(&pem);
        return 1;
    }
    raise_nofile(&s->cfg);
    signal(SIGPIPE, SIG_IGN);
    /* Bind and open the database while still privileged: SQLite opens its
     * files by absolute path, which the service user may not be able to
     * walk.  Then leave root for good. */
    struct bh_store_config sc = {path, (int)s->cfg.store_readers, (int)s->cfg.busy_timeout_ms,
                                 s->cfg.events_keep};
    struct bh_priv priv;
    struct bh_boot *boot = NULL;
    struct bh_ws_config wsc = {(unsigned)s->cfg.http_ws_ping, (unsigned)s->cfg.http_ws_idle_close};
    /* DHCP and TFTP bind privileged ports: they start before root is left */
    const char *dbs[] = {BH_DB_FILE, s->cfg.boot.nifaces ? BH_DHCP_LEASE_DB : NULL, NULL};
    if (bh_priv_lookup(s->cfg.user, &priv, &e) || bh_priv_hand_over(&priv, ".", dbs, &e) ||
        bh_net_listen_tcp(s->cfg.http_listen, 512, &listen_fd, &e) ||
        (boot_listen[0] && bh_net_listen_tcp(boot_listen, 512, &boot_fd, &e)) ||
        bh_store_open(&sc, &store, &e) || local_addr(listen_fd, addr, &e) ||
        (boot_fd >= 0 && local_addr(boot_fd, boot_addr, &e)) ||
        bh_boot_start(s->loop, &s->cfg.boot, store, port_of(boot_fd >= 0 ? boot_addr : addr), &boot,
                      &e) ||
        bh_priv_drop(&priv, &e) || bh_ws_hub_start(&wsc, bh_api_events_wake, &s->api, &hub, &e)) {
        bh_log(BH_LOG_ERROR, "cannot start", "err=%s", e.msg);
        bh_tls_pem_free(&pem);
        if (listen_fd >= 0)
            close(listen_fd);
        if (boot_fd >= 0)
            close(boot_fd);
        if (boot) {
            bh_boot_stop(boot);
            uv_run(s->loop, UV_RUN_NOWAIT);
            bh_boot_free(boot);
        }
        bh_store_close(store);
        if (s->api.ui_ok)
            close(s->api.ui_fd);
        return 1;
    }
    s->api.store = store;
    s->api.session_idle_ms = s->cfg.http_session_idle * 1000;
    s->api.session_max_ms = s->cfg.http_session_max * 1000;
    s->api.login_limit = bh_login_limit_new();
    s->api.hub = hub;
    s->api.boot = boot;
    s->api.started_ms = bh_wall_ms();
    pthread_mutex_init(&s->api.seen_mu, NULL);
    s->api.agents_seen = json_object();
    bh_store_set_notify(store, on_commit, &s->api);
    /* as the service user, so that what it creates is the service user's;
     * a store that cannot open leaves the rest of the server running */
    if (bh_imagesvc_open(BH_IMAGES_DIR, store, &s->api.images, &e))
        bh_log(BH_LOG_ERROR, "image store unavailable", "root=%s err=%s", BH_IMAGES_DIR, e.msg);
    if (agent_key_load(s->api.agent_key, &e) == 0)
        s->api.agent_key_ok = true;
    else
        bh_log(BH_LOG_ERROR, "client agents unavailable", "err=%s", e.msg);
    /* Wake-on-LAN: its own sender thread; wakes become events on the host */
    struct bh_wol_config wc = {s->cfg.wol_port, s->cfg.wol_stagger_ms};
    if (bh_wol_start(&wc, bh_boot_work(boot), &s->api.wol, &e))
        bh_log(BH_LOG_ERROR, "wake-on-lan unavailable", "err=%s", e.msg);

    size_t nroutes;
    struct bh_http_config hc = {
        .listen_fd = listen_fd,
        .tls_cert = pem.cert,
        .tls_key = pem.key,
        .boot_fd = boot_fd,
        .threads = (unsigned)s->cfg.http_threads,
        .max_body = (size_t)s->cfg.http_max_body,
        .conn_timeout = (unsigned)s->cfg.http_timeout,
        .body_timeout = (unsigned)s->cfg.http_body_timeout,
        .body_min_rate = (unsigned)s->cfg.http_body_min_rate,
        .send_min_rate = (unsigned)s->cfg.http_send_min_rate,
        .routes = bh_api_routes(&nroutes),
        .authenticate = bh_api_authenticate,
        .ud = &s->api,
    };
    hc.nroutes = nroutes;
    _Static_assert(BH_CONN_API == 0 && BH_CONN_BOOT == 1 && BH_CONN_WS == 2,
                   "bh_config's http arrays are indexed api, boot, ws");
    for (int c = 0; c < BH_CONN__COUNT; c++) {
        hc.limits.budget[c] = (unsigned)s->cfg.http_conns[c];
        hc.limits.per_address[c] = (unsigned)s->cfg.http_per_address[c];
    }
    hc.limits.pending = (unsigned)s->cfg.http_pending;
    hc.limits.pending_per_address = (unsigned)s->cfg.http_pending_per_address;
    hc.limits.header_timeout = (unsigned)s->cfg.http_header_timeout;
    int rc = 1;
    int hrc = bh_http_start(&hc, &s->http, &e);
    bh_tls_pem_free(&pem); /* the server keeps its own copy */
    if (hrc) {
        bh_log(BH_LOG_ERROR, "cannot start", "err=%s", e.msg);
        close(listen_fd);
        if (boot_fd >= 0)
            close(boot_fd);
        goto out;
    }
    atomic_store(&s->api.http, s->http);
    write_addr_files(addr, boot_addr, tls);
    if (tls)
        bh_log(BH_LOG_INFO, "bootherd ready",
               "version=%s api=https://%s boot=%s%s tls_subject=%s tls_pin=%s data=%s "
               "revision=%lld",
               BH_VERSION, addr, boot_addr[0] ? "http://" : "", boot_addr[0] ? boot_addr : "off",
               tinfo.subject, tinfo.pin, s->cfg.data_dir, (long long)bh_store_revision(store));
    else
        bh_log(BH_LOG_INFO, "bootherd ready", "version=%s api=http://%s data=%s revision=%lld",
               BH_VERSION, addr, s->cfg.data_dir, (long long)bh_store_revision(store));

    uv_signal_init(s->loop, &s->sigterm);
    uv_signal_init(s->loop, &s->sigint);
    uv_signal_init(s->loop, &s->sighup);
    s->sigterm.data = s->sigint.data = s->sighup.data = s;
    uv_signal_start(&s->sigterm, on_stop_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_stop_signal, SIGINT);
    uv_signal_start(&s->sighup, on_hup, SIGHUP);
    uv_timer_init(s->loop, &s->jobs_tick);
    s->jobs_tick.data = &s->api;
    uv_timer_start(&s->jobs_tick, on_jobs_tick, JOBS_TICK_MS, JOBS_TICK_MS);
    uv_run(s->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&s->jobs_tick, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
    unlink(BH_ADDR_FILE);
    unlink(BH_URL_FILE);
    unlink(BH_BOOT_URL_FILE);
    rc = 0;
out:
    /* order: the boot services stop answering; the watchers go (they hold
     * upgraded HTTP connections); the HTTP server finishes the requests in
     * flight; the boot worker writes what is queued; the store closes */
    bh_boot_stop(boot);
    uv_run(s->loop, UV_RUN_DEFAULT); /* close callbacks of DHCP, TFTP, signals */
    bh_ws_hub_stop(hub);
    bh_http_stop(s->http);
    bh_wol_stop(s->api.wol); /* before the boot worker it reports to */
    bh_boot_free(boot);
    bh_imagesvc_close(s->api.images);
    bh_store_set_notify(store, NULL, NULL);
    bh_ws_hub_free(hub);
    json_decref(s->api.agents_seen);
    pthread_mutex_destroy(&s->api.seen_mu);
    bh_login_limit_free(s->api.login_limit);
    if (s->api.ui_ok)
        close(s->api.ui_fd);
    bh_store_close(store);
    close(s->lock_fd); /* last: the store is closed, another serve may start */
    if (rc == 0)
        bh_log(BH_LOG_INFO, "stopped", "data=%s", s->cfg.data_dir);
    return rc;
}

int bh_cmd_serve(int argc, char **argv)
{
    struct serve s;
    struct bh_err e;
    memset(&s, 0, sizeof(s));
    int rc = parse_flags(&s, argc, argv);
    if (rc)
        return rc == 1 ? 0 : rc;
    /* the daemon chdir()s into its data directory: make paths absolute */
    if (s.fl.data && realpath(s.fl.data, s.abs_data))
        s.fl.data = s.abs_data;
    if (s.fl.config && realpath(s.fl.config, s.abs_config))
        s.fl.config = s.abs_config;
    if (load_config(&s, &s.cfg, &e)) {
        fprintf(stderr, "bootherd serve: %s\n", e.msg);
        return 2;
    }
    /* pin what a SIGHUP will read again: the same file and data directory,
     * whatever the working directory is by then */
    if (!s.fl.data && realpath(s.cfg.data_dir, s.abs_data))
        s.fl.data = s.abs_data;
    if (s.fl.data)
        bh_strlcpy(s.cfg.data_dir, s.fl.data, sizeof(s.cfg.data_dir));
    if (s.config_path[0] && !s.fl.config && realpath(s.config_path, s.abs_config))
        s.fl.config = s.abs_config;
    bh_log_set_level(s.cfg.log_level);
    s.loop = uv_default_loop();
    rc = run(&s);
    uv_loop_close(s.loop);
    return rc;
}
