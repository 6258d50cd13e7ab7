/*
 * ingest.h - turn a file or block device into a manifest and chunks, and
 * back.  Reading, chunking, zero detection, hashing and compression are
 * pipelined over worker threads: the calling thread reads and cuts, the
 * workers hash and compress, and results come back to the calling thread
 * in stream order.  Memory is bounded (a fixed number of chunk buffers in
 * flight), whatever the image size.
 *
 * Zero runs: the stream is read in 4 KiB blocks; a run of at least
 * BH_ZERO_RUN_MIN all-zero bytes on 4 KiB boundaries becomes a zero extent
 * and is never chunked nor stored.  The bytes between zero runs are cut
 * by the CDC (cdc.h).  A chunk that happens to be all zeros but shorter
 * than that is stored like any other (it dedups to one chunk).
 */
#ifndef BH_IMAGE_INGEST_H
#define BH_IMAGE_INGEST_H

#include "chunkstore.h"
#include "core/err.h"
#include "manifest.h"

#include <stdbool.h>
#include <stdint.h>

#define BH_ZERO_RUN_MIN (64u * 1024)

struct bh_ingest_opts {
    uint32_t chunk_avg; /* 0: BH_CDC_AVG_DEFAULT */
    int zstd_level;     /* 0: 3 */
    int threads;        /* workers; 0: the number of online CPUs */
    /* Any worker thread, must be thread-safe: should chunk id be
     * compressed and handed to on_chunk?  NULL: every chunk is. */
    bool (*want)(void *ud, const uint8_t id[BH_SHA256_LEN]);
    /* The calling thread, in stream order, once per distinct chunk id of
     * the stream that want() selected: z is its zstd frame (borrowed for
     * the call), len its uncompressed length.  Nonzero aborts the ingest
     * and is returned.  NULL: scan only; nothing is compressed. */
    int (*on_chunk)(void *ud, const uint8_t id[BH_SHA256_LEN], const void *z, size_t zlen,
                    uint32_t len, struct bh_err *err);
    /* The calling thread, now and then: bytes of the source done. */
    void (*progress)(void *ud, uint64_t done, uint64_t total);
    void *ud;
};

/* Read fd (size bytes from offset 0; pread, so pipes are not supported)
 * and build *m (initialised by the caller; kind and fstype are the
 * caller's to set).  A short read (the source shrank) is BH_EIO. */
int bh_ingest(int fd, uint64_t size, const struct bh_ingest_opts *o, struct bh_manifest *m,
              struct bh_err *err);

/* Second pass for uploads: read the chunks of m that o->want selects back
 * from fd, rehash them (the source may have changed since: BH_ECONFLICT,
 * type "source-changed"), compress and hand them to o->on_chunk, each
 * distinct id once, in manifest order. */
int bh_ingest_pack(int fd, const struct bh_manifest *m, const struct bh_ingest_opts *o,
                   struct bh_err *err);

/* Local ingest into a store: want = not in cs, on_chunk = bh_cs_put
 * without re-verification.  *added_bytes (may be NULL): compressed bytes
 * that were new to the store. */
int bh_ingest_to_store(int fd, uint64_t size, struct bh_chunkstore *cs,
                       const struct bh_ingest_opts *o, struct bh_manifest *m, uint64_t *added_bytes,
                       struct bh_err *err);

/* Write the image of m to fd from the chunks of cs (decompressed and
 * verified).  sparse: zero runs become holes (lseek), and the file is
 * sized with ftruncate; otherwise zeros are written (block devices).
 * BH_ENOTFOUND / BH_EIO name the missing or corrupt chunk. */
int bh_export(struct bh_chunkstore *cs, const struct bh_manifest *m, int fd, bool sparse,
              void (*progress)(void *ud, uint64_t done, uint64_t total), void *ud,
              struct bh_err *err);

#endif
