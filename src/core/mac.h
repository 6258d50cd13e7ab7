/*
 * mac.h - Ethernet MAC addresses.  Leaf module.
 */
#ifndef BH_CORE_MAC_H
#define BH_CORE_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BH_MAC_STRLEN 18 /* "aa:bb:cc:dd:ee:ff" + NUL */

/* Accepts aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff, aabb.ccdd.eeff and
 * aabbccddeeff, any case.  BH_EINVAL for anything else (including
 * mixed separators). */
int bh_mac_parse(const char *s, uint8_t mac[6]);
/* Canonical lower-case colon form into out[BH_MAC_STRLEN]. */
void bh_mac_format(const uint8_t mac[6], char out[BH_MAC_STRLEN]);
/* Parse and re-format in place into out; BH_EINVAL if s is not a MAC. */
int bh_mac_normalize(const char *s, char out[BH_MAC_STRLEN]);
/* Can mac be one network card's own address, the key of a host?  Not the
 * broadcast address, not all zeros, not a group (multicast) address: IEEE
 * 802-2014 8.2.2, the I/G bit, the least significant bit of the first
 * octet.  Returns NULL if it can, else why not (a static string). */
const char *bh_mac_not_host(const uint8_t mac[6]);

#endif
