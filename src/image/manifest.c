/*
 * manifest.c - the binary manifest, version 1 (see manifest.h and
 * docs/image-format.md).
 *
 *   header, 64 bytes                  extent record, 48 bytes
 *    0  8  magic "BHMANIF\0"           0  1  type: 0 chunk, 1 zero run
 *    8  2  format version (1)          1  7  reserved, zero
 *   10  1  kind                        8  8  length
 *   11  1  reserved, zero             16 32  SHA-256 id (zero run: zeros)
 *   12 16  fstype, NUL-padded
 *   28  4  chunk_avg
 *   32  8  logical size
 *   40  8  extent count
 *   48 16  reserved, zero
 *
 * All integers are little-endian.  The encoding is canonical: the parser
 * accepts exactly the byte strings bh_manifest_encode can produce, so a
 * manifest's id (the SHA-256 of its encoding) names its content.
 */
#include "manifest.h"

#include "cdc.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_LEN     64
#define REC_LEN     48
#define OFF_MAGIC   0
#define OFF_VERSION 8
#define OFF_KIND    10
#define OFF_RES1    11
#define OFF_FSTYPE  12
#define OFF_AVG     28
#define OFF_SIZE    32
#define OFF_COUNT   40
#define OFF_RES2    48
#define REC_TYPE    0
#define REC_RES     1
#define REC_LENGTH  8
#define REC_ID      16
#define TYPE_CHUNK  0
#define TYPE_ZERO   1
#define RES2_LEN    (HDR_LEN - OFF_RES2)
#define REC_RES_LEN (REC_LENGTH - REC_RES)
#define MAGIC       "BHMANIF" /* with its NUL: 8 bytes */
#define ERR_TYPE    "bad-manifest"

_Static_assert(sizeof(MAGIC) == 8, "magic is 8 bytes");
_Static_assert(OFF_FSTYPE + BH_MF_FSTYPE_MAX == OFF_AVG, "fstype field");

static const uint8_t zero_id[BH_SHA256_LEN];

static uint16_t get16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64le(const uint8_t *p)
{
    return (uint64_t)get32le(p) | (uint64_t)get32le(p + 4) << 32;
}

static void put16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* fstype: printable ASCII without spaces, at most BH_MF_FSTYPE_MAX - 1
 * bytes (the field always holds at least one NUL). */
static bool fstype_char_ok(uint8_t ch)
{
    return ch > 0x20 && ch < 0x7f;
}

static bool avg_ok(uint32_t avg)
{
    return avg == 0 || (avg >= BH_CDC_AVG_MIN && avg <= BH_CDC_AVG_MAX && (avg & (avg - 1)) == 0);
}

void bh_manifest_init(struct bh_manifest *m)
{
    memset(m, 0, sizeof(*m));
    m->kind = BH_IMG_PARTITION;
}

void bh_manifest_free(struct bh_manifest *m)
{
    free(m->ext);
    bh_manifest_init(m);
}

static int reserve(struct bh_manifest *m, size_t want)
{
    if (want <= m->cap)
        return 0;
    if (want > BH_MF_EXTENTS_MAX)
        return BH_ETOOBIG;
    size_t ncap = m->cap ? m->cap : 64;
    while (ncap < want)
        ncap *= 2;
    if (ncap > BH_MF_EXTENTS_MAX)
        ncap = BH_MF_EXTENTS_MAX;
    struct bh_extent *ne = realloc(m->ext, ncap * sizeof(*ne));
    if (!ne)
        return BH_ENOMEM;
    m->ext = ne;
    m->cap = ncap;
    return 0;
}

int bh_manifest_add(struct bh_manifest *m, bool zero, uint64_t len, const uint8_t *id)
{
    if (len == 0 ||
        (!zero && (len > BH_CDC_CHUNK_MAX || !id || !memcmp(id, zero_id, BH_SHA256_LEN))))
        return BH_EINVAL;
    if (len > UINT64_MAX - m->size)
        return BH_ETOOBIG;
    if (zero && m->n && m->ext[m->n - 1].zero) {
        m->ext[m->n - 1].len += len;
        m->size += len;
        return 0;
    }
    int rc = reserve(m, m->n + 1);
    if (rc)
        return rc;
    struct bh_extent *e = &m->ext[m->n++];
    e->offset = m->size;
    e->len = len;
    e->zero = zero;
    if (zero)
        memset(e->id, 0, sizeof(e->id));
    else
        memcpy(e->id, id, sizeof(e->id));
    m->size += len;
    return 0;
}

