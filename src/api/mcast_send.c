/*
 * mcast_send.c - the server's side of a multicast session (see
 * mcast_send.h).
 */
#include "mcast_send.h"

#include "core/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH       128 /* datagrams per turn of the loop, so requests are read between */
#define TICK_MS     250 /* rate adjustment; an ANNOUNCE every 4 ticks */
#define HOLD_MS     300 /* no resend of a chunk sooner: a request round and then some */
#define LOSS_HIGH   0.02
#define REQ_BUF_MAX 2048

struct bh_mc_send {
    struct bh_mc_send_cfg cfg;
    const struct bh_chunklist *l;
    struct bh_chunkstore *cs;
    int fd;
    struct sockaddr_in group, self;
    uint16_t frag;
    pthread_t th;
    uv_loop_t loop;
    uv_poll_t poll;
    uv_timer_t pump, tick;
    uv_async_t stop;
    pthread_mutex_t mu; /* tx, next_rcv and the counters, between the loop and the API */
    struct bh_mc_tx tx;
    struct bh_tb tb;
    uint32_t seq, aseq, next_rcv, ticks; /* seq: DATA's; aseq: ANNOUNCE's */
    int64_t cur;                         /* the chunk being sent, or -1 */
    uint8_t *frame;
    size_t frame_len, frame_cap, off;
    uint64_t datagrams, bytes, missing;
    uint8_t gkey[BH_MC_KEY_LEN]; /* the group key: DATA and ANNOUNCE are MACed with it */
    uint8_t dgram[BH_MC_DGRAM_MAX], rbuf[REQ_BUF_MAX], abuf[BH_MC_ANN_LEN];
};

static int64_t now_ms(void)
{
    return (int64_t)(bh_mono_ns() / 1000000u);
}

/* the stored frame of chunk c into s->frame */
static int load(struct bh_mc_send *s, uint32_t c)
{
    int fd;
    uint64_t zsize;
    if (bh_cs_open_chunk(s->cs, s->l->id[c], &fd, &zsize, NULL))
        return -1;
    int rc = -1;
    if (zsize > 0 && zsize <= BH_MC_CHUNK_MAX) {
        if (zsize > s->frame_cap) {
            uint8_t *p = realloc(s->frame, zsize);
            if (p) {
                s->frame = p;
                s->frame_cap = zsize;
            }
        }
        if (zsize <= s->frame_cap && pread(fd, s->frame, zsize, 0) == (ssize_t)zsize) {
            s->frame_len = zsize;
            rc = 0;
        }
    }
    close(fd);
    return rc;
}

/* send what the bucket allows; come back when there are tokens again.
 * The mutex is held only around the sender's state, never over a read. */
static void on_pump(uv_timer_t *t)
{
    struct bh_mc_send *s = t->data;
    int64_t wait = -1;
    pthread_mutex_lock(&s->mu);
    s->tb.rate = s->tx.rate;
    pthread_mutex_unlock(&s->mu);
    for (int k = 0; k < BATCH; k++) {
        if (s->cur < 0) {
            pthread_mutex_lock(&s->mu);
            s->cur = bh_mc_tx_next(&s->tx, now_ms());
            pthread_mutex_unlock(&s->mu);
            if (s->cur < 0)
                break; /* nothing asked for: a request wakes the pump */
            if (load(s, (uint32_t)s->cur)) {
                s->missing++;
                s->cur = -1;
                continue; /* the receivers fetch it by HTTP in the end */
            }
            s->off = 0;
        }
        size_t len = s->frame_len - s->off < s->frag ? s->frame_len - s->off : s->frag;
        struct bh_mc_data dt = {.chunk = (uint32_t)s->cur,
                                .clen = (uint32_t)s->frame_len,
                                .off = (uint32_t)s->off,
                                .frag = s->frag,
                                .payload = s->frame + s->off,
                                .len = len};
        size_t n =
            bh_mc_build_data(s->dgram, sizeof(s->dgram), s->cfg.session, s->seq + 1, &dt, s->gkey);
        int64_t w = bh_tb_take(&s->tb, now_ms(), n);
        if (w > 0) {
            wait = w;
            break;
        }
        if (sendto(s->fd, s->dgram, n, 0, (struct sockaddr *)&s->group, sizeof(s->group)) < 0) {
            wait = errno == EAGAIN || errno == ENOBUFS ? 1 : 100;
            break;
        }
        s->seq++;
        s->off += len;
        pthread_mutex_lock(&s->mu);
        s->datagrams++;
        s->bytes += n;
        bh_mc_tx_datagram(&s->tx);
        if (s->off >= s->frame_len) {
            bh_mc_tx_finished(&s->tx, (uint32_t)s->cur, now_ms());
            s->cur = -1;
        }
        pthread_mutex_unlock(&s->mu);
        if (k == BATCH - 1)
            wait = 0; /* more to do: after the loop has read requests */
    }
    if (wait >= 0)
        uv_timer_start(&s->pump, on_pump, (uint64_t)wait, 0);
}

