/*
 * server.h - bootherd's HTTP server: a thin layer over libmicrohttpd.
 *
 * The server owns listening, request bodies (capped), routing, auth hooks,
 * problem+json errors, metrics and WebSocket upgrades.  Handlers get a
 * struct bh_req, read what they need and answer exactly once with one of the
 * bh_reply_* functions.  Handlers run on libmicrohttpd's worker threads.
 */
#ifndef BH_HTTP_SERVER_H
#define BH_HTTP_SERVER_H

#include "core/err.h"
#include "core/mac.h"
#include "front.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bh_req;
struct bh_http;

typedef void (*bh_handler_fn)(struct bh_req *r);

#define BH_ROUTE_PUBLIC   0x1u /* no token needed */
#define BH_ROUTE_NOMETRIC 0x2u /* do not time (long-lived, e.g. WebSocket) */
/* With TLS on, also served on the plain boot listener to anyone (boot
 * files and scripts, health, a client agent's hello).  There, every other
 * route needs a client agent's host token; see bh_http_config.boot_fd. */
#define BH_ROUTE_PLAIN 0x4u
/* this route takes bodies of up to n MiB (1..16M), above the server's max_body */
#define BH_ROUTE_BODY_MIB(n)  ((unsigned)(n) << 8)
#define BH_ROUTE_BODY_MAX(fl) ((size_t)((fl) >> 8) << 20)

struct bh_route {
    const char *method;  /* "GET", "POST", ... */
    const char *pattern; /* "/api/v1/hosts/{key}"; {x} matches one segment,
                          * a last {x*} the rest of the path */
    bh_handler_fn fn;
    /* What the caller must have to use the route, opaque here: the server
     * stores it and hands it back (bh_req_route), and the authenticate
     * hook, which knows what it means, checks it.  The API puts its least
     * role (enum bh_role) here.  Ignored with BH_ROUTE_PUBLIC. */
    unsigned need;
    const void *data; /* handler data, e.g. the kind descriptor */
    unsigned flags;
    const char *summary; /* one line for the OpenAPI document */
};

/* Who is calling, filled by the auth hook.  The server reads only host
 * (for the plain boot listener); the rest is the hook's, for its handlers. */
struct bh_auth {
    unsigned role; /* the caller's rank, opaque here (the API's enum bh_role) */
    char name[64];
    char token_id[32];
    char host[BH_MAC_STRLEN]; /* a client agent's host token: the host's MAC; "" otherwise */
    bool session;             /* authenticated by a browser session's cookie, not a Bearer token */
    char session_hash[65];    /* with session: the hex SHA-256 naming it in the store */
};

/* HSTS on every answer over TLS (RFC 6797 6.1): a year, the usual value */
#define BH_HSTS_VALUE "max-age=31536000"

struct bh_http_config {
    int listen_fd; /* a bound, listening TCP socket (owned by the server) */
    /* TLS: with both PEM texts set (borrowed until bh_http_start returns),
     * listen_fd speaks HTTPS (a plain request there gets 308 to https) and
     * boot_fd, if not -1, is a second, plain listener for booting machines:
     * BH_ROUTE_PLAIN routes, and any route called with a host token.  With
     * TLS off, boot_fd must be -1 and listen_fd serves everything. */
    const char *tls_cert; /* PEM: the certificate, then its chain */
    const char *tls_key;  /* PEM: its unencrypted private key */
    int boot_fd;
    unsigned threads;      /* worker threads of the API pool, and of the boot pool */
    size_t max_body;       /* bytes; larger bodies get 413 */
    unsigned conn_timeout; /* seconds without a byte before a connection is closed */
    /* the front door's budgets and shares per pool, pending caps, header timeout */
    struct bh_front_limits limits;
    /* A request body must be complete within body_timeout seconds, plus one
     * second per body_min_rate bytes received (bytes per second); slower,
     * the connection is cut. */
    unsigned body_timeout;
    unsigned body_min_rate;
    /* An answer must have left within body_timeout seconds plus one second
     * per send_min_rate bytes of it; a client reading slower is cut. */
    unsigned send_min_rate;
    const struct bh_route *routes;
    size_t nroutes;
    /* Authenticate from the Authorization header or a session cookie
     * (bh_req_header), and authorize for the route (bh_req_route(r)->need).
     * Return 0 and fill *auth; BH_EAUTH with err filled (answered 401); or
     * BH_EPERM with *auth filled as far as the caller is known and err
     * filled, err->type the problem's slug (answered 403: credentials that
     * are good but may not be used for this request, such as a role below
     * the route's need or a cookie without its CSRF token).  Called for
     * every route without BH_ROUTE_PUBLIC; with no hook, all are 401. */
    int (*authenticate)(void *ud, struct bh_req *r, struct bh_auth *auth, struct bh_err *err);
    void *ud;
};

/* Start the front door and three libmicrohttpd daemons (pools) behind it:
 * API, boot (/boot/...) and WebSocket handshakes, each with its own
 * connection budget, all serving the same routes.  A kept-alive connection
 * stays in its pool; the boot and WebSocket pools close it after answering
 * a request that is not theirs, and only the WebSocket pool upgrades.
 * With TLS, a fourth pool serves the TLS connections (counted as API, a
 * WebSocket handshake moves its connection to the WebSocket budget). */
