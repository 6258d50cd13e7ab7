/*
 * test_image.c - unit tests for src/image: content-defined chunking, the
 * manifest format (round trip, canonical form, malformed input), the chunk
 * store (put, read, verify, corruption, walk, manifests, a full disk) and
 * the ingest pipeline with export (bit-exact round trips, sparse files,
 * dedup, changed sources).  Real files in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testfiles.h"

#include "image/cdc.h"
#include "image/chunkstore.h"
#include "image/ingest.h"
#include "image/manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define KiB        1024u
#define MiB        (1024u * 1024)
#define AVG        (16 * KiB) /* the smallest average: many chunks in small files */

static char g_dir[] = "/tmp/bh-test-image-XXXXXX";

static int setup_dir(void **state)
{
    (void)state;
    if (!mkdtemp(g_dir))
        return -1;
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

#define path(name) dir_path(g_dir, name)

/* ---- cdc ------------------------------------------------------------------ */

/* Cut all of d into chunks: lengths into len[], returns the count. */
static size_t cut_all(const struct bh_cdc *c, const uint8_t *d, size_t n, size_t *len, size_t max)
{
    size_t k = 0;
    for (size_t off = 0; off < n;) {
        size_t cut = bh_cdc_cut(c, d + off, n - off, true);
        assert_true(cut > 0 && cut <= n - off);
        assert_true(k < max);
        len[k++] = cut;
        off += cut;
    }
    return k;
}

static void test_cdc_init(void **state)
{
    (void)state;
    struct bh_cdc c;
    struct bh_err err = {0};
    assert_int_equal(bh_cdc_init(&c, 256 * KiB, &err), 0);
    assert_int_equal(c.min, 64 * KiB);
    assert_int_equal(c.avg, 256 * KiB);
    assert_int_equal(c.max, 1024 * KiB);
    /* normalised level 2: 18 + 2 bits before avg, 18 - 2 after */
    assert_int_equal(__builtin_popcountll(c.mask_s), 20);
    assert_int_equal(__builtin_popcountll(c.mask_l), 16);
    assert_int_equal(bh_cdc_init(&c, BH_CDC_AVG_MIN, NULL), 0);
    assert_int_equal(bh_cdc_init(&c, BH_CDC_AVG_MAX, NULL), 0);
    assert_int_equal(c.max, BH_CDC_CHUNK_MAX);
    static const uint32_t bad[] = {0, 1, 8 * KiB, 100000, 3 * 64 * KiB, 8 * MiB};
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        assert_int_equal(bh_cdc_init(&c, bad[i], &err), BH_EINVAL);
        assert_string_equal(err.field, "chunk_avg");
    }
}

static void test_cdc_deterministic_and_limits(void **state)
{
    (void)state;
    struct bh_cdc c;
    assert_int_equal(bh_cdc_init(&c, AVG, NULL), 0);
    size_t n = 4 * MiB;
    uint8_t *d = malloc(n);
    assert_non_null(d);
    fill_random(d, n, 1);
    size_t a[2048], b[2048];
    size_t na = cut_all(&c, d, n, a, N_ELEMS(a));
    size_t nb = cut_all(&c, d, n, b, N_ELEMS(b));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof(a[0]));
    /* every chunk but the last within (min, max]; the mean near avg */
    for (size_t i = 0; i + 1 < na; i++)
        assert_true(a[i] > c.min && a[i] <= c.max);
    double mean = (double)n / (double)na;
    assert_true(mean > 0.9 * AVG && mean < 1.5 * AVG);

    /* a cut does not depend on how much follows: fed in pieces, the same */
    size_t off = 0, k = 0;
    while (off < n) {
        size_t have = 0, cut = 0;
        while (!cut) {
            have += 3000;
            if (have > n - off)
                have = n - off;
            cut = bh_cdc_cut(&c, d + off, have, have == n - off);
        }
        assert_int_equal(cut, a[k]);
        k++;
        off += cut;
    }
    assert_int_equal(k, na);

    /* constant bytes never match the hash (or always do): equal chunks */
    memset(d, 0x5a, n);
    nb = cut_all(&c, d, n, b, N_ELEMS(b));
    for (size_t i = 0; i + 1 < nb; i++)
        assert_int_equal(b[i], b[0]);
    assert_true(b[0] > c.min && b[0] <= c.max);
    free(d);
}

static void test_cdc_eof(void **state)
{
    (void)state;
    struct bh_cdc c;
    assert_int_equal(bh_cdc_init(&c, AVG, NULL), 0);
    uint8_t d[4 * AVG];
    fill_random(d, sizeof(d), 2);
    assert_int_equal(bh_cdc_cut(&c, d, 0, false), 0);
    assert_int_equal(bh_cdc_cut(&c, d, 0, true), 0);
    assert_int_equal(bh_cdc_cut(&c, d, 10, false), 0);
    assert_int_equal(bh_cdc_cut(&c, d, 10, true), 10);
    assert_int_equal(bh_cdc_cut(&c, d, c.min, false), 0);
    assert_int_equal(bh_cdc_cut(&c, d, c.min, true), c.min);
    /* the first cut of d, and what is said with fewer bytes */
    size_t cut = bh_cdc_cut(&c, d, sizeof(d), false);
    assert_true(cut > c.min && cut <= c.max);
    assert_int_equal(bh_cdc_cut(&c, d, cut - 1, false), 0);
    assert_int_equal(bh_cdc_cut(&c, d, cut - 1, true), cut - 1);
    assert_int_equal(bh_cdc_cut(&c, d, cut, false), cut);
    /* max is forced when nothing matches: constant data without a match */
    uint8_t *z = calloc(1, c.max + 10);
    assert_non_null(z);
    size_t zc = bh_cdc_cut(&c, z, c.max + 10, false);
    assert_true(zc == c.max || zc <= c.min + 64); /* h settles after 64 bytes */
    free(z);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Chunk fingerprints (first 8 bytes of SHA-256), sorted. */
static size_t fingerprints(const struct bh_cdc *c, const uint8_t *d, size_t n, uint64_t *fp)
{
    size_t k = 0;
    for (size_t off = 0; off < n;) {
        size_t cut = bh_cdc_cut(c, d + off, n - off, true);
        uint8_t id[BH_SHA256_LEN];
        bh_sha256(d + off, cut, id);
        memcpy(&fp[k++], id, 8);
        off += cut;
    }
    qsort(fp, k, sizeof(*fp), cmp_u64);
    return k;
}

static void test_cdc_shift_resistance(void **state)
{
    (void)state;
    struct bh_cdc c;
    assert_int_equal(bh_cdc_init(&c, AVG, NULL), 0);
    size_t n = 4 * MiB, ins = 777;
    uint8_t *d = malloc(n + ins);
    assert_non_null(d);
    fill_random(d + ins, n, 3);
    fill_random(d, ins, 4);
    static uint64_t fa[4096], fb[4096];
    size_t na = fingerprints(&c, d + ins, n, fa);
    size_t nb = fingerprints(&c, d, n + ins, fb);
    /* bytes inserted at the front change the first chunk or two only */
    size_t common = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        if (fa[i] == fb[j]) {
            common++;
            i++;
            j++;
        } else if (fa[i] < fb[j]) {
            i++;
        } else {
            j++;
        }
    }
    assert_true(common + 2 >= na);
    /* and a change in the middle touches only the chunks around it */
    d[ins + n / 2] ^= 0xff;
    nb = fingerprints(&c, d + ins, n, fb);
    common = 0;
    for (size_t i = 0, j = 0; i < na && j < nb;) {
        if (fa[i] == fb[j]) {
            common++;
            i++;
            j++;
        } else if (fa[i] < fb[j]) {
            i++;
        } else {
            j++;
        }
    }
    assert_true(common + 2 >= na);
    free(d);
}

