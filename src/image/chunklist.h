/*
 * chunklist.h - the chunk list of a room delivery session (multicast or
 * swarm, issue 13): the distinct chunks of the manifests of a job's
 * partitions, each image@version once, in the order they first appear
 * (manifests in the order given, extents by offset).  The server and
 * every receiver that were given the same manifests in the same order get
 * the same list, so a chunk is named on the wire by its index in it; the
 * list's digest lets a receiver check that it holds the server's list.
 */
#ifndef BH_IMAGE_CHUNKLIST_H
#define BH_IMAGE_CHUNKLIST_H

#include "idset.h"
#include "manifest.h"

#include <stddef.h>
#include <stdint.h>

struct bh_chunkref {
    uint8_t id[BH_SHA256_LEN];
    uint32_t idx;
};

struct bh_chunklist {
    uint8_t (*id)[BH_SHA256_LEN]; /* the list (owned) */
    size_t n, cap;
    struct bh_idset seen;      /* owned */
    struct bh_chunkref *by_id; /* (id, index) sorted by id, after bh_chunklist_seal (owned) */
};

void bh_chunklist_init(struct bh_chunklist *l);
void bh_chunklist_free(struct bh_chunklist *l);
/* Append m's chunks not in the list yet.  0, BH_ENOMEM, or BH_ETOOBIG past
 * max chunks.  Not after bh_chunklist_seal. */
int bh_chunklist_add(struct bh_chunklist *l, const struct bh_manifest *m, size_t max);
/* Build the lookup by id: 0 or BH_ENOMEM. */
int bh_chunklist_seal(struct bh_chunklist *l);
/* The index of id in a sealed list, or -1. */
int64_t bh_chunklist_index(const struct bh_chunklist *l, const uint8_t id[BH_SHA256_LEN]);
/* SHA-256 over the ids in list order. */
void bh_chunklist_digest(const struct bh_chunklist *l, uint8_t out[BH_SHA256_LEN]);

#endif
