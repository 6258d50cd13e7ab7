/*
 * tftp_io.c - the TFTP server's sockets, files and timers on a libuv loop
 * (see tftp.h).  Every protocol decision is made in tftp_proto.c; this file
 * moves bytes.
 *
 *   server port   one UDP socket on cfg->tftp_listen with IP_PKTINFO, so a
 *                 reply leaves from the address the request was sent to
 *   transfers     one UDP socket each, bound to that address (ephemeral
 *                 port) and connected to the client, so the kernel drops
 *                 strangers' packets (RFC 1350 sec 4, transfer IDs)
 *   files         opened with openat2(RESOLVE_BENEATH) below the root
 *                 directory opened at start; one descriptor per dev/inode,
 *                 shared by refcount among the transfers reading it; read
 *                 with pread (a file truncated while served fails the
 *                 transfer instead of raising SIGBUS as a mapping would)
 *   memory        a transfer allocates its packet buffer once, after the
 *                 options are known; receiving uses one server-wide buffer
 */
#include "tftp.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "core/net.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "tftp_proto.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECV_BATCH  32         /* datagrams read per readiness callback */
#define MAIN_RCVBUF (1u << 20) /* room for a burst of requests from a whole room */
#define ERR_PKT_MAX 128        /* our ERROR packets are short */
#define ASCII_RING  128        /* > BH_TFTP_WINDOW_MAX + 2: netascii block starts kept */
/* A window goes out in batches: one read, one sendmmsg(2).  A transfer's
 * buffer holds up to BATCH_BYTES of block data (at least one block). */
#define BATCH_MAX    BH_TFTP_WINDOW_MAX
#define BATCH_BYTES  (64u * 1024)
#define WARN_PER_SEC 50 /* refused-request warnings per second, then counted */
#define DEFAULT_MTU  1500

struct shared_file {
    struct shared_file *next;
    dev_t dev;
    ino_t ino;
    int fd;
    unsigned refs;
};

struct xfer {
    struct xfer *next, *prev; /* active transfers of the server */
    struct bh_tftp *srv;
    int fd;
    uv_poll_t poll;
    uv_timer_t timer;
    int open_handles;
    bool finished;
    bool blocked; /* a send would block; waiting for POLLOUT */
    struct sockaddr_in peer;
    uint64_t start_ns;
    uint64_t timeout_ms; /* first retransmit timeout */
    /* the data: a shared file or a generated one */
    struct shared_file *file;
    char *vdata;
    uint64_t size;
    enum bh_tftp_mode mode;
    struct bh_tftp_params par;
    struct bh_tftp_tx tx;
    struct bh_tftp_span span;              /* what is left to send */
    struct bh_tftp_ascii apos[ASCII_RING]; /* netascii: where block b starts */
    uint8_t *buf;                          /* batch * blksize of block data, then netascii source */
    size_t buf_cap;
    unsigned batch; /* blocks per sendmmsg */
    uint8_t hdr[BATCH_MAX][BH_TFTP_HDR];
    char path[BH_TFTP_REQ_MAX]; /* as requested */
};

struct bh_tftp {
    uv_loop_t *loop;
    struct bh_tftp_hooks hooks;
    int rootfd;
    int fd;
    struct in_addr bound; /* the address fd is bound to (may be 0.0.0.0) */
    uv_poll_t poll;
    bool poll_open;
    bool stopping;
    size_t handles; /* libuv handles not yet closed */
    uint32_t max_transfers, blksize_max, windowsize_max, retries;
    uint64_t timeout_ms;
    struct xfer *xfers;
    size_t nxfers;
    struct shared_file *files;
    /* refused-request warnings, rate limited */
    uint64_t warn_sec;
    unsigned warn_count, warn_dropped;
    _Atomic uint64_t st_requests, st_completed, st_failed, st_refused, st_malformed, st_retransmits,
        st_bytes, st_active;
    uint8_t rx[BH_TFTP_REQ_MAX + 1]; /* +1: a longer datagram shows as truncated */
    /* sendmmsg scratch, used by one send_span at a time (loop thread) */
    struct mmsghdr msgs[BATCH_MAX];
    struct iovec iov[BATCH_MAX][2];
};

