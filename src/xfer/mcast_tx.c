/*
 * mcast_tx.c - a multicast session's sender (see mcast_tx.h).
 */
#include "mcast_tx.h"

#include "core/err.h"

#include <stdlib.h>
#include <string.h>

void bh_tb_init(struct bh_tb *tb, double rate, double burst, int64_t now_ms)
{
    tb->rate = rate;
    tb->burst = burst;
    tb->tokens = burst;
    tb->last_ms = now_ms;
}

int64_t bh_tb_take(struct bh_tb *tb, int64_t now_ms, size_t n)
{
    if (now_ms > tb->last_ms) {
        tb->tokens += (double)(now_ms - tb->last_ms) * tb->rate / 1000.0;
        if (tb->tokens > tb->burst)
            tb->tokens = tb->burst;
        tb->last_ms = now_ms;
    }
    if (tb->tokens >= (double)n) {
        tb->tokens -= (double)n;
        return 0;
    }
    if (tb->rate <= 0)
        return 1000;
    int64_t wait = (int64_t)(((double)n - tb->tokens) * 1000.0 / tb->rate) + 1;
    return wait < 1 ? 1 : wait;
}

static bool bit(const uint8_t *m, uint32_t i)
{
    return m[i / 8] & (0x80u >> (i % 8));
}

int bh_mc_tx_init(struct bh_mc_tx *tx, const struct bh_mc_tx_cfg *cfg)
{
    memset(tx, 0, sizeof(*tx));
    if (cfg->nchunks == 0 || cfg->nchunks > BH_MC_CHUNKS_MAX || cfg->rate_min <= 0 ||
        cfg->rate_max < cfg->rate_min)
        return BH_EINVAL;
    tx->pending = calloc((cfg->nchunks + 7) / 8, 1);
    tx->sent_ms = calloc(cfg->nchunks, sizeof(*tx->sent_ms));
    if (!tx->pending || !tx->sent_ms) {
        bh_mc_tx_free(tx);
        return BH_ENOMEM;
    }
    tx->cfg = *cfg;
    tx->rate = cfg->rate_max;
    return 0;
}

void bh_mc_tx_free(struct bh_mc_tx *tx)
{
    free(tx->pending);
    free(tx->sent_ms);
    free(tx->rcv);
    memset(tx, 0, sizeof(*tx));
}

struct bh_mc_receiver *bh_mc_tx_receiver(struct bh_mc_tx *tx, uint32_t id)
{
    for (size_t i = 0; i < tx->nrcv; i++)
        if (tx->rcv[i].id == id)
            return &tx->rcv[i];
    return NULL;
}

int bh_mc_tx_join(struct bh_mc_tx *tx, uint32_t id, const uint8_t key[BH_MC_KEY_LEN])
{
    if (bh_mc_tx_receiver(tx, id))
        return BH_ECONFLICT;
    if (tx->nrcv == tx->rcv_cap) {
        size_t cap = tx->rcv_cap ? tx->rcv_cap * 2 : 16;
        struct bh_mc_receiver *r = realloc(tx->rcv, cap * sizeof(*r));
        if (!r)
            return BH_ENOMEM;
        tx->rcv = r;
        tx->rcv_cap = cap;
    }
    struct bh_mc_receiver *r = &tx->rcv[tx->nrcv++];
    memset(r, 0, sizeof(*r));
    r->id = id;
    memcpy(r->key, key, BH_MC_KEY_LEN);
    return 0;
}

static enum bh_mc_drop dropped(struct bh_mc_tx *tx, enum bh_mc_drop why)
{
    tx->drops[why]++;
    return why;
}

