/*
 * dhcp_proto.c - DHCPv4 packet parsing and reply building (see
 * dhcp_proto.h).  Every read is checked against the field it belongs to;
 * nothing here allocates.
 */
#include "dhcp_proto.h"

#include "core/err.h"
#include "core/mac.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <string.h>

#define PXE_CLIENT_CLASS  "PXEClient"
#define HTTP_CLIENT_CLASS "HTTPClient"
#define IPXE_USER_CLASS   "iPXE"
/* The Raspberry Pi 4/5 boot ROM's vendor class and what it looks for in
 * option 43 (the menu entry dnsmasq's pxe-service writes). */
#define RPI_VENDOR_CLASS "PXEClient:Arch:00000:UNDI:002001"
#define RPI_BOOT_STRING  "Raspberry Pi Boot"
#define PXE_MENU_PROMPT  "PXE"

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static struct in_addr rdaddr(const uint8_t *p)
{
    struct in_addr a;
    memcpy(&a.s_addr, p, 4); /* stays in network order */
    return a;
}

/* ---- parsing ------------------------------------------------------------- */

/* The three places options may live (RFC 2131 4.1: options field first,
 * then file, then sname when option 52 says so). */
enum field { F_OPTIONS, F_FILE, F_SNAME };

/* Walk the options in pkt[start, end).  Pass 1 (dst NULL) adds up each
 * code's length in total[]; pass 2 copies the values to dst at the running
 * offsets cur[] (RFC 3396: instances of one code are concatenated in the
 * order they appear). */
static enum bh_dhcp_parse_err walk(const uint8_t *pkt, size_t start, size_t end, enum field f,
                                   uint16_t total[256], uint8_t *dst, uint16_t cur[256],
                                   struct bh_dhcp_optval *opt)
{
    size_t i = start;
    while (i < end) {
        uint8_t code = pkt[i];
        if (code == BH_OPT_PAD) {
            i++;
            continue;
        }
        if (code == BH_OPT_END)
            return BH_DHCP_PARSE_OK;
        if (i + 2 > end)
            return BH_DHCP_ERR_OPTION_LEN;
        size_t n = pkt[i + 1];
        if (i + 2 + n > end)
            return BH_DHCP_ERR_OPTION_LEN;
        /* RFC 2131 4.1: option 52 only in the options field */
        if (code == BH_OPT_OVERLOAD && f != F_OPTIONS)
            return BH_DHCP_ERR_OVERLOAD;
        if (!dst) {
            total[code] = (uint16_t)(total[code] + n);
        } else {
            memcpy(dst + cur[code], pkt + i + 2, n);
            cur[code] = (uint16_t)(cur[code] + n);
            opt[code].present = true;
        }
        i += 2 + n;
    }
    /* a field may end without END (many clients fill the rest with pads
     * only when there is room): tolerated, as long as nothing ran past it */
    return BH_DHCP_PARSE_OK;
}

static enum bh_dhcp_parse_err walk_all(const uint8_t *pkt, size_t len, uint8_t overload,
                                       uint16_t total[256], uint8_t *dst, uint16_t cur[256],
                                       struct bh_dhcp_optval *opt)
{
    enum bh_dhcp_parse_err e = walk(pkt, BH_DHCP_HDR_LEN, len, F_OPTIONS, total, dst, cur, opt);
    if (!e && (overload & 1))
        e = walk(pkt, BH_DHCP_FILE_OFF, BH_DHCP_FILE_OFF + BH_DHCP_FILE_LEN, F_FILE, total, dst,
                 cur, opt);
    if (!e && (overload & 2))
        e = walk(pkt, BH_DHCP_SNAME_OFF, BH_DHCP_SNAME_OFF + BH_DHCP_SNAME_LEN, F_SNAME, total, dst,
                 cur, opt);
    return e;
}

