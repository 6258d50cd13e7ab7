/*
 * test_tls.c - the server's certificate as data (src/core/tlscert.c): a
 * self-made certificate and its key belong together and carry the names
 * asked for; a key of another certificate, garbage and bad names are
 * refused; pins are computed as curl computes them and checked for form
 * (also the CLI's list of pins, src/client/client.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/client.h"
#include "core/str.h"
#include "core/tlscert.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void make(struct bh_tls_pem *p, const char *const *names, size_t n)
{
    struct bh_err e;
    if (bh_tls_self_signed(names, n, BH_TLS_DAYS, p, &e))
        fail_msg("%s", e.msg);
}

static void test_self_signed_pair(void **state)
{
    (void)state;
    const char *names[] = {"boot.example.org", "localhost", "127.0.0.1", "::1", "10.1.2.3"};
    struct bh_tls_pem p;
    struct bh_tls_info info;
    struct bh_err e;
    make(&p, names, 5);
    assert_non_null(strstr(p.cert, "-----BEGIN CERTIFICATE-----"));
    assert_non_null(strstr(p.key, "-----BEGIN PRIVATE KEY-----"));
    assert_int_equal(strlen(p.cert), p.cert_len);
    assert_int_equal(bh_tls_check_pair(p.cert, p.cert_len, p.key, p.key_len, &info, &e), 0);
    assert_true(bh_tls_pin_valid(info.pin));
    assert_true(info.self_signed);
    assert_non_null(strstr(info.subject, "CN=boot.example.org"));
    int64_t now = (int64_t)time(NULL);
    assert_true(info.not_after > now + (BH_TLS_DAYS - 1) * 86400LL);
    assert_true(info.not_after <= now + (BH_TLS_DAYS + 1) * 86400LL);
    /* the pin of the certificate alone is the same */
    char pin[BH_TLS_PIN_MAX];
    assert_int_equal(bh_tls_cert_pin(p.cert, p.cert_len, pin, &e), 0);
    assert_string_equal(pin, info.pin);

    /* what a TLS client checks: the names, a server's certificate, P-256 */
    BIO *b = BIO_new_mem_buf(p.cert, (int)p.cert_len);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    assert_int_equal(X509_check_host(x, "boot.example.org", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(x, "other.example.org", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "::1", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.1.2.3", 0), 1);
    assert_int_equal(X509_check_ip_asc(x, "10.1.2.4", 0), 0);
    assert_int_equal(X509_check_ca(x), 0);
    assert_int_equal(X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0), 1);
    assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(x)), 256);
    X509_free(x);

    /* two certificates: two keys, two pins, and neither key fits the other */
    struct bh_tls_pem q;
    struct bh_tls_info info2;
    make(&q, names, 1);
    assert_int_equal(bh_tls_check_pair(q.cert, q.cert_len, q.key, q.key_len, &info2, &e), 0);
    assert_string_not_equal(info.pin, info2.pin);
    assert_int_equal(bh_tls_check_pair(p.cert, p.cert_len, q.key, q.key_len, &info, &e), BH_EINVAL);
    assert_non_null(strstr(e.msg, "does not belong to the certificate"));
    bh_tls_pem_free(&q);
    bh_tls_pem_free(&p);
    assert_null(p.cert);
}

/* The pin is what curl --pinnedpubkey and `openssl pkey -pubin -outform
 * der | openssl dgst -sha256 -binary | base64` compute: SHA-256 of the
 * SubjectPublicKeyInfo.  Checked here against OpenSSL computing it by
 * another road (the raw DER written by i2d_X509_PUBKEY). */
static void test_pin_is_spki_hash(void **state)
{
    (void)state;
    const char *names[] = {"localhost"};
    struct bh_tls_pem p;
    make(&p, names, 1);
    BIO *b = BIO_new_mem_buf(p.cert, (int)p.cert_len);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    unsigned char *der = NULL, md[32];
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    assert_true(n > 0);
    EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL);
    OPENSSL_free(der);
    X509_free(x);
    char want[BH_TLS_PIN_MAX] = "sha256//";
    bh_b64(md, sizeof(md), want + 8);
    char pin[BH_TLS_PIN_MAX];
    struct bh_err e;
    assert_int_equal(bh_tls_cert_pin(p.cert, p.cert_len, pin, &e), 0);
    assert_string_equal(pin, want);
    bh_tls_pem_free(&p);
}

