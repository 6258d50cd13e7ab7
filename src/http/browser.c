/*
 * browser.c - reading Cookie, Origin, Accept-Encoding and If-None-Match
 * (see browser.h).
 *
 * These headers come from the network, so each function works on a
 * (pointer, length) it bounds first, walks it with indexes that are checked
 * before every read, and copies nothing.  Lists are split at commas or
 * semicolons without unquoting: a member with a quoted comma reads as two
 * malformed members, which every caller treats as "not there".
 */
#include "browser.h"

#include <string.h>
#include <strings.h>

#define ORIGIN_MAX 300  /* scheme, host and port: RFC 1035's 255 and some */
#define LIST_MAX   8192 /* Accept-Encoding, If-None-Match */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* [*s, *e) without the whitespace at both ends */
static void trim(const char *p, size_t *s, size_t *e)
{
    while (*s < *e && is_ows(p[*s]))
        (*s)++;
    while (*e > *s && is_ows(p[*e - 1]))
        (*e)--;
}

bool bh_cookie_find(const char *hdr, size_t len, const char *name, size_t skip, const char **val,
                    size_t *vlen)
{
    if (!hdr || !name || len > BH_COOKIE_HEADER_MAX)
        return false;
    size_t nn = strlen(name);
    if (nn == 0)
        return false;
    const char *nul = memchr(hdr, '\0', len);
    if (nul)
        len = (size_t)(nul - hdr);
    size_t i = 0;
    while (i < len) {
        const char *semi = memchr(hdr + i, ';', len - i);
        size_t s = i, e = semi ? (size_t)(semi - hdr) : len;
        i = semi ? e + 1 : len;
        trim(hdr, &s, &e);
        const char *eq = memchr(hdr + s, '=', e - s);
        if (!eq)
            continue; /* RFC 6265 5.2: a pair without '=' is ignored */
        size_t ns = s, ne = (size_t)(eq - hdr), vs = ne + 1, ve = e;
        trim(hdr, &ns, &ne);
        trim(hdr, &vs, &ve);
        if (ne - ns != nn || memcmp(hdr + ns, name, nn) != 0)
            continue;
        if (ve - vs >= 2 && hdr[vs] == '"' && hdr[ve - 1] == '"') {
            vs++;
            ve--;
        }
        if (skip) {
            skip--;
            continue;
        }
        *val = hdr + vs;
        *vlen = ve - vs;
        return true;
    }
    return false;
}

/* ---- Origin -------------------------------------------------------------- */

struct authority {
    const char *host;
    size_t hn;
    unsigned long port; /* 0: the scheme's default */
};

/* RFC 3986 3.2: host [":" port], the host a name, an IPv4 address or an
 * IPv6 literal in brackets.  Nothing else (no userinfo, path or space). */
static bool split_authority(const char *s, size_t n, unsigned long dflt, struct authority *a)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("/?#@\\\"<>{}|^`", c))
            return false;
    }
    size_t hn;
    if (s[0] == '[') {
        const char *rb = memchr(s, ']', n);
        if (!rb)
            return false;
        hn = (size_t)(rb - s) + 1;
        if (hn < n && s[hn] != ':')
            return false;
    } else {
        const char *colon = memchr(s, ':', n);
        hn = colon ? (size_t)(colon - s) : n;
        if (colon && memchr(colon + 1, ':', n - hn - 1))
            return false; /* an IPv6 address needs brackets */
    }
    if (hn == 0)
        return false;
    a->host = s;
    a->hn = hn;
    a->port = 0;
    if (hn < n) { /* ":port", 1..5 digits up to 65535 */
        size_t pn = n - hn - 1;
        if (pn == 0 || pn > 5)
            return false;
        unsigned long p = 0;
        for (size_t i = hn + 1; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            p = p * 10 + (unsigned long)(s[i] - '0');
        }
        if (p == 0 || p > 65535)
            return false;
        a->port = p == dflt ? 0 : p;
    }
    return true;
}

