/*
 * wol_io.c - Wake-on-LAN, the I/O half: the local interfaces, the UDP
 * send, and the worker thread that sends queued wakes one host at a time,
 * `stagger_ms` apart, so a room's power supplies do not all start at once.
 */
#include "wol.h"

#include "bootwork.h"
#include "core/log.h"
#include "core/mac.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int bh_wol_ifaces(struct bh_wol_iface **out, size_t *n, struct bh_err *err)
{
    struct ifaddrs *all, *a;
    *out = NULL;
    *n = 0;
    if (getifaddrs(&all) < 0)
        return bh_err_set(err, BH_ESYS, NULL, "getifaddrs: %s", strerror(errno));
    size_t cap = 0;
    for (a = all; a; a = a->ifa_next)
        if (a->ifa_addr && a->ifa_addr->sa_family == AF_INET && a->ifa_netmask)
            cap++;
    struct bh_wol_iface *v = calloc(cap ? cap : 1, sizeof(*v));
    if (!v) {
        freeifaddrs(all);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    size_t i = 0;
    for (a = all; a && i < cap; a = a->ifa_next) {
        if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_netmask)
            continue;
        struct bh_wol_iface *f = &v[i++];
        bh_strlcpy(f->name, a->ifa_name, sizeof(f->name));
        f->addr = ((const struct sockaddr_in *)(const void *)a->ifa_addr)->sin_addr;
        f->mask = ((const struct sockaddr_in *)(const void *)a->ifa_netmask)->sin_addr;
        f->up = (a->ifa_flags & IFF_UP) && (a->ifa_flags & IFF_RUNNING);
        f->broadcast = (a->ifa_flags & IFF_BROADCAST) != 0;
        f->loopback = (a->ifa_flags & IFF_LOOPBACK) != 0;
        if (f->broadcast && a->ifa_broadaddr && a->ifa_broadaddr->sa_family == AF_INET)
            f->brd = ((const struct sockaddr_in *)(const void *)a->ifa_broadaddr)->sin_addr;
    }
    freeifaddrs(all);
    *out = v;
    *n = i;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int bh_wol_send(const uint8_t mac[6], const struct bh_wol_target *t, int port, struct bh_err *err)
{
    uint8_t pkt[BH_WOL_PACKET_LEN];
    bh_wol_packet(mac, pkt);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return bh_err_set(err, BH_ESYS, NULL, "socket: %s", strerror(errno));
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0) {
        int e = errno;
        close(fd);
        return bh_err_set(err, BH_ESYS, NULL, "SO_BROADCAST: %s", strerror(e));
    }
    /* the packet must leave through the host's segment, whatever the
     * routes say about the broadcast address (several interfaces may share
     * a subnet, and 255.255.255.255 would follow the default route) */
    if (t->iface[0] &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, t->iface, (socklen_t)strlen(t->iface)) < 0) {
        int e = errno;
        close(fd);
        return bh_err_set(err, BH_ESYS, NULL, "SO_BINDTODEVICE %s: %s", t->iface, strerror(e));
    }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    to.sin_addr = t->dst;
    int rc = 0;
    for (int i = 0; i < BH_WOL_REPEAT; i++) {
        if (i)
            sleep_ms(BH_WOL_REPEAT_GAP_MS);
        if (sendto(fd, pkt, sizeof(pkt), 0, (const struct sockaddr *)&to, sizeof(to)) < 0) {
            int e = errno;
            char dst[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &t->dst, dst, sizeof(dst));
            rc = bh_err_set(err, BH_ESYS, NULL, "sendto %s:%d: %s", dst, port, strerror(e));
            break;
        }
    }
    close(fd);
    return rc;
}

/* ---- the worker ---------------------------------------------------------- */

struct job {
    uint8_t mac[6];
    struct bh_wol_target t;
};

struct bh_wol {
    struct bh_wol_config cfg;
    struct bh_bootwork *work; /* may be NULL (tests) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stop;
    struct job *q; /* ring */
    size_t head, len, cap;
};

int bh_wol_port(const struct bh_wol *w)
{
    return (int)w->cfg.port;
}

static bool queued(const struct bh_wol *w, const uint8_t mac[6])
{
    for (size_t i = 0; i < w->len; i++)
        if (!memcmp(w->q[(w->head + i) % w->cap].mac, mac, 6))
            return true;
    return false;
}

