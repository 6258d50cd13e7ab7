/*
 * srcfmt.h - what kind of file an image source is, by its first bytes, and
 * decoding of the compressed kinds and of partclone images into a plain
 * (sparse) file.
 *
 * `bootherd image import` reads a raw disk or partition, or a virtual disk
 * that qemu-img converts.  Images from elsewhere often come compressed
 * (gzip, zstd, xz: FOG compresses every partition image) or as a
 * filesystem-aware dump (partclone: FOG's and Clonezilla's default;
 * ntfsclone) that holds only the used blocks.  The import decodes the
 * compressions and partclone, and refuses the rest by name; nothing here
 * is guessed from a file name.
 *
 * Owner: the CLI's image import (src/cli/cmd_image.c).  Pure file I/O,
 * no network; zlib, liblzma and libzstd.
 */
#ifndef BH_IMAGE_SRCFMT_H
#define BH_IMAGE_SRCFMT_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

/* bytes bh_srcfmt_sniff needs to tell every kind apart */
#define BH_SRCFMT_SNIFF 16

enum bh_srcfmt {
    BH_SRC_PLAIN = 0, /* none of the below: raw, qcow2, vmdk ... (qemu-img's turn) */
    BH_SRC_GZIP,      /* RFC 1952: 1f 8b */
    BH_SRC_ZSTD,      /* RFC 8878: 28 b5 2f fd */
    BH_SRC_XZ,        /* xz file format 1.0: fd '7zXZ' 00 */
    BH_SRC_BZIP2,     /* "BZh" + block size digit: recognised, not decoded */
    BH_SRC_PARTCLONE, /* partclone's image header: "partclone-image" */
    BH_SRC_NTFSCLONE, /* ntfsclone's image header: 00 "ntfsclone-image" */
};

/* The kind of the n bytes at the start of a file (n < BH_SRCFMT_SNIFF:
 * only what fits is told). */
enum bh_srcfmt bh_srcfmt_sniff(const uint8_t *p, size_t n);
/* "gzip", "zstd", "xz", "bzip2", "partclone", "ntfsclone", "raw or a disk image" */
const char *bh_srcfmt_name(enum bh_srcfmt f);
/* gzip, zstd and xz: bh_srcfmt_decode can read them (partclone:
 * bh_srcfmt_partclone) */
int bh_srcfmt_decodable(enum bh_srcfmt f);

/* Decode in (read from its current offset to the end) of kind f into out
 * (a regular file, written from offset 0): 4 KiB blocks of zeros become
 * holes, and the file is sized to the decoded length (*out_len).
 * Concatenated gzip members and zstd/xz streams are all decoded, as gzip -d
 * does.  *inner (may be NULL) is the kind of the decoded data's first
 * bytes; when that is neither BH_SRC_PLAIN nor BH_SRC_PARTCLONE decoding
 * stops there (what the caller refuses is not decoded whole).
 * BH_EINVAL (type "corrupt") for data that does not decode, with the
 * offset in the input; BH_EIO when reading or writing fails; BH_EUNSUPP
 * for a kind that is not decodable. */
int bh_srcfmt_decode(enum bh_srcfmt f, int in, int out, enum bh_srcfmt *inner, uint64_t *out_len,
                     struct bh_err *err);

/* What a partclone image holds (bh_srcfmt_partclone). */
struct bh_partclone_info {
    char fs[16];           /* "EXTFS", "NTFS", "FAT32" ... */
    uint64_t device_size;  /* bytes: the size of the output */
    uint64_t total_blocks; /* of the file system */
    uint64_t used_blocks;  /* present in the image */
    uint32_t block_size;
};

/* Restore the partclone image read from in (sequentially, from its current
 * offset: a pipe works) into out (a new regular file, written at the
 * blocks' offsets): the raw partition as partclone.restore would write it,
 * with holes where the file system has no used block.  Format 0002 only
 * (partclone 0.3 and later); its header, bitmap and CRC32 checksums are
 * checked.  BH_EINVAL (type "corrupt") for an image that does not read
 * (short, a checksum that does not match, sizes out of range), with what
 * and where; BH_EUNSUPP for format 0001 or a big-endian image; BH_EIO when
 * reading or writing fails. */
int bh_srcfmt_partclone(int in, int out, struct bh_partclone_info *info, struct bh_err *err);

#endif
