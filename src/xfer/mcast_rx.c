/*
 * mcast_rx.c - a multicast receiver's state (see mcast_rx.h).
 */
#include "mcast_rx.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static bool bit(const uint8_t *m, uint32_t i)
{
    return m[i / 8] & (0x80u >> (i % 8));
}

static void set_bit(uint8_t *m, uint32_t i)
{
    m[i / 8] |= (uint8_t)(0x80u >> (i % 8));
}

int bh_mc_rx_init(struct bh_mc_rx *rx, uint32_t nchunks, size_t slots, size_t max_bytes)
{
    memset(rx, 0, sizeof(*rx));
    if (nchunks == 0 || nchunks > BH_MC_CHUNKS_MAX || slots == 0)
        return BH_EINVAL;
    rx->have = calloc((nchunks + 7) / 8, 1);
    rx->slot = calloc(slots, sizeof(*rx->slot));
    if (!rx->have || !rx->slot) {
        bh_mc_rx_free(rx);
        return BH_ENOMEM;
    }
    rx->nchunks = nchunks;
    rx->nslots = slots;
    rx->max_bytes = max_bytes;
    return 0;
}

static void slot_clear(struct bh_mc_rx *rx, struct bh_mc_slot *s)
{
    if (s->used)
        rx->bytes -= s->clen;
    free(s->buf);
    free(s->got);
    memset(s, 0, sizeof(*s));
}

void bh_mc_rx_free(struct bh_mc_rx *rx)
{
    for (size_t i = 0; rx->slot && i < rx->nslots; i++)
        slot_clear(rx, &rx->slot[i]);
    free(rx->slot);
    free(rx->have);
    memset(rx, 0, sizeof(*rx));
}

bool bh_mc_rx_has(const struct bh_mc_rx *rx, uint32_t chunk)
{
    return chunk < rx->nchunks && bit(rx->have, chunk);
}

static struct bh_mc_slot *slot_of(struct bh_mc_rx *rx, uint32_t chunk)
{
    for (size_t i = 0; i < rx->nslots; i++)
        if (rx->slot[i].used && rx->slot[i].chunk == chunk)
            return &rx->slot[i];
    return NULL;
}

void bh_mc_rx_have(struct bh_mc_rx *rx, uint32_t chunk)
{
    if (chunk >= rx->nchunks || bit(rx->have, chunk))
        return;
    struct bh_mc_slot *s = slot_of(rx, chunk);
    if (s)
        slot_clear(rx, s);
    set_bit(rx->have, chunk);
    rx->nhave++;
}

void bh_mc_rx_seq(struct bh_mc_rx *rx, uint32_t seq)
{
    if (rx->seq_seen) {
        uint32_t gap = seq - rx->last_seq; /* modulo 2^32 */
        if (gap == 0 || gap > UINT32_MAX / 2)
            return; /* a duplicate or one that came late: no loss, no step back */
        if (gap <= BH_MC_SEQ_JUMP)
            rx->missed += gap - 1;
        /* else a jump no real loss makes (a forged seq, a restarted
         * sender): follow it without counting it as loss */
    }
    rx->seq_seen = true;
    rx->last_seq = seq;
}

/* the least recently fed slot, to make room */
static struct bh_mc_slot *oldest(struct bh_mc_rx *rx)
{
    struct bh_mc_slot *o = NULL;
    for (size_t i = 0; i < rx->nslots; i++)
        if (rx->slot[i].used && (!o || rx->slot[i].fed < o->fed))
            o = &rx->slot[i];
    return o;
}

