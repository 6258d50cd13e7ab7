/*
 * tlscert.c - make, check and pin the server's TLS certificate (see
 * tlscert.h).  OpenSSL 3 libcrypto: EVP_EC_gen for the key, X509 for the
 * certificate, PEM through memory BIOs.  OpenSSL's error queue is read into
 * the message once, at the boundary, and cleared.
 */
#include "tlscert.h"

#include "str.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SERIAL_BYTES  16   /* RFC 5280 4.1.2.2: positive, at most 20 octets */
#define SKEW_SECONDS  3600 /* valid from an hour ago: clocks of clients lag */
#define DNS_NAME_MAX  253  /* RFC 1035 2.3.4 */
#define DNS_LABEL_MAX 63

/* OpenSSL's last error, for a message; the queue is emptied. */
static const char *ossl_why(char *buf, size_t cap)
{
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, buf, cap);
    else
        bh_strlcpy(buf, "unknown error", cap);
    ERR_clear_error();
    return buf;
}

bool bh_tls_name_valid(const char *s)
{
    unsigned char a[16];
    if (inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1)
        return true;
    size_t n = strlen(s), label = 0;
    if (n == 0 || n > DNS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-')
            return false;
        if (++label > DNS_LABEL_MAX)
            return false;
    }
    return label > 0;
}

bool bh_tls_pin_valid(const char *s)
{
    size_t p = strlen(BH_TLS_PIN_PREFIX);
    if (strncmp(s, BH_TLS_PIN_PREFIX, p) != 0 || strlen(s) != BH_TLS_PIN_LEN)
        return false;
    for (size_t i = p; i < BH_TLS_PIN_LEN - 1; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return s[BH_TLS_PIN_LEN - 1] == '='; /* 32 bytes: 43 characters and one '=' */
}

static int pin_of(X509 *x, char pin[BH_TLS_PIN_MAX], struct bh_err *err)
{
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
    int n = i2d_PUBKEY(X509_get0_pubkey(x), &der);
    if (n <= 0) {
        char why[160];
        return bh_err_set(err, BH_EINVAL, NULL, "cannot read the certificate's public key: %s",
                          ossl_why(why, sizeof(why)));
    }
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    size_t pre = strlen(BH_TLS_PIN_PREFIX);
    memcpy(pin, BH_TLS_PIN_PREFIX, pre);
    bh_b64(md, sizeof(md), pin + pre); /* 44 characters and the NUL: fits */
    return 0;
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (!ext)
        return -1;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* PEM of what write() puts into a memory BIO, NUL-terminated. */
static char *bio_text(BIO *b, size_t *len)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *out = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!out)
        return NULL;
    memcpy(out, p, (size_t)n);
    out[n] = '\0';
    *len = (size_t)n;
    return out;
}

/* "DNS:a,IP:1.2.3.4,..." */
static int san_value(const char *const *names, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char a[16];
        bool ip = inet_pton(AF_INET, names[i], a) == 1 || inet_pton(AF_INET6, names[i], a) == 1;
        int w = snprintf(out + o, cap - o, "%s%s:%s", i ? "," : "", ip ? "IP" : "DNS", names[i]);
        if (w < 0 || (size_t)w >= cap - o)
            return -1;
        o += (size_t)w;
    }
    return 0;
}

