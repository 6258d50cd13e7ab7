/*
 * client.c - HTTP requests to the API through libcurl, and how a client
 * finds and checks its server (client.h).
 */
#include "client.h"

#include "core/buf.h"
#include "core/ini.h"
#include "core/str.h"
#include "core/datadir.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define RESP_MAX (256u << 20)

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
        s[--n] = '\0';
}

static int read_small(const char *path, char *out, size_t cap, struct bh_err *err)
{
    char *text;
    size_t len;
    int rc = bh_read_file(path, 4096, &text, &len, err);
    if (rc)
        return rc;
    bh_strlcpy(out, text, cap);
    free(text);
    chomp(out);
    return 0;
}

bool bh_cli_pin_valid(const char *pin)
{
    char one[BH_TLS_PIN_MAX];
    int n = 0;
    for (const char *p = pin;; p++) {
        size_t len = strcspn(p, ";");
        if (len >= sizeof(one) || ++n > BH_CLI_PINS_MAX)
            return false;
        memcpy(one, p, len);
        one[len] = '\0';
        if (!bh_tls_pin_valid(one))
            return false;
        p += len;
        if (!*p)
            return true;
    }
}

/* The pin and CA file: flags (already in c), else the environment, else
 * for a server found through DIR, DIR/tls/cert.pem. */
static int tls_setup(struct bh_cli *c, const char *data, bool from_data, struct bh_err *err)
{
    const char *v;
    if (!c->cacert[0] && (v = getenv("BOOTHERD_CACERT")) && *v)
        bh_strlcpy(c->cacert, v, sizeof(c->cacert));
    if (!c->pin[0] && (v = getenv("BOOTHERD_PIN")) && *v) {
        if (strlen(v) >= sizeof(c->pin))
            return bh_err_set(err, BH_EINVAL, "pin", "BOOTHERD_PIN is too long");
        bh_strlcpy(c->pin, v, sizeof(c->pin));
        bh_strlcpy(c->pin_from, "BOOTHERD_PIN", sizeof(c->pin_from));
    } else if (c->pin[0] && !c->pin_from[0]) {
        bh_strlcpy(c->pin_from, "--pin", sizeof(c->pin_from));
    }
    if (c->pin[0] && !bh_cli_pin_valid(c->pin))
        return bh_err_set(err, BH_EINVAL, "pin",
                          "%s: a pin is sha256// and 44 base64 characters (as bootherd init "
                          "--tls prints it), several separated by ';'",
                          c->pin_from);
    if (c->cacert[0] && access(c->cacert, R_OK) != 0)
        return bh_err_set(err, BH_EINVAL, "cacert", "CA file %s: %s", c->cacert, strerror(errno));
    if (c->pin[0] || c->cacert[0] || !from_data || strncmp(c->url, "https://", 8) != 0)
        return 0;
    char path[PATH_MAX + 32], *pem;
    size_t len;
    snprintf(path, sizeof(path), "%s/%s", data, BH_TLS_CERT_FILE);
    if (access(path, F_OK) != 0)
        return 0; /* an admin's certificate elsewhere: the system's CAs check it */
    int rc = bh_read_file(path, BH_TLS_PEM_MAX, &pem, &len, err);
    if (!rc) {
        rc = bh_tls_cert_pin(pem, len, c->pin, err);
        free(pem);
    }
    if (rc)
        return bh_err_set(err, BH_EINVAL, NULL, "%s: %s", path, err ? err->msg : "unreadable");
    bh_strlcpy(c->pin_from, path, sizeof(c->pin_from));
    return 0;
}

int bh_cli_setup(struct bh_cli *c, const char *url, const char *token, const char *data,
                 struct bh_err *err)
{
    char path[4096];
    bool data_given = data != NULL, from_data = false;
    if (!url)
        url = getenv("BOOTHERD_URL");
    if (!token)
        token = getenv("BOOTHERD_TOKEN");
    if (!data)
        data = "./var";
    if (url) {
        bh_strlcpy(c->url, url, sizeof(c->url));
        from_data = data_given;
    } else {
        char addr[128];
        from_data = true;
        snprintf(path, sizeof(path), "%s/%s", data, BH_URL_FILE);
        if (read_small(path, c->url, sizeof(c->url), NULL) == 0 &&
            (!strncmp(c->url, "http://", 7) || !strncmp(c->url, "https://", 8))) {
            /* the URL serve wrote, scheme included */
        } else {
            snprintf(path, sizeof(path), "%s/%s", data, BH_ADDR_FILE);
            if (read_small(path, addr, sizeof(addr), err))
                return bh_err_set(err, BH_ENOTFOUND, NULL,
                                  "no server given and %s is unreadable (is bootherd serve "
                                  "running with --data %s?); use --url or BOOTHERD_URL",
                                  path, data);
            /* a data directory with a certificate serves HTTPS: never send
             * its token in the clear to guess the scheme */
            snprintf(path, sizeof(path), "%s/%s", data, BH_TLS_CERT_FILE);
            snprintf(c->url, sizeof(c->url), "%s://%s", access(path, F_OK) == 0 ? "https" : "http",
                     addr);
        }
    }
    chomp(c->url);
    size_t n = strlen(c->url);
    while (n && c->url[n - 1] == '/')
        c->url[--n] = '\0';
    if (token) {
        bh_strlcpy(c->token, token, sizeof(c->token));
    } else {
        snprintf(path, sizeof(path), "%s/%s", data, BH_TOKEN_FILE);
        if (read_small(path, c->token, sizeof(c->token), NULL))
            c->token[0] = '\0'; /* public endpoints still work; others say 401 */
    }
    if (tls_setup(c, data, from_data, err))
        return BH_EINVAL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c->curl = curl_easy_init();
    if (!c->curl)
        return bh_err_set(err, BH_ENOMEM, NULL, "cannot initialise libcurl");
    return 0;
}

