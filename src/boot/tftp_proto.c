/*
 * tftp_proto.c - TFTP protocol decisions, no I/O (see tftp_proto.h).
 */
#include "tftp_proto.h"

#include <assert.h>
#include <string.h>
#include <strings.h>

/* A run of this many partial ACKs, each one block past the previous, means
 * the client ACKs every block although it asked for a window: going back a
 * whole window on each of them would multiply the traffic by the window. */
#define PERBLOCK_ACK_RUN 3

/* Longest decimal option value we read (uint64 has 20 digits). */
#define OPT_DIGITS_MAX 20

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* The NUL-terminated string at pkt[*pos]; false if no NUL before len. */
static bool next_str(const uint8_t *pkt, size_t len, size_t *pos, const char **s, size_t *n)
{
    if (*pos >= len)
        return false;
    const uint8_t *start = pkt + *pos;
    const uint8_t *nul = memchr(start, '\0', len - *pos);
    if (!nul)
        return false;
    *s = (const char *)start;
    *n = (size_t)(nul - start);
    *pos += *n + 1;
    return true;
}

/* Whole string of decimal digits, no sign, no spaces; false if not a number
 * or larger than UINT64_MAX. */
static bool parse_num(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > OPT_DIGITS_MAX)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

struct optdef {
    const char *name;
    unsigned bit;
};

static const struct optdef known_opts[] = {
    {"blksize", BH_TFTP_OPT_BLKSIZE},   /* RFC 2348 */
    {"tsize", BH_TFTP_OPT_TSIZE},       /* RFC 2349 */
    {"timeout", BH_TFTP_OPT_TIMEOUT},   /* RFC 2349 */
    {"windowsize", BH_TFTP_OPT_WINDOW}, /* RFC 7440 */
};

/* Take one known option's value; values we cannot honour are dropped and
 * so left out of the OACK (RFC 2347 sec "Negotiation Protocol"). */
static void take_opt(struct bh_tftp_req *r, unsigned bit, const char *val, size_t n)
{
    uint64_t v;
    if (!parse_num(val, n, &v))
        return;
    switch (bit) {
    case BH_TFTP_OPT_BLKSIZE:
        /* RFC 2348: 8..65464; a larger ask gets a smaller answer */
        if (v < BH_TFTP_BLKSIZE_MIN)
            return;
        r->blksize = (uint32_t)min64(v, BH_TFTP_BLKSIZE_MAX);
        break;
    case BH_TFTP_OPT_TSIZE: r->tsize = v; break; /* RFC 2349: 0 on a RRQ */
    case BH_TFTP_OPT_TIMEOUT:
        /* RFC 2349: 1..255 seconds, echoed as is or not at all */
        if (v < BH_TFTP_TIMEOUT_MIN || v > BH_TFTP_TIMEOUT_MAX)
            return;
        r->timeout = (uint32_t)v;
        break;
    case BH_TFTP_OPT_WINDOW:
        /* RFC 7440: 1..65535; a larger ask gets a smaller answer */
        if (v < 1)
            return;
        r->windowsize = (uint32_t)min64(v, UINT16_MAX);
        break;
    default: return;
    }
    r->opts |= bit;
}

