/*
 * front.c - the front door: accept, hold until the head is in, check,
 * count, hand over (see front.h).
 *
 * Why peek: libmicrohttpd reads the request itself and cannot be given
 * bytes already read, so the front looks at the head with MSG_PEEK and
 * leaves it in the socket.  Why SO_RCVLOWAT: libuv's poll is level-
 * triggered, and a socket holding half a head stays readable; after each
 * incomplete peek the low-water mark is raised past what is queued, so the
 * socket wakes the loop only when more bytes arrive (and Linux grows the
 * receive buffer to fit a large head).  Nothing is allocated per read:
 * every peek goes into one scratch buffer of BH_HEAD_MAX bytes.
 *
 * TLS: on the TLS port the first byte says which protocol a client speaks
 * (head.h, bh_tls_record_start); a ClientHello is peeked at like a head,
 * and a plain head is answered with 308 to https by the front itself.
 *
 * Threads: pending connections belong to the front thread.  The address
 * table, the records of handed-over connections and the counts are shared
 * with the pools' threads under `mu`; a record is freed only by the thread
 * that removes it under `mu` (its pool's close notification, which comes
 * before the pool closes the fd), so shutdown(2) by the front never hits a
 * reused descriptor.
 */
#include "front.h"

#include "core/log.h"
#include "core/timeutil.h"

#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <uv.h>

#define NBUCKETS     4096 /* address hash chains */
#define ACCEPT_BATCH 64   /* accepts per wake-up, so pending reads get their turn */
#define TICK_MS      100  /* timeouts are checked this often */
#define RESUME_MS    100  /* pause after accept() ran out of descriptors */
#define LOG_EVERY_NS (10ull * 1000000000ull)
#define INSTANCE_MAX 512 /* bytes of the path echoed in a refusal */
#define NS_PER_SEC   1000000000ull
#define LOCATION_MAX 4096 /* bytes of a redirect's Location; longer gets 414 */
/* RFC 8446 6: alert record: type 21, version 3.3, length 2, fatal (2), and
 * the description's code */
#define TLS_ALERT_INTERNAL_ERROR 80
#define TLS_ALERT_DECODE_ERROR   50

/* A list of connections held by the front, oldest first. */
struct plist {
    struct pconn *head, *tail;
};

struct addr {
    struct addr *next; /* hash chain */
    uint8_t key[16];   /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    unsigned open[BH_CONN__COUNT];
    unsigned pending;          /* held by the front: waiting or lingering */
    struct plist wait, linger; /* front thread only */
};

struct bh_front_conn {
    struct bh_front_conn *prev, *next; /* the open list */
    struct addr *addr;
    int fd;
    enum bh_conn_class cls;
    enum bh_listen_mode mode;      /* the listener it came in on */
    bool started;                  /* its pool said so: it will say when it closes */
    bool gone;                     /* out of the lists and counts */
    atomic_uint_fast64_t deadline; /* monotonic ns; 0 = none */
    atomic_int why;
};

struct plink {
    struct pconn *prev, *next;
};

/* A connection held by the front (front thread only): waiting for its
 * head, or refused and lingering.  Both count as pending. */
struct pconn {
    uv_poll_t poll;
    struct bh_front *f;
    struct addr *addr;
    struct plink g, a; /* in the front's list and its address's */
    int fd;
    int lowat;
    enum bh_listen_mode mode; /* the listener it came in on */
    bool tls;                 /* its first byte started a TLS record */
    bool lingering;           /* refused: draining until the peer closes */
    uint64_t deadline;
    struct sockaddr_storage sa;
    socklen_t salen;
};

/* A listening socket and its watcher. */
struct listener {
    uv_poll_t poll;
    struct bh_front *f;
    int fd;
    enum bh_listen_mode mode;
};

struct bh_front {
    struct bh_front_config cfg;
    pthread_t thread;
    bool running;
    uv_loop_t loop;
    struct listener listen[BH_FRONT_MAX_LISTEN];
    uv_timer_t tick, resume;
    uv_async_t stop;
    pthread_mutex_t mu;
    uint64_t seed;
    struct addr *buckets[NBUCKETS];
    struct bh_front_conn **byfd; /* handed over, by descriptor */
    size_t nbyfd;
    struct bh_front_conn *open;
    unsigned nopen[BH_CONN__COUNT];
    struct plist wait, linger;
    unsigned npending;
    struct bh_front_stats stats;
    uint64_t logged[BH_FRONT__NREASONS]; /* refusals reported in the log so far */
    uint64_t last_log_ns, last_emfile_ns;
    char scratch[BH_HEAD_MAX];
};

