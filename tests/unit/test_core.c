/*
 * test_core.c - unit tests for the leaf modules in src/core: str, buf, mac,
 * timeutil, ini and log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/fsutil.h"
#include "core/ini.h"
#include "core/log.h"
#include "core/mac.h"
#include "core/net.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* ---- str: integers -------------------------------------------------------- */

static void test_parse_i64(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t want;
    } ok[] = {
        {"0", 0},
        {"-0", 0},
        {"+7", 7},
        {"-42", -42},
        {"007", 7},
        {"9223372036854775807", INT64_MAX},
        {"-9223372036854775808", INT64_MIN},
    };
    static const char *const bad[] = {
        "",
        "-",
        "+",
        " 1",
        "1 ",
        "1a",
        "0x10",
        "1.0",
        "--1",
        "+-1",
        "1e3",
        "\t1",
        "1\n",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999999",
    };
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        int64_t v = 12345;
        if (bh_parse_i64(ok[i].s, INT64_MIN, INT64_MAX, &v))
            fail_msg("'%s' rejected", ok[i].s);
        assert_true(v == ok[i].want);
    }
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        int64_t v = 12345;
        if (bh_parse_i64(bad[i], INT64_MIN, INT64_MAX, &v) != BH_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(v == 12345); /* untouched on failure */
    }
}