static void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

/* ---- refusing a request --------------------------------------------------- */

static void warn_refused(struct bh_tftp *t, const struct sockaddr_in *peer, const char *path,
                         int code, const char *why)
{
    uint64_t sec = bh_mono_ns() / 1000000000u;
    if (sec != t->warn_sec) {
        if (t->warn_dropped)
            bh_log(BH_LOG_WARN, "tftp refusals not logged", "count=%u", t->warn_dropped);
        t->warn_sec = sec;
        t->warn_count = t->warn_dropped = 0;
    }
    if (t->warn_count++ >= WARN_PER_SEC) {
        t->warn_dropped++;
        return;
    }
    char addr[BH_ADDR_STRLEN];
    bh_net_format((const struct sockaddr *)peer, addr);
    bh_log(BH_LOG_WARN, "tftp request refused", "client=%s path=%s code=%d reason=%s", addr, path,
           code, why);
}

static void report(struct bh_tftp *t, const struct sockaddr_in *peer, const char *path, bool ok,
                   int code, const char *msg, uint64_t bytes, uint64_t nanos, uint32_t retrans,
                   uint16_t blksize, uint16_t windowsize)
{
    if (!t->hooks.on_transfer)
        return;
    struct bh_tftp_event ev = {
        .client = *peer,
        .ok = ok,
        .error_code = code,
        .bytes = bytes,
        .nanos = nanos,
        .retransmits = retrans,
        .blksize = blksize,
        .windowsize = windowsize,
    };
    bh_strlcpy(ev.path, path, sizeof(ev.path));
    bh_strlcpy(ev.error, msg ? msg : "", sizeof(ev.error));
    t->hooks.on_transfer(t->hooks.ud, &ev);
}

/* Answer from the server port, leaving from the address the request came
 * to (IP_PKTINFO), so clients that check the source accept it. */
static void send_from_main(struct bh_tftp *t, const struct sockaddr_in *peer,
                           const struct in_addr *local, const uint8_t *pkt, size_t len)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof(ctl));
    struct iovec iov = {.iov_base = (void *)pkt, .iov_len = len};
    struct msghdr mh = {
        .msg_name = (void *)peer,
        .msg_namelen = sizeof(*peer),
        .msg_iov = &iov,
        .msg_iovlen = 1,
        .msg_control = ctl.buf,
        .msg_controllen = sizeof(ctl.buf),
    };
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi = {.ipi_spec_dst = *local};
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    (void)sendmsg(t->fd, &mh, MSG_DONTWAIT); /* best effort: the client retries */
}

static void refuse(struct bh_tftp *t, const struct sockaddr_in *peer, const struct in_addr *local,
                   const char *path, int code, const char *why, uint64_t start_ns)
{
    uint8_t pkt[ERR_PKT_MAX];
    size_t n = bh_tftp_build_error(pkt, sizeof(pkt), (uint16_t)code, why);
    send_from_main(t, peer, local, pkt, n);
    count(&t->st_refused, 1);
    warn_refused(t, peer, path, code, why);
    report(t, peer, path, false, code, why, 0, bh_mono_ns() - start_ns, 0, 0, 0);
}

/* ---- files ----------------------------------------------------------------- */

static void file_release(struct bh_tftp *t, struct shared_file *f)
{
    if (!f || --f->refs)
        return;
    for (struct shared_file **pp = &t->files; *pp; pp = &(*pp)->next) {
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    }
    close(f->fd);
    free(f);
}

/* Find or open the shared file; on failure returns the TFTP error code with
 * *why. */
