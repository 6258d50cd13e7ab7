/*
 * test_mcast_io.c - the agent's multicast receiver (src/agent/mcast_recv.c)
 * over real sockets: three receivers in threads, each with its own cache,
 * join a group on the loopback of a network namespace this test makes
 * (root only: it says SKIP otherwise); the sender here is the protocol's
 * sender (xfer/mcast_tx.h) on a real UDP socket, dropping every 15th
 * datagram so that requests must bring the rest, and forging one fragment
 * of a chunk once.  Every receiver must end with every chunk in its cache,
 * byte for byte, having refused the forged chunk and got it again; one
 * starts with a quarter of them already cached and keeps only the rest;
 * datagrams of another session are dropped and counted.
 *
 * The second test runs the server's session (src/api/mcast_send.c: its own
 * libuv loop and thread, chunks read from a real chunk store, paced) to
 * the same receivers: every cache ends complete and the session says that
 * every receiver is done.
 */
#include "agent/cache.h"
#include "agent/mcast_recv.h"
#include "api/mcast_send.h"
#include "core/err.h"
#include "image/chunklist.h"
#include "image/manifest.h"
#include "xfer/mcast_tx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#define NCHUNKS 120
#define NRCV    3
#define SESSION 0xabcdef0102030405ull
#define GROUP   "239.255.77.1"
#define DPORT   47001
#define SPORT   47002
#define FRAG    1400

static const uint8_t gkey[BH_MC_KEY_LEN] = {0x61, 0x62};   /* the session's group key */
static const uint8_t badkey[BH_MC_KEY_LEN] = {0x66, 0x66}; /* an outsider's guess */
static uint8_t *frame[NCHUNKS];
static size_t frame_len[NCHUNKS];
static struct bh_chunklist list;
static char root[64];

static int64_t ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int no_fetch(void *ud, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z, struct bh_err *e)
{
    (void)ud, (void)id, (void)z;
    return bh_err_set(e, BH_EIO, NULL, "no server in this test");
}

struct rcv {
    struct bh_mc_join j;
    struct bh_cache cache;
    struct bh_mc_recv_stats st;
    int rc;
    _Atomic int64_t ended; /* ms() when bh_mc_receive returned */
};

static void *receive(void *arg)
{
    struct rcv *r = arg;
    struct bh_err e;
    r->rc = bh_mc_receive(&r->j, &list, &r->cache, &r->st, &e);
    r->ended = ms();
    if (r->rc)
        print_message("# receiver %u: %s\n", r->j.receiver, e.msg);
    return NULL;
}

/* the chunks: incompressible and compressible halves, 3-40 KB each */
static void make_chunks(void)
{
    struct bh_manifest m;
    bh_manifest_init(&m);
    uint32_t x = 99;
    for (int c = 0; c < NCHUNKS; c++) {
        size_t len = 3000 + (size_t)(c * 331) % 37000;
        uint8_t *raw = malloc(len);
        assert_non_null(raw);
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            raw[i] = i < len / 2 ? (uint8_t)(x >> 16) : (uint8_t)c;
        }
        uint8_t id[BH_SHA256_LEN];
        bh_sha256(raw, len, id);
        size_t cap = ZSTD_compressBound(len);
        frame[c] = malloc(cap);
        assert_non_null(frame[c]);
        frame_len[c] = ZSTD_compress(frame[c], cap, raw, len, 3);
        assert_false(ZSTD_isError(frame_len[c]));
        assert_int_equal(bh_manifest_add(&m, false, len, id), 0);
        free(raw);
    }
    bh_chunklist_init(&list);
    assert_int_equal(bh_chunklist_add(&list, &m, BH_MC_CHUNKS_MAX), 0);
    assert_int_equal(bh_chunklist_seal(&list), 0);
    assert_int_equal(list.n, NCHUNKS);
    bh_manifest_free(&m);
}

