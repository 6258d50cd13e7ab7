/*
 * manifest.h - an image version's content: the ordered extents that make
 * up a partition or disk image, each either a chunk (named by the SHA-256
 * of its uncompressed bytes) or a run of zeros.  A manifest is immutable
 * and content-addressed: its id is the SHA-256 of its encoding, which is
 * canonical (one byte string per content), so equal images have equal ids.
 *
 * The binary format, version 1, is described in docs/image-format.md.
 * bh_manifest_parse checks everything and trusts nothing: it is fed bytes
 * from the network.
 */
#ifndef BH_IMAGE_MANIFEST_H
#define BH_IMAGE_MANIFEST_H

#include "core/buf.h"
#include "core/err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BH_MF_VERSION     1
#define BH_MF_EXTENTS_MAX (64u * 1024 * 1024) /* 16 TiB of 256 KiB chunks */
#define BH_MF_FSTYPE_MAX  16                  /* including the NUL */
#define BH_SHA256_LEN     32
#define BH_SHA256_HEX     65 /* 64 hex digits and a NUL */

enum bh_img_kind { BH_IMG_PARTITION = 0, BH_IMG_DISK = 1 };

struct bh_extent {
    uint64_t offset; /* in the image; extents are contiguous, in order */
    uint64_t len;    /* chunk: 1..BH_CDC_CHUNK_MAX; zero run: >= 1 */
    bool zero;
    uint8_t id[BH_SHA256_LEN]; /* chunk only; all zero for a zero run */
};

struct bh_manifest {
    enum bh_img_kind kind;
    char fstype[BH_MF_FSTYPE_MAX]; /* "", "ext4", "ntfs", "vfat", ... */
    uint32_t chunk_avg;            /* the chunker's average, informative */
    uint64_t size;                 /* logical size: the sum of the extents */
    struct bh_extent *ext;
    size_t n, cap;
};

void bh_manifest_init(struct bh_manifest *m);
void bh_manifest_free(struct bh_manifest *m);
/* Append an extent at offset m->size; merges a zero run into a preceding
 * zero run (the canonical form has no two zero runs in a row). */
int bh_manifest_add(struct bh_manifest *m, bool zero, uint64_t len, const uint8_t *id);
/* Canonical encoding (replaces out's content). */
int bh_manifest_encode(const struct bh_manifest *m, struct bh_buf *out);
/* Parse and check an encoding: magic, version, reserved bytes zero, fstype
 * printable and NUL-padded, counts against the body length, lengths in
 * range, no two zero runs in a row, no zero id for a chunk, the sum of the
 * lengths equal to the size.  BH_EINVAL with the byte offset in
 * err->field and a precise message; BH_ETOOBIG over BH_MF_EXTENTS_MAX. */
int bh_manifest_parse(const uint8_t *data, size_t len, struct bh_manifest *m, struct bh_err *err);

/* SHA-256 (OpenSSL libcrypto) and hex helpers. */
void bh_sha256(const void *data, size_t len, uint8_t out[BH_SHA256_LEN]);
void bh_hex_id(const uint8_t id[BH_SHA256_LEN], char out[BH_SHA256_HEX]);
/* 64 lowercase hex digits exactly; false otherwise. */
bool bh_parse_id(const char *hex, uint8_t id[BH_SHA256_LEN]);

/* The distinct chunk ids of m, sorted (for set operations: missing chunks,
 * diff, gc marking).  *ids is malloc'd, BH_SHA256_LEN bytes each. */
int bh_manifest_chunk_set(const struct bh_manifest *m, uint8_t **ids, size_t *n);

#endif