static void test_parse_i64_range(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(bh_parse_i64("0", 0, 10, &v), 0);
    assert_int_equal(bh_parse_i64("10", 0, 10, &v), 0);
    assert_int_equal(v, 10);
    assert_int_equal(bh_parse_i64("11", 0, 10, &v), BH_EINVAL);
    assert_int_equal(bh_parse_i64("-1", 0, 10, &v), BH_EINVAL);
    assert_int_equal(bh_parse_i64("-5", -5, -1, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(bh_parse_i64("-6", -5, -1, &v), BH_EINVAL);
}

static void test_parse_i64n(void **state)
{
    (void)state;
    static const char buf[] = {'1', '2', '3', 'x', 'y'}; /* not terminated */
    int64_t v = 0;
    assert_int_equal(bh_parse_i64n(buf, 3, INT64_MIN, INT64_MAX, &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(bh_parse_i64n(buf, 4, INT64_MIN, INT64_MAX, &v), BH_EINVAL);
    assert_int_equal(bh_parse_i64n(buf, 0, INT64_MIN, INT64_MAX, &v), BH_EINVAL);
    assert_int_equal(bh_parse_i64n("-5x", 2, INT64_MIN, INT64_MAX, &v), 0);
    assert_int_equal(v, -5);
    assert_int_equal(bh_parse_i64n("-5", 1, INT64_MIN, INT64_MAX, &v), BH_EINVAL);
}

static void test_parse_u64(void **state)
{
    (void)state;
    uint64_t v = 99;
    assert_int_equal(bh_parse_u64("0", UINT64_MAX, &v), 0);
    assert_true(v == 0);
    assert_int_equal(bh_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    static const char *const bad[] = {
        "18446744073709551616", "99999999999999999999", "+1", "-1", "", " 1", "1 ", "1x", "0x1",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        v = 99;
        if (bh_parse_u64(bad[i], UINT64_MAX, &v) != BH_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_true(v == 99);
    }
    assert_int_equal(bh_parse_u64("10", 10, &v), 0);
    assert_int_equal(bh_parse_u64("11", 10, &v), BH_EINVAL);
}

static void test_parse_bool(void **state)
{
    (void)state;
    static const char *const yes[] = {"yes", "YES", "True", "on", "ON", "1"};
    static const char *const no[] = {"no", "No", "FALSE", "off", "Off", "0"};
    static const char *const bad[] = {"", "y", "n", "2", "yes ", " no", "truee", "of"};
    bool b;
    for (size_t i = 0; i < N_ELEMS(yes); i++) {
        b = false;
        assert_int_equal(bh_parse_bool(yes[i], &b), 0);
        assert_true(b);
    }
    for (size_t i = 0; i < N_ELEMS(no); i++) {
        b = true;
        assert_int_equal(bh_parse_bool(no[i], &b), 0);
        assert_false(b);
    }
    for (size_t i = 0; i < N_ELEMS(bad); i++)
        if (bh_parse_bool(bad[i], &b) != BH_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
}

static void test_parse_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t unit, want;
    } ok[] = {
        {"0", 1, 0},
        {"512", 1, 512},
        {"512", 1024, 512ull * 1024},
        {"1K", 1, 1024},
        {"1k", 1024, 1024}, /* a suffix overrides the unit */
        {"10M", 1, 10ull << 20},
        {"10MB", 1, 10ull << 20},
        {"10MiB", 1, 10ull << 20},
        {"10mib", 1, 10ull << 20},
        {"2G", 1, 2ull << 30},
        {"3T", 1, 3ull << 40},
        {"16777215T", 1, 16777215ull << 40},
        {"18446744073709551615", 1, UINT64_MAX},
        {"18014398509481983", 1024, 18014398509481983ull * 1024},
    };
    static const struct {
        const char *s;
        uint64_t unit;
    } bad[] = {
        {"", 1},
        {"K", 1},
        {"10X", 1},
        {"10 M", 1},
        {"10Mx", 1},
        {"10MBB", 1},
        {"10KiBs", 1},
        {"-1", 1},
        {"1.5M", 1},
        {" 1", 1},
        {"1 ", 1},
        {"10B", 1},
        {"16777216T", 1},             /* 2^64: overflow */
        {"18446744073709551616", 1},  /* over UINT64_MAX */
        {"18014398509481984", 1024},  /* 2^54 KiB = 2^64 */
        {"123456789012345678901", 1}, /* 21 digits */
    };
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        uint64_t v = 7;
        if (bh_parse_size(ok[i].s, ok[i].unit, &v))
            fail_msg("'%s' rejected", ok[i].s);
        if (v != ok[i].want)
            fail_msg("'%s' gave %llu", ok[i].s, (unsigned long long)v);
    }
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        uint64_t v = 7;
        if (bh_parse_size(bad[i].s, bad[i].unit, &v) != BH_EINVAL)
            fail_msg("'%s' accepted", bad[i].s);
        assert_true(v == 7);
    }
}

/* ---- str: encodings and helpers ----------------------------------------- */

static void test_hex(void **state)
{
    (void)state;
    static const unsigned char in[] = {0x00, 0xff, 0x10, 0xab, 0x7e};
    char out[2 * sizeof(in) + 1];
    bh_hex(in, sizeof(in), out);
    assert_string_equal(out, "00ff10ab7e");
    bh_hex(in, 0, out);
    assert_string_equal(out, "");
}

/* RFC 4648 section 10 test vectors */
static void test_base64(void **state)
{
    (void)state;
    static const struct {
        const char *in, *std, *url;
    } v[] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"fooba", "Zm9vYmE=", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
        {"\xfb\xff", "+/8=", "-_8"},
        {"\xfb\xef\xbe", "++++", "----"},
    };
    char out[64];
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        const unsigned char *p = (const unsigned char *)v[i].in;
        size_t n = strlen(v[i].in);
        assert_int_equal(bh_b64(p, n, out), strlen(v[i].std));
        assert_string_equal(out, v[i].std);
        assert_int_equal(bh_b64url(p, n, out), strlen(v[i].url));
        assert_string_equal(out, v[i].url);
    }
    /* 32 random-looking bytes -> 43 chars, the token secret size */
    unsigned char sec[32];
    for (size_t i = 0; i < sizeof(sec); i++)
        sec[i] = (unsigned char)(i * 37 + 11);
    assert_int_equal(bh_b64url(sec, sizeof(sec), out), 43);
}

static void test_ct_equal(void **state)
{
    (void)state;
    assert_true(bh_ct_equal("abcdef", "abcdef", 6));
    assert_false(bh_ct_equal("abcdef", "abcdeg", 6));
    assert_false(bh_ct_equal("xbcdef", "abcdef", 6));
    assert_true(bh_ct_equal("abc", "abd", 2));
    assert_true(bh_ct_equal("a", "b", 0));
}

static void test_str_charset(void **state)
{
    (void)state;
    assert_true(bh_str_charset("abc-1", "-"));
    assert_true(bh_str_charset("ABC", ""));
    assert_true(bh_str_charset("a.b_c", "._"));
    assert_false(bh_str_charset("", "-"));
    assert_false(bh_str_charset("a b", "-"));
    assert_false(bh_str_charset("a_b", "-"));
    assert_false(bh_str_charset("a\tb", "-"));
    assert_false(bh_str_charset("\xc3\xa9", "-"));
    assert_true(bh_str_has_prefix("bh_abc", "bh_"));
    assert_false(bh_str_has_prefix("bh", "bh_"));
}

static void test_strlcpy(void **state)
{
    (void)state;
    char d[4];
    memset(d, 'z', sizeof(d));
    assert_int_equal(bh_strlcpy(d, "abcdef", sizeof(d)), 6);
    assert_string_equal(d, "abc");
    assert_int_equal(bh_strlcpy(d, "abc", sizeof(d)), 3);
    assert_string_equal(d, "abc");
    assert_int_equal(bh_strlcpy(d, "", sizeof(d)), 0);
    assert_string_equal(d, "");
    d[0] = 'q';
    assert_int_equal(bh_strlcpy(d, "xyz", 0), 3); /* writes nothing */
    assert_int_equal(d[0], 'q');
    assert_int_equal(bh_strlcpy(d, "xyz", 1), 3);
    assert_string_equal(d, "");
}

/* ---- buf ------------------------------------------------------------------ */

static void test_buf_cap(void **state)
{
    (void)state;
    struct bh_buf b;
    bh_buf_init(&b, 8);
    assert_int_equal(bh_buf_adds(&b, "abcd"), 0);
    assert_int_equal(bh_buf_add(&b, "efgh", 4), 0); /* exactly at the cap */
    assert_int_equal(b.len, 8);
    assert_int_equal(bh_buf_addc(&b, 'x'), BH_ETOOBIG);
    assert_int_equal(bh_buf_adds(&b, "xyz"), BH_ETOOBIG);
    assert_int_equal(bh_buf_printf(&b, "%d", 1), BH_ETOOBIG);
    assert_int_equal(bh_buf_add(&b, "x", SIZE_MAX), BH_ETOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.p, "abcdefgh");
    assert_int_equal(bh_buf_add(&b, NULL, 0), 0);
    assert_int_equal(b.len, 8);
    bh_buf_free(&b);
    assert_null(b.p);

    /* the first append already over the cap: nothing is allocated */
    bh_buf_init(&b, 4);
    assert_int_equal(bh_buf_adds(&b, "abcde"), BH_ETOOBIG);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    /* a partial printf never lands */
    assert_int_equal(bh_buf_adds(&b, "ab"), 0);
    assert_int_equal(bh_buf_printf(&b, "%s", "cde"), BH_ETOOBIG);
    assert_string_equal(b.p, "ab");
    bh_buf_free(&b);
}

static void test_buf_printf_grow(void **state)
{
    (void)state;
    struct bh_buf b;
    bh_buf_init(&b, 1 << 16);
    assert_int_equal(bh_buf_printf(&b, "%d-%s", 42, "x"), 0);
    assert_string_equal(b.p, "42-x");
    assert_int_equal(bh_buf_printf(&b, "/%05u", 7u), 0);
    assert_string_equal(b.p, "42-x/00007");
    for (int i = 0; i < 1000; i++)
        assert_int_equal(bh_buf_printf(&b, "%c", 'a' + i % 26), 0);
    assert_int_equal(b.len, 10 + 1000);
    assert_int_equal(strlen(b.p), b.len);
    assert_true(b.cap > b.len);
    assert_int_equal(b.p[10 + 25], 'z');
    bh_buf_free(&b);
}

static void test_buf_steal_reset(void **state)
{
    (void)state;
    struct bh_buf b;
    bh_buf_init(&b, 100);
    char *s = bh_buf_steal(&b); /* nothing added: an empty string */
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(bh_buf_adds(&b, "hello"), 0);
    size_t cap = b.cap;
    bh_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.p, "");
    assert_int_equal(b.cap, cap); /* memory kept */
    assert_int_equal(bh_buf_adds(&b, "again"), 0);
    s = bh_buf_steal(&b);
    assert_string_equal(s, "again");
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    free(s);
    assert_int_equal(bh_buf_adds(&b, "reuse"), 0); /* usable after steal */
    assert_string_equal(b.p, "reuse");
    bh_buf_free(&b);
}