int bh_manifest_encode(const struct bh_manifest *m, struct bh_buf *out)
{
    /* refuse what the parser would refuse: every encoding parses back */
    if ((m->kind != BH_IMG_PARTITION && m->kind != BH_IMG_DISK) || !avg_ok(m->chunk_avg) ||
        m->n > BH_MF_EXTENTS_MAX)
        return BH_EINVAL;
    size_t fl = strnlen(m->fstype, BH_MF_FSTYPE_MAX);
    if (fl == BH_MF_FSTYPE_MAX)
        return BH_EINVAL;
    for (size_t i = 0; i < fl; i++)
        if (!fstype_char_ok((uint8_t)m->fstype[i]))
            return BH_EINVAL;
    uint64_t sum = 0;
    for (size_t i = 0; i < m->n; i++) {
        const struct bh_extent *e = &m->ext[i];
        if (e->len == 0 || e->offset != sum || e->len > UINT64_MAX - sum)
            return BH_EINVAL;
        if (e->zero ? (i && m->ext[i - 1].zero)
                    : (e->len > BH_CDC_CHUNK_MAX || !memcmp(e->id, zero_id, BH_SHA256_LEN)))
            return BH_EINVAL;
        sum += e->len;
    }
    if (sum != m->size)
        return BH_EINVAL;

    bh_buf_reset(out);
    uint8_t h[HDR_LEN] = {0};
    memcpy(h + OFF_MAGIC, MAGIC, sizeof(MAGIC));
    put16le(h + OFF_VERSION, BH_MF_VERSION);
    h[OFF_KIND] = (uint8_t)m->kind;
    memcpy(h + OFF_FSTYPE, m->fstype, fl);
    put32le(h + OFF_AVG, m->chunk_avg);
    put64le(h + OFF_SIZE, m->size);
    put64le(h + OFF_COUNT, m->n);
    int rc = bh_buf_add(out, h, sizeof(h));
    for (size_t i = 0; !rc && i < m->n; i++) {
        const struct bh_extent *e = &m->ext[i];
        uint8_t r[REC_LEN] = {0};
        r[REC_TYPE] = e->zero ? TYPE_ZERO : TYPE_CHUNK;
        put64le(r + REC_LENGTH, e->len);
        if (!e->zero)
            memcpy(r + REC_ID, e->id, BH_SHA256_LEN);
        rc = bh_buf_add(out, r, sizeof(r));
    }
    if (rc)
        bh_buf_reset(out);
    return rc;
}

/* An error at byte offset `off` of the encoding. */
__attribute__((format(printf, 4, 5))) static int bad(struct bh_err *err, int code, size_t off,
                                                     const char *fmt, ...)
{
    if (!err)
        return code;
    char field[32], msg[BH_ERR_MSG_MAX];
    snprintf(field, sizeof(field), "%zu", off);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return bh_err_sett(err, code, ERR_TYPE, field, "manifest: %s", msg);
}

