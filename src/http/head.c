/*
 * head.c - check and classify an HTTP/1.x request head (RFC 9112).
 *
 * Strict where laxness lets a request mean two things (framing: Content-
 * Length, Transfer-Encoding, bare CR, obs-fold, whitespace before the
 * colon), lenient where RFC 9112 allows it (empty lines before the request
 * line, a bare LF ending a line).  The partial head is checked as it
 * arrives, so garbage (a TLS hello, binary noise) is refused at its first
 * byte instead of waiting for a line end that never comes.
 */
#include "head.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define VERSION_LEN 8 /* "HTTP/1.1" */

/* RFC 9110 5.6.2: tchar, the characters of a token */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 9112 3.2 / RFC 3986: a request target is printable ASCII; raw bytes
 * above 0x7f are not part of a URI and are refused, not guessed at */
static bool is_target_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

/* RFC 9110 5.5: field-vchar, SP, HTAB; obs-text (0x80-0xff) is kept as
 * opaque bytes.  CR, LF, NUL and other controls are refused. */
static bool is_value_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int refuse(struct bh_head *h, struct bh_err *err, int status, const char *type,
                  const char *field, const char *msg)
{
    int code = status == 414 || status == 431   ? BH_ETOOBIG
               : status == 501 || status == 505 ? BH_EUNSUPP
                                                : BH_EINVAL;
    h->status = status;
    return bh_err_sett(err, code, type, field, "%s", msg);
}

/* The head has not ended within what was read: wait, or refuse if the
 * cap is reached (RFC 9112 3: 414 for a request line too long to parse). */
static int more(struct bh_head *h, struct bh_err *err, size_t n, bool in_request_line)
{
    if (n < BH_HEAD_MAX)
        return BH_HEAD_MORE;
    if (in_request_line)
        return refuse(h, err, 414, "uri-too-long", NULL,
                      "the request line is longer than 65536 bytes");
    return refuse(h, err, 431, "header-fields-too-large", NULL,
                  "the request head is larger than 65536 bytes");
}

/* The line at off: [off, off+*len) without its LF or CRLF; *next is past
 * the LF.  False when no LF has arrived yet. */
static bool next_line(const char *p, size_t n, size_t off, size_t *len, size_t *next)
{
    const char *lf = memchr(p + off, '\n', n - off);
    if (!lf)
        return false;
    size_t e = (size_t)(lf - p);
    *next = e + 1;
    if (e > off && p[e - 1] == '\r')
        e--;
    *len = e - off;
    return true;
}

static int bad_line(struct bh_head *h, struct bh_err *err)
{
    return refuse(h, err, 400, "malformed-request", NULL,
                  "malformed request line: expected METHOD SP TARGET SP HTTP/1.1");
}

/* "GET /path HTTP/1.1"; s[0..len) is the whole line when complete, else
 * what has arrived of it (checked as a prefix). */