static void test_slices(void **state)
{
    (void)state;
    struct bh_slice s = bh_slice_trim(BH_SLICE_LIT(" \t key \r\n"));
    assert_int_equal(s.n, 3);
    assert_true(bh_slice_eq(s, "key"));
    assert_false(bh_slice_eq(s, "ke"));
    assert_true(bh_slice_ieq(s, "KEY"));
    assert_false(bh_slice_eq(s, "KEY"));
    s = bh_slice_trim(BH_SLICE_LIT("   "));
    assert_int_equal(s.n, 0);
}

/* ---- mac ------------------------------------------------------------------ */

static void test_mac_accept(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "0a:1b:2c:3d:4e:5f", "0A:1B:2C:3D:4E:5F", "0a-1b-2c-3d-4e-5f", "0A-1b-2C-3d-4E-5f",
        "0a1b.2c3d.4e5f",    "0A1B.2C3D.4E5F",    "0a1b2c3d4e5f",      "0A1B2C3D4E5F",
    };
    for (size_t i = 0; i < N_ELEMS(forms); i++) {
        char out[BH_MAC_STRLEN];
        if (bh_mac_normalize(forms[i], out))
            fail_msg("'%s' rejected", forms[i]);
        assert_string_equal(out, "0a:1b:2c:3d:4e:5f");
    }
    uint8_t m[6];
    assert_int_equal(bh_mac_parse("ff-00-01-80-7f-fe", m), 0);
    static const uint8_t want[6] = {0xff, 0x00, 0x01, 0x80, 0x7f, 0xfe};
    assert_memory_equal(m, want, 6);
    char out[BH_MAC_STRLEN];
    bh_mac_format(want, out);
    assert_string_equal(out, "ff:00:01:80:7f:fe");
}

static void test_mac_reject(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "0a:1b-2c:3d:4e:5f", /* mixed separators */
        "0a-1b:2c-3d-4e-5f", /* mixed separators */
        "0a:1b:2c:3d:4e-5f", /* mixed separators at the end */
        "0a1b.2c3d:4e5f",    /* mixed dotted */
        "0a.1b.2c.3d.4e.5f", /* dots between bytes */
        "0a:1b:2c:3d:4e",    /* too short */
        "0a:1b:2c:3d:4e:5f:60",
        "0a:1b:2c:3d:4e:5",
        "0a1b2c3d4e5",
        "0a1b2c3d4e5f6",
        "0a1b.2c3d.4e5",
        "0g:1b:2c:3d:4e:5f", /* non-hex */
        "0a:1b:2c:3d:4e:5z",
        "0a1b2c3d4e5x",
        "0a:1b:2c:3d:4e:5f ", /* trailing junk */
        " 0a:1b:2c:3d:4e:5f",
        "0a:1b:2c:3d:4e:5f\n",
        "0a1b2c3d4e5f:",
        "a:1b:2c:3d:4e:5f0",
        "+a:1b:2c:3d:4e:5f",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        uint8_t m[6] = {1, 2, 3, 4, 5, 6};
        if (bh_mac_parse(bad[i], m) != BH_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        static const uint8_t same[6] = {1, 2, 3, 4, 5, 6};
        assert_memory_equal(m, same, 6); /* untouched on failure */
    }
}

/* ---- timeutil ------------------------------------------------------------ */

#define Y2K_MS 946684800000LL /* 2000-01-01T00:00:00Z */

