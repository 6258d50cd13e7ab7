/*
 * ws.c - the WebSocket hub: one thread, one libuv loop, wslay framing.
 */
#include "ws.h"

#include "core/log.h"
#include "core/timeutil.h"
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>
#include <wslay/wslay.h>

struct bh_ws_conn {
    struct bh_ws_hub *hub;
    struct bh_ws_conn *next, *prev;
    uv_poll_t poll;
    int fd;
    void *handle;
    wslay_event_context_ptr ctx;
    const struct bh_ws_handler *h;
    void *ud;
    char *extra; /* bytes MHD read past the handshake */
    size_t nextra, extra_off;
    uint64_t last_rx_ns;
    bool closing;
    bool opened;
};

struct bh_ws_hub {
    pthread_t thread;
    uv_loop_t loop;
    uv_async_t wake, adopt, stop;
    uv_timer_t ping;
    uint64_t idle_close_ns;
    pthread_mutex_t mu;
    struct bh_ws_conn *pending; /* adopted, not yet on the loop (under mu) */
    struct bh_ws_conn *conns;   /* on the loop (hub thread only) */
    atomic_size_t nconns;       /* read by /metrics from other threads */
    void (*on_wake)(struct bh_ws_hub *hub, void *ud);
    void *ud;
    atomic_bool stopping;
};

static void conn_update(struct bh_ws_conn *c);