static int parse_header(const uint8_t *d, size_t len, struct bh_manifest *m, uint64_t *count,
                        struct bh_err *err)
{
    if (len < HDR_LEN)
        return bad(err, BH_EINVAL, len, "truncated header: %zu bytes, a header is %d", len,
                   HDR_LEN);
    if (memcmp(d + OFF_MAGIC, MAGIC, sizeof(MAGIC)) != 0)
        return bad(err, BH_EINVAL, OFF_MAGIC, "bad magic (not a bootherd manifest)");
    uint16_t ver = get16le(d + OFF_VERSION);
    if (ver != BH_MF_VERSION)
        return bad(err, BH_EINVAL, OFF_VERSION, "format version %u is not supported (only %d)", ver,
                   BH_MF_VERSION);
    uint8_t kind = d[OFF_KIND];
    if (kind != BH_IMG_PARTITION && kind != BH_IMG_DISK)
        return bad(err, BH_EINVAL, OFF_KIND, "unknown image kind %u", kind);
    if (d[OFF_RES1])
        return bad(err, BH_EINVAL, OFF_RES1, "reserved byte is not zero");
    size_t fl = 0;
    while (fl < BH_MF_FSTYPE_MAX && d[OFF_FSTYPE + fl])
        fl++;
    if (fl == BH_MF_FSTYPE_MAX)
        return bad(err, BH_EINVAL, OFF_FSTYPE + fl - 1, "fstype is not NUL-terminated");
    for (size_t i = 0; i < fl; i++)
        if (!fstype_char_ok(d[OFF_FSTYPE + i]))
            return bad(err, BH_EINVAL, OFF_FSTYPE + i,
                       "fstype has a byte 0x%02x that is not printable ASCII", d[OFF_FSTYPE + i]);
    for (size_t i = fl; i < BH_MF_FSTYPE_MAX; i++)
        if (d[OFF_FSTYPE + i])
            return bad(err, BH_EINVAL, OFF_FSTYPE + i, "fstype padding is not all NUL");
    uint32_t avg = get32le(d + OFF_AVG);
    if (!avg_ok(avg))
        return bad(err, BH_EINVAL, OFF_AVG,
                   "chunk_avg %u is neither 0 nor a power of two between %u and %u", avg,
                   BH_CDC_AVG_MIN, BH_CDC_AVG_MAX);
    for (size_t i = 0; i < RES2_LEN; i++)
        if (d[OFF_RES2 + i])
            return bad(err, BH_EINVAL, OFF_RES2 + i, "reserved header byte is not zero");
    *count = get64le(d + OFF_COUNT);
    if (*count > BH_MF_EXTENTS_MAX)
        return bad(err, BH_ETOOBIG, OFF_COUNT, "%llu extents, more than the limit of %u",
                   (unsigned long long)*count, BH_MF_EXTENTS_MAX);
    /* the count against the body before anything is allocated */
    size_t body = len - HDR_LEN;
    if (body % REC_LEN || body / REC_LEN != *count)
        return bad(err, BH_EINVAL, OFF_COUNT,
                   "extent count %llu does not match the body: %zu bytes, %llu expected",
                   (unsigned long long)*count, body, (unsigned long long)(*count * REC_LEN));
    m->kind = kind == BH_IMG_DISK ? BH_IMG_DISK : BH_IMG_PARTITION;
    memcpy(m->fstype, d + OFF_FSTYPE, BH_MF_FSTYPE_MAX);
    m->chunk_avg = avg;
    m->size = get64le(d + OFF_SIZE);
    return 0;
}

static int parse_extent(const uint8_t *r, size_t off, struct bh_manifest *m, uint64_t *sum,
                        struct bh_err *err)
{
    uint8_t type = r[REC_TYPE];
    if (type != TYPE_CHUNK && type != TYPE_ZERO)
        return bad(err, BH_EINVAL, off + REC_TYPE, "unknown extent type %u", type);
    for (size_t i = 0; i < REC_RES_LEN; i++)
        if (r[REC_RES + i])
            return bad(err, BH_EINVAL, off + REC_RES + i, "reserved extent byte is not zero");
    uint64_t len = get64le(r + REC_LENGTH);
    const uint8_t *id = r + REC_ID;
    if (len == 0)
        return bad(err, BH_EINVAL, off + REC_LENGTH, "extent of length 0");
    if (type == TYPE_ZERO) {
        if (m->n && m->ext[m->n - 1].zero)
            return bad(err, BH_EINVAL, off + REC_TYPE,
                       "zero run follows a zero run (not merged: not canonical)");
        if (!all_zero(id, BH_SHA256_LEN))
            return bad(err, BH_EINVAL, off + REC_ID, "zero run with a non-zero id");
    } else {
        if (len > BH_CDC_CHUNK_MAX)
            return bad(err, BH_EINVAL, off + REC_LENGTH, "chunk of %llu bytes, over the %u limit",
                       (unsigned long long)len, BH_CDC_CHUNK_MAX);
        if (all_zero(id, BH_SHA256_LEN))
            return bad(err, BH_EINVAL, off + REC_ID, "chunk with an all-zero id");
    }
    if (len > m->size - *sum)
        return bad(err, BH_EINVAL, off + REC_LENGTH,
                   "extents run past the size (%llu bytes) of the image",
                   (unsigned long long)m->size);
    struct bh_extent *e = &m->ext[m->n++];
    e->offset = *sum;
    e->len = len;
    e->zero = type == TYPE_ZERO;
    memcpy(e->id, id, BH_SHA256_LEN);
    *sum += len;
    return 0;
}