static void test_time_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2000-01-01T00:00:00Z", Y2K_MS},
        {"2000-01-01t00:00:00z", Y2K_MS},
        {"2000-01-01 00:00:00Z", Y2K_MS},
        {"2000-01-01T01:30:00+01:30", Y2K_MS},
        {"1999-12-31T19:00:00-05:00", Y2K_MS},
        {"2000-01-01T00:00:00-00:00", Y2K_MS},
        {"2000-01-01T00:00:00.5Z", Y2K_MS + 500},
        {"2000-01-01T00:00:00.05Z", Y2K_MS + 50},
        {"2000-01-01T00:00:00.123456789Z", Y2K_MS + 123},
        {"2000-01-01T00:00:00.999+00:00", Y2K_MS + 999},
        {"2024-02-29T12:34:56.789Z", 1709210096789LL},
        {"2000-02-29T00:00:00Z", 951782400000LL},
        {"1969-12-31T23:59:59.999Z", -1},
        {"2016-12-31T23:59:60Z", 1483228799000LL}, /* leap second -> :59 */
    };
    static const char *const bad[] = {
        "",
        "2000-01-01T00:00:00", /* no zone */
        "2000-01-01",
        "2000-01-01T00:00Z",
        "2000-1-01T00:00:00Z",
        "20000-01-01T00:00:00Z",
        "2000/01/01T00:00:00Z",
        "2000-01-01X00:00:00Z",
        "2000-01-01T00:00:00.Z", /* empty fraction */
        "2000-01-01T00:00:00.1234567890Z",
        "2000-01-01T00:00:00+0100",
        "2000-01-01T00:00:00+01:00x",
        "2000-01-01T00:00:00+24:00",
        "2000-01-01T00:00:00+01:60",
        "2000-01-01T00:00:00Zjunk",
        "2000-01-01T00:00:00 Z",
        "2023-02-29T00:00:00Z", /* not a leap year */
        "1900-02-29T00:00:00Z", /* divisible by 100 */
        "2024-02-30T00:00:00Z",
        "2024-04-31T00:00:00Z",
        "2024-13-01T00:00:00Z",
        "2024-00-10T00:00:00Z",
        "2024-01-00T00:00:00Z",
        "2024-01-32T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T23:60:00Z",
        "2024-01-01T23:59:61Z",
        "2024-01-01T2a:00:00Z",
        "0000-01-01T00:00:00Z", /* years 1..9998 only, so any offset formats back */
        "9999-01-01T00:00:00Z",
    };
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        int64_t ms = 7;
        if (bh_time_parse(ok[i].s, &ms))
            fail_msg("'%s' rejected", ok[i].s);
        if (ms != ok[i].ms)
            fail_msg("'%s' gave %lld", ok[i].s, (long long)ms);
    }
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        int64_t ms = 7;
        if (bh_time_parse(bad[i], &ms) != BH_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
    }
}

