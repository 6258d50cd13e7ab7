/*
 * httpsrc.c - see httpsrc.h.  A pool of libcurl easy handles under a
 * mutex: a request borrows one (with its live connection) and returns it,
 * so concurrent callers never share a handle and idle connections are
 * reused by whoever comes next.
 */
#include "httpsrc.h"

#include "client.h"

#include "core/str.h"
#include "core/timeutil.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RETRY_SECS_DEFAULT 60
#define STALL_SECS_DEFAULT 15
#define BACKOFF_FIRST_MS   100
#define BACKOFF_MAX_MS     2000
#define MANIFEST_MAX       ((size_t)64 + (size_t)48 * BH_MF_EXTENTS_MAX)
#define ERRBODY_MAX        4096

struct conn {
    CURL *h;
    struct curl_slist *hdrs;
    struct conn *next;
};

struct bh_httpsrc {
    char server[512];
    char auth[256];
    int retry_secs, stall_secs;
    pthread_mutex_t mu;
    struct conn *idle;
    uint64_t bytes, retries; /* atomic */
};

/* one request's sink */
struct sink {
    struct bh_httpsrc *s;
    struct bh_buf *body;
    char mid[BH_SHA256_HEX]; /* X-Manifest-Id */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int bh_httpsrc_open(const struct bh_httpsrc_opts *o, struct bh_httpsrc **out, struct bh_err *err)
{
    if (!o->server || (strncmp(o->server, "http://", 7) && strncmp(o->server, "https://", 8)))
        return bh_err_set(err, BH_EINVAL, "server",
                          "the server must be an http:// or https:// URL");
    if (strlen(o->server) >= sizeof(((struct bh_httpsrc *)0)->server))
        return bh_err_set(err, BH_EINVAL, "server", "the server URL is too long");
    if (o->token && strlen(o->token) > 200)
        return bh_err_set(err, BH_EINVAL, "token", "the token is too long");
    pthread_once(&curl_once, curl_init_once);
    struct bh_httpsrc *s = calloc(1, sizeof(*s));
    if (!s)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    bh_strlcpy(s->server, o->server, sizeof(s->server));
    size_t n = strlen(s->server);
    while (n > 8 && s->server[n - 1] == '/')
        s->server[--n] = '\0';
    bh_client_auth_header(o->token, s->auth, sizeof(s->auth));
    s->retry_secs = o->retry_secs > 0 ? o->retry_secs : RETRY_SECS_DEFAULT;
    s->stall_secs = o->stall_secs > 0 ? o->stall_secs : STALL_SECS_DEFAULT;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void bh_httpsrc_close(struct bh_httpsrc *s)
{
    if (!s)
        return;
    while (s->idle) {
        struct conn *c = s->idle;
        s->idle = c->next;
        curl_easy_cleanup(c->h);
        curl_slist_free_all(c->hdrs);
        free(c);
    }
    pthread_mutex_destroy(&s->mu);
    explicit_bzero(s->auth, sizeof(s->auth));
    free(s);
}

uint64_t bh_httpsrc_bytes(const struct bh_httpsrc *s)
{
    return __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
}

uint64_t bh_httpsrc_retries(const struct bh_httpsrc *s)
{
    return __atomic_load_n(&s->retries, __ATOMIC_RELAXED);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct sink *k = ud;
    __atomic_add_fetch(&k->s->bytes, (uint64_t)(sz * n), __ATOMIC_RELAXED);
    return bh_buf_add(k->body, p, sz * n) ? 0 : sz * n; /* 0: over the cap, curl stops */
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct sink *k = ud;
    size_t len = sz * n;
    static const char name[] = "X-Manifest-Id:";
    if (len > sizeof(name) && strncasecmp(p, name, sizeof(name) - 1) == 0) {
        const char *v = p + sizeof(name) - 1;
        size_t vl = len - (sizeof(name) - 1);
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl == BH_SHA256_HEX - 1) {
            memcpy(k->mid, v, vl);
            k->mid[vl] = '\0';
        }
    }
    return len;
}

static struct conn *borrow(struct bh_httpsrc *s)
{
    pthread_mutex_lock(&s->mu);
    struct conn *c = s->idle;
    if (c)
        s->idle = c->next;
    pthread_mutex_unlock(&s->mu);
    if (c)
        return c;
    c = calloc(1, sizeof(*c));
    if (!c || !(c->h = curl_easy_init())) {
        free(c);
        return NULL;
    }
    if (s->auth[0])
        c->hdrs = curl_slist_append(NULL, s->auth);
    CURL *h = c->h;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    /* a stalled server (stopped, cable pulled): give up on this try after
     * stall_secs without a byte, and retry */
    bh_client_curl_base(h, "agent", (long)s->stall_secs, (long)s->stall_secs);
    return c;
}

static void give_back(struct bh_httpsrc *s, struct conn *c)
{
    pthread_mutex_lock(&s->mu);
    c->next = s->idle;
    s->idle = c;
    pthread_mutex_unlock(&s->mu);
}

static bool transient(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
    }
}

