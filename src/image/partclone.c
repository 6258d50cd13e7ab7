/*
 * partclone.c - a partclone image (format 0002, partclone 0.3 and later,
 * as FOG and Clonezilla write them) back into the raw partition it was
 * taken from (see bh_srcfmt_partclone in srcfmt.h).
 *
 * The layout, from partclone's IMAGE_FORMATS.md: a 110-byte header
 * (little-endian), a bitmap of one bit per file-system block (least
 * significant bit first), and the used blocks in block order, a checksum
 * after every `blocks per checksum` blocks and after the last.  The
 * header, the bitmap and each CRC32 strip are checked: partclone's CRC32
 * is zlib's without the final inversion, and restarts at each strip when
 * the header says "reseed".  Real images give the CRC32 checksum mode as
 * 0x20 (its width in bits); other modes' checksums are skipped unchecked.  Blocks the bitmap marks
 * unused are zeros in the output (holes); the output is the file system's size.  Read sequentially:
 * the input may be a pipe.
 *
 * Owner: the CLI's image import, through srcfmt.h.
 */
#include "srcfmt.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define PC_HEAD_SIZE  110
#define PC_MAGIC      "partclone-image" /* and a NUL: 16 bytes */
#define PC_V2         "0002"
#define PC_LITTLE     0xC0DEu
#define PC_CSUM_NONE  0
#define PC_CSUM_CRC32 0x20 /* what real images say: the width in bits */
#define PC_BITMAP_BIT 1
#define PC_BLOCK_MAX  (64u << 20)  /* larger than any file system block */
#define PC_BITMAP_MAX (1ull << 30) /* 2^33 blocks: 32 TiB of 4 KiB blocks */
#define PC_READ_STEP  (1u << 20)   /* the bitmap is read (and grown) by this much */

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* partclone's CRC32 of p: zlib's, not inverted at the end */
static uint32_t pc_crc(uLong running)
{
    return (uint32_t)(~running & 0xffffffffu);
}

struct pc_in {
    int fd;
    uint64_t off; /* bytes consumed, for messages */
};

/* exactly n bytes, or BH_EINVAL "ends early" / BH_EIO */
static int read_exact(struct pc_in *in, void *buf, size_t n, const char *what, struct bh_err *err)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(in->fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return bh_err_set(err, BH_EIO, "source", "reading the partclone image: %s",
                              strerror(errno));
        if (r == 0)
            return bh_err_sett(err, BH_EINVAL, "corrupt", "source",
                               "the partclone image ends early, in its %s at byte %llu: "
                               "truncated?",
                               what, (unsigned long long)(in->off + got));
        got += (size_t)r;
    }
    in->off += n;
    return 0;
}

/* n bytes into a new *out, grown as they arrive: what a header claims
 * costs memory only once the input holds it */
static int read_grow(struct pc_in *in, uint8_t **out, size_t n, struct bh_err *err)
{
    size_t have = 0, cap = 0;
    uint8_t *p = NULL;
    int rc = 0;
    while (!rc && have < n) {
        size_t step = n - have < PC_READ_STEP ? n - have : PC_READ_STEP;
        if (have + step > cap) {
            size_t ncap = cap ? cap * 2 : PC_READ_STEP;
            if (ncap > n)
                ncap = n;
            uint8_t *q = realloc(p, ncap);
            if (!q) {
                rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
                break;
            }
            p = q;
            cap = ncap;
        }
        rc = read_exact(in, p + have, step, "bitmap", err);
        have += step;
    }
    if (rc) {
        free(p);
        p = NULL;
    }
    *out = p;
    return rc;
}

__attribute__((format(printf, 2, 3))) static int bad(struct bh_err *err, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return bh_err_sett(err, BH_EINVAL, "corrupt", "source", "partclone image: %s", msg);
}