static int request_line(const char *s, size_t len, bool complete, struct bh_head *h,
                        struct bh_err *err)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)s[i]))
        i++;
    if (i == len && !complete)
        return BH_HEAD_MORE;
    if (i == 0 || i == len || s[i] != ' ')
        return bad_line(h, err);
    h->method = s;
    h->method_len = i;
    h->head_method = i == 4 && memcmp(s, "HEAD", 4) == 0;
    size_t t = ++i;
    while (i < len && is_target_char((unsigned char)s[i]))
        i++;
    h->path = h->target = s + t;
    h->path_len = h->target_len = i - t;
    if (i == len && !complete)
        return BH_HEAD_MORE;
    if (i == t || i == len || s[i] != ' ') {
        if (i < len && s[i] != ' ')
            return refuse(h, err, 400, "malformed-request", NULL,
                          "the request target holds a space, a control character or a byte "
                          "outside ASCII; percent-encode it");
        return bad_line(h, err);
    }
    const char *q = memchr(h->path, '?', h->path_len);
    if (q)
        h->path_len = (size_t)(q - h->path);
    const char *v = s + i + 1;
    size_t vn = len - i - 1;
    /* RFC 9112 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT */
    for (size_t k = 0; k < vn && k < VERSION_LEN; k++) {
        bool okc = k < 5 ? v[k] == "HTTP/"[k] : k == 6 ? v[k] == '.' : (v[k] >= '0' && v[k] <= '9');
        if (!okc)
            return bad_line(h, err);
    }
    if (vn < VERSION_LEN)
        return complete ? bad_line(h, err) : BH_HEAD_MORE;
    if (vn > VERSION_LEN)
        return bad_line(h, err);
    /* RFC 9110 2.5: a higher minor version of a major version we speak is
     * read as the highest minor we speak */
    if (v[5] != '1')
        return refuse(h, err, 505, "http-version-not-supported", NULL,
                      "this server speaks HTTP/1.0 and HTTP/1.1 only");
    h->minor = v[7] == '0' ? 0 : 1;
    return 0;
}

/* Transfer-Encoding, over every field line that carries it (RFC 9112 6.1,
 * 6.3): chunked must be the final coding and appear once; any other coding
 * is one this server does not understand. */
struct te_state {
    int n;              /* codings seen */
    bool last_chunked;  /* the latest coding was plain "chunked" */
    bool chunked_twice; /* chunked seen before another coding */
    bool unknown;       /* a coding other than chunked */
    bool malformed;     /* not a list of tokens */
};

static void te_add(struct te_state *te, const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        if (i == n)
            break;
        size_t s = i;
        while (i < n && is_tchar((unsigned char)v[i]))
            i++;
        if (i == s) {
            te->malformed = true;
            return;
        }
        bool chunked = i - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
        size_t e = i;
        while (i < n && v[i] != ',') /* parameters: not for chunked */
            i++;
        for (size_t k = e; k < i; k++)
            if (v[k] != ' ' && v[k] != '\t')
                chunked = false;
        if (te->last_chunked)
            te->chunked_twice = true;
        te->last_chunked = chunked;
        te->unknown |= !chunked;
        te->n++;
    }
}

/* Whether the comma-separated list v holds the token `tok` (before any
 * "/version"), case-insensitively. */
static bool list_has(const char *v, size_t n, const char *tok)
{
    size_t tn = strlen(tok);
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',' && v[i] != '/' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i - s == tn && strncasecmp(v + s, tok, tn) == 0)
            return true;
        while (i < n && v[i] != ',')
            i++;
    }
    return false;
}

struct fields {
    int count, hosts;
    bool cl_seen, ws;
    struct te_state te;
};