static int file_get(struct bh_tftp *t, const char *path, struct shared_file **out, uint64_t *size,
                    const char **why)
{
    /* strictly below the root: '..' out of it, absolute names, symlinks
     * leading outside and magic links all fail in the kernel */
    int fd = bh_openat_beneath(t->rootfd, path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) {
        /* errno, read at the call: each kind of failure has its TFTP code */
        switch (errno) {
        case ENOENT:
        case ENOTDIR:
        case ENAMETOOLONG: *why = "file not found"; return BH_TFTP_ENOTFOUND;
        case EXDEV:
        case ELOOP:
        case EACCES:
        case EPERM: *why = "access violation"; return BH_TFTP_EACCESS;
        case EMFILE:
        case ENFILE:
        case ENOMEM: *why = "server busy"; return BH_TFTP_EUNDEF;
        default: *why = "cannot open file"; return BH_TFTP_EUNDEF;
        }
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        *why = "not a regular file";
        return BH_TFTP_EACCESS;
    }
    *size = (uint64_t)st.st_size;
    for (struct shared_file *f = t->files; f; f = f->next) {
        if (f->dev == st.st_dev && f->ino == st.st_ino) {
            close(fd); /* one descriptor per file, however many transfers */
            f->refs++;
            *out = f;
            return 0;
        }
    }
    struct shared_file *f = calloc(1, sizeof(*f));
    if (!f) {
        close(fd);
        *why = "server busy";
        return BH_TFTP_EUNDEF;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->fd = fd;
    f->refs = 1;
    f->next = t->files;
    t->files = f;
    *out = f;
    return 0;
}

/* Read exactly n bytes of the data at off (n never runs past x->size);
 * false if the file came up short (changed under us) or failed. */
static bool src_read(struct xfer *x, uint64_t off, uint8_t *buf, size_t n)
{
    if (n == 0)
        return true;
    if (!x->file) {
        memcpy(buf, x->vdata + off, n);
        return true;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(x->file->fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

/* ---- one transfer ------------------------------------------------------------ */

static uint64_t bytes_done(const struct xfer *x)
{
    if (x->tx.done)
        return x->size;
    uint64_t acked = x->tx.base ? x->tx.base - 1 : 0;
    if (x->mode == BH_TFTP_NETASCII)
        return acked ? x->apos[(acked + 1) % ASCII_RING].off : 0;
    uint64_t b = acked * x->par.blksize;
    return b < x->size ? b : x->size;
}

static void on_xfer_closed(uv_handle_t *h)
{
    struct xfer *x = h->data;
    struct bh_tftp *t = x->srv;
    t->handles--;
    if (--x->open_handles)
        return;
    close(x->fd);
    file_release(t, x->file);
    free(x->vdata);
    free(x->buf);
    free(x);
}

/* End the transfer once: optionally tell the client why, report, close. */
static void finish(struct xfer *x, bool ok, int code, const char *msg)
{
    struct bh_tftp *t = x->srv;
    if (x->finished)
        return;
    x->finished = true;
    if (code >= 0) {
        uint8_t pkt[ERR_PKT_MAX];
        size_t n = bh_tftp_build_error(pkt, sizeof(pkt), (uint16_t)code, msg);
        (void)send(x->fd, pkt, n, MSG_DONTWAIT);
    }
    if (x->prev)
        x->prev->next = x->next;
    else
        t->xfers = x->next;
    if (x->next)
        x->next->prev = x->prev;
    t->nxfers--;
    count(&t->st_active, (uint64_t)-1);
    count(ok ? &t->st_completed : &t->st_failed, 1);
    count(&t->st_retransmits, x->tx.retransmits);
    uint64_t bytes = bytes_done(x);
    count(&t->st_bytes, bytes);
    report(t, &x->peer, x->path, ok, code > 0 ? code : 0, msg, bytes, bh_mono_ns() - x->start_ns,
           x->tx.retransmits, x->par.blksize, x->par.windowsize);
    uv_close((uv_handle_t *)&x->poll, on_xfer_closed);
    uv_close((uv_handle_t *)&x->timer, on_xfer_closed);
}

static void on_xfer_io(uv_poll_t *h, int status, int events);

static void want_write(struct xfer *x, bool on)
{
    if (x->finished || x->blocked == on)
        return;
    x->blocked = on;
    uv_poll_start(&x->poll, UV_READABLE | (on ? UV_WRITABLE : 0), on_xfer_io);
}

/* Build up to k DATA blocks from `first` on into the batch (headers in
 * x->hdr, data in x->buf, lengths in len[]).  Returns the number built (a
 * netascii block that comes out short is the last one: *final is its
 * index), or 0 with the transfer failed. */
static unsigned fill_batch(struct xfer *x, uint64_t first, unsigned k, size_t *len, int *final)
{
    size_t blk = x->par.blksize;
    *final = -1;
    if (x->mode == BH_TFTP_OCTET) {
        /* consecutive blocks are one range of the file: a single read */
        uint64_t off, end;
        size_t n;
        bh_tftp_block_range(x->size, x->par.blksize, first, &off, &n);
        end = off + (uint64_t)k * blk;
        if (end > x->size)
            end = x->size;
        if (!src_read(x, off, x->buf, end > off ? (size_t)(end - off) : 0)) {
            finish(x, false, BH_TFTP_EUNDEF, "file changed or unreadable");
            return 0;
        }
        for (unsigned i = 0; i < k; i++) {
            bh_tftp_block_range(x->size, x->par.blksize, first + i, &off, &len[i]);
            bh_tftp_data_header(x->hdr[i], first + i);
        }
        return k;
    }
    /* netascii: encode block by block from the remembered start of each */
    uint8_t *src = x->buf + (size_t)x->batch * blk;
    for (unsigned i = 0; i < k; i++) {
        uint64_t b = first + i;
        struct bh_tftp_ascii st = x->apos[b % ASCII_RING];
        uint64_t left = x->size - st.off;
        size_t want = left < blk ? (size_t)left : blk;
        if (!src_read(x, st.off, src, want)) {
            finish(x, false, BH_TFTP_EUNDEF, "file changed or unreadable");
            return 0;
        }
        len[i] = bh_tftp_ascii_encode(&st, src, want, x->buf + i * blk, blk);
        x->apos[(b + 1) % ASCII_RING] = st;
        bh_tftp_data_header(x->hdr[i], b);
        if (len[i] < blk) { /* RFC 1350 sec 6: a short block ends the transfer */
            *final = (int)i;
            return i + 1;
        }
    }
    return k;
}

static bool send_oack(struct xfer *x)
{
    size_t len = bh_tftp_build_oack(x->buf, x->buf_cap, &x->par);
    assert(len > 0); /* the options fit in ERR_PKT_MAX bytes */
    ssize_t w = send(x->fd, x->buf, len, MSG_DONTWAIT);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
        want_write(x, true);
        return false;
    }
    if (w < 0 && errno == ECONNREFUSED) {
        finish(x, false, -1, "client gone");
        return false;
    }
    x->span.oack = false; /* sent, or lost like any packet (see send_span) */
    return true;
}

/* Send what x->span still holds, a batch at a time; stops early when the
 * socket is full and goes on when it drains. */
static void send_span(struct xfer *x)
{
    struct bh_tftp *t = x->srv;
    while (!x->finished && (x->span.oack || x->span.first < x->span.end)) {
        if (x->span.oack) {
            if (!send_oack(x))
                return;
            continue;
        }
        uint64_t first = x->span.first;
        uint64_t left = x->span.end - first;
        size_t len[BATCH_MAX];
        int final;
        unsigned k = fill_batch(x, first, left < x->batch ? (unsigned)left : x->batch, len, &final);
        if (!k)
            return;
        for (unsigned i = 0; i < k; i++) {
            t->iov[i][0] = (struct iovec){x->hdr[i], BH_TFTP_HDR};
            t->iov[i][1] = (struct iovec){x->buf + (size_t)i * x->par.blksize, len[i]};
            t->msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = t->iov[i], .msg_iovlen = 2}};
        }
        int n = sendmmsg(x->fd, t->msgs, k, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
            want_write(x, true);
            return;
        }
        if (n < 0 && errno == ECONNREFUSED) {
            finish(x, false, -1, "client gone");
            return;
        }
        /* any other error (a local firewall's EPERM, an ICMP error of an
         * earlier packet) counts as the first packet lost: the timer and
         * the retry limit deal with it as with loss on the wire */
        if (n <= 0)
            n = 1;
        for (int i = 0; i < n; i++)
            bh_tftp_tx_sent(&x->tx, first + (uint64_t)i);
        if (final >= 0 && final < n && x->tx.last == BH_TFTP_LAST_UNKNOWN) {
            bh_tftp_tx_set_last(&x->tx, first + (uint64_t) final);
            x->span.end = first + (uint64_t) final + 1;
        }
        x->span.first = first + (uint64_t)n;
    }
    want_write(x, false);
}

static void on_xfer_timer(uv_timer_t *h);

static void arm_timer(struct xfer *x)
{
    uint64_t ms = bh_tftp_tx_timeout_ms(&x->tx, x->timeout_ms);
    uv_timer_start(&x->timer, on_xfer_timer, ms, 0);
}

/* Act on what the state machine decided. */
static void act(struct xfer *x, enum bh_tftp_act a, const struct bh_tftp_span *s)
{
    switch (a) {
    case BH_TFTP_ACT_NONE: return;
    case BH_TFTP_ACT_DONE: finish(x, true, -1, ""); return;
    case BH_TFTP_ACT_FAIL: finish(x, false, BH_TFTP_EUNDEF, "timed out"); return;
    case BH_TFTP_ACT_SEND:
        x->span = *s;
        send_span(x);
        if (!x->finished)
            arm_timer(x);
        return;
    }
}

static void on_xfer_timer(uv_timer_t *h)
{
    struct xfer *x = h->data;
    struct bh_tftp_span s;
    act(x, bh_tftp_tx_on_timeout(&x->tx, &s), &s);
}

static void on_xfer_io(uv_poll_t *h, int status, int events)
{
    struct xfer *x = h->data;
    struct bh_tftp *t = x->srv;
    if (status < 0) {
        /* a pending socket error: ICMP unreachable from the client */
        finish(x, false, -1, "client unreachable");
        return;
    }
    if (events & UV_WRITABLE)
        send_span(x);
    for (int i = 0; i < RECV_BATCH && !x->finished && (events & UV_READABLE); i++) {
        ssize_t n = recv(x->fd, t->rx, sizeof(t->rx), MSG_DONTWAIT);
        if (n < 0 && errno == ECONNREFUSED) {
            /* ICMP port unreachable: the client is gone */
            finish(x, false, -1, "client gone");
            return;
        }
        if (n < 0)
            break; /* EAGAIN, or another ICMP error: the timer decides */
        uint16_t block = 0, code = 0;
        struct bh_tftp_span s;
        switch (bh_tftp_parse_reply(t->rx, (size_t)n, &block, &code)) {
        case BH_TFTP_ACK: act(x, bh_tftp_tx_on_ack(&x->tx, block, &s), &s); break;
        case BH_TFTP_ERROR: finish(x, false, -1, "client sent an error"); return;
        default: break; /* stray packet: ignored */
        }
    }
}

/* ---- a new request ------------------------------------------------------------- */

static struct xfer *find_xfer(struct bh_tftp *t, const struct sockaddr_in *peer)
{
    for (struct xfer *x = t->xfers; x; x = x->next)
        if (x->peer.sin_port == peer->sin_port && x->peer.sin_addr.s_addr == peer->sin_addr.s_addr)
            return x;
    return NULL;
}

/* The transfer's own socket: from the address the request came to, a fresh
 * port (the server's transfer ID), connected to the client. */
static int xfer_socket(const struct sockaddr_in *peer, const struct in_addr *local, uint32_t *mtu)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return BH_ESYS;
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr = *local};
    if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
        connect(fd, (const struct sockaddr *)peer, sizeof(*peer)) < 0) {
        close(fd);
        return BH_ESYS;
    }
    int m = 0;
    socklen_t ml = sizeof(m);
    *mtu = getsockopt(fd, IPPROTO_IP, IP_MTU, &m, &ml) == 0 && m > 0 ? (uint32_t)m : DEFAULT_MTU;
    return fd;
}