static bool zero_block(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int write_at(int fd, const uint8_t *p, size_t n, uint64_t at, struct bh_err *err)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(fd, p + done, n - done, (off_t)(at + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return bh_err_set(err, BH_EIO, NULL, "writing the restored partition: %s",
                              w < 0 ? strerror(errno) : "short write");
        done += (size_t)w;
    }
    return 0;
}

int bh_srcfmt_partclone(int in_fd, int out, struct bh_partclone_info *info, struct bh_err *err)
{
    struct pc_in in = {.fd = in_fd};
    uint8_t h[PC_HEAD_SIZE];
    memset(info, 0, sizeof(*info));
    int rc = read_exact(&in, h, sizeof(h), "header", err);
    if (rc)
        return rc;
    if (memcmp(h, PC_MAGIC, sizeof(PC_MAGIC) - 1)) /* format 0001 has no NUL after it */
        return bad(err, "no partclone header");
    if (memcmp(h + 30, PC_V2, 4)) {
        char v[5];
        memcpy(v, h + 30, 4);
        v[4] = '\0';
        for (int i = 0; i < 4; i++)
            if (v[i] < ' ' || v[i] > '~')
                v[i] = '?';
        return bh_err_sett(err, BH_EUNSUPP, "unsupported", "source",
                           "partclone image format %s (partclone before 0.3): only format "
                           "0002 is read; restore it with partclone.restore first",
                           v);
    }
    if (le16(h + 34) != PC_LITTLE)
        return bad(err, "big-endian images are not read");
    if (pc_crc(crc32(0, h, 106)) != le32(h + 106))
        return bad(err, "the header's checksum does not match");
    memcpy(info->fs, h + 36, 16);
    info->fs[15] = '\0';
    info->device_size = le64(h + 52);
    info->total_blocks = le64(h + 60);
    info->block_size = le32(h + 84);
    uint16_t csum_mode = le16(h + 96), csum_size = le16(h + 98);
    uint32_t per_csum = le32(h + 100);
    bool reseed = h[104] != 0;
    uint8_t bitmap_mode = h[105];
    uint32_t bs = info->block_size;
    if (bitmap_mode != PC_BITMAP_BIT)
        return bad(err, "bitmap mode %u is not read", bitmap_mode);
    if (bs < 512 || bs > PC_BLOCK_MAX)
        return bad(err, "block size %u is out of range", bs);
    if (info->total_blocks == 0 || (info->total_blocks + 7) / 8 > PC_BITMAP_MAX ||
        info->total_blocks > (info->device_size + bs - 1) / bs)
        return bad(err, "%llu blocks of %u bytes do not fit the file system's %llu bytes",
                   (unsigned long long)info->total_blocks, bs,
                   (unsigned long long)info->device_size);
    if (csum_mode != PC_CSUM_NONE && (csum_size == 0 || csum_size > 64 || per_csum == 0))
        return bad(err, "checksum size %u is out of range", csum_size);

    size_t nbitmap = (size_t)((info->total_blocks + 7) / 8);
    uint8_t *bitmap = NULL, *block = NULL, csum[64], bcrc[4];
    rc = read_grow(&in, &bitmap, nbitmap, err);
    if (!rc && !(block = malloc(bs)))
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (!rc)
        rc = read_exact(&in, bcrc, sizeof(bcrc), "bitmap", err);
    if (!rc && pc_crc(crc32(0, bitmap, (uInt)nbitmap)) != le32(bcrc))
        rc = bad(err, "the bitmap's checksum does not match");
    uLong run = crc32(0, NULL, 0);
    uint64_t in_strip = 0;
    for (uint64_t b = 0; !rc && b < info->total_blocks; b++) {
        if (!(bitmap[b >> 3] >> (b & 7) & 1))
            continue;
        rc = read_exact(&in, block, bs, "blocks", err);
        if (rc)
            break;
        info->used_blocks++;
        uint64_t at = b * bs;
        size_t n = at + bs > info->device_size ? (size_t)(info->device_size - at) : bs;
        if (!zero_block(block, n))
            rc = write_at(out, block, n, at, err);
        if (csum_mode == PC_CSUM_NONE)
            continue;
        run = crc32(run, block, bs);
        if (++in_strip < per_csum)
            continue;
        in_strip = 0;
        rc = read_exact(&in, csum, csum_size, "checksums", err);
        if (!rc && csum_mode == PC_CSUM_CRC32 && (csum_size != 4 || pc_crc(run) != le32(csum)))
            rc = bad(err, "the checksum at byte %llu does not match its blocks",
                     (unsigned long long)(in.off - csum_size));
        if (reseed)
            run = crc32(0, NULL, 0);
    }
    /* the last, shorter strip has its checksum too */
    if (!rc && csum_mode != PC_CSUM_NONE && in_strip) {
        rc = read_exact(&in, csum, csum_size, "checksums", err);
        if (!rc && csum_mode == PC_CSUM_CRC32 && (csum_size != 4 || pc_crc(run) != le32(csum)))
            rc = bad(err, "the checksum at byte %llu does not match its blocks",
                     (unsigned long long)(in.off - csum_size));
    }
    if (!rc && ftruncate(out, (off_t)info->device_size) < 0)
        rc = bh_err_set(err, BH_EIO, NULL, "sizing the restored partition: %s", strerror(errno));
    free(bitmap);
    free(block);
    return rc;
}
