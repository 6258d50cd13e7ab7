/*
 * idset.h - a set of SHA-256 ids (open addressing; the ids are uniformly
 * random already, so their first bytes are the hash).  Not thread-safe.
 */
#ifndef BH_IMAGE_IDSET_H
#define BH_IMAGE_IDSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bh_idset {
    uint8_t (*slot)[32];
    size_t cap, n; /* cap: a power of two, or 0 */
};

/* Returns 1 if added, 0 if it was there, BH_ENOMEM. */
int bh_idset_add(struct bh_idset *s, const uint8_t id[32]);
bool bh_idset_has(const struct bh_idset *s, const uint8_t id[32]);
void bh_idset_clear(struct bh_idset *s); /* empty, keeps nothing */

#endif