int bh_tls_self_signed(const char *const *names, size_t nnames, unsigned days,
                       struct bh_tls_pem *out, struct bh_err *err)
{
    memset(out, 0, sizeof(*out));
    if (nnames == 0 || nnames > BH_TLS_MAX_NAMES)
        return bh_err_set(err, BH_EINVAL, "names", "a certificate needs 1 to %d names",
                          BH_TLS_MAX_NAMES);
    for (size_t i = 0; i < nnames; i++)
        if (!bh_tls_name_valid(names[i]))
            return bh_err_set(err, BH_EINVAL, "names",
                              "'%.200s' is neither a DNS name nor an IP address", names[i]);
    char san[BH_TLS_MAX_NAMES * (DNS_NAME_MAX + 8)], why[160];
    if (san_value(names, nnames, san, sizeof(san)))
        return bh_err_set(err, BH_EINVAL, "names", "too many names for one certificate");
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
    unsigned char serial[SERIAL_BYTES];
    BIGNUM *sn = NULL;
    int rc = BH_ESYS;
    if (!key || !x || !cb || !kb || bh_random(serial, sizeof(serial)))
        goto out;
    serial[0] &= 0x7f; /* positive */
    serial[0] |= 0x40; /* and of full length */
    sn = BN_bin2bn(serial, sizeof(serial), NULL);
    X509_NAME *subj = X509_get_subject_name(x);
    if (!sn || !BN_to_ASN1_INTEGER(sn, X509_get_serialNumber(x)) || !X509_set_version(x, 2) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -SKEW_SECONDS) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) || !X509_set_pubkey(x, key) ||
        !X509_NAME_add_entry_by_txt(subj, "O", MBSTRING_UTF8, (const unsigned char *)"bootherd", -1,
                                    -1, 0) ||
        !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_UTF8, (const unsigned char *)names[0], -1,
                                    -1, 0) ||
        !X509_set_issuer_name(x, subj))
        goto out;
    /* a server's certificate, not a CA's: RFC 5280 4.2.1.9, 4.2.1.3, 4.2.1.12 */
    if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") ||
        add_ext(x, NID_key_usage, "critical,digitalSignature") ||
        add_ext(x, NID_ext_key_usage, "serverAuth") ||
        add_ext(x, NID_subject_key_identifier, "hash") || add_ext(x, NID_subject_alt_name, san))
        goto out;
    if (!X509_sign(x, key, EVP_sha256()) || !PEM_write_bio_X509(cb, x) ||
        !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
        goto out;
    out->cert = bio_text(cb, &out->cert_len);
    out->key = bio_text(kb, &out->key_len);
    rc = out->cert && out->key ? 0 : BH_ENOMEM;
out:
    if (rc == BH_ESYS)
        bh_err_set(err, rc, NULL, "cannot make the certificate: %s", ossl_why(why, sizeof(why)));
    else if (rc)
        bh_err_set(err, rc, NULL, "out of memory");
    if (rc)
        bh_tls_pem_free(out);
    BN_free(sn);
    BIO_free(cb);
    BUF_MEM *bm = NULL; /* the key's PEM: cleared before the BIO frees it */
    if (kb && BIO_get_mem_ptr(kb, &bm) == 1 && bm && bm->data)
        OPENSSL_cleanse(bm->data, bm->max);
    BIO_free(kb);
    EVP_PKEY_free(key);
    X509_free(x);
    return rc;
}

void bh_tls_pem_free(struct bh_tls_pem *p)
{
    free(p->cert);
    if (p->key) {
        explicit_bzero(p->key, p->key_len);
        free(p->key);
    }
    memset(p, 0, sizeof(*p));
}

static X509 *read_cert(const char *pem, size_t len, struct bh_err *err)
{
    char why[160];
    if (len > BH_TLS_PEM_MAX) {
        bh_err_set(err, BH_EINVAL, NULL, "the certificate file is larger than %d bytes",
                   BH_TLS_PEM_MAX);
        return NULL;
    }
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!x)
        bh_err_set(err, BH_EINVAL, NULL,
                   "the certificate is not a PEM certificate (-----BEGIN CERTIFICATE-----): %s",
                   ossl_why(why, sizeof(why)));
    return x;
}

int bh_tls_cert_pin(const char *cert, size_t cert_len, char pin[BH_TLS_PIN_MAX], struct bh_err *err)
{
    X509 *x = read_cert(cert, cert_len, err);
    if (!x)
        return BH_EINVAL;
    int rc = pin_of(x, pin, err);
    X509_free(x);
    return rc;
}

/* An empty password callback: an encrypted key fails at once instead of
 * asking on a terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

int bh_tls_check_pair(const char *cert, size_t cert_len, const char *key, size_t key_len,
                      struct bh_tls_info *info, struct bh_err *err)
{
    char why[160];
    memset(info, 0, sizeof(*info));
    X509 *x = read_cert(cert, cert_len, err);
    if (!x)
        return BH_EINVAL;
    if (key_len > BH_TLS_PEM_MAX) {
        X509_free(x);
        return bh_err_set(err, BH_EINVAL, NULL, "the key file is larger than %d bytes",
                          BH_TLS_PEM_MAX);
    }
    BIO *b = BIO_new_mem_buf(key, (int)key_len);
    EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
    BIO_free(b);
    int rc = 0;
    if (!k)
        rc = bh_err_set(err, BH_EINVAL, NULL, "the key is not an unencrypted PEM private key: %s",
                        ossl_why(why, sizeof(why)));
    else if (X509_check_private_key(x, k) != 1) {
        ERR_clear_error();
        rc = bh_err_set(err, BH_EINVAL, NULL,
                        "the key does not belong to the certificate (their public keys differ)");
    }
    if (!rc)
        rc = pin_of(x, info->pin, err);
    if (!rc) {
        X509_NAME_oneline(X509_get_subject_name(x), info->subject, sizeof(info->subject));
        info->self_signed = X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0;
        struct tm tm;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1)
            info->not_after = (int64_t)timegm(&tm);
    }
    EVP_PKEY_free(k);
    X509_free(x);
    return rc;
}
