/*
 * server.c - libmicrohttpd glue: request lifecycle, bodies, replies, and
 * the three pools behind the front door (front.c).
 *
 * A request goes through the access handler several times: first with no
 * body (route, auth and size checks happen here, so a bad request is refused
 * before its body is read), then once per body chunk, then once more to
 * dispatch.  The reply a handler builds is queued on that last call.
 *
 * libmicrohttpd's idle timeout restarts at every byte, so it cannot bound
 * a slow client.  The front door can: while a body arrives, and between a
 * reply and the next request on a kept-alive connection, the connection
 * carries a deadline that the front enforces with shutdown(2).
 *
 * TLS: libmicrohttpd (GnuTLS) terminates it in a fourth pool.  The front
 * cannot see a class inside TLS, so TLS connections are counted as API;
 * a WebSocket handshake, first on its connection, moves it to the
 * WebSocket budget (bh_front_conn_reclass).  With TLS on, the plain
 * listener that remains is for booting machines only (admit()).
 */
#include "server.h"

#include "core/buf.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "metrics.h"
#include "router.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PENDING_HEADERS 16 /* the console's files carry security headers */
/* per-connection pool for the request line and headers: room for long
 * query strings with many parameters (the default 32 KiB is not) */
#define CONN_POOL_BYTES (256 * 1024)
#define WS_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" /* RFC 6455 1.3 */
#define WS_POOL_THREADS 2 /* handshakes only: the hub serves what follows */
#define NS_PER_SEC      1000000000ull
/* TLS 1.2 and 1.3 only (RFC 8996 retired 1.0 and 1.1) */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* One libmicrohttpd daemon without a listening socket, fed by the front. */
struct pool {
    struct bh_http *h;
    enum bh_conn_class cls; /* BH_CONN_API for the TLS pool */
    bool tls;
    struct MHD_Daemon *d;
};

struct bh_http {
    struct pool pools[BH_CONN__COUNT];
    struct pool tls;          /* d is NULL when TLS is off */
    char *tls_cert, *tls_key; /* copies of the PEM texts, for the TLS pool's life */
    struct bh_front *front;
    struct bh_http_config cfg;
    struct bh_http_metrics metrics;
};

struct pending_header {
    char name[48];
    char value[256];
};

struct upgrade {
    bh_adopt_fn adopt;
    void *ud;
};

struct bh_req {
    struct bh_http *h;
    struct pool *pool;
    struct bh_front_conn *fc; /* the front's record of the connection */
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    struct bh_route_match m;
    size_t route_idx;
    struct bh_auth auth;
    struct bh_buf body;
    bool started;
    bool url_nul; /* the path or query had a %00 */
    char remote[INET6_ADDRSTRLEN + 8];
    uint64_t t0;
    int status;
    struct MHD_Response *resp;
    struct pending_header hdrs[MAX_PENDING_HEADERS];
    size_t nhdrs;
    struct upgrade upg;
    uint64_t body_bytes; /* received so far, kept or not */
    uint64_t resp_len;   /* bytes of the answer's body */
    uint64_t refused_ns; /* when an answer was set before the body was in */
    bool upgraded;
    bool close;     /* close the connection after this reply */
    bool boot_only; /* it came in on the plain boot listener, with TLS on */
    bool first;     /* the first request on its connection */
};

/* ---- request accessors --------------------------------------------------- */

void *bh_req_ud(const struct bh_req *r)
{
    return r->h->cfg.ud;
}
const struct bh_route *bh_req_route(const struct bh_req *r)
{
    return r->m.route;
}
const struct bh_auth *bh_req_auth(const struct bh_req *r)
{
    return &r->auth;
}
const char *bh_req_method(const struct bh_req *r)
{
    return r->method;
}
const char *bh_req_path(const struct bh_req *r)
{
    return r->path;
}
const char *bh_req_remote(const struct bh_req *r)
{
    return r->remote;
}
bool bh_req_secure(const struct bh_req *r)
{
    return r->pool->tls;
}

const char *bh_req_param(const struct bh_req *r, const char *name)
{
    for (size_t i = 0; i < r->m.nparams; i++)
        if (strcmp(r->m.params[i].name, name) == 0)
            return r->m.params[i].value;
    return NULL;
}