/* Options whose length RFC 2132 / 4578 fix exactly. */
static bool fixed_len_ok(uint8_t code, size_t n)
{
    switch (code) {
    case BH_OPT_MSG_TYPE: return n == 1;                  /* RFC 2132 9.6 */
    case BH_OPT_OVERLOAD: return n == 1;                  /* RFC 2132 9.3 */
    case BH_OPT_REQUESTED_IP: return n == 4;              /* RFC 2132 9.1 */
    case BH_OPT_SERVER_ID: return n == 4;                 /* RFC 2132 9.7 */
    case BH_OPT_MAX_MSG: return n == 2;                   /* RFC 2132 9.10 */
    case BH_OPT_CLIENT_ARCH: return n >= 2 && n % 2 == 0; /* RFC 4578 2.1: a list */
    case BH_OPT_CLIENT_NDI: return n == 3;                /* RFC 4578 2.2 */
    case BH_OPT_CLIENT_UUID: return n == 17;              /* RFC 4578 2.3: type 0 + 16 bytes */
    case BH_OPT_CLIENT_ID: return n >= 2;                 /* RFC 2132 9.14 */
    default: return true;
    }
}

enum bh_dhcp_parse_err bh_dhcp_parse(const uint8_t *pkt, size_t len, struct bh_dhcp_msg *m)
{
    if (len > BH_DHCP_PKT_MAX)
        return BH_DHCP_ERR_OVERSIZED;
    if (len < BH_DHCP_HDR_LEN)
        return BH_DHCP_ERR_SHORT;
    memset(m, 0, offsetof(struct bh_dhcp_msg, optbuf));
    m->op = pkt[0];
    m->htype = pkt[1];
    m->hlen = pkt[2];
    m->hops = pkt[3];
    memcpy(&m->xid, pkt + 4, 4);
    m->secs = rd16(pkt + 8);
    m->flags = rd16(pkt + 10);
    m->ciaddr = rdaddr(pkt + 12);
    m->yiaddr = rdaddr(pkt + 16);
    m->siaddr = rdaddr(pkt + 20);
    m->giaddr = rdaddr(pkt + 24);
    memcpy(m->chaddr, pkt + 28, sizeof(m->chaddr));
    m->arch = BH_ARCH_NONE;
    if (rd32(pkt + BH_DHCP_FIXED_LEN) != BH_DHCP_COOKIE)
        return BH_DHCP_ERR_COOKIE;
    if (m->op != BH_BOOTP_REQUEST)
        return BH_DHCP_ERR_NOT_REQUEST;
    if (m->htype != BH_HTYPE_ETHER || m->hlen != BH_HLEN_ETHER)
        return BH_DHCP_ERR_HWTYPE;

    /* Pass 1 over the options field alone finds option 52; then every
     * field it names is walked too. */
    uint16_t total[256] = {0}, cur[256];
    enum bh_dhcp_parse_err e = walk(pkt, BH_DHCP_HDR_LEN, len, F_OPTIONS, total, NULL, NULL, NULL);
    if (e)
        return e;
    uint8_t overload = 0;
    if (total[BH_OPT_OVERLOAD]) {
        memset(total, 0, sizeof(total));
        /* find its value: the only instance is in the options field */
        for (size_t i = BH_DHCP_HDR_LEN; i + 2 < len;) {
            if (pkt[i] == BH_OPT_PAD) {
                i++;
                continue;
            }
            if (pkt[i] == BH_OPT_END)
                break;
            if (pkt[i] == BH_OPT_OVERLOAD) {
                if (pkt[i + 1] != 1 || overload)
                    return BH_DHCP_ERR_OVERLOAD;
                overload = pkt[i + 2];
            }
            i += 2u + pkt[i + 1];
        }
        if (overload < 1 || overload > 3)
            return BH_DHCP_ERR_OVERLOAD;
        e = walk_all(pkt, len, overload, total, NULL, NULL, NULL);
        if (e)
            return e;
    }
    m->overload = overload;
    /* the values, concatenated, at offsets laid out by pass 1; they cannot
     * outgrow optbuf: every value byte is a distinct packet byte */
    size_t off = 0;
    for (int c = 1; c < BH_OPT_END; c++) {
        cur[c] = (uint16_t)off;
        m->opt[c].off = (uint16_t)off;
        m->opt[c].len = total[c];
        off += total[c];
    }
    assert(off <= sizeof(m->optbuf));
    e = walk_all(pkt, len, overload, total, m->optbuf, cur, m->opt);
    if (e)
        return e;

