/*
 * test_browser.c - unit tests for src/http/browser.c (Cookie, Origin,
 * Accept-Encoding, If-None-Match) and the failed-login limit of
 * src/api/session.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api.h"
#include "http/browser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the value of cookie name (skip earlier ones) as a string, or NULL */
static const char *cookie(const char *hdr, const char *name, size_t skip)
{
    static char out[256];
    const char *v;
    size_t n;
    if (!bh_cookie_find(hdr, strlen(hdr), name, skip, &v, &n))
        return NULL;
    assert_true(n < sizeof(out));
    assert_true(v >= hdr && v + n <= hdr + strlen(hdr)); /* borrowed from hdr */
    memcpy(out, v, n);
    out[n] = '\0';
    return out;
}

static void test_cookie_find(void **state)
{
    (void)state;
    assert_string_equal(cookie("bh_session=abc", "bh_session", 0), "abc");
    assert_string_equal(cookie("a=1; bh_session=abc; b=2", "bh_session", 0), "abc");
    assert_string_equal(cookie("a=1;bh_session=abc;b=2", "bh_session", 0), "abc");
    assert_string_equal(cookie("  bh_session = abc  ;", "bh_session", 0), "abc");
    assert_string_equal(cookie("bh_session=\"abc\"", "bh_session", 0), "abc");
    assert_string_equal(cookie("bh_session=", "bh_session", 0), "");
    assert_string_equal(cookie("bh_session=\"", "bh_session", 0), "\""); /* one quote stays */
    assert_string_equal(cookie("x=a=b; bh_session=c=d", "bh_session", 0), "c=d");
    /* several with one name: in order */
    assert_string_equal(cookie("bh_session=one; bh_session=two", "bh_session", 0), "one");
    assert_string_equal(cookie("bh_session=one; bh_session=two", "bh_session", 1), "two");
    assert_null(cookie("bh_session=one; bh_session=two", "bh_session", 2));
    /* names compare exactly: no prefix, suffix or case match */
    assert_null(cookie("xbh_session=abc", "bh_session", 0));
    assert_null(cookie("bh_session2=abc", "bh_session", 0));
    assert_null(cookie("BH_SESSION=abc", "bh_session", 0));
    assert_null(cookie("bh_session", "bh_session", 0)); /* no '=' */
    assert_null(cookie("", "bh_session", 0));
    assert_null(cookie(";;;", "bh_session", 0));
    assert_null(cookie("=abc", "", 0));
    assert_string_equal(cookie("junk; bh_session=ok", "bh_session", 0), "ok");
}

static void test_cookie_bounds(void **state)
{
    (void)state;
    const char *v;
    size_t n;
    /* stops at len: the value is cut there, never read beyond */
    const char h[] = "bh_session=abcdef";
    assert_true(bh_cookie_find(h, 14, "bh_session", 0, &v, &n));
    assert_int_equal(n, 3);
    assert_memory_equal(v, "abc", 3);
    /* stops at a NUL inside len */
    const char z[] = "a=1\0bh_session=x";
    assert_false(bh_cookie_find(z, sizeof(z) - 1, "bh_session", 0, &v, &n));
    /* too long a header is not read */
    size_t big = BH_COOKIE_HEADER_MAX + 1;
    char *p = malloc(big);
    assert_non_null(p);
    memset(p, 'a', big);
    memcpy(p, "bh_session=x;", 13);
    assert_false(bh_cookie_find(p, big, "bh_session", 0, &v, &n));
    assert_true(bh_cookie_find(p, BH_COOKIE_HEADER_MAX, "bh_session", 0, &v, &n));
    free(p);
    assert_false(bh_cookie_find(NULL, 0, "bh_session", 0, &v, &n));
}

static void test_origin(void **state)
{
    (void)state;
    assert_true(bh_origin_same("http://127.0.0.1:8080", "127.0.0.1:8080", false));
    assert_true(bh_origin_same("HTTP://Boot.Example:8080", "boot.example:8080", false));
    assert_true(bh_origin_same("http://boot.example", "boot.example:80", false));
    assert_true(bh_origin_same("http://boot.example:80", "boot.example", false));
    assert_true(bh_origin_same("https://boot.example", "boot.example:443", true));
    assert_true(bh_origin_same("http://[::1]:8080", "[::1]:8080", false));
    assert_false(bh_origin_same("http://[::1]:8080", "[::1]:8081", false));
    assert_false(bh_origin_same("https://127.0.0.1:8080", "127.0.0.1:8080", false));
    assert_false(bh_origin_same("http://127.0.0.1:8080", "127.0.0.1:8080", true));
    assert_false(bh_origin_same("http://evil.example", "boot.example", false));
    assert_false(bh_origin_same("http://boot.example.evil", "boot.example", false));
    assert_false(bh_origin_same("http://boot.example:8080", "boot.example", false));
    assert_false(bh_origin_same("null", "boot.example", false));
    assert_false(bh_origin_same(NULL, "boot.example", false));
    assert_false(bh_origin_same("http://boot.example", NULL, false));
    assert_false(bh_origin_same("http://", "", false));
    assert_false(bh_origin_same("http://boot.example/", "boot.example", false));
    assert_false(bh_origin_same("http://u@boot.example", "u@boot.example", false));
    assert_false(bh_origin_same("http://boot.example:", "boot.example:", false));
    assert_false(bh_origin_same("http://boot.example:0", "boot.example:0", false));
    assert_false(bh_origin_same("http://boot.example:99999", "boot.example:99999", false));
    assert_false(bh_origin_same("http://::1", "::1", false)); /* IPv6 without brackets */
    assert_false(bh_origin_same("http://a b", "a b", false));
    assert_false(bh_origin_same("http://[::1", "[::1", false));
}