/* One field line "Name: value" (RFC 9112 5). */
static int field_line(const char *s, size_t len, struct fields *f, struct bh_head *h,
                      struct bh_err *err)
{
    if (s[0] == ' ' || s[0] == '\t') /* RFC 9112 5.2: obs-fold, refused */
        return refuse(h, err, 400, "malformed-request", NULL,
                      "a header line starts with whitespace (line folding is not allowed)");
    if (++f->count > BH_HEAD_MAX_FIELDS)
        return refuse(h, err, 431, "header-fields-too-large", NULL, "more than 100 header fields");
    const char *colon = memchr(s, ':', len);
    if (!colon)
        return refuse(h, err, 400, "malformed-request", NULL,
                      "a header line has no colon: expected 'Name: value'");
    size_t nn = (size_t)(colon - s);
    char name[64];
    for (size_t i = 0; i < nn; i++)
        if (!is_tchar((unsigned char)s[i])) /* RFC 9112 5.1: no space before ':' */
            return refuse(h, err, 400, "malformed-request", NULL,
                          "a header field name holds a space or a character outside a token");
    if (nn == 0)
        return refuse(h, err, 400, "malformed-request", NULL, "a header field has an empty name");
    size_t cn = nn < sizeof(name) - 1 ? nn : sizeof(name) - 1;
    memcpy(name, s, cn);
    name[cn] = '\0';
    const char *v = colon + 1, *end = s + len;
    for (const char *c = v; c < end; c++)
        if (!is_value_char((unsigned char)*c))
            return refuse(h, err, 400, "malformed-request", name,
                          "a header field value holds a CR, NUL or other control character");
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vn = (size_t)(end - v);
    if (!strcasecmp(name, "Host")) {
        f->hosts++;
        h->host = v;
        h->host_len = vn;
    } else if (!strcasecmp(name, "Content-Length")) {
        /* RFC 9112 6.3: an invalid Content-Length makes the framing
         * unreliable; one decimal number, said once */
        if (f->cl_seen)
            return refuse(h, err, 400, "bad-content-length", name,
                          "Content-Length is given more than once");
        f->cl_seen = true;
        if (vn == 0 || vn > 18)
            return refuse(h, err, 400, "bad-content-length", name,
                          "Content-Length must be a decimal number of bytes");
        int64_t x = 0;
        for (size_t i = 0; i < vn; i++) {
            if (v[i] < '0' || v[i] > '9')
                return refuse(h, err, 400, "bad-content-length", name,
                              "Content-Length must be a decimal number of bytes");
            x = x * 10 + (v[i] - '0');
        }
        h->content_length = x;
    } else if (!strcasecmp(name, "Transfer-Encoding")) {
        te_add(&f->te, v, vn);
        if (f->te.n == 0 || f->te.malformed)
            return refuse(h, err, 400, "bad-transfer-encoding", name,
                          "Transfer-Encoding must be a list of codings");
    } else if (!strcasecmp(name, "Upgrade")) {
        f->ws |= list_has(v, vn, "websocket");
    }
    return 0;
}

/* The checks that need the whole head. */
static int whole_head(const struct fields *f, struct bh_head *h, struct bh_err *err)
{
    /* RFC 9112 3.2: exactly one Host in HTTP/1.1, at most one in 1.0 */
    if (f->hosts > 1 || (f->hosts == 0 && h->minor == 1))
        return refuse(h, err, 400, "bad-host", "Host",
                      f->hosts ? "Host is given more than once" : "an HTTP/1.1 request needs Host");
    if (f->te.n) {
        if (h->minor == 0) /* RFC 9112 6.1 */
            return refuse(h, err, 400, "bad-transfer-encoding", "Transfer-Encoding",
                          "Transfer-Encoding is not allowed in an HTTP/1.0 request");
        if (f->cl_seen) /* RFC 9112 6.1: a smuggling attempt or a broken client */
            return refuse(h, err, 400, "bad-transfer-encoding", "Transfer-Encoding",
                          "a request may have Content-Length or Transfer-Encoding, not both");
        if (!f->te.last_chunked || f->te.chunked_twice) /* RFC 9112 6.3, 7 */
            return refuse(h, err, 400, "bad-transfer-encoding", "Transfer-Encoding",
                          "chunked must be the last transfer coding, and given once");
        if (f->te.unknown) /* RFC 9112 6.1: a coding not understood gets 501 */
            return refuse(h, err, 501, "unsupported-transfer-encoding", "Transfer-Encoding",
                          "the only transfer coding this server understands is chunked");
        h->chunked = true;
    }
    /* the pool: WebSocket handshakes, boot clients, everything else */
    const char *path = h->path;
    size_t pn = h->path_len;
    if (pn > 7 && (!strncasecmp(path, "http://", 7) || !strncasecmp(path, "https://", 8))) {
        /* absolute-form (RFC 9112 3.2.2): the path after the authority */
        const char *a = (const char *)memchr(path, ':', pn) + 3;
        const char *slash = memchr(a, '/', pn - (size_t)(a - path));
        pn = slash ? pn - (size_t)(slash - path) : 0;
        path = slash;
    }
    if (f->ws)
        h->cls = BH_CONN_WS;
    else if (pn >= 5 && !memcmp(path, "/boot", 5) && (pn == 5 || path[5] == '/'))
        h->cls = BH_CONN_BOOT;
    else
        h->cls = BH_CONN_API;
    return 0;
}