/* ---- manifest ------------------------------------------------------------- */

static void make_id(uint8_t id[BH_SHA256_LEN], unsigned k)
{
    char s[32];
    snprintf(s, sizeof(s), "chunk-%u", k);
    bh_sha256(s, strlen(s), id);
}

static void sample_manifest(struct bh_manifest *m)
{
    bh_manifest_init(m);
    m->kind = BH_IMG_PARTITION;
    snprintf(m->fstype, sizeof(m->fstype), "ext4");
    m->chunk_avg = 256 * KiB;
    uint8_t id[BH_SHA256_LEN];
    make_id(id, 1);
    assert_int_equal(bh_manifest_add(m, false, 300000, id), 0);
    assert_int_equal(bh_manifest_add(m, true, 65536, NULL), 0);
    assert_int_equal(bh_manifest_add(m, true, 4096, NULL), 0); /* merged */
    make_id(id, 2);
    assert_int_equal(bh_manifest_add(m, false, 123, id), 0);
    make_id(id, 1);
    assert_int_equal(bh_manifest_add(m, false, 300000, id), 0);
}

static void test_manifest_round_trip(void **state)
{
    (void)state;
    struct bh_manifest m, p;
    sample_manifest(&m);
    assert_int_equal(m.n, 4);
    assert_true(m.ext[1].zero);
    assert_int_equal(m.ext[1].len, 65536 + 4096);
    assert_int_equal(m.ext[2].offset, 300000 + 65536 + 4096);
    assert_int_equal(m.size, 300000 + 65536 + 4096 + 123 + 300000);

    struct bh_buf enc, enc2;
    bh_buf_init(&enc, 1 * MiB);
    bh_buf_init(&enc2, 1 * MiB);
    assert_int_equal(bh_manifest_encode(&m, &enc), 0);
    assert_int_equal(enc.len, 64 + 4 * 48);
    struct bh_err err = {0};
    assert_int_equal(bh_manifest_parse((const uint8_t *)enc.p, enc.len, &p, &err), 0);
    assert_int_equal(p.kind, BH_IMG_PARTITION);
    assert_string_equal(p.fstype, "ext4");
    assert_int_equal(p.chunk_avg, 256 * KiB);
    assert_int_equal(p.size, m.size);
    assert_int_equal(p.n, m.n);
    for (size_t i = 0; i < m.n; i++) {
        assert_int_equal(p.ext[i].offset, m.ext[i].offset);
        assert_int_equal(p.ext[i].len, m.ext[i].len);
        assert_int_equal(p.ext[i].zero, m.ext[i].zero);
        assert_memory_equal(p.ext[i].id, m.ext[i].id, BH_SHA256_LEN);
    }
    assert_int_equal(bh_manifest_encode(&p, &enc2), 0);
    assert_int_equal(enc2.len, enc.len);
    assert_memory_equal(enc2.p, enc.p, enc.len);

    /* distinct ids, sorted */
    uint8_t *ids;
    size_t n;
    assert_int_equal(bh_manifest_chunk_set(&m, &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_true(memcmp(ids, ids + BH_SHA256_LEN, BH_SHA256_LEN) < 0);
    free(ids);

    /* an empty disk image */
    bh_manifest_free(&p);
    bh_manifest_free(&m);
    m.kind = BH_IMG_DISK;
    assert_int_equal(bh_manifest_encode(&m, &enc), 0);
    assert_int_equal(enc.len, 64);
    assert_int_equal(bh_manifest_parse((const uint8_t *)enc.p, enc.len, &p, &err), 0);
    assert_int_equal(p.kind, BH_IMG_DISK);
    assert_int_equal(p.n, 0);
    assert_int_equal(bh_manifest_chunk_set(&p, &ids, &n), 0);
    assert_int_equal(n, 0);
    free(ids);
    bh_manifest_free(&p);
    bh_buf_free(&enc);
    bh_buf_free(&enc2);
}

static void test_manifest_add_and_encode_refuse(void **state)
{
    (void)state;
    struct bh_manifest m;
    uint8_t id[BH_SHA256_LEN], zero[BH_SHA256_LEN] = {0};
    make_id(id, 7);
    bh_manifest_init(&m);
    assert_int_equal(bh_manifest_add(&m, false, 0, id), BH_EINVAL);
    assert_int_equal(bh_manifest_add(&m, true, 0, NULL), BH_EINVAL);
    assert_int_equal(bh_manifest_add(&m, false, BH_CDC_CHUNK_MAX + 1ull, id), BH_EINVAL);
    assert_int_equal(bh_manifest_add(&m, false, 10, zero), BH_EINVAL);
    assert_int_equal(bh_manifest_add(&m, false, 10, NULL), BH_EINVAL);
    assert_int_equal(bh_manifest_add(&m, false, BH_CDC_CHUNK_MAX, id), 0);
    assert_int_equal(bh_manifest_add(&m, true, UINT64_MAX, NULL), BH_ETOOBIG);
    assert_int_equal(m.n, 1);

    /* encode refuses what parse would refuse */
    struct bh_buf enc;
    bh_buf_init(&enc, 1 * MiB);
    snprintf(m.fstype, sizeof(m.fstype), "ext 4");
    assert_int_equal(bh_manifest_encode(&m, &enc), BH_EINVAL);
    snprintf(m.fstype, sizeof(m.fstype), "vfat");
    m.chunk_avg = 1000;
    assert_int_equal(bh_manifest_encode(&m, &enc), BH_EINVAL);
    m.chunk_avg = 0;
    m.size++;
    assert_int_equal(bh_manifest_encode(&m, &enc), BH_EINVAL);
    m.size--;
    assert_int_equal(bh_manifest_encode(&m, &enc), 0);
    bh_buf_free(&enc);
    bh_buf_init(&enc, 100); /* the buffer's own limit */
    assert_int_equal(bh_manifest_encode(&m, &enc), BH_ETOOBIG);
    bh_buf_free(&enc);
    bh_manifest_free(&m);
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_manifest_malformed(void **state)
{
    (void)state;
    struct bh_manifest m;
    sample_manifest(&m);
    struct bh_buf enc;
    bh_buf_init(&enc, 1 * MiB);
    assert_int_equal(bh_manifest_encode(&m, &enc), 0);
    const size_t good_len = enc.len; /* 64 + 4 * 48: chunk, zero, chunk, chunk */
    bh_manifest_free(&m);

    static const struct {
        size_t at;   /* byte to change (SIZE_MAX: none) */
        uint8_t val; /* new value */
        long delta;  /* change of the length */
        int code;    /* expected code */
        const char *field;
        const char *msg;
    } cases[] = {
        {SIZE_MAX, 0, -(long)(64 + 4 * 48) + 10, BH_EINVAL, "10", "truncated header"},
        {0, 'X', 0, BH_EINVAL, "0", "bad magic"},
        {7, 1, 0, BH_EINVAL, "0", "bad magic"},
        {8, 2, 0, BH_EINVAL, "8", "format version 2 is not supported"},
        {9, 1, 0, BH_EINVAL, "8", "format version 257"},
        {10, 2, 0, BH_EINVAL, "10", "unknown image kind 2"},
        {11, 1, 0, BH_EINVAL, "11", "reserved byte"},
        {12, 0x01, 0, BH_EINVAL, "12", "not printable"},
        {13, ' ', 0, BH_EINVAL, "13", "not printable"},
        {14, 0x80, 0, BH_EINVAL, "14", "not printable"},
        {20, 'x', 0, BH_EINVAL, "20", "padding is not all NUL"},
        {27, 'x', 0, BH_EINVAL, "27", "padding is not all NUL"},
        {28, 1, 0, BH_EINVAL, "28", "chunk_avg"},
        {31, 1, 0, BH_EINVAL, "28", "chunk_avg"},
        {35, 1, 0, BH_EINVAL, "32", "not the sum of the extent lengths"},
        {41, 1, 0, BH_EINVAL, "40", "does not match the body"},
        {43, 4, 0, BH_ETOOBIG, "40", "more than the limit"},
        {48, 1, 0, BH_EINVAL, "48", "reserved header byte"},
        {63, 1, 0, BH_EINVAL, "63", "reserved header byte"},
        {SIZE_MAX, 0, -1, BH_EINVAL, "40", "does not match the body"},
        {SIZE_MAX, 0, -48, BH_EINVAL, "40", "does not match the body"},
        {SIZE_MAX, 0, 48, BH_EINVAL, "40", "does not match the body"},
        {64, 2, 0, BH_EINVAL, "64", "unknown extent type 2"},
        {65, 1, 0, BH_EINVAL, "65", "reserved extent byte"},
        {71, 1, 0, BH_EINVAL, "71", "reserved extent byte"},
        {64 + 48 + 16, 1, 0, BH_EINVAL, "128", "zero run with a non-zero id"},
        {64 + 48 * 2, 1, 0, BH_EINVAL, "160", "zero run follows a zero run"},
        {64 + 48 * 2 + 11, 1, 0, BH_EINVAL, "168", "over the"},
        {64 + 48 + 15, 0x80, 0, BH_EINVAL, "120", "run past the size"},
    };
    uint8_t *buf = malloc(good_len + 64);
    assert_non_null(buf);
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        memset(buf, 0, good_len + 64);
        memcpy(buf, enc.p, good_len);
        if (cases[i].at != SIZE_MAX)
            buf[cases[i].at] = cases[i].val;
        size_t len = (size_t)((long)good_len + cases[i].delta);
        struct bh_err err = {0};
        int rc = bh_manifest_parse(buf, len, &m, &err);
        if (rc != cases[i].code || strcmp(err.field, cases[i].field) ||
            !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d field '%s' msg '%s'", i, rc, err.field, err.msg);
        assert_string_equal(err.type, "bad-manifest");
        assert_int_equal(m.n, 0);
        assert_null(m.ext);
    }

    /* a chunk with an all-zero id */
    memcpy(buf, enc.p, good_len);
    memset(buf + 64 + 16, 0, BH_SHA256_LEN);
    struct bh_err err = {0};
    assert_int_equal(bh_manifest_parse(buf, good_len, &m, &err), BH_EINVAL);
    assert_string_equal(err.field, "80");
    assert_non_null(strstr(err.msg, "all-zero id"));
    /* length 0 */
    memcpy(buf, enc.p, good_len);
    put_le64(buf + 64 + 48 * 2 + 8, 0);
    assert_int_equal(bh_manifest_parse(buf, good_len, &m, &err), BH_EINVAL);
    assert_string_equal(err.field, "168");
    assert_non_null(strstr(err.msg, "length 0"));
    /* a huge count must not allocate: rejected against the body first */
    memcpy(buf, enc.p, good_len);
    put_le64(buf + 40, BH_MF_EXTENTS_MAX);
    assert_int_equal(bh_manifest_parse(buf, good_len, &m, &err), BH_EINVAL);
    assert_string_equal(err.field, "40");
    /* fstype of 15 characters is the longest */
    memcpy(buf, enc.p, good_len);
    memset(buf + 12, 'a', 15);
    assert_int_equal(bh_manifest_parse(buf, good_len, &m, &err), 0);
    assert_int_equal(strlen(m.fstype), 15);
    bh_manifest_free(&m);
    memset(buf + 12, 'a', 16);
    assert_int_equal(bh_manifest_parse(buf, good_len, &m, &err), BH_EINVAL);
    assert_string_equal(err.field, "27");
    assert_non_null(strstr(err.msg, "not NUL-terminated"));
    /* a size overflowing the sum is caught at the extent that passes it */
    memcpy(buf, enc.p, good_len);
    put_le64(buf + 32, 100);
    assert_int_equal(bh_manifest_parse(buf, good_len, &m, &err), BH_EINVAL);
    assert_string_equal(err.field, "72");
    free(buf);
    bh_buf_free(&enc);
}

static void test_sha_and_hex(void **state)
{
    (void)state;
    uint8_t id[BH_SHA256_LEN], back[BH_SHA256_LEN];
    char hex[BH_SHA256_HEX];
    bh_sha256("abc", 3, id); /* FIPS 180-2, appendix B.1 */
    bh_hex_id(id, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_true(bh_parse_id(hex, back));
    assert_memory_equal(back, id, BH_SHA256_LEN);
    assert_false(
        bh_parse_id("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", back));
    assert_false(bh_parse_id("ba7816bf", back));
    assert_false(bh_parse_id("", back));
    assert_false(
        bh_parse_id("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0", back));
    assert_false(
        bh_parse_id("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a ", back));
    assert_false(
        bh_parse_id("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag", back));
}

/* ---- chunk store ---------------------------------------------------------- */

/* A zstd frame of d (malloc'd). */
static uint8_t *frame(const void *d, size_t n, size_t *zlen)
{
    size_t cap = ZSTD_compressBound(n);
    uint8_t *z = malloc(cap);
    assert_non_null(z);
    *zlen = ZSTD_compress(z, cap, d, n, 3);
    assert_false(ZSTD_isError(*zlen));
    return z;
}

static int count_chunk(void *ud, const uint8_t id[BH_SHA256_LEN], uint64_t zsize, int64_t mtime_ms)
{
    (void)id;
    assert_true(zsize > 0);
    assert_true(mtime_ms > 1000000000000);
    (*(size_t *)ud)++;
    return 0;
}

static int stop_walk(void *ud, const uint8_t id[BH_SHA256_LEN], uint64_t zsize, int64_t mtime_ms)
{
    (void)ud;
    (void)id;
    (void)zsize;
    (void)mtime_ms;
    return 42;
}

static size_t count_chunks(struct bh_chunkstore *cs)
{
    size_t n = 0;
    assert_int_equal(bh_cs_walk(cs, count_chunk, &n, NULL), 0);
    return n;
}

static size_t count_dir(const char *p)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "ls -A %s | wc -l", p);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    unsigned long n = 0;
    assert_int_equal(fscanf(f, "%lu", &n), 1);
    pclose(f);
    return n;
}

static void test_cs_chunks(void **state)
{
    (void)state;
    struct bh_chunkstore *cs;
    struct bh_err err = {0};
    assert_int_equal(bh_cs_open(path("cs1"), &cs, &err), 0);
    uint8_t data[100000], id[BH_SHA256_LEN], other[BH_SHA256_LEN];
    fill_random(data, sizeof(data), 5);
    memset(data + 50000, 0, 30000);
    bh_sha256(data, sizeof(data), id);
    make_id(other, 9);
    assert_false(bh_cs_has(cs, id));

    bool added = true;
    assert_int_equal(bh_cs_put_raw(cs, id, data, sizeof(data), 3, &added, &err), 0);
    assert_true(added);
    assert_true(bh_cs_has(cs, id));
    assert_int_equal(bh_cs_put_raw(cs, id, data, sizeof(data), 3, &added, &err), 0);
    assert_false(added);

    struct bh_buf out;
    bh_buf_init(&out, BH_CDC_CHUNK_MAX);
    assert_int_equal(bh_cs_read(cs, id, &out, &err), 0);
    assert_int_equal(out.len, sizeof(data));
    assert_memory_equal(out.p, data, sizeof(data));
    uint64_t zsize = 0;
    assert_int_equal(bh_cs_verify(cs, id, &zsize, &err), 0);
    assert_true(zsize > 0 && zsize < sizeof(data));
    int fd;
    uint64_t zs2;
    assert_int_equal(bh_cs_open_chunk(cs, id, &fd, &zs2, &err), 0);
    assert_int_equal(zs2, zsize);
    close(fd);
    /* a small buffer limit is honoured */
    struct bh_buf small;
    bh_buf_init(&small, 1000);
    assert_int_equal(bh_cs_read(cs, id, &small, &err), BH_ETOOBIG);
    bh_buf_free(&small);

    /* absent */
    assert_int_equal(bh_cs_read(cs, other, &out, &err), BH_ENOTFOUND);
    assert_int_equal(bh_cs_verify(cs, other, NULL, &err), BH_ENOTFOUND);
    assert_int_equal(bh_cs_open_chunk(cs, other, &fd, &zs2, &err), BH_ENOTFOUND);

    /* put with verify: a good frame, a frame of other content, not zstd,
     * no content size, content over the limit, trailing bytes */
    size_t zlen;
    uint8_t *z = frame(data, sizeof(data), &zlen);
    uint8_t id2[BH_SHA256_LEN];
    data[0] ^= 1;
    bh_sha256(data, sizeof(data), id2);
    uint8_t *z2 = frame(data, sizeof(data), &zlen);
    assert_int_equal(bh_cs_put(cs, id2, z2, zlen, true, &added, &err), 0);
    assert_true(added);
    assert_int_equal(bh_cs_put(cs, other, z2, zlen, true, &added, &err), BH_EINVAL);
    assert_string_equal(err.type, "hash-mismatch");
    assert_false(bh_cs_has(cs, other));
    assert_int_equal(bh_cs_put(cs, other, "hello world", 11, true, &added, &err), BH_EINVAL);
    assert_string_equal(err.type, "bad-chunk");
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
    uint8_t zb[200000];
    size_t nl = ZSTD_compress2(cc, zb, sizeof(zb), data, sizeof(data));
    assert_false(ZSTD_isError(nl));
    assert_int_equal(bh_cs_put(cs, id2, zb, nl, true, &added, &err), BH_EINVAL);
    assert_string_equal(err.type, "bad-chunk");
    assert_non_null(strstr(err.msg, "content size"));
    ZSTD_freeCCtx(cc);
    uint8_t *big = calloc(1, BH_CDC_CHUNK_MAX + 1);
    assert_non_null(big);
    size_t blen;
    uint8_t *zbig = frame(big, BH_CDC_CHUNK_MAX + 1, &blen);
    assert_int_equal(bh_cs_put(cs, other, zbig, blen, true, &added, &err), BH_EINVAL);
    assert_string_equal(err.type, "bad-chunk");
    free(zbig);
    free(big);
    memcpy(zb, z2, zlen);
    zb[zlen] = 0;
    assert_int_equal(bh_cs_put(cs, id2, zb, zlen + 1, true, &added, &err), BH_EINVAL);
    assert_string_equal(err.type, "bad-chunk");
    assert_int_equal(bh_cs_put(cs, other, "", 0, true, &added, &err), BH_EINVAL);
    /* without verify the store takes the caller's word */
    assert_int_equal(bh_cs_put(cs, other, z2, zlen, false, &added, &err), 0);
    assert_true(added);
    /* ... and read and verify find out */
    assert_int_equal(bh_cs_read(cs, other, &out, &err), BH_EIO);
    assert_string_equal(err.type, "corrupt-chunk");
    assert_int_equal(out.len, 0);
    assert_int_equal(bh_cs_verify(cs, other, NULL, &err), BH_EIO);
    assert_string_equal(err.type, "corrupt-chunk");

    /* damage on disk: a flipped byte, then a truncated file */
    char hex[BH_SHA256_HEX], rel[200];
    bh_hex_id(id, hex);
    snprintf(rel, sizeof(rel), "cs1/chunks/%.2s/%s", hex, hex);
    size_t flen;
    uint8_t *f = read_file(path(rel), &flen);
    f[flen / 2] ^= 0x55;
    write_file(path(rel), f, flen);
    assert_int_equal(bh_cs_read(cs, id, &out, &err), BH_EIO);
    assert_string_equal(err.type, "corrupt-chunk");
    assert_int_equal(bh_cs_verify(cs, id, NULL, &err), BH_EIO);
    f[flen / 2] ^= 0x55;
    write_file(path(rel), f, flen - 10);
    assert_int_equal(bh_cs_verify(cs, id, NULL, &err), BH_EIO);
    assert_string_equal(err.type, "corrupt-chunk");
    write_file(path(rel), f, flen);
    assert_int_equal(bh_cs_verify(cs, id, NULL, &err), 0);
    free(f);

    /* walk */
    assert_int_equal(count_chunks(cs), 3);
    assert_int_equal(bh_cs_walk(cs, stop_walk, NULL, &err), 42);

    /* remove */
    assert_int_equal(bh_cs_remove(cs, other, &err), 0);
    assert_false(bh_cs_has(cs, other));
    assert_int_equal(bh_cs_remove(cs, other, &err), BH_ENOTFOUND);
    assert_int_equal(count_chunks(cs), 2);
    assert_int_equal(count_dir(path("cs1/tmp")), 0);

    free(z);
    free(z2);
    bh_buf_free(&out);
    bh_cs_close(cs);
}

static void test_cs_manifests(void **state)
{
    (void)state;
    struct bh_chunkstore *cs;
    struct bh_err err = {0};
    assert_int_equal(bh_cs_open(path("cs2"), &cs, &err), 0);
    struct bh_manifest m, back;
    sample_manifest(&m);
    struct bh_buf enc, raw;
    bh_buf_init(&enc, 1 * MiB);
    bh_buf_init(&raw, 1 * MiB);
    assert_int_equal(bh_manifest_encode(&m, &enc), 0);
    uint8_t id[BH_SHA256_LEN], want[BH_SHA256_LEN];
    bh_sha256(enc.p, enc.len, want);
    assert_int_equal(bh_cs_put_manifest(cs, enc.p, enc.len, id, &err), 0);
    assert_memory_equal(id, want, BH_SHA256_LEN);
    assert_int_equal(bh_cs_put_manifest(cs, enc.p, enc.len, NULL, &err), 0); /* again */
    assert_int_equal(bh_cs_get_manifest_raw(cs, id, &raw, &err), 0);
    assert_int_equal(raw.len, enc.len);
    assert_memory_equal(raw.p, enc.p, enc.len);
    assert_int_equal(bh_cs_get_manifest(cs, id, &back, &err), 0);
    assert_int_equal(back.n, m.n);
    assert_int_equal(back.size, m.size);
    bh_manifest_free(&back);
    /* garbage is not stored */
    assert_int_equal(bh_cs_put_manifest(cs, "nonsense", 8, NULL, &err), BH_EINVAL);
    /* damaged on disk */
    char hex[BH_SHA256_HEX], rel[200];
    bh_hex_id(id, hex);
    snprintf(rel, sizeof(rel), "cs2/manifests/%s", hex);
    uint8_t *f = (uint8_t *)raw.p;
    f[70] ^= 1;
    write_file(path(rel), f, raw.len);
    assert_int_equal(bh_cs_get_manifest(cs, id, &back, &err), BH_EIO);
    assert_string_equal(err.type, "corrupt-manifest");
    assert_int_equal(bh_cs_get_manifest_raw(cs, id, &raw, &err), BH_EIO);
    assert_string_equal(err.type, "corrupt-manifest");
    /* removed */
    assert_int_equal(bh_cs_remove_manifest(cs, id, &err), 0);
    assert_int_equal(bh_cs_get_manifest(cs, id, &back, &err), BH_ENOTFOUND);
    assert_int_equal(bh_cs_remove_manifest(cs, id, &err), BH_ENOTFOUND);
    bh_manifest_free(&m);
    bh_buf_free(&enc);
    bh_buf_free(&raw);
    bh_cs_close(cs);
}

static void test_cs_tmp_cleared(void **state)
{
    (void)state;
    struct bh_chunkstore *cs, *cs2;
    assert_int_equal(bh_cs_open(path("cs3"), &cs, NULL), 0);
    write_file(path("cs3/tmp/left-over"), (const uint8_t *)"x", 1);
    /* a second open while the first is open leaves tmp alone */
    assert_int_equal(bh_cs_open(path("cs3"), &cs2, NULL), 0);
    assert_int_equal(count_dir(path("cs3/tmp")), 1);
    bh_cs_close(cs2);
    bh_cs_close(cs);
    /* the first open clears it */
    assert_int_equal(bh_cs_open(path("cs3"), &cs, NULL), 0);
    assert_int_equal(count_dir(path("cs3/tmp")), 0);
    bh_cs_close(cs);
    /* a root that cannot be created */
    struct bh_err err = {0};
    assert_int_equal(bh_cs_open("/proc/bh-no-such/store", &cs, &err), BH_EIO);
}

struct racer {
    struct bh_chunkstore *cs;
    const uint8_t *data;
    size_t len;
    const uint8_t *id;
    bool added;
    int rc;
};

static void *race_put(void *arg)
{
    struct racer *r = arg;
    r->rc = bh_cs_put_raw(r->cs, r->id, r->data, r->len, 1, &r->added, NULL);
    return NULL;
}

static void test_cs_concurrent_puts(void **state)
{
    (void)state;
    struct bh_chunkstore *cs;
    assert_int_equal(bh_cs_open(path("cs5"), &cs, NULL), 0);
    static uint8_t data[8][50000];
    uint8_t ids[8][BH_SHA256_LEN];
    for (int k = 0; k < 8; k++) {
        fill_random(data[k], sizeof(data[k]), 100 + (uint64_t)k);
        bh_sha256(data[k], sizeof(data[k]), ids[k]);
    }
    /* 16 threads, two per chunk: every chunk stored once, added once */
    struct racer r[16];
    pthread_t t[16];
    for (int i = 0; i < 16; i++) {
        r[i] = (struct racer){cs, data[i % 8], sizeof(data[0]), ids[i % 8], false, -100};
        assert_int_equal(pthread_create(&t[i], NULL, race_put, &r[i]), 0);
    }
    int added = 0;
    for (int i = 0; i < 16; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].rc, 0);
        added += r[i].added;
    }
    assert_int_equal(added, 8);
    assert_int_equal(count_chunks(cs), 8);
    assert_int_equal(count_dir(path("cs5/tmp")), 0);
    struct bh_buf out;
    bh_buf_init(&out, BH_CDC_CHUNK_MAX);
    for (int k = 0; k < 8; k++) {
        assert_int_equal(bh_cs_read(cs, ids[k], &out, NULL), 0);
        assert_memory_equal(out.p, data[k], sizeof(data[k]));
    }
    bh_buf_free(&out);
    bh_cs_close(cs);
}

