/*
 * test_console.c - unit tests for src/model/console.c: the name patterns
 * that register many hosts at once, and a step's time left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "model/console.h"

#include <stdio.h>
#include <string.h>

/* the first n names of pattern, joined by spaces, or "ERR: <field> <msg>" */
static char *expand(const char *pattern, size_t n)
{
    static char out[4096];
    json_t *names = NULL;
    struct bh_err e;
    bh_err_clear(&e);
    if (bh_name_pattern_expand(pattern, n, &names, &e)) {
        assert_null(names);
        snprintf(out, sizeof(out), "ERR: %s %s", e.field, e.msg);
        return out;
    }
    size_t i, len = 0;
    json_t *v;
    out[0] = '\0';
    json_array_foreach(names, i, v) len +=
        (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", i ? " " : "", json_string_value(v));
    assert_int_equal(json_array_size(names), n);
    json_decref(names);
    return out;
}

static void test_pattern_pads_to_a(void **state)
{
    (void)state;
    assert_string_equal(expand("r101-pc{01..30}", 3), "r101-pc01 r101-pc02 r101-pc03");
    assert_string_equal(expand("pc{1..12}", 2), "pc1 pc2");
    assert_string_equal(expand("pc{8..12}", 5), "pc8 pc9 pc10 pc11 pc12");
    assert_string_equal(expand("pc{001..120}", 1), "pc001");
    assert_string_equal(expand("pc{098..120}", 4), "pc098 pc099 pc100 pc101");
    /* a width of A wider than B still pads */
    assert_string_equal(expand("x{0009..12}", 2), "x0009 x0010");
    /* text after the range, and a range alone */
    assert_string_equal(expand("lab-{1..3}-a", 3), "lab-1-a lab-2-a lab-3-a");
    assert_string_equal(expand("{5..6}", 2), "5 6");
    assert_string_equal(expand("pc{0..0}", 1), "pc0");
    /* zero names: a valid pattern gives an empty list */
    assert_string_equal(expand("pc{1..2}", 0), "");
}

static void test_pattern_not_enough_numbers(void **state)
{
    (void)state;
    char *r = expand("r101-pc{01..30}", 31);
    assert_non_null(strstr(r, "ERR: pattern"));
    assert_non_null(strstr(r, "gives 30 names (r101-pc01 to r101-pc30)"));
    assert_non_null(strstr(r, "31 hosts"));
    r = expand("pc{7..7}", 2);
    assert_non_null(strstr(r, "gives 1 name (pc7 to pc7)"));
    /* exactly as many as the range has is fine */
    assert_string_equal(expand("pc{1..3}", 3), "pc1 pc2 pc3");
}

static void test_pattern_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",                           /* empty */
        "pc01",                       /* no range */
        "pc{n}",                      /* not A..B */
        "pc{1..}",                    /* no B */
        "pc{..3}",                    /* no A */
        "pc{1...3}",                  /* three dots: B is ".3" */
        "pc{a..z}",                   /* not digits */
        "pc{-1..3}",                  /* a sign */
        "pc{ 1..3}",                  /* a space */
        "pc{3..1}",                   /* backwards */
        "pc{1..3}{1..3}",             /* two ranges */
        "pc{{1..3}",                  /* two opening braces */
        "pc{1..3}}",                  /* two closing braces */
        "pc}1..3{",                   /* the wrong way round */
        "pc{1..3",                    /* not closed */
        "pc{1234567890..1234567899}", /* over 9 digits */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *r = expand(bad[i], 1);
        if (strncmp(r, "ERR: pattern ", 13) != 0)
            fail_msg("'%s' accepted: %s", bad[i], r);
    }
    /* one byte over the cap */
    char longp[BH_PATTERN_MAX + 2];
    memset(longp, 'a', sizeof(longp));
    memcpy(longp, "{1..2}", 6);
    longp[BH_PATTERN_MAX + 1] = '\0';
    assert_non_null(strstr(expand(longp, 1), "longer than"));
    longp[BH_PATTERN_MAX] = '\0'; /* exactly the cap is fine */
    assert_null(strstr(expand(longp, 1), "ERR"));
    /* a NULL pattern is an empty one */
    struct bh_name_pattern p;
    struct bh_err e;
    assert_int_equal(bh_name_pattern_parse(NULL, &p, &e), BH_EINVAL);
}

static void test_pattern_parts(void **state)
{
    (void)state;
    struct bh_name_pattern p;
    struct bh_err e;
    assert_int_equal(bh_name_pattern_parse("r1-{007..123}.x", &p, &e), 0);
    assert_string_equal(p.prefix, "r1-");
    assert_string_equal(p.suffix, ".x");
    assert_int_equal(p.first, 7);
    assert_int_equal(p.last, 123);
    assert_int_equal(p.width, 3);
    assert_int_equal(bh_name_pattern_count(&p), 117);
    char name[16];
    assert_int_equal(bh_name_pattern_name(&p, 116, name, sizeof(name)), 0);
    assert_string_equal(name, "r1-123.x");
    assert_int_equal(bh_name_pattern_name(&p, 117, name, sizeof(name)), BH_EINVAL);
    assert_int_equal(bh_name_pattern_name(&p, -1, name, sizeof(name)), BH_EINVAL);
    char tiny[5];
    assert_int_equal(bh_name_pattern_name(&p, 0, tiny, sizeof(tiny)), BH_ETOOBIG);
    /* the biggest range: nine digits each */
    assert_int_equal(bh_name_pattern_parse("{000000000..999999999}", &p, &e), 0);
    assert_int_equal(bh_name_pattern_count(&p), 1000000000);
}

static int64_t eta(const char *progress)
{
    json_t *p = J(progress);
    int64_t s = bh_progress_eta_s(p);
    json_decref(p);
    return s;
}

static void test_eta(void **state)
{
    (void)state;
    assert_int_equal(eta("{'phase':'deploying','done':100,'total':1100,'rate':10}"), 100);
    assert_int_equal(eta("{'done':0,'total':10,'rate':4}"), 3); /* 2.5 s: rounded up */
    assert_int_equal(eta("{'done':10,'total':10,'rate':4}"), 0);
    assert_int_equal(eta("{'done':1.5,'total':4.5,'rate':1.5}"), 2);
    /* not known */
    assert_int_equal(eta("{'done':1,'total':10}"), -1);
    assert_int_equal(eta("{'done':1,'total':10,'rate':0}"), -1);
    assert_int_equal(eta("{'done':1,'total':10,'rate':-3}"), -1);
    assert_int_equal(eta("{'done':11,'total':10,'rate':3}"), -1);
    assert_int_equal(eta("{'done':-1,'total':10,'rate':3}"), -1);
    assert_int_equal(eta("{'done':'1','total':10,'rate':3}"), -1);
    assert_int_equal(eta("{'done':0,'total':1e300,'rate':1e-300}"), -1);
    assert_int_equal(eta("null"), -1);
    assert_int_equal(eta("[]"), -1);
    assert_int_equal(bh_progress_eta_s(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pattern_pads_to_a),
        cmocka_unit_test(test_pattern_not_enough_numbers),
        cmocka_unit_test(test_pattern_refused),
        cmocka_unit_test(test_pattern_parts),
        cmocka_unit_test(test_eta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