int bh_http_start(const struct bh_http_config *cfg, struct bh_http **out, struct bh_err *err);
/* Stop accepting, finish requests in flight, join the workers. */
void bh_http_stop(struct bh_http *h);

/* ---- inside a handler ---------------------------------------------------- */

void *bh_req_ud(const struct bh_req *r);
const struct bh_route *bh_req_route(const struct bh_req *r);
const struct bh_auth *bh_req_auth(const struct bh_req *r);
const char *bh_req_method(const struct bh_req *r);
const char *bh_req_path(const struct bh_req *r);
const char *bh_req_remote(const struct bh_req *r);
/* Whether the request came over TLS. */
bool bh_req_secure(const struct bh_req *r);
/* Path parameter {name}; NULL if the route has none by that name. */
const char *bh_req_param(const struct bh_req *r, const char *name);
/* Query argument or header; NULL if absent. */
const char *bh_req_query(const struct bh_req *r, const char *name);
const char *bh_req_header(const struct bh_req *r, const char *name);
/* Call fn for every query argument; stops at the first non-zero return. */
int bh_req_query_each(const struct bh_req *r, int (*fn)(void *ud, const char *k, const char *v),
                      void *ud);
/* The request body (NUL-terminated), or "" with *len 0. */
const char *bh_req_body(const struct bh_req *r, size_t *len);
/* Parse the body as JSON.  On failure replies 400/415 itself and returns
 * NULL; the handler then just returns. */
json_t *bh_req_json(struct bh_req *r);

/* ---- replying (exactly once) --------------------------------------------- */

/* Add a response header for the coming reply (copied). */
void bh_reply_header(struct bh_req *r, const char *name, const char *value);
/* Reply with body bytes (copied). */
void bh_reply(struct bh_req *r, int status, const char *ctype, const void *body, size_t len);
/* Reply with JSON; takes the reference. */
void bh_reply_json(struct bh_req *r, int status, json_t *j);
void bh_reply_empty(struct bh_req *r, int status);
/* RFC 9457 problem+json. `type` is a slug such as "unknown-field". */
void bh_reply_problem(struct bh_req *r, int status, const char *type, const char *title,
                      const char *detail, const char *field);
/* The same with extension members (RFC 9457 3.2): ext's members are added
 * (borrowed; NULL for none) beside the standard ones, which they cannot
 * replace. */
void bh_reply_problem_ext(struct bh_req *r, int status, const char *type, const char *title,
                          const char *detail, const char *field, const json_t *ext);
/* Map a bh_err to a status and a problem. */
void bh_reply_err(struct bh_req *r, const struct bh_err *e);
int bh_http_status_for(int code);

/* Serve the file at `path` below the directory dirfd (never outside it):
 * GET and HEAD, ETag and Last-Modified with If-None-Match/If-Modified-Since
 * (304), one byte range (206/416), sent with sendfile: many clients at once
 * share the page cache, not buffers.  404 if absent or refused. */
void bh_reply_file(struct bh_req *r, int dirfd, const char *path, const char *ctype);
/* What bh_reply_file_ex answers with. */
struct bh_file_opts {
    const char *ctype;                /* Content-Type; NULL: application/octet-stream */
    const char *cache_control;        /* NULL: no-cache */
    const char *encoding;             /* Content-Encoding of the file as stored, or NULL */
    const char *what;                 /* for the log: "boot file", "console file" */
    const struct timespec *not_older; /* BH_ENOTFOUND if the file's mtime is before this */
};
/* bh_reply_file with the caller's headers, and no answer when the file is
 * absent or refused: returns BH_ENOTFOUND and the caller answers (or tries
 * another file).  0 when it answered (200, 206, 304 or 416).  Headers are
 * added only once the file is open. */
int bh_reply_file_ex(struct bh_req *r, int dirfd, const char *path, const struct bh_file_opts *o);
/* Reply with len bytes of fd from off (sendfile); takes the fd. */
void bh_reply_fd(struct bh_req *r, int status, const char *ctype, int fd, uint64_t off,
                 uint64_t len);

/* Switch to WebSocket: validates the handshake (replying 400/426 if wrong)
 * and, once the 101 went out, hands the connection over by calling
 * adopt(ud, fd, extra, nextra, handle) on a server thread.  The adopter must
 * eventually call bh_http_upgraded_close(handle) and never close(fd). */
typedef void (*bh_adopt_fn)(void *ud, int fd, const char *extra, size_t nextra, void *handle);
/* Returns 0 if the upgrade is under way (adopt will run), else the refusal
 * was replied and adopt never runs. */
int bh_reply_websocket(struct bh_req *r, bh_adopt_fn adopt, void *ud);
void bh_http_upgraded_close(void *handle);

/* The route table entry a path+method would hit (for tests and docs). */
const struct bh_route *bh_http_match(const struct bh_route *routes, size_t n, const char *method,
                                     const char *path, bool *path_known);

#endif
