/*
 * bootsvc.c - the boot services of `bootherd serve`: wiring DHCP and TFTP to
 * the boot view, the boot policy, the generated files and the boot worker.
 *
 * Everything here that DHCP or TFTP calls runs on the boot loop and answers
 * from memory; what must reach the database goes to the boot worker.
 */
#include "bootsvc.h"

#include "bootpolicy.h"

#include "core/log.h"
#include "core/net.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "dhcp.h"
#include "tftp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IPMAP_MAX 65536

struct bh_boot {
    struct bh_boot_config cfg;
    struct bh_store *store;
    struct bh_bootview *view;
    struct bh_bootwork *work;
    struct bh_tftp *tftp;
    struct bh_dhcp *dhcp;
    int root_fd;
    int http_port;
    /* client IPv4 -> MAC, learned from DHCP, so a TFTP or HTTP fetch can be
     * put on the right host's timeline */
    pthread_mutex_t ipmu;
    json_t *ipmap;
    json_t *local_once;         /* MAC -> until (ms): the next script boots the disk */
    struct bh_bootproof *proof; /* who is booting where: boot tickets */
};

struct bh_bootview *bh_boot_view(struct bh_boot *b)
{
    return b->view;
}

struct bh_bootwork *bh_boot_work(struct bh_boot *b)
{
    return b->work;
}

int bh_boot_root_fd(const struct bh_boot *b)
{
    return b->root_fd;
}

int bh_boot_http_port(const struct bh_boot *b)
{
    return b->http_port;
}

void bh_boot_on_commit(struct bh_boot *b)
{
    if (b && b->work)
        bh_bootwork_refresh(b->work);
}

const struct bh_boot_config *bh_boot_config_of(const struct bh_boot *b)
{
    return &b->cfg;
}

static enum bh_dhcp_mode mode_now(struct bh_boot *b, const char *iface, enum bh_dhcp_mode m)
{
    json_t *s = bh_bootview_settings(b->view);
    const char *v = json_string_value(json_object_get(json_object_get(s, "dhcp_modes"), iface));
    if (v)
        m = !strcmp(v, "full") ? BH_DHCP_FULL : !strcmp(v, "proxy") ? BH_DHCP_PROXY : BH_DHCP_OFF;
    json_decref(s);
    return m;
}

enum bh_dhcp_mode bh_boot_iface_mode(struct bh_boot *b, int i)
{
    if (i < 0 || i >= b->cfg.nifaces)
        return BH_DHCP_OFF;
    return mode_now(b, b->cfg.ifaces[i].name, b->cfg.ifaces[i].mode);
}

void bh_boot_settings(struct bh_boot *b, struct bh_boot_settings *out)
{
    const struct bh_boot_config *c = &b->cfg;
    out->unknown_hosts = c->unknown_hosts;
    bh_strlcpy(out->default_profile, c->default_profile, sizeof(out->default_profile));
    out->offline_after = c->offline_after;
    out->snponly = c->snponly;
    bh_strlcpy(out->server_ip, c->server_ip, sizeof(out->server_ip));
    bh_strlcpy(out->http_base, c->http_base, sizeof(out->http_base));
    /* the settings object wins where it says something */
    json_t *s = bh_bootview_settings(b->view);
    const char *v;
    if ((v = json_string_value(json_object_get(s, "unknown_hosts"))))
        out->unknown_hosts = !strcmp(v, "ignore")         ? BH_UNKNOWN_IGNORE
                             : !strcmp(v, "boot-default") ? BH_UNKNOWN_BOOT_DEFAULT
                                                          : BH_UNKNOWN_REGISTER;
    if ((v = json_string_value(json_object_get(s, "default_profile"))))
        bh_strlcpy(out->default_profile, v, sizeof(out->default_profile));
    json_int_t oa = json_integer_value(json_object_get(s, "offline_after"));
    if (oa >= BH_OFFLINE_AFTER_MIN && oa <= BH_OFFLINE_AFTER_MAX) /* else as the config says */
        out->offline_after = oa;
    if (json_is_boolean(json_object_get(s, "snponly")))
        out->snponly = json_is_true(json_object_get(s, "snponly"));
    if ((v = json_string_value(json_object_get(s, "server_ip"))))
        bh_strlcpy(out->server_ip, v, sizeof(out->server_ip));
    if ((v = json_string_value(json_object_get(s, "http_base"))))
        bh_strlcpy(out->http_base, v, sizeof(out->http_base));
    json_decref(s);
}

/* ---- the narrow view the policy and the scripts get ---------------------- */

static bool take_local_once(void *ud, const char *mac)
{
    return bh_boot_take_local_once(ud, mac);
}

