/*
 * wsclient.c - a small WebSocket client (RFC 6455): following events
 * (reconnect with backoff, resume by revision) and the agent's channel.
 * Non-blocking socket after the handshake, wslay framing; a connection
 * that hears nothing, not even the server's pings, for idle_ms is taken
 * for dead.  wss:// (an https:// server URL) goes through OpenSSL's libssl,
 * checked as client.c checks https for libcurl: the pin, else the CA file
 * or the system's CAs and the server's name.
 */
#include "client.h"

#include "core/str.h"
#include "core/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <wslay/wslay.h>

#define WS_GUID     "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define BACKOFF_MAX 30

struct wsc {
    int fd;
    SSL *ssl; /* NULL for plain http:// */
    int (*on_event)(void *ud, const char *msg, size_t n, long long *rev);
    void *ud;
    long long *rev;
    int stop;
    uint64_t last_rx; /* ms, monotonic */
};

static int split_url(const char *url, char *host, size_t hcap, char *port, size_t pcap, bool *tls)
{
    *tls = strncmp(url, "https://", 8) == 0;
    if (!*tls && strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + (*tls ? 8 : 7), *end = h + strcspn(h, "/");
    const char *colon = NULL;
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (!close)
            return -1;
        snprintf(host, hcap, "%.*s", (int)(close - h - 1), h + 1);
        colon = close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        snprintf(host, hcap, "%.*s", (int)((colon ? colon : end) - h), h);
    }
    const char *dflt = *tls ? "443" : "80";
    snprintf(port, pcap, "%.*s", colon ? (int)(end - colon - 1) : (int)strlen(dflt),
             colon ? colon + 1 : dflt);
    return 0;
}

/* ---- TLS ------------------------------------------------------------------ */

/* Whether the server's key is one of c's pins (cli.h: "sha256//" and the
 * base64 SHA-256 of its SubjectPublicKeyInfo, ';' between pins). */
static bool pin_matches(const struct bh_cli *c, X509 *x)
{
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
    int n = x ? i2d_PUBKEY(X509_get0_pubkey(x), &der) : -1;
    if (n <= 0)
        return false;
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    char have[BH_TLS_PIN_MAX];
    size_t pre = strlen(BH_TLS_PIN_PREFIX);
    memcpy(have, BH_TLS_PIN_PREFIX, pre);
    bh_b64(md, sizeof(md), have + pre);
    for (const char *p = c->pin; *p;) {
        size_t len = strcspn(p, ";");
        if (len == strlen(have) && !memcmp(p, have, len))
            return true;
        p += len + (p[len] == ';');
    }
    return false;
}