const char *bh_req_query(const struct bh_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *bh_req_header(const struct bh_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

struct query_iter {
    int (*fn)(void *ud, const char *k, const char *v);
    void *ud;
    int rc;
};

static enum MHD_Result query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value)
{
    (void)kind;
    struct query_iter *it = cls;
    it->rc = it->fn(it->ud, key, value ? value : "");
    return it->rc ? MHD_NO : MHD_YES;
}

int bh_req_query_each(const struct bh_req *r, int (*fn)(void *ud, const char *k, const char *v),
                      void *ud)
{
    struct query_iter it = {fn, ud, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, query_cb, &it);
    return it.rc;
}

const char *bh_req_body(const struct bh_req *r, size_t *len)
{
    *len = r->body.len;
    return r->body.p ? r->body.p : "";
}

json_t *bh_req_json(struct bh_req *r)
{
    const char *ct = bh_req_header(r, "Content-Type");
    if (r->body.len == 0) {
        bh_reply_problem(r, 400, "malformed-json", "Bad request", "the request body is empty",
                         NULL);
        return NULL;
    }
    if (ct && strncasecmp(ct, "application/json", 16) != 0 &&
        strncasecmp(ct, "application/merge-patch+json", 28) != 0) {
        char detail[256];
        snprintf(detail, sizeof(detail),
                 "send the body as application/json (or application/merge-patch+json), not "
                 "'%.100s'",
                 ct);
        bh_reply_problem(r, 415, "unsupported-media-type", "Unsupported media type", detail, NULL);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(r->body.p, r->body.len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        char detail[300];
        snprintf(detail, sizeof(detail), "malformed JSON at line %d, column %d: %s", je.line,
                 je.column, je.text);
        bh_reply_problem(r, 400, "malformed-json", "Malformed JSON", detail, NULL);
    }
    return j;
}

/* ---- replies ------------------------------------------------------------- */

void bh_reply_header(struct bh_req *r, const char *name, const char *value)
{
    if (r->nhdrs == MAX_PENDING_HEADERS)
        return;
    bh_strlcpy(r->hdrs[r->nhdrs].name, name, sizeof(r->hdrs[0].name));
    bh_strlcpy(r->hdrs[r->nhdrs].value, value, sizeof(r->hdrs[0].value));
    r->nhdrs++;
}

static bool is_boot_path(const char *path)
{
    return !strncmp(path, "/boot", 5) && (path[5] == '\0' || path[5] == '/');
}

static void finish_response(struct bh_req *r, int status, struct MHD_Response *resp,
                            const char *ctype, uint64_t len)
{
    if (r->resp) { /* a handler answered twice: keep the first answer */
        bh_log(BH_LOG_ERROR, "handler replied twice", "path=%s", r->path);
        MHD_destroy_response(resp);
        return;
    }
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    bool cache_set = false;
    for (size_t i = 0; i < r->nhdrs; i++) {
        MHD_add_response_header(resp, r->hdrs[i].name, r->hdrs[i].value);
        if (strcasecmp(r->hdrs[i].name, "Cache-Control") == 0)
            cache_set = true;
    }
    if (!cache_set && status != 101)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->pool->tls)
        MHD_add_response_header(resp, "Strict-Transport-Security", BH_HSTS_VALUE);
    /* the boot and WebSocket pools keep a connection only for their own
     * kind of request; the next one goes through the front door again */
    enum bh_conn_class cls = r->pool->cls;
    if (r->close || (cls == BH_CONN_BOOT && !is_boot_path(r->path)) ||
        (cls == BH_CONN_WS && status != 101))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    r->resp = resp;
    r->status = status;
    r->resp_len = len;
}

void bh_reply(struct bh_req *r, int status, const char *ctype, const void *body, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return;
    finish_response(r, status, resp, ctype, len);
}

void bh_reply_fd(struct bh_req *r, int status, const char *ctype, int fd, uint64_t off,
                 uint64_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_fd_at_offset64(len, fd, off);
    if (!resp) {
        close(fd);
        bh_reply_problem(r, 500, "internal", "Internal error", "cannot send the file", NULL);
        return;
    }
    finish_response(r, status, resp, ctype, len);
}

void bh_reply_empty(struct bh_req *r, int status)
{
    bh_reply(r, status, NULL, "", 0);
}

void bh_reply_json(struct bh_req *r, int status, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) {
        bh_reply_problem(r, 500, "internal", "Internal error", "out of memory", NULL);
        return;
    }
    size_t n = strlen(s);
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, s, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(s);
        return;
    }
    finish_response(r, status, resp, "application/json", n);
}

