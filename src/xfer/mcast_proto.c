/*
 * mcast_proto.c - the multicast session's datagrams (see mcast_proto.h).
 */
#include "mcast_proto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const uint8_t magic[4] = {'B', 'H', 'M', 'C'};

static const char *const drop_names[BH_MC_DROP_COUNT] = {
    "ok",      "short",  "magic", "version", "type",     "flags",
    "session", "bounds", "mac",   "replay",  "receiver",
};

const char *bh_mc_drop_name(enum bh_mc_drop d)
{
    return (unsigned)d < BH_MC_DROP_COUNT ? drop_names[d] : "?";
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

enum bh_mc_drop bh_mc_parse_hdr(const uint8_t *d, size_t n, uint64_t session, struct bh_mc_hdr *h)
{
    if (n < BH_MC_HDR)
        return n >= 4 && memcmp(d, magic, 4) ? BH_MC_MAGIC : BH_MC_SHORT;
    if (memcmp(d, magic, 4))
        return BH_MC_MAGIC;
    if (d[4] != BH_MC_VERSION)
        return BH_MC_VERS;
    h->type = d[5];
    h->flags = get16(d + 6);
    h->session = get64(d + 8);
    h->seq = get32(d + 16);
    if (h->type < BH_MC_DATA || h->type > BH_MC_REQUEST)
        return BH_MC_TYPE;
    if (h->flags & ~(h->type == BH_MC_REQUEST ? BH_MC_REQ_DONE : 0u))
        return BH_MC_FLAGS;
    if (session && h->session != session)
        return BH_MC_SESSION;
    return BH_MC_OK;
}

/* the header, and that the datagram is of type `type` */
static enum bh_mc_drop typed_hdr(const uint8_t *d, size_t n, uint64_t session, uint8_t type,
                                 struct bh_mc_hdr *h)
{
    enum bh_mc_drop r = bh_mc_parse_hdr(d, n, session, h);
    if (r == BH_MC_OK && h->type != type)
        r = BH_MC_TYPE;
    return r;
}

/* the rules a DATA's fields keep, for parsing and building alike */
static bool data_ok(const struct bh_mc_data *dt, uint32_t nchunks)
{
    if (dt->chunk >= nchunks || dt->clen == 0 || dt->clen > BH_MC_CHUNK_MAX ||
        dt->frag < BH_MC_FRAG_MIN || dt->frag > BH_MC_FRAG_MAX || dt->off >= dt->clen ||
        dt->off % dt->frag)
        return false;
    uint32_t left = dt->clen - dt->off;
    return dt->len == (left < dt->frag ? left : dt->frag);
}

enum bh_mc_drop bh_mc_parse_data(const uint8_t *d, size_t n, uint64_t session, uint32_t nchunks,
                                 struct bh_mc_hdr *h, struct bh_mc_data *out)
{
    enum bh_mc_drop r = typed_hdr(d, n, session, BH_MC_DATA, h);
    if (r != BH_MC_OK)
        return r;
    if (n <= BH_MC_DATA_HDR + BH_MC_MAC_LEN)
        return BH_MC_SHORT;
    out->chunk = get32(d + 20);
    out->clen = get32(d + 24);
    out->off = get32(d + 28);
    out->frag = get16(d + 32);
    out->payload = d + BH_MC_DATA_HDR;
    out->len = n - BH_MC_DATA_HDR - BH_MC_MAC_LEN;
    if (get16(d + 34) != 0 || !data_ok(out, nchunks))
        return BH_MC_BOUNDS;
    return BH_MC_OK;
}

enum bh_mc_drop bh_mc_parse_announce(const uint8_t *d, size_t n, uint64_t session,
                                     struct bh_mc_hdr *h, struct bh_mc_announce *out)
{
    enum bh_mc_drop r = typed_hdr(d, n, session, BH_MC_ANNOUNCE, h);
    if (r != BH_MC_OK)
        return r;
    if (n != BH_MC_ANN_LEN)
        return n < BH_MC_ANN_LEN ? BH_MC_SHORT : BH_MC_BOUNDS;
    out->nchunks = get32(d + 20);
    out->rate_kbit = get32(d + 24);
    out->state = d[28];
    if (out->nchunks == 0 || out->nchunks > BH_MC_CHUNKS_MAX ||
        (out->state != BH_MC_RUNNING && out->state != BH_MC_ENDING) || d[29] || d[30] || d[31])
        return BH_MC_BOUNDS;
    return BH_MC_OK;
}

enum bh_mc_drop bh_mc_parse_request(const uint8_t *d, size_t n, uint64_t session, uint32_t nchunks,
                                    struct bh_mc_hdr *h, struct bh_mc_request *out)
{
    enum bh_mc_drop r = typed_hdr(d, n, session, BH_MC_REQUEST, h);
    if (r != BH_MC_OK)
        return r;
    if (n < BH_MC_REQ_HDR + BH_MC_MAC_LEN)
        return BH_MC_SHORT;
    out->receiver = get32(d + 20);
    out->base = get32(d + 24);
    out->count = get32(d + 28);
    out->missed = get32(d + 32);
    out->bitmap = d + BH_MC_REQ_HDR;
    size_t bytes = ((size_t)out->count + 7) / 8;
    if (n - BH_MC_REQ_HDR - BH_MC_MAC_LEN != bytes)
        return n - BH_MC_REQ_HDR - BH_MC_MAC_LEN < bytes ? BH_MC_SHORT : BH_MC_BOUNDS;
    if (out->count > BH_MC_REQ_BITS || out->base > nchunks || out->count > nchunks - out->base)
        return BH_MC_BOUNDS;
    if (out->count % 8 && (out->bitmap[bytes - 1] & (0xffu >> (out->count % 8))))
        return BH_MC_BOUNDS; /* bits past count */
    return BH_MC_OK;
}

/* false when HMAC fails (then nothing may pass as authentic) */
static bool mac_of(const uint8_t *d, size_t n, const uint8_t key[BH_MC_KEY_LEN],
                   uint8_t out[BH_MC_MAC_LEN])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, BH_MC_KEY_LEN, d, n, md, &len) || len < BH_MC_MAC_LEN)
        return false;
    memcpy(out, md, BH_MC_MAC_LEN);
    return true;
}

