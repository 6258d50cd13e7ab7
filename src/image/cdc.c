/*
 * cdc.c - FastCDC-style content-defined chunking (see cdc.h).
 *
 * The rolling hash is a gear hash, h = (h << 1) + gear[byte]: each byte
 * shifts one bit further up, so after 64 bytes a byte has left the hash and
 * bit k of h depends on the last k + 1 bytes only.  The masks therefore
 * test the top bits of h, which cover the widest window (41..64 bytes for
 * the largest mask we use).
 *
 * Normalised chunking, level 2: from min to avg a cut needs log2(avg) + 2
 * zero bits (rare), from avg to max log2(avg) - 2 (frequent), which packs
 * chunk sizes around avg.  With min = avg / 4 and max = avg * 4 the mean
 * chunk is a little above avg (about 1.15 avg on random data), and a
 * forced cut at max happens about once in 200 000 chunks.
 *
 * The gear table is part of the image format: it is derived from the
 * constant GEAR_SEED with splitmix64 (the generator of Steele, Lea and
 * Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014).
 */
#include "cdc.h"

#include <pthread.h>

#define GEAR_SEED UINT64_C(0x626f6f7468657264) /* "bootherd" in ASCII */

static uint64_t gear[256];
static pthread_once_t gear_once = PTHREAD_ONCE_INIT;

/* One step of splitmix64: a Weyl sequence (golden-ratio increment) run
 * through a 64-bit finaliser of two xor-shift-multiply rounds. */
static uint64_t splitmix64_next(uint64_t *state)
{
    *state += UINT64_C(0x9e3779b97f4a7c15);
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void gear_init(void)
{
    uint64_t s = GEAR_SEED;
    for (size_t i = 0; i < 256; i++)
        gear[i] = splitmix64_next(&s);
}

/* The top `bits` bits of a 64-bit word. */
static uint64_t top_mask(unsigned bits)
{
    return ~UINT64_C(0) << (64 - bits);
}

int bh_cdc_init(struct bh_cdc *c, uint32_t avg, struct bh_err *err)
{
    if (avg < BH_CDC_AVG_MIN || avg > BH_CDC_AVG_MAX || (avg & (avg - 1)) != 0)
        return bh_err_set(err, BH_EINVAL, "chunk_avg",
                          "chunk average %u is not a power of two between %u and %u", avg,
                          BH_CDC_AVG_MIN, BH_CDC_AVG_MAX);
    pthread_once(&gear_once, gear_init);
    unsigned bits = 0;
    while ((UINT32_C(1) << bits) < avg)
        bits++;
    c->avg = avg;
    c->min = avg / 4;
    c->max = avg * 4;
    c->mask_s = top_mask(bits + 2);
    c->mask_l = top_mask(bits - 2);
    return 0;
}

size_t bh_cdc_cut(const struct bh_cdc *c, const uint8_t *data, size_t len, bool eof)
{
    if (len == 0)
        return 0;
    if (len <= c->min)
        return eof ? len : 0;
    /* The first min bytes are not hashed: no cut can fall there.  The
     * first byte hashed is data[min], so the shortest cut is min + 1. */
    size_t end = len < c->max ? len : c->max;
    size_t normal = end < c->avg ? end : c->avg;
    uint64_t h = 0, ms = c->mask_s, ml = c->mask_l;
    size_t i = c->min;
    for (; i < normal; i++) {
        h = (h << 1) + gear[data[i]];
        if (!(h & ms))
            return i + 1;
    }
    for (; i < end; i++) {
        h = (h << 1) + gear[data[i]];
        if (!(h & ml))
            return i + 1;
    }
    if (len >= c->max)
        return c->max;
    return eof ? len : 0;
}