static const char *const reason_names[BH_FRONT__NREASONS] = {
    "budget",       "address",      "evicted",      "header_timeout", "malformed",
    "body_timeout", "idle_timeout", "send_timeout", "error",
};

const char *bh_front_reason_name(enum bh_front_reason r)
{
    return r < BH_FRONT__NREASONS ? reason_names[r] : "?";
}

const struct bh_front_stats *bh_front_get_stats(const struct bh_front *f)
{
    return &f->stats;
}

static void count(struct bh_front *f, enum bh_front_reason why)
{
    atomic_fetch_add_explicit(&f->stats.refused[why], 1, memory_order_relaxed);
}

void bh_front_count(struct bh_front *f, enum bh_front_reason why)
{
    count(f, why);
}

/* ---- the address table (under mu) --------------------------------------- */

static void addr_key(const struct sockaddr *sa, uint8_t key[16])
{
    memset(key, 0, 16);
    if (sa->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    }
}

/* keyed with a random seed: a client cannot aim its addresses at one chain */
static size_t addr_hash(const struct bh_front *f, const uint8_t key[16])
{
    uint64_t a, b, h = f->seed;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    h = (h ^ a) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
    h = (h ^ b) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return (size_t)(h % NBUCKETS);
}

static struct addr *addr_get(struct bh_front *f, const struct sockaddr *sa)
{
    uint8_t key[16];
    addr_key(sa, key);
    size_t b = addr_hash(f, key);
    for (struct addr *a = f->buckets[b]; a; a = a->next)
        if (!memcmp(a->key, key, sizeof(key)))
            return a;
    struct addr *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    memcpy(a->key, key, sizeof(key));
    a->next = f->buckets[b];
    f->buckets[b] = a;
    return a;
}

/* Free a once nothing counts on it. */
static void addr_put(struct bh_front *f, struct addr *a)
{
    if (a->pending)
        return;
    for (int c = 0; c < BH_CONN__COUNT; c++)
        if (a->open[c])
            return;
    struct addr **pp = &f->buckets[addr_hash(f, a->key)];
    while (*pp != a)
        pp = &(*pp)->next;
    *pp = a->next;
    free(a);
}

/* ---- handed-over connections (under mu) --------------------------------- */

static void rec_remove(struct bh_front *f, struct bh_front_conn *c)
{
    if (c->gone)
        return;
    c->gone = true;
    if (c->prev)
        c->prev->next = c->next;
    else
        f->open = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if ((size_t)c->fd < f->nbyfd && f->byfd[c->fd] == c)
        f->byfd[c->fd] = NULL;
    c->addr->open[c->cls]--;
    f->nopen[c->cls]--;
    atomic_store(&f->stats.open[c->cls], f->nopen[c->cls]);
    addr_put(f, c->addr);
}

static int rec_add(struct bh_front *f, struct bh_front_conn *c)
{
    if ((size_t)c->fd >= f->nbyfd) {
        size_t n = f->nbyfd ? f->nbyfd : 1024;
        while (n <= (size_t)c->fd)
            n *= 2;
        struct bh_front_conn **nb = realloc(f->byfd, n * sizeof(*nb));
        if (!nb)
            return BH_ENOMEM;
        memset(nb + f->nbyfd, 0, (n - f->nbyfd) * sizeof(*nb));
        f->byfd = nb;
        f->nbyfd = n;
    }
    struct bh_front_conn *old = f->byfd[c->fd];
    if (old) {
        /* The descriptor came back from accept(), so its old connection
         * is closed; its pool dropped it without starting it (only a pool
         * at its own limit does that).  Forget it. */
        bh_log(BH_LOG_WARN, "http connection dropped by its pool", "class=%s",
               bh_conn_class_name(old->cls));
        rec_remove(f, old);
        if (!old->started) /* else its pool still holds it: leave it be */
            free(old);
    }
    f->byfd[c->fd] = c;
    c->next = f->open;
    c->prev = NULL;
    if (f->open)
        f->open->prev = c;
    f->open = c;
    c->addr->open[c->cls]++;
    f->nopen[c->cls]++;
    atomic_store(&f->stats.open[c->cls], f->nopen[c->cls]);
    return 0;
}

