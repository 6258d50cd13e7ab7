/*
 * config.c - the table of bootherd.conf keys and its parser.
 */
#include "config.h"

#include "core/ini.h"
#include "core/log.h"
#include "core/net.h"
#include "core/str.h"
#include "model/model.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_MAX (1u << 20)
#define MAX_CONNS  1000000 /* per limit; the open-files limit is the real bound */

enum ctype {
    C_STR,        /* text */
    C_ADDR,       /* address:port */
    C_LISTEN,     /* address:port or empty (off) */
    C_LISTEN_OFF, /* address:port or "off" */
    C_INT,        /* integer in [min, max] */
    C_SIZE,       /* 512K, 4M ... */
    C_LEVEL,      /* log level */
    C_BOOL,       /* yes/no */
    C_IPV4,       /* dotted quad, stored as text */
    C_URL,        /* http:// or https:// URL, or empty */
    C_POLICY,     /* unknown host policy */
    C_MODE,       /* DHCP mode */
    C_IFACES,     /* "eth0, br1:full" */
};

struct ckey {
    const char *section, *key;
    enum ctype type;
    size_t off, size;
    int64_t min, max;
};

#define F(m)  offsetof(struct bh_config, m), sizeof(((struct bh_config *)0)->m)
#define FB(m) F(boot.m)