/* Where the data comes from: the hook's generated file, else the root. */
static int find_source(struct bh_tftp *t, struct xfer *x, const struct in_addr *local,
                       const char *path, const char **why)
{
    if (t->hooks.virtual_file) {
        char *data = NULL;
        size_t len = 0;
        /* no IP_PKTINFO (never on Linux): the address we are bound to */
        const struct in_addr *me = local->s_addr ? local : &t->bound;
        int rc = t->hooks.virtual_file(t->hooks.ud, (const struct sockaddr *)&x->peer, me, path,
                                       &data, &len);
        if (rc == 0 && (data || !len)) {
            x->vdata = data;
            x->size = len;
            return 0;
        }
        free(data);
        if (rc == BH_EPERM) {
            *why = "access violation";
            return BH_TFTP_EACCESS;
        }
        if (rc != BH_ENOTFOUND) {
            *why = "cannot generate file";
            return BH_TFTP_EUNDEF;
        }
    }
    return file_get(t, path, &x->file, &x->size, why);
}

static void start_request(struct bh_tftp *t, const struct bh_tftp_req *r,
                          const struct sockaddr_in *peer, const struct in_addr *local,
                          uint64_t start_ns)
{
    const char *why, *path;
    int code;
    if ((code = bh_tftp_check_path(r->file, &path, &why)) != 0) {
        refuse(t, peer, local, r->file, code, why, start_ns);
        return;
    }
    struct xfer *x = calloc(1, sizeof(*x));
    if (!x) {
        refuse(t, peer, local, r->file, BH_TFTP_EUNDEF, "server busy", start_ns);
        return;
    }
    x->srv = t;
    x->fd = -1;
    x->peer = *peer;
    x->start_ns = start_ns;
    x->mode = r->mode;
    memcpy(x->path, r->file, r->file_len + 1);
    if ((code = find_source(t, x, local, path, &why)) != 0)
        goto refused;
    uint32_t mtu = 0;
    x->fd = xfer_socket(peer, local, &mtu);
    if (x->fd < 0) {
        code = BH_TFTP_EUNDEF;
        why = "server busy";
        goto refused;
    }
    struct bh_tftp_limits lim = {t->blksize_max, t->windowsize_max, mtu};
    bh_tftp_negotiate(r, &lim, x->mode == BH_TFTP_OCTET, x->size, &x->par);
    /* the one allocation for the packets of this transfer */
    size_t blk = x->par.blksize;
    x->batch = (unsigned)(BATCH_BYTES / blk);
    if (x->batch > x->par.windowsize)
        x->batch = x->par.windowsize;
    if (x->batch < 1)
        x->batch = 1;
    size_t cap = blk * (x->batch + (x->mode == BH_TFTP_NETASCII ? 1 : 0));
    x->buf_cap = cap < ERR_PKT_MAX ? ERR_PKT_MAX : cap;
    x->buf = malloc(x->buf_cap);
    if (!x->buf) {
        code = BH_TFTP_EUNDEF;
        why = "server busy";
        goto refused;
    }
    /* RFC 2349: the client's timeout option is our retransmit interval */
    x->timeout_ms = x->par.timeout ? x->par.timeout * 1000u : t->timeout_ms;
    uint64_t last = x->mode == BH_TFTP_OCTET ? x->size / x->par.blksize + 1 : BH_TFTP_LAST_UNKNOWN;
    bh_tftp_tx_init(&x->tx, x->par.windowsize, last, x->par.oack != 0, t->retries);
    uv_poll_init(t->loop, &x->poll, x->fd);
    uv_timer_init(t->loop, &x->timer);
    x->poll.data = x->timer.data = x;
    x->open_handles = 2;
    t->handles += 2;
    x->next = t->xfers;
    if (t->xfers)
        t->xfers->prev = x;
    t->xfers = x;
    t->nxfers++;
    count(&t->st_active, 1);
    uv_poll_start(&x->poll, UV_READABLE, on_xfer_io);
    struct bh_tftp_span s;
    act(x, bh_tftp_tx_begin(&x->tx, &s), &s);
    return;
refused:
    if (x->fd >= 0)
        close(x->fd);
    file_release(t, x->file);
    free(x->vdata);
    free(x->buf);
    refuse(t, peer, local, r->file, code, why, start_ns);
    free(x);
}