static void test_time_format_roundtrip(void **state)
{
    (void)state;
    char out[BH_TIME_STRLEN];
    bh_time_format(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    bh_time_format(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    bh_time_format(Y2K_MS + 123, out);
    assert_string_equal(out, "2000-01-01T00:00:00.123Z");
    bh_time_format(1709210096789LL, out);
    assert_string_equal(out, "2024-02-29T12:34:56.789Z");
    /* early years keep four digits (found by fuzz_json_body) */
    int64_t early = 0;
    assert_int_equal(bh_time_parse("0547-12-01T00:00:00+01:00", &early), 0);
    bh_time_format(early, out);
    assert_string_equal(out, "0547-11-30T23:00:00.000Z");

    const int64_t ms[] = {
        0, 1, -1, -86400001, Y2K_MS, 951782400000LL, 1709210096789LL, 4102444799999LL, bh_wall_ms(),
    };
    for (size_t i = 0; i < N_ELEMS(ms); i++) {
        int64_t back = 0;
        bh_time_format(ms[i], out);
        if (bh_time_parse(out, &back))
            fail_msg("formatted '%s' does not parse", out);
        if (back != ms[i])
            fail_msg("%lld -> '%s' -> %lld", (long long)ms[i], out, (long long)back);
    }
}

/* ---- ini ------------------------------------------------------------------ */

/* Records every callback as "S name@line" / "K key=value@line" lines. */
static int rec_section(void *ud, const char *name, int line, struct bh_err *err)
{
    (void)err;
    return bh_buf_printf(ud, "S %s@%d\n", name, line);
}

static int rec_kv(void *ud, const char *key, const char *value, int line, struct bh_err *err)
{
    (void)err;
    return bh_buf_printf(ud, "K %s=[%s]@%d\n", key, value, line);
}

static const struct bh_ini_cb rec_cb = {rec_section, rec_kv};

static void ini_expect(const char *text, size_t len, unsigned flags, const char *want)
{
    struct bh_buf b;
    struct bh_err err = {0};
    bh_buf_init(&b, 1 << 16);
    bh_buf_adds(&b, "");
    int rc = bh_ini_parse(text, len, "t.conf", flags, &rec_cb, &b, &err);
    if (rc)
        fail_msg("parse failed: %s", err.msg);
    assert_string_equal(b.p, want);
    bh_buf_free(&b);
}

static void test_ini_parse(void **state)
{
    (void)state;
    static const char text[] = "# comment\n"
                               "; another\n"
                               "top = level\n"
                               "\n"
                               "  [ server ]  \n"
                               "data=/var/lib/x\n"
                               "  user   =   bh  \n"
                               "empty =\n"
                               "q = \"  spaced # kept  \"\n"
                               "qe = \"\"\n"
                               "c = a # b\n"
                               "eq = a=b\n"
                               "[http]\r\n"
                               "listen = :80\r\n"
                               "last = no newline";
    ini_expect(text, strlen(text), 0,
               "K top=[level]@3\n"
               "S server@5\n"
               "K data=[/var/lib/x]@6\n"
               "K user=[bh]@7\n"
               "K empty=[]@8\n"
               "K q=[  spaced # kept  ]@9\n"
               "K qe=[]@10\n"
               "K c=[a # b]@11\n"
               "K eq=[a=b]@12\n"
               "S http@13\n"
               "K listen=[:80]@14\n"
               "K last=[no newline]@15\n");
}

static void test_ini_inline_comments_bom(void **state)
{
    (void)state;
    static const char text[] = "\xEF\xBB\xBF[Partition]\n"
                               "Dev = /dev/sda4 # cache\n"
                               "Tab = x\t# tab\n"
                               "Hash = a#b\n"
                               "Q = \"a # b\" # c\n"
                               "Only = # nothing\n";
    ini_expect(text, strlen(text), BH_INI_INLINE_COMMENTS,
               "S Partition@1\n"
               "K Dev=[/dev/sda4]@2\n"
               "K Tab=[x]@3\n"
               "K Hash=[a#b]@4\n"
               "K Q=[a # b]@5\n"
               "K Only=[]@6\n");
}

static void test_ini_errors(void **state)
{
    (void)state;
    char longline[BH_INI_LINE_MAX + 8];
    memset(longline, 'a', sizeof(longline));
    memcpy(longline, "[s]\nk=", 6);
    longline[4 + BH_INI_LINE_MAX + 1] = '\0'; /* line 2 is one byte too long */
    static const struct {
        const char *text;
        size_t len; /* 0 = strlen */
        const char *field, *msg;
    } cases[] = {
        {"[s]\n[abc\n", 0, "f.conf:2", "section header without closing ']'"},
        {"[abc", 0, "f.conf:1", "without closing ']'"},
        {"[]\n", 0, "f.conf:1", "empty or over-long section name"},
        {"[s]\n\nnovalue\n", 0, "f.conf:3", "expected 'key = value'"},
        {"[s]\n = v\n", 0, "f.conf:2", "missing key before '='"},
        {"bad key = v\n", 0, "f.conf:1", "invalid character in key"},
        {"k = \"abc\n", 0, "f.conf:1", "unterminated quoted value"},
        {"k = \"\n", 0, "f.conf:1", "unterminated quoted value"},
        {"[s]\nk = a\0b\n", 11, "f.conf:2", "NUL byte in line"},
        {NULL, 0, "f.conf:2", "line too long"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        const char *text = cases[i].text ? cases[i].text : longline;
        size_t len = cases[i].len ? cases[i].len : strlen(text);
        struct bh_err err = {0};
        struct bh_buf b;
        bh_buf_init(&b, 1 << 16);
        int rc = bh_ini_parse(text, len, "f.conf", 0, &rec_cb, &b, &err);
        bh_buf_free(&b);
        if (rc != BH_EINVAL)
            fail_msg("case %zu: rc %d", i, rc);
        assert_string_equal(err.field, cases[i].field);
        if (!strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: message '%s'", i, err.msg);
        assert_true(strncmp(err.msg, cases[i].field, strlen(cases[i].field)) == 0);
    }
    /* a line of exactly BH_INI_LINE_MAX bytes is fine */
    longline[4 + BH_INI_LINE_MAX] = '\0';
    struct bh_err err = {0};
    struct bh_buf b;
    bh_buf_init(&b, 1 << 16);
    assert_int_equal(bh_ini_parse(longline, strlen(longline), "f.conf", 0, &rec_cb, &b, &err), 0);
    assert_int_equal(b.len, strlen("S s@1\nK k=[]@2\n") + BH_INI_LINE_MAX - 2);
    bh_buf_free(&b);
}

static int stop_kv(void *ud, const char *key, const char *value, int line, struct bh_err *err)
{
    (void)value;
    int *calls = ud;
    (*calls)++;
    if (strcmp(key, "stop") == 0)
        return bh_err_set(err, BH_ECONFLICT, key, "stopped at line %d", line);
    return 0;
}

static void test_ini_callback_stops(void **state)
{
    (void)state;
    static const char text[] = "a = 1\nstop = 2\nb = 3\n";
    const struct bh_ini_cb cb = {NULL, stop_kv};
    int calls = 0;
    struct bh_err err = {0};
    assert_int_equal(bh_ini_parse(text, strlen(text), NULL, 0, &cb, &calls, &err), BH_ECONFLICT);
    assert_int_equal(calls, 2);
    assert_string_equal(err.msg, "stopped at line 2");
    /* no file name: "<input>" */
    assert_int_equal(bh_ini_parse("x", 1, NULL, 0, &cb, &calls, &err), BH_EINVAL);
    assert_string_equal(err.field, "<input>:1");
}

static void test_read_file(void **state)
{
    (void)state;
    char path[] = "/tmp/bh-test-core-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello\n", 6), 6);
    close(fd);
    char *text = NULL;
    size_t len = 0;
    struct bh_err err = {0};
    assert_int_equal(bh_read_file(path, 100, &text, &len, &err), 0);
    assert_int_equal(len, 6);
    assert_string_equal(text, "hello\n");
    free(text);
    assert_int_equal(bh_read_file(path, 5, &text, &len, &err), BH_ETOOBIG);
    unlink(path);
    assert_int_equal(bh_read_file(path, 100, &text, &len, &err), BH_ENOTFOUND);
    assert_string_equal(err.field, path);
}

/* ---- log ------------------------------------------------------------------ */

static void test_log_parse_level(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int level;
    } ok[] = {
        {"debug", BH_LOG_DEBUG},  {"INFO", BH_LOG_INFO},   {"warn", BH_LOG_WARN},
        {"Warning", BH_LOG_WARN}, {"error", BH_LOG_ERROR},
    };
    static const char *const bad[] = {"", "verbose", "warn ", "err", "0"};
    for (size_t i = 0; i < N_ELEMS(ok); i++) {
        int lv = -1;
        assert_int_equal(bh_log_parse_level(ok[i].s, &lv), 0);
        assert_int_equal(lv, ok[i].level);
    }
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        int lv = -1;
        if (bh_log_parse_level(bad[i], &lv) != BH_EINVAL)
            fail_msg("'%s' accepted", bad[i]);
        assert_int_equal(lv, -1);
    }
}

