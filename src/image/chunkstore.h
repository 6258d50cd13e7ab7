/*
 * chunkstore.h - chunks and manifests on disk, content-addressed.
 *
 *   ROOT/chunks/ab/abcdef...   a zstd frame of one chunk (ab = first byte
 *                              of the id in hex), id = SHA-256 of the
 *                              uncompressed bytes
 *   ROOT/manifests/abcdef...   a manifest encoding, id = its SHA-256
 *   ROOT/tmp/                  writes in progress (cleared on open)
 *
 * Writes are atomic: a temporary file in ROOT/tmp, fsync, rename into
 * place, so a chunk file under its name is always whole.  Its name is
 * durable once bh_cs_sync returns (a commit calls it once for every chunk
 * of a version, instead of a directory fsync per chunk); manifests are
 * durable when bh_cs_put_manifest returns.  Something present is never
 * rewritten.  A full disk (ENOSPC, EDQUOT) gives BH_EIO with a message
 * that says so, and leaves nothing behind.  Thread-safe: every call may
 * come from any thread; the store keeps open only directory descriptors.
 */
#ifndef BH_IMAGE_CHUNKSTORE_H
#define BH_IMAGE_CHUNKSTORE_H

#include "core/buf.h"
#include "core/err.h"
#include "manifest.h"

#include <stdbool.h>
#include <stdint.h>

struct bh_chunkstore;

/* Open (creating the directories) the store under root, a directory path
 * relative to the working directory or absolute. */
int bh_cs_open(const char *root, struct bh_chunkstore **out, struct bh_err *err);
void bh_cs_close(struct bh_chunkstore *cs);

/* ---- chunks ---- */
bool bh_cs_has(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN]);
/* Is z exactly one zstd frame whose content hashes to id?  0, or BH_EINVAL
 * (type "hash-mismatch" or "bad-chunk") saying why; BH_ENOMEM.  Decodes
 * into a per-thread buffer: nothing is allocated per call. */
int bh_cs_check_frame(const void *z, size_t zlen, const uint8_t id[BH_SHA256_LEN],
                      struct bh_err *err);
/* Store z, a zstd frame whose content is the chunk id.  verify: decompress
 * and hash first, and refuse a mismatch (BH_EINVAL, type "hash-mismatch")
 * or a frame that is not zstd or decodes to more than BH_CDC_CHUNK_MAX
 * (BH_EINVAL, "bad-chunk"); use it for anything from the network.
 * *added (may be NULL) tells whether the chunk was new. */
int bh_cs_put(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], const void *z, size_t zlen,
              bool verify, bool *added, struct bh_err *err);
/* Compress data (zstd level `level`) and store it under id, which the
 * caller computed (local ingest: no second hash). */
int bh_cs_put_raw(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], const void *data,
                  size_t len, int level, bool *added, struct bh_err *err);
/* Open the stored frame read-only (for sendfile); *zsize its size.
 * BH_ENOTFOUND when absent.  No verification. */
int bh_cs_open_chunk(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], int *fd,
                     uint64_t *zsize, struct bh_err *err);
/* Read, decompress and verify into out (replacing its content).
 * BH_ENOTFOUND when absent; BH_EIO, type "corrupt-chunk", when the frame
 * does not decode or its content does not hash to id. */
int bh_cs_read(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], struct bh_buf *out,
               struct bh_err *err);
/* Same check without keeping the bytes; *zsize (may be NULL) the stored
 * size. */
int bh_cs_verify(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], uint64_t *zsize,
                 struct bh_err *err);
int bh_cs_remove(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], struct bh_err *err);
/* Make every chunk stored so far durable, names included (syncfs). */
int bh_cs_sync(struct bh_chunkstore *cs, struct bh_err *err);
/* Every stored chunk, in no particular order; fn returns nonzero to stop
 * (that value is returned).  mtime_ms: the file's modification time. */
int bh_cs_walk(struct bh_chunkstore *cs,
               int (*fn)(void *ud, const uint8_t id[BH_SHA256_LEN], uint64_t zsize,
                         int64_t mtime_ms),
               void *ud, struct bh_err *err);

/* ---- manifests ---- */
/* Store an encoding; *id (may be NULL) its SHA-256. */
int bh_cs_put_manifest(struct bh_chunkstore *cs, const void *enc, size_t len,
                       uint8_t id[BH_SHA256_LEN], struct bh_err *err);
/* Read, check the hash, and parse.  BH_ENOTFOUND, BH_EIO ("corrupt-manifest"). */
int bh_cs_get_manifest(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN],
                       struct bh_manifest *m, struct bh_err *err);
/* The raw encoding, checked against its id (for GET of a manifest). */
int bh_cs_get_manifest_raw(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN],
                           struct bh_buf *out, struct bh_err *err);
int bh_cs_remove_manifest(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN],
                          struct bh_err *err);

#endif
