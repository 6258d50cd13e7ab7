/*
 * test_deploy.c - unit tests for src/agent/deploy.c: an image ingested
 * into a chunk store in a temporary directory is deployed onto another
 * file through a fake chunk source that reads the store (and counts what
 * it hands out, or corrupts a chosen chunk): full writes bit-exact, syncs
 * that fetch nothing or only what changed, a corrupt chunk never written,
 * a target too small.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testfiles.h"

#include "agent/deploy.h"
#include "image/cdc.h"
#include "image/chunkstore.h"
#include "image/idset.h"
#include "image/ingest.h"
#include "image/manifest.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define KiB        1024u
#define MiB        (1024u * 1024)
#define AVG        (16 * KiB) /* small chunks: many of them in a small image */
#define IMAGE_SIZE (6 * MiB + 12345)

static char g_dir[] = "/tmp/bh-test-deploy-XXXXXX";
static uint8_t *g_image;
static struct bh_chunkstore *g_cs;
static struct bh_manifest g_m;

#define path(name) dir_path(g_dir, name)

/* the target file holds exactly the image */
static void assert_same(const char *p, const uint8_t *want, size_t n)
{
    size_t got;
    uint8_t *d = read_file(p, &got);
    assert_int_equal(got, n);
    assert_memory_equal(d, want, n);
    free(d);
}

/* ---- a fake chunk source over the store ---------------------------------- */

struct fake {
    uint64_t calls; /* atomic */
    bool corrupt_one;
    uint8_t bad[BH_SHA256_LEN]; /* corrupt this chunk */
    int how;                    /* 0: other content, well framed; 1: a truncated frame */
    bool fail_all;              /* every fetch fails, like an unreachable server */
};

static int fake_fetch(void *ud, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z,
                      struct bh_err *err)
{
    struct fake *f = ud;
    __atomic_add_fetch(&f->calls, 1, __ATOMIC_RELAXED);
    if (f->fail_all)
        return bh_err_sett(err, BH_EIO, "server-unreachable", NULL, "the source is down");
    int fd;
    uint64_t zs;
    int rc = bh_cs_open_chunk(g_cs, id, &fd, &zs, err);
    if (rc)
        return rc;
    uint8_t *tmp = malloc((size_t)zs);
    assert_non_null(tmp);
    assert_int_equal(pread(fd, tmp, (size_t)zs, 0), (ssize_t)zs);
    close(fd);
    bh_buf_reset(z);
    if (f->corrupt_one && !memcmp(id, f->bad, BH_SHA256_LEN)) {
        if (f->how == 1) {
            rc = bh_buf_add(z, tmp, (size_t)zs / 2);
        } else {
            struct bh_buf plain;
            bh_buf_init(&plain, BH_CDC_CHUNK_MAX);
            assert_int_equal(bh_cs_read(g_cs, id, &plain, err), 0);
            plain.p[plain.len / 2] ^= 0x40;
            size_t cap = ZSTD_compressBound(plain.len);
            uint8_t *out = malloc(cap);
            size_t n = ZSTD_compress(out, cap, plain.p, plain.len, 1);
            assert_false(ZSTD_isError(n));
            rc = bh_buf_add(z, out, n);
            free(out);
            bh_buf_free(&plain);
        }
    } else {
        rc = bh_buf_add(z, tmp, (size_t)zs);
    }
    free(tmp);
    return rc;
}

/* ---- fixtures ------------------------------------------------------------- */

/* A disk-like image: random data, a long zero run, a 64 KiB block repeated
 * 16 times (repeated chunks), random data again, an odd tail. */
static int setup_all(void **state)
{
    (void)state;
    if (!mkdtemp(g_dir))
        return -1;
    g_image = calloc(1, IMAGE_SIZE);
    if (!g_image)
        return -1;
    fill_random(g_image, 2 * MiB, 1);
    /* 2..3 MiB: zeros */
    uint8_t rep[64 * KiB];
    fill_random(rep, sizeof(rep), 2);
    for (unsigned i = 0; i < 16; i++)
        memcpy(g_image + 3 * MiB + i * sizeof(rep), rep, sizeof(rep));
    fill_random(g_image + 4 * MiB, IMAGE_SIZE - 4 * MiB, 3);
    write_file(path("image.raw"), g_image, IMAGE_SIZE);

    struct bh_err err;
    if (bh_cs_open(path("store"), &g_cs, &err))
        return -1;
    bh_manifest_init(&g_m);
    int fd = open(path("image.raw"), O_RDONLY);
    struct bh_ingest_opts o = {.chunk_avg = AVG};
    int rc = bh_ingest_to_store(fd, IMAGE_SIZE, g_cs, &o, &g_m, NULL, &err);
    close(fd);
    return rc ? -1 : 0;
}