static void kick(struct bh_mc_send *s)
{
    if (!uv_is_active((uv_handle_t *)&s->pump))
        uv_timer_start(&s->pump, on_pump, 0, 0);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    struct bh_mc_send *s = p->data;
    (void)events;
    if (status < 0)
        return;
    ssize_t n;
    bool queued = false;
    /* a bounded number per turn, so a flood cannot starve the pump or stop */
    for (int k = 0; k < 256 && (n = recv(s->fd, s->rbuf, sizeof(s->rbuf), 0)) >= 0; k++) {
        pthread_mutex_lock(&s->mu);
        enum bh_mc_drop why =
            bh_mc_tx_request(&s->tx, s->cfg.session, s->rbuf, (size_t)n, now_ms());
        queued |= why == BH_MC_OK && s->tx.npending;
        pthread_mutex_unlock(&s->mu);
    }
    if (queued)
        kick(s);
}

static void on_tick(uv_timer_t *t)
{
    struct bh_mc_send *s = t->data;
    pthread_mutex_lock(&s->mu);
    bh_mc_tx_adjust(&s->tx);
    bool announce = s->ticks++ % 4 == 0;
    size_t n = 0;
    if (announce) {
        struct bh_mc_announce a = {.nchunks = s->tx.cfg.nchunks,
                                   .rate_kbit = (uint32_t)(s->tx.rate * 8 / 1000),
                                   .state = BH_MC_RUNNING};
        /* its own numbers: DATA's seq has no gap for receivers to count */
        n = bh_mc_build_announce(s->abuf, sizeof(s->abuf), s->cfg.session, ++s->aseq, &a, s->gkey);
    }
    pthread_mutex_unlock(&s->mu);
    if (n) /* a lost ANNOUNCE is no loss: the next one comes */
        (void)sendto(s->fd, s->abuf, n, 0, (struct sockaddr *)&s->group, sizeof(s->group));
}

static void on_close(uv_handle_t *h)
{
    (void)h;
}

static void on_stop(uv_async_t *a)
{
    struct bh_mc_send *s = a->data;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_close);
    uv_close((uv_handle_t *)&s->pump, on_close);
    uv_close((uv_handle_t *)&s->tick, on_close);
    uv_close((uv_handle_t *)&s->stop, on_close);
}

static void *run(void *arg)
{
    struct bh_mc_send *s = arg;
    uv_run(&s->loop, UV_RUN_DEFAULT);
    return NULL;
}

static int open_socket(struct bh_mc_send *s, struct bh_err *err)
{
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return bh_err_set(err, BH_ESYS, NULL, "multicast socket: %s", strerror(errno));
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = htons(s->cfg.req_port), .sin_addr = s->cfg.ifaddr};
    unsigned char ttl = (unsigned char)(s->cfg.ttl ? s->cfg.ttl : 1), loop = 1;
    int size = 4 << 20;
    socklen_t sl = sizeof(s->self);
    const char *what = NULL;
    setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)))
        what = "bind the request port";
    else if (getsockname(s->fd, (struct sockaddr *)&s->self, &sl))
        what = "read the request port";
    else if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &s->cfg.ifaddr, sizeof(s->cfg.ifaddr)))
        what = "send on the interface";
    else if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)))
        what = "set the TTL";
    else if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)))
        what = "loop to local receivers";
    if (what) {
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &s->cfg.ifaddr, a, sizeof(a));
        int rc = bh_err_set(err, BH_ESYS, NULL, "multicast on %s: cannot %s: %s", a, what,
                            strerror(errno));
        close(s->fd);
        s->fd = -1;
        return rc;
    }
    return 0;
}

/* undo a start that failed after the sender's state and mutex were made:
 * the socket (if open), the loop (if made), everything; err is set */
static struct bh_mc_send *start_failed(struct bh_mc_send *s, bool loop)
{
    if (loop)
        uv_loop_close(&s->loop);
    if (s->fd >= 0)
        close(s->fd);
    bh_mc_tx_free(&s->tx);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}