bool bh_origin_same(const char *origin, const char *host, bool secure)
{
    const char *scheme = secure ? "https://" : "http://";
    size_t sl = strlen(scheme);
    unsigned long dflt = secure ? 443 : 80;
    if (!origin || !host)
        return false;
    size_t on = strnlen(origin, ORIGIN_MAX + 1), hn = strnlen(host, ORIGIN_MAX + 1);
    if (on > ORIGIN_MAX || hn > ORIGIN_MAX || on <= sl || strncasecmp(origin, scheme, sl) != 0)
        return false;
    struct authority o, h;
    if (!split_authority(origin + sl, on - sl, dflt, &o) || !split_authority(host, hn, dflt, &h))
        return false;
    return o.port == h.port && o.hn == h.hn && strncasecmp(o.host, h.host, o.hn) == 0;
}

/* ---- Accept-Encoding ----------------------------------------------------- */

static bool is_tchar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 9110 12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
 * -1 if malformed, else 1 if above zero, 0 if zero. */
static int qvalue(const char *p, size_t n)
{
    if (n == 0 || (p[0] != '0' && p[0] != '1') || (n > 1 && p[1] != '.') || n > 5)
        return -1;
    bool above = p[0] == '1';
    for (size_t i = 2; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || (p[0] == '1' && p[i] != '0'))
            return -1;
        above |= p[i] != '0';
    }
    return above;
}

/* One member "coding *( OWS ; OWS name=value )" of p[s, e): its coding as
 * [*ts, *te) and 1/0 for q above zero or zero; -1 if malformed. */
static int coding(const char *p, size_t s, size_t e, size_t *ts, size_t *te)
{
    size_t i = s;
    while (i < e && is_tchar(p[i]))
        i++;
    if (i == s)
        return -1;
    *ts = s;
    *te = i;
    int q = 1;
    while (i < e) {
        while (i < e && is_ows(p[i]))
            i++;
        if (i == e || p[i] != ';')
            return -1;
        i++;
        while (i < e && is_ows(p[i]))
            i++;
        size_t ks = i;
        while (i < e && is_tchar(p[i]))
            i++;
        size_t ke = i;
        if (ke == ks || i == e || p[i] != '=')
            return -1;
        size_t vs = ++i;
        while (i < e && !is_ows(p[i]) && p[i] != ';')
            i++;
        if (ke - ks == 1 && (p[ks] == 'q' || p[ks] == 'Q') && (q = qvalue(p + vs, i - vs)) < 0)
            return -1;
    }
    return q;
}

bool bh_accepts_gzip(const char *ae)
{
    if (!ae)
        return false;
    size_t n = strnlen(ae, LIST_MAX + 1);
    if (n > LIST_MAX)
        return false;
    int gz = -1, star = -1; /* -1 not listed, else the first listing's verdict */
    for (size_t i = 0; i < n;) {
        const char *comma = memchr(ae + i, ',', n - i);
        size_t s = i, e = comma ? (size_t)(comma - ae) : n;
        i = comma ? e + 1 : n;
        trim(ae, &s, &e);
        size_t ts, te;
        int q = s < e ? coding(ae, s, e, &ts, &te) : -1;
        if (q < 0)
            continue;
        size_t tn = te - ts;
        if (gz < 0 && ((tn == 4 && !strncasecmp(ae + ts, "gzip", 4)) ||
                       (tn == 6 && !strncasecmp(ae + ts, "x-gzip", 6))))
            gz = q;
        else if (star < 0 && tn == 1 && ae[ts] == '*')
            star = q;
    }
    return gz >= 0 ? gz == 1 : star == 1;
}

/* ---- If-None-Match ------------------------------------------------------- */

bool bh_etag_listed(const char *inm, const char *etag)
{
    if (!inm || !etag)
        return false;
    size_t n = strnlen(inm, LIST_MAX + 1), en = strlen(etag);
    if (n > LIST_MAX)
        return false;
    if (en >= 2 && etag[0] == 'W' && etag[1] == '/') {
        etag += 2;
        en -= 2;
    }
    size_t s = 0, e = n;
    trim(inm, &s, &e);
    if (e - s == 1 && inm[s] == '*')
        return true;
    for (size_t i = 0; i < n;) {
        const char *comma = memchr(inm + i, ',', n - i);
        e = comma ? (size_t)(comma - inm) : n;
        s = i;
        i = comma ? e + 1 : n;
        trim(inm, &s, &e);
        if (e - s >= 2 && inm[s] == 'W' && inm[s + 1] == '/')
            s += 2;
        if (e - s == en && en > 0 && memcmp(inm + s, etag, en) == 0)
            return true;
    }
    return false;
}
