/*
 * head.h - the head of an HTTP/1.x request (request line and header
 * fields, RFC 9112 2-6), checked and classified before any request is
 * served.  Pure: bytes in, a verdict out; no I/O, no allocation.
 *
 * The front door (front.c) peeks at a new connection's first bytes and asks
 * this parser whether the head is complete, acceptable, and which
 * connection pool it belongs to.  A head it refuses gets a status and a
 * problem slug, answered with problem+json by the caller, so malformed
 * heads never reach libmicrohttpd (whose own refusals are HTML).
 */
#ifndef BH_HTTP_HEAD_H
#define BH_HTTP_HEAD_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The head (request line, fields, the blank line) must end within this
 * many bytes; larger gets 414 (request line) or 431 (fields). */
#define BH_HEAD_MAX (64 * 1024)
/* Header fields per request; more gets 431 (RFC 6585 5). */
#define BH_HEAD_MAX_FIELDS 100

/* bh_head_parse's "not complete yet" (positive: not an error) */
#define BH_HEAD_MORE 1

/* The connection pools, each with its own budget (see front.h). */
enum bh_conn_class {
    BH_CONN_API = 0, /* everything else */
    BH_CONN_BOOT,    /* a request for /boot or /boot/... */
    BH_CONN_WS,      /* a WebSocket handshake (Upgrade: websocket) */
    BH_CONN__COUNT
};

struct bh_head {
    size_t len;             /* bytes through the blank line that ends the head */
    enum bh_conn_class cls; /* on success */
    const char *method;     /* borrowed from the input, not NUL-terminated */
    size_t method_len;
    const char *path; /* the request target up to '?', borrowed; NULL if the
                       * request line could not be read */
    size_t path_len;
    int minor;              /* HTTP/1.<minor>: 0 or 1 */
    int64_t content_length; /* -1 when absent */
    bool chunked;
    bool head_method; /* HEAD: a reply carries no body */
    int status;       /* on refusal: 400, 414, 431, 501 or 505 */
};

/* Parse the n bytes a connection has sent so far.
 *
 * Returns 0 when a complete head was read and accepted (h->len, h->cls and
 * the rest filled); BH_HEAD_MORE when the bytes so far are a valid start
 * but the head has not ended (n < BH_HEAD_MAX); or BH_EINVAL, BH_ETOOBIG or
 * BH_EUNSUPP when the head must be refused: h->status says the HTTP status,
 * err the problem slug (err->type), the message and the offending field
 * name if any.  h->path and h->head_method are filled as far as the request
 * line could be read.  Never reads past p[n-1]. */
int bh_head_parse(const char *p, size_t n, struct bh_head *h, struct bh_err *err);

/* "api", "boot" or "ws" */
const char *bh_conn_class_name(enum bh_conn_class c);

#endif
