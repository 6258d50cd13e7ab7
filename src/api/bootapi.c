/*
 * bootapi.c - the HTTP side of network boot (public, no token: firmware has
 * none) and the boot timeline of a host.
 *
 *   GET  /boot/boot.ipxe             bootstrap: chain to this machine's script
 *   GET  /boot/ipxe?mac=&arch=...    this machine's script (menu, profile, exit)
 *   GET  /boot/files/{path}          kernels, initrds, iPXE, GRUB (Range, ETag)
 *   GET  /boot/up?mac=               the booted system says it is up
 *
 * A machine gets only what it needs to boot: its own script, and files from
 * the boot root.  Nothing here lists hosts or reveals other machines.
 */
#include "api.h"

#include "boot/bootsvc.h"
#include "core/buf.h"
#include "core/mac.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "ticket.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define SCRIPT_MAX (256 * 1024)

static struct bh_boot *boot_of(struct bh_req *r)
{
    struct bh_boot *b = bh_api_ctx(r)->boot;
    if (!b)
        bh_reply_problem(r, 503, "unavailable", "Boot services are off",
                         "this server does not run the boot services", NULL);
    return b;
}

/* Where this client reaches us: the configured base, else the Host header
 * it used (when it looks like an address), else server_ip:port.  A script
 * fetched over HTTPS still names the plain boot listener (its port, the
 * Host's name): what it loads next is fetched by firmware. */
static void http_base(struct bh_req *r, struct bh_boot *b, char *out, size_t cap)
{
    struct bh_boot_settings st;
    bh_boot_settings(b, &st);
    const char *host = bh_req_header(r, "Host");
    bool host_ok = host && strlen(host) < 200 && bh_str_charset(host, ".:-[]");
    if (st.http_base[0]) {
        bh_strlcpy(out, st.http_base, cap);
    } else if (host_ok && bh_req_secure(r)) {
        const char *end = host[0] == '[' ? strchr(host, ']') : strchr(host, ':');
        size_t n = end ? (size_t)(end - host) + (host[0] == '[') : strlen(host);
        snprintf(out, cap, "http://%.*s:%d", (int)n, host, bh_boot_http_port(b));
    } else if (host_ok) {
        snprintf(out, cap, "http://%s", host);
    } else {
        snprintf(out, cap, "http://%s:%d", st.server_ip[0] ? st.server_ip : "127.0.0.1",
                 bh_boot_http_port(b));
    }
}

void bh_h_boot_bootstrap(struct bh_req *r)
{
    struct bh_boot *b = boot_of(r);
    if (!b)
        return;
    char base[300];
    struct bh_buf o;
    http_base(r, b, base, sizeof(base));
    bh_buf_init(&o, SCRIPT_MAX);
    if (bh_boot_bootstrap(base, &o))
        bh_reply_problem(r, 500, "internal", "Internal error", "script too large", NULL);
    else
        bh_reply(r, 200, "text/plain; charset=utf-8", o.p, o.len);
    bh_buf_free(&o);
}

/* optional query text fields: short and harmless, else absent */
static const char *qarg(struct bh_req *r, const char *name, size_t max)
{
    const char *v = bh_req_query(r, name);
    return v && *v && strlen(v) <= max && bh_str_charset(v, "-_.:") ? v : NULL;
}

static int mint_ticket(void *ud, const char *mac, char *out, size_t cap)
{
    struct bh_api *api = ud;
    if (cap < BH_TICKET_MAX)
        return BH_EINVAL;
    return bh_ticket_make(api->agent_key, mac, bh_wall_ms(), BH_TICKET_TTL_MS, out);
}

/* {{ticket}} of one script request */
struct script_ticket {
    struct bh_req *r;
    struct bh_boot *b;
    const char *mac;
};

/* The ticket for the machine asking, if it proves it is the one booting;
 * otherwise none, and the host's boot log says why. */