/* RFC 9457 problem text is JSON, and JSON is UTF-8 (RFC 8259 8.1): the path
 * and any detail that quotes the request are made valid first, so a problem
 * can always be built whatever bytes came in. */
#define PROBLEM_TEXT_MAX 1024

void bh_reply_problem(struct bh_req *r, int status, const char *type, const char *title,
                      const char *detail, const char *field)
{
    bh_reply_problem_ext(r, status, type, title, detail, field, NULL);
}

void bh_reply_problem_ext(struct bh_req *r, int status, const char *type, const char *title,
                          const char *detail, const char *field, const json_t *ext)
{
    char t[128], inst[PROBLEM_TEXT_MAX], det[PROBLEM_TEXT_MAX], fld[BH_ERR_FIELD_MAX];
    snprintf(t, sizeof(t), "urn:bootherd:problem:%s", type ? type : "error");
    bh_utf8_sanitize(r->path ? r->path : "", inst, sizeof(inst));
    bh_utf8_sanitize(detail ? detail : title, det, sizeof(det));
    json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", t, "title", title, "status", status,
                          "detail", det, "instance", inst);
    if (j && field && *field) {
        bh_utf8_sanitize(field, fld, sizeof(fld));
        json_object_set_new(j, "field", json_string(fld));
    }
    const char *k;
    json_t *v;
    if (j && json_is_object(ext))
        json_object_foreach((json_t *)ext, k, v)
        {
            if (!json_object_get(j, k)) /* the RFC 9457 members stay as made here */
                json_object_set(j, k, v);
        }
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s)
        return;
    size_t len = strlen(s);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, s, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(s);
        return;
    }
    finish_response(r, status, resp, "application/problem+json", len);
}

int bh_http_status_for(int code)
{
    switch (code) {
    case BH_OK: return 200;
    case BH_EINVAL: return 422;
    case BH_ENOTFOUND: return 404;
    case BH_ECONFLICT: return 409;
    case BH_EPRECOND: return 412;
    case BH_ENOREF: return 422;
    case BH_ETOOBIG: return 413;
    case BH_EPERM: return 403;
    case BH_EAUTH: return 401;
    case BH_EBUSY: return 503;
    case BH_EGONE: return 410;
    case BH_EUNSUPP: return 501;
    }
    return 500;
}

static const char *title_for(int status)
{
    switch (status) {
    case 400: return "Bad request";
    case 401: return "Unauthenticated";
    case 403: return "Forbidden";
    case 404: return "Not found";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition failed";
    case 413: return "Request too large";
    case 421: return "Misdirected request";
    case 422: return "Invalid request";
    case 501: return "Not implemented";
    case 503: return "Service unavailable";
    }
    return "Internal error";
}

void bh_reply_err(struct bh_req *r, const struct bh_err *e)
{
    int status = bh_http_status_for(e->code);
    const char *type = e->type;
    if (!type) {
        switch (e->code) {
        case BH_ENOTFOUND: type = "not-found"; break;
        case BH_ECONFLICT: type = "conflict"; break;
        case BH_EPRECOND: type = "precondition-failed"; break;
        case BH_ENOREF: type = "missing-reference"; break;
        case BH_ETOOBIG: type = "too-large"; break;
        case BH_EPERM: type = "forbidden"; break;
        case BH_EAUTH: type = "unauthenticated"; break;
        case BH_EBUSY: type = "unavailable"; break;
        case BH_EGONE: type = "gone"; break;
        case BH_EINVAL: type = "invalid-value"; break;
        default: type = "internal";
        }
    }
    if (status == 500)
        bh_log(BH_LOG_ERROR, "request failed", "path=%s err=%s", r->path, e->msg);
    bh_reply_problem(r, status, type, title_for(status), status == 500 ? "internal error" : e->msg,
                     e->field);
}

