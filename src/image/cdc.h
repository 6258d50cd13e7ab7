/*
 * cdc.h - content-defined chunking, FastCDC family: a gear rolling hash,
 * normalised chunking (a stricter mask before the average size, a looser
 * one after it) and no hashing of the first `min` bytes of a chunk.
 *
 * Cut points depend only on the bytes from the chunk's start, so the same
 * content yields the same chunks wherever it sits in a stream.  The gear
 * table is fixed (derived from a constant seed): changing it changes every
 * chunk boundary, so it is part of the image format (docs/image-format.md).
 */
#ifndef BH_IMAGE_CDC_H
#define BH_IMAGE_CDC_H

#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BH_CDC_AVG_MIN     (16u * 1024)
#define BH_CDC_AVG_MAX     (4u * 1024 * 1024)
#define BH_CDC_AVG_DEFAULT (256u * 1024) /* chosen by bench/image.sh; see bench/RESULTS.md */
#define BH_CDC_CHUNK_MAX   (4u * BH_CDC_AVG_MAX) /* no chunk is ever larger */

struct bh_cdc {
    uint32_t min, avg, max; /* min = avg / 4, max = avg * 4 */
    uint64_t mask_s, mask_l;
};

/* avg: a power of two in [BH_CDC_AVG_MIN, BH_CDC_AVG_MAX]; BH_EINVAL else. */
int bh_cdc_init(struct bh_cdc *c, uint32_t avg, struct bh_err *err);

/* The length of the next chunk of data[0..len), which starts a chunk:
 *   - a cut point found by the hash (min <= cut <= max), else
 *   - max, when len >= max, else
 *   - len, when eof (the stream's last chunk), else
 *   - 0: not decidable yet, call again with more bytes.
 * len == 0 returns 0. */
size_t bh_cdc_cut(const struct bh_cdc *c, const uint8_t *data, size_t len, bool eof);

#endif