int bh_manifest_parse(const uint8_t *data, size_t len, struct bh_manifest *m, struct bh_err *err)
{
    bh_manifest_init(m);
    uint64_t count = 0;
    int rc = parse_header(data, len, m, &count, err);
    if (rc)
        goto fail;
    if (count) {
        m->ext = malloc((size_t)count * sizeof(*m->ext));
        if (!m->ext) {
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            goto fail;
        }
        m->cap = (size_t)count;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < count; i++) {
        size_t off = HDR_LEN + i * REC_LEN;
        if ((rc = parse_extent(data + off, off, m, &sum, err)) != 0)
            goto fail;
    }
    if (sum != m->size) {
        rc = bad(err, BH_EINVAL, OFF_SIZE, "size %llu is not the sum of the extent lengths (%llu)",
                 (unsigned long long)m->size, (unsigned long long)sum);
        goto fail;
    }
    return 0;
fail:
    bh_manifest_free(m);
    return rc;
}

/* ---- SHA-256 and ids ---------------------------------------------------- */

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/* Fetch the implementation once: EVP_sha256() would look it up again on
 * every digest (OpenSSL 3 "implicit fetch"). */
static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void bh_sha256(const void *data, size_t len, uint8_t out[BH_SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_fetch);
    unsigned int n = 0;
    if (!EVP_Digest(data, len, out, &n, sha256_md ? sha256_md : EVP_sha256(), NULL) ||
        n != BH_SHA256_LEN)
        abort(); /* only out of memory; a wrong id would be far worse */
}

void bh_hex_id(const uint8_t id[BH_SHA256_LEN], char out[BH_SHA256_HEX])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < BH_SHA256_LEN; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[2 * BH_SHA256_LEN] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

bool bh_parse_id(const char *hex, uint8_t id[BH_SHA256_LEN])
{
    uint8_t tmp[BH_SHA256_LEN];
    for (size_t i = 0; i < BH_SHA256_LEN; i++) {
        int hi = hexval(hex[2 * i]);
        if (hi < 0)
            return false;
        int lo = hexval(hex[2 * i + 1]);
        if (lo < 0)
            return false;
        tmp[i] = (uint8_t)(hi << 4 | lo);
    }
    if (hex[2 * BH_SHA256_LEN] != '\0')
        return false;
    memcpy(id, tmp, sizeof(tmp));
    return true;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, BH_SHA256_LEN);
}

int bh_manifest_chunk_set(const struct bh_manifest *m, uint8_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        k += !m->ext[i].zero;
    if (!k)
        return 0;
    uint8_t *v = malloc(k * BH_SHA256_LEN);
    if (!v)
        return BH_ENOMEM;
    size_t j = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!m->ext[i].zero)
            memcpy(v + BH_SHA256_LEN * j++, m->ext[i].id, BH_SHA256_LEN);
    qsort(v, k, BH_SHA256_LEN, cmp_id);
    size_t d = 0;
    for (size_t i = 0; i < k; i++)
        if (!d || memcmp(v + BH_SHA256_LEN * (d - 1), v + BH_SHA256_LEN * i, BH_SHA256_LEN))
            memmove(v + BH_SHA256_LEN * d++, v + BH_SHA256_LEN * i, BH_SHA256_LEN);
    *ids = v;
    *n = d;
    return 0;
}
