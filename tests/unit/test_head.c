/*
 * test_head.c - the request-head parser and classifier (src/http/head.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "http/head.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse(const char *s, struct bh_head *h, struct bh_err *e)
{
    return bh_head_parse(s, strlen(s), h, e);
}

static void test_simple_get(void **state)
{
    (void)state;
    const char *s = "GET /health?x=1 HTTP/1.1\r\nHost: example\r\nAccept: */*\r\n\r\nBODY";
    struct bh_head h;
    struct bh_err e;
    assert_int_equal(parse(s, &h, &e), 0);
    assert_int_equal(h.len, strlen(s) - 4);
    assert_int_equal(h.cls, BH_CONN_API);
    assert_int_equal(h.method_len, 3);
    assert_memory_equal(h.method, "GET", 3);
    assert_int_equal(h.path_len, 7); /* the query is not part of the path */
    assert_memory_equal(h.path, "/health", 7);
    assert_int_equal(h.minor, 1);
    assert_int_equal(h.content_length, -1);
    assert_false(h.chunked);
    assert_false(h.head_method);
}

static void test_classes(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        enum bh_conn_class cls;
    } cases[] = {
        {"GET /boot/boot.ipxe HTTP/1.1\r\nHost: x\r\n\r\n", BH_CONN_BOOT},
        {"GET /boot HTTP/1.1\r\nHost: x\r\n\r\n", BH_CONN_BOOT},
        {"GET /boot?mac=1 HTTP/1.1\r\nHost: x\r\n\r\n", BH_CONN_BOOT},
        {"GET /boot/files/a/b HTTP/1.0\r\n\r\n", BH_CONN_BOOT},
        {"GET http://srv:8080/boot/ipxe HTTP/1.1\r\nHost: srv\r\n\r\n", BH_CONN_BOOT},
        {"GET /bootx HTTP/1.1\r\nHost: x\r\n\r\n", BH_CONN_API},
        {"GET /api/v1/boot/x HTTP/1.1\r\nHost: x\r\n\r\n", BH_CONN_API},
        {"GET http://srv HTTP/1.1\r\nHost: srv\r\n\r\n", BH_CONN_API},
        {"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", BH_CONN_API},
        {"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", BH_CONN_WS},
        {"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nupgrade:  WebSocket \r\n\r\n", BH_CONN_WS},
        {"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: h2c, websocket/13\r\n\r\n",
         BH_CONN_WS},
        /* a WebSocket handshake for a boot path is still a WebSocket */
        {"GET /boot/x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", BH_CONN_WS},
        {"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n\r\n", BH_CONN_API},
        {"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocketx\r\n\r\n", BH_CONN_API},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bh_head h;
        struct bh_err e;
        int rc = parse(cases[i].head, &h, &e);
        if (rc != 0 || h.cls != cases[i].cls)
            fail_msg("%s: rc %d (%s) class %s", cases[i].head, rc, e.msg,
                     bh_conn_class_name(h.cls));
    }
}

/* Every proper prefix of a good head is "more", never a refusal. */
static void test_prefixes(void **state)
{
    (void)state;
    static const char *const heads[] = {
        "GET /health HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/8\r\n\r\n",
        "\r\n\r\nPOST /api/v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n",
        "PUT /x HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n",
        "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        size_t n = strlen(heads[i]);
        struct bh_head h;
        struct bh_err e;
        assert_int_equal(bh_head_parse(heads[i], n, &h, &e), 0);
        assert_int_equal(h.len, n);
        for (size_t k = 0; k < n; k++) {
            int rc = bh_head_parse(heads[i], k, &h, &e);
            if (rc != BH_HEAD_MORE)
                fail_msg("prefix %zu of head %zu: rc %d %s", k, i, rc, e.msg);
        }
    }
}

