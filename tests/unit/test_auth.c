/*
 * test_auth.c - unit tests for the API token helpers in src/api/api.c:
 * bh_token_generate and bh_token_parse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "api/api.h"
#include "core/str.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define SECRET_LEN 43 /* base64url of 32 bytes, unpadded */
#define TOKEN_LEN  (3 + BH_TOKEN_ID_LEN + 1 + SECRET_LEN)

static bool all_of(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i]))
            return false;
    return true;
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), d);
    bh_hex(d, sizeof(d), out);
}

static void test_generate_format(void **state)
{
    (void)state;
    static const char hex[] = "0123456789abcdef";
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 50; i++) {
        char tid[BH_TOKEN_ID_LEN + 1], token[BH_TOKEN_STR_MAX], hash[65], want[65];
        assert_int_equal(bh_token_generate(tid, token, hash), 0);
        assert_int_equal(strlen(tid), BH_TOKEN_ID_LEN);
        assert_true(all_of(tid, BH_TOKEN_ID_LEN, hex));
        assert_int_equal(strlen(token), TOKEN_LEN);
        assert_memory_equal(token, "bh_", 3);
        assert_memory_equal(token + 3, tid, BH_TOKEN_ID_LEN);
        assert_int_equal(token[3 + BH_TOKEN_ID_LEN], '_');
        assert_true(all_of(token + 4 + BH_TOKEN_ID_LEN, SECRET_LEN, b64url));
        /* the stored hash is the hex SHA-256 of the whole token string */
        assert_int_equal(strlen(hash), 64);
        assert_true(all_of(hash, 64, hex));
        sha256_hex(token, want);
        assert_string_equal(hash, want);
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_generate_unique(void **state)
{
    (void)state;
    enum { N = 2000 };
    char(*tids)[BH_TOKEN_ID_LEN + 1] = calloc(N, sizeof(*tids));
    char(*tokens)[BH_TOKEN_STR_MAX] = calloc(N, sizeof(*tokens));
    char **ptid = calloc(N, sizeof(char *)), **ptok = calloc(N, sizeof(char *));
    assert_non_null(tids);
    assert_non_null(tokens);
    assert_non_null(ptid);
    assert_non_null(ptok);
    for (int i = 0; i < N; i++) {
        char hash[65];
        assert_int_equal(bh_token_generate(tids[i], tokens[i], hash), 0);
        ptid[i] = tids[i];
        /* compare secrets alone: a repeated id must not hide a repeated secret */
        ptok[i] = tokens[i] + 4 + BH_TOKEN_ID_LEN;
    }
    qsort(ptid, N, sizeof(char *), cmp_str);
    qsort(ptok, N, sizeof(char *), cmp_str);
    for (int i = 1; i < N; i++) {
        if (strcmp(ptid[i - 1], ptid[i]) == 0)
            fail_msg("duplicate token id %s", ptid[i]);
        if (strcmp(ptok[i - 1], ptok[i]) == 0)
            fail_msg("duplicate secret %s", ptok[i]);
    }
    free(ptid);
    free(ptok);
    free(tids);
    free(tokens);
}

static void test_parse_generated(void **state)
{
    (void)state;
    for (int i = 0; i < 50; i++) {
        char tid[BH_TOKEN_ID_LEN + 1], token[BH_TOKEN_STR_MAX], hash[65];
        char ptid[BH_TOKEN_ID_LEN + 1], phash[65];
        assert_int_equal(bh_token_generate(tid, token, hash), 0);
        memset(ptid, 'x', sizeof(ptid));
        assert_int_equal(bh_token_parse(token, ptid, phash), 0);
        assert_string_equal(ptid, tid);
        assert_string_equal(phash, hash);
        /* one changed secret character: same id, different hash */
        size_t last = strlen(token) - 1;
        token[last] = token[last] == 'A' ? 'B' : 'A';
        assert_int_equal(bh_token_parse(token, ptid, phash), 0);
        assert_string_equal(ptid, tid);
        assert_string_not_equal(phash, hash);
    }
}

static void test_parse_rejects(void **state)
{
    (void)state;
    char too_long[BH_TOKEN_STR_MAX + 1], longest[BH_TOKEN_STR_MAX];
    /* "bh_0123456789ab_" + secret, total BH_TOKEN_STR_MAX bytes: one too many */
    memset(too_long, 'a', sizeof(too_long) - 1);
    memcpy(too_long, "bh_0123456789ab_", 16);
    too_long[BH_TOKEN_STR_MAX] = '\0';
    memcpy(longest, too_long, BH_TOKEN_STR_MAX - 1);
    longest[BH_TOKEN_STR_MAX - 1] = '\0';
    const char *const bad[] = {
        "",
        "bh_",
        "bh_0123456789ab",                 /* no secret at all */
        "bh_0123456789ab_",                /* empty secret */
        "xx_0123456789ab_c2VjcmV0",        /* wrong prefix */
        "BH_0123456789ab_c2VjcmV0",        /* prefix is lower case */
        "bh0123456789ab_c2VjcmV0",         /* prefix without '_' */
        "Bearer bh_0123456789ab_c2VjcmV0", /* header, not a token */
        "bh_0123456789a_c2VjcmV0",         /* 11-digit id */
        "bh_0123456789abc_c2VjcmV0",       /* 13-digit id */
        "bh_0123456789AB_c2VjcmV0",        /* upper-case hex */
        "bh_0123456789xy_c2VjcmV0",        /* non-hex */
        "bh_01234567 9ab_c2VjcmV0",        /* space in the id */
        "bh_0123456789ab-c2VjcmV0",        /* missing '_' */
        "bh_0123456789abc2VjcmV0",         /* missing '_' */
        too_long,
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char tid[BH_TOKEN_ID_LEN + 1] = "untouched", hash[65] = "untouched";
        if (bh_token_parse(bad[i], tid, hash) != BH_EINVAL)
            fail_msg("'%.40s' accepted", bad[i]);
        assert_string_equal(tid, "untouched");
        assert_string_equal(hash, "untouched");
    }
    /* the longest token that fits BH_TOKEN_STR_MAX is fine */
    char tid[BH_TOKEN_ID_LEN + 1], hash[65], want[65];
    assert_int_equal(bh_token_parse(longest, tid, hash), 0);
    assert_string_equal(tid, "0123456789ab");
    sha256_hex(longest, want);
    assert_string_equal(hash, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_format),
        cmocka_unit_test(test_generate_unique),
        cmocka_unit_test(test_parse_generated),
        cmocka_unit_test(test_parse_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
