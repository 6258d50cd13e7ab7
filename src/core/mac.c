#include "mac.h"

#include "err.h"

#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read 2*nbytes hex digits. */
static int hexbytes(const char *s, uint8_t *out, size_t nbytes)
{
    for (size_t i = 0; i < nbytes; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return BH_EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int bh_mac_parse(const char *s, uint8_t mac[6])
{
    size_t n = strlen(s);
    uint8_t m[6];
    if (n == 17 && (s[2] == ':' || s[2] == '-')) {
        char sep = s[2];
        for (size_t i = 0; i < 6; i++) {
            if (i < 5 && s[3 * i + 2] != sep)
                return BH_EINVAL;
            if (hexbytes(s + 3 * i, &m[i], 1))
                return BH_EINVAL;
        }
    } else if (n == 14 && s[4] == '.' && s[9] == '.') {
        for (size_t i = 0; i < 3; i++)
            if (hexbytes(s + 5 * i, &m[2 * i], 2))
                return BH_EINVAL;
    } else if (n == 12) {
        if (hexbytes(s, m, 6))
            return BH_EINVAL;
    } else {
        return BH_EINVAL;
    }
    memcpy(mac, m, 6);
    return 0;
}

void bh_mac_format(const uint8_t mac[6], char out[BH_MAC_STRLEN])
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < 6; i++) {
        out[3 * i] = d[mac[i] >> 4];
        out[3 * i + 1] = d[mac[i] & 15];
        out[3 * i + 2] = i < 5 ? ':' : '\0';
    }
}

int bh_mac_normalize(const char *s, char out[BH_MAC_STRLEN])
{
    uint8_t m[6];
    if (bh_mac_parse(s, m))
        return BH_EINVAL;
    bh_mac_format(m, out);
    return 0;
}

const char *bh_mac_not_host(const uint8_t mac[6])
{
    static const uint8_t zero[6], bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    if (!memcmp(mac, zero, 6))
        return "is all zeros, which no network card has";
    if (!memcmp(mac, bcast, 6))
        return "is the broadcast address, not a network card's";
    if (mac[0] & 0x01)
        return "is a multicast address (the group bit of the first octet is set), not a "
               "network card's";
    return NULL;
}