int bh_head_parse(const char *p, size_t n, struct bh_head *h, struct bh_err *err)
{
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
    if (err)
        bh_err_clear(err);
    size_t lim = n < BH_HEAD_MAX ? n : BH_HEAD_MAX;
    size_t off = 0, len, next;
    /* RFC 9112 2.2: empty lines before the request line are ignored */
    while (off < lim && (p[off] == '\n' || p[off] == '\r')) {
        if (p[off] == '\r' && off + 1 < lim && p[off + 1] != '\n')
            return bad_line(h, err); /* a bare CR */
        off++;
    }
    if (!next_line(p, lim, off, &len, &next)) {
        size_t part = lim - off;
        if (part && p[off + part - 1] == '\r') /* its LF is on the way */
            part--;
        int rc = request_line(p + off, part, false, h, err);
        /* a whole request line without its LF is still a prefix */
        return rc == BH_HEAD_MORE || rc == 0 ? more(h, err, n, true) : rc;
    }
    int rc = request_line(p + off, len, true, h, err);
    if (rc)
        return rc;
    off = next;
    struct fields f = {0};
    for (;;) {
        if (!next_line(p, lim, off, &len, &next))
            return more(h, err, n, false);
        if (memchr(p + off, '\r', len)) /* RFC 9112 2.2: a bare CR is invalid */
            return refuse(h, err, 400, "malformed-request", NULL,
                          "a header line holds a CR that does not end it");
        if (len == 0)
            break;
        rc = field_line(p + off, len, &f, h, err);
        if (rc)
            return rc;
        off = next;
    }
    rc = whole_head(&f, h, err);
    if (rc)
        return rc;
    h->len = next;
    return 0;
}

const char *bh_conn_class_name(enum bh_conn_class c)
{
    switch (c) {
    case BH_CONN_API: return "api";
    case BH_CONN_BOOT: return "boot";
    case BH_CONN_WS: return "ws";
    case BH_CONN__COUNT: break;
    }
    return "?";
}

/* ---- the redirect to HTTPS ------------------------------------------------ */

static bool is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 3986 3.2.2 host [":" port], in the characters a name or an address
 * is written with: a reg-name of unreserved characters (no percent-
 * encoding, no sub-delims: nothing a Location header could misread), an
 * IPv4 address (a reg-name's characters), or an IP-literal in brackets. */
static bool authority_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || n > 300)
        return false;
    if (s[0] == '[') {
        for (i = 1; i < n && s[i] != ']'; i++)
            if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
                return false;
        if (i == n || i == 1)
            return false;
        i++;
    } else {
        for (; i < n && s[i] != ':'; i++)
            if (!is_alnum((unsigned char)s[i]) && !strchr("-._~", s[i]))
                return false;
        if (i == 0)
            return false;
    }
    if (i == n)
        return true;
    if (s[i] != ':' || n - i - 1 > 5) /* RFC 3986 3.2.3: port = *DIGIT */
        return false;
    for (i++; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int bh_head_https_location(const struct bh_head *h, char *out, size_t cap, struct bh_err *err)
{
    const char *auth = h->host, *t = h->target;
    size_t an = h->host_len, tn = h->target_len;
    if (tn > 7 && (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8))) {
        /* absolute-form: its authority wins over Host (RFC 9112 3.2.2) */
        const char *a = (const char *)memchr(t, ':', tn) + 3;
        const char *slash = memchr(a, '/', tn - (size_t)(a - t));
        auth = a;
        an = slash ? (size_t)(slash - a) : tn - (size_t)(a - t);
        tn = slash ? tn - (size_t)(slash - t) : 0;
        t = slash;
    } else if (tn == 0 || t[0] != '/') { /* "*" or host:port */
        tn = 0;
    }
    if (!auth)
        return bh_err_sett(err, BH_EINVAL, "bad-host", "Host",
                           "this port speaks HTTPS; send Host so the redirect can name it");
    if (!authority_ok(auth, an))
        return bh_err_sett(err, BH_EINVAL, "bad-host", "Host",
                           "Host must be a name or address with an optional port");
    if (!tn) {
        t = "/";
        tn = 1;
    }
    const size_t sn = sizeof("https://") - 1;
    if (sn + an + tn >= cap || sn + an + tn > INT32_MAX)
        return bh_err_sett(err, BH_ETOOBIG, "uri-too-long", NULL,
                           "the request target is too long to redirect to HTTPS");
    memcpy(out, "https://", sn);
    memcpy(out + sn, auth, an);
    memcpy(out + sn + an, t, tn);
    out[sn + an + tn] = '\0';
    return (int)(sn + an + tn);
}