    for (int c = 1; c < BH_OPT_END; c++)
        if (m->opt[c].present && !fixed_len_ok((uint8_t)c, m->opt[c].len))
            return BH_DHCP_ERR_OPTION_VALUE;

    const uint8_t *v;
    size_t n;
    if ((v = bh_dhcp_opt(m, BH_OPT_MSG_TYPE, &n))) {
        m->type = v[0];
        /* a server's message types never come from a client */
        if (m->type == 0 || m->type == BH_DHCPOFFER || m->type == BH_DHCPACK ||
            m->type == BH_DHCPNAK)
            return BH_DHCP_ERR_MSG_TYPE;
    }
    if ((v = bh_dhcp_opt(m, BH_OPT_REQUESTED_IP, &n))) {
        m->has_requested_ip = true;
        m->requested_ip = rdaddr(v);
    }
    if ((v = bh_dhcp_opt(m, BH_OPT_SERVER_ID, &n))) {
        m->has_server_id = true;
        m->server_id = rdaddr(v);
    }
    if ((v = bh_dhcp_opt(m, BH_OPT_MAX_MSG, &n))) {
        uint16_t mm = rd16(v);
        m->max_msg = mm < BH_DHCP_MIN_MSG ? BH_DHCP_MIN_MSG : mm;
    }
    if ((v = bh_dhcp_opt(m, BH_OPT_CLIENT_ARCH, &n)))
        m->arch = rd16(v);
    if ((v = bh_dhcp_opt(m, BH_OPT_CLIENT_NDI, &n))) {
        m->has_ndi = true;
        memcpy(m->ndi, v, 3);
    }
    if ((v = bh_dhcp_opt(m, BH_OPT_CLIENT_UUID, &n))) {
        if (v[0] != 0) /* RFC 4578 2.3: type 0 is the only one defined */
            return BH_DHCP_ERR_OPTION_VALUE;
        m->has_uuid = true;
        memcpy(m->uuid, v + 1, 16);
    }
    m->ipxe_encap = m->opt[BH_OPT_IPXE_ENCAP].present;
    return BH_DHCP_PARSE_OK;
}

const char *bh_dhcp_parse_err_name(enum bh_dhcp_parse_err e)
{
    switch (e) {
    case BH_DHCP_PARSE_OK: return "ok";
    case BH_DHCP_ERR_SHORT: return "short";
    case BH_DHCP_ERR_OVERSIZED: return "oversized";
    case BH_DHCP_ERR_COOKIE: return "cookie";
    case BH_DHCP_ERR_OPTION_LEN: return "option-length";
    case BH_DHCP_ERR_OPTION_VALUE: return "option-value";
    case BH_DHCP_ERR_OVERLOAD: return "overload";
    case BH_DHCP_ERR_NOT_REQUEST: return "not-request";
    case BH_DHCP_ERR_HWTYPE: return "hardware-type";
    case BH_DHCP_ERR_MSG_TYPE: return "message-type";
    }
    return "?";
}

const char *bh_dhcp_type_name(uint8_t type)
{
    static const char *const names[] = {"BOOTP", "DISCOVER", "OFFER",   "REQUEST", "DECLINE",
                                        "ACK",   "NAK",      "RELEASE", "INFORM"};
    return type < sizeof(names) / sizeof(names[0]) ? names[type] : "?";
}

const uint8_t *bh_dhcp_opt(const struct bh_dhcp_msg *m, uint8_t code, size_t *len)
{
    if (!m->opt[code].present) {
        *len = 0;
        return NULL;
    }
    *len = m->opt[code].len;
    return m->optbuf + m->opt[code].off;
}

bool bh_dhcp_requested(const struct bh_dhcp_msg *m, uint8_t code)
{
    size_t n;
    const uint8_t *p = bh_dhcp_opt(m, BH_OPT_PARAM_LIST, &n);
    return p && memchr(p, code, n) != NULL;
}

size_t bh_dhcp_reply_limit(const struct bh_dhcp_msg *m, size_t cap)
{
    /* RFC 2132 9.10 counts the whole IP datagram, as the 576 minimum shows */
    size_t lim = (size_t)(m->max_msg ? m->max_msg : BH_DHCP_MIN_MSG) - BH_DHCP_IPUDP_LEN;
    return lim < cap ? lim : cap;
}

