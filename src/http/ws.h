/*
 * ws.h - WebSocket connections after the HTTP upgrade (RFC 6455, framing by
 * wslay), all served by one hub thread with its own libuv loop.
 *
 * Handlers and on_wake run on the hub thread, where they may block briefly
 * (e.g. read the store): the boot services live on another loop and never
 * wait for the hub.  Outgoing messages are queued per connection; a
 * connection whose queue passes BH_WS_MAX_QUEUED is closed as too slow.
 */
#ifndef BH_HTTP_WS_H
#define BH_HTTP_WS_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define BH_WS_MAX_QUEUED   (8u * 1024 * 1024)
#define BH_WS_MAX_INCOMING (64u * 1024)
/* The heartbeat rule: the hub pings every connection every ping_seconds
 * and closes one it has heard nothing from (no pong, no data) for
 * idle_close_seconds.  The agent takes a channel silent for 75 s for dead,
 * so pings come more often than that. */
#define BH_WS_PING_SECONDS       30
#define BH_WS_IDLE_CLOSE_SECONDS 90

struct bh_ws_config {
    unsigned ping_seconds;       /* 0 = BH_WS_PING_SECONDS */
    unsigned idle_close_seconds; /* 0 = BH_WS_IDLE_CLOSE_SECONDS */
};

struct bh_ws_hub;
struct bh_ws_conn;

struct bh_ws_handler {
    void (*on_open)(struct bh_ws_conn *c);
    void (*on_text)(struct bh_ws_conn *c, const char *msg, size_t n);
    void (*on_close)(struct bh_ws_conn *c); /* last call; free the conn's ud here */
    /* optional: before each ping (every ping_seconds); may bh_ws_close c */
    void (*on_ping)(struct bh_ws_conn *c);
};

/* cfg may be NULL (the defaults). */
int bh_ws_hub_start(const struct bh_ws_config *cfg,
                    void (*on_wake)(struct bh_ws_hub *hub, void *ud), void *ud,
                    struct bh_ws_hub **out, struct bh_err *err);
/* Close every connection (1001 going away) and join the hub thread.  Later
 * adoptions are closed at once, so this can run before the HTTP server
 * stops; free the hub after that with bh_ws_hub_free. */
void bh_ws_hub_stop(struct bh_ws_hub *hub);
void bh_ws_hub_free(struct bh_ws_hub *hub);
/* From any thread: run on_wake soon on the hub thread (coalesced). */
void bh_ws_hub_wake(struct bh_ws_hub *hub);
/* From any thread: take over an upgraded connection (see bh_reply_websocket). */
void bh_ws_hub_adopt(struct bh_ws_hub *hub, int fd, const char *extra, size_t nextra, void *handle,
                     const struct bh_ws_handler *h, void *ud);

/* Any thread: */
size_t bh_ws_hub_count(const struct bh_ws_hub *hub);

/* Hub thread only: */
void *bh_ws_conn_ud(const struct bh_ws_conn *c);
int bh_ws_send_text(struct bh_ws_conn *c, const char *s, size_t n);
void bh_ws_close(struct bh_ws_conn *c, uint16_t code, const char *reason);
void bh_ws_hub_foreach(struct bh_ws_hub *hub, void (*fn)(struct bh_ws_conn *c, void *ud), void *ud);
size_t bh_ws_hub_count(const struct bh_ws_hub *hub);

#endif
