/*
 * test_ws.c - the WebSocket hub (src/http/ws.c) behind the real server:
 * the handshake over loopback (RFC 6455 4.2.2's accept value), a text
 * frame each way, a watcher receiving an event the hub was woken for, and
 * the heartbeat: the hub pings, and closes a peer it has not heard from
 * for idle_close_seconds.  The client frames by hand, masked (RFC 6455 5.3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/server.h"
#include "http/ws.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define OP_TEXT  0x1
#define OP_CLOSE 0x8
#define OP_PING  0x9
#define OP_PONG  0xA

static struct bh_ws_hub *HUB;
static struct bh_http *H;
static int g_port;
static atomic_int g_closed;

static void on_open(struct bh_ws_conn *c)
{
    bh_ws_send_text(c, "hello", 5);
}
static void on_text(struct bh_ws_conn *c, const char *msg, size_t n)
{
    char out[256];
    int k = snprintf(out, sizeof(out), "echo:%.*s", (int)n, msg);
    bh_ws_send_text(c, out, (size_t)k);
}
static void on_close(struct bh_ws_conn *c)
{
    (void)c;
    atomic_fetch_add(&g_closed, 1);
}
static const struct bh_ws_handler handler = {on_open, on_text, on_close, NULL};

static void send_event(struct bh_ws_conn *c, void *ud)
{
    (void)ud;
    bh_ws_send_text(c, "event", 5);
}
static void on_wake(struct bh_ws_hub *hub, void *ud)
{
    (void)ud;
    bh_ws_hub_foreach(hub, send_event, NULL);
}

static void adopt(void *ud, int fd, const char *extra, size_t nextra, void *handle)
{
    bh_ws_hub_adopt(ud, fd, extra, nextra, handle, &handler, NULL);
}
static void h_ws(struct bh_req *r)
{
    bh_reply_websocket(r, adopt, HUB);
}

static const struct bh_route routes[] = {
    {"GET", "/ws", h_ws, 0, NULL, BH_ROUTE_PUBLIC | BH_ROUTE_NOMETRIC, NULL},
};

static int setup(void **state)
{
    (void)state;
    struct bh_err e;
    struct bh_ws_config wc = {.ping_seconds = 1, .idle_close_seconds = 2};
    if (bh_ws_hub_start(&wc, on_wake, NULL, &HUB, &e))
        fail_msg("hub: %s", e.msg);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    g_port = ntohs(a.sin_port);
    struct bh_http_config hc = {.listen_fd = fd,
                                .boot_fd = -1,
                                .threads = 2,
                                .max_body = 1 << 16,
                                .conn_timeout = 10,
                                .body_timeout = 10,
                                .body_min_rate = 1,
                                .send_min_rate = 1,
                                .routes = routes,
                                .nroutes = 1};
    for (int c = 0; c < BH_CONN__COUNT; c++) {
        hc.limits.budget[c] = 16;
        hc.limits.per_address[c] = 16;
    }
    hc.limits.pending = 16;
    hc.limits.pending_per_address = 16;
    hc.limits.header_timeout = 10;
    if (bh_http_start(&hc, &H, &e))
        fail_msg("http: %s", e.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bh_ws_hub_stop(HUB);
    bh_http_stop(H);
    bh_ws_hub_free(HUB);
    return 0;
}

/* read exactly n bytes within ms; false on EOF or timeout */
static bool read_n(int fd, void *p, size_t n, int ms)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, ms) <= 0)
            return false;
        ssize_t k = recv(fd, (char *)p + got, n - got, 0);
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

/* one frame from the server (never masked, RFC 6455 5.1); -1 on EOF/timeout */
static int read_frame(int fd, char *buf, size_t cap, size_t *len, int ms)
{
    uint8_t h[2];
    if (!read_n(fd, h, 2, ms))
        return -1;
    assert_false(h[1] & 0x80);
    uint64_t n = h[1] & 0x7f;
    if (n == 126) {
        uint8_t x[2];
        assert_true(read_n(fd, x, 2, ms));
        n = (uint64_t)x[0] << 8 | x[1];
    } else if (n == 127) {
        fail_msg("unexpected 64-bit length");
    }
    assert_true(n < cap);
    if (n)
        assert_true(read_n(fd, buf, (size_t)n, ms));
    buf[n] = '\0';
    *len = (size_t)n;
    return h[0] & 0x0f;
}