static void on_request(struct bh_tftp *t, size_t len, bool truncated,
                       const struct sockaddr_in *peer, const struct in_addr *local)
{
    uint64_t start_ns = bh_mono_ns();
    if (peer->sin_port == 0)
        return; /* nobody to answer */
    count(&t->st_requests, 1);
    uint16_t op = 0;
    if (len >= 2)
        op = (uint16_t)((t->rx[0] << 8) | t->rx[1]);
    if (op == BH_TFTP_DATA || op == BH_TFTP_ACK || op == BH_TFTP_OACK) {
        /* a transfer packet sent to the server port: DATA or OACK get error
         * 4 (RFC 1350 sec 4), a stray ACK is dropped (tftp-hpa answers the
         * ERROR that refused it with one); neither is worth a log line */
        uint8_t pkt[ERR_PKT_MAX];
        count(&t->st_malformed, 1);
        if (op != BH_TFTP_ACK)
            send_from_main(t, peer, local, pkt,
                           bh_tftp_build_error(pkt, sizeof(pkt), BH_TFTP_EBADOP, "not a request"));
        return;
    }
    struct bh_tftp_req r;
    const char *why = "request too long";
    int code = truncated ? BH_TFTP_EBADOP : bh_tftp_parse_request(t->rx, len, &r, &why);
    if (code == BH_TFTP_PARSE_DROP) {
        count(&t->st_malformed, 1);
        return;
    }
    if (code != BH_TFTP_PARSE_OK) {
        count(&t->st_malformed, 1);
        refuse(t, peer, local, "", code, why, start_ns);
        return;
    }
    if (r.op == BH_TFTP_WRQ) {
        refuse(t, peer, local, r.file, BH_TFTP_EACCESS, "read-only server", start_ns);
        return;
    }
    if (find_xfer(t, peer))
        return; /* the client repeated its request; that transfer answers it */
    if (t->stopping) {
        refuse(t, peer, local, r.file, BH_TFTP_EUNDEF, "server shutting down", start_ns);
        return;
    }
    if (t->nxfers >= t->max_transfers) {
        refuse(t, peer, local, r.file, BH_TFTP_EUNDEF, "server busy", start_ns);
        return;
    }
    start_request(t, &r, peer, local, start_ns);
}

