/*
 * wsclient.c - a small WebSocket client (RFC 6455): following events
 * (reconnect with backoff, resume by revision) and the agent's channel.
 * Non-blocking socket after the handshake, wslay framing; a connection
 * that hears nothing, not even the server's pings, for idle_ms is taken
 * for dead.
 */
#include "cli.h"

#include "core/str.h"
#include "core/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/sha.h>
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
    int (*on_event)(void *ud, const char *msg, size_t n, long long *rev);
    void *ud;
    long long *rev;
    int stop;
    uint64_t last_rx; /* ms, monotonic */
};

static int split_url(const char *url, char *host, size_t hcap, char *port, size_t pcap)
{
    if (strncmp(url, "http://", 7) != 0)
        return -1;
    const char *h = url + 7, *end = h + strcspn(h, "/");
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
    snprintf(port, pcap, "%.*s", colon ? (int)(end - colon - 1) : 2, colon ? colon + 1 : "80");
    return 0;
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
static int handshake(struct bh_cli *c, int fd, const char *host, const char *path,
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
    if (n < 0 || (size_t)n >= sizeof(req) || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return bh_err_set(err, BH_EIO, NULL, "cannot send the WebSocket handshake");
    explicit_bzero(req, sizeof(req));
    /* read the reply head byte by byte so no frame bytes are consumed */
    char head[4096];
    size_t len = 0;
    while (len < sizeof(head) - 1) {
        ssize_t r = recv(fd, head + len, 1, 0);
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

static ssize_t c_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *u)
{
    (void)flags;
    struct wsc *w = u;
    ssize_t r;
    while ((r = recv(w->fd, buf, len, 0)) < 0 && errno == EINTR)
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
    while ((r = send(w->fd, d, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
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
    if (split_url(c->url, host, sizeof(host), port, sizeof(port)))
        return bh_err_set(err, BH_EINVAL, NULL, "a WebSocket needs an http:// URL");
    int fd = dial(host, port);
    if (fd < 0)
        return bh_err_set(err, BH_EIO, NULL, "cannot connect to %s", c->url);
    int rc = handshake(c, fd, host, path, err);
    if (rc || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        close(fd);
        return rc ? rc : bh_err_set(err, BH_ESYS, NULL, "fcntl: %s", strerror(errno));
    }
    struct wsc w = {fd, on_msg, ud, rev, 0, bh_mono_ns() / 1000000};
    struct wslay_event_callbacks cb = {c_recv, c_send, c_mask, NULL, NULL, NULL, c_msg};
    wslay_event_context_ptr ctx;
    if (wslay_event_context_client_init(&ctx, &cb, &w)) {
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
        if (poll(&p, 1, 1000) < 0 && errno != EINTR)
            break;
        if (idle_ms > 0 && bh_mono_ns() / 1000000 - w.last_rx > (uint64_t)idle_ms) {
            why = "no heartbeat from the server";
            break;
        }
        if (((p.revents & (POLLIN | POLLHUP | POLLERR)) && wslay_event_recv(ctx)) ||
            ((p.revents & POLLOUT) && wslay_event_send(ctx)))
            break;
    }
    wslay_event_context_free(ctx);
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
