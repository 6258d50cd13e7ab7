/*
 * chunklist.c - a session's chunk list (see chunklist.h).
 */
#include "chunklist.h"

#include "core/err.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

void bh_chunklist_init(struct bh_chunklist *l)
{
    memset(l, 0, sizeof(*l));
}

void bh_chunklist_free(struct bh_chunklist *l)
{
    free(l->id);
    free(l->by_id);
    bh_idset_clear(&l->seen);
    memset(l, 0, sizeof(*l));
}

int bh_chunklist_add(struct bh_chunklist *l, const struct bh_manifest *m, size_t max)
{
    if (l->by_id)
        return BH_EINVAL;
    for (size_t i = 0; i < m->n; i++) {
        const struct bh_extent *e = &m->ext[i];
        if (e->zero || bh_idset_has(&l->seen, e->id))
            continue;
        if (l->n == max || l->n == UINT32_MAX)
            return BH_ETOOBIG;
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 1024;
            void *p = realloc(l->id, cap * sizeof(*l->id));
            if (!p)
                return BH_ENOMEM;
            l->id = p;
            l->cap = cap;
        }
        if (bh_idset_add(&l->seen, e->id) < 0)
            return BH_ENOMEM;
        memcpy(l->id[l->n++], e->id, BH_SHA256_LEN);
    }
    return 0;
}

static int by_id_cmp(const void *a, const void *b)
{
    return memcmp(((const struct bh_chunkref *)a)->id, ((const struct bh_chunkref *)b)->id,
                  BH_SHA256_LEN);
}

int bh_chunklist_seal(struct bh_chunklist *l)
{
    free(l->by_id);
    l->by_id = malloc((l->n ? l->n : 1) * sizeof(*l->by_id));
    if (!l->by_id)
        return BH_ENOMEM;
    for (size_t i = 0; i < l->n; i++) {
        memcpy(l->by_id[i].id, l->id[i], BH_SHA256_LEN);
        l->by_id[i].idx = (uint32_t)i;
    }
    qsort(l->by_id, l->n, sizeof(*l->by_id), by_id_cmp);
    return 0;
}

int64_t bh_chunklist_index(const struct bh_chunklist *l, const uint8_t id[BH_SHA256_LEN])
{
    struct bh_chunkref key;
    memcpy(key.id, id, BH_SHA256_LEN);
    const struct bh_chunkref *r =
        l->by_id ? bsearch(&key, l->by_id, l->n, sizeof(*l->by_id), by_id_cmp) : NULL;
    return r ? (int64_t)r->idx : -1;
}

void bh_chunklist_digest(const struct bh_chunklist *l, uint8_t out[BH_SHA256_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
        (l->n && !EVP_DigestUpdate(ctx, l->id, l->n * BH_SHA256_LEN)) ||
        !EVP_DigestFinal_ex(ctx, out, &len))
        memset(out, 0, BH_SHA256_LEN); /* an all-zero digest matches no list */
    EVP_MD_CTX_free(ctx);
}