/* ---- the first TLS record -------------------------------------------------- */

bool bh_tls_record_start(const void *p, size_t n)
{
    return n >= 1 && ((const unsigned char *)p)[0] == BH_TLS_CONTENT_HANDSHAKE;
}

int bh_tls_hello_check(const void *p, size_t n, size_t *len, struct bh_err *err)
{
    const unsigned char *b = p;
    *len = 0;
    if (err)
        bh_err_clear(err);
    if (n < 1)
        return BH_HEAD_MORE;
    if (b[0] != BH_TLS_CONTENT_HANDSHAKE)
        return bh_err_sett(err, BH_EINVAL, "not-tls", NULL, "not a TLS handshake record");
    /* legacy_record_version: 0x0301 in a first ClientHello, 0x0303 else
     * (RFC 8446 5.1); SSL 3.0's 0x0300 is refused */
    if (n >= 2 && b[1] != 3)
        return bh_err_sett(err, BH_EINVAL, "not-tls", NULL, "not a TLS 1.x record");
    if (n >= 3 && (b[2] < 1 || b[2] > 4))
        return bh_err_sett(err, BH_EINVAL, "not-tls", NULL, "not a TLS 1.0-1.3 record");
    if (n < BH_TLS_RECORD_HEADER)
        return BH_HEAD_MORE;
    size_t rlen = (size_t)b[3] << 8 | b[4];
    /* a handshake header (4 bytes) and a client_version (2) at least */
    if (rlen < 6 || rlen > BH_TLS_RECORD_MAX)
        return bh_err_sett(err, BH_EINVAL, "not-tls", NULL,
                           "the first TLS record's length is out of range");
    const unsigned char *m = b + BH_TLS_RECORD_HEADER;
    size_t have = n - BH_TLS_RECORD_HEADER;
    if (have >= 1 && m[0] != BH_TLS_CLIENT_HELLO)
        return bh_err_sett(err, BH_EINVAL, "not-tls", NULL,
                           "the first TLS handshake message is not a ClientHello");
    if (have >= 4) {
        size_t mlen = (size_t)m[1] << 16 | (size_t)m[2] << 8 | m[3];
        /* the hello ends in this record or goes on in the next; nothing
         * follows it in the client's first flight */
        if (mlen + 4 < rlen)
            return bh_err_sett(err, BH_EINVAL, "not-tls", NULL,
                               "the first TLS record holds more than a ClientHello");
    }
    if (have >= 5 && m[4] != 3) /* legacy_version: 0x0303 (RFC 8446 4.1.2) */
        return bh_err_sett(err, BH_EINVAL, "not-tls", NULL, "not a TLS 1.x ClientHello");
    if (have < rlen)
        return BH_HEAD_MORE;
    *len = BH_TLS_RECORD_HEADER + rlen;
    return 0;
}
