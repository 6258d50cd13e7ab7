/*
 * cache.h - the client's cache partition (LINBO's Cache = /dev/sdaN): the
 * chunks of the group's images, kept on the machine, so that a resync
 * reads them from the local disk instead of the network.
 *
 *   DIR/bootherd/chunks/ab/<sha256 hex>    a chunk's zstd frame, as served
 *
 * A chunk source wraps the server's: a chunk in the cache is taken from
 * there when its frame checks out against its id, any other is fetched
 * and kept; a damaged cache file is dropped and fetched again.
 */
#ifndef BH_AGENT_CACHE_H
#define BH_AGENT_CACHE_H

#include "deploy.h"

#include <limits.h>
#include <stdatomic.h>

struct bh_cache {
    char dir[3072]; /* DIR/bootherd/chunks */
    struct bh_chunk_source inner;
    _Atomic uint64_t hits, misses, kept;
};

/* Use DIR (the mounted cache partition) with inner as the server. */
int bh_cache_open(struct bh_cache *c, const char *dir, const struct bh_chunk_source *inner,
                  struct bh_err *err);
/* The chunk source for bh_deploy; ud is c. */
int bh_cache_fetch(void *c, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z, struct bh_err *err);
static inline struct bh_chunk_source bh_cache_source(struct bh_cache *c)
{
    return (struct bh_chunk_source){.fetch = bh_cache_fetch, .ud = c};
}
void bh_cache_drop(struct bh_cache *c, const uint8_t id[BH_SHA256_LEN]);
/* Whether the cache holds a file for id (not checked: fetch checks it). */
bool bh_cache_has(const struct bh_cache *c, const uint8_t id[BH_SHA256_LEN]);
/* Keep the checked frame z of id (written aside, then renamed in place);
 * false when it could not be written. */
bool bh_cache_keep(struct bh_cache *c, const uint8_t id[BH_SHA256_LEN], const void *z, size_t len);
/* initcache: every chunk of m into the cache (those not there yet), with
 * progress (chunks done of the distinct chunks); then syncfs.  *added:
 * chunks fetched. */
int bh_cache_fill(struct bh_cache *c, const struct bh_manifest *m,
                  void (*progress)(void *ud, uint64_t done, uint64_t total), void *ud,
                  uint64_t *added, struct bh_err *err);
/* Flush what was kept (syncfs of the cache's file system). */
void bh_cache_sync(struct bh_cache *c);

#endif
