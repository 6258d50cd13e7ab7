/*
 * idset.c - see idset.h.  An all-zero slot is empty, so the all-zero id
 * cannot be a member: add ignores it and has says no.  Manifests never
 * name it (the parser rejects a chunk with a zero id).
 */
#include "idset.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t zero_id[32];

static size_t home(const uint8_t id[32], size_t cap)
{
    uint64_t h;
    memcpy(&h, id, sizeof(h));
    return (size_t)h & (cap - 1);
}

static bool is_zero(const uint8_t id[32])
{
    return !memcmp(id, zero_id, 32);
}

static int grow(struct bh_idset *s)
{
    size_t cap = s->cap ? s->cap * 2 : 1024;
    uint8_t(*slot)[32] = calloc(cap, 32);
    if (!slot)
        return BH_ENOMEM;
    for (size_t i = 0; i < s->cap; i++) {
        if (is_zero(s->slot[i]))
            continue;
        size_t j = home(s->slot[i], cap);
        while (!is_zero(slot[j]))
            j = (j + 1) & (cap - 1);
        memcpy(slot[j], s->slot[i], 32);
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return 0;
}

int bh_idset_add(struct bh_idset *s, const uint8_t id[32])
{
    if (is_zero(id))
        return 0; /* never stored; see bh_idset_has */
    if ((s->n + 1) * 4 > s->cap * 3 && grow(s))
        return BH_ENOMEM;
    size_t j = home(id, s->cap);
    while (!is_zero(s->slot[j])) {
        if (!memcmp(s->slot[j], id, 32))
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    memcpy(s->slot[j], id, 32);
    s->n++;
    return 1;
}

bool bh_idset_has(const struct bh_idset *s, const uint8_t id[32])
{
    if (!s->cap || is_zero(id))
        return false;
    size_t j = home(id, s->cap);
    while (!is_zero(s->slot[j])) {
        if (!memcmp(s->slot[j], id, 32))
            return true;
        j = (j + 1) & (s->cap - 1);
    }
    return false;
}

void bh_idset_clear(struct bh_idset *s)
{
    free(s->slot);
    s->slot = NULL;
    s->cap = s->n = 0;
}