static void send_frame(int fd, int op, const char *p, size_t n)
{
    uint8_t f[256];
    assert_true(n < 126);
    const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    f[0] = (uint8_t)(0x80 | op);
    f[1] = (uint8_t)(0x80 | n);
    memcpy(f + 2, mask, 4);
    for (size_t i = 0; i < n; i++)
        f[6 + i] = (uint8_t)p[i] ^ mask[i % 4];
    assert_int_equal(send(fd, f, 6 + n, MSG_NOSIGNAL), (ssize_t)(6 + n));
}

static int ws_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)g_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    /* the sample nonce of RFC 6455 1.3 */
    static const char req[] =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(req) - 1));
    char head[2048];
    size_t got = 0;
    while (got < 4 || memcmp(head + got - 4, "\r\n\r\n", 4) != 0) {
        assert_true(got < sizeof(head) - 1);
        assert_true(read_n(fd, head + got, 1, 5000));
        got++;
    }
    head[got] = '\0';
    assert_non_null(strstr(head, "HTTP/1.1 101"));
    assert_non_null(strstr(head, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")); /* RFC 6455 1.3 */
    return fd;
}

static void test_frames_and_event(void **state)
{
    (void)state;
    int fd = ws_connect();
    char buf[512];
    size_t n;
    int op;
    while ((op = read_frame(fd, buf, sizeof(buf), &n, 3000)) == OP_PING)
        ;
    assert_int_equal(op, OP_TEXT);
    assert_string_equal(buf, "hello");
    send_frame(fd, OP_TEXT, "ping me", 7);
    while ((op = read_frame(fd, buf, sizeof(buf), &n, 3000)) == OP_PING)
        ;
    assert_int_equal(op, OP_TEXT);
    assert_string_equal(buf, "echo:ping me");
    assert_int_equal(bh_ws_hub_count(HUB), 1);
    /* a watcher gets what the hub was woken for */
    bh_ws_hub_wake(HUB);
    while ((op = read_frame(fd, buf, sizeof(buf), &n, 3000)) == OP_PING)
        ;
    assert_int_equal(op, OP_TEXT);
    assert_string_equal(buf, "event");
    /* a clean close: the hub answers with a close and lets go */
    int before = atomic_load(&g_closed);
    send_frame(fd, OP_CLOSE, "\x03\xe8", 2); /* 1000 */
    while ((op = read_frame(fd, buf, sizeof(buf), &n, 3000)) == OP_PING || op == OP_TEXT)
        ;
    assert_int_equal(op, OP_CLOSE);
    close(fd);
    for (int i = 0; i < 100 && atomic_load(&g_closed) == before; i++)
        usleep(20000);
    assert_int_equal(atomic_load(&g_closed), before + 1);
}

/* The hub pings every second here; a peer that answers stays, one that
 * goes silent is closed after idle_close_seconds (2). */
static void test_ping_and_idle(void **state)
{
    (void)state;
    int fd = ws_connect();
    char buf[512];
    size_t n;
    int op, pings = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* answer pings for 3.5 s: more than idle_close, and still open */
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec >= 4)
            break;
        op = read_frame(fd, buf, sizeof(buf), &n, 1500);
        if (op == -1)
            continue;
        assert_int_not_equal(op, OP_CLOSE);
        if (op == OP_PING) {
            pings++;
            send_frame(fd, OP_PONG, buf, n);
        }
    }
    assert_true(pings >= 2);
    assert_int_equal(bh_ws_hub_count(HUB), 1);
    /* now silent: closed within idle_close plus a ping period */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        op = read_frame(fd, buf, sizeof(buf), &n, 5000);
        if (op == OP_CLOSE || op == -1)
            break;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_true(t1.tv_sec - t0.tv_sec <= 5);
    close(fd);
    for (int i = 0; i < 100 && bh_ws_hub_count(HUB) != 0; i++)
        usleep(20000);
    assert_int_equal(bh_ws_hub_count(HUB), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frames_and_event),
        cmocka_unit_test(test_ping_and_idle),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
