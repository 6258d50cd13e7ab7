/*
 * libFuzzer driver: the image manifest parser (src/image/manifest.c).
 *
 * Whatever parses must be consistent (contiguous extents that sum to the
 * size, no two zero runs in a row, lengths in range) and canonical: its
 * encoding is the input, byte for byte.  What does not parse must say
 * where (a byte offset inside the input) and why.
 */
#include "image/cdc.h"
#include "image/manifest.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bh_manifest m;
    struct bh_err err = {0};
    int rc = bh_manifest_parse(data, size, &m, &err);
    if (rc) {
        CHECK(rc == BH_EINVAL || rc == BH_ETOOBIG);
        CHECK(err.code == rc && err.msg[0] && err.field[0]);
        char *end;
        unsigned long off = strtoul(err.field, &end, 10);
        CHECK(*end == '\0' && off <= size);
        CHECK(m.n == 0 && m.ext == NULL);
        return 0;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < m.n; i++) {
        const struct bh_extent *e = &m.ext[i];
        CHECK(e->offset == sum && e->len > 0);
        if (e->zero)
            CHECK(i == 0 || !m.ext[i - 1].zero);
        else
            CHECK(e->len <= BH_CDC_CHUNK_MAX);
        sum += e->len;
    }
    CHECK(sum == m.size);
    CHECK(strlen(m.fstype) < BH_MF_FSTYPE_MAX);

    struct bh_buf enc;
    bh_buf_init(&enc, size + 1);
    CHECK(bh_manifest_encode(&m, &enc) == 0);
    CHECK(enc.len == size && memcmp(enc.p, data, size) == 0);
    bh_buf_free(&enc);

    uint8_t *ids;
    size_t n;
    CHECK(bh_manifest_chunk_set(&m, &ids, &n) == 0);
    for (size_t i = 1; i < n; i++)
        CHECK(memcmp(ids + (i - 1) * BH_SHA256_LEN, ids + i * BH_SHA256_LEN, BH_SHA256_LEN) < 0);
    free(ids);
    bh_manifest_free(&m);
    return 0;
}