static void test_lenient(void **state)
{
    (void)state;
    struct bh_head h;
    struct bh_err e;
    /* RFC 9112 2.2: empty lines before the request line; bare LF */
    assert_int_equal(parse("\r\n\nGET / HTTP/1.1\nHost: x\n\n", &h, &e), 0);
    /* RFC 9110 2.5: HTTP/1.9 is read as 1.1 */
    assert_int_equal(parse("GET / HTTP/1.9\r\nHost: x\r\n\r\n", &h, &e), 0);
    assert_int_equal(h.minor, 1);
    /* HTTP/1.0 needs no Host */
    assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &h, &e), 0);
    assert_int_equal(h.minor, 0);
    /* optional whitespace around a value; bytes above 0x7f in a value */
    assert_int_equal(parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \t42 \r\n"
                           "X-Name: caf\xc3\xa9\r\n\r\n",
                           &h, &e),
                     0);
    assert_int_equal(h.content_length, 42);
    assert_int_equal(parse("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n", &h, &e), 0);
    assert_true(h.head_method);
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n", &h, &e), 0);
    assert_true(h.chunked);
    assert_int_equal(
        parse("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999999999999\r\n\r\n", &h, &e),
        0);
    assert_true(h.content_length == 999999999999999999LL);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        int status;
        const char *type;
        const char *field;
    } cases[] = {
        {"GARBAGE\r\n\r\n", 400, "malformed-request", ""},
        {"GET /\r\n\r\n", 400, "malformed-request", ""}, /* HTTP/0.9 */
        {"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed-request", ""},
        {"GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "malformed-request", ""},
        {"GET / http/1.1\r\nHost: x\r\n\r\n", 400, "malformed-request", ""},
        {"GET / HTTP/11\r\nHost: x\r\n\r\n", 400, "malformed-request", ""},
        {"GET /a\x80 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed-request", ""},
        {"GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n", 400, "malformed-request", ""},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "http-version-not-supported", ""},
        {"GET / HTTP/0.9\r\nHost: x\r\n\r\n", 505, "http-version-not-supported", ""},
        {"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400, "malformed-request", ""},
        {"GET / HTTP/1.1\r\nHost: x\r\nName : v\r\n\r\n", 400, "malformed-request", ""},
        {"GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400, "malformed-request", ""},
        {"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\n folded\r\n\r\n", 400, "malformed-request", ""},
        {"GET / HTTP/1.1\r\nHost: x\r\nA: a\rb\r\n\r\n", 400, "malformed-request", ""},
        {"GET / HTTP/1.1\r\nHost: x\r\nA: a\x01"
         "b\r\n\r\n",
         400, "malformed-request", "A"},
        {"GET / HTTP/1.1\r\n\r\n", 400, "bad-host", "Host"},
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "bad-host", "Host"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "bad-content-length",
         "Content-Length"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400, "bad-content-length",
         "Content-Length"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", 400, "bad-content-length",
         "Content-Length"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, "bad-content-length",
         "Content-Length"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456789\r\n\r\n", 400,
         "bad-content-length", "Content-Length"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n", 400,
         "bad-content-length", "content-length"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
         "unsupported-transfer-encoding", "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
         "chunked\r\n\r\n",
         501, "unsupported-transfer-encoding", "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
         "bad-transfer-encoding", "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
         "bad-transfer-encoding", "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400,
         "bad-transfer-encoding", "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400,
         "bad-transfer-encoding", "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,\r\n\r\n", 400, "bad-transfer-encoding",
         "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \"x\"\r\n\r\n", 400,
         "bad-transfer-encoding", "Transfer-Encoding"},
        {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "bad-transfer-encoding",
         "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         400, "bad-transfer-encoding", "Transfer-Encoding"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bh_head h;
        struct bh_err e;
        int rc = parse(cases[i].head, &h, &e);
        if (rc >= 0 || h.status != cases[i].status || !e.type ||
            strcmp(e.type, cases[i].type) != 0 || strcmp(e.field, cases[i].field) != 0)
            fail_msg("case %zu: rc %d status %d type %s field '%s' (%s)", i, rc, h.status,
                     e.type ? e.type : "-", e.field, e.msg);
        assert_int_equal(rc, h.status == 501 || h.status == 505 ? BH_EUNSUPP : BH_EINVAL);
    }
}

/* Garbage is refused at its first bytes, without waiting for a line end. */
static void test_garbage_early(void **state)
{
    (void)state;
    struct bh_head h;
    struct bh_err e;
    assert_int_equal(bh_head_parse("\x16\x03\x01", 3, &h, &e), BH_EINVAL); /* a TLS hello */
    assert_int_equal(h.status, 400);
    assert_int_equal(parse("GET /a b", &h, &e), BH_EINVAL);
    assert_int_equal(parse("GET / HTTX", &h, &e), BH_EINVAL);
    assert_int_equal(parse("GET / HTTP/1.1x", &h, &e), BH_EINVAL);
    /* the request line was read: a refusal still names the path */
    assert_int_equal(parse("GET /p HTTP/1.1\r\nBad\r\n", &h, &e), BH_EINVAL);
    assert_int_equal(h.path_len, 2);
    assert_memory_equal(h.path, "/p", 2);
}

static char *repeat(const char *prefix, const char *unit, size_t times, const char *suffix)
{
    size_t n = strlen(prefix) + strlen(unit) * times + strlen(suffix);
    char *s = malloc(n + 1);
    assert_non_null(s);
    char *p = s;
    p += snprintf(p, n + 1, "%s", prefix);
    for (size_t i = 0; i < times; i++)
        p += snprintf(p, n + 1 - (size_t)(p - s), "%s", unit);
    snprintf(p, n + 1 - (size_t)(p - s), "%s", suffix);
    return s;
}

static void test_limits(void **state)
{
    (void)state;
    struct bh_head h;
    struct bh_err e;
    char *s = repeat("GET / HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n", BH_HEAD_MAX_FIELDS - 1, "\r\n");
    assert_int_equal(parse(s, &h, &e), 0);
    free(s);
    s = repeat("GET / HTTP/1.1\r\nHost: x\r\n", "X-A: b\r\n", BH_HEAD_MAX_FIELDS, "\r\n");
    assert_int_equal(parse(s, &h, &e), BH_ETOOBIG);
    assert_int_equal(h.status, 431);
    free(s);
    /* 64 KiB without the end of the head: 431; of the request line: 414 */
    s = repeat("GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", "a", BH_HEAD_MAX, "");
    assert_int_equal(bh_head_parse(s, BH_HEAD_MAX, &h, &e), BH_ETOOBIG);
    assert_int_equal(h.status, 431);
    assert_string_equal(e.type, "header-fields-too-large");
    assert_int_equal(bh_head_parse(s, BH_HEAD_MAX - 1, &h, &e), BH_HEAD_MORE);
    free(s);
    s = repeat("GET /", "u", BH_HEAD_MAX, "");
    assert_int_equal(bh_head_parse(s, strlen(s), &h, &e), BH_ETOOBIG);
    assert_int_equal(h.status, 414);
    free(s);
    /* a head that ends just inside the cap is fine, whatever follows */
    s = repeat("GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", "a", BH_HEAD_MAX - 40, "\r\n\r\n");
    size_t n = strlen(s);
    assert_true(n <= BH_HEAD_MAX);
    char *t = repeat(s, "z", 100, "");
    assert_int_equal(bh_head_parse(t, strlen(t), &h, &e), 0);
    assert_int_equal(h.len, n);
    free(t);
    free(s);
}

static void test_class_names(void **state)
{
    (void)state;
    assert_string_equal(bh_conn_class_name(BH_CONN_API), "api");
    assert_string_equal(bh_conn_class_name(BH_CONN_BOOT), "boot");
    assert_string_equal(bh_conn_class_name(BH_CONN_WS), "ws");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get), cmocka_unit_test(test_classes),
        cmocka_unit_test(test_prefixes),   cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_refusals),   cmocka_unit_test(test_garbage_early),
        cmocka_unit_test(test_limits),     cmocka_unit_test(test_class_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
