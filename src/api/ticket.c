/*
 * ticket.c - see ticket.h.
 */
#include "ticket.h"

#include "core/str.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void hexs(const uint8_t *p, size_t n, char *out)
{
    static const char dig[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = dig[p[i] >> 4];
        out[2 * i + 1] = dig[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* aa:bb:cc:dd:ee:ff -> aabbccddeeff; false if not that shape */
static bool mac12(const char *mac, char out[13])
{
    size_t k = 0;
    for (size_t i = 0; mac[i]; i++) {
        char c = mac[i];
        if (c == ':')
            continue;
        if (k == 12 || !strchr("0123456789abcdef", c))
            return false;
        out[k++] = c;
    }
    out[k] = '\0';
    return k == 12;
}

static void sign(const uint8_t key[BH_AGENT_KEY_LEN], const char *msg, size_t len, char hex[65])
{
    uint8_t md[32];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, BH_AGENT_KEY_LEN, (const unsigned char *)msg, len, md, &mdlen);
    hexs(md, sizeof(md), hex);
}

int bh_ticket_make(const uint8_t key[BH_AGENT_KEY_LEN], const char *mac, int64_t now_ms,
                   int64_t ttl_ms, char out[BH_TICKET_MAX])
{
    char m[13], nonce[33], sig[65];
    uint8_t rnd[16];
    if (!mac12(mac, m))
        return BH_EINVAL;
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return BH_ESYS;
    hexs(rnd, sizeof(rnd), nonce);
    int n = snprintf(out, BH_TICKET_MAX, "%s.%lld.%s", m, (long long)(now_ms + ttl_ms), nonce);
    sign(key, out, (size_t)n, sig);
    snprintf(out + n, BH_TICKET_MAX - (size_t)n, ".%s", sig);
    return 0;
}

int bh_ticket_check(const uint8_t key[BH_AGENT_KEY_LEN], const char *ticket, const char *mac,
                    int64_t now_ms, char nonce[33], int64_t *expires_ms, struct bh_err *err)
{
    char m[13];
    size_t len = strlen(ticket);
    const char *d1 = strchr(ticket, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    const char *d3 = d2 ? strchr(d2 + 1, '.') : NULL;
    if (len >= BH_TICKET_MAX || !d1 || !d2 || !d3 || d1 - ticket != 12 || d3 - d2 != 33 ||
        strlen(d3 + 1) != 64)
        return bh_err_set(err, BH_EAUTH, "ticket", "malformed ticket");
    if (!mac12(mac, m) || memcmp(ticket, m, 12) != 0)
        return bh_err_set(err, BH_EAUTH, "ticket", "the ticket was issued to another machine");
    char sig[65];
    sign(key, ticket, (size_t)(d3 - ticket), sig);
    if (CRYPTO_memcmp(sig, d3 + 1, 64) != 0)
        return bh_err_set(err, BH_EAUTH, "ticket", "the ticket's signature is wrong");
    int64_t exp;
    if (bh_parse_i64n(d1 + 1, (size_t)(d2 - d1 - 1), 0, INT64_MAX, &exp))
        return bh_err_set(err, BH_EAUTH, "ticket", "malformed ticket expiry");
    if (exp <= now_ms)
        return bh_err_set(err, BH_EAUTH, "ticket",
                          "the ticket has expired: boot the machine again for a new one");
    memcpy(nonce, d2 + 1, 32);
    nonce[32] = '\0';
    *expires_ms = exp;
    return 0;
}