struct bh_front_conn *bh_front_conn_started(struct bh_front *f, int fd)
{
    pthread_mutex_lock(&f->mu);
    struct bh_front_conn *c = fd >= 0 && (size_t)fd < f->nbyfd ? f->byfd[fd] : NULL;
    if (c)
        c->started = true;
    pthread_mutex_unlock(&f->mu);
    return c;
}

void bh_front_conn_closed(struct bh_front *f, struct bh_front_conn *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&f->mu);
    rec_remove(f, c);
    pthread_mutex_unlock(&f->mu);
    free(c);
}

void bh_front_conn_deadline(struct bh_front_conn *c, uint64_t deadline_ns, enum bh_front_reason why)
{
    if (!c)
        return;
    atomic_store_explicit(&c->why, (int)why, memory_order_relaxed);
    atomic_store_explicit(&c->deadline, deadline_ns, memory_order_release);
}

enum bh_listen_mode bh_front_conn_mode(const struct bh_front_conn *c)
{
    return c ? c->mode : BH_LISTEN_BOOT;
}

int bh_front_conn_reclass(struct bh_front *f, struct bh_front_conn *c, enum bh_conn_class cls,
                          struct bh_err *err)
{
    if (!c)
        return 0;
    enum bh_front_reason why = BH_FRONT__NREASONS;
    pthread_mutex_lock(&f->mu);
    unsigned per = f->cfg.lim.per_address[cls];
    if (c->gone || c->cls == cls)
        ;
    else if (f->nopen[cls] >= f->cfg.lim.budget[cls])
        why = BH_FRONT_BUDGET;
    else if (per && c->addr->open[cls] >= per)
        why = BH_FRONT_ADDRESS;
    else {
        enum bh_conn_class old = c->cls;
        c->addr->open[old]--;
        f->nopen[old]--;
        atomic_store(&f->stats.open[old], f->nopen[old]);
        c->cls = cls;
        c->addr->open[cls]++;
        f->nopen[cls]++;
        atomic_store(&f->stats.open[cls], f->nopen[cls]);
    }
    pthread_mutex_unlock(&f->mu);
    if (why == BH_FRONT__NREASONS)
        return 0;
    count(f, why);
    if (why == BH_FRONT_BUDGET)
        return bh_err_sett(err, BH_EBUSY, "server-busy", NULL,
                           "the server holds its maximum of %u %s connections",
                           f->cfg.lim.budget[cls], bh_conn_class_name(cls));
    return bh_err_sett(err, BH_EBUSY, "too-many-connections", NULL,
                       "your address holds its maximum of %u %s connections; close one", per,
                       bh_conn_class_name(cls));
}

/* Cut the handed-over connections past their deadline. */
static void reap(struct bh_front *f, uint64_t now)
{
    pthread_mutex_lock(&f->mu);
    for (struct bh_front_conn *c = f->open; c; c = c->next) {
        uint64_t d = atomic_load_explicit(&c->deadline, memory_order_acquire);
        if (!d || now < d)
            continue;
        atomic_store(&c->deadline, 0);
        /* counted first: whoever sees the end can read it in the metrics */
        count(f, (enum bh_front_reason)atomic_load(&c->why));
        shutdown(c->fd, SHUT_RDWR); /* the pool sees the end and closes it */
    }
    pthread_mutex_unlock(&f->mu);
}

/* ---- pending connections (front thread) --------------------------------- */

static void pconn_freed(uv_handle_t *h)
{
    free(h->data);
}

static struct plink *link_of(struct pconn *pc, bool by_addr)
{
    return by_addr ? &pc->a : &pc->g;
}

static void plist_push(struct plist *l, struct pconn *pc, bool by_addr)
{
    struct plink *k = link_of(pc, by_addr);
    k->prev = l->tail;
    k->next = NULL;
    if (l->tail)
        link_of(l->tail, by_addr)->next = pc;
    else
        l->head = pc;
    l->tail = pc;
}