static int teardown_all(void **state)
{
    (void)state;
    bh_manifest_free(&g_m);
    bh_cs_close(g_cs);
    free(g_image);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static size_t distinct_chunks(void)
{
    struct bh_idset s = {0};
    for (size_t i = 0; i < g_m.n; i++)
        if (!g_m.ext[i].zero)
            bh_idset_add(&s, g_m.ext[i].id);
    size_t n = s.n;
    bh_idset_clear(&s);
    return n;
}

static uint64_t chunk_bytes(void)
{
    uint64_t n = 0;
    for (size_t i = 0; i < g_m.n; i++)
        n += g_m.ext[i].zero ? 0 : g_m.ext[i].len;
    return n;
}

struct seen {
    int calls;
    uint64_t last_done, total;
};

static void on_progress(void *ud, uint64_t done, uint64_t total, uint64_t fetched)
{
    struct seen *s = ud;
    (void)fetched;
    s->calls++;
    s->last_done = done;
    s->total = total;
}

static int deploy_to(const char *p, bool compare, int threads, struct fake *f,
                     struct bh_deploy_stats *st, struct bh_err *err)
{
    int fd = open(p, O_RDWR);
    assert_true(fd >= 0);
    struct bh_chunk_source src = {.fetch = fake_fetch, .ud = f};
    struct seen s = {0};
    struct bh_deploy_opts o = {
        .compare = compare, .threads = threads, .progress = on_progress, .ud = &s};
    int rc = bh_deploy(fd, IMAGE_SIZE, &g_m, &src, &o, st, err);
    close(fd);
    if (!rc) {
        assert_true(s.calls >= 1);
        assert_int_equal(s.last_done, IMAGE_SIZE);
        assert_int_equal(s.total, IMAGE_SIZE);
    }
    return rc;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_manifest_shape(void **state)
{
    (void)state;
    bool zero = false;
    for (size_t i = 0; i < g_m.n; i++)
        zero |= g_m.ext[i].zero;
    assert_true(zero);
    /* the repeated block gives repeated chunks: fewer distinct than extents */
    size_t chunks = 0;
    for (size_t i = 0; i < g_m.n; i++)
        chunks += !g_m.ext[i].zero;
    assert_true(distinct_chunks() < chunks);
}

static void test_full_deploy(void **state)
{
    (void)state;
    /* garbage where the image goes: zero runs must really be cleared */
    uint8_t *junk = malloc(IMAGE_SIZE);
    fill_random(junk, IMAGE_SIZE, 99);
    write_file(path("full.img"), junk, IMAGE_SIZE);
    free(junk);
    struct fake f = {0};
    struct bh_deploy_stats st;
    struct bh_err err = {0};
    assert_int_equal(deploy_to(path("full.img"), false, 0, &f, &st, &err), 0);
    assert_same(path("full.img"), g_image, IMAGE_SIZE);
    /* each distinct chunk fetched once, every chunk extent written */
    assert_int_equal(f.calls, distinct_chunks());
    assert_int_equal(st.fetched, distinct_chunks());
    assert_true(st.fetched_bytes > 0);
    assert_int_equal(st.written, chunk_bytes());
    assert_int_equal(st.zeroed, IMAGE_SIZE - chunk_bytes());
    assert_int_equal(st.extents, g_m.n);
    assert_int_equal(st.skipped, 0);

    /* one thread gives the same bytes */
    write_file(path("full1.img"), g_image, 100); /* short: the rest is past EOF */
    assert_int_equal(truncate(path("full1.img"), IMAGE_SIZE), 0);
    struct fake f1 = {0};
    assert_int_equal(deploy_to(path("full1.img"), false, 1, &f1, &st, &err), 0);
    assert_same(path("full1.img"), g_image, IMAGE_SIZE);
}

static void test_sync_identical(void **state)
{
    (void)state;
    write_file(path("same.img"), g_image, IMAGE_SIZE);
    struct fake f = {0};
    struct bh_deploy_stats st;
    struct bh_err err = {0};
    assert_int_equal(deploy_to(path("same.img"), true, 0, &f, &st, &err), 0);
    assert_int_equal(f.calls, 0);
    assert_int_equal(st.fetched, 0);
    assert_int_equal(st.fetched_bytes, 0);
    assert_int_equal(st.written, 0);
    assert_int_equal(st.zeroed, 0);
    assert_int_equal(st.skipped, g_m.n);
    assert_same(path("same.img"), g_image, IMAGE_SIZE);
}

static void test_sync_changed(void **state)
{
    (void)state;
    uint8_t *d = malloc(IMAGE_SIZE);
    memcpy(d, g_image, IMAGE_SIZE);
    /* three 4 KiB blocks of data and one inside the zero run */
    static const uint64_t blocks[] = {100, 1200, 1400, 640};
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
        fill_random(d + blocks[i] * 4096, 4096, 1000 + i);
    write_file(path("changed.img"), d, IMAGE_SIZE);
    free(d);
    struct fake f = {0};
    struct bh_deploy_stats st;
    struct bh_err err = {0};
    assert_int_equal(deploy_to(path("changed.img"), true, 0, &f, &st, &err), 0);
    assert_same(path("changed.img"), g_image, IMAGE_SIZE);
    /* a changed block touches at most two chunks */
    assert_true(f.calls >= 3 && f.calls <= 6);
    assert_int_equal(st.fetched, f.calls);
    assert_true(st.zeroed > 0 && st.zeroed <= 1 * MiB);
    assert_true(st.skipped >= g_m.n - 7);
    assert_true(st.written < 6 * 4 * AVG);
}

static void test_corrupt_chunk(void **state)
{
    (void)state;
    /* a chunk extent whose id appears once, after the first megabyte */
    size_t k = g_m.n;
    for (size_t i = 0; i < g_m.n && k == g_m.n; i++) {
        if (g_m.ext[i].zero || g_m.ext[i].offset < 1 * MiB)
            continue;
        size_t same = 0;
        for (size_t j = 0; j < g_m.n; j++)
            same += !g_m.ext[j].zero && !memcmp(g_m.ext[j].id, g_m.ext[i].id, BH_SHA256_LEN);
        if (same == 1)
            k = i;
    }
    assert_true(k < g_m.n);
    const struct bh_extent *x = &g_m.ext[k];
    char hex[BH_SHA256_HEX];
    bh_hex_id(x->id, hex);
    for (int how = 0; how < 2; how++) {
        for (int threads = 1; threads <= 4; threads += 3) {
            uint8_t *pat = malloc(IMAGE_SIZE);
            memset(pat, 0xAA, IMAGE_SIZE);
            write_file(path("bad.img"), pat, IMAGE_SIZE);
            struct fake f = {.corrupt_one = true, .how = how};
            memcpy(f.bad, x->id, BH_SHA256_LEN);
            struct bh_deploy_stats st;
            struct bh_err err = {0};
            assert_int_equal(deploy_to(path("bad.img"), how == 0, threads, &f, &st, &err), BH_EIO);
            assert_string_equal(err.type, "corrupt-chunk");
            assert_string_equal(err.field, hex);
            assert_non_null(strstr(err.msg, hex));
            /* nothing of that chunk reached the target */
            size_t n;
            uint8_t *got = read_file(path("bad.img"), &n);
            assert_int_equal(n, IMAGE_SIZE);
            assert_memory_equal(got + x->offset, pat, (size_t)x->len);
            free(got);
            free(pat);
        }
    }
}

static void test_too_small(void **state)
{
    (void)state;
    write_file(path("small.img"), g_image, 4096);
    int fd = open(path("small.img"), O_RDWR);
    struct fake f = {0};
    struct bh_chunk_source src = {.fetch = fake_fetch, .ud = &f};
    struct bh_deploy_stats st;
    struct bh_err err = {0};
    assert_int_equal(bh_deploy(fd, IMAGE_SIZE - 1, &g_m, &src, NULL, &st, &err), BH_EINVAL);
    close(fd);
    assert_string_equal(err.type, "device-too-small");
    char want[64];
    snprintf(want, sizeof(want), "%u", IMAGE_SIZE);
    assert_non_null(strstr(err.msg, want));
    assert_non_null(strstr(err.msg, "1 bytes short"));
    assert_int_equal(f.calls, 0);
    /* nothing written */
    size_t n;
    uint8_t *got = read_file(path("small.img"), &n);
    assert_int_equal(n, 4096);
    free(got);
}

/* a source that fails: its error comes back as it was */
static void test_failing_source(void **state)
{
    (void)state;
    write_file(path("fail.img"), g_image, 10);
    assert_int_equal(truncate(path("fail.img"), IMAGE_SIZE), 0);
    struct fake f = {.fail_all = true};
    struct bh_deploy_stats st;
    struct bh_err err = {0};
    assert_int_equal(deploy_to(path("fail.img"), true, 3, &f, &st, &err), BH_EIO);
    assert_string_equal(err.type, "server-unreachable");
    assert_string_equal(err.msg, "the source is down");
    /* the workers stop at the first failure */
    assert_true(f.calls <= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_shape), cmocka_unit_test(test_full_deploy),
        cmocka_unit_test(test_sync_identical), cmocka_unit_test(test_sync_changed),
        cmocka_unit_test(test_corrupt_chunk),  cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_failing_source),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
