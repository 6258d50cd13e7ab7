/*
 * image_int.h - internals shared by the files of src/image (not a public
 * interface: nothing outside src/image includes it).
 */
#ifndef BH_IMAGE_INT_H
#define BH_IMAGE_INT_H

#include "chunkstore.h"
#include "core/err.h"

#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

/* ---- chunk store: staged writes with one flush per batch ----
 *
 * bh_cs_put makes each chunk durable on its own: two flushes per chunk,
 * which bounds a local ingest to about a thousand chunks a second on an
 * SSD.  A batch keeps the same guarantees with two flushes per batch:
 * stage writes each frame to a temporary file without fsync; commit
 * flushes the file system (syncfs), renames every staged file into place
 * (never over a present chunk) and flushes again.  A crash before the
 * commit's end leaves temporary files only (cleared on the next open), and
 * a file under its final name always has its full content on disk. */
struct bh__cs_batch;

int bh__cs_batch_new(struct bh_chunkstore *cs, struct bh__cs_batch **out);
/* Write z (the frame of chunk id) to a temporary file.  Any thread. */
int bh__cs_batch_stage(struct bh__cs_batch *b, const uint8_t id[BH_SHA256_LEN], const void *z,
                       size_t zlen, struct bh_err *err);
/* Staged bytes not committed yet. */
uint64_t bh__cs_batch_pending(struct bh__cs_batch *b);
/* Make every chunk staged so far durable and visible; *added_bytes grows
 * by the frames that were new to the store.  On failure the staged files
 * are removed.  One committer at a time; stage may run meanwhile. */
int bh__cs_batch_commit(struct bh__cs_batch *b, uint64_t *added_bytes, struct bh_err *err);
/* Remove staged files that were not committed, and free b (NULL is fine). */
void bh__cs_batch_free(struct bh__cs_batch *b);

/* ---- per-thread zstd contexts (freed when the thread exits) ---- */
ZSTD_CCtx *bh__zstd_cctx(void);
ZSTD_DCtx *bh__zstd_dctx(void);

#endif