static void plist_remove(struct plist *l, struct pconn *pc, bool by_addr)
{
    struct plink *k = link_of(pc, by_addr);
    if (k->prev)
        link_of(k->prev, by_addr)->next = k->next;
    else
        l->head = k->next;
    if (k->next)
        link_of(k->next, by_addr)->prev = k->prev;
    else
        l->tail = k->prev;
}

/* pc's two lists: waiting or lingering, the front's and its address's */
static void pconn_lists(struct bh_front *f, struct pconn *pc, struct plist **g, struct plist **a)
{
    *g = pc->lingering ? &f->linger : &f->wait;
    *a = pc->lingering ? &pc->addr->linger : &pc->addr->wait;
}

static void pconn_link(struct bh_front *f, struct pconn *pc)
{
    struct plist *g, *a;
    pconn_lists(f, pc, &g, &a);
    plist_push(g, pc, false);
    plist_push(a, pc, true);
}

static void pconn_unlink_lists(struct bh_front *f, struct pconn *pc)
{
    struct plist *g, *a;
    pconn_lists(f, pc, &g, &a);
    plist_remove(g, pc, false);
    plist_remove(a, pc, true);
}

/* Take pc off the lists and the pending counts. */
static void pconn_unlink(struct bh_front *f, struct pconn *pc)
{
    pconn_unlink_lists(f, pc);
    struct addr *a = pc->addr;
    pthread_mutex_lock(&f->mu);
    a->pending--;
    f->npending--;
    atomic_store(&f->stats.pending, f->npending);
    pthread_mutex_unlock(&f->mu);
}

/* Stop watching pc and free it; close its fd unless handed over. */
static void pconn_release(struct bh_front *f, struct pconn *pc, bool close_fd)
{
    pconn_unlink(f, pc);
    uv_poll_stop(&pc->poll);
    if (close_fd)
        close(pc->fd);
    uv_close((uv_handle_t *)&pc->poll, pconn_freed);
    pthread_mutex_lock(&f->mu);
    addr_put(f, pc->addr);
    pthread_mutex_unlock(&f->mu);
}

static void set_lowat(struct pconn *pc, int n)
{
    if (pc->lowat == n)
        return;
    if (setsockopt(pc->fd, SOL_SOCKET, SO_RCVLOWAT, &n, sizeof(n)) == 0)
        pc->lowat = n;
}

/* The reason phrase (status line) and the problem's title (the project's
 * sentence case, as bh_reply_problem writes them). */
static void status_text(int status, const char **reason, const char **title)
{
    switch (status) {
    case 308: *reason = "Permanent Redirect", *title = "Permanent redirect"; return;
    case 400: *reason = "Bad Request", *title = "Bad request"; return;
    case 408: *reason = "Request Timeout", *title = "Request timeout"; return;
    case 414: *reason = "URI Too Long", *title = "URI too long"; return;
    case 431:
        *reason = "Request Header Fields Too Large", *title = "Request header fields too large";
        return;
    case 501: *reason = "Not Implemented", *title = "Not implemented"; return;
    case 503: *reason = "Service Unavailable", *title = "Service unavailable"; return;
    case 505: *reason = "HTTP Version Not Supported", *title = "HTTP version not supported"; return;
    }
    *reason = *title = "Error";
}

/* Close pc gently after its answer: our side shut, and what the client
 * still sends is read and dropped for BH_FRONT_LINGER_MS, so the answer is
 * not lost to a reset. */
static void linger(struct pconn *pc)
{
    shutdown(pc->fd, SHUT_WR);
    set_lowat(pc, 1);
    pconn_unlink_lists(pc->f, pc);
    pc->lingering = true;
    pconn_link(pc->f, pc);
    pc->deadline = bh_mono_ns() + (uint64_t)BH_FRONT_LINGER_MS * 1000000ull;
    while (recv(pc->fd, pc->f->scratch, sizeof(pc->f->scratch), MSG_DONTWAIT) > 0)
        ;
}

/* A TLS client cannot read an HTTP answer before its handshake: a fatal
 * alert (RFC 8446 6.2) tells it why, then the connection closes. */
static void tls_alert(struct pconn *pc, unsigned char description)
{
    const unsigned char alert[] = {21, 3, 3, 0, 2, 2, description};
    (void)send(pc->fd, alert, sizeof(alert), MSG_NOSIGNAL | MSG_DONTWAIT);
    linger(pc);
}