static bool transient_status(long st)
{
    return st == 502 || st == 503 || st == 504;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* GET path into body (replaced); retries transient failures.  0 with
 * *status set for any final HTTP answer. */
static int get(struct bh_httpsrc *s, const char *path, const char *what, struct bh_buf *body,
               long *status, struct sink *k, struct bh_err *err)
{
    char url[1024];
    if ((size_t)snprintf(url, sizeof(url), "%s%s", s->server, path) >= sizeof(url))
        return bh_err_set(err, BH_EINVAL, NULL, "%s: URL too long", what);
    struct conn *c = borrow(s);
    if (!c)
        return bh_err_set(err, BH_ENOMEM, NULL, "cannot set up an HTTP connection (libcurl)");
    uint64_t first_fail = 0;
    long pause = BACKOFF_FIRST_MS;
    int rc;
    for (;;) {
        bh_buf_reset(body);
        k->s = s;
        k->body = body;
        k->mid[0] = '\0';
        curl_easy_setopt(c->h, CURLOPT_URL, url);
        curl_easy_setopt(c->h, CURLOPT_WRITEDATA, k);
        curl_easy_setopt(c->h, CURLOPT_HEADERDATA, k);
        CURLcode cc = curl_easy_perform(c->h);
        long st = 0;
        if (cc == CURLE_OK)
            curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &st);
        if (cc == CURLE_WRITE_ERROR) {
            rc = bh_err_set(err, BH_ETOOBIG, NULL, "%s: the answer is larger than %zu bytes", what,
                            body->max);
            break;
        }
        if (cc == CURLE_OK && !transient_status(st)) {
            *status = st;
            rc = 0;
            break;
        }
        if (cc != CURLE_OK && !transient(cc)) {
            rc = bh_err_set(err, BH_EIO, NULL, "%s from %s: %s", what, s->server,
                            curl_easy_strerror(cc));
            break;
        }
        uint64_t now = bh_mono_ns();
        if (!first_fail)
            first_fail = now;
        double waited = (double)(now - first_fail) / 1e9;
        if (waited >= s->retry_secs) {
            char last[128];
            if (cc != CURLE_OK)
                bh_strlcpy(last, curl_easy_strerror(cc), sizeof(last));
            else
                snprintf(last, sizeof(last), "HTTP %ld", st);
            rc = bh_err_sett(err, BH_EIO, "server-unreachable", NULL,
                             "%s: the server at %s has not answered for %.0f s (last: %s); "
                             "giving up",
                             what, s->server, waited, last);
            break;
        }
        __atomic_add_fetch(&s->retries, 1, __ATOMIC_RELAXED);
        sleep_ms(pause);
        pause = pause * 2 < BACKOFF_MAX_MS ? pause * 2 : BACKOFF_MAX_MS;
    }
    give_back(s, c);
    return rc;
}