static void test_garbage_refused(void **state)
{
    (void)state;
    const char *names[] = {"localhost"};
    struct bh_tls_pem p;
    struct bh_tls_info info;
    struct bh_err e;
    char pin[BH_TLS_PIN_MAX];
    make(&p, names, 1);
    assert_int_equal(bh_tls_check_pair("junk", 4, p.key, p.key_len, &info, &e), BH_EINVAL);
    assert_non_null(strstr(e.msg, "not a PEM certificate"));
    assert_int_equal(bh_tls_check_pair(p.cert, p.cert_len, "junk", 4, &info, &e), BH_EINVAL);
    assert_non_null(strstr(e.msg, "not an unencrypted PEM private key"));
    /* the certificate where the key should be, and half a certificate */
    assert_int_equal(bh_tls_check_pair(p.cert, p.cert_len, p.cert, p.cert_len, &info, &e),
                     BH_EINVAL);
    assert_int_equal(bh_tls_cert_pin(p.cert, p.cert_len / 2, pin, &e), BH_EINVAL);
    assert_int_equal(bh_tls_cert_pin("", 0, pin, &e), BH_EINVAL);
    bh_tls_pem_free(&p);
}

static void test_names(void **state)
{
    (void)state;
    static const char *const good[] = {"localhost", "a",       "boot-1.example.org", "10.0.0.1",
                                       "::1",       "fe80::1", "2001:db8::42",       "A.B"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!bh_tls_name_valid(good[i]))
            fail_msg("'%s' refused", good[i]);
    char label[70], longname[300];
    memset(label, 'a', 64);
    label[64] = '\0';
    memset(longname, 'a', 254);
    for (int i = 63; i < 254; i += 64)
        longname[i] = '.';
    longname[254] = '\0';
    static const char *const bad[] = {
        "",    ".",          "a..b",      ".a", "a b", "a_b", "*.example.org",
        "a/b", "a,DNS:evil", "é.example", "a:b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (bh_tls_name_valid(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(bh_tls_name_valid(label));
    assert_false(bh_tls_name_valid(longname));
    /* a bad name makes no certificate */
    const char *names[] = {"ok", "a,DNS:evil"};
    struct bh_tls_pem p;
    struct bh_err e;
    assert_int_equal(bh_tls_self_signed(names, 2, 30, &p, &e), BH_EINVAL);
    assert_null(p.cert);
    assert_int_equal(bh_tls_self_signed(names, 0, 30, &p, &e), BH_EINVAL);
}

static void test_pin_form(void **state)
{
    (void)state;
    const char *good = "sha256//qkMfj1QAEMWZ/5koFCdLbPaNIUA/VZp6pjTd+0EORys=";
    assert_true(bh_tls_pin_valid(good));
    assert_false(bh_tls_pin_valid("sha256//qkMfj1QAEMWZ/5koFCdLbPaNIUA/VZp6pjTd+0EORys"));
    assert_false(bh_tls_pin_valid("sha256//qkMfj1QAEMWZ/5koFCdLbPaNIUA/VZp6pjTd+0EORys=="));
    assert_false(bh_tls_pin_valid("sha1//qkMfj1QAEMWZ/5koFCdLbPaNIUA/VZp6pjTd+0EORys=A"));
    assert_false(bh_tls_pin_valid("sha256//qkMfj1QAEMWZ-5koFCdLbPaNIUA/VZp6pjTd+0EORys="));
    assert_false(bh_tls_pin_valid(""));
    /* the CLI's list: up to BH_CLI_PINS_MAX, ';' between */
    char list[(BH_CLI_PINS_MAX + 2) * BH_TLS_PIN_MAX];
    assert_true(bh_cli_pin_valid(good));
    snprintf(list, sizeof(list), "%s;%s", good, good);
    assert_true(bh_cli_pin_valid(list));
    snprintf(list, sizeof(list), "%s;", good);
    assert_false(bh_cli_pin_valid(list));
    snprintf(list, sizeof(list), ";%s", good);
    assert_false(bh_cli_pin_valid(list));
    snprintf(list, sizeof(list), "%s;%s;%s;%s;%s", good, good, good, good, good);
    assert_false(bh_cli_pin_valid(list));
    assert_false(bh_cli_pin_valid("/etc/ssl/cert.pem"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_signed_pair), cmocka_unit_test(test_pin_is_spki_hash),
        cmocka_unit_test(test_garbage_refused),  cmocka_unit_test(test_names),
        cmocka_unit_test(test_pin_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