enum bh_mc_drop bh_mc_tx_request(struct bh_mc_tx *tx, uint64_t session, const uint8_t *d, size_t n,
                                 int64_t now_ms)
{
    struct bh_mc_hdr h;
    struct bh_mc_request rq;
    enum bh_mc_drop why = bh_mc_parse_request(d, n, session, tx->cfg.nchunks, &h, &rq);
    if (why != BH_MC_OK)
        return dropped(tx, why);
    struct bh_mc_receiver *r = bh_mc_tx_receiver(tx, rq.receiver);
    if (!r)
        return dropped(tx, BH_MC_RECEIVER);
    if (!bh_mc_mac_ok(d, n, r->key))
        return dropped(tx, BH_MC_MAC);
    if (r->seen && (uint32_t)(h.seq - r->last_seq - 1) >= UINT32_MAX / 2)
        return dropped(tx, BH_MC_REPLAY); /* not above the last (modulo 2^32) */
    for (uint32_t i = 0; i < rq.count; i++) {
        if (!bit(rq.bitmap, i))
            continue;
        uint32_t c = rq.base + i;
        int64_t sent = tx->sent_ms[c];
        if (sent && now_ms - sent < tx->cfg.hold_ms)
            continue; /* on its way: this request may not know of it */
        if (sent && r->seen && sent >= r->last_req_ms) {
            r->lost++; /* it went out after this receiver last asked, and it asks again */
            tx->lost_chunks++;
            tx->win_lost++;
        }
        if (!bit(tx->pending, c)) {
            tx->pending[c / 8] |= (uint8_t)(0x80u >> (c % 8));
            tx->npending++;
        }
    }
    /* a receiver cannot have missed more than was sent since it last asked */
    uint64_t since = r->seen ? tx->dgrams - r->dgrams_at_req : tx->dgrams;
    uint64_t missed = rq.missed < since ? rq.missed : since;
    r->missed += missed;
    r->win_missed += missed;
    r->seen = true;
    r->dgrams_at_req = tx->dgrams;
    r->last_seq = h.seq;
    r->last_req_ms = now_ms;
    r->requests++;
    r->done = (h.flags & BH_MC_REQ_DONE) != 0;
    return BH_MC_OK;
}

int64_t bh_mc_tx_next(struct bh_mc_tx *tx, int64_t now_ms)
{
    if (!tx->npending)
        return -1;
    uint32_t n = tx->cfg.nchunks;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t c = tx->cursor + k < n ? tx->cursor + k : tx->cursor + k - n;
        if (!bit(tx->pending, c))
            continue;
        tx->pending[c / 8] &= (uint8_t) ~(0x80u >> (c % 8));
        tx->npending--;
        if (tx->sent_ms[c])
            tx->resent_chunks++;
        tx->sent_ms[c] = now_ms > 0 ? now_ms : 1;
        tx->sent_chunks++;
        tx->win_sent++;
        tx->cursor = c + 1 < n ? c + 1 : 0;
        return c;
    }
    return -1; /* not reached: npending counts the bits */
}

void bh_mc_tx_finished(struct bh_mc_tx *tx, uint32_t chunk, int64_t now_ms)
{
    if (chunk < tx->cfg.nchunks)
        tx->sent_ms[chunk] = now_ms > 0 ? now_ms : 1;
}

void bh_mc_tx_datagram(struct bh_mc_tx *tx)
{
    tx->dgrams++;
    tx->win_dgrams++;
}

void bh_mc_tx_adjust(struct bh_mc_tx *tx)
{
    double loss = tx->win_sent ? (double)tx->win_lost / (double)tx->win_sent : 0;
    for (size_t i = 0; i < tx->nrcv; i++) {
        double l = tx->win_dgrams ? (double)tx->rcv[i].win_missed / (double)tx->win_dgrams : 0;
        l = l > 1 ? 1 : l; /* a report can span more than this window */
        if (!tx->rcv[i].done && l > loss)
            loss = l;
        tx->rcv[i].win_missed = 0;
    }
    if (tx->win_sent || tx->win_dgrams) {
        if (loss > tx->cfg.loss_high)
            tx->rate *= 0.75; /* back off at once */
        else
            tx->rate += tx->cfg.rate_max / 20; /* and come back slowly */
    }
    if (tx->rate > tx->cfg.rate_max)
        tx->rate = tx->cfg.rate_max;
    if (tx->rate < tx->cfg.rate_min)
        tx->rate = tx->cfg.rate_min;
    tx->win_sent = tx->win_lost = tx->win_dgrams = 0;
}

bool bh_mc_tx_all_done(const struct bh_mc_tx *tx)
{
    for (size_t i = 0; i < tx->nrcv; i++)
        if (!tx->rcv[i].done)
            return false;
    return tx->nrcv > 0;
}