static void ctx_of(struct bh_boot *b, struct bh_bootctx *x)
{
    memset(x, 0, sizeof(*x));
    x->view = b->view;
    x->work = b->work;
    bh_boot_settings(b, &x->settings);
    x->root_fd = b->root_fd;
    x->http_port = b->http_port;
    x->take_local_once = take_local_once;
    x->ud = b;
}

void bh_boot_decide(struct bh_boot *b, const struct bh_boot_client *c, struct bh_boot_decision *d)
{
    struct bh_bootctx x;
    ctx_of(b, &x);
    bh_bootpolicy_decide(&x, c, d);
}

int bh_boot_ipxe_script(struct bh_boot *b, const struct bh_script_req *q, struct bh_buf *out,
                        struct bh_err *err)
{
    struct bh_bootctx x;
    ctx_of(b, &x);
    return bh_bootscript_ipxe(&x, q, out, err);
}

void bh_boot_profile_choice(struct bh_boot *b, const char *mac, const json_t *host, char *profile,
                            size_t pcap, char *action, size_t acap)
{
    struct bh_bootctx x;
    ctx_of(b, &x);
    bh_bootscript_choice(&x, mac, host, profile, pcap, action, acap);
}

int bh_boot_virtual_file(struct bh_boot *b, const char *path, const char *server,
                         struct bh_buf *out)
{
    struct bh_bootctx x;
    ctx_of(b, &x);
    return bh_bootscript_file(&x, path, server, out);
}

/* ---- client IP -> MAC ---------------------------------------------------- */

static void ipmap_put(struct bh_boot *b, const char *ip, const char *mac)
{
    if (!ip || !mac || !strcmp(ip, "0.0.0.0"))
        return;
    pthread_mutex_lock(&b->ipmu);
    if (json_object_size(b->ipmap) >= IPMAP_MAX)
        json_object_clear(b->ipmap); /* crude, but bounded: relearned at the next DHCP */
    json_object_set_new(b->ipmap, ip, json_string(mac));
    pthread_mutex_unlock(&b->ipmu);
}

/* The MAC last seen with this IPv4 address; false if none. */
bool bh_boot_mac_of_ip(struct bh_boot *b, const char *ip, char mac[BH_MAC_STRLEN])
{
    pthread_mutex_lock(&b->ipmu);
    const char *m = json_string_value(json_object_get(b->ipmap, ip));
    if (m)
        bh_strlcpy(mac, m, BH_MAC_STRLEN);
    pthread_mutex_unlock(&b->ipmu);
    return m != NULL;
}

/* ---- boot tickets -------------------------------------------------------- */

int bh_boot_ticket(struct bh_boot *b, const char *mac, const char *remote,
                   bh_bootproof_mint_fn mint, void *ud, char out[BH_BOOTPROOF_TICKET_MAX],
                   struct bh_err *err)
{
    return bh_bootproof_ticket(b->proof, mac, remote, bh_wall_ms(), mint, ud, out, err);
}

int bh_boot_prove(struct bh_boot *b, const char *mac, const char *remote, struct bh_err *err)
{
    return bh_bootproof_check(b->proof, mac, remote, bh_wall_ms(), err);
}

/* ---- one-shot "boot from the local disk" (start:N of a non-Linux OS) ----- */

void bh_boot_local_once(struct bh_boot *b, const char *mac, int64_t until_ms)
{
    pthread_mutex_lock(&b->ipmu);
    if (json_object_size(b->local_once) >= IPMAP_MAX)
        json_object_clear(b->local_once);
    json_object_set_new(b->local_once, mac, json_integer(until_ms));
    pthread_mutex_unlock(&b->ipmu);
}

bool bh_boot_take_local_once(struct bh_boot *b, const char *mac)
{
    pthread_mutex_lock(&b->ipmu);
    json_t *v = json_object_get(b->local_once, mac);
    bool on = v && json_integer_value(v) > bh_wall_ms();
    if (v)
        json_object_del(b->local_once, mac);
    pthread_mutex_unlock(&b->ipmu);
    return on;
}

/* ---- DHCP hooks ---------------------------------------------------------- */

static void dhcp_decide(void *ud, const struct bh_boot_client *c, struct bh_boot_decision *d)
{
    bh_boot_decide(ud, c, d);
}

static enum bh_dhcp_mode dhcp_mode(void *ud, const char *iface, enum bh_dhcp_mode configured)
{
    return mode_now(ud, iface, configured);
}