static void on_main_io(uv_poll_t *h, int status, int events)
{
    struct bh_tftp *t = h->data;
    if (status < 0) {
        /* libuv stopped the handle on a socket error; clear it and go on */
        int e = 0;
        socklen_t el = sizeof(e);
        (void)getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        bh_log(BH_LOG_WARN, "tftp socket error", "err=%s", strerror(e));
        uv_poll_start(&t->poll, UV_READABLE, on_main_io);
        return;
    }
    if (!(events & UV_READABLE))
        return;
    for (int i = 0; i < RECV_BATCH && !t->stopping; i++) {
        struct sockaddr_in peer;
        union {
            char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {.iov_base = t->rx, .iov_len = sizeof(t->rx)};
        struct msghdr mh = {
            .msg_name = &peer,
            .msg_namelen = sizeof(peer),
            .msg_iov = &iov,
            .msg_iovlen = 1,
            .msg_control = ctl.buf,
            .msg_controllen = sizeof(ctl.buf),
        };
        ssize_t n = recvmsg(t->fd, &mh, MSG_DONTWAIT);
        if (n < 0)
            return; /* EAGAIN, or an ICMP error for an earlier reply */
        if (mh.msg_namelen != sizeof(peer) || peer.sin_family != AF_INET)
            continue;
        struct in_addr local = {0};
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof(pi));
                local = pi.ipi_spec_dst;
            }
        }
        on_request(t, (size_t)n, (mh.msg_flags & MSG_TRUNC) != 0, &peer, &local);
    }
}