/* ---- what the client is -------------------------------------------------- */

/* Printable ASCII copy of n bytes into dst[cap]; other bytes become '?'. */
static void copy_text(char *dst, size_t cap, const uint8_t *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        dst[k++] = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
    dst[k] = '\0';
}

static bool has_prefix(const uint8_t *p, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(p, prefix, k) == 0;
}

/* RFC 3004 user class: one or more [len][data] items, len >= 1, filling
 * the option exactly.  iPXE instead sends the bare string "iPXE".  Text of
 * the items joined by ',' goes to dst; returns true if one item is "iPXE". */
static bool user_class(const uint8_t *p, size_t n, char *dst, size_t cap)
{
    size_t i = 0;
    bool rfc3004 = n > 0;
    while (i < n) {
        if (p[i] == 0 || i + 1 + p[i] > n) {
            rfc3004 = false;
            break;
        }
        i += 1u + p[i];
    }
    if (!rfc3004) {
        copy_text(dst, cap, p, n);
        return n == strlen(IPXE_USER_CLASS) && !memcmp(p, IPXE_USER_CLASS, n);
    }
    bool ipxe = false;
    size_t k = 0;
    dst[0] = '\0';
    for (i = 0; i < n; i += 1u + p[i]) {
        size_t len = p[i];
        if (len == strlen(IPXE_USER_CLASS) && !memcmp(p + i + 1, IPXE_USER_CLASS, len))
            ipxe = true;
        if (k && k + 1 < cap)
            dst[k++] = ',';
        if (k + 1 < cap) {
            copy_text(dst + k, cap - k, p + i + 1, len);
            k += strlen(dst + k);
        }
    }
    return ipxe;
}

bool bh_dhcp_is_rpi_mac(const uint8_t mac[6])
{
    static const uint8_t ouis[][3] = {{0xb8, 0x27, 0xeb}, {0xdc, 0xa6, 0x32}, {0xe4, 0x5f, 0x01},
                                      {0x28, 0xcd, 0xc1}, {0xd8, 0x3a, 0xdd}, {0x2c, 0xcf, 0x67}};
    for (size_t i = 0; i < sizeof(ouis) / sizeof(ouis[0]); i++)
        if (!memcmp(mac, ouis[i], 3))
            return true;
    return false;
}

void bh_dhcp_client_from_msg(const struct bh_dhcp_msg *m, struct bh_boot_client *c)
{
    memset(c, 0, sizeof(*c));
    memcpy(c->mac, m->chaddr, 6);
    bh_mac_format(c->mac, c->mac_str);
    c->arch = m->arch;
    c->giaddr = m->giaddr;
    const uint8_t *p;
    size_t n;
    if ((p = bh_dhcp_opt(m, BH_OPT_VENDOR_CLASS, &n))) {
        copy_text(c->vendor_class, sizeof(c->vendor_class), p, n);
        c->pxe = has_prefix(p, n, PXE_CLIENT_CLASS);
        c->http = has_prefix(p, n, HTTP_CLIENT_CLASS);
        c->rpi = has_prefix(p, n, RPI_VENDOR_CLASS) && bh_dhcp_is_rpi_mac(c->mac);
    }
    if ((p = bh_dhcp_opt(m, BH_OPT_USER_CLASS, &n)))
        c->ipxe = user_class(p, n, c->user_class, sizeof(c->user_class));
    c->ipxe = c->ipxe || m->ipxe_encap;
    if (m->has_uuid) {
        c->has_uuid = true;
        memcpy(c->uuid, m->uuid, 16);
        bh_uuid_format(c->uuid, c->uuid_str);
    }
    if ((p = bh_dhcp_opt(m, BH_OPT_HOSTNAME, &n)))
        copy_text(c->hostname, sizeof(c->hostname), p, n);
}

/* ---- building ------------------------------------------------------------ */

struct writer {
    uint8_t *p;
    size_t len, lim; /* lim: where options must stop (END is reserved) */
};

/* Bytes an option of n value bytes takes, split in 255-byte instances. */
static size_t opt_space(size_t n)
{
    return n + 2 * (n ? (n + 254) / 255 : 1);
}