/* ---- WebSocket upgrade --------------------------------------------------- */

static bool header_has_token(const char *v, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = v; p && *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (strncasecmp(p, token, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
            return true;
        p = strchr(p, ',');
    }
    return false;
}

static void upgrade_cb(void *cls, struct MHD_Connection *connection, void *req_cls,
                       const char *extra_in, size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh)
{
    (void)connection;
    (void)req_cls;
    struct upgrade *u = cls;
    u->adopt(u->ud, sock, extra_in, extra_in_size, urh);
}

void bh_http_upgraded_close(void *handle)
{
    MHD_upgrade_action(handle, MHD_UPGRADE_ACTION_CLOSE);
}

int bh_reply_websocket(struct bh_req *r, bh_adopt_fn adopt, void *ud)
{
    const char *up = bh_req_header(r, "Upgrade");
    const char *conn = bh_req_header(r, "Connection");
    const char *ver = bh_req_header(r, "Sec-WebSocket-Version");
    const char *key = bh_req_header(r, "Sec-WebSocket-Key");
    if (!up || !header_has_token(up, "websocket") || !conn || !header_has_token(conn, "upgrade")) {
        bh_reply_header(r, "Upgrade", "websocket");
        bh_reply_problem(r, 426, "upgrade-required", "Upgrade required",
                         "this endpoint speaks WebSocket only", NULL);
        return -1;
    }
    if (!ver || strcmp(ver, "13") != 0) {
        bh_reply_header(r, "Sec-WebSocket-Version", "13");
        bh_reply_problem(r, 426, "upgrade-required", "Upgrade required",
                         "only WebSocket version 13 (RFC 6455) is supported", NULL);
        return -1;
    }
    if (!key || strlen(key) != 24) { /* 16 random bytes, base64: RFC 6455 4.1 */
        bh_reply_problem(r, 400, "bad-handshake", "Bad request",
                         "missing or malformed Sec-WebSocket-Key", NULL);
        return -1;
    }
    /* on a kept-alive connection, it would escape the WebSocket budget */
    if (r->pool->tls ? !r->first : r->pool->cls != BH_CONN_WS) {
        r->close = true;
        bh_reply_problem(r, 400, "bad-handshake", "Bad request",
                         "send a WebSocket handshake as the first request of a new connection",
                         NULL);
        return -1;
    }
    struct bh_err be;
    if (r->pool->tls && bh_front_conn_reclass(r->h->front, r->fc, BH_CONN_WS, &be)) {
        char retry[16];
        snprintf(retry, sizeof(retry), "%d", BH_FRONT_RETRY_AFTER);
        r->close = true;
        bh_reply_header(r, "Retry-After", retry);
        bh_reply_problem(r, 503, be.type, "Service unavailable", be.msg, NULL);
        return -1;
    }
    char concat[64];
    unsigned char digest[SHA_DIGEST_LENGTH];
    char accept[32];
    snprintf(concat, sizeof(concat), "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)concat, strlen(concat), digest);
    bh_b64(digest, sizeof(digest), accept);
    r->upg.adopt = adopt;
    r->upg.ud = ud;
    struct MHD_Response *resp = MHD_create_response_for_upgrade(upgrade_cb, &r->upg);
    if (!resp) {
        bh_reply_problem(r, 500, "internal", "Internal error", "cannot upgrade", NULL);
        return -1;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
    finish_response(r, 101, resp, NULL, 0);
    r->upgraded = true; /* the hub's ping rule takes over from deadlines */
    bh_front_conn_deadline(r->fc, 0, BH_FRONT_IDLE_TIMEOUT);
    return 0;
}

/* ---- request lifecycle --------------------------------------------------- */

/* Per connection, not per request (libmicrohttpd's socket context): the
 * front's record of it, and what the unescape callback saw while
 * libmicrohttpd read the request line.  Requests on one connection come one
 * after another, and the access handler reads and clears `nul` on the first
 * call of each request. */
struct conn_state {
    struct bh_front_conn *fc; /* may be NULL */
    bool nul;                 /* a %00 in the path or a query key or value */
    unsigned requests;        /* begun on this connection */
};

static struct conn_state *conn_state_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* RFC 3986 2.1 percent-decoding of the path and of each query key and
 * value, as libmicrohttpd does it, but a decoded NUL is noted: a C string
 * ends there, so a handler would see less than was sent
 * ("test.txt%00.png" would name test.txt).  Admission refuses it. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    size_t n = MHD_http_unescape(s);
    if (strlen(s) != n) {
        struct conn_state *cs = conn_state_of(conn);
        if (cs) {
            cs->nul = true;
        } else { /* nowhere to note it: empty names nothing (no route has "") */
            s[0] = '\0';
            n = 0;
        }
    }
    return n;
}

static void fill_remote(struct bh_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    r->remote[0] = '\0';
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, r->remote,
                  sizeof(r->remote));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, r->remote,
                  sizeof(r->remote));
}