/* Answer pc with a problem (RFC 9457), with a Location when one is given
 * (a redirect), and close it gently; the head is drained. */
static void answer(struct pconn *pc, int status, const char *type, const char *detail,
                   const char *field, const struct bh_head *h, const char *location)
{
    char t[96], resp[2048 + LOCATION_MAX];
    const char *reason, *title;
    status_text(status, &reason, &title);
    snprintf(t, sizeof(t), "urn:bootherd:problem:%s", type);
    json_t *j = json_pack("{s:s, s:s, s:i, s:s}", "type", t, "title", title, "status", status,
                          "detail", detail);
    if (j && h && h->path && h->path_len) /* printable ASCII: head.c checked it */
        json_object_set_new(
            j, "instance",
            json_stringn(h->path, h->path_len < INSTANCE_MAX ? h->path_len : INSTANCE_MAX));
    if (j && field && *field) /* a header name: a token, so ASCII */
        json_object_set_new(j, "field", json_string(field));
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    size_t blen = body ? strlen(body) : 0;
    char extra[40 + LOCATION_MAX] = "";
    if (status == 503)
        snprintf(extra, sizeof(extra), "Retry-After: %d\r\n", BH_FRONT_RETRY_AFTER);
    else if (location) /* bh_head_https_location checked its characters */
        snprintf(extra, sizeof(extra), "Location: %s\r\n", location);
    int n = snprintf(resp, sizeof(resp),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
                     "Content-Length: %zu\r\n%sConnection: close\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n\r\n%s",
                     status, reason, blen, extra, h && h->head_method ? "" : (body ? body : ""));
    free(body);
    if (n > 0 && (size_t)n < sizeof(resp))
        (void)send(pc->fd, resp, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    linger(pc);
}

static void refuse(struct pconn *pc, int status, const char *type, const char *detail,
                   const char *field, const struct bh_head *h)
{
    answer(pc, status, type, detail, field, h, NULL);
}

/* A plain HTTP head on the TLS port: 308 to the same target over https
 * (RFC 9110 15.4.9: the method and body are kept), or 400/414 when the
 * request does not say where that is. */
static void redirect(struct bh_front *f, struct pconn *pc, const struct bh_head *h)
{
    char loc[LOCATION_MAX];
    struct bh_err e;
    int n = bh_head_https_location(h, loc, sizeof(loc), &e);
    if (n < 0) {
        count(f, BH_FRONT_MALFORMED);
        refuse(pc, n == BH_ETOOBIG ? 414 : 400, e.type, e.msg, e.field, h);
        return;
    }
    atomic_fetch_add_explicit(&f->stats.redirected, 1, memory_order_relaxed);
    answer(pc, 308, "https-required", "this port speaks HTTPS; send the request there", NULL, h,
           loc);
}

/* A complete, well-formed head (h), or a TLS ClientHello (h NULL, class
 * API): count it in and hand it over, or refuse. */
static void admit(struct bh_front *f, struct pconn *pc, enum bh_conn_class cls,
                  const struct bh_head *h)
{
    struct bh_front_conn *c = calloc(1, sizeof(*c));
    enum bh_front_reason why = BH_FRONT__NREASONS;
    pthread_mutex_lock(&f->mu);
    unsigned per = f->cfg.lim.per_address[cls];
    if (!c)
        why = BH_FRONT_ERROR;
    else if (f->nopen[cls] >= f->cfg.lim.budget[cls])
        why = BH_FRONT_BUDGET;
    else if (per && pc->addr->open[cls] >= per)
        why = BH_FRONT_ADDRESS;
    else {
        c->fd = pc->fd;
        c->cls = cls;
        c->mode = pc->mode;
        c->addr = pc->addr;
        if (pc->tls) { /* the handshake and the first head: by the head's deadline */
            atomic_store(&c->deadline, pc->deadline);
            atomic_store(&c->why, (int)BH_FRONT_HEADER_TIMEOUT);
        }
        if (rec_add(f, c))
            why = BH_FRONT_ERROR;
    }
    pthread_mutex_unlock(&f->mu);
    if (why != BH_FRONT__NREASONS) {
        free(c);
        count(f, why);
        if (pc->tls) {
            tls_alert(pc, TLS_ALERT_INTERNAL_ERROR);
            return;
        }
        char detail[160];
        if (why == BH_FRONT_BUDGET)
            snprintf(detail, sizeof(detail), "the server holds its maximum of %u %s connections",
                     f->cfg.lim.budget[cls], bh_conn_class_name(cls));
        else if (why == BH_FRONT_ADDRESS)
            snprintf(detail, sizeof(detail),
                     "your address holds its maximum of %u %s connections; close one", per,
                     bh_conn_class_name(cls));
        else
            snprintf(detail, sizeof(detail), "the server is out of resources");
        refuse(pc, 503, why == BH_FRONT_ADDRESS ? "too-many-connections" : "server-busy", detail,
               NULL, h);
        return;
    }
    set_lowat(pc, 1);
    int fd = pc->fd;
    struct sockaddr_storage sa = pc->sa;
    socklen_t salen = pc->salen;
    pconn_release(f, pc, false);
    enum bh_listen_mode mode = pc->tls ? BH_LISTEN_TLS : pc->mode;
    atomic_fetch_add_explicit(&f->stats.accepted[cls], 1, memory_order_relaxed);
    if (mode == BH_LISTEN_TLS)
        atomic_fetch_add_explicit(&f->stats.tls_accepted, 1, memory_order_relaxed);
    if (f->cfg.handoff(f->cfg.ud, cls, mode, fd, (const struct sockaddr *)&sa, salen)) {
        /* the pool closed fd without starting it (no close notification) */
        count(f, BH_FRONT_ERROR);
        pthread_mutex_lock(&f->mu);
        rec_remove(f, c);
        pthread_mutex_unlock(&f->mu);
        free(c);
    }
}

static void on_conn(uv_poll_t *p, int status, int events);

/* Read what pc has sent so far and decide.  True if pc is still waiting
 * for the rest of its head (else it was handed over, refused, or closed). */
static bool pconn_read(struct bh_front *f, struct pconn *pc, int events)
{
    if (pc->lingering) {
        ssize_t r;
        while ((r = recv(pc->fd, f->scratch, sizeof(f->scratch), MSG_DONTWAIT)) > 0)
            ;
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            pconn_release(f, pc, true);
        return false;
    }
    ssize_t n = recv(pc->fd, f->scratch, sizeof(f->scratch), MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return true;
    if (n <= 0) { /* gone before a head arrived */
        pconn_release(f, pc, true);
        return false;
    }
    struct bh_head h;
    struct bh_err e;
    int rc;
    if (pc->mode == BH_LISTEN_TLS && bh_tls_record_start(f->scratch, (size_t)n)) {
        size_t len;
        pc->tls = true;
        rc = bh_tls_hello_check(f->scratch, (size_t)n, &len, &e);
        if (rc == 0) {
            admit(f, pc, BH_CONN_API, NULL);
            return false;
        }
        if (rc != BH_HEAD_MORE) {
            count(f, BH_FRONT_MALFORMED);
            tls_alert(pc, TLS_ALERT_DECODE_ERROR);
            return false;
        }
    } else {
        rc = bh_head_parse(f->scratch, (size_t)n, &h, &e);
    }
    if (rc == BH_HEAD_MORE) {
        if (events & UV_DISCONNECT) { /* half a head, then the client hung up */
            pconn_release(f, pc, true);
            return false;
        }
        set_lowat(pc, (int)n + 1); /* wake again only when more than what is queued */
        return true;
    }
    if (rc) {
        count(f, BH_FRONT_MALFORMED);
        refuse(pc, h.status, e.type ? e.type : "malformed-request", e.msg, e.field, &h);
        return false;
    }
    if (pc->mode == BH_LISTEN_TLS)
        redirect(f, pc, &h);
    else
        admit(f, pc, h.cls, &h);
    return false;
}

static void on_conn(uv_poll_t *p, int status, int events)
{
    struct pconn *pc = p->data;
    if (status < 0) {
        pconn_release(pc->f, pc, true);
        return;
    }
    pconn_read(pc->f, pc, events);
}

/* Over a pending cap (the address's, or with a == NULL the front's):
 * close a connection the front holds.  The oldest lingering one goes
 * first (it has its answer).  Else the oldest waiting one, but only after
 * a last look at it: its head may have come while the loop was busy
 * accepting, and a client that sent its head is served, not evicted. */
static void evict_one(struct bh_front *f, struct addr *a)
{
    struct plist *linger = a ? &a->linger : &f->linger, *wait = a ? &a->wait : &f->wait;
    struct pconn *pc = linger->head;
    if (!pc) {
        pc = wait->head;
        if (pconn_read(f, pc, 0) == false)
            return; /* it moved on; the caller checks the cap again */
        count(f, BH_FRONT_EVICTED);
    }
    pconn_release(f, pc, true);
}

static void pending_add(struct bh_front *f, int fd, const struct sockaddr_storage *ss, socklen_t sl,
                        enum bh_listen_mode mode)
{
    struct pconn *pc = calloc(1, sizeof(*pc));
    struct addr *a = NULL;
    pthread_mutex_lock(&f->mu);
    if (pc && (a = addr_get(f, (const struct sockaddr *)ss)) != NULL) {
        a->pending++;
        f->npending++;
        atomic_store(&f->stats.pending, f->npending);
    }
    pthread_mutex_unlock(&f->mu);
    if (!a || uv_poll_init_socket(&f->loop, &pc->poll, fd)) {
        if (a) {
            pthread_mutex_lock(&f->mu);
            a->pending--;
            f->npending--;
            addr_put(f, a);
            pthread_mutex_unlock(&f->mu);
        }
        free(pc);
        close(fd);
        count(f, BH_FRONT_ERROR);
        return;
    }
    pc->poll.data = pc;
    pc->f = f;
    pc->fd = fd;
    pc->lowat = 1;
    pc->mode = mode;
    pc->addr = a;
    pc->sa = *ss;
    pc->salen = sl;
    pc->deadline = bh_mono_ns() + (uint64_t)f->cfg.lim.header_timeout * NS_PER_SEC;
    pconn_link(f, pc);
    /* pc is the newest waiting one: with caps of at least 1 it stays */
    while (a->pending > f->cfg.lim.pending_per_address)
        evict_one(f, a);
    while (f->npending > f->cfg.lim.pending)
        evict_one(f, NULL);
    uv_poll_start(&pc->poll, UV_READABLE | UV_DISCONNECT, on_conn);
    pconn_read(f, pc, 0); /* the head often came with the connection */
}

static void on_listen(uv_poll_t *p, int status, int events);

static void on_resume(uv_timer_t *t)
{
    struct bh_front *f = t->data;
    for (size_t i = 0; i < f->cfg.nlisten; i++)
        uv_poll_start(&f->listen[i].poll, UV_READABLE, on_listen);
}

static void on_listen(uv_poll_t *p, int status, int events)
{
    (void)events;
    struct listener *l = p->data;
    struct bh_front *f = l->f;
    if (status < 0)
        return;
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            pending_add(f, fd, &ss, sl, l->mode);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* the clients wait in the backlog; try again shortly */
            uint64_t now = bh_mono_ns();
            if (now - f->last_emfile_ns > LOG_EVERY_NS) {
                bh_log(BH_LOG_WARN, "http accept paused", "err=%s hint=%s", strerror(errno),
                       "raise the open-files limit (ulimit -n, LimitNOFILE=)");
                f->last_emfile_ns = now;
            }
            for (size_t k = 0; k < f->cfg.nlisten; k++)
                uv_poll_stop(&f->listen[k].poll);
            uv_timer_start(&f->resume, on_resume, RESUME_MS, 0);
            return;
        }
        /* ECONNABORTED and friends: that client is gone, go on */
    }
}

