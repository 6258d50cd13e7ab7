/*
 * client.c - HTTP requests to the API through libcurl.
 */
#include "cli.h"

#include "core/buf.h"
#include "core/ini.h"
#include "core/str.h"
#include "daemon/daemon.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

int bh_cli_setup(struct bh_cli *c, const char *url, const char *token, const char *data,
                 struct bh_err *err)
{
    char path[4096];
    if (!url)
        url = getenv("BOOTHERD_URL");
    if (!token)
        token = getenv("BOOTHERD_TOKEN");
    if (!data)
        data = "./var";
    if (url) {
        bh_strlcpy(c->url, url, sizeof(c->url));
    } else {
        char addr[128];
        snprintf(path, sizeof(path), "%s/%s", data, BH_ADDR_FILE);
        if (read_small(path, addr, sizeof(addr), err))
            return bh_err_set(err, BH_ENOTFOUND, NULL,
                              "no server given and %s is unreadable (is bootherd serve running "
                              "with --data %s?); use --url or BOOTHERD_URL",
                              path, data);
        snprintf(c->url, sizeof(c->url), "http://%s", addr);
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
    char url[4096], auth[200], ct[128], im[96];
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
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    /* a stuck server: give up after a minute without a byte */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "bootherd-cli/" BH_VERSION);
    if (c->token[0]) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
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
        return bh_err_set(err, BH_EIO, NULL, "cannot reach bootherd at %s: %s", c->url,
                          curl_easy_strerror(cc));
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
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

int bh_cli_fail_json(const char *what, long status, const json_t *p)
{
    const char *title = json_string_value(json_object_get(p, "title"));
    const char *detail = json_string_value(json_object_get(p, "detail"));
    const char *field = json_string_value(json_object_get(p, "field"));
    char f[160] = "";
    if (field)
        snprintf(f, sizeof(f), " [field: %s]", field);
    fprintf(stderr, "bootherd: %s: %s (HTTP %ld)%s%s%s\n", what, title ? title : "failed", status,
            detail ? ": " : "", detail ? detail : "", f);
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

int bh_cli_show(struct bh_cli *c, const char *method, const char *path, const json_t *body,
                const char *what, long want)
{
    long status;
    json_t *out = NULL;
    struct bh_err e;
    if (bh_cli_json(c, method, path, body, &status, &out, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    int rc = 0;
    if (status != want)
        rc = bh_cli_fail_json(what, status, out);
    else if (out && c->json)
        bh_out_json(out);
    else if (out)
        bh_out_show(out);
    json_decref(out);
    return rc;
}