/* ---- start, stop ---------------------------------------------------------------- */

int bh_tftp_start(uv_loop_t *loop, const struct bh_boot_config *cfg,
                  const struct bh_tftp_hooks *hooks, struct bh_tftp **out, struct bh_err *err)
{
    *out = NULL;
    struct sockaddr_storage ss;
    socklen_t sl;
    if (bh_net_parse_hostport(cfg->tftp_listen, &ss, &sl, err))
        return BH_EINVAL;
    if (ss.ss_family != AF_INET)
        return bh_err_set(err, BH_EUNSUPP, "tftp.listen", "tftp.listen: IPv4 only (%s)",
                          cfg->tftp_listen);
    struct bh_tftp *t = calloc(1, sizeof(*t));
    if (!t)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    t->loop = loop;
    if (hooks)
        t->hooks = *hooks;
    t->fd = -1;
    t->max_transfers = (uint32_t)(cfg->tftp_max_transfers > 0 ? cfg->tftp_max_transfers : 1);
    t->blksize_max = (uint32_t)cfg->tftp_blksize_max;
    t->windowsize_max = (uint32_t)cfg->tftp_windowsize_max;
    t->retries = (uint32_t)(cfg->tftp_retries > 0 ? cfg->tftp_retries : 1);
    t->timeout_ms = (uint64_t)(cfg->tftp_timeout_ms > 0 ? cfg->tftp_timeout_ms : 1000);
    t->rootfd = open(cfg->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (t->rootfd < 0) {
        int rc =
            bh_err_set(err, BH_ESYS, "boot.root", "boot root %s: %s", cfg->root, strerror(errno));
        free(t);
        return rc;
    }
    int probe = bh_openat_beneath(t->rootfd, ".", O_RDONLY);
    if (probe < 0 && errno == ENOSYS) {
        bh_tftp_free(t);
        return bh_err_set(err, BH_EUNSUPP, "tftp", "the kernel lacks openat2 (Linux 5.6 or later)");
    }
    if (probe >= 0)
        close(probe);
    int one = 1, rcvbuf = MAIN_RCVBUF;
    t->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->fd < 0 || setsockopt(t->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
        bind(t->fd, (struct sockaddr *)&ss, sl) < 0) {
        int rc = bh_err_set(err, BH_ESYS, "tftp.listen", "tftp.listen %s: %s", cfg->tftp_listen,
                            strerror(errno));
        bh_tftp_free(t);
        return rc;
    }
    (void)setsockopt(t->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    t->bound = ((const struct sockaddr_in *)(const void *)&ss)->sin_addr;
    uv_poll_init(loop, &t->poll, t->fd);
    t->poll.data = t;
    t->poll_open = true;
    t->handles++;
    uv_poll_start(&t->poll, UV_READABLE, on_main_io);
    char addr[BH_ADDR_STRLEN];
    bh_net_local_addr(t->fd, addr);
    bh_log(BH_LOG_INFO, "tftp listening", "addr=%s root=%s", addr, cfg->root);
    *out = t;
    return 0;
}

static void on_main_closed(uv_handle_t *h)
{
    struct bh_tftp *t = h->data;
    t->handles--;
    close(t->fd);
    t->fd = -1;
}

void bh_tftp_stop(struct bh_tftp *t)
{
    if (!t || t->stopping)
        return;
    t->stopping = true;
    if (t->poll_open) {
        t->poll_open = false;
        uv_close((uv_handle_t *)&t->poll, on_main_closed);
    }
    while (t->xfers)
        finish(t->xfers, false, BH_TFTP_EUNDEF, "server shutting down");
}

void bh_tftp_free(struct bh_tftp *t)
{
    if (!t)
        return;
    assert(t->handles == 0 && !t->xfers && !t->files);
    if (t->fd >= 0 && !t->poll_open)
        close(t->fd);
    if (t->rootfd >= 0)
        close(t->rootfd);
    free(t);
}

void bh_tftp_get_stats(const struct bh_tftp *t, struct bh_tftp_stats *out)
{
    struct bh_tftp *m = (struct bh_tftp *)t; /* atomics are read only */
    out->requests = atomic_load_explicit(&m->st_requests, memory_order_relaxed);
    out->completed = atomic_load_explicit(&m->st_completed, memory_order_relaxed);
    out->failed = atomic_load_explicit(&m->st_failed, memory_order_relaxed);
    out->refused = atomic_load_explicit(&m->st_refused, memory_order_relaxed);
    out->malformed = atomic_load_explicit(&m->st_malformed, memory_order_relaxed);
    out->retransmits = atomic_load_explicit(&m->st_retransmits, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&m->st_bytes, memory_order_relaxed);
    out->active = atomic_load_explicit(&m->st_active, memory_order_relaxed);
}