/* The answer must have left by body_timeout plus a second per
 * send_min_rate bytes of it: a client that reads a kernel a few bytes a
 * minute cannot hold a connection (libmicrohttpd's own timeout restarts
 * with every byte). */
static uint64_t send_deadline(const struct bh_req *r)
{
    const struct bh_http_config *c = &r->h->cfg;
    uint64_t rate = c->send_min_rate ? c->send_min_rate : 1;
    return bh_mono_ns() + (uint64_t)c->body_timeout * NS_PER_SEC + r->resp_len / rate * NS_PER_SEC +
           r->resp_len % rate * NS_PER_SEC / rate;
}

static enum MHD_Result queue(struct bh_req *r)
{
    if (!r->resp)
        bh_reply_problem(r, 500, "internal", "Internal error", "no response", NULL);
    if (!r->resp)
        return MHD_NO;
    if (!r->upgraded)
        bh_front_conn_deadline(r->fc, send_deadline(r), BH_FRONT_SEND_TIMEOUT);
    return MHD_queue_response(r->conn, (unsigned)r->status, r->resp);
}

/* With TLS on, the plain listener serves booting machines: routes marked
 * BH_ROUTE_PLAIN, and a client agent (whose host token came from a boot
 * ticket that travelled in plain HTTP anyway).  Anyone else is sent to
 * HTTPS before a token of theirs is used; 421 (RFC 9110 15.5.20): the
 * request is fine, this listener is the wrong one for it. */
static int misdirected(struct bh_req *r)
{
    r->close = true;
    bh_reply_problem(r, 421, "https-required", "Misdirected request",
                     "this plain HTTP listener serves booting machines only; use the HTTPS port "
                     "([http] listen) for the API",
                     NULL);
    return -1;
}

/* Route, size and auth checks before any body is read. 0 = go on. */
static int admit(struct bh_req *r)
{
    struct bh_http *h = r->h;
    /* before routing, for every route: a name in a path is text */
    if (r->url_nul) {
        bh_reply_problem(r, 400, "invalid-url", "Bad request",
                         "the URL has a NUL byte (%00) in its path or query", NULL);
        return -1;
    }
    if (!bh_utf8_valid(r->path, strlen(r->path))) {
        bh_reply_problem(r, 400, "invalid-url", "Bad request",
                         "the URL path is not valid UTF-8 once percent-decoded", NULL);
        return -1;
    }
    bh_router_match(h->cfg.routes, h->cfg.nroutes, r->method, r->path, &r->m);
    r->route_idx = r->m.route ? (size_t)(r->m.route - h->cfg.routes) : h->cfg.nroutes;
    if (!r->m.route) {
        if (r->m.path_known) {
            bh_reply_header(r, "Allow", r->m.allow);
            bh_reply_problem(r, 405, "method-not-allowed", "Method not allowed",
                             "this path does not support that method", NULL);
        } else {
            bh_reply_problem(r, 404, "not-found", "Not found", "no such endpoint", NULL);
        }
        return -1;
    }
    if (BH_ROUTE_BODY_MAX(r->m.route->flags))
        r->body.max = BH_ROUTE_BODY_MAX(r->m.route->flags);
    const char *cl = bh_req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t len;
    if (cl && (bh_parse_u64(cl, UINT64_MAX, &len) || len > r->body.max)) {
        char detail[128];
        snprintf(detail, sizeof(detail), "the request body is larger than %zu bytes", r->body.max);
        bh_reply_problem(r, 413, "too-large", "Request too large", detail, NULL);
        return -1;
    }
    unsigned fl = r->m.route->flags;
    if (r->boot_only && (fl & BH_ROUTE_PUBLIC) && !(fl & BH_ROUTE_PLAIN))
        return misdirected(r);
    if (fl & BH_ROUTE_PUBLIC)
        return 0;
    struct bh_err e;
    bh_err_clear(&e);
    int rc = h->cfg.authenticate ? h->cfg.authenticate(h->cfg.ud, r, &r->auth, &e) : BH_EAUTH;
    /* a client agent known by its host token is answered here, even when
     * refused (403); anyone else goes to HTTPS first */
    if (r->boot_only && ((rc && rc != BH_EPERM) || !r->auth.host[0]))
        return misdirected(r);
    if (rc == BH_EPERM) { /* a role too low, or a session cookie without its CSRF token */
        bh_reply_problem(r, 403, e.type ? e.type : "forbidden", "Forbidden", e.msg, e.field);
        return -1;
    }
    if (rc) {
        bh_reply_header(r, "WWW-Authenticate", "Bearer realm=\"bootherd\"");
        bh_reply_problem(r, 401, "unauthenticated", "Unauthenticated",
                         e.msg[0] ? e.msg : "send 'Authorization: Bearer <token>'", NULL);
        return -1;
    }
    return 0;
}