/* Sum up refusals in the log now and then, never a line per connection. */
static void log_refusals(struct bh_front *f, uint64_t now)
{
    if (now - f->last_log_ns < LOG_EVERY_NS)
        return;
    char line[512];
    size_t n = 0;
    for (int r = 0; r < BH_FRONT__NREASONS; r++) {
        uint64_t v = atomic_load(&f->stats.refused[r]);
        if (v != f->logged[r] && n < sizeof(line))
            n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s=%llu", n ? "," : "",
                                  reason_names[r], (unsigned long long)(v - f->logged[r]));
        f->logged[r] = v;
    }
    if (n)
        bh_log(BH_LOG_WARN, "http connections refused or cut", "counts=%s pending=%u", line,
               f->npending);
    f->last_log_ns = now;
}

static void on_tick(uv_timer_t *t)
{
    struct bh_front *f = t->data;
    uint64_t now = bh_mono_ns();
    for (struct pconn *pc = f->linger.head, *next; pc; pc = next) {
        next = pc->g.next;
        if (now >= pc->deadline)
            pconn_release(f, pc, true);
    }
    for (struct pconn *pc = f->wait.head, *next; pc; pc = next) {
        next = pc->g.next;
        if (now < pc->deadline)
            continue;
        count(f, BH_FRONT_HEADER_TIMEOUT);
        if (pc->tls) { /* half a ClientHello: no HTTP answer can reach it */
            pconn_release(f, pc, true);
            continue;
        }
        char detail[128];
        snprintf(detail, sizeof(detail), "the request head did not arrive within %u s",
                 f->cfg.lim.header_timeout);
        refuse(pc, 408, "request-timeout", detail, NULL, NULL);
    }
    reap(f, now);
    log_refusals(f, now);
}