/* Run bh_log with stderr redirected to a temporary file; return what it wrote. */
#define CAPTURE(out, call)                                                                         \
    do {                                                                                           \
        FILE *tf_ = tmpfile();                                                                     \
        assert_non_null(tf_);                                                                      \
        fflush(stderr);                                                                            \
        int saved_ = dup(STDERR_FILENO);                                                           \
        dup2(fileno(tf_), STDERR_FILENO);                                                          \
        call;                                                                                      \
        dup2(saved_, STDERR_FILENO);                                                               \
        close(saved_);                                                                             \
        rewind(tf_);                                                                               \
        size_t n_ = fread((out), 1, sizeof(out) - 1, tf_);                                         \
        (out)[n_] = '\0';                                                                          \
        fclose(tf_);                                                                               \
    } while (0)

static void test_log_line(void **state)
{
    (void)state;
    char out[8192];
    int old = bh_log_get_level();
    bh_log_set_level(BH_LOG_INFO);

    CAPTURE(out, bh_log(BH_LOG_INFO, "hello world", "key=%s plain=%s n=%d big=%lld", "a b", "ok",
                        42, -5LL));
    bh_log_set_level(old);
    assert_true(strncmp(out, "ts=", 3) == 0);
    const char *rest = strchr(out, ' ');
    assert_non_null(rest);
    assert_string_equal(rest, " level=info msg=\"hello world\" key=\"a b\" plain=ok n=42 big=-5\n");
    char ts[64];
    size_t tn = (size_t)(rest - out) - 3;
    assert_true(tn < sizeof(ts));
    memcpy(ts, out + 3, tn);
    ts[tn] = '\0';
    int64_t ms;
    assert_int_equal(bh_time_parse(ts, &ms), 0);
}

static void test_log_escapes_and_levels(void **state)
{
    (void)state;
    char out[8192];
    int old = bh_log_get_level();
    bh_log_set_level(BH_LOG_WARN);
    CAPTURE(out,
            bh_log(BH_LOG_WARN, "m", "v=%s e=%s u=%zu", "say \"hi\"\\\n\t\x01=", "", (size_t)7));
    const char *rest = strchr(out, ' ');
    char got[8192];
    snprintf(got, sizeof(got), "%s", rest ? rest : "");
    char below[256];
    CAPTURE(below, bh_log(BH_LOG_INFO, "hidden", "%s", "x"));
    char err[256];
    CAPTURE(err, bh_error("boom", "code=%d", 1));
    bh_log_set_level(old);

    assert_string_equal(got, " level=warn msg=m v=\"say \\\"hi\\\"\\\\\\n\\t\\x01=\" e=\"\" u=7\n");
    assert_string_equal(below, ""); /* under the level: nothing */
    assert_non_null(strstr(err, " level=error msg=boom code=1\n"));
    /* exactly one line per call */
    assert_ptr_equal(strchr(err, '\n'), err + strlen(err) - 1);
}

static void test_log_long_line_capped(void **state)
{
    (void)state;
    static char big[3 * BH_LOG_LINE_MAX];
    static char out[4 * BH_LOG_LINE_MAX];
    memset(big, 'x', sizeof(big) - 1);
    int old = bh_log_get_level();
    bh_log_set_level(BH_LOG_INFO);
    CAPTURE(out, bh_log(BH_LOG_INFO, "long", "v=%s", big));
    bh_log_set_level(old);
    assert_int_equal(strlen(out), BH_LOG_LINE_MAX);
    assert_int_equal(out[BH_LOG_LINE_MAX - 1], '\n');
}