/* The body's deadline: body_timeout from the head, plus a second for every
 * body_min_rate bytes that came (the rule of Apache's mod_reqtimeout): a
 * body that keeps up the rate is never cut, one that trickles is. */
static uint64_t body_deadline(const struct bh_req *r)
{
    const struct bh_http_config *c = &r->h->cfg;
    uint64_t rate = c->body_min_rate ? c->body_min_rate : 1;
    return r->t0 + (uint64_t)c->body_timeout * NS_PER_SEC + r->body_bytes / rate * NS_PER_SEC +
           r->body_bytes % rate * NS_PER_SEC / rate;
}

#define DRAIN_NS (5 * NS_PER_SEC) /* the rest of a refused body may take this long */

/* A chunk of body came: false if it came too late (the caller cuts).  The
 * body of a request answered already (refused, or too large) is read and
 * dropped, for DRAIN_NS at most: after that the answer goes out or the
 * connection is cut, whatever rate the client keeps up. */
static bool body_chunk(struct bh_req *r, size_t n)
{
    if (r->resp) {
        if (!r->refused_ns)
            r->refused_ns = bh_mono_ns();
        bh_front_conn_deadline(r->fc, r->refused_ns + DRAIN_NS, BH_FRONT_BODY_TIMEOUT);
        return bh_mono_ns() <= r->refused_ns + DRAIN_NS;
    }
    if (bh_mono_ns() > body_deadline(r)) {
        bh_front_count(r->h->front, BH_FRONT_BODY_TIMEOUT);
        bh_log(BH_LOG_DEBUG, "request body too slow; cut", "path=%s remote=%s bytes=%llu", r->path,
               r->remote, (unsigned long long)r->body_bytes);
        return false;
    }
    r->body_bytes += n;
    bh_front_conn_deadline(r->fc, body_deadline(r), BH_FRONT_BODY_TIMEOUT);
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    (void)version;
    struct pool *pl = cls;
    struct bh_http *h = pl->h;
    struct bh_req *r = *req_cls;
    if (!r) {
        r = calloc(1, sizeof(*r));
        if (!r)
            return MHD_NO;
        r->h = h;
        r->pool = pl;
        r->conn = conn;
        r->method = method;
        r->path = url;
        r->t0 = bh_mono_ns();
        struct conn_state *cs = conn_state_of(conn);
        if (cs) {
            r->fc = cs->fc;
            r->url_nul = cs->nul;
            cs->nul = false;
            r->first = ++cs->requests == 1;
        }
        /* without a record to say where it came from, the narrowest view */
        r->boot_only = h->tls.d && !pl->tls && bh_front_conn_mode(r->fc) == BH_LISTEN_BOOT;
        bh_front_conn_deadline(r->fc, body_deadline(r), BH_FRONT_BODY_TIMEOUT);
        bh_buf_init(&r->body, h->cfg.max_body);
        fill_remote(r);
        *req_cls = r;
        if (pl->cls == BH_CONN_BOOT && !is_boot_path(r->path)) {
            /* the boot budget is for booting: nothing else runs on it */
            r->close = true;
            bh_reply_problem(r, 421, "misdirected-request", "Misdirected request",
                             "this connection was opened for /boot; send other requests on a "
                             "new connection",
                             NULL);
            return queue(r);
        }
        if (admit(r))
            return queue(r);
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!body_chunk(r, *upload_data_size))
            return MHD_NO;
        if (!r->resp && bh_buf_add(&r->body, upload_data, *upload_data_size)) {
            /* answered now; what follows is drained (body_chunk), not kept */
            char detail[128];
            snprintf(detail, sizeof(detail), "the request body is larger than %zu bytes",
                     r->body.max);
            r->close = true;
            bh_reply_problem(r, 413, "too-large", "Request too large", detail, NULL);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    bh_front_conn_deadline(r->fc, 0, BH_FRONT_BODY_TIMEOUT); /* the body is in */
    if (!r->resp) /* else refused early, or the body was too large */
        r->m.route->fn(r);
    return queue(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    (void)toe;
    struct pool *pl = cls;
    struct bh_http *h = pl->h;
    struct bh_req *r = *req_cls;
    if (!r)
        return;
    /* kept alive: the next request's head must be in within header_timeout,
     * as the first one's was at the front door */
    if (!r->upgraded)
        bh_front_conn_deadline(r->fc,
                               bh_mono_ns() + (uint64_t)h->cfg.limits.header_timeout * NS_PER_SEC,
                               BH_FRONT_IDLE_TIMEOUT);
    uint64_t dt = bh_mono_ns() - r->t0;
    bool timed = !r->m.route || !(r->m.route->flags & BH_ROUTE_NOMETRIC);
    bh_http_metrics_observe(&h->metrics, r->route_idx, r->resp ? r->status : 0, dt, timed);
    if (bh_log_get_level() <= BH_LOG_DEBUG)
        bh_log(BH_LOG_DEBUG, "http", "method=%s path=%s status=%d ms=%.3f remote=%s", r->method,
               r->path, r->status, (double)dt / 1e6, r->remote);
    if (r->resp)
        MHD_destroy_response(r->resp);
    bh_buf_free(&r->body);
    free(r);
    *req_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    bh_log(BH_LOG_WARN, "http server", "detail=%s", msg);
}

/* The pools' view of the front's records: STARTED comes before the first
 * request, CLOSED before libmicrohttpd closes the socket. */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct pool *pl = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_state *cs = calloc(1, sizeof(*cs));
        if (cs && ci)
            cs->fc = bh_front_conn_started(pl->h->front, ci->connect_fd);
        *socket_context = cs;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct conn_state *cs = *socket_context;
        bh_front_conn_closed(pl->h->front, cs ? cs->fc : NULL);
        free(cs);
        *socket_context = NULL;
    }
}

