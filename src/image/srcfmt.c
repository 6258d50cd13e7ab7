/*
 * srcfmt.c - image sources by their first bytes, and decoding of gzip, zstd
 * and xz sources into a sparse plain file (see srcfmt.h).
 *
 * One loop for the three: read a block of input, let the decoder turn it
 * into output blocks, write those with holes for zero runs.  Each decoder
 * is a small state machine behind the same two calls, so the loop (and its
 * error handling) exists once.
 */
#include "srcfmt.h"

#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_BUF    (256u * 1024)
#define OUT_BUF   (1024u * 1024)
#define HOLE_UNIT 4096u

/* partclone's image header starts with this magic (its 16-byte field is
 * NUL-padded); ntfsclone's with a NUL and its own */
static const char partclone_magic[] = "partclone-image";
static const char ntfsclone_magic[] = "\0ntfsclone-image";

enum bh_srcfmt bh_srcfmt_sniff(const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return BH_SRC_GZIP;
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
        return BH_SRC_ZSTD;
    if (n >= 6 && !memcmp(p,
                          "\xfd"
                          "7zXZ\0",
                          6))
        return BH_SRC_XZ;
    if (n >= 4 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h' && p[3] >= '1' && p[3] <= '9')
        return BH_SRC_BZIP2;
    if (n >= sizeof(partclone_magic) - 1 &&
        !memcmp(p, partclone_magic, sizeof(partclone_magic) - 1))
        return BH_SRC_PARTCLONE;
    if (n >= sizeof(ntfsclone_magic) - 1 &&
        !memcmp(p, ntfsclone_magic, sizeof(ntfsclone_magic) - 1))
        return BH_SRC_NTFSCLONE;
    return BH_SRC_PLAIN;
}

const char *bh_srcfmt_name(enum bh_srcfmt f)
{
    switch (f) {
    case BH_SRC_GZIP: return "gzip";
    case BH_SRC_ZSTD: return "zstd";
    case BH_SRC_XZ: return "xz";
    case BH_SRC_BZIP2: return "bzip2";
    case BH_SRC_PARTCLONE: return "partclone";
    case BH_SRC_NTFSCLONE: return "ntfsclone";
    case BH_SRC_PLAIN: break;
    }
    return "raw or a disk image";
}

int bh_srcfmt_decodable(enum bh_srcfmt f)
{
    return f == BH_SRC_GZIP || f == BH_SRC_ZSTD || f == BH_SRC_XZ;
}

/* ---- output: holes for zero blocks ---------------------------------------- */

struct sink {
    int fd;
    uint64_t off;
    uint8_t head[BH_SRCFMT_SNIFF];
    size_t nhead;
};

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static int sink_write(struct sink *s, const uint8_t *p, size_t n, struct bh_err *err)
{
    if (s->nhead < sizeof(s->head)) {
        size_t k = n < sizeof(s->head) - s->nhead ? n : sizeof(s->head) - s->nhead;
        memcpy(s->head + s->nhead, p, k);
        s->nhead += k;
    }
    while (n) {
        /* up to the next HOLE_UNIT boundary of the output */
        size_t k = HOLE_UNIT - (size_t)(s->off % HOLE_UNIT);
        if (k > n)
            k = n;
        if (!(k == HOLE_UNIT && all_zero(p, k))) {
            size_t done = 0;
            while (done < k) {
                ssize_t w = pwrite(s->fd, p + done, k - done, (off_t)(s->off + done));
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    return bh_err_set(err, BH_EIO, NULL, "writing the decoded image: %s",
                                      w < 0 ? strerror(errno) : "short write");
                done += (size_t)w;
            }
        }
        s->off += k;
        p += k;
        n -= k;
    }
    return 0;
}

/* ---- the decoders ---------------------------------------------------------- */

struct dec {
    enum bh_srcfmt f;
    z_stream z;
    ZSTD_DStream *zs;
    lzma_stream x;
    bool z_end;   /* gzip: the last member ended */
    size_t zs_rc; /* zstd: 0 when a frame ended */
};

static int dec_init(struct dec *d, struct bh_err *err)
{
    switch (d->f) {
    case BH_SRC_GZIP:
        memset(&d->z, 0, sizeof(d->z));
        if (inflateInit2(&d->z, 16 + MAX_WBITS) != Z_OK) /* RFC 1952 framing */
            return bh_err_set(err, BH_ENOMEM, NULL, "gzip: cannot start the decoder");
        return 0;
    case BH_SRC_ZSTD:
        d->zs = ZSTD_createDStream();
        if (!d->zs || ZSTD_isError(ZSTD_initDStream(d->zs)))
            return bh_err_set(err, BH_ENOMEM, NULL, "zstd: cannot start the decoder");
        return 0;
    case BH_SRC_XZ: {
        lzma_stream init = LZMA_STREAM_INIT;
        d->x = init;
        if (lzma_stream_decoder(&d->x, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
            return bh_err_set(err, BH_ENOMEM, NULL, "xz: cannot start the decoder");
        return 0;
    }
    default:
        return bh_err_sett(err, BH_EUNSUPP, "unsupported", NULL, "%s input cannot be decoded",
                           bh_srcfmt_name(d->f));
    }
}

static void dec_free(struct dec *d)
{
    if (d->f == BH_SRC_GZIP)
        inflateEnd(&d->z);
    else if (d->f == BH_SRC_ZSTD)
        ZSTD_freeDStream(d->zs);
    else if (d->f == BH_SRC_XZ)
        lzma_end(&d->x);
}

static int corrupt(struct bh_err *err, enum bh_srcfmt f, uint64_t at, const char *why)
{
    return bh_err_sett(err, BH_EINVAL, "corrupt", "source",
                       "the %s data does not decode (%s, near input byte %llu)", bh_srcfmt_name(f),
                       why, (unsigned long long)at);
}

/* Decode the input (in, nin; eof: no more follows) into out (cap bytes):
 * nout bytes produced, in and nin advanced; done when the data ended. */
static int dec_step(struct dec *d, const uint8_t **in, size_t *nin, bool eof, uint8_t *out,
                    size_t cap, size_t *nout, bool *done, uint64_t at, struct bh_err *err)
{
    *nout = 0;
    *done = false;
    if (d->f == BH_SRC_GZIP) {
        if (d->z_end) {
            if (!*nin) { /* the last member ended with the input */
                *done = eof;
                return 0;
            }
            if (inflateReset(&d->z) != Z_OK) /* another member follows */
                return corrupt(err, d->f, at, "cannot restart");
            d->z_end = false;
        }
        d->z.next_in = (Bytef *)*in;
        d->z.avail_in = (uInt)*nin;
        d->z.next_out = out;
        d->z.avail_out = (uInt)cap;
        int r = inflate(&d->z, Z_NO_FLUSH);
        *nout = cap - d->z.avail_out;
        *in += *nin - d->z.avail_in;
        *nin = d->z.avail_in;
        if (r == Z_STREAM_END) {
            d->z_end = true;
            *done = eof && !*nin;
            return 0;
        }
        if (r == Z_BUF_ERROR && eof && !*nin && !*nout)
            return corrupt(err, d->f, at, "the input ends inside a member: truncated?");
        if (r != Z_OK && r != Z_BUF_ERROR)
            return corrupt(err, d->f, at, d->z.msg ? d->z.msg : "bad data");
        return 0;
    }
    if (d->f == BH_SRC_ZSTD) {
        ZSTD_inBuffer ib = {*in, *nin, 0};
        ZSTD_outBuffer ob = {out, cap, 0};
        size_t r = ZSTD_decompressStream(d->zs, &ob, &ib);
        if (ZSTD_isError(r))
            return corrupt(err, d->f, at, ZSTD_getErrorName(r));
        /* r is 0 right when a frame ends; a later call with nothing to do
         * answers the next frame's header size, so only calls that did
         * something count */
        if (ib.pos || ob.pos)
            d->zs_rc = r;
        *nout = ob.pos;
        *in += ib.pos;
        *nin -= ib.pos;
        if (eof && !*nin && ob.pos < cap) {
            if (d->zs_rc != 0)
                return corrupt(err, d->f, at, "the input ends inside a frame: truncated?");
            *done = true;
        }
        return 0;
    }
    d->x.next_in = *in;
    d->x.avail_in = *nin;
    d->x.next_out = out;
    d->x.avail_out = cap;
    lzma_ret r = lzma_code(&d->x, eof ? LZMA_FINISH : LZMA_RUN);
    *nout = cap - d->x.avail_out;
    *in += *nin - d->x.avail_in;
    *nin = d->x.avail_in;
    if (r == LZMA_STREAM_END) {
        *done = true;
        return 0;
    }
    if (r == LZMA_OK)
        return 0;
    if (r == LZMA_BUF_ERROR && *nout)
        return 0;
    return corrupt(err, d->f, at,
                   r == LZMA_BUF_ERROR      ? "the input ends inside a stream: truncated?"
                   : r == LZMA_FORMAT_ERROR ? "not xz"
                   : r == LZMA_MEM_ERROR    ? "out of memory"
                                            : "bad data");
}

int bh_srcfmt_decode(enum bh_srcfmt f, int in, int out, enum bh_srcfmt *inner, uint64_t *out_len,
                     struct bh_err *err)
{
    struct dec d;
    memset(&d, 0, sizeof(d));
    d.f = f;
    if (inner)
        *inner = BH_SRC_PLAIN;
    int rc = dec_init(&d, err);
    if (rc)
        return rc;
    uint8_t *ibuf = malloc(IN_BUF), *obuf = malloc(OUT_BUF);
    struct sink s = {.fd = out};
    uint64_t consumed = 0;
    size_t nin = 0;
    const uint8_t *ip = ibuf;
    bool eof = false, done = false, sniffed = false;
    if (!ibuf || !obuf)
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    while (!rc && !done) {
        if (!nin && !eof) {
            ssize_t r = read(in, ibuf, IN_BUF);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                rc = bh_err_set(err, BH_EIO, "source", "reading the %s source: %s",
                                bh_srcfmt_name(f), strerror(errno));
                break;
            }
            ip = ibuf;
            nin = (size_t)r;
            eof = r == 0;
        }
        size_t before = nin, nout;
        rc = dec_step(&d, &ip, &nin, eof, obuf, OUT_BUF, &nout, &done, consumed, err);
        consumed += before - nin;
        if (!rc && nout)
            rc = sink_write(&s, obuf, nout, err);
        if (!rc && !sniffed && (s.nhead == sizeof(s.head) || done)) {
            sniffed = true;
            enum bh_srcfmt k = bh_srcfmt_sniff(s.head, s.nhead);
            if (inner)
                *inner = k;
            if (k != BH_SRC_PLAIN && k != BH_SRC_PARTCLONE)
                break; /* the caller refuses it: no need to go on */
        }
        /* no progress on a finished input: the data cannot end */
        if (!rc && !done && eof && !nin && !nout && before == 0)
            rc = corrupt(err, f, consumed, "the input ends early: truncated?");
    }
    if (!rc && ftruncate(out, (off_t)s.off) < 0)
        rc = bh_err_set(err, BH_EIO, NULL, "sizing the decoded image: %s", strerror(errno));
    if (out_len)
        *out_len = s.off;
    free(ibuf);
    free(obuf);
    dec_free(&d);
    return rc;
}