int bh_wol_queue(struct bh_wol *w, const uint8_t mac[6], const struct bh_wol_target *t)
{
    int rc = 0;
    pthread_mutex_lock(&w->mu);
    if (queued(w, mac)) {
        rc = BH_ECONFLICT;
    } else if (w->len == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 64;
        struct job *nq = ncap <= BH_WOL_QUEUE_MAX ? malloc(ncap * sizeof(*nq)) : NULL;
        if (!nq)
            rc = BH_EBUSY;
        for (size_t i = 0; nq && i < w->len; i++)
            nq[i] = w->q[(w->head + i) % w->cap];
        if (nq) {
            free(w->q);
            w->q = nq;
            w->cap = ncap;
            w->head = 0;
        }
    }
    if (!rc) {
        struct job *j = &w->q[(w->head + w->len) % w->cap];
        memcpy(j->mac, mac, 6);
        j->t = *t;
        w->len++;
        pthread_cond_signal(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static void deadline(struct timespec *ts, uint64_t mono_ns)
{
    ts->tv_sec = (time_t)(mono_ns / 1000000000u);
    ts->tv_nsec = (long)(mono_ns % 1000000000u);
}

static void report(struct bh_wol *w, const struct job *j, const struct bh_err *e)
{
    char mac[BH_MAC_STRLEN], dst[INET_ADDRSTRLEN];
    bh_mac_format(j->mac, mac);
    inet_ntop(AF_INET, &j->t.dst, dst, sizeof(dst));
    const char *ifc = j->t.iface[0] ? j->t.iface : NULL;
    if (e)
        bh_log(BH_LOG_WARN, "wake-on-lan failed", "mac=%s address=%s iface=%s err=%s", mac, dst,
               ifc ? ifc : "-", e->msg);
    else
        bh_log(BH_LOG_INFO, "wake-on-lan sent", "mac=%s address=%s port=%d iface=%s", mac, dst,
               (int)w->cfg.port, ifc ? ifc : "-");
    if (!w->work)
        return;
    json_t *data = json_pack("{s:s, s:i, s:s?, s:b, s:i}", "address", dst, "port", (int)w->cfg.port,
                             "interface", ifc, "directed", j->t.directed, "packets", BH_WOL_REPEAT);
    if (data && e)
        json_object_set_new(data, "error", json_string(e->msg));
    bh_bootwork_event(w->work, mac, e ? "wol.failed" : "wol.sent", data);
}

static void *run(void *arg)
{
    struct bh_wol *w = arg;
    uint64_t next_ns = 0; /* the next send may start then (monotonic) */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->stop && w->len == 0)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->stop)
            break;
        /* stagger: also across batches, so two rooms queued one after the
         * other still start one machine at a time */
        struct timespec ts;
        deadline(&ts, next_ns);
        while (!w->stop && bh_mono_ns() < next_ns)
            pthread_cond_timedwait(&w->cv, &w->mu, &ts);
        if (w->stop)
            break;
        struct job j = w->q[w->head];
        w->head = (w->head + 1) % w->cap;
        w->len--;
        pthread_mutex_unlock(&w->mu);
        next_ns = bh_mono_ns() + (uint64_t)w->cfg.stagger_ms * 1000000u;
        struct bh_err e;
        int rc = bh_wol_send(j.mac, &j.t, (int)w->cfg.port, &e);
        report(w, &j, rc ? &e : NULL);
        pthread_mutex_lock(&w->mu);
    }
    if (w->len)
        bh_log(BH_LOG_WARN, "wake-on-lan: stopping with wakes still queued", "dropped=%zu", w->len);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int bh_wol_start(const struct bh_wol_config *cfg, struct bh_bootwork *work, struct bh_wol **out,
                 struct bh_err *err)
{
    struct bh_wol *w = calloc(1, sizeof(*w));
    if (!w)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    w->cfg = *cfg;
    if (w->cfg.port <= 0 || w->cfg.port > 65535)
        w->cfg.port = BH_WOL_PORT_DEFAULT;
    if (w->cfg.stagger_ms < 0)
        w->cfg.stagger_ms = BH_WOL_STAGGER_MS_DEFAULT;
    w->work = work;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->mu, NULL);
    int rc = pthread_create(&w->thread, NULL, run, w);
    if (rc) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return bh_err_set(err, BH_ESYS, NULL, "wake-on-lan thread: %s", strerror(rc));
    }
    *out = w;
    return 0;
}

void bh_wol_stop(struct bh_wol *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w->q);
    free(w);
}