/* ---- wslay callbacks ----------------------------------------------------- */

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *user)
{
    (void)flags;
    struct bh_ws_conn *c = user;
    if (c->extra_off < c->nextra) {
        size_t n = c->nextra - c->extra_off;
        if (n > len)
            n = len;
        memcpy(buf, c->extra + c->extra_off, n);
        c->extra_off += n;
        return (ssize_t)n;
    }
    ssize_t r;
    while ((r = recv(c->fd, buf, len, 0)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    if (r == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    c->last_rx_ns = bh_mono_ns();
    return r;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    (void)flags;
    struct bh_ws_conn *c = user;
    ssize_t r;
    while ((r = send(c->fd, data, len, MSG_NOSIGNAL)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        wslay_event_set_error(ctx, errno == EAGAIN || errno == EWOULDBLOCK
                                       ? WSLAY_ERR_WOULDBLOCK
                                       : WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return r;
}

static void msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    (void)ctx;
    struct bh_ws_conn *c = user;
    if ((arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME) && c->h->on_text &&
        !c->closing)
        c->h->on_text(c, (const char *)arg->msg, arg->msg_length);
}

static const struct wslay_event_callbacks callbacks = {
    .recv_callback = recv_cb,
    .send_callback = send_cb,
    .on_msg_recv_callback = msg_cb,
};

/* ---- connection lifecycle ------------------------------------------------ */

/* Release a connection that never reached the loop (or whose poll handle
 * has closed): tell its owner, free the framing, hand the socket back. */
static void conn_discard(struct bh_ws_conn *c)
{
    if (c->h->on_close)
        c->h->on_close(c);
    wslay_event_context_free(c->ctx);
    bh_http_upgraded_close(c->handle);
    free(c->extra);
    free(c);
}

static void conn_freed(uv_handle_t *hnd)
{
    conn_discard(hnd->data);
}

static void conn_drop(struct bh_ws_conn *c)
{
    struct bh_ws_hub *hub = c->hub;
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    hub->nconns--;
    uv_poll_stop(&c->poll);
    uv_close((uv_handle_t *)&c->poll, conn_freed);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct bh_ws_conn *c = p->data;
    if (status < 0) {
        conn_drop(c);
        return;
    }
    if ((events & UV_READABLE) && wslay_event_recv(c->ctx) != 0) {
        conn_drop(c);
        return;
    }
    if ((events & UV_WRITABLE) && wslay_event_send(c->ctx) != 0) {
        conn_drop(c);
        return;
    }
    conn_update(c);
}

/* Flush what can go now and poll for what is wanted; drop when done. */
static void conn_update(struct bh_ws_conn *c)
{
    if (wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0) {
        conn_drop(c);
        return;
    }
    int ev = 0;
    if (wslay_event_want_read(c->ctx))
        ev |= UV_READABLE;
    if (wslay_event_want_write(c->ctx))
        ev |= UV_WRITABLE;
    if (!ev) {
        conn_drop(c);
        return;
    }
    uv_poll_start(&c->poll, ev, on_poll);
}

static void start_conn(struct bh_ws_hub *hub, struct bh_ws_conn *c)
{
    c->hub = hub;
    c->last_rx_ns = bh_mono_ns();
    c->next = hub->conns;
    c->prev = NULL;
    if (hub->conns)
        hub->conns->prev = c;
    hub->conns = c;
    hub->nconns++;
    uv_poll_init_socket(&hub->loop, &c->poll, c->fd);
    c->poll.data = c;
    c->opened = true;
    if (c->h->on_open)
        c->h->on_open(c);
    /* data that came with the handshake is processed right away */
    if (c->nextra && !c->closing && wslay_event_recv(c->ctx) != 0) {
        conn_drop(c);
        return;
    }
    conn_update(c);
}

static void on_adopt(uv_async_t *a)
{
    struct bh_ws_hub *hub = a->data;
    pthread_mutex_lock(&hub->mu);
    struct bh_ws_conn *list = hub->pending;
    hub->pending = NULL;
    pthread_mutex_unlock(&hub->mu);
    while (list) {
        struct bh_ws_conn *c = list;
        list = c->next;
        if (hub->stopping) {
            conn_discard(c);
            continue;
        }
        start_conn(hub, c);
    }
}

void bh_ws_hub_adopt(struct bh_ws_hub *hub, int fd, const char *extra, size_t nextra, void *handle,
                     const struct bh_ws_handler *h, void *ud)
{
    struct bh_ws_conn *c = calloc(1, sizeof(*c));
    if (!c || (nextra && !(c->extra = malloc(nextra))) ||
        wslay_event_context_server_init(&c->ctx, &callbacks, c) != 0) {
        bh_log(BH_LOG_ERROR, "websocket", "err=%s", "out of memory");
        if (c)
            free(c->extra);
        free(c);
        if (h->on_close) {
            struct bh_ws_conn tmp = {.ud = ud};
            h->on_close(&tmp);
        }
        bh_http_upgraded_close(handle);
        return;
    }
    wslay_event_config_set_max_recv_msg_length(c->ctx, BH_WS_MAX_INCOMING);
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    c->fd = fd;
    c->handle = handle;
    c->h = h;
    c->ud = ud;
    if (nextra)
        memcpy(c->extra, extra, nextra);
    c->nextra = nextra;
    pthread_mutex_lock(&hub->mu);
    if (hub->stopping) { /* shutting down: refuse politely */
        pthread_mutex_unlock(&hub->mu);
        conn_discard(c);
        return;
    }
    c->next = hub->pending;
    hub->pending = c;
    uv_async_send(&hub->adopt);
    pthread_mutex_unlock(&hub->mu);
}

void *bh_ws_conn_ud(const struct bh_ws_conn *c)
{
    return c->ud;
}

int bh_ws_send_text(struct bh_ws_conn *c, const char *s, size_t n)
{
    if (c->closing)
        return BH_EIO;
    if (wslay_event_get_queued_msg_length(c->ctx) > BH_WS_MAX_QUEUED) {
        bh_ws_close(c, WSLAY_CODE_POLICY_VIOLATION, "too slow; reconnect with since=<rev>");
        return BH_EBUSY;
    }
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)s, n};
    if (wslay_event_queue_msg(c->ctx, &m) != 0)
        return BH_ENOMEM;
    if (c->opened && !uv_is_closing((uv_handle_t *)&c->poll))
        uv_poll_start(&c->poll, UV_READABLE | UV_WRITABLE, on_poll);
    return 0;
}

void bh_ws_close(struct bh_ws_conn *c, uint16_t code, const char *reason)
{
    if (c->closing)
        return;
    c->closing = true;
    wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, reason ? strlen(reason) : 0);
    wslay_event_shutdown_read(c->ctx); /* do not wait for the peer's close */
    if (c->opened && !uv_is_closing((uv_handle_t *)&c->poll))
        uv_poll_start(&c->poll, UV_READABLE | UV_WRITABLE, on_poll);
}

void bh_ws_hub_foreach(struct bh_ws_hub *hub, void (*fn)(struct bh_ws_conn *c, void *ud), void *ud)
{
    for (struct bh_ws_conn *c = hub->conns, *next; c; c = next) {
        next = c->next;
        if (!c->closing)
            fn(c, ud);
    }
}

size_t bh_ws_hub_count(const struct bh_ws_hub *hub)
{
    return atomic_load(&hub->nconns);
}

/* ---- hub thread ---------------------------------------------------------- */

static void on_wake(uv_async_t *a)
{
    struct bh_ws_hub *hub = a->data;
    if (hub->on_wake && !hub->stopping)
        hub->on_wake(hub, hub->ud);
}

static void on_ping(uv_timer_t *t)
{
    struct bh_ws_hub *hub = t->data;
    uint64_t now = bh_mono_ns();
    for (struct bh_ws_conn *c = hub->conns, *next; c; c = next) {
        next = c->next;
        if (now - c->last_rx_ns > hub->idle_close_ns) {
            conn_drop(c); /* no pong, no data: the peer is gone */
            continue;
        }
        if (!c->closing && c->h->on_ping)
            c->h->on_ping(c);
        if (c->closing)
            continue; /* its close frame is on its way */
        struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"", 0};
        wslay_event_queue_msg(c->ctx, &m);
        conn_update(c);
    }
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_stop(uv_async_t *a)
{
    struct bh_ws_hub *hub = a->data;
    on_adopt(&hub->adopt); /* release anything not yet started */
    for (struct bh_ws_conn *c = hub->conns, *next; c; c = next) {
        next = c->next;
        wslay_event_queue_close(c->ctx, WSLAY_CODE_GOING_AWAY, (const uint8_t *)"shutdown", 8);
        wslay_event_send(c->ctx); /* best effort, never wait */
        conn_drop(c);
    }
    uv_walk(&hub->loop, close_handle, NULL);
}

static void *hub_main(void *arg)
{
    struct bh_ws_hub *hub = arg;
    uv_run(&hub->loop, UV_RUN_DEFAULT);
    return NULL;
}

int bh_ws_hub_start(const struct bh_ws_config *cfg,
                    void (*wake_fn)(struct bh_ws_hub *hub, void *ud), void *ud,
                    struct bh_ws_hub **out, struct bh_err *err)
{
    struct bh_ws_hub *hub = calloc(1, sizeof(*hub));
    if (!hub)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    uint64_t ping_ms =
        1000ull * (cfg && cfg->ping_seconds ? cfg->ping_seconds : BH_WS_PING_SECONDS);
    hub->idle_close_ns =
        1000000000ull *
        (cfg && cfg->idle_close_seconds ? cfg->idle_close_seconds : BH_WS_IDLE_CLOSE_SECONDS);
    hub->on_wake = wake_fn;
    hub->ud = ud;
    pthread_mutex_init(&hub->mu, NULL);
    if (uv_loop_init(&hub->loop)) {
        free(hub);
        return bh_err_set(err, BH_ESYS, NULL, "cannot create the WebSocket loop");
    }
    uv_async_init(&hub->loop, &hub->wake, on_wake);
    uv_async_init(&hub->loop, &hub->adopt, on_adopt);
    uv_async_init(&hub->loop, &hub->stop, on_stop);
    uv_timer_init(&hub->loop, &hub->ping);
    hub->wake.data = hub->adopt.data = hub->stop.data = hub->ping.data = hub;
    uv_timer_start(&hub->ping, on_ping, ping_ms, ping_ms);
    if (pthread_create(&hub->thread, NULL, hub_main, hub)) {
        uv_walk(&hub->loop, close_handle, NULL);
        uv_run(&hub->loop, UV_RUN_DEFAULT);
        uv_loop_close(&hub->loop);
        free(hub);
        return bh_err_set(err, BH_ESYS, NULL, "cannot start the WebSocket thread");
    }
    *out = hub;
    return 0;
}

void bh_ws_hub_stop(struct bh_ws_hub *hub)
{
    if (!hub)
        return;
    pthread_mutex_lock(&hub->mu);
    bool was = hub->stopping;
    hub->stopping = true;
    if (!was)
        uv_async_send(&hub->stop);
    pthread_mutex_unlock(&hub->mu);
    if (was)
        return;
    pthread_join(hub->thread, NULL);
    uv_loop_close(&hub->loop);
}

void bh_ws_hub_free(struct bh_ws_hub *hub)
{
    if (!hub)
        return;
    bh_ws_hub_stop(hub);
    pthread_mutex_destroy(&hub->mu);
    free(hub);
}

void bh_ws_hub_wake(struct bh_ws_hub *hub)
{
    if (!hub)
        return;
    pthread_mutex_lock(&hub->mu);
    if (!hub->stopping)
        uv_async_send(&hub->wake);
    pthread_mutex_unlock(&hub->mu);
}