static void test_accepts_gzip(void **state)
{
    (void)state;
    assert_true(bh_accepts_gzip("gzip"));
    assert_true(bh_accepts_gzip("gzip, deflate, br"));
    assert_true(bh_accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    assert_true(bh_accepts_gzip("x-gzip"));
    assert_true(bh_accepts_gzip("*"));
    assert_true(bh_accepts_gzip("gzip;q=0.001"));
    assert_true(bh_accepts_gzip("gzip ; q=1"));
    assert_false(bh_accepts_gzip("gzip;q=0"));
    assert_false(bh_accepts_gzip("gzip;q=0.000"));
    assert_false(bh_accepts_gzip("*;q=0"));
    assert_false(bh_accepts_gzip("gzip;q=0, *")); /* named wins over * */
    assert_false(bh_accepts_gzip("identity"));
    assert_false(bh_accepts_gzip("deflate, br"));
    assert_false(bh_accepts_gzip("gzipx"));
    assert_false(bh_accepts_gzip(""));
    assert_false(bh_accepts_gzip(NULL));
    /* malformed members count as not listed */
    assert_false(bh_accepts_gzip("gzip;q=2"));
    assert_false(bh_accepts_gzip("gzip;q=1.5"));
    assert_false(bh_accepts_gzip("gzip;q=0.5.5"));
    assert_false(bh_accepts_gzip("gzip;q="));
    assert_false(bh_accepts_gzip("gzip junk"));
    assert_true(bh_accepts_gzip("gzip;q=, gzip")); /* the first well-formed listing */
    assert_true(bh_accepts_gzip(",, gzip ,"));
}

static void test_etag_listed(void **state)
{
    (void)state;
    assert_true(bh_etag_listed("\"a-1\"", "\"a-1\""));
    assert_true(bh_etag_listed("*", "\"a-1\""));
    assert_true(bh_etag_listed(" * ", "\"a-1\""));
    assert_true(bh_etag_listed("\"x\", \"a-1\"", "\"a-1\""));
    assert_true(bh_etag_listed("W/\"a-1\"", "\"a-1\"")); /* weak comparison */
    assert_true(bh_etag_listed("\"a-1\"", "W/\"a-1\""));
    assert_false(bh_etag_listed("\"a-2\"", "\"a-1\""));
    assert_false(bh_etag_listed("\"a-1", "\"a-1\""));
    assert_false(bh_etag_listed("a-1", "\"a-1\""));
    assert_false(bh_etag_listed("", "\"a-1\""));
    assert_false(bh_etag_listed(",", "\"a-1\""));
    assert_false(bh_etag_listed("*, \"x\"", "\"a-1\""));
    assert_false(bh_etag_listed(NULL, "\"a-1\""));
}

static void test_login_limit(void **state)
{
    (void)state;
    struct bh_login_limit *l = bh_login_limit_new();
    assert_non_null(l);
    int64_t t = 1000000;
    /* good tries are taken back: they never lock anyone out */
    for (int i = 0; i < 3 * BH_LOGIN_FAIL_MAX; i++) {
        assert_int_equal(bh_login_limit_try(l, "192.0.2.1", t), 0);
        bh_login_limit_ok(l, "192.0.2.1");
    }
    /* every try counts before its check: MAX may try, the next waits */
    for (int i = 0; i < BH_LOGIN_FAIL_MAX; i++)
        assert_int_equal(bh_login_limit_try(l, "192.0.2.1", t + i), 0);
    /* locked out until the window that began at t ends */
    assert_int_equal(bh_login_limit_try(l, "192.0.2.1", t + 100), 60);
    assert_int_equal(bh_login_limit_try(l, "192.0.2.1", t + 59001), 1);
    /* a refusal is not a try: the lock does not grow */
    assert_int_equal(bh_login_limit_try(l, "192.0.2.1", t + BH_LOGIN_FAIL_WINDOW_MS), 0);
    /* another address is not affected */
    assert_int_equal(bh_login_limit_try(l, "192.0.2.2", t + 100), 0);
    /* a new window counts from zero (the try at WINDOW opened it) */
    for (int i = 1; i < BH_LOGIN_FAIL_MAX; i++)
        assert_int_equal(bh_login_limit_try(l, "192.0.2.1", t + BH_LOGIN_FAIL_WINDOW_MS + i), 0);
    assert_true(bh_login_limit_try(l, "192.0.2.1", t + BH_LOGIN_FAIL_WINDOW_MS + 20) > 0);
    /* IPv6 counts per /64: a host cannot walk its own prefix */
    for (int i = 0; i < BH_LOGIN_FAIL_MAX; i++) {
        char a6[48];
        snprintf(a6, sizeof(a6), "2001:db8:1:2::%x", i + 1);
        assert_int_equal(bh_login_limit_try(l, a6, t), 0);
    }
    assert_true(bh_login_limit_try(l, "2001:db8:1:2:ffff::1", t + 1) > 0);
    assert_int_equal(bh_login_limit_try(l, "2001:db8:1:3::1", t + 1), 0);
    /* many addresses: the table stays bounded, a locked address that was
     * pushed out may try again (no memory grows with the addresses) */
    char a[48];
    for (int i = 0; i < 1000; i++) {
        snprintf(a, sizeof(a), "2001:db8:%x::1", i);
        for (int k = 0; k < BH_LOGIN_FAIL_MAX; k++)
            bh_login_limit_try(l, a, t + 200000 + i);
    }
    assert_true(bh_login_limit_try(l, a, t + 200000 + 1000) > 0);
    bh_login_limit_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_find), cmocka_unit_test(test_cookie_bounds),
        cmocka_unit_test(test_origin),      cmocka_unit_test(test_accepts_gzip),
        cmocka_unit_test(test_etag_listed), cmocka_unit_test(test_login_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