static bool dhcp_reservation(void *ud, const uint8_t mac[6], struct in_addr *ip, char *hostname,
                             size_t cap)
{
    struct bh_boot *b = ud;
    char m[BH_MAC_STRLEN];
    bh_mac_format(mac, m);
    json_t *host = bh_bootview_host(b->view, m);
    const char *s = json_string_value(json_object_get(host, "ip"));
    bool ok = s && inet_pton(AF_INET, s, ip) == 1;
    const char *name = json_string_value(json_object_get(host, "name"));
    if (ok && hostname && cap)
        bh_strlcpy(hostname, name ? name : "", cap);
    json_decref(host);
    return ok;
}

static void dhcp_event(void *ud, const struct bh_boot_client *c, const struct bh_dhcp_event *ev)
{
    struct bh_boot *b = ud;
    char ip[INET_ADDRSTRLEN];
    if (ev->ip.s_addr && inet_ntop(AF_INET, &ev->ip, ip, sizeof(ip)))
        ipmap_put(b, ip, c->mac_str);
    /* a machine that is network booting is "booting"; a plain DHCP client
     * (an installed OS renewing its lease) is only alive */
    bh_bootwork_seen(b->work, c->mac_str, ev->file[0] ? "booting" : NULL);
    bh_bootwork_dhcp(b->work, ev);
}

static void dhcp_seen(void *ud, const struct bh_boot_client *c, struct in_addr ip, int64_t until,
                      bool relayed)
{
    struct bh_boot *b = ud;
    char a[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &ip, a, sizeof(a)))
        bh_bootproof_seen(b->proof, c->mac_str, a, until * 1000, relayed, bh_wall_ms());
}

/* ---- TFTP hooks ---------------------------------------------------------- */

static int tftp_virtual(void *ud, const struct sockaddr *client, const struct in_addr *local,
                        const char *path, char **data, size_t *len)
{
    struct bh_boot *b = ud;
    (void)client;
    char server[INET_ADDRSTRLEN + 8], ip[INET_ADDRSTRLEN] = "";
    struct bh_buf out;
    struct bh_boot_settings st;
    bh_boot_settings(b, &st);
    /* the address the request came to is the one the client reaches us at */
    if (st.server_ip[0])
        bh_strlcpy(ip, st.server_ip, sizeof(ip));
    else
        inet_ntop(AF_INET, local, ip, sizeof(ip));
    snprintf(server, sizeof(server), "%s:%d", ip, b->http_port);
    bh_buf_init(&out, 64 * 1024);
    int rc = bh_boot_virtual_file(b, path, server, &out);
    if (rc) {
        bh_buf_free(&out);
        return rc;
    }
    *len = out.len;
    *data = bh_buf_steal(&out);
    return *data ? 0 : BH_ENOMEM;
}

static void tftp_report(void *ud, const struct bh_tftp_event *ev)
{
    struct bh_boot *b = ud;
    char ip[INET_ADDRSTRLEN], mac[BH_MAC_STRLEN];
    if (!inet_ntop(AF_INET, &ev->client.sin_addr, ip, sizeof(ip)) || !bh_boot_mac_of_ip(b, ip, mac))
        return; /* not a machine we know of: the log line is enough */
    bh_bootwork_tftp(b->work, mac, ev);
    bh_bootwork_seen(b->work, mac, "booting");
}

/* ---- lifecycle ----------------------------------------------------------- */