/* the neighbour table as /proc/net/arp shows it */
static void test_arp_find(void **state)
{
    (void)state;
    static const char t[] =
        "IP address       HW type     Flags       HW address            Mask     Device\n"
        "192.0.2.10       0x1         0x2         52:54:00:00:01:01     *        br0\n"
        "192.0.2.11       0x1         0x0         00:00:00:00:00:00     *        br0\n"
        "192.0.2.12       0x1         0x6         52:54:00:00:01:0C     *        br0\n"
        "192.0.2.1        0x1         0x2         52:54:00:00:01:99     *        eth1";
    char mac[BH_MAC_STRLEN];
    assert_int_equal(bh_net_arp_find(t, sizeof(t) - 1, "192.0.2.10", mac), 0);
    assert_string_equal(mac, "52:54:00:00:01:01");
    /* incomplete (still resolving): no answer */
    assert_int_equal(bh_net_arp_find(t, sizeof(t) - 1, "192.0.2.11", mac), BH_ENOTFOUND);
    /* permanent + complete; upper case comes out canonical */
    assert_int_equal(bh_net_arp_find(t, sizeof(t) - 1, "192.0.2.12", mac), 0);
    assert_string_equal(mac, "52:54:00:00:01:0c");
    /* the last line has no newline */
    assert_int_equal(bh_net_arp_find(t, sizeof(t) - 1, "192.0.2.1", mac), 0);
    /* a prefix of an address is not the address */
    assert_int_equal(bh_net_arp_find(t, sizeof(t) - 1, "192.0.2.", mac), BH_ENOTFOUND);
    assert_int_equal(bh_net_arp_find(t, sizeof(t) - 1, "192.0.2.100", mac), BH_ENOTFOUND);
    /* only the header, nothing, garbage */
    assert_int_equal(bh_net_arp_find(t, 80, "192.0.2.10", mac), BH_ENOTFOUND);
    assert_int_equal(bh_net_arp_find("", 0, "192.0.2.10", mac), BH_ENOTFOUND);
    static const char junk[] = "h\n192.0.2.10 0x1 zz 52:54\n192.0.2.10\n\n\n  \n";
    assert_int_equal(bh_net_arp_find(junk, sizeof(junk) - 1, "192.0.2.10", mac), BH_ENOTFOUND);
}

static void test_utf8_scrub(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
    } cases[] = {
        {"plain ascii", "plain ascii"},
        {"Gr\xc3\xb6\xc3\x9f"
         "e \xe2\x82\xac \xf0\x9f\x98\x80",
         "Gr\xc3\xb6\xc3\x9f"
         "e \xe2\x82\xac \xf0\x9f\x98\x80"},
        {"cut \xc3", "cut ?"},                       /* a sequence cut at the end */
        {"\xb6 starts mid-way", "? starts mid-way"}, /* a tail that begins inside one */
        {"\xff\xfe", "??"},
        {"\xc0\xaf overlong", "?? overlong"},
        {"\xed\xa0\x80 surrogate", "??? surrogate"},
        {"\xf4\x90\x80\x80 too big", "???? too big"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s", cases[i].in);
        bh_utf8_scrub(buf);
        assert_string_equal(buf, cases[i].want);
        json_t *j = json_string(buf);
        assert_non_null(j); /* what JSON takes */
        json_decref(j);
    }
}