static const struct ckey keys[] = {
    {"server", "data", C_STR, F(data_dir), 0, 0},
    {"server", "user", C_STR, F(user), 0, 0},
    {"http", "listen", C_ADDR, F(http_listen), 0, 0},
    {"http", "tls_cert", C_STR, F(http_tls_cert), 0, 0},
    {"http", "tls_key", C_STR, F(http_tls_key), 0, 0},
    {"http", "boot_listen", C_LISTEN_OFF, F(http_boot_listen), 0, 0},
    {"http", "threads", C_INT, F(http_threads), 1, 256},
    {"http", "max_body", C_SIZE, F(http_max_body), 1024, 1LL << 34},
    {"http", "timeout", C_INT, F(http_timeout), 1, 3600},
    {"http", "api_connections", C_INT, F(http_conns[0]), 1, MAX_CONNS},
    {"http", "boot_connections", C_INT, F(http_conns[1]), 1, MAX_CONNS},
    {"http", "ws_connections", C_INT, F(http_conns[2]), 1, MAX_CONNS},
    {"http", "api_per_address", C_INT, F(http_per_address[0]), 0, MAX_CONNS},
    {"http", "boot_per_address", C_INT, F(http_per_address[1]), 0, MAX_CONNS},
    {"http", "ws_per_address", C_INT, F(http_per_address[2]), 0, MAX_CONNS},
    {"http", "pending", C_INT, F(http_pending), 1, MAX_CONNS},
    {"http", "pending_per_address", C_INT, F(http_pending_per_address), 1, MAX_CONNS},
    {"http", "header_timeout", C_INT, F(http_header_timeout), 1, 3600},
    {"http", "body_timeout", C_INT, F(http_body_timeout), 1, 86400},
    {"http", "body_min_rate", C_SIZE, F(http_body_min_rate), 1, 1LL << 30},
    {"http", "send_min_rate", C_SIZE, F(http_send_min_rate), 1, 1LL << 30},
    /* the agent takes a channel silent for 75 s for dead: ping more often */
    {"http", "ws_ping", C_INT, F(http_ws_ping), 1, 60},
    {"http", "ws_idle_close", C_INT, F(http_ws_idle_close), 2, 86400},
    {"http", "session_idle", C_INT, F(http_session_idle), 1, 7 * 86400},
    {"http", "session_max", C_INT, F(http_session_max), 1, 30 * 86400},
    {"http", "ui_dir", C_STR, F(http_ui_dir), 0, 0},
    {"log", "level", C_LEVEL, F(log_level), 0, 0},
    {"store", "readers", C_INT, F(store_readers), 1, 64},
    {"store", "busy_timeout_ms", C_INT, F(busy_timeout_ms), 0, 600000},
    {"store", "events_keep", C_INT, F(events_keep), 1000, 100000000},
    {"boot", "root", C_STR, FB(root), 0, 0},
    {"boot", "server_ip", C_IPV4, FB(server_ip), 0, 0},
    {"boot", "http_base", C_URL, FB(http_base), 0, 0},
    {"boot", "unknown_hosts", C_POLICY, FB(unknown_hosts), 0, 0},
    {"boot", "offline_after", C_INT, FB(offline_after), BH_OFFLINE_AFTER_MIN, BH_OFFLINE_AFTER_MAX},
    {"boot", "default_profile", C_STR, FB(default_profile), 0, 0},
    {"boot", "snponly", C_BOOL, FB(snponly), 0, 0},
    {"boot", "ticket_window", C_INT, FB(ticket_window), 30, 3600},
    {"boot", "ticket_neighbour", C_BOOL, FB(ticket_neighbour), 0, 0},
    {"boot", "ticket_relayed", C_BOOL, FB(ticket_relayed), 0, 0},
    {"dhcp", "interfaces", C_IFACES, FB(ifaces), 0, 0},
    {"dhcp", "mode", C_MODE, FB(mode), 0, 0},
    {"dhcp", "lease_time", C_INT, FB(lease_time), 60, 86400 * 365},
    {"dhcp", "commit_ms", C_INT, FB(commit_ms), 0, 1000},
    {"tftp", "listen", C_LISTEN, FB(tftp_listen), 0, 0},
    {"tftp", "max_transfers", C_INT, FB(tftp_max_transfers), 1, 100000},
    {"tftp", "timeout_ms", C_INT, FB(tftp_timeout_ms), 50, 60000},
    {"tftp", "retries", C_INT, FB(tftp_retries), 1, 100},
    {"tftp", "blksize_max", C_INT, FB(tftp_blksize_max), 512, 65464},
    {"tftp", "windowsize_max", C_INT, FB(tftp_windowsize_max), 1, 64},
    {"wol", "port", C_INT, F(wol_port), 1, 65535},
    {"wol", "stagger_ms", C_INT, F(wol_stagger_ms), 0, 60000},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {"server", "http", "log",    "store", "boot",
                                       "dhcp",   "tftp", "subnet", "wol"};

void bh_config_defaults(struct bh_config *c)
{
    memset(c, 0, sizeof(*c));
    bh_strlcpy(c->data_dir, "./var", sizeof(c->data_dir));
    bh_strlcpy(c->http_listen, "127.0.0.1:8080", sizeof(c->http_listen));
    c->http_threads = 4;
    c->http_max_body = 1u << 20;
    c->http_timeout = 60;
    /* Room for a few hundred machines booting, deploying and holding their
     * agent channel at once (about 5,000 descriptors in all); docs/admin-guide.md
     * says why each number. */
    c->http_conns[0] = 1024; /* api */
    c->http_conns[1] = 1024; /* boot */
    c->http_conns[2] = 2048; /* ws: an agent channel per booted host, plus watchers */
    c->http_per_address[0] = 64;
    c->http_per_address[1] = 32;
    c->http_per_address[2] = 32;
    c->http_pending = 1024;
    c->http_pending_per_address = 32;
    c->http_header_timeout = 10;
    c->http_body_timeout = 20; /* with body_min_rate, Apache mod_reqtimeout's defaults */
    c->http_body_min_rate = 500;
    c->http_send_min_rate = 32768; /* a 50 MB initrd may take 26 minutes */
    c->http_ws_ping = 30;          /* BH_WS_PING_SECONDS */
    c->http_ws_idle_close = 90;    /* BH_WS_IDLE_CLOSE_SECONDS */
    c->http_session_idle = 1800;   /* a console left alone for half an hour logs out */
    c->http_session_max = 12 * 3600;
    c->log_level = BH_LOG_INFO;
    c->store_readers = 8;
    c->busy_timeout_ms = 5000;
    c->events_keep = 100000;
    bh_boot_config_defaults(&c->boot);
    c->wol_port = 9;         /* BH_WOL_PORT_DEFAULT */
    c->wol_stagger_ms = 200; /* BH_WOL_STAGGER_MS_DEFAULT */
}

struct parse_state {
    struct bh_config *c;
    const char *fname;
    char section[16];
    int subnet_line; /* line of the [subnet] being read, 0 = none */
};

static int fail(struct parse_state *ps, int line, struct bh_err *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct parse_state *ps, int line, struct bh_err *err, const char *fmt, ...)
{
    char where[BH_ERR_FIELD_MAX], msg[BH_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(where, sizeof(where), "%s:%d", ps->fname, line);
    return bh_err_set(err, BH_EINVAL, where, "%s:%d: %s", ps->fname, line, msg);
}

static bool parse_ipv4(const char *s, struct in_addr *a)
{
    return inet_pton(AF_INET, s, a) == 1;
}

/* "192.0.2.0/24" */
static bool parse_cidr(const char *s, struct in_addr *net, struct in_addr *mask)
{
    char ip[16];
    const char *slash = strchr(s, '/');
    int64_t bits;
    if (!slash || (size_t)(slash - s) >= sizeof(ip) || bh_parse_i64(slash + 1, 0, 32, &bits))
        return false;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    if (!parse_ipv4(ip, net))
        return false;
    uint32_t m = bits ? ~0u << (32 - bits) : 0;
    mask->s_addr = htonl(m);
    return (ntohl(net->s_addr) & ~m) == 0; /* host bits must be zero */
}

/* Finish the current [subnet]: the checks that need every key. */
static int close_subnet(struct parse_state *ps, struct bh_err *err)
{
    if (!ps->subnet_line)
        return 0;
    struct bh_dhcp_subnet *sn = &ps->c->boot.subnets[ps->c->boot.nsubnets - 1];
    int line = ps->subnet_line;
    ps->subnet_line = 0;
    if (!sn->mask.s_addr && !sn->net.s_addr)
        return fail(ps, line, err, "[subnet] needs network = ADDRESS/PREFIX");
    uint32_t net = ntohl(sn->net.s_addr), mask = ntohl(sn->mask.s_addr);
    if (sn->range_start.s_addr) {
        uint32_t a = ntohl(sn->range_start.s_addr), b = ntohl(sn->range_end.s_addr);
        if ((a & mask) != net || (b & mask) != net || a > b)
            return fail(ps, line, err, "[subnet] range must lie inside network, low to high");
    }
    return 0;
}

static int on_section(void *ud, const char *name, int line, struct bh_err *err)
{
    struct parse_state *ps = ud;
    int rc = close_subnet(ps, err);
    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        if (strcasecmp(sections[i], name) != 0)
            continue;
        bh_strlcpy(ps->section, sections[i], sizeof(ps->section));
        if (!strcmp(ps->section, "subnet")) {
            if (ps->c->boot.nsubnets == BH_DHCP_MAX_SUBNETS)
                return fail(ps, line, err, "more than %d [subnet] sections", BH_DHCP_MAX_SUBNETS);
            memset(&ps->c->boot.subnets[ps->c->boot.nsubnets++], 0, sizeof(struct bh_dhcp_subnet));
            ps->subnet_line = line;
        }
        return 0;
    }
    return fail(ps, line, err,
                "unknown section [%s]; known: [server], [http], [log], [store], [boot], [dhcp], "
                "[subnet], [tftp], [wol]",
                name);
}

static int parse_mode(const char *v, enum bh_dhcp_mode *m)
{
    if (!strcasecmp(v, "proxy"))
        *m = BH_DHCP_PROXY;
    else if (!strcasecmp(v, "full"))
        *m = BH_DHCP_FULL;
    else if (!strcasecmp(v, "off"))
        *m = BH_DHCP_OFF;
    else
        return BH_EINVAL;
    return 0;
}

/* "eth0, br1:full, eth2:off" */
static int parse_ifaces(struct parse_state *ps, int line, const char *v, struct bh_err *err)
{
    struct bh_boot_config *b = &ps->c->boot;
    b->nifaces = 0;
    for (const char *p = v; *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        if (!n)
            break;
        char item[64];
        if (n >= sizeof(item))
            return fail(ps, line, err, "interfaces: entry too long");
        memcpy(item, p, n);
        item[n] = '\0';
        while (n && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            item[--n] = '\0';
        p += strcspn(p, ",");
        if (b->nifaces == BH_DHCP_MAX_IFACES)
            return fail(ps, line, err, "interfaces: more than %d", BH_DHCP_MAX_IFACES);
        struct bh_dhcp_iface *ifc = &b->ifaces[b->nifaces];
        char *colon = strchr(item, ':');
        ifc->mode = (enum bh_dhcp_mode) - 1; /* = [dhcp] mode, filled in at the end */
        if (colon) {
            *colon = '\0';
            if (parse_mode(colon + 1, &ifc->mode))
                return fail(ps, line, err,
                            "interfaces: mode of '%s' must be proxy, full or off, got '%s'", item,
                            colon + 1);
        }
        if (!item[0] || strlen(item) >= IFNAMSIZ || strchr(item, '/') || strchr(item, ' '))
            return fail(ps, line, err, "interfaces: '%s' is not an interface name", item);
        bh_strlcpy(ifc->name, item, sizeof(ifc->name));
        b->nifaces++;
    }
    return 0;
}

static int subnet_kv(struct parse_state *ps, const char *key, const char *v, int line,
                     struct bh_err *err)
{
    struct bh_dhcp_subnet *sn = &ps->c->boot.subnets[ps->c->boot.nsubnets - 1];
    if (!strcasecmp(key, "network")) {
        if (!parse_cidr(v, &sn->net, &sn->mask))
            return fail(ps, line, err, "network must be like 192.0.2.0/24, got '%s'", v);
    } else if (!strcasecmp(key, "range")) {
        char a[16], b[16];
        const char *dash = strchr(v, '-');
        if (!dash || (size_t)(dash - v) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
            goto bad_range;
        memcpy(a, v, (size_t)(dash - v));
        a[dash - v] = '\0';
        bh_strlcpy(b, dash + 1, sizeof(b));
        if (!parse_ipv4(a, &sn->range_start) || !parse_ipv4(b, &sn->range_end))
            goto bad_range;
    } else if (!strcasecmp(key, "router")) {
        if (!parse_ipv4(v, &sn->router))
            return fail(ps, line, err, "router must be an IPv4 address, got '%s'", v);
    } else if (!strcasecmp(key, "dns")) {
        sn->ndns = 0;
        for (const char *p = v; *p;) {
            p += strspn(p, " ,");
            size_t n = strcspn(p, " ,");
            char ip[16];
            if (!n)
                break;
            if (n >= sizeof(ip) || sn->ndns == BH_DHCP_MAX_DNS)
                return fail(ps, line, err, "dns: up to %d IPv4 addresses", BH_DHCP_MAX_DNS);
            memcpy(ip, p, n);
            ip[n] = '\0';
            if (!parse_ipv4(ip, &sn->dns[sn->ndns++]))
                return fail(ps, line, err, "dns: '%s' is not an IPv4 address", ip);
            p += n;
        }
    } else if (!strcasecmp(key, "domain")) {
        if (strlen(v) >= sizeof(sn->domain) || !bh_str_charset(v, ".-"))
            return fail(ps, line, err, "domain must be a DNS name, got '%s'", v);
        bh_strlcpy(sn->domain, v, sizeof(sn->domain));
    } else if (!strcasecmp(key, "lease_time")) {
        int64_t n;
        if (bh_parse_i64(v, 60, 86400 * 365, &n))
            return fail(ps, line, err, "lease_time must be 60..31536000 seconds, got '%s'", v);
        sn->lease_time = (uint32_t)n;
    } else if (!strcasecmp(key, "interface")) {
        if (!v[0] || strlen(v) >= IFNAMSIZ)
            return fail(ps, line, err, "interface: '%s' is not an interface name", v);
        bh_strlcpy(sn->iface, v, sizeof(sn->iface));
    } else {
        return fail(ps, line, err,
                    "unknown key '%s' in [subnet]; known: network, range, router, dns, domain, "
                    "lease_time, interface",
                    key);
    }
    return 0;
bad_range:
    return fail(ps, line, err, "range must be like 192.0.2.100-192.0.2.200, got '%s'", v);
}

static int on_kv(void *ud, const char *key, const char *value, int line, struct bh_err *err)
{
    struct parse_state *ps = ud;
    if (!ps->section[0])
        return fail(ps, line, err, "key '%s' outside of any [section]", key);
    if (!strcmp(ps->section, "subnet"))
        return subnet_kv(ps, key, value, line, err);
    const struct ckey *k = NULL;
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(keys[i].section, ps->section) && !strcasecmp(keys[i].key, key))
            k = &keys[i];
    if (!k)
        return fail(ps, line, err, "unknown key '%s' in [%s]", key, ps->section);
    char *dst = (char *)ps->c + k->off;
    switch (k->type) {
    case C_STR:
    case C_ADDR:
    case C_LISTEN:
    case C_LISTEN_OFF:
    case C_IPV4:
    case C_URL:
        if (strlen(value) >= k->size)
            return fail(ps, line, err, "%s is too long", key);
        if (k->type == C_ADDR || (k->type == C_LISTEN && value[0]) ||
            (k->type == C_LISTEN_OFF && strcasecmp(value, "off") != 0)) {
            struct sockaddr_storage ss;
            socklen_t len;
            struct bh_err sub;
            if (bh_net_parse_hostport(value, &ss, &len, &sub))
                return fail(ps, line, err, "%s: %s", key, sub.msg);
        }
        if (k->type == C_IPV4 && value[0]) {
            struct in_addr a;
            if (!parse_ipv4(value, &a))
                return fail(ps, line, err, "%s must be an IPv4 address, got '%s'", key, value);
        }
        if (k->type == C_URL && value[0] && strncmp(value, "http://", 7) &&
            strncmp(value, "https://", 8))
            return fail(ps, line, err, "%s must start with http:// or https://, got '%s'", key,
                        value);
        bh_strlcpy(dst, value, k->size);
        if (k->type == C_URL) { /* no trailing slash: paths are appended */
            size_t n = strlen(dst);
            while (n && dst[n - 1] == '/')
                dst[--n] = '\0';
        }
        return 0;
    case C_INT: {
        int64_t v;
        if (bh_parse_i64(value, k->min, k->max, &v))
            return fail(ps, line, err, "%s must be an integer from %lld to %lld, got '%s'", key,
                        (long long)k->min, (long long)k->max, value);
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case C_SIZE: {
        uint64_t v;
        if (bh_parse_size(value, 1, &v) || v < (uint64_t)k->min || v > (uint64_t)k->max)
            return fail(ps, line, err, "%s must be a size like 512K or 4M, got '%s'", key, value);
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case C_LEVEL: {
        int lv;
        if (bh_log_parse_level(value, &lv))
            return fail(ps, line, err, "level must be debug, info, warn or error, got '%s'", value);
        memcpy(dst, &lv, sizeof(lv));
        return 0;
    }
    case C_BOOL: {
        bool b;
        if (bh_parse_bool(value, &b))
            return fail(ps, line, err, "%s must be yes or no, got '%s'", key, value);
        memcpy(dst, &b, sizeof(b));
        return 0;
    }
    case C_POLICY: {
        enum bh_unknown_policy pol;
        if (!strcasecmp(value, "register"))
            pol = BH_UNKNOWN_REGISTER;
        else if (!strcasecmp(value, "ignore"))
            pol = BH_UNKNOWN_IGNORE;
        else if (!strcasecmp(value, "boot-default"))
            pol = BH_UNKNOWN_BOOT_DEFAULT;
        else
            return fail(ps, line, err,
                        "unknown_hosts must be register, ignore or boot-default, got '%s'", value);
        memcpy(dst, &pol, sizeof(pol));
        return 0;
    }
    case C_MODE: {
        enum bh_dhcp_mode m;
        if (parse_mode(value, &m))
            return fail(ps, line, err, "mode must be proxy, full or off, got '%s'", value);
        memcpy(dst, &m, sizeof(m));
        return 0;
    }
    case C_IFACES: return parse_ifaces(ps, line, value, err);
    }
    return 0;
}

int bh_config_parse(struct bh_config *c, const char *text, size_t len, const char *fname,
                    struct bh_err *err)
{
    /* parse into a copy so a bad file changes nothing */
    struct bh_config *tmp = malloc(sizeof(*tmp));
    if (!tmp)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    *tmp = *c;
    struct parse_state ps = {tmp, fname ? fname : "<config>", "", 0};
    struct bh_ini_cb cb = {on_section, on_kv};
    /* "listen = :8080   # all addresses": comments after a value, as in
     * docs/admin-guide.md (a value that must hold " #" is quoted) */
    int rc = bh_ini_parse(text, len, ps.fname, BH_INI_INLINE_COMMENTS | BH_INI_INLINE_SEMICOLON,
                          &cb, &ps, err);
    if (!rc)
        rc = close_subnet(&ps, err);
    if (!rc && tmp->http_ws_idle_close <= tmp->http_ws_ping)
        rc = bh_err_set(err, BH_EINVAL, "ws_idle_close",
                        "%s: [http] ws_idle_close (%lld s) must be longer than ws_ping (%lld s)",
                        ps.fname, (long long)tmp->http_ws_idle_close, (long long)tmp->http_ws_ping);
    if (!rc && !tmp->http_tls_cert[0] != !tmp->http_tls_key[0])
        rc = bh_err_set(err, BH_EINVAL, tmp->http_tls_cert[0] ? "tls_key" : "tls_cert",
                        "%s: [http] tls_cert and tls_key go together: set both for HTTPS, or "
                        "neither",
                        ps.fname);
    if (!rc && tmp->http_boot_listen[0] && !bh_config_tls(tmp))
        rc = bh_err_set(err, BH_EINVAL, "boot_listen",
                        "%s: [http] boot_listen is the plain listener beside HTTPS; without "
                        "tls_cert and tls_key, listen serves booting machines itself",
                        ps.fname);
    if (!rc) {
        /* interfaces listed without a mode take [dhcp] mode */
        for (int i = 0; i < tmp->boot.nifaces; i++)
            if ((int)tmp->boot.ifaces[i].mode < 0)
                tmp->boot.ifaces[i].mode = tmp->boot.mode;
        *c = *tmp;
    }
    free(tmp);
    return rc;
}

bool bh_config_tls(const struct bh_config *c)
{
    return c->http_tls_cert[0] && c->http_tls_key[0];
}

int bh_config_boot_listen(const struct bh_config *c, char *out, size_t cap, struct bh_err *err)
{
    if (!strcasecmp(c->http_boot_listen, "off")) {
        out[0] = '\0';
        return 0;
    }
    if (c->http_boot_listen[0]) {
        bh_strlcpy(out, c->http_boot_listen, cap);
        return 0;
    }
    /* the host part of listen ("[::1]:443" keeps its brackets) */
    const char *colon = strrchr(c->http_listen, ':');
    size_t hn = colon ? (size_t)(colon - c->http_listen) : strlen(c->http_listen);
    int n = snprintf(out, cap, "%.*s:%d", (int)hn, c->http_listen, BH_BOOT_LISTEN_PORT);
    if (n < 0 || (size_t)n >= cap)
        return bh_err_set(err, BH_EINVAL, "boot_listen", "[http] listen is too long");
    int64_t port;
    if (colon && !bh_parse_i64(colon + 1, 0, 65535, &port) && port == BH_BOOT_LISTEN_PORT)
        return bh_err_set(err, BH_EINVAL, "boot_listen",
                          "[http] listen uses port %d, boot_listen's default: set boot_listen",
                          BH_BOOT_LISTEN_PORT);
    return 0;
}

int bh_config_load(struct bh_config *c, const char *path, struct bh_err *err)
{
    char *text;
    size_t len;
    int rc = bh_read_file(path, CONFIG_MAX, &text, &len, err);
    if (rc)
        return rc;
    rc = bh_config_parse(c, text, len, path, err);
    free(text);
    return rc;
}