/* The front's hand-over: the pool closes fd if it cannot take it. */
static int handoff(void *ud, enum bh_conn_class cls, enum bh_listen_mode mode, int fd,
                   const struct sockaddr *sa, socklen_t salen)
{
    struct bh_http *h = ud;
    struct pool *pl = mode == BH_LISTEN_TLS ? &h->tls : &h->pools[cls];
    if (pl->d && MHD_add_connection(pl->d, fd, sa, salen) == MHD_YES)
        return 0;
    if (!pl->d)
        close(fd);
    bh_log(BH_LOG_WARN, "http pool refused a connection", "class=%s err=%s",
           bh_conn_class_name(cls), strerror(errno));
    return BH_ESYS;
}

/* One pool: the class's (plain), or with tls the TLS pool, which carries
 * API and WebSocket connections (upgrades included). */
static int start_pool(struct bh_http *h, struct pool *pl, enum bh_conn_class cls, bool tls)
{
    const struct bh_http_config *c = &h->cfg;
    pl->h = h;
    pl->cls = cls;
    pl->tls = tls;
    unsigned threads = c->threads ? c->threads : 4;
    if (cls == BH_CONN_WS)
        threads = threads < WS_POOL_THREADS ? threads : WS_POOL_THREADS;
    /* The front keeps the budget; libmicrohttpd's own limit (split among
     * its threads) is set well above it, so it never drops a connection
     * the front counted in. */
    unsigned budget = c->limits.budget[cls];
    if (tls)
        budget += c->limits.budget[BH_CONN_WS];
    unsigned limit = budget * 2 + 16 * threads;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    if (cls == BH_CONN_WS || tls)
        flags |= MHD_ALLOW_UPGRADE;
    struct MHD_OptionItem tlsopt[] = {
        {MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
        {MHD_OPTION_END, 0, NULL},
    };
    if (tls)
        flags |= MHD_USE_TLS;
    else
        tlsopt[0].option = MHD_OPTION_END;
    pl->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, pl, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)(c->conn_timeout ? c->conn_timeout : 60), MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_POOL_BYTES, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, pl, MHD_OPTION_NOTIFY_CONNECTION, on_connection, pl,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, pl, MHD_OPTION_ARRAY, tlsopt, MHD_OPTION_END);
    return pl->d ? 0 : BH_ESYS;
}