/* Append option `code` (split in 255-byte instances, RFC 3396).  Returns
 * false, writing nothing, if it does not fit. */
static bool put(struct writer *w, uint8_t code, const void *data, size_t n)
{
    if (w->len + opt_space(n) > w->lim)
        return false;
    const uint8_t *d = data;
    do {
        size_t k = n > 255 ? 255 : n;
        w->p[w->len++] = code;
        w->p[w->len++] = (uint8_t)k;
        if (k)
            memcpy(w->p + w->len, d, k);
        w->len += k;
        d += k;
        n -= k;
    } while (n);
    return true;
}

static bool put_u32(struct writer *w, uint8_t code, uint32_t v)
{
    uint8_t b[4];
    wr32(b, v);
    return put(w, code, b, 4);
}

static bool put_addr(struct writer *w, uint8_t code, struct in_addr a)
{
    return put(w, code, &a.s_addr, 4);
}

static bool put_str(struct writer *w, uint8_t code, const char *s)
{
    return put(w, code, s, strlen(s));
}

/* PXE 2.1 option 43: discovery control (use the boot file at once), and for
 * the Raspberry Pi the boot menu entry its ROM looks for. */
static bool put_pxe_vendor(struct writer *w, bool rpi)
{
    uint8_t v[64];
    size_t n = 0;
    v[n++] = BH_PXE_DISCOVERY_CONTROL;
    v[n++] = 1;
    v[n++] = BH_PXE_DC_USE_BOOTFILE;
    if (rpi) {
        size_t sl = strlen(RPI_BOOT_STRING), pl = strlen(PXE_MENU_PROMPT);
        v[n++] = BH_PXE_MENU_PROMPT; /* timeout 0, prompt text */
        v[n++] = (uint8_t)(1 + pl);
        v[n++] = 0;
        memcpy(v + n, PXE_MENU_PROMPT, pl);
        n += pl;
        v[n++] = BH_PXE_BOOT_MENU; /* server type 0, description */
        v[n++] = (uint8_t)(3 + sl);
        v[n++] = 0;
        v[n++] = 0;
        v[n++] = (uint8_t)sl;
        memcpy(v + n, RPI_BOOT_STRING, sl);
        n += sl;
    }
    v[n++] = BH_OPT_END;
    assert(n <= sizeof(v));
    return put(w, BH_OPT_VENDOR, v, n);
}

static void put_boot(struct writer *w, const struct bh_dhcp_msg *m,
                     const struct bh_boot_decision *d, bool file_in_header)
{
    size_t n;
    bool pxe = false;
    const uint8_t *vc = bh_dhcp_opt(m, BH_OPT_VENDOR_CLASS, &n);
    if (vc)
        pxe = has_prefix(vc, n, PXE_CLIENT_CLASS);
    /* PXE 2.1 and the UEFI spec (24.7, HTTP boot): the server names itself
     * in option 60 with the class the client announced */
    if (d->kind == BH_BOOT_HTTP)
        put_str(w, BH_OPT_VENDOR_CLASS, HTTP_CLIENT_CLASS);
    else if (pxe || d->kind == BH_BOOT_RPI)
        put_str(w, BH_OPT_VENDOR_CLASS, PXE_CLIENT_CLASS);
    if ((pxe && d->kind != BH_BOOT_HTTP) || d->kind == BH_BOOT_RPI)
        put_pxe_vendor(w, d->kind == BH_BOOT_RPI);
    if (d->next_server.s_addr &&
        (d->kind == BH_BOOT_RPI || bh_dhcp_requested(m, BH_OPT_TFTP_SERVER))) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &d->next_server, ip, sizeof(ip));
        put_str(w, BH_OPT_TFTP_SERVER, ip);
    }
    /* UEFI HTTP boot reads the URI from option 67 whatever it asked for */
    if (d->filename[0] &&
        (!file_in_header || d->kind == BH_BOOT_HTTP || bh_dhcp_requested(m, BH_OPT_BOOTFILE)))
        put_str(w, BH_OPT_BOOTFILE, d->filename);
    const uint8_t *uuid = bh_dhcp_opt(m, BH_OPT_CLIENT_UUID, &n);
    if (uuid)
        put(w, BH_OPT_CLIENT_UUID, uuid, n); /* PXE 2.1: echoed */
}