void bh_cli_cleanup(struct bh_cli *c)
{
    if (c->curl)
        curl_easy_cleanup(c->curl);
    c->curl = NULL;
    explicit_bzero(c->token, sizeof(c->token));
}

void bh_client_curl_base(void *curl, const char *who, long connect_secs, long stall_secs)
{
    CURL *h = curl;
    char ua[64];
    snprintf(ua, sizeof(ua), "bootherd-%s/%s", who, BH_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect_secs);
    /* a stuck server: give up after stall_secs without a byte */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, stall_secs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, ua); /* libcurl copies it */
}

void bh_client_auth_header(const char *token, char *out, size_t cap)
{
    if (token && token[0])
        snprintf(out, cap, "Authorization: Bearer %s", token);
    else if (cap)
        out[0] = '\0';
}

void bh_cli_tls_setopt(const struct bh_cli *c, void *curl)
{
    CURL *h = curl;
    if (c->cacert[0])
        curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
    if (c->pin[0]) {
        curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, c->pin);
        if (!c->cacert[0]) {
            /* the pin is the check: it names the server's key exactly, so
             * a self-made certificate needs no CA and no matching name
             * (libcurl checks the pin with or without these) */
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
        }
    }
}

/* What went wrong with TLS, in the admin's terms. */
static int tls_fail(const struct bh_cli *c, CURLcode cc, const char *detail, struct bh_err *err)
{
    if (cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
        return bh_err_set(err, BH_EAUTH, NULL,
                          "%s is not the server pinned by %s: its key differs (%s).  A "
                          "different server answers, or its certificate was remade: on the "
                          "server, `bootherd init --tls --data DIR` prints the pin",
                          c->url, c->pin_from, detail);
    return bh_err_set(err, BH_EAUTH, NULL,
                      "cannot verify the certificate of %s: %s.  For a certificate that "
                      "bootherd init made, pass --pin sha256//... (init printed it) or --data "
                      "DIR of that server; for an admin's own CA, --cacert FILE",
                      c->url, detail);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct bh_buf *b = ud;
    return bh_buf_add(b, p, sz * n) ? 0 : sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct bh_resp *r = ud;
    size_t len = sz * n;
    char line[256];
    if (len >= sizeof(line))
        return len;
    memcpy(line, p, len);
    line[len] = '\0';
    chomp(line);
    if (strncasecmp(line, "ETag:", 5) == 0)
        bh_strlcpy(r->etag, line + 5 + strspn(line + 5, " "), sizeof(r->etag));
    else if (strncasecmp(line, "Content-Type:", 13) == 0)
        bh_strlcpy(r->ctype, line + 13 + strspn(line + 13, " "), sizeof(r->ctype));
    return len;
}

int bh_cli_request(struct bh_cli *c, const char *method, const char *path, const char *ctype,
                   const char *body, size_t len, const char *if_match, struct bh_resp *out,
                   struct bh_err *err)
{
    CURL *h = c->curl;
    char url[4096], auth[200], ct[128], im[96], ebuf[CURL_ERROR_SIZE] = "";
    struct bh_buf b;
    struct curl_slist *hdrs = NULL;
    memset(out, 0, sizeof(*out));
    bh_buf_init(&b, RESP_MAX);
    snprintf(url, sizeof(url), "%s%s", c->url, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    bh_client_curl_base(h, "cli", 10L, 60L); /* a stuck server: a minute without a byte */
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    bh_cli_tls_setopt(c, h);
    bh_client_auth_header(c->token, auth, sizeof(auth));
    if (auth[0])
        hdrs = curl_slist_append(hdrs, auth);
    if (body) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", ctype ? ctype : "application/json");
        hdrs = curl_slist_append(hdrs, ct);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    }
    if (if_match) {
        snprintf(im, sizeof(im), "If-Match: %s", if_match);
        hdrs = curl_slist_append(hdrs, im);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    explicit_bzero(auth, sizeof(auth));
    if (cc != CURLE_OK) {
        bh_buf_free(&b);
        const char *detail = ebuf[0] ? ebuf : curl_easy_strerror(cc);
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH ||
            cc == CURLE_SSL_CACERT_BADFILE)
            return tls_fail(c, cc, detail, err);
        return bh_err_set(err, BH_EIO, NULL, "cannot reach bootherd at %s: %s", c->url, detail);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    if (out->status == 308 && !strncmp(c->url, "http://", 7)) {
        /* the front door's answer to plain HTTP on its TLS port */
        bh_buf_free(&b);
        return bh_err_set(err, BH_EIO, NULL,
                          "%s speaks HTTPS: use https://%s (--url or BOOTHERD_URL)", c->url,
                          c->url + 7);
    }
    out->len = b.len;
    out->body = bh_buf_steal(&b);
    if (!out->body)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    return 0;
}

void bh_resp_free(struct bh_resp *r)
{
    free(r->body);
    r->body = NULL;
}

int bh_cli_json(struct bh_cli *c, const char *method, const char *path, const json_t *body,
                long *status, json_t **out, struct bh_err *err)
{
    char *s = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !s)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    struct bh_resp r;
    int rc = bh_cli_request(c, method, path, NULL, s, s ? strlen(s) : 0, NULL, &r, err);
    free(s);
    if (rc)
        return rc;
    *status = r.status;
    *out = r.len ? json_loadb(r.body, r.len, 0, NULL) : NULL;
    bh_resp_free(&r);
    return 0;
}

/* The bh_err code of an HTTP refusal (client.h). */
static int status_code(long status)
{
    switch (status) {
    case 401: return BH_EAUTH;
    case 403: return BH_EPERM;
    case 404: return BH_ENOTFOUND;
    case 409: return BH_ECONFLICT;
    case 412: return BH_EPRECOND;
    case 413: return BH_ETOOBIG;
    case 503: return BH_EBUSY;
    default: return status >= 400 && status < 500 ? BH_EINVAL : BH_EIO;
    }
}

int bh_client_problem(const char *what, long status, const json_t *p, struct bh_err *err)
{
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *detail = json_string_value(json_object_get(p, "detail"));
    const char *field = json_string_value(json_object_get(p, "field"));
    char f[160] = "";
    if (field)
        snprintf(f, sizeof(f), " [field: %s]", field);
    return bh_err_set(err, status_code(status), field, "%s: %s (HTTP %ld)%s%s%s", what,
                      title ? title : "failed", status, detail ? ": " : "", detail ? detail : "",
                      f);
}

int bh_client_problem_resp(const char *what, long status, const char *body, struct bh_err *err)
{
    json_t *p = body ? json_loads(body, 0, NULL) : NULL;
    int rc = bh_client_problem(what, status, p, err);
    json_decref(p);
    return rc;
}

int bh_cli_fail_json(const char *what, long status, const json_t *p)
{
    struct bh_err e;
    bh_client_problem(what, status, p, &e);
    fprintf(stderr, "bootherd: %s\n", e.msg);
    return 1;
}

int bh_cli_fail_resp(const char *what, long status, const char *body)
{
    json_t *p = body ? json_loads(body, 0, NULL) : NULL;
    int rc = bh_cli_fail_json(what, status, p);
    json_decref(p);
    return rc;
}

void bh_cli_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~:", ch)) {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = '\0';
}

