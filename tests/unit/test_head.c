/*
 * test_head.c - the request-head parser and classifier (src/http/head.c),
 * the redirect to HTTPS it computes, and the check of a first TLS record.
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

static int location(const char *head, char *out, size_t cap, struct bh_err *e)
{
    struct bh_head h;
    assert_int_equal(parse(head, &h, e), 0);
    return bh_head_https_location(&h, out, cap, e);
}

static void test_https_location(void **state)
{
    (void)state;
    static const struct {
        const char *head, *want;
    } ok[] = {
        {"GET /api/v1/hosts?limit=5&q=a%20b HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n\r\n",
         "https://127.0.0.1:8443/api/v1/hosts?limit=5&q=a%20b"},
        {"GET / HTTP/1.1\r\nHost: boot.example.org\r\n\r\n", "https://boot.example.org/"},
        {"POST /api/v1/jobs HTTP/1.1\r\nHost: [::1]:8443\r\nContent-Length: 0\r\n\r\n",
         "https://[::1]:8443/api/v1/jobs"},
        {"HEAD /x HTTP/1.0\r\nHost: a-b.c_d~e\r\n\r\n", "https://a-b.c_d~e/x"},
        /* absolute-form: its authority wins (RFC 9112 3.2.2) */
        {"GET http://srv:8443/boot/x?y=1 HTTP/1.1\r\nHost: other\r\n\r\n",
         "https://srv:8443/boot/x?y=1"},
        {"GET http://srv:8443 HTTP/1.1\r\nHost: other\r\n\r\n", "https://srv:8443/"},
        /* asterisk-form */
        {"OPTIONS * HTTP/1.1\r\nHost: h:1\r\n\r\n", "https://h:1/"},
    };
    char out[256];
    struct bh_err e;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int n = location(ok[i].head, out, sizeof(out), &e);
        if (n < 0)
            fail_msg("case %zu: %s", i, e.msg);
        assert_string_equal(out, ok[i].want);
        assert_int_equal(n, strlen(ok[i].want));
    }
    /* a Host a Location header could misread, or none at all */
    static const char *const bad[] = {
        "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: []\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: :80\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: \r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a%0d\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: evil.com/x\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "GET http://a@b/ HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(location(bad[i], out, sizeof(out), &e), BH_EINVAL);
        assert_string_equal(e.type, "bad-host");
    }
    /* too long for the caller's buffer: refused, not cut */
    assert_int_equal(location("GET /0123456789 HTTP/1.1\r\nHost: h\r\n\r\n", out, 20, &e),
                     BH_ETOOBIG);
    /* "https://h/0123456789": 20 bytes and the NUL */
    assert_int_equal(location("GET /0123456789 HTTP/1.1\r\nHost: h\r\n\r\n", out, 21, &e), 20);
}

/* A TLS record: type, version, length, then a handshake header. */
static size_t hello(unsigned char *b, size_t body, unsigned char rec_minor, unsigned char type)
{
    size_t rlen = 4 + body;
    b[0] = 22;
    b[1] = 3;
    b[2] = rec_minor;
    b[3] = (unsigned char)(rlen >> 8);
    b[4] = (unsigned char)rlen;
    b[5] = type;
    b[6] = (unsigned char)(body >> 16);
    b[7] = (unsigned char)(body >> 8);
    b[8] = (unsigned char)body;
    memset(b + 9, 0x41, body);
    b[9] = 3; /* legacy_version 3.3 */
    b[10] = 3;
    return 5 + rlen;
}