struct bh_mc_send *bh_mc_send_start(const struct bh_mc_send_cfg *cfg, const struct bh_chunklist *l,
                                    struct bh_chunkstore *cs, struct bh_err *err)
{
    struct bh_mc_send *s = calloc(1, sizeof(*s));
    if (!s)
        return bh_err_set(err, BH_ENOMEM, NULL, "multicast: out of memory"), NULL;
    s->cfg = *cfg;
    s->l = l;
    s->cs = cs;
    s->cur = -1;
    s->fd = -1;
    if ((!s->cfg.session &&
         RAND_bytes((unsigned char *)&s->cfg.session, sizeof(s->cfg.session)) != 1) ||
        RAND_bytes(s->gkey, sizeof(s->gkey)) != 1) {
        free(s);
        return bh_err_set(err, BH_ESYS, NULL, "multicast: no random session id or key"), NULL;
    }
    s->frag = bh_mc_frag_for_mtu(cfg->mtu ? cfg->mtu : 1500);
    s->group = (struct sockaddr_in){
        .sin_family = AF_INET, .sin_port = htons(cfg->port), .sin_addr = cfg->group};
    struct bh_mc_tx_cfg tc = {.nchunks = (uint32_t)l->n,
                              .rate_max = cfg->rate_max,
                              .rate_min = cfg->rate_min,
                              .hold_ms = HOLD_MS,
                              .loss_high = LOSS_HIGH};
    if (l->n == 0 || l->n > BH_MC_CHUNKS_MAX || bh_mc_tx_init(&s->tx, &tc)) {
        free(s);
        return bh_err_set(err, BH_EINVAL, NULL,
                          "multicast: %zu chunks, or a rate that is not 0 < min <= max", l->n),
               NULL;
    }
    bh_tb_init(&s->tb, cfg->rate_max, cfg->rate_max / 50 + 65536, now_ms());
    pthread_mutex_init(&s->mu, NULL);
    if (open_socket(s, err))
        return start_failed(s, false);
    if (uv_loop_init(&s->loop)) {
        bh_err_set(err, BH_ESYS, NULL, "multicast: no event loop");
        return start_failed(s, false);
    }
    if (uv_poll_init(&s->loop, &s->poll, s->fd)) {
        bh_err_set(err, BH_ESYS, NULL, "multicast: cannot watch the socket");
        return start_failed(s, true);
    }
    uv_timer_init(&s->loop, &s->pump);
    uv_timer_init(&s->loop, &s->tick);
    uv_async_init(&s->loop, &s->stop, on_stop);
    s->poll.data = s->pump.data = s->tick.data = s->stop.data = s;
    uv_poll_start(&s->poll, UV_READABLE, on_readable);
    uv_timer_start(&s->tick, on_tick, 0, TICK_MS);
    if (pthread_create(&s->th, NULL, run, s)) {
        bh_err_set(err, BH_ESYS, NULL, "multicast: no thread");
        on_stop(&s->stop);
        uv_run(&s->loop, UV_RUN_DEFAULT);
        return start_failed(s, true);
    }
    return s;
}

int bh_mc_send_join(struct bh_mc_send *s, uint32_t *receiver, uint8_t key[BH_MC_KEY_LEN],
                    uint8_t group_key[BH_MC_KEY_LEN], struct bh_err *err)
{
    memcpy(group_key, s->gkey, BH_MC_KEY_LEN); /* set at start, never changed */
    if (RAND_bytes(key, BH_MC_KEY_LEN) != 1)
        return bh_err_set(err, BH_ESYS, NULL, "multicast: no random key");
    pthread_mutex_lock(&s->mu);
    *receiver = ++s->next_rcv;
    int rc = bh_mc_tx_join(&s->tx, *receiver, key);
    pthread_mutex_unlock(&s->mu);
    return rc ? bh_err_set(err, rc, NULL, "multicast: cannot add a receiver") : 0;
}

struct sockaddr_in bh_mc_send_addr(const struct bh_mc_send *s)
{
    return s->self;
}

uint64_t bh_mc_send_session(const struct bh_mc_send *s)
{
    return s->cfg.session;
}

void bh_mc_send_stats(struct bh_mc_send *s, struct bh_mc_send_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->mu);
    out->session = s->cfg.session;
    out->nchunks = s->tx.cfg.nchunks;
    out->receivers = (uint32_t)s->tx.nrcv;
    for (size_t i = 0; i < s->tx.nrcv; i++)
        out->done += s->tx.rcv[i].done;
    out->sent_chunks = s->tx.sent_chunks;
    out->resent_chunks = s->tx.resent_chunks;
    out->lost_chunks = s->tx.lost_chunks;
    out->datagrams = s->datagrams;
    out->bytes = s->bytes;
    out->rate = s->tx.rate;
    memcpy(out->drops, s->tx.drops, sizeof(out->drops));
    pthread_mutex_unlock(&s->mu);
}

void bh_mc_send_stop(struct bh_mc_send *s)
{
    if (!s)
        return;
    uv_async_send(&s->stop);
    pthread_join(s->th, NULL);
    uv_loop_close(&s->loop);
    close(s->fd);
    bh_mc_tx_free(&s->tx);
    pthread_mutex_destroy(&s->mu);
    free(s->frame);
    free(s);
}