/* what a request can carry, sanitized for JSON: each bad byte one U+FFFD */
#define FFFD "\xef\xbf\xbd"
static void test_utf8_sanitize(void **state)
{
    (void)state;
    struct {
        const char *in, *want;
        bool same;
    } cases[] = {
        {"/api/v1/hosts/pc01", "/api/v1/hosts/pc01", true},
        {"Gr\xc3\xb6\xc3\x9f"
         "e \xe2\x82\xac \xf0\x9f\x98\x80",
         "Gr\xc3\xb6\xc3\x9f"
         "e \xe2\x82\xac \xf0\x9f\x98\x80",
         true},
        {"/hosts/\xff", "/hosts/" FFFD, false},
        {"a=\xff\xfe", "a=" FFFD FFFD, false},
        {"\xc0\xae\xc0\xae/x", FFFD FFFD FFFD FFFD "/x", false},   /* overlong '.', never '.' */
        {"\xed\xa0\x80", FFFD FFFD FFFD, false},                   /* a UTF-16 surrogate */
        {"\x80", FFFD, false},                                     /* a lone continuation */
        {"cut \xe2\x82", "cut " FFFD FFFD, false},                 /* a sequence cut short */
        {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD, false},          /* past U+10FFFF */
        {"\xf8\x88\x80\x80\x80", FFFD FFFD FFFD FFFD FFFD, false}, /* 5-byte forms */
        {"", "", true},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        char out[64];
        bool same = bh_utf8_sanitize(cases[i].in, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
        assert_int_equal(same, cases[i].same);
        assert_true(bh_utf8_valid(out, strlen(out)));
        assert_int_equal(bh_utf8_valid(cases[i].in, strlen(cases[i].in)), cases[i].same);
        json_t *j = json_string(out);
        assert_non_null(j); /* jansson takes it */
        json_decref(j);
    }
    /* cut to fit, never inside a character: 5 bytes of room, a 4-byte
     * emoji after one ASCII byte fits, the next character does not */
    char small[6];
    assert_false(bh_utf8_sanitize("a\xf0\x9f\x98\x80"
                                  "b",
                                  small, sizeof(small)));
    assert_string_equal(small, "a\xf0\x9f\x98\x80");
    assert_false(bh_utf8_sanitize("ab\xf0\x9f\x98\x80", small, sizeof(small)));
    assert_string_equal(small, "ab");
    assert_false(bh_utf8_sanitize("abcd\xff", small, sizeof(small)));
    assert_string_equal(small, "abcd"); /* the U+FFFD does not fit either */
    assert_true(bh_utf8_sanitize("abcde", small, sizeof(small)));
    assert_false(bh_utf8_sanitize("abcdef", small, sizeof(small)));
    assert_string_equal(small, "abcde");
    /* every single byte and every pair: the output is valid and JSON takes it */
    for (unsigned a = 1; a < 256; a++) {
        for (unsigned b = 0; b < 256; b++) {
            char in[3] = {(char)a, (char)b, 0}, out[16];
            bh_utf8_sanitize(in, out, sizeof(out));
            assert_true(bh_utf8_valid(out, strlen(out)));
        }
    }
    /* the length of one sequence, bounded by n */
    assert_int_equal(bh_utf8_seqlen("\xe2\x82\xac", 3), 3);
    assert_int_equal(bh_utf8_seqlen("\xe2\x82\xac", 2), 0);
    assert_int_equal(bh_utf8_seqlen("\xc0\xae", 2), 0);
    assert_int_equal(bh_utf8_seqlen("x", 0), 0);
}

static void test_mac_not_host(void **state)
{
    (void)state;
    static const uint8_t zero[6],
        bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, v6mcast[6] = {0x33, 0x33, 0, 0, 0, 1},
        qemu[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56}, oui[6] = {0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc};
    assert_non_null(bh_mac_not_host(zero));
    assert_non_null(bh_mac_not_host(bcast));
    assert_non_null(bh_mac_not_host(mcast));
    assert_non_null(bh_mac_not_host(v6mcast));
    assert_null(bh_mac_not_host(qemu)); /* locally administered unicast */
    assert_null(bh_mac_not_host(oui));
}

/* bh_openat_beneath leaves the name to the kernel: "." and empty
 * components open as open(2) would, and still nothing outside the root,
 * by "..", an absolute name or a symlink, while bh_open_beneath refuses
 * such names before the kernel sees them. */
static void test_openat_beneath_kernel_only(void **state)
{
    (void)state;
    char dir[] = "/tmp/bh-openat-XXXXXX", path[160];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/root", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/root/sub", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/root/sub/f", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/secret", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/root/out", dir);
    assert_int_equal(symlink("../secret", path), 0);
    snprintf(path, sizeof(path), "%s/root", dir);
    int root = open(path, O_RDONLY | O_DIRECTORY);
    assert_true(root >= 0);
    int fd = bh_openat_beneath(root, "./sub/f", O_RDONLY);
    assert_true(fd >= 0);
    close(fd);
    fd = bh_openat_beneath(root, "sub//f", O_RDONLY);
    assert_true(fd >= 0);
    close(fd);
    errno = 0;
    assert_true(bh_open_beneath(root, "./sub/f", O_RDONLY) < 0);
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_true(bh_openat_beneath(root, "../secret", O_RDONLY) < 0);
    assert_int_equal(errno, EXDEV);
    errno = 0;
    assert_true(bh_openat_beneath(root, "out", O_RDONLY) < 0);
    assert_int_equal(errno, EXDEV);
    errno = 0;
    assert_true(bh_openat_beneath(root, path, O_RDONLY) < 0); /* absolute */
    assert_int_equal(errno, EXDEV);
    errno = 0;
    assert_true(bh_openat_beneath(root, "sub/none", O_RDONLY) < 0);
    assert_int_equal(errno, ENOENT);
    close(root);
    snprintf(path, sizeof(path), "%s/root/out", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/root/sub/f", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/root/sub", dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/root", dir);
    rmdir(path);
    snprintf(path, sizeof(path), "%s/secret", dir);
    unlink(path);
    rmdir(dir);
}

/* The boot-file path check works on bytes: an overlong "%c0%ae" is two
 * bytes of a name, never '.', so it cannot climb out of the root. */
static void test_open_beneath_overlong_dot(void **state)
{
    (void)state;
    char dir[] = "/tmp/bh-beneath-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/root", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/secret", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/root", dir);
    int root = open(path, O_RDONLY | O_DIRECTORY);
    assert_true(root >= 0);
    errno = 0;
    assert_true(bh_open_beneath(root, "\xc0\xae\xc0\xae/secret", O_RDONLY) < 0);
    assert_int_equal(errno, ENOENT); /* a name in the root that is not there */
    assert_true(bh_open_beneath(root, "\xe0\x80\xae\xe0\x80\xae/secret", O_RDONLY) < 0);
    assert_int_equal(errno, ENOENT);
    assert_true(bh_open_beneath(root, "../secret", O_RDONLY) < 0);
    assert_int_equal(errno, EINVAL); /* a real ".." is refused outright */
    close(root);
    snprintf(path, sizeof(path), "%s/secret", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/root", dir);
    rmdir(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arp_find),
        cmocka_unit_test(test_parse_i64),
        cmocka_unit_test(test_parse_i64_range),
        cmocka_unit_test(test_parse_i64n),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_parse_size),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_ct_equal),
        cmocka_unit_test(test_str_charset),
        cmocka_unit_test(test_strlcpy),
        cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_buf_printf_grow),
        cmocka_unit_test(test_buf_steal_reset),
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_mac_accept),
        cmocka_unit_test(test_mac_reject),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_time_format_roundtrip),
        cmocka_unit_test(test_ini_parse),
        cmocka_unit_test(test_ini_inline_comments_bom),
        cmocka_unit_test(test_ini_errors),
        cmocka_unit_test(test_ini_callback_stops),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_log_parse_level),
        cmocka_unit_test(test_log_line),
        cmocka_unit_test(test_log_escapes_and_levels),
        cmocka_unit_test(test_log_long_line_capped),
        cmocka_unit_test(test_utf8_scrub),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_mac_not_host),
        cmocka_unit_test(test_open_beneath_overlong_dot),
        cmocka_unit_test(test_openat_beneath_kernel_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