static void test_tls_hello(void **state)
{
    (void)state;
    static unsigned char b[5 + BH_TLS_RECORD_MAX + 16];
    struct bh_err e;
    size_t len;
    size_t n = hello(b, 300, 1, BH_TLS_CLIENT_HELLO);
    assert_true(bh_tls_record_start(b, n));
    assert_false(bh_tls_record_start("GET", 3));
    assert_false(bh_tls_record_start(b, 0));
    assert_int_equal(bh_tls_hello_check(b, n, &len, &e), 0);
    assert_int_equal(len, n);
    /* every prefix is "more"; bytes after the record are not looked at */
    for (size_t k = 0; k < n; k++)
        assert_int_equal(bh_tls_hello_check(b, k, &len, &e), BH_HEAD_MORE);
    assert_int_equal(bh_tls_hello_check(b, n + 10, &len, &e), 0);
    assert_int_equal(len, n);
    /* TLS 1.2's and 1.3's record versions too */
    n = hello(b, 300, 3, BH_TLS_CLIENT_HELLO);
    assert_int_equal(bh_tls_hello_check(b, n, &len, &e), 0);
    /* a hello that goes on in the next record: the first is enough */
    n = hello(b, 300, 1, BH_TLS_CLIENT_HELLO);
    b[8] = (unsigned char)(b[8] + 100); /* the message claims 100 bytes more */
    assert_int_equal(bh_tls_hello_check(b, n, &len, &e), 0);
    /* the largest record is fine; one byte more is not */
    n = hello(b, BH_TLS_RECORD_MAX - 4, 1, BH_TLS_CLIENT_HELLO);
    assert_int_equal(bh_tls_hello_check(b, n, &len, &e), 0);
    n = hello(b, BH_TLS_RECORD_MAX - 3, 1, BH_TLS_CLIENT_HELLO);
    assert_int_equal(bh_tls_hello_check(b, 5, &len, &e), BH_EINVAL);
    assert_string_equal(e.type, "not-tls");
}

static void test_tls_not_hello(void **state)
{
    (void)state;
    unsigned char b[512];
    struct bh_err e;
    size_t len;
    /* each refused as soon as the telling byte arrives */
    hello(b, 100, 1, 2); /* a ServerHello */
    assert_int_equal(bh_tls_hello_check(b, 6, &len, &e), BH_EINVAL);
    hello(b, 100, 0, 1); /* SSL 3.0 record */
    assert_int_equal(bh_tls_hello_check(b, 3, &len, &e), BH_EINVAL);
    hello(b, 100, 5, 1); /* no such TLS */
    assert_int_equal(bh_tls_hello_check(b, 3, &len, &e), BH_EINVAL);
    hello(b, 100, 1, 1);
    b[1] = 2; /* SSL 2 */
    assert_int_equal(bh_tls_hello_check(b, 2, &len, &e), BH_EINVAL);
    hello(b, 100, 1, 1);
    b[9] = 2; /* hello's legacy_version */
    assert_int_equal(bh_tls_hello_check(b, 10, &len, &e), BH_EINVAL);
    /* more than a hello in the first record */
    size_t n = hello(b, 100, 1, 1);
    b[8] = 50;
    assert_int_equal(bh_tls_hello_check(b, n, &len, &e), BH_EINVAL);
    /* a record too short for a hello, and plain text */
    const unsigned char tiny[] = {22, 3, 1, 0, 5};
    assert_int_equal(bh_tls_hello_check(tiny, sizeof(tiny), &len, &e), BH_EINVAL);
    assert_int_equal(bh_tls_hello_check("GET / HTTP/1.1", 14, &len, &e), BH_EINVAL);
    assert_int_equal(bh_tls_hello_check("", 0, &len, &e), BH_HEAD_MORE);
    /* an alert record (21) or application data (23) is not a handshake */
    const unsigned char alert[] = {21, 3, 3, 0, 2, 2, 40};
    assert_int_equal(bh_tls_hello_check(alert, sizeof(alert), &len, &e), BH_EINVAL);
    assert_false(bh_tls_record_start(alert, sizeof(alert)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),     cmocka_unit_test(test_classes),
        cmocka_unit_test(test_prefixes),       cmocka_unit_test(test_lenient),
        cmocka_unit_test(test_refusals),       cmocka_unit_test(test_garbage_early),
        cmocka_unit_test(test_limits),         cmocka_unit_test(test_class_names),
        cmocka_unit_test(test_https_location), cmocka_unit_test(test_tls_hello),
        cmocka_unit_test(test_tls_not_hello),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