int bh_client_list_all(struct bh_cli *c, const char *path, const char *what, json_t **items,
                       struct bh_err *err)
{
    json_t *all = json_array();
    char cursor[256] = "";
    *items = NULL;
    if (!all)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    for (;;) {
        char url[1024];
        int n = snprintf(url, sizeof(url), "%s%s%s%s", path,
                         cursor[0] ? (strchr(path, '?') ? "&" : "?") : "",
                         cursor[0] ? "after=" : "", cursor);
        long status;
        json_t *page = NULL;
        int rc = 0;
        if (n < 0 || (size_t)n >= sizeof(url))
            rc = bh_err_set(err, BH_ETOOBIG, NULL, "%s: list path too long", what);
        else
            rc = bh_cli_json(c, "GET", url, NULL, &status, &page, err);
        if (!rc && status != 200)
            rc = bh_client_problem(what, status, page, err);
        if (rc) {
            json_decref(page);
            json_decref(all);
            return rc;
        }
        json_array_extend(all, json_object_get(page, "items"));
        json_t *next = json_object_get(page, "next");
        bool more = json_is_string(next);
        if (more)
            bh_cli_escape(json_string_value(next), cursor, sizeof(cursor));
        json_decref(page);
        if (!more)
            break;
    }
    *items = all;
    return 0;
}
