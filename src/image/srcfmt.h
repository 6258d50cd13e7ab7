/*
 * srcfmt.h - what kind of file an image source is, by its first bytes, and
 * decoding of the compressed kinds into a plain (sparse) file.
 *
 * `bootherd image import` reads a raw disk or partition, or a virtual disk
 * that qemu-img converts.  Images from elsewhere often come compressed
 * (gzip, zstd, xz: FOG compresses every partition image) or as a
 * filesystem-aware dump (partclone, ntfsclone: FOG's default) that is no
 * disk image at all.  The import decodes the first kind and refuses the
 * second by name; nothing here is guessed from a file name.
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
/* gzip, zstd and xz: bh_srcfmt_decode can read them */
int bh_srcfmt_decodable(enum bh_srcfmt f);

/* Decode in (read from its current offset to the end) of kind f into out
 * (a regular file, written from offset 0): 4 KiB blocks of zeros become
 * holes, and the file is sized to the decoded length (*out_len).
 * Concatenated gzip members and zstd/xz streams are all decoded, as gzip -d
 * does.  *inner (may be NULL) is the kind of the decoded data's first
 * bytes; when that is not BH_SRC_PLAIN decoding stops there (a partclone
 * image inside gzip is refused by the caller without decoding it all).
 * BH_EINVAL (type "corrupt") for data that does not decode, with the
 * offset in the input; BH_EIO when reading or writing fails; BH_EUNSUPP
 * for a kind that is not decodable. */
int bh_srcfmt_decode(enum bh_srcfmt f, int in, int out, enum bh_srcfmt *inner, uint64_t *out_len,
                     struct bh_err *err);

#endif