/* a refusal, with the server's problem (RFC 9457) when it sent one */
static int refused(long st, const struct bh_buf *b, const char *what, struct bh_err *err)
{
    int code = st == 401 ? BH_EAUTH : st == 403 ? BH_EPERM : st == 404 ? BH_ENOTFOUND : BH_EIO;
    const char *hint = st == 401   ? " (is the token right?)"
                       : st == 403 ? " (the token may not read images)"
                                   : "";
    json_t *p = b->p ? json_loadb(b->p, b->len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(p, "type"));
    const char *detail = json_string_value(json_object_get(p, "detail"));
    const char *colon = type ? strrchr(type, ':') : NULL;
    int rc;
    if (colon && !strcmp(colon + 1, "corrupt-chunk"))
        rc = bh_err_sett(err, BH_EIO, "corrupt-chunk", NULL,
                         "%s: the server's copy is corrupt (HTTP %ld); nothing of it was written. "
                         "An operator should run `bootherd image verify` on the server",
                         what, st);
    else if (colon)
        rc = bh_err_set(err, code, NULL, "%s: HTTP %ld%s: %s: %s", what, st, hint, colon + 1,
                        detail ? detail : "");
    else {
        int shown = 0;
        while (b->p && (size_t)shown < b->len && shown < 300 && b->p[shown] >= 0x20 &&
               b->p[shown] < 0x7f)
            shown++;
        rc = bh_err_set(err, code, NULL, "%s: HTTP %ld%s%s%.*s", what, st, hint, shown ? ": " : "",
                        shown, b->p ? b->p : "");
    }
    json_decref(p);
    return rc;
}

int bh_httpsrc_fetch(void *ud, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z,
                     struct bh_err *err)
{
    struct bh_httpsrc *s = ud;
    char hex[BH_SHA256_HEX], path[128], what[96];
    bh_hex_id(id, hex);
    snprintf(path, sizeof(path), "/api/v1/chunks/%s", hex);
    snprintf(what, sizeof(what), "chunk %.16s", hex);
    struct sink k;
    long st = 0;
    int rc = get(s, path, what, z, &st, &k, err);
    if (!rc && st != 200)
        rc = refused(st, z, what, err);
    return rc;
}

int bh_httpsrc_manifest(struct bh_httpsrc *s, const char *name, const char *ref,
                        struct bh_manifest *m, struct bh_err *err)
{
    char en[256], er[128], path[512], what[400];
    bh_cli_escape(name, en, sizeof(en));
    bh_cli_escape(ref ? ref : "latest", er, sizeof(er));
    snprintf(path, sizeof(path), "/api/v1/images/%s/versions/%s/manifest", en, er);
    snprintf(what, sizeof(what), "manifest of %s@%s", name, ref ? ref : "latest");
    struct bh_buf b;
    bh_buf_init(&b, MANIFEST_MAX);
    struct sink k;
    long st = 0;
    int rc = get(s, path, what, &b, &st, &k, err);
    if (!rc && st != 200)
        rc = refused(st, &b, what, err);
    if (!rc && k.mid[0]) {
        uint8_t want[BH_SHA256_LEN], got[BH_SHA256_LEN];
        bh_sha256(b.p, b.len, got);
        if (!bh_parse_id(k.mid, want) || memcmp(want, got, BH_SHA256_LEN))
            rc = bh_err_set(err, BH_EIO, NULL, "%s: the bytes received do not hash to %s", what,
                            k.mid);
    }
    if (!rc) {
        rc = bh_manifest_parse((const uint8_t *)b.p, b.len, m, err);
        if (rc && err) {
            char msg[BH_ERR_MSG_MAX];
            bh_strlcpy(msg, err->msg, sizeof(msg));
            snprintf(err->msg, sizeof(err->msg), "%.160s: %.340s", what, msg);
        }
    }
    bh_buf_free(&b);
    return rc;
}
