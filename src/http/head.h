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
    const char *target; /* the whole request target, query included, borrowed */
    size_t target_len;
    const char *host; /* the Host field's value, trimmed, borrowed; NULL if absent */
    size_t host_len;
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

/* Where a plain-HTTP request to a port that speaks HTTPS goes: "https://"
 * with the request's authority (its Host field, or the authority of an
 * absolute-form target, RFC 9112 3.2.2) and its target (origin-form, query
 * kept; "/" for the asterisk and authority forms).  h is a head accepted by
 * bh_head_parse.  Returns the length written to out (NUL-terminated), or
 * BH_EINVAL (no Host, or a Host that is not host[:port] of RFC 3986 3.2.2
 * in plain characters) or BH_ETOOBIG (longer than cap-1), with err set. */
int bh_head_https_location(const struct bh_head *h, char *out, size_t cap, struct bh_err *err);

/* ---- TLS on a port that also hears plain HTTP ----------------------------- */

/* RFC 8446 5.1: a record starts with its content type; 22 = handshake.
 * No HTTP method starts with this byte, so one byte tells the two apart. */
#define BH_TLS_CONTENT_HANDSHAKE 22
/* RFC 8446 4: handshake type client_hello */
#define BH_TLS_CLIENT_HELLO 1
/* RFC 8446 5.1: the length of a plaintext record must not exceed 2^14 */
#define BH_TLS_RECORD_MAX 16384
/* the record header: type, legacy_record_version, length */
#define BH_TLS_RECORD_HEADER 5

/* Whether a connection's first n bytes start a TLS handshake record. */
bool bh_tls_record_start(const void *p, size_t n);

/* Check the first TLS record a client sent (n bytes so far): a handshake
 * record of TLS 1.x holding the start of a ClientHello (RFC 8446 4.1.2;
 * the hello may go on in later records, which the TLS library reads).
 * Returns 0 when the record is complete and well-formed (*len = its bytes),
 * BH_HEAD_MORE when it has not all arrived, or BH_EINVAL (err set) when the
 * bytes are not a ClientHello record.  Never reads past p[n-1]. */
int bh_tls_hello_check(const void *p, size_t n, size_t *len, struct bh_err *err);

#endif
