/*
 * tlscert.h - the server's TLS certificate, as data: make a self-signed
 * one, check an admin's certificate against its key, and compute the pin
 * clients check it by.  Leaf module over OpenSSL's libcrypto; it reads and
 * writes no files (the callers do, atomically).  Owner: the HTTPS work of
 * issue 10 (`bootherd init --tls`, `serve`, the CLI).
 *
 * The pin is the SHA-256 of the certificate's SubjectPublicKeyInfo (DER),
 * in base64, written "sha256//BASE64": the form of libcurl's
 * CURLOPT_PINNEDPUBLICKEY and `curl --pinnedpubkey` (the hash of RFC 7469
 * 2.4).  It names the key, not the certificate, so a certificate renewed
 * with the same key keeps its pin.
 */
#ifndef BH_CORE_TLSCERT_H
#define BH_CORE_TLSCERT_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BH_TLS_PIN_PREFIX "sha256//"
/* "sha256//" + 44 base64 characters + NUL */
#define BH_TLS_PIN_LEN 52
#define BH_TLS_PIN_MAX (BH_TLS_PIN_LEN + 1)
/* A self-made certificate lives this long: the most the CA/Browser Forum
 * allowed for a server certificate until 2020, the longest a browser
 * accepts without complaint about the lifetime. */
#define BH_TLS_DAYS 825
/* subjectAltName entries of a self-made certificate */
#define BH_TLS_MAX_NAMES 16
/* A PEM file larger than this is not a certificate (chain) or a key */
#define BH_TLS_PEM_MAX (256 * 1024)

/* PEM text (NUL-terminated; len excludes the NUL).  Owned by the struct. */
struct bh_tls_pem {
    char *cert;
    size_t cert_len;
    char *key; /* zeroed when freed */
    size_t key_len;
};

/* Make an EC P-256 key and a self-signed X.509v3 certificate for `names`
 * (DNS names or IP literals, 1..BH_TLS_MAX_NAMES; the first is the
 * subject's CN), valid from an hour ago for `days` days, for TLS servers
 * only (CA:FALSE, digitalSignature, serverAuth).  Fills out on success
 * (free with bh_tls_pem_free); BH_EINVAL names a bad name. */
int bh_tls_self_signed(const char *const *names, size_t nnames, unsigned days,
                       struct bh_tls_pem *out, struct bh_err *err);
void bh_tls_pem_free(struct bh_tls_pem *p);

struct bh_tls_info {
    char pin[BH_TLS_PIN_MAX]; /* of the first certificate in the PEM */
    char subject[256];        /* its subject, one line */
    int64_t not_after;        /* Unix time */
    bool self_signed;         /* its issuer is its subject */
};

/* Check that the first certificate of cert (PEM; a chain may follow) and
 * the private key (PEM, unencrypted) belong together, and describe the
 * certificate.  BH_EINVAL with a message for the admin when either does
 * not parse or they do not match.  Borrowed inputs, need no NUL. */
int bh_tls_check_pair(const char *cert, size_t cert_len, const char *key, size_t key_len,
                      struct bh_tls_info *info, struct bh_err *err);

/* The pin of the first certificate in cert (PEM). */
int bh_tls_cert_pin(const char *cert, size_t cert_len, char pin[BH_TLS_PIN_MAX],
                    struct bh_err *err);

/* Whether s is one pin as this module writes it ("sha256//" and 44
 * base64 characters ending in "="). */
bool bh_tls_pin_valid(const char *s);

/* Whether s may be a subjectAltName: an IPv4 or IPv6 literal, or a DNS
 * name (letters, digits, '-', '.', labels of 1..63, at most 253). */
bool bh_tls_name_valid(const char *s);

#endif