static int script_ticket(void *ud, char *out, size_t cap)
{
    struct script_ticket *t = ud;
    struct bh_api *api = bh_api_ctx(t->r);
    struct bh_err e;
    bh_err_clear(&e);
    if (!api->agent_key_ok || cap < BH_BOOTPROOF_TICKET_MAX)
        return BH_EUNSUPP;
    int rc = bh_boot_ticket(t->b, t->mac, bh_req_remote(t->r), mint_ticket, api, out, &e);
    json_t *host = rc ? bh_bootview_host(bh_boot_view(t->b), t->mac) : NULL;
    if (host) /* an unknown machine has no timeline yet */
        bh_bootwork_event(bh_boot_work(t->b), t->mac, "boot.ticket_refused",
                          json_pack("{s:s, s:s}", "client", bh_req_remote(t->r), "why", e.msg));
    json_decref(host);
    return rc;
}

void bh_h_boot_ipxe(struct bh_req *r)
{
    struct bh_boot *b = boot_of(r);
    if (!b)
        return;
    char mac[BH_MAC_STRLEN], base[300], server[128];
    const char *m = bh_req_query(r, "mac");
    if (!m || bh_mac_normalize(m, mac)) {
        bh_reply_problem(r, 400, "invalid-query", "Bad request",
                         "mac must be the machine's MAC address (iPXE: ${netX/mac})", "mac");
        return;
    }
    http_base(r, b, base, sizeof(base));
    const char *hp = strstr(base, "://");
    bh_strlcpy(server, hp ? hp + 3 : base, sizeof(server));
    char *colon = strrchr(server, ':');
    if (colon && !strchr(server, ']'))
        *colon = '\0';
    struct script_ticket st = {r, b, mac};
    struct bh_script_ticket ticket = {script_ticket, &st, 0, ""};
    struct bh_script_req q = {mac,
                              qarg(r, "arch", 16),
                              qarg(r, "platform", 16),
                              qarg(r, "uuid", 36),
                              qarg(r, "serial", 128),
                              base,
                              server,
                              &ticket};
    struct bh_buf o;
    struct bh_err e;
    bh_buf_init(&o, SCRIPT_MAX);
    if (bh_boot_ipxe_script(b, &q, &o, &e))
        bh_reply_err(r, &e);
    else
        bh_reply(r, 200, "text/plain; charset=utf-8", o.p, o.len);
    /* the machine proved it is booting again: the host tokens of its
     * earlier boots end (a stolen one too) */
    if (ticket.state > 0 || (!ticket.state && !bh_boot_prove(b, mac, bh_req_remote(r), NULL)))
        bh_bootwork_booted(bh_boot_work(b), mac, bh_wall_ms());
    bh_buf_free(&o);
}

static bool known_mac(struct bh_boot *b, struct bh_req *r, char mac[BH_MAC_STRLEN])
{
    const char *m = bh_req_query(r, "mac");
    if (m && bh_mac_normalize(m, mac) == 0)
        return true;
    return bh_boot_mac_of_ip(b, bh_req_remote(r), mac);
}

void bh_h_boot_file(struct bh_req *r)
{
    struct bh_boot *b = boot_of(r);
    if (!b)
        return;
    const char *path = bh_req_param(r, "path");
    const char *dot = strrchr(path, '.');
    const char *ctype =
        dot && (!strcmp(dot, ".ipxe") || !strcmp(dot, ".cfg") || !strcmp(dot, ".txt"))
            ? "text/plain; charset=utf-8"
            : "application/octet-stream";
    bh_reply_file(r, bh_boot_root_fd(b), path, ctype);
    char mac[BH_MAC_STRLEN];
    json_t *host;
    if (known_mac(b, r, mac) && (host = bh_bootview_host(bh_boot_view(b), mac))) {
        /* the event is JSON: what the client sent, made valid UTF-8 */
        const char *range_h = bh_req_header(r, "Range");
        char file[512], range[128];
        bh_utf8_sanitize(path, file, sizeof(file));
        if (range_h)
            bh_utf8_sanitize(range_h, range, sizeof(range));
        json_t *data = json_pack("{s:s, s:s?, s:s}", "file", file, "range", range_h ? range : NULL,
                                 "client", bh_req_remote(r));
        bh_bootwork_event(bh_boot_work(b), mac, "boot.file", data);
        bh_bootwork_seen(bh_boot_work(b), mac, "booting");
        json_decref(host);
    }
}