/* In a child with its own mount namespace: a tiny tmpfs, filled up. */
static int disk_full_child(void)
{
    if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
        return 77;
    const char *dir = path("full");
    mkdir(dir, 0755);
    if (mount("tmpfs", dir, "tmpfs", 0, "size=256k"))
        return 77;
    struct bh_chunkstore *cs;
    struct bh_err err = {0};
    if (bh_cs_open(dir, &cs, &err))
        return 1;
    static uint8_t data[400000];
    fill_random(data, sizeof(data), 6);
    uint8_t id[BH_SHA256_LEN];
    bh_sha256(data, sizeof(data), id);
    int rc = bh_cs_put_raw(cs, id, data, sizeof(data), 1, NULL, &err);
    if (rc != BH_EIO || strcmp(err.type, "disk-full") || !strstr(err.msg, "disk is full"))
        return 2;
    if (count_dir(path("full/tmp")) != 0 || bh_cs_has(cs, id))
        return 3;
    /* and a small one still fits */
    bh_sha256(data, 1000, id);
    if (bh_cs_put_raw(cs, id, data, 1000, 1, NULL, &err))
        return 4;
    /* an ingest that does not fit: the workers' writes fail, nothing stays */
    write_file(path("full-src"), data, sizeof(data));
    int fd = open(path("full-src"), O_RDONLY);
    struct bh_ingest_opts o = {.chunk_avg = AVG};
    struct bh_manifest m;
    bh_manifest_init(&m);
    memset(&err, 0, sizeof(err));
    rc = bh_ingest_to_store(fd, sizeof(data), cs, &o, &m, NULL, &err);
    close(fd);
    if (rc != BH_EIO || !err.type || strcmp(err.type, "disk-full"))
        return 5;
    if (count_dir(path("full/tmp")) != 0)
        return 6;
    bh_manifest_free(&m);
    bh_cs_close(cs);
    return 0;
}