int bh_dhcp_build(const struct bh_dhcp_msg *m, const struct bh_dhcp_reply *r, uint8_t *out,
                  size_t cap)
{
    if (r->type != BH_DHCPOFFER && r->type != BH_DHCPACK && r->type != BH_DHCPNAK)
        return BH_EINVAL;
    size_t lim = bh_dhcp_reply_limit(m, cap);
    if (lim < BH_DHCP_HDR_LEN + 16)
        return BH_ETOOBIG;
    bool nak = r->type == BH_DHCPNAK;
    const struct bh_boot_decision *boot =
        (!nak && r->boot && r->boot->kind != BH_BOOT_NONE) ? r->boot : NULL;

    memset(out, 0, BH_DHCP_HDR_LEN);
    out[0] = BH_BOOTP_REPLY;
    out[1] = m->htype;
    out[2] = m->hlen;
    memcpy(out + 4, &m->xid, 4);
    uint16_t flags = m->flags;
    /* RFC 2131 4.3.2: a NAK through a relay asks it to broadcast */
    if (nak && m->giaddr.s_addr)
        flags |= BH_DHCP_BROADCAST_F;
    wr16(out + 10, flags);
    if (!nak) {
        memcpy(out + 12, &r->ciaddr.s_addr, 4);
        memcpy(out + 16, &r->yiaddr.s_addr, 4);
        if (boot)
            memcpy(out + 20, &boot->next_server.s_addr, 4);
    }
    memcpy(out + 24, &m->giaddr.s_addr, 4);
    memcpy(out + 28, m->chaddr, sizeof(m->chaddr));
    bool file_in_header = false;
    if (boot && boot->filename[0] && strlen(boot->filename) < BH_DHCP_FILE_LEN) {
        memcpy(out + BH_DHCP_FILE_OFF, boot->filename, strlen(boot->filename));
        file_in_header = true;
    }
    wr32(out + BH_DHCP_FIXED_LEN, BH_DHCP_COOKIE);

    /* room for option 82 (RFC 3046 2.2: copied back as the last option)
     * and END */
    size_t n82;
    const uint8_t *o82 = bh_dhcp_opt(m, BH_OPT_RELAY_AGENT, &n82);
    size_t tail = 1 + (o82 ? opt_space(n82) : 0);
    if (lim < BH_DHCP_HDR_LEN + tail + 12)
        return BH_ETOOBIG;
    struct writer w = {out, BH_DHCP_HDR_LEN, lim - tail};
    uint8_t type = r->type;
    if (!put(&w, BH_OPT_MSG_TYPE, &type, 1) || !put_addr(&w, BH_OPT_SERVER_ID, r->server_id))
        return BH_ETOOBIG;
    if (nak) {
        if (r->message)
            put_str(&w, BH_OPT_MESSAGE, r->message);
    } else {
        if (r->lease_time) {
            /* RFC 2131 4.4.5: T1 = 0.5, T2 = 0.875 of the lease */
            put_u32(&w, BH_OPT_LEASE_TIME, r->lease_time);
            put_u32(&w, BH_OPT_T1, r->lease_time / 2);
            put_u32(&w, BH_OPT_T2, (uint32_t)((uint64_t)r->lease_time * 7 / 8));
        }
        if (r->mask.s_addr)
            put_addr(&w, BH_OPT_SUBNET_MASK, r->mask);
        if (r->router.s_addr)
            put_addr(&w, BH_OPT_ROUTER, r->router);
        if (r->ndns > 0 && r->ndns <= BH_DHCP_MAX_DNS)
            put(&w, BH_OPT_DNS, r->dns, 4 * (size_t)r->ndns);
        if (r->domain && r->domain[0])
            put_str(&w, BH_OPT_DOMAIN, r->domain);
        if (r->hostname && r->hostname[0])
            put_str(&w, BH_OPT_HOSTNAME, r->hostname);
        if (boot)
            put_boot(&w, m, boot, file_in_header);
    }
    w.lim += tail;
    if (o82)
        put(&w, BH_OPT_RELAY_AGENT, o82, n82);
    w.p[w.len++] = BH_OPT_END;
    return (int)w.len;
}