static void close_handle(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void on_stop(uv_async_t *a)
{
    struct bh_front *f = a->data;
    while (f->wait.head)
        pconn_release(f, f->wait.head, true);
    while (f->linger.head)
        pconn_release(f, f->linger.head, true);
    uv_walk(&f->loop, close_handle, NULL);
    for (size_t i = 0; i < f->cfg.nlisten; i++)
        close(f->cfg.listen[i].fd);
}

static void *front_main(void *arg)
{
    struct bh_front *f = arg;
    uv_run(&f->loop, UV_RUN_DEFAULT);
    return NULL;
}

int bh_front_start(const struct bh_front_config *cfg, struct bh_front **out, struct bh_err *err)
{
    struct bh_front *f = calloc(1, sizeof(*f));
    if (!f)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    f->cfg = *cfg;
    if (getrandom(&f->seed, sizeof(f->seed), 0) != (ssize_t)sizeof(f->seed))
        f->seed = bh_mono_ns();
    pthread_mutex_init(&f->mu, NULL);
    if (uv_loop_init(&f->loop)) {
        pthread_mutex_destroy(&f->mu);
        free(f);
        return bh_err_set(err, BH_ESYS, NULL, "cannot create the HTTP front loop");
    }
    int rc = cfg->nlisten < 1 || cfg->nlisten > BH_FRONT_MAX_LISTEN ? UV_EINVAL : 0;
    for (size_t i = 0; i < cfg->nlisten && !rc; i++) {
        struct listener *l = &f->listen[i];
        l->f = f;
        l->fd = cfg->listen[i].fd;
        l->mode = cfg->listen[i].mode;
        l->poll.data = l;
        rc = uv_poll_init_socket(&f->loop, &l->poll, l->fd);
    }
    if (!rc) {
        uv_timer_init(&f->loop, &f->tick);
        uv_timer_init(&f->loop, &f->resume);
        uv_async_init(&f->loop, &f->stop, on_stop);
        f->tick.data = f->resume.data = f->stop.data = f;
        for (size_t i = 0; i < cfg->nlisten; i++)
            uv_poll_start(&f->listen[i].poll, UV_READABLE, on_listen);
        uv_timer_start(&f->tick, on_tick, TICK_MS, TICK_MS);
        /* set before the first hand-over, which the pools look up */
        *out = f;
        rc = pthread_create(&f->thread, NULL, front_main, f);
    }
    if (rc) {
        *out = NULL;
        uv_walk(&f->loop, close_handle, NULL);
        uv_run(&f->loop, UV_RUN_DEFAULT);
        uv_loop_close(&f->loop);
        pthread_mutex_destroy(&f->mu);
        free(f);
        return bh_err_set(err, BH_ESYS, NULL, "cannot start the HTTP front thread");
    }
    f->running = true;
    return 0;
}

void bh_front_stop(struct bh_front *f)
{
    if (!f || !f->running)
        return;
    f->running = false;
    uv_async_send(&f->stop);
    pthread_join(f->thread, NULL);
    uv_loop_close(&f->loop);
}

void bh_front_free(struct bh_front *f)
{
    if (!f)
        return;
    bh_front_stop(f);
    /* what is left was dropped by a pool without a word: never started */
    while (f->open) {
        struct bh_front_conn *c = f->open;
        rec_remove(f, c);
        free(c);
    }
    free(f->byfd);
    pthread_mutex_destroy(&f->mu);
    free(f);
}