static void test_cs_disk_full(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(disk_full_child());
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        skip(); /* no privilege for a mount namespace */
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- ingest and export ---------------------------------------------------- */

/* A test image: random data, a big aligned zero run, small zero runs that
 * stay data, repeated content, compressible text, and an odd tail. */
static uint8_t *make_image(size_t *n)
{
    size_t size = 6 * MiB + 1234;
    uint8_t *d = malloc(size);
    assert_non_null(d);
    fill_random(d, size, 11);
    memset(d + 1 * MiB, 0, 512 * KiB);                /* aligned run: zero extent */
    memset(d + 2 * MiB + 100, 0, 60 * KiB);           /* under the minimum: data */
    memset(d + 2 * MiB + 512 * KiB + 5, 0, 70 * KiB); /* unaligned: 64 KiB aligned inside */
    memcpy(d + 3 * MiB, d, 512 * KiB);                /* repeated */
    memcpy(d + 4 * MiB + 7, d, 512 * KiB);            /* repeated at another phase */
    for (size_t i = 5 * MiB; i < 5 * MiB + 300 * KiB; i++)
        d[i] = (uint8_t)("the quick brown fox "[i % 20]);
    memset(d + size - 100 * KiB, 0, 100 * KiB); /* zeros to the end, partial block */
    *n = size;
    return d;
}

struct collect {
    size_t calls;
    uint8_t ids[4096][BH_SHA256_LEN];
    uint64_t bytes;
    int fail_at; /* abort on this call (1-based); 0: never */
    bool want_none;
};

static bool collect_want(void *ud, const uint8_t id[BH_SHA256_LEN])
{
    (void)id;
    return !((struct collect *)ud)->want_none;
}

static int collect_chunk(void *ud, const uint8_t id[BH_SHA256_LEN], const void *z, size_t zlen,
                         uint32_t len, struct bh_err *err)
{
    struct collect *c = ud;
    assert_true(c->calls < N_ELEMS(c->ids));
    for (size_t i = 0; i < c->calls; i++)
        assert_memory_not_equal(c->ids[i], id, BH_SHA256_LEN); /* once per id */
    memcpy(c->ids[c->calls++], id, BH_SHA256_LEN);
    /* the frame is the chunk */
    uint8_t *d = malloc(len);
    assert_non_null(d);
    assert_int_equal(ZSTD_getFrameContentSize(z, zlen), len);
    assert_int_equal(ZSTD_decompress(d, len, z, zlen), len);
    uint8_t h[BH_SHA256_LEN];
    bh_sha256(d, len, h);
    assert_memory_equal(h, id, BH_SHA256_LEN);
    free(d);
    c->bytes += len;
    if (c->fail_at && (int)c->calls == c->fail_at)
        return bh_err_set(err, BH_EIO, NULL, "stop here");
    return 0;
}

static void encode(const struct bh_manifest *m, struct bh_buf *b)
{
    bh_buf_init(b, 16 * MiB);
    assert_int_equal(bh_manifest_encode(m, b), 0);
}

static void test_ingest_scan(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = make_image(&n);
    write_file(path("img1"), d, n);
    int fd = open(path("img1"), O_RDONLY);
    assert_true(fd >= 0);
    struct bh_err err = {0};

    /* scan only, with one and with three workers: the same manifest */
    struct bh_ingest_opts o = {.chunk_avg = AVG, .threads = 1};
    struct bh_manifest m1, m3;
    bh_manifest_init(&m1);
    bh_manifest_init(&m3);
    assert_int_equal(bh_ingest(fd, n, &o, &m1, &err), 0);
    o.threads = 3;
    assert_int_equal(bh_ingest(fd, n, &o, &m3, &err), 0);
    struct bh_buf e1, e3;
    encode(&m1, &e1);
    encode(&m3, &e3);
    assert_int_equal(e1.len, e3.len);
    assert_memory_equal(e1.p, e3.p, e1.len);
    assert_int_equal(m1.size, n);
    assert_int_equal(m1.chunk_avg, AVG);

    /* the zero extents: the aligned run, the 64 KiB inside the unaligned
     * 70 KiB, and the tail from its first whole zero block */
    size_t zeros = 0;
    for (size_t i = 0; i < m1.n; i++) {
        const struct bh_extent *e = &m1.ext[i];
        if (!e->zero) {
            /* each chunk hashes to its id */
            uint8_t h[BH_SHA256_LEN];
            bh_sha256(d + e->offset, (size_t)e->len, h);
            assert_memory_equal(h, e->id, BH_SHA256_LEN);
            continue;
        }
        zeros++;
        assert_int_equal(e->offset % 4096, 0);
        assert_true(e->len >= BH_ZERO_RUN_MIN);
        if (zeros == 1) {
            assert_int_equal(e->offset, 1 * MiB);
            assert_int_equal(e->len, 512 * KiB);
        } else if (zeros == 2) {
            assert_int_equal(e->offset, 2 * MiB + 512 * KiB + 4096);
            assert_int_equal(e->len, 64 * KiB); /* 70 KiB + 5, less the partial blocks */
        } else {
            assert_int_equal(e->offset + e->len, n);
            assert_int_equal(e->offset, (n - 100 * KiB + 4095) / 4096 * 4096);
        }
    }
    assert_int_equal(zeros, 3);

    /* on_chunk: once per distinct id, in stream order */
    static struct collect c;
    memset(&c, 0, sizeof(c));
    o.want = collect_want;
    o.on_chunk = collect_chunk;
    o.ud = &c;
    struct bh_manifest m;
    bh_manifest_init(&m);
    assert_int_equal(bh_ingest(fd, n, &o, &m, &err), 0);
    uint8_t *ids;
    size_t nd;
    assert_int_equal(bh_manifest_chunk_set(&m, &ids, &nd), 0);
    assert_int_equal(c.calls, nd);
    assert_true(nd < m.n - zeros); /* repeats were found */
    free(ids);
    size_t k = 0;
    for (size_t i = 0; i < m.n && k < c.calls; i++)
        if (!m.ext[i].zero && !memcmp(m.ext[i].id, c.ids[k], BH_SHA256_LEN))
            k++;
    assert_int_equal(k, c.calls);
    bh_manifest_free(&m);

    /* want() says no: nothing handed over */
    memset(&c, 0, sizeof(c));
    c.want_none = true;
    assert_int_equal(bh_ingest(fd, n, &o, &m, &err), 0);
    assert_int_equal(c.calls, 0);
    bh_manifest_free(&m);

    /* on_chunk aborts: its code comes back, the manifest is left empty */
    memset(&c, 0, sizeof(c));
    c.fail_at = 3;
    assert_int_equal(bh_ingest(fd, n, &o, &m, &err), BH_EIO);
    assert_string_equal(err.msg, "stop here");
    assert_int_equal(m.n, 0);
    bh_manifest_free(&m);

    /* a source shorter than said */
    o.on_chunk = NULL;
    assert_int_equal(bh_ingest(fd, n + 5000, &o, &m, &err), BH_EIO);
    assert_non_null(strstr(err.msg, "shrank"));
    bh_manifest_free(&m);
    /* bad options */
    o.chunk_avg = 1000;
    assert_int_equal(bh_ingest(fd, n, &o, &m, &err), BH_EINVAL);
    o.chunk_avg = AVG;
    o.zstd_level = 1000;
    o.on_chunk = collect_chunk;
    assert_int_equal(bh_ingest(fd, n, &o, &m, &err), BH_EINVAL);
    bh_manifest_free(&m);

    close(fd);
    bh_buf_free(&e1);
    bh_buf_free(&e3);
    bh_manifest_free(&m1);
    bh_manifest_free(&m3);
    free(d);
}

static void test_ingest_edge_sizes(void **state)
{
    (void)state;
    struct bh_err err = {0};
    struct bh_ingest_opts o = {.chunk_avg = AVG};
    struct bh_manifest m;
    /* empty */
    write_file(path("empty"), NULL, 0);
    int fd = open(path("empty"), O_RDONLY);
    bh_manifest_init(&m);
    assert_int_equal(bh_ingest(fd, 0, &o, &m, &err), 0);
    assert_int_equal(m.n, 0);
    assert_int_equal(m.size, 0);
    close(fd);
    /* all zeros, odd size: one zero run */
    size_t n = 3 * MiB + 17;
    uint8_t *d = calloc(1, n);
    assert_non_null(d);
    write_file(path("zeros"), d, n);
    fd = open(path("zeros"), O_RDONLY);
    assert_int_equal(bh_ingest(fd, n, &o, &m, &err), 0);
    assert_int_equal(m.n, 1);
    assert_true(m.ext[0].zero);
    assert_int_equal(m.ext[0].len, n);
    bh_manifest_free(&m);
    close(fd);
    /* small zero regions stay data: a 60 KiB one and one of 2 bytes */
    fill_random(d, n, 12);
    memset(d + 8192, 0, 60 * KiB);
    write_file(path("nozero"), d, 200 * KiB);
    fd = open(path("nozero"), O_RDONLY);
    assert_int_equal(bh_ingest(fd, 200 * KiB, &o, &m, &err), 0);
    for (size_t i = 0; i < m.n; i++)
        assert_false(m.ext[i].zero);
    bh_manifest_free(&m);
    close(fd);
    /* one byte */
    write_file(path("one"), d, 1);
    fd = open(path("one"), O_RDONLY);
    assert_int_equal(bh_ingest(fd, 1, &o, &m, &err), 0);
    assert_int_equal(m.n, 1);
    assert_int_equal(m.ext[0].len, 1);
    bh_manifest_free(&m);
    close(fd);
    free(d);
}

static void test_ingest_store_export(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = make_image(&n);
    write_file(path("img2"), d, n);
    struct bh_chunkstore *cs;
    struct bh_err err = {0};
    assert_int_equal(bh_cs_open(path("cs4"), &cs, &err), 0);
    int fd = open(path("img2"), O_RDONLY);
    assert_true(fd >= 0);
    struct bh_ingest_opts o = {.chunk_avg = AVG};
    struct bh_manifest m;
    bh_manifest_init(&m);
    uint64_t added = 0;
    assert_int_equal(bh_ingest_to_store(fd, n, cs, &o, &m, &added, &err), 0);
    assert_true(added > 0);
    size_t stored = count_chunks(cs);
    uint8_t *ids;
    size_t nd;
    assert_int_equal(bh_manifest_chunk_set(&m, &ids, &nd), 0);
    assert_int_equal(stored, nd);
    free(ids);
    assert_int_equal(count_dir(path("cs4/tmp")), 0);

    /* the same again: nothing new, the same manifest */
    struct bh_manifest m2;
    bh_manifest_init(&m2);
    uint64_t added2 = 99;
    assert_int_equal(bh_ingest_to_store(fd, n, cs, &o, &m2, &added2, &err), 0);
    assert_int_equal(added2, 0);
    struct bh_buf e1, e2;
    encode(&m, &e1);
    encode(&m2, &e2);
    assert_int_equal(e1.len, e2.len);
    assert_memory_equal(e1.p, e2.p, e1.len);
    bh_manifest_free(&m2);
    close(fd);

    /* export, sparse and not: bit for bit */
    for (int sparse = 0; sparse < 2; sparse++) {
        const char *out = path(sparse ? "out-sparse" : "out-full");
        /* old content must not show through the holes */
        uint8_t *junk = malloc(n + 5000);
        assert_non_null(junk);
        memset(junk, 0xee, n + 5000);
        write_file(out, junk, n + 5000);
        free(junk);
        int ofd = open(out, O_WRONLY);
        assert_true(ofd >= 0);
        if (!sparse)
            assert_int_equal(ftruncate(ofd, 0), 0);
        assert_int_equal(bh_export(cs, &m, ofd, sparse, NULL, NULL, &err), 0);
        close(ofd);
        size_t back_n;
        uint8_t *back = read_file(out, &back_n);
        assert_int_equal(back_n, n);
        assert_memory_equal(back, d, n);
        free(back);
        struct stat st;
        assert_int_equal(stat(out, &st), 0);
        uint64_t zero_bytes = 0;
        for (size_t i = 0; i < m.n; i++)
            if (m.ext[i].zero)
                zero_bytes += m.ext[i].len;
        if (sparse) /* the zero runs take no space */
            assert_true((uint64_t)st.st_blocks * 512 <= n - zero_bytes + 64 * KiB);
        else
            assert_true((uint64_t)st.st_blocks * 512 >= n);
    }

    /* a few changed blocks: only the chunks around them are new */
    d[100] ^= 1;
    d[3 * MiB + 200 * KiB] ^= 1;
    d[5 * MiB + 10] ^= 1;
    write_file(path("img3"), d, n);
    fd = open(path("img3"), O_RDONLY);
    assert_true(fd >= 0);
    bh_manifest_init(&m2);
    assert_int_equal(bh_ingest_to_store(fd, n, cs, &o, &m2, &added2, &err), 0);
    close(fd);
    size_t now = count_chunks(cs);
    assert_true(now > stored && now <= stored + 6);
    assert_true(added2 > 0 && added2 < added / 4);
    int ofd = open(path("out3"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_int_equal(bh_export(cs, &m2, ofd, true, NULL, NULL, &err), 0);
    close(ofd);
    size_t back_n;
    uint8_t *back = read_file(path("out3"), &back_n);
    assert_int_equal(back_n, n);
    assert_memory_equal(back, d, n);
    free(back);

    /* a missing chunk, then a corrupt one, named by export */
    const struct bh_extent *e = &m2.ext[0];
    assert_false(e->zero);
    assert_int_equal(bh_cs_remove(cs, e->id, &err), 0);
    ofd = open(path("out4"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_int_equal(bh_export(cs, &m2, ofd, true, NULL, NULL, &err), BH_ENOTFOUND);
    char hex[BH_SHA256_HEX];
    bh_hex_id(e->id, hex);
    assert_non_null(strstr(err.msg, hex));
    size_t zl;
    uint8_t *z = frame("not the chunk", 13, &zl);
    assert_int_equal(bh_cs_put(cs, e->id, z, zl, false, NULL, &err), 0);
    free(z);
    assert_int_equal(bh_export(cs, &m2, ofd, true, NULL, NULL, &err), BH_EIO);
    assert_string_equal(err.type, "corrupt-chunk");
    close(ofd);

    bh_buf_free(&e1);
    bh_buf_free(&e2);
    bh_manifest_free(&m);
    bh_manifest_free(&m2);
    bh_cs_close(cs);
    free(d);
}

static void test_ingest_pack(void **state)
{
    (void)state;
    size_t n;
    uint8_t *d = make_image(&n);
    write_file(path("img5"), d, n);
    int fd = open(path("img5"), O_RDWR);
    assert_true(fd >= 0);
    struct bh_err err = {0};
    struct bh_ingest_opts o = {.chunk_avg = AVG};
    struct bh_manifest m;
    bh_manifest_init(&m);
    assert_int_equal(bh_ingest(fd, n, &o, &m, &err), 0); /* scan only */

    static struct collect c;
    memset(&c, 0, sizeof(c));
    o.want = collect_want;
    o.on_chunk = collect_chunk;
    o.ud = &c;
    assert_int_equal(bh_ingest_pack(fd, &m, &o, &err), 0);
    uint8_t *ids;
    size_t nd;
    assert_int_equal(bh_manifest_chunk_set(&m, &ids, &nd), 0);
    assert_int_equal(c.calls, nd);
    free(ids);
    /* in manifest order, first occurrences */
    size_t k = 0;
    for (size_t i = 0; i < m.n && k < c.calls; i++)
        if (!m.ext[i].zero && !memcmp(m.ext[i].id, c.ids[k], BH_SHA256_LEN))
            k++;
    assert_int_equal(k, c.calls);

    /* the source changed after the scan */
    uint8_t b = 0x42;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)(5 * MiB + 600 * KiB)), 1); /* unique data */
    memset(&c, 0, sizeof(c));
    assert_int_equal(bh_ingest_pack(fd, &m, &o, &err), BH_ECONFLICT);
    assert_string_equal(err.type, "source-changed");
    /* ... or shrank */
    memset(&c, 0, sizeof(c));
    assert_int_equal(ftruncate(fd, (off_t)(n / 3)), 0);
    assert_int_equal(bh_ingest_pack(fd, &m, &o, &err), BH_ECONFLICT);
    assert_string_equal(err.type, "source-changed");
    close(fd);
    bh_manifest_free(&m);
    free(d);
}

static void progress_cb(void *ud, uint64_t done, uint64_t total)
{
    uint64_t *last = ud;
    assert_true(done >= *last && done <= total);
    *last = done;
}

static void test_ingest_big_chunks_and_progress(void **state)
{
    (void)state;
    /* 1 MiB average: chunks bigger than a zero-scan block run, a window
     * refill in the middle of a zero run, progress calls */
    size_t n = 40 * MiB + 4095;
    uint8_t *d = malloc(n);
    assert_non_null(d);
    fill_random(d, n, 21);
    memset(d + 9 * MiB - 4096, 0, 3 * MiB); /* across the first window's end */
    memcpy(d + 20 * MiB, d, 8 * MiB);
    write_file(path("img6"), d, n);
    int fd = open(path("img6"), O_RDONLY);
    struct bh_chunkstore *cs;
    struct bh_err err = {0};
    assert_int_equal(bh_cs_open(path("cs6"), &cs, &err), 0);
    uint64_t last = 0;
    struct bh_ingest_opts o = {.chunk_avg = 1 * MiB, .progress = progress_cb, .ud = &last};
    struct bh_manifest m;
    bh_manifest_init(&m);
    uint64_t added = 0;
    assert_int_equal(bh_ingest_to_store(fd, n, cs, &o, &m, &added, &err), 0);
    assert_int_equal(last, n);
    size_t zeros = 0;
    for (size_t i = 0; i < m.n; i++)
        zeros += m.ext[i].zero;
    assert_int_equal(zeros, 1);
    close(fd);
    int ofd = open(path("out6"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    last = 0;
    assert_int_equal(bh_export(cs, &m, ofd, true, progress_cb, &last, &err), 0);
    assert_int_equal(last, n);
    close(ofd);
    size_t back_n;
    uint8_t *back = read_file(path("out6"), &back_n);
    assert_int_equal(back_n, n);
    assert_memory_equal(back, d, n);
    free(back);
    bh_manifest_free(&m);
    bh_cs_close(cs);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cdc_init),
        cmocka_unit_test(test_cdc_deterministic_and_limits),
        cmocka_unit_test(test_cdc_eof),
        cmocka_unit_test(test_cdc_shift_resistance),
        cmocka_unit_test(test_manifest_round_trip),
        cmocka_unit_test(test_manifest_add_and_encode_refuse),
        cmocka_unit_test(test_manifest_malformed),
        cmocka_unit_test(test_sha_and_hex),
        cmocka_unit_test(test_cs_chunks),
        cmocka_unit_test(test_cs_manifests),
        cmocka_unit_test(test_cs_tmp_cleared),
        cmocka_unit_test(test_cs_concurrent_puts),
        cmocka_unit_test(test_cs_disk_full),
        cmocka_unit_test(test_ingest_scan),
        cmocka_unit_test(test_ingest_edge_sizes),
        cmocka_unit_test(test_ingest_store_export),
        cmocka_unit_test(test_ingest_pack),
        cmocka_unit_test(test_ingest_big_chunks_and_progress),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