int bh_tftp_parse_request(const uint8_t *pkt, size_t len, struct bh_tftp_req *r, const char **why)
{
    memset(r, 0, sizeof(*r));
    *why = "";
    if (len < 2) {
        *why = "packet too short";
        return BH_TFTP_EBADOP;
    }
    if (len > BH_TFTP_REQ_MAX) {
        *why = "request too long";
        return BH_TFTP_EBADOP;
    }
    uint16_t op = get16(pkt);
    switch (op) {
    case BH_TFTP_RRQ:
    case BH_TFTP_WRQ: break;
    case BH_TFTP_ERROR: return BH_TFTP_PARSE_DROP; /* RFC 1350 sec 7: never answered */
    case BH_TFTP_DATA:
    case BH_TFTP_ACK:
    case BH_TFTP_OACK: *why = "not a request"; return BH_TFTP_EBADOP;
    default: *why = "unknown opcode"; return BH_TFTP_EBADOP;
    }
    r->op = op;
    size_t pos = 2, n;
    const char *s;
    /* RFC 1350 sec 5: opcode, filename, 0, mode, 0 */
    if (!next_str(pkt, len, &pos, &s, &n)) {
        *why = "filename not terminated";
        return BH_TFTP_EBADOP;
    }
    if (n == 0) {
        *why = "empty filename";
        return BH_TFTP_EBADOP;
    }
    r->file = s;
    r->file_len = n;
    if (!next_str(pkt, len, &pos, &s, &n)) {
        *why = "mode not terminated";
        return BH_TFTP_EBADOP;
    }
    if (n == 5 && !strncasecmp(s, "octet", n)) {
        r->mode = BH_TFTP_OCTET;
    } else if (n == 8 && !strncasecmp(s, "netascii", n)) {
        r->mode = BH_TFTP_NETASCII;
    } else if (n == 4 && !strncasecmp(s, "mail", n)) {
        *why = "mail mode not supported"; /* RFC 1350 sec 1: obsolete */
        return BH_TFTP_EBADOP;
    } else {
        *why = "unknown transfer mode";
        return BH_TFTP_EBADOP;
    }
    /* RFC 2347: option name, 0, value, 0, repeated; names are case-insensitive */
    unsigned seen = 0;
    while (pos < len) {
        const char *name, *val;
        size_t nn, vn;
        if (!next_str(pkt, len, &pos, &name, &nn)) {
            *why = "option not terminated";
            return BH_TFTP_EBADOP;
        }
        if (nn == 0)
            break; /* NUL padding after the options (some PXE ROMs) */
        if (pos >= len) {
            *why = "option without value";
            return BH_TFTP_EOPTNEG;
        }
        if (!next_str(pkt, len, &pos, &val, &vn)) {
            *why = "option value not terminated";
            return BH_TFTP_EBADOP;
        }
        for (size_t i = 0; i < sizeof(known_opts) / sizeof(known_opts[0]); i++) {
            const struct optdef *o = &known_opts[i];
            if (strlen(o->name) != nn || strncasecmp(name, o->name, nn) != 0)
                continue;
            if (seen & o->bit) {
                *why = "duplicate option";
                return BH_TFTP_EOPTNEG;
            }
            seen |= o->bit;
            take_opt(r, o->bit, val, vn);
        }
        /* unknown options are ignored (RFC 2347) */
    }
    return BH_TFTP_PARSE_OK;
}

int bh_tftp_check_path(const char *file, const char **out, const char **why)
{
    const char *p = file[0] == '/' ? file + 1 : file; /* "/pxelinux.0" */
    *out = p;
    if (!*p) {
        *why = "no file name";
        return BH_TFTP_EACCESS;
    }
    if (*p == '/') {
        *why = "absolute path";
        return BH_TFTP_EACCESS;
    }
    for (const char *c = p; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u == 0x7f) {
            *why = "control character in file name";
            return BH_TFTP_EACCESS;
        }
        if (u == '\\') {
            *why = "backslash in file name";
            return BH_TFTP_EACCESS;
        }
        /* a ".." component; RESOLVE_BENEATH would refuse an escape too, but no
         * boot file needs one and this names the reason */
        if (u == '.' && c[1] == '.' && (c == p || c[-1] == '/') && (c[2] == '/' || !c[2])) {
            *why = "parent directory in file name";
            return BH_TFTP_EACCESS;
        }
    }
    return 0;
}

void bh_tftp_negotiate(const struct bh_tftp_req *r, const struct bh_tftp_limits *lim,
                       bool size_known, uint64_t size, struct bh_tftp_params *p)
{
    memset(p, 0, sizeof(*p));
    p->blksize = BH_TFTP_BLKSIZE_DEFAULT;
    p->windowsize = 1;
    if (r->opts & BH_TFTP_OPT_BLKSIZE) {
        /* RFC 2348: the answer may be smaller than the ask; we also keep a
         * DATA packet inside one IP datagram on the path (no fragments) */
        uint64_t b = min64(r->blksize, BH_TFTP_BLKSIZE_MAX);
        if (lim->blksize_max)
            b = min64(b, lim->blksize_max);
        if (lim->mtu > BH_TFTP_IPV4_UDP_HDR + BH_TFTP_HDR + BH_TFTP_BLKSIZE_MIN)
            b = min64(b, lim->mtu - BH_TFTP_IPV4_UDP_HDR - BH_TFTP_HDR);
        if (b < BH_TFTP_BLKSIZE_MIN)
            b = BH_TFTP_BLKSIZE_MIN;
        p->blksize = (uint16_t)b;
        p->oack |= BH_TFTP_OPT_BLKSIZE;
    }
    if (r->opts & BH_TFTP_OPT_WINDOW) {
        /* RFC 7440 sec 4: the server may answer a smaller window */
        uint64_t w = min64(r->windowsize, BH_TFTP_WINDOW_MAX);
        if (lim->windowsize_max)
            w = min64(w, lim->windowsize_max);
        p->windowsize = (uint16_t)(w ? w : 1);
        p->oack |= BH_TFTP_OPT_WINDOW;
    }
    if (r->opts & BH_TFTP_OPT_TIMEOUT) {
        p->timeout = (uint8_t)r->timeout; /* RFC 2349: echoed unchanged */
        p->oack |= BH_TFTP_OPT_TIMEOUT;
    }
    if ((r->opts & BH_TFTP_OPT_TSIZE) && r->op == BH_TFTP_RRQ && size_known) {
        p->tsize = size; /* RFC 2349: the server answers with the size */
        p->oack |= BH_TFTP_OPT_TSIZE;
    }
}