bool bh_mc_mac_ok(const uint8_t *d, size_t n, const uint8_t key[BH_MC_KEY_LEN])
{
    uint8_t want[BH_MC_MAC_LEN];
    return n >= BH_MC_HDR + BH_MC_MAC_LEN && mac_of(d, n - BH_MC_MAC_LEN, key, want) &&
           CRYPTO_memcmp(want, d + n - BH_MC_MAC_LEN, BH_MC_MAC_LEN) == 0;
}

static void put_hdr(uint8_t *out, uint8_t type, uint16_t flags, uint64_t session, uint32_t seq)
{
    memcpy(out, magic, 4);
    out[4] = BH_MC_VERSION;
    out[5] = type;
    put16(out + 6, flags);
    put64(out + 8, session);
    put32(out + 16, seq);
}

size_t bh_mc_build_data(uint8_t *out, size_t cap, uint64_t session, uint32_t seq,
                        const struct bh_mc_data *dt, const uint8_t key[BH_MC_KEY_LEN])
{
    size_t n = BH_MC_DATA_HDR + dt->len + BH_MC_MAC_LEN;
    if (!data_ok(dt, BH_MC_CHUNKS_MAX) || n > cap || n > BH_MC_DGRAM_MAX)
        return 0;
    put_hdr(out, BH_MC_DATA, 0, session, seq);
    put32(out + 20, dt->chunk);
    put32(out + 24, dt->clen);
    put32(out + 28, dt->off);
    put16(out + 32, dt->frag);
    put16(out + 34, 0);
    memmove(out + BH_MC_DATA_HDR, dt->payload, dt->len);
    return mac_of(out, n - BH_MC_MAC_LEN, key, out + n - BH_MC_MAC_LEN) ? n : 0;
}

size_t bh_mc_build_announce(uint8_t *out, size_t cap, uint64_t session, uint32_t seq,
                            const struct bh_mc_announce *a, const uint8_t key[BH_MC_KEY_LEN])
{
    if (cap < BH_MC_ANN_LEN || a->nchunks == 0 || a->nchunks > BH_MC_CHUNKS_MAX ||
        (a->state != BH_MC_RUNNING && a->state != BH_MC_ENDING))
        return 0;
    put_hdr(out, BH_MC_ANNOUNCE, 0, session, seq);
    put32(out + 20, a->nchunks);
    put32(out + 24, a->rate_kbit);
    out[28] = a->state;
    out[29] = out[30] = out[31] = 0;
    return mac_of(out, BH_MC_ANN_LEN - BH_MC_MAC_LEN, key, out + BH_MC_ANN_LEN - BH_MC_MAC_LEN)
               ? BH_MC_ANN_LEN
               : 0;
}

size_t bh_mc_build_request(uint8_t *out, size_t cap, uint64_t session, uint32_t seq, uint16_t flags,
                           const struct bh_mc_request *r, const uint8_t key[BH_MC_KEY_LEN])
{
    size_t bytes = ((size_t)r->count + 7) / 8;
    size_t n = BH_MC_REQ_HDR + bytes + BH_MC_MAC_LEN;
    if (r->count > BH_MC_REQ_BITS || (flags & ~BH_MC_REQ_DONE) || n > cap)
        return 0;
    put_hdr(out, BH_MC_REQUEST, flags, session, seq);
    put32(out + 20, r->receiver);
    put32(out + 24, r->base);
    put32(out + 28, r->count);
    put32(out + 32, r->missed);
    if (bytes) {
        memmove(out + BH_MC_REQ_HDR, r->bitmap, bytes);
        if (r->count % 8)
            out[BH_MC_REQ_HDR + bytes - 1] &= (uint8_t)(0xffu << (8 - r->count % 8));
    }
    return mac_of(out, n - BH_MC_MAC_LEN, key, out + n - BH_MC_MAC_LEN) ? n : 0;
}

uint16_t bh_mc_frag_for_mtu(unsigned mtu)
{
    unsigned hdrs = 28 + BH_MC_DATA_HDR + BH_MC_MAC_LEN;
    unsigned room = mtu > hdrs ? mtu - hdrs : 0;
    if (room > BH_MC_FRAG_MAX)
        room = BH_MC_FRAG_MAX;
    return (uint16_t)(room < BH_MC_FRAG_MIN ? BH_MC_FRAG_MIN : room);
}