void bh_h_boot_up(struct bh_req *r)
{
    struct bh_boot *b = boot_of(r);
    if (!b)
        return;
    char mac[BH_MAC_STRLEN];
    if (!known_mac(b, r, mac)) {
        bh_reply_problem(r, 400, "invalid-query", "Bad request",
                         "say which machine: ?mac=aa:bb:cc:dd:ee:ff", "mac");
        return;
    }
    json_t *host = bh_bootview_host(bh_boot_view(b), mac);
    if (!host) {
        bh_reply_problem(r, 404, "not-found", "Not found", "no such host", NULL);
        return;
    }
    json_decref(host);
    const char *os = qarg(r, "os", 64);
    bh_bootwork_event(bh_boot_work(b), mac, "boot.up",
                      json_pack("{s:s, s:s?}", "client", bh_req_remote(r), "os", os));
    bh_bootwork_seen(bh_boot_work(b), mac, "up");
    bh_reply_json(r, 200, json_pack("{s:s, s:s}", "mac", mac, "state", "up"));
}

/* GET /api/v1/hosts/{key}/events: the newest events of one host; the
 * cursor is the revision of the page's oldest event */
void bh_h_host_events(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    json_t *host, *events;
    struct bh_err e;
    int64_t limit = 100, before = 0;
    const char *l = bh_req_query(r, "limit");
    if (l && bh_parse_i64(l, 1, BH_LIST_MAX, &limit)) {
        bh_reply_problem(r, 400, "invalid-query", "Bad request", "limit must be 1..1000", "limit");
        return;
    }
    if (bh_api_after(r, 1, INT64_MAX, &before) < 0)
        return;
    if (bh_store_get(api->store, bh_kind_get(BH_KIND_HOST), bh_req_param(r, "key"), &host, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    const char *mac = json_string_value(json_object_get(host, "mac"));
    if (bh_store_events_of(api->store, "host", mac, before, (int)limit, &events, &e)) {
        bh_reply_err(r, &e);
    } else {
        bh_reply_json(r, 200, bh_api_page_full(events, limit, "rev"));
    }
    json_decref(host);
}

static const char *mode_name(enum bh_dhcp_mode m)
{
    return m == BH_DHCP_FULL ? "full" : m == BH_DHCP_PROXY ? "proxy" : "off";
}

/* GET /api/v1/settings/effective: what the boot services use right now,
 * the config file overlaid by the settings object, and where each came from */
void bh_h_settings_effective(struct bh_req *r)
{
    struct bh_boot *b = boot_of(r);
    if (!b)
        return;
    const struct bh_boot_config *c = bh_boot_config_of(b);
    struct bh_boot_settings st;
    bh_boot_settings(b, &st);
    static const char *const pol[] = {"register", "ignore", "boot-default"};
    json_t *ifaces = json_array(), *subnets = json_array();
    for (int i = 0; i < c->nifaces; i++)
        json_array_append_new(ifaces, json_pack("{s:s, s:s}", "name", c->ifaces[i].name, "mode",
                                                mode_name(bh_boot_iface_mode(b, i))));
    for (int i = 0; i < c->nsubnets; i++) {
        char net[INET_ADDRSTRLEN], a[INET_ADDRSTRLEN], z[INET_ADDRSTRLEN];
        const struct bh_dhcp_subnet *sn = &c->subnets[i];
        inet_ntop(AF_INET, &sn->net, net, sizeof(net));
        inet_ntop(AF_INET, &sn->range_start, a, sizeof(a));
        inet_ntop(AF_INET, &sn->range_end, z, sizeof(z));
        json_array_append_new(subnets, json_pack("{s:s, s:i, s:s, s:s}", "network", net, "prefix",
                                                 __builtin_popcount(sn->mask.s_addr), "range_start",
                                                 a, "range_end", z));
    }
    bh_reply_json(r, 200,
                  json_pack("{s:s, s:s, s:I, s:b, s:s, s:s, s:s, s:s, s:o, s:o}", "unknown_hosts",
                            pol[st.unknown_hosts], "default_profile", st.default_profile,
                            "offline_after", (json_int_t)st.offline_after, "snponly", st.snponly,
                            "server_ip", st.server_ip, "http_base", st.http_base, "boot_root",
                            c->root, "tftp_listen", c->tftp_listen[0] ? c->tftp_listen : "off",
                            "dhcp_interfaces", ifaces, "dhcp_subnets", subnets));
}