static void stop_pools(struct bh_http *h)
{
    for (int c = 0; c < BH_CONN__COUNT; c++)
        if (h->pools[c].d)
            MHD_stop_daemon(h->pools[c].d);
    if (h->tls.d)
        MHD_stop_daemon(h->tls.d);
}

static void http_free(struct bh_http *h)
{
    bh_http_metrics_free(&h->metrics);
    free(h->tls_cert);
    if (h->tls_key) {
        explicit_bzero(h->tls_key, strlen(h->tls_key));
        free(h->tls_key);
    }
    free(h);
}

int bh_http_start(const struct bh_http_config *cfg, struct bh_http **out, struct bh_err *err)
{
    bool tls = cfg->tls_cert && cfg->tls_key;
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
        return bh_err_set(err, BH_EUNSUPP, NULL,
                          "this libmicrohttpd was built without TLS; serve plain HTTP or install "
                          "one with GnuTLS");
    struct bh_http *h = calloc(1, sizeof(*h));
    if (!h)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    h->cfg = *cfg;
    h->cfg.tls_cert = h->cfg.tls_key = NULL; /* borrowed: the copies below stay */
    if (bh_http_metrics_init(&h->metrics, cfg->routes, cfg->nroutes)) {
        free(h);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    int rc = 0;
    if (tls && (!(h->tls_cert = strdup(cfg->tls_cert)) || !(h->tls_key = strdup(cfg->tls_key))))
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    for (int c = 0; c < BH_CONN__COUNT && !rc; c++)
        if (start_pool(h, &h->pools[c], (enum bh_conn_class)c, false))
            rc = bh_err_set(err, BH_ESYS, NULL, "cannot start the HTTP server (%s pool)",
                            bh_conn_class_name((enum bh_conn_class)c));
    if (!rc && tls && start_pool(h, &h->tls, BH_CONN_API, true))
        rc = bh_err_set(err, BH_ESYS, NULL,
                        "cannot start the HTTPS server: GnuTLS refused the certificate or key "
                        "(the log says why)");
    struct bh_front_config fc = {.lim = cfg->limits, .handoff = handoff, .ud = h};
    fc.listen[fc.nlisten++] =
        (struct bh_front_listener){cfg->listen_fd, tls ? BH_LISTEN_TLS : BH_LISTEN_ALL};
    if (tls && cfg->boot_fd >= 0)
        fc.listen[fc.nlisten++] = (struct bh_front_listener){cfg->boot_fd, BH_LISTEN_BOOT};
    if (!rc)
        rc = bh_front_start(&fc, &h->front, err);
    if (rc) {
        stop_pools(h);
        http_free(h);
        return rc;
    }
    h->metrics.conn = bh_front_get_stats(h->front);
    *out = h;
    return 0;
}

void bh_http_stop(struct bh_http *h)
{
    if (!h)
        return;
    bh_front_stop(h->front); /* no new connections */
    stop_pools(h);           /* each closed connection tells the front */
    bh_front_free(h->front);
    http_free(h);
}

const struct bh_http_metrics *bh_http_get_metrics(const struct bh_http *h)
{
    return &h->metrics;
}