static int open_root(struct bh_boot *b, struct bh_err *err)
{
    /* a relative root lives in the data directory (our working directory) */
    if (mkdir(b->cfg.root, 0755) < 0 && errno != EEXIST)
        return bh_err_set(err, BH_ESYS, "root", "cannot create the boot root %s: %s", b->cfg.root,
                          strerror(errno));
    b->root_fd = open(b->cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (b->root_fd < 0)
        return bh_err_set(err, BH_ESYS, "root", "cannot open the boot root %s: %s", b->cfg.root,
                          strerror(errno));
    return 0;
}

int bh_boot_start(uv_loop_t *loop, const struct bh_boot_config *cfg, struct bh_store *store,
                  int http_port, struct bh_boot **out, struct bh_err *err)
{
    struct bh_boot *b = calloc(1, sizeof(*b));
    if (!b)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    b->cfg = *cfg;
    b->store = store;
    b->http_port = http_port;
    b->root_fd = -1;
    pthread_mutex_init(&b->ipmu, NULL);
    b->ipmap = json_object();
    b->local_once = json_object();
    b->view = bh_bootview_new();
    struct bh_bootproof_config pc = {cfg->ticket_window * 1000, cfg->ticket_neighbour,
                                     cfg->ticket_relayed, NULL};
    int rc = !b->ipmap || !b->local_once || !b->view || bh_bootproof_new(&pc, &b->proof)
                 ? bh_err_set(err, BH_ENOMEM, NULL, "out of memory")
                 : 0;
    if (!rc)
        rc = open_root(b, err);
    if (!rc)
        rc = bh_bootview_load(b->view, store, err);
    if (!rc)
        rc = bh_bootwork_start(store, b->view, &b->work, err);
    if (!rc) {
        struct bh_boot_settings st;
        bh_boot_settings(b, &st);
        bh_bootwork_set_offline_after(b->work, st.offline_after);
    }
    if (!rc && cfg->tftp_listen[0]) {
        struct bh_tftp_hooks th = {tftp_virtual, tftp_report, b};
        rc = bh_tftp_start(loop, cfg, &th, &b->tftp, err);
    }
    if (!rc && cfg->nifaces) {
        struct bh_dhcp_hooks dh = {.decide = dhcp_decide,
                                   .reservation = dhcp_reservation,
                                   .on_event = dhcp_event,
                                   .on_seen = dhcp_seen,
                                   .mode = dhcp_mode,
                                   .ud = b};
        rc = bh_dhcp_start(loop, cfg, BH_DHCP_LEASE_DB, &dh, &b->dhcp, err);
    }
    if (rc) {
        bh_boot_stop(b);
        bh_boot_free(b);
        return rc;
    }
    bh_log(BH_LOG_INFO, "boot services", "root=%s tftp=%s dhcp_interfaces=%d hosts_unknown=%s",
           cfg->root, cfg->tftp_listen[0] ? cfg->tftp_listen : "off", cfg->nifaces,
           cfg->unknown_hosts == BH_UNKNOWN_IGNORE         ? "ignore"
           : cfg->unknown_hosts == BH_UNKNOWN_BOOT_DEFAULT ? "boot-default"
                                                           : "register");
    *out = b;
    return 0;
}

void bh_boot_stop(struct bh_boot *b)
{
    if (!b)
        return;
    if (b->dhcp)
        bh_dhcp_stop(b->dhcp);
    if (b->tftp)
        bh_tftp_stop(b->tftp);
}

void bh_boot_free(struct bh_boot *b)
{
    if (!b)
        return;
    bh_dhcp_free(b->dhcp);
    bh_tftp_free(b->tftp);
    bh_bootwork_stop(b->work); /* writes what is queued */
    bh_bootview_free(b->view);
    if (b->root_fd >= 0)
        close(b->root_fd);
    json_decref(b->ipmap);
    json_decref(b->local_once);
    bh_bootproof_free(b->proof);
    pthread_mutex_destroy(&b->ipmu);
    free(b);
}

void bh_boot_figures(struct bh_boot *b, struct bh_boot_figures *out)
{
    memset(out, 0, sizeof(*out));
    if (b->tftp) {
        struct bh_tftp_stats t;
        bh_tftp_get_stats(b->tftp, &t);
        out->tftp = true;
        out->tftp_transfers = t.active;
    }
    if (b->dhcp) {
        struct bh_dhcp_stats d;
        bh_dhcp_get_stats(b->dhcp, &d);
        out->leases = d.leases_active;
    }
}

/* One sample of /metrics (none for a NULL sample), after its family's
 * HELP and TYPE lines when it is the family's first (fam: the last
 * family written, updated). */
static int metric(struct bh_buf *o, char *fam, size_t cap, const char *sample, const char *type,
                  const char *help, uint64_t v)
{
    if (!sample)
        return 0;
    size_t n = strcspn(sample, "{");
    int rc = 0;
    if (strlen(fam) != n || strncmp(fam, sample, n) != 0) {
        snprintf(fam, cap, "%.*s", (int)n, sample);
        if (help[0])
            rc = bh_buf_printf(o, "# HELP %s %s\n", fam, help);
        if (!rc)
            rc = bh_buf_printf(o, "# TYPE %s %s\n", fam, type);
    }
    return rc ? rc : bh_buf_printf(o, "%s %llu\n", sample, (unsigned long long)v);
}

int bh_boot_metrics(struct bh_boot *b, struct bh_buf *o)
{
    int rc = 0;
    char fam[64] = "";
#define SAMPLE(f, sample, type, help)                                                              \
    if (!rc)                                                                                       \
        rc = metric(o, fam, sizeof(fam), sample, type, help, st.f);
    if (b->tftp) {
        struct bh_tftp_stats st;
        bh_tftp_get_stats(b->tftp, &st);
        BH_TFTP_STATS(SAMPLE)
    }
    if (b->dhcp) {
        struct bh_dhcp_stats st;
        bh_dhcp_get_stats(b->dhcp, &st);
        BH_DHCP_STATS(SAMPLE)
    }
#undef SAMPLE
    return rc;
}