/* a slot for a new chunk of clen bytes, evicting as needed */
static struct bh_mc_slot *slot_new(struct bh_mc_rx *rx, const struct bh_mc_data *dt)
{
    struct bh_mc_slot *s = NULL;
    for (;;) {
        for (size_t i = 0; !s && i < rx->nslots; i++)
            if (!rx->slot[i].used)
                s = &rx->slot[i];
        if (s && rx->bytes + dt->clen <= rx->max_bytes)
            break;
        struct bh_mc_slot *o = oldest(rx);
        if (!o)
            return NULL; /* one chunk is more than max_bytes */
        slot_clear(rx, o);
        rx->evicted++;
        s = NULL;
    }
    uint32_t nfrags = (dt->clen + dt->frag - 1) / dt->frag;
    s->buf = malloc(dt->clen);
    s->got = calloc((nfrags + 7) / 8, 1);
    if (!s->buf || !s->got) {
        free(s->buf);
        free(s->got);
        memset(s, 0, sizeof(*s));
        return NULL;
    }
    s->used = true;
    s->chunk = dt->chunk;
    s->clen = dt->clen;
    s->frag = dt->frag;
    s->nfrags = nfrags;
    rx->bytes += dt->clen;
    return s;
}

enum bh_mc_rx_res bh_mc_rx_feed(struct bh_mc_rx *rx, const struct bh_mc_data *dt,
                                const uint8_t **buf, size_t *len)
{
    if (dt->frag == 0 || dt->off % dt->frag || dt->off >= dt->clen ||
        dt->len != (dt->clen - dt->off < dt->frag ? dt->clen - dt->off : dt->frag) ||
        dt->clen > BH_MC_CHUNK_MAX)
        return BH_MC_RX_BAD; /* not what bh_mc_parse_data lets through */
    if (dt->chunk >= rx->nchunks || bit(rx->have, dt->chunk))
        return rx->dups++, BH_MC_RX_HAVE;
    enum bh_mc_rx_res res = BH_MC_RX_PART;
    struct bh_mc_slot *s = slot_of(rx, dt->chunk);
    if (s && (s->clen != dt->clen || s->frag != dt->frag)) {
        slot_clear(rx, s); /* the sender never changes these: start over */
        rx->conflict++;
        res = BH_MC_RX_CONFLICT;
        s = NULL;
    }
    if (!s && !(s = slot_new(rx, dt)))
        return BH_MC_RX_NOMEM;
    s->fed = ++rx->clock;
    uint32_t f = dt->off / dt->frag;
    if (bit(s->got, f))
        return rx->dups++, BH_MC_RX_DUP;
    memcpy(s->buf + dt->off, dt->payload, dt->len);
    set_bit(s->got, f);
    s->ngot++;
    rx->frags++;
    if (s->ngot < s->nfrags)
        return res;
    *buf = s->buf;
    *len = s->clen;
    return BH_MC_RX_WHOLE;
}

void bh_mc_rx_done(struct bh_mc_rx *rx, uint32_t chunk, bool ok)
{
    struct bh_mc_slot *s = slot_of(rx, chunk);
    if (s)
        slot_clear(rx, s);
    if (ok)
        bh_mc_rx_have(rx, chunk);
}

uint32_t bh_mc_rx_lacking(struct bh_mc_rx *rx, uint32_t max, uint32_t *base, uint8_t *bitmap)
{
    if (max > BH_MC_REQ_BITS)
        max = BH_MC_REQ_BITS;
    if (rx->nhave == rx->nchunks || max == 0)
        return 0;
    uint32_t first = rx->cursor < rx->nchunks ? rx->cursor : 0;
    for (uint32_t k = 0; k < rx->nchunks; k++) { /* the first lacking one, going round */
        uint32_t i = first + k < rx->nchunks ? first + k : first + k - rx->nchunks;
        if (!bit(rx->have, i)) {
            first = i;
            break;
        }
    }
    uint32_t count = rx->nchunks - first < max ? rx->nchunks - first : max;
    memset(bitmap, 0, (count + 7) / 8);
    for (uint32_t i = 0; i < count; i++)
        if (!bit(rx->have, first + i))
            set_bit(bitmap, i);
    *base = first;
    rx->cursor = first + count < rx->nchunks ? first + count : 0;
    rx->missed = 0;
    return count;
}