/* The handshake over the connected fd (blocking, with its timeouts). */
static int tls_open(const struct bh_cli *c, int fd, const char *host, SSL_CTX **ctxp, SSL **out,
                    struct bh_err *err)
{
    unsigned char ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
    bool by_pin = c->pin[0] && !c->cacert[0];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    char why[256] = "";
    int rc = BH_ENOMEM;
    if (!ctx)
        goto out;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (!by_pin) {
        int ok = c->cacert[0] ? SSL_CTX_load_verify_locations(ctx, c->cacert, NULL)
                              : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            rc = bh_err_set(err, BH_EINVAL, "cacert", "cannot load the CA file %s",
                            c->cacert[0] ? c->cacert : "(system)");
            goto out;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (!(ssl = SSL_new(ctx)) || !SSL_set_fd(ssl, fd))
        goto out;
    if (!is_ip)
        SSL_set_tlsext_host_name(ssl, host);
    if (!by_pin && (is_ip ? !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
                          : !SSL_set1_host(ssl, host)))
        goto out;
    if (SSL_connect(ssl) != 1) {
        long v = SSL_get_verify_result(ssl);
        unsigned long e = ERR_peek_last_error();
        if (v != X509_V_OK)
            snprintf(why, sizeof(why), "%s", X509_verify_cert_error_string(v));
        else if (e)
            ERR_error_string_n(e, why, sizeof(why));
        else
            snprintf(why, sizeof(why), "the connection closed");
        rc = bh_err_set(err, v != X509_V_OK ? BH_EAUTH : BH_EIO, NULL,
                        "TLS handshake with %s failed: %s%s", c->url, why,
                        v != X509_V_OK ? "; pass --pin sha256//... or --cacert FILE" : "");
        goto out;
    }
    if (c->pin[0]) {
        X509 *x = SSL_get1_peer_certificate(ssl);
        bool ok = pin_matches(c, x);
        X509_free(x);
        if (!ok) {
            rc = bh_err_set(err, BH_EAUTH, NULL,
                            "%s is not the server pinned by %s: its key differs", c->url,
                            c->pin_from);
            goto out;
        }
    }
    *ctxp = ctx;
    *out = ssl;
    ERR_clear_error();
    return 0;
out:
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (rc == BH_ENOMEM)
        bh_err_set(err, rc, NULL, "cannot set up TLS");
    return rc;
}

/* Blocking I/O for the handshake, plain or TLS. */
static ssize_t io_send(int fd, SSL *ssl, const void *p, size_t n)
{
    if (ssl) {
        size_t w = 0;
        return SSL_write_ex(ssl, p, n, &w) == 1 ? (ssize_t)w : -1;
    }
    return send(fd, p, n, MSG_NOSIGNAL);
}

static ssize_t io_recv(int fd, SSL *ssl, void *p, size_t n)
{
    if (ssl) {
        size_t r = 0;
        return SSL_read_ex(ssl, p, n, &r) == 1 ? (ssize_t)r : -1;
    }
    return recv(fd, p, n, 0);
}

static int dial(const char *host, const char *port)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    if (getaddrinfo(host, port, &hints, &res))
        return -1;
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        /* connect and the handshake give up after 10 s (a stalled server,
         * a half-open network); afterwards the socket is non-blocking */
        struct timeval tv = {10, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* Send the upgrade request and check the 101 reply. */
static int handshake(struct bh_cli *c, int fd, SSL *ssl, const char *host, const char *path,
                     struct bh_err *err)
{
    unsigned char nonce[16], digest[SHA_DIGEST_LENGTH];
    char key[32], expect[32], concat[80], req[2048];
    bh_random(nonce, sizeof(nonce));
    bh_b64(nonce, sizeof(nonce), key);
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: "
                     "Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                     "Authorization: Bearer %s\r\n\r\n",
                     path, host, key, c->token);
    if (n < 0 || (size_t)n >= sizeof(req) || io_send(fd, ssl, req, (size_t)n) != n)
        return bh_err_set(err, BH_EIO, NULL, "cannot send the WebSocket handshake");
    explicit_bzero(req, sizeof(req));
    /* read the reply head byte by byte so no frame bytes are consumed */
    char head[4096];
    size_t len = 0;
    while (len < sizeof(head) - 1) {
        ssize_t r = io_recv(fd, ssl, head + len, 1);
        if (r <= 0)
            return bh_err_set(err, BH_EIO, NULL, "connection closed during the handshake");
        len++;
        if (len >= 4 && memcmp(head + len - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[len] = '\0';
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        char *eol = strstr(head, "\r\n");
        if (eol)
            *eol = '\0';
        int code = strstr(head, " 410 ")                            ? BH_EGONE
                   : strstr(head, " 401 ") || strstr(head, " 403 ") ? BH_EAUTH
                                                                    : BH_EIO;
        return bh_err_set(err, code, NULL, "server refused the event stream: %s", head);
    }
    snprintf(concat, sizeof(concat), "%s%s", key, WS_GUID);
    SHA1((const unsigned char *)concat, strlen(concat), digest);
    bh_b64(digest, sizeof(digest), expect);
    const char *acc = strcasestr(head, "\r\nSec-WebSocket-Accept:");
    if (!acc || !strstr(acc, expect))
        return bh_err_set(err, BH_EIO, NULL, "bad Sec-WebSocket-Accept from server");
    return 0;
}

/* A non-blocking TLS read or write: bytes, 0 for the end, or -1 with
 * errno EAGAIN (try again) or EIO. */
static ssize_t tls_io(SSL *ssl, void *rbuf, const void *wbuf, size_t len)
{
    size_t n = 0;
    int ok = rbuf ? SSL_read_ex(ssl, rbuf, len, &n) : SSL_write_ex(ssl, wbuf, len, &n);
    if (ok == 1)
        return (ssize_t)n;
    int e = SSL_get_error(ssl, ok);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    errno = EIO;
    return -1;
}

static ssize_t c_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *u)
{
    (void)flags;
    struct wsc *w = u;
    ssize_t r;
    while ((r = w->ssl ? tls_io(w->ssl, buf, NULL, len) : recv(w->fd, buf, len, 0)) < 0 &&
           errno == EINTR)
        ;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (r <= 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    w->last_rx = bh_mono_ns() / 1000000;
    return r;
}

static ssize_t c_send(wslay_event_context_ptr ctx, const uint8_t *d, size_t len, int flags, void *u)
{
    (void)flags;
    struct wsc *w = u;
    ssize_t r;
    while ((r = w->ssl ? tls_io(w->ssl, NULL, d, len) : send(w->fd, d, len, MSG_NOSIGNAL)) < 0 &&
           errno == EINTR)
        ;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (r < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return r;
}

static int c_mask(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *u)
{
    (void)ctx;
    (void)u;
    return bh_random(buf, len) ? -1 : 0;
}

static void c_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a, void *u)
{
    (void)ctx;
    struct wsc *w = u;
    if (a->opcode == WSLAY_TEXT_FRAME &&
        w->on_event((void *)w->ud, (const char *)a->msg, a->msg_length, w->rev))
        w->stop = 1;
}

int bh_ws_session(struct bh_cli *c, const char *path, int idle_ms, const _Atomic bool *quit,
                  int (*on_msg)(void *ud, const char *msg, size_t n, long long *rev), void *ud,
                  long long *rev, struct bh_err *err)
{
    char host[256], port[16];
    bool tls;
    if (split_url(c->url, host, sizeof(host), port, sizeof(port), &tls))
        return bh_err_set(err, BH_EINVAL, NULL, "a WebSocket needs an http:// or https:// URL");
    int fd = dial(host, port);
    if (fd < 0)
        return bh_err_set(err, BH_EIO, NULL, "cannot connect to %s", c->url);
    SSL_CTX *sctx = NULL;
    SSL *ssl = NULL;
    int rc = tls ? tls_open(c, fd, host, &sctx, &ssl, err) : 0;
    if (!rc)
        rc = handshake(c, fd, ssl, host, path, err);
    if (rc || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        SSL_free(ssl);
        SSL_CTX_free(sctx);
        close(fd);
        return rc ? rc : bh_err_set(err, BH_ESYS, NULL, "fcntl: %s", strerror(errno));
    }
    struct wsc w = {fd, ssl, on_msg, ud, rev, 0, bh_mono_ns() / 1000000};
    struct wslay_event_callbacks cb = {c_recv, c_send, c_mask, NULL, NULL, NULL, c_msg};
    wslay_event_context_ptr ctx;
    if (wslay_event_context_client_init(&ctx, &cb, &w)) {
        SSL_free(ssl);
        SSL_CTX_free(sctx);
        close(fd);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    const char *why = "the server closed the connection";
    while (!w.stop && !(quit && *quit) &&
           (wslay_event_want_read(ctx) || wslay_event_want_write(ctx))) {
        struct pollfd p = {fd,
                           (short)((wslay_event_want_read(ctx) ? POLLIN : 0) |
                                   (wslay_event_want_write(ctx) ? POLLOUT : 0)),
                           0};
        /* TLS may hold decrypted bytes the socket no longer shows */
        int wait_ms = ssl && SSL_pending(ssl) > 0 ? 0 : 1000;
        if (poll(&p, 1, wait_ms) < 0 && errno != EINTR)
            break;
        if (wait_ms == 0)
            p.revents |= POLLIN;
        if (idle_ms > 0 && bh_mono_ns() / 1000000 - w.last_rx > (uint64_t)idle_ms) {
            why = "no heartbeat from the server";
            break;
        }
        if (((p.revents & (POLLIN | POLLHUP | POLLERR)) && wslay_event_recv(ctx)) ||
            ((p.revents & POLLOUT) && wslay_event_send(ctx)))
            break;
    }
    wslay_event_context_free(ctx);
    SSL_free(ssl);
    SSL_CTX_free(sctx);
    close(fd);
    if (w.stop || (quit && *quit))
        return 0;
    return bh_err_set(err, BH_EIO, NULL, "%s", why);
}

/* one connection of the event stream */
static int session(struct bh_cli *c, const char *query, long long *rev,
                   int (*on_event)(void *, const char *, size_t, long long *), void *ud,
                   struct bh_err *err)
{
    char path[1024];
    if (*rev >= 0)
        snprintf(path, sizeof(path), "/api/v1/events?since=%lld%s", *rev, query);
    else
        snprintf(path, sizeof(path), "/api/v1/events?%s", query[0] ? query + 1 : "");
    return bh_ws_session(c, path, 3 * 30 * 1000 + 5000, NULL, on_event, ud, rev, err);
}

int bh_ws_follow(struct bh_cli *c, const char *query, long long since,
                 int (*on_event)(void *ud, const char *msg, size_t n, long long *rev), void *ud,
                 struct bh_err *err)
{
    long long rev = since;
    unsigned backoff = 1;
    for (;;) {
        long long before = rev;
        int rc = session(c, query, &rev, on_event, ud, err);
        if (rc == 0)
            return 0;
        if (rc == BH_EGONE || rc == BH_EINVAL || rc == BH_EAUTH)
            return rc;
        if (rev != before)
            backoff = 1; /* made progress: reconnect quickly */
        fprintf(stderr, "bootherd: %s; reconnecting in %us\n", err->msg, backoff);
        sleep(backoff);
        backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
    }
}