static int sender_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(SPORT)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    struct in_addr ifa = {.s_addr = htonl(INADDR_LOOPBACK)};
    unsigned char loop = 1, ttl = 1;
    assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifa, sizeof(ifa)), 0);
    assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)), 0);
    assert_int_equal(setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl)), 0);
    return fd;
}

static bool netns_ready;

/* a network namespace of this process's own, whose loopback carries
 * multicast (root only) */
static void own_netns(void)
{
    if (geteuid() != 0)
        skip();
    if (netns_ready)
        return;
    assert_int_equal(unshare(CLONE_NEWNET), 0);
    assert_int_equal(system("ip link set lo up && ip link set lo multicast on && "
                            "ip route add 224.0.0.0/4 dev lo"),
                     0);
    netns_ready = true;
}

static void test_three_receivers(void **state)
{
    (void)state;
    own_netns();
    make_chunks();
    snprintf(root, sizeof(root), "/tmp/bh-mcio.XXXXXX");
    assert_non_null(mkdtemp(root));

    struct bh_mc_tx tx;
    struct bh_mc_tx_cfg cfg = {
        .nchunks = NCHUNKS, .rate_max = 50e6, .rate_min = 1e6, .hold_ms = 100, .loss_high = 0.2};
    assert_int_equal(bh_mc_tx_init(&tx, &cfg), 0);
    struct rcv r[NRCV];
    pthread_t th[NRCV];
    struct bh_chunk_source none = {.fetch = no_fetch};
    for (int i = 0; i < NRCV; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        char dir[128];
        snprintf(dir, sizeof(dir), "%s/r%d", root, i);
        struct bh_err e;
        assert_int_equal(bh_cache_open(&r[i].cache, dir, &none, &e), 0);
        r[i].j.session = SESSION;
        inet_pton(AF_INET, GROUP, &r[i].j.group);
        r[i].j.port = DPORT;
        r[i].j.server.sin_family = AF_INET;
        r[i].j.server.sin_port = htons(SPORT);
        r[i].j.server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        r[i].j.receiver = (uint32_t)i + 1;
        memset(r[i].j.key, 0x30 + i, BH_MC_KEY_LEN);
        memcpy(r[i].j.group_key, gkey, BH_MC_KEY_LEN);
        r[i].j.request_ms = 50;
        r[i].j.idle_ms = 5000;
        assert_int_equal(bh_mc_tx_join(&tx, r[i].j.receiver, r[i].j.key), 0);
    }
    for (int c = 0; c < NCHUNKS / 4; c++) /* receiver 3 has a quarter already */
        assert_true(bh_cache_keep(&r[2].cache, list.id[c], frame[c], frame_len[c]));
    int fd = sender_socket();
    for (int i = 0; i < NRCV; i++)
        assert_int_equal(pthread_create(&th[i], NULL, receive, &r[i]), 0);

    struct sockaddr_in grp = {.sin_family = AF_INET, .sin_port = htons(DPORT)};
    inet_pton(AF_INET, GROUP, &grp.sin_addr);
    uint8_t d[2048], in[2048];
    uint32_t seq = 0;
    int64_t t0 = ms(), next_ann = 0;
    uint64_t dgrams = 0, dropped_here = 0;
    bool forged = false;
    while (!bh_mc_tx_all_done(&tx) && ms() - t0 < 30000) {
        ssize_t n;
        while ((n = recv(fd, in, sizeof(in), 0)) > 0)
            bh_mc_tx_request(&tx, SESSION, in, (size_t)n, ms());
        if (ms() >= next_ann) {
            struct bh_mc_announce a = {.nchunks = NCHUNKS, .state = BH_MC_RUNNING};
            size_t an = bh_mc_build_announce(d, sizeof(d), SESSION, ++seq, &a, gkey);
            sendto(fd, d, an, 0, (struct sockaddr *)&grp, sizeof(grp));
            /* and one of another session, which every receiver must drop */
            an = bh_mc_build_announce(d, sizeof(d), SESSION ^ 1, 1, &a, gkey);
            sendto(fd, d, an, 0, (struct sockaddr *)&grp, sizeof(grp));
            next_ann = ms() + 100;
        }
        int64_t c = bh_mc_tx_next(&tx, ms());
        if (c < 0) {
            usleep(2000);
            continue;
        }
        /* before each chunk: a datagram of another session; and once, a
         * forged first fragment of chunk 40 (the real one then is a
         * duplicate, the chunk fails its hash and is asked for again) */
        struct bh_mc_data fake = {.chunk = (uint32_t)c,
                                  .clen = (uint32_t)frame_len[c],
                                  .frag = FRAG,
                                  .payload = frame[c],
                                  .len = frame_len[c] < FRAG ? frame_len[c] : FRAG};
        size_t fn = bh_mc_build_data(d, sizeof(d), SESSION ^ 1, seq, &fake, gkey);
        sendto(fd, d, fn, 0, (struct sockaddr *)&grp, sizeof(grp));
        /* and an outsider's forgery (no group key): dropped as such */
        fn = bh_mc_build_data(d, sizeof(d), SESSION, seq + 1, &fake, badkey);
        sendto(fd, d, fn, 0, (struct sockaddr *)&grp, sizeof(grp));
        if (c == 40 && !forged) { /* an insider's (with the key): the hash catches it */
            uint8_t junk[FRAG];
            memset(junk, 0xee, sizeof(junk));
            fake.payload = junk;
            fn = bh_mc_build_data(d, sizeof(d), SESSION, ++seq, &fake, gkey);
            sendto(fd, d, fn, 0, (struct sockaddr *)&grp, sizeof(grp));
            forged = true;
        }
        for (uint32_t off = 0; off < frame_len[c]; off += FRAG) {
            struct bh_mc_data dt = {.chunk = (uint32_t)c,
                                    .clen = (uint32_t)frame_len[c],
                                    .off = off,
                                    .frag = FRAG,
                                    .payload = frame[c] + off};
            dt.len = frame_len[c] - off < FRAG ? frame_len[c] - off : FRAG;
            size_t dn = bh_mc_build_data(d, sizeof(d), SESSION, ++seq, &dt, gkey);
            assert_true(dn > 0);
            dgrams++;
            if (dgrams % 15 == 0) {
                dropped_here++; /* "lost on the wire": requests must bring it */
                continue;
            }
            assert_true(sendto(fd, d, dn, 0, (struct sockaddr *)&grp, sizeof(grp)) > 0);
            if (dgrams % 32 == 0)
                usleep(1000); /* a crude pace: loopback is faster than the loop */
        }
    }
    for (int i = 0; i < NRCV; i++)
        pthread_join(th[i], NULL);
    close(fd);
    print_message("# %llu chunks sent (%llu again), %llu datagrams (%llu dropped here)\n",
                  (unsigned long long)tx.sent_chunks, (unsigned long long)tx.resent_chunks,
                  (unsigned long long)dgrams, (unsigned long long)dropped_here);
    for (int i = 0; i < NRCV; i++) {
        print_message("# receiver %d: %llu kept, %llu had, %llu bad, %llu missed, %llu requests, "
                      "%llu foreign\n",
                      i + 1, (unsigned long long)r[i].st.chunks, (unsigned long long)r[i].st.had,
                      (unsigned long long)r[i].st.bad, (unsigned long long)r[i].st.missed,
                      (unsigned long long)r[i].st.requests,
                      (unsigned long long)r[i].st.drops[BH_MC_SESSION]);
        assert_int_equal(r[i].rc, 0);
        assert_true(r[i].st.complete);
        assert_int_equal(r[i].st.bad, 1);          /* the insider's chunk 40, refused, then had */
        assert_true(r[i].st.drops[BH_MC_MAC] > 0); /* the outsider's, never taken */
        assert_true(r[i].st.drops[BH_MC_SESSION] > 0);
        assert_int_equal(r[i].st.had + r[i].st.chunks, NCHUNKS);
        /* the cache holds each frame, byte for byte, and a fetch takes it */
        for (int c = 0; c < NCHUNKS; c++) {
            struct bh_buf z;
            struct bh_err e;
            bh_buf_init(&z, 1 << 20);
            assert_int_equal(bh_cache_fetch(&r[i].cache, list.id[c], &z, &e), 0);
            assert_int_equal(z.len, frame_len[c]);
            assert_memory_equal(z.p, frame[c], frame_len[c]);
            bh_buf_free(&z);
        }
    }
    assert_int_equal(r[2].st.had, NCHUNKS / 4);
    assert_true(tx.drops[BH_MC_MAC] == 0 && tx.drops[BH_MC_REPLAY] == 0);
    /* one group, three receivers: fewer chunks than three copies */
    assert_true(tx.sent_chunks < 3 * NCHUNKS);
    bh_mc_tx_free(&tx);
    bh_chunklist_free(&list);
    for (int c = 0; c < NCHUNKS; c++)
        free(frame[c]);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

static void test_server_session(void **state)
{
    (void)state;
    own_netns();
    make_chunks();
    snprintf(root, sizeof(root), "/tmp/bh-mcio.XXXXXX");
    assert_non_null(mkdtemp(root));
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/store", root);
    struct bh_chunkstore *cs;
    struct bh_err e;
    assert_int_equal(bh_cs_open(dir, &cs, &e), 0);
    for (int c = 0; c < NCHUNKS; c++) {
        bool added;
        assert_int_equal(bh_cs_put(cs, list.id[c], frame[c], frame_len[c], true, &added, &e), 0);
    }
    struct bh_mc_send_cfg cfg = {
        .port = DPORT + 10, .ttl = 1, .mtu = 1500, .rate_max = 40e6, .rate_min = 1e6};
    inet_pton(AF_INET, GROUP, &cfg.group);
    cfg.ifaddr.s_addr = htonl(INADDR_LOOPBACK);
    struct bh_mc_send *snd = bh_mc_send_start(&cfg, &list, cs, &e);
    assert_non_null(snd);
    struct rcv r[NRCV];
    pthread_t th[NRCV];
    struct bh_chunk_source none = {.fetch = no_fetch};
    for (int i = 0; i < NRCV; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        snprintf(dir, sizeof(dir), "%s/r%d", root, i);
        assert_int_equal(bh_cache_open(&r[i].cache, dir, &none, &e), 0);
        r[i].j.session = bh_mc_send_session(snd);
        r[i].j.group = cfg.group;
        r[i].j.port = cfg.port;
        r[i].j.server = bh_mc_send_addr(snd);
        r[i].j.request_ms = 100;
        r[i].j.idle_ms = 5000;
        assert_int_equal(bh_mc_send_join(snd, &r[i].j.receiver, r[i].j.key, r[i].j.group_key, &e),
                         0);
    }
    for (int i = 0; i < NRCV; i++)
        assert_int_equal(pthread_create(&th[i], NULL, receive, &r[i]), 0);
    for (int i = 0; i < NRCV; i++)
        pthread_join(th[i], NULL);
    struct bh_mc_send_stats st;
    for (int k = 0; k < 50; k++) { /* the last DONE requests on their way */
        bh_mc_send_stats(snd, &st);
        if (st.done == NRCV)
            break;
        usleep(20000);
    }
    print_message("# session: %llu chunks sent (%llu again), %llu datagrams, %llu bytes, %u of "
                  "%u receivers done\n",
                  (unsigned long long)st.sent_chunks, (unsigned long long)st.resent_chunks,
                  (unsigned long long)st.datagrams, (unsigned long long)st.bytes, st.done,
                  st.receivers);
    bh_mc_send_stop(snd);
    for (int i = 0; i < NRCV; i++)
        print_message("# receiver %d: %llu kept, %llu missed, %llu requests\n", i + 1,
                      (unsigned long long)r[i].st.chunks, (unsigned long long)r[i].st.missed,
                      (unsigned long long)r[i].st.requests);
    assert_int_equal(st.done, NRCV);
    assert_true(st.sent_chunks >= NCHUNKS && st.sent_chunks < 3 * NCHUNKS);
    for (int i = 0; i < NRCV; i++) {
        assert_int_equal(r[i].rc, 0);
        assert_true(r[i].st.complete);
        assert_int_equal(r[i].st.chunks, NCHUNKS);
        for (int c = 0; c < NCHUNKS; c++) {
            struct bh_buf z;
            bh_buf_init(&z, 1 << 20);
            assert_int_equal(bh_cache_fetch(&r[i].cache, list.id[c], &z, &e), 0);
            assert_memory_equal(z.p, frame[c], frame_len[c]);
            bh_buf_free(&z);
        }
    }
    bh_cs_close(cs);
    bh_chunklist_free(&list);
    for (int c = 0; c < NCHUNKS; c++)
        free(frame[c]);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

/* a session that sends nothing useful: the receiver gives up after
 * idle_ms without a new chunk, though datagrams keep coming (an ANNOUNCE
 * of the session, a forged one of another size), and leaves the rest to
 * HTTP */
static void test_quiet_session(void **state)
{
    (void)state;
    own_netns();
    make_chunks();
    snprintf(root, sizeof(root), "/tmp/bh-mcio.XXXXXX");
    assert_non_null(mkdtemp(root));
    struct rcv r;
    memset(&r, 0, sizeof(r));
    char dir[128];
    snprintf(dir, sizeof(dir), "%s/q", root);
    struct bh_chunk_source none = {.fetch = no_fetch};
    struct bh_err e;
    assert_int_equal(bh_cache_open(&r.cache, dir, &none, &e), 0);
    r.j.session = SESSION;
    inet_pton(AF_INET, GROUP, &r.j.group);
    r.j.port = DPORT + 20;
    r.j.server.sin_family = AF_INET;
    r.j.server.sin_port = htons(SPORT);
    r.j.server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r.j.receiver = 1;
    memcpy(r.j.group_key, gkey, BH_MC_KEY_LEN);
    r.j.request_ms = 50;
    r.j.idle_ms = 300;
    int fd = sender_socket();
    pthread_t th;
    int64_t t0 = ms();
    assert_int_equal(pthread_create(&th, NULL, receive, &r), 0);
    struct sockaddr_in grp = {.sin_family = AF_INET, .sin_port = htons(DPORT + 20)};
    inet_pton(AF_INET, GROUP, &grp.sin_addr);
    uint8_t d[64];
    for (uint32_t k = 0; k < 60 && !r.ended; k++) {
        struct bh_mc_announce a = {.nchunks = NCHUNKS, .state = BH_MC_RUNNING};
        a.nchunks = k % 2 ? NCHUNKS : NCHUNKS + 1; /* every other one of another size */
        size_t n = bh_mc_build_announce(d, sizeof(d), SESSION, k + 1, &a, gkey);
        sendto(fd, d, n, 0, (struct sockaddr *)&grp, sizeof(grp));
        n = bh_mc_build_announce(d, sizeof(d), SESSION, k + 1, &a, badkey); /* forged */
        sendto(fd, d, n, 0, (struct sockaddr *)&grp, sizeof(grp));
        usleep(50000);
    }
    pthread_join(th, NULL);
    int64_t took = r.ended - t0;
    close(fd);
    print_message("# quiet session: gave up after %lld ms, %llu requests, %llu bad announces\n",
                  (long long)took, (unsigned long long)r.st.requests,
                  (unsigned long long)r.st.drops[BH_MC_BOUNDS]);
    assert_int_equal(r.rc, 0);
    assert_false(r.st.complete);
    assert_int_equal(r.st.chunks, 0);
    assert_true(r.st.drops[BH_MC_BOUNDS] > 0);
    assert_true(r.st.drops[BH_MC_MAC] > 0);
    assert_true(took >= 300 && took < 3000);
    bh_chunklist_free(&list);
    for (int c = 0; c < NCHUNKS; c++)
        free(frame[c]);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_receivers),
        cmocka_unit_test(test_server_session),
        cmocka_unit_test(test_quiet_session),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