/* Append "name\0value\0"; false if it does not fit. */
static bool put_opt(uint8_t *out, size_t cap, size_t *pos, const char *name, uint64_t v)
{
    char num[OPT_DIGITS_MAX + 1];
    size_t nd = 0;
    do {
        num[nd++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    size_t nl = strlen(name);
    if (cap - *pos < nl + 1 + nd + 1)
        return false;
    memcpy(out + *pos, name, nl + 1);
    *pos += nl + 1;
    while (nd)
        out[(*pos)++] = (uint8_t)num[--nd];
    out[(*pos)++] = '\0';
    return true;
}

size_t bh_tftp_build_oack(uint8_t *out, size_t cap, const struct bh_tftp_params *p)
{
    if (cap < 2)
        return 0;
    put16(out, BH_TFTP_OACK);
    size_t pos = 2;
    bool ok = true;
    if (p->oack & BH_TFTP_OPT_BLKSIZE)
        ok = ok && put_opt(out, cap, &pos, "blksize", p->blksize);
    if (p->oack & BH_TFTP_OPT_TSIZE)
        ok = ok && put_opt(out, cap, &pos, "tsize", p->tsize);
    if (p->oack & BH_TFTP_OPT_TIMEOUT)
        ok = ok && put_opt(out, cap, &pos, "timeout", p->timeout);
    if (p->oack & BH_TFTP_OPT_WINDOW)
        ok = ok && put_opt(out, cap, &pos, "windowsize", p->windowsize);
    return ok ? pos : 0;
}

size_t bh_tftp_build_error(uint8_t *out, size_t cap, uint16_t code, const char *msg)
{
    if (cap < BH_TFTP_HDR + 1)
        return 0;
    put16(out, BH_TFTP_ERROR);
    put16(out + 2, code);
    size_t n = strlen(msg);
    if (n > cap - BH_TFTP_HDR - 1)
        n = cap - BH_TFTP_HDR - 1;
    memcpy(out + BH_TFTP_HDR, msg, n);
    out[BH_TFTP_HDR + n] = '\0';
    return BH_TFTP_HDR + n + 1;
}

void bh_tftp_data_header(uint8_t out[BH_TFTP_HDR], uint64_t block)
{
    put16(out, BH_TFTP_DATA);
    put16(out + 2, (uint16_t)block); /* rolls over past 65535 */
}

void bh_tftp_block_range(uint64_t size, uint16_t blksize, uint64_t block, uint64_t *off,
                         size_t *len)
{
    assert(block >= 1 && blksize >= 1);
    uint64_t o = (block - 1) * blksize;
    *off = o;
    *len = o >= size ? 0 : (size_t)min64(blksize, size - o);
}

int bh_tftp_parse_reply(const uint8_t *pkt, size_t len, uint16_t *block, uint16_t *code)
{
    if (len < BH_TFTP_HDR)
        return 0;
    uint16_t op = get16(pkt);
    if (op == BH_TFTP_ACK) {
        *block = get16(pkt + 2);
        return BH_TFTP_ACK;
    }
    if (op == BH_TFTP_ERROR) {
        *code = get16(pkt + 2);
        return BH_TFTP_ERROR;
    }
    return 0;
}

/* ---- sender state machine ----------------------------------------------- */

void bh_tftp_tx_init(struct bh_tftp_tx *tx, uint16_t window, uint64_t last, bool oack,
                     uint32_t max_tries)
{
    memset(tx, 0, sizeof(*tx));
    tx->window = window ? window : 1;
    tx->last = last;
    tx->base = oack ? 0 : 1;
    tx->next = tx->base;
    tx->max_tries = max_tries;
}

/* The window starting at the oldest unacknowledged block, from `from` on. */
static enum bh_tftp_act window_span(const struct bh_tftp_tx *tx, uint64_t from,
                                    struct bh_tftp_span *s)
{
    uint64_t end = tx->base + tx->window;
    if (tx->last != BH_TFTP_LAST_UNKNOWN)
        end = min64(end, tx->last + 1);
    s->oack = false;
    s->first = from;
    s->end = end > from ? end : from;
    return BH_TFTP_ACT_SEND;
}

enum bh_tftp_act bh_tftp_tx_begin(struct bh_tftp_tx *tx, struct bh_tftp_span *s)
{
    if (tx->base == 0) {
        *s = (struct bh_tftp_span){.oack = true};
        tx->next = 1; /* the OACK is block 0 (RFC 2347: ACK 0 answers it) */
        return BH_TFTP_ACT_SEND;
    }
    return window_span(tx, tx->base, s);
}

enum bh_tftp_act bh_tftp_tx_on_ack(struct bh_tftp_tx *tx, uint16_t wire, struct bh_tftp_span *s)
{
    if (tx->done || tx->next <= tx->base)
        return BH_TFTP_ACT_NONE;
    /* Only ACKs for blocks in flight, [base, next), move anything.  The
     * window is at most 64 blocks, far below the 65536 the wire number can
     * tell apart, so the distance from base says which block is meant.  A
     * repeat of the previous ACK or an older one changes nothing: RFC 1123
     * 4.2.3.1, a duplicate ACK must never cause a resend (the Sorcerer's
     * Apprentice); the timer deals with real loss. */
    uint16_t dist = (uint16_t)(wire - (uint16_t)tx->base);
    if (dist >= tx->next - tx->base)
        return BH_TFTP_ACT_NONE;
    uint64_t k = tx->base + dist;
    tx->tries = 0;
    if (tx->last != BH_TFTP_LAST_UNKNOWN && k >= tx->last) {
        tx->base = tx->last + 1;
        tx->done = true;
        return BH_TFTP_ACT_DONE;
    }
    bool full = k + 1 == tx->next;
    tx->base = k + 1;
    if (full) {
        tx->partial_run = 0;
        return window_span(tx, tx->base, s);
    }
    /* A partial ACK: the client got blocks up to k in order and missed k+1.
     * RFC 7440 sec 4: the next window starts after the acknowledged block. */
    tx->partial_run = tx->partial_run && k == tx->last_partial + 1 ? tx->partial_run + 1 : 1;
    tx->last_partial = k;
    if (tx->partial_run >= PERBLOCK_ACK_RUN)
        tx->slide = true;
    return window_span(tx, tx->slide ? tx->next : tx->base, s);
}

enum bh_tftp_act bh_tftp_tx_on_timeout(struct bh_tftp_tx *tx, struct bh_tftp_span *s)
{
    if (tx->done)
        return BH_TFTP_ACT_NONE;
    if (++tx->tries > tx->max_tries)
        return BH_TFTP_ACT_FAIL;
    if (tx->base == 0) {
        *s = (struct bh_tftp_span){.oack = true};
        return BH_TFTP_ACT_SEND;
    }
    return window_span(tx, tx->base, s);
}

void bh_tftp_tx_sent(struct bh_tftp_tx *tx, uint64_t block)
{
    if (block < tx->next)
        tx->retransmits++;
    else
        tx->next = block + 1;
}

void bh_tftp_tx_set_last(struct bh_tftp_tx *tx, uint64_t block)
{
    assert(block >= tx->base || tx->base == 0);
    tx->last = block;
    if (tx->next > block + 1)
        tx->next = block + 1;
}

uint64_t bh_tftp_tx_timeout_ms(const struct bh_tftp_tx *tx, uint64_t base_ms)
{
    uint64_t t = base_ms ? base_ms : 1;
    for (uint32_t i = 0; i < tx->tries && t < BH_TFTP_BACKOFF_MAX_MS; i++)
        t *= 2;
    return min64(t, BH_TFTP_BACKOFF_MAX_MS);
}

/* ---- netascii ------------------------------------------------------------ */

size_t bh_tftp_ascii_encode(struct bh_tftp_ascii *st, const uint8_t *src, size_t n, uint8_t *out,
                            size_t cap)
{
    size_t o = 0, i = 0;
    if (st->has_pend && o < cap) {
        out[o++] = st->pend;
        st->has_pend = false;
    }
    while (o < cap && i < n) {
        uint8_t c = src[i++];
        if (c == '\n' || c == '\r') {
            out[o++] = '\r';
            uint8_t second = c == '\n' ? '\n' : '\0';
            if (o < cap) {
                out[o++] = second;
            } else {
                st->has_pend = true; /* the pair straddles the block boundary */
                st->pend = second;
            }
        } else {
            out[o++] = c;
        }
    }
    st->off += i;
    return o;
}

size_t bh_tftp_ascii_decode(bool *cr, const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        if (*cr) {
            *cr = false;
            if (c == '\n') {
                out[o++] = '\n';
                continue;
            }
            out[o++] = '\r';
            if (c == '\0')
                continue;
        }
        if (c == '\r')
            *cr = true;
        else
            out[o++] = c;
    }
    return o;
}
