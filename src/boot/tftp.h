/*
 * tftp.h - the TFTP server (read-only): RFC 1350, 2347 (options), 2348
 * (blksize), 2349 (timeout, tsize), 7440 (windowsize).
 *
 * Runs on the caller's libuv loop (the boot services loop) and never blocks
 * it: no database access, no DNS.  One socket per transfer; a file open in
 * several transfers is opened and mapped once.  Files come from the boot
 * root, or from the virtual_file hook (per-host GRUB/pxelinux/Raspberry Pi
 * files generated in memory).  Nothing outside the root is ever served.
 */
#ifndef BH_BOOT_TFTP_H
#define BH_BOOT_TFTP_H

#include "boot.h"
#include "bootevent.h"

#include <sys/socket.h>
#include <uv.h>

struct bh_tftp;

struct bh_tftp_hooks {
    /* Loop thread, must not block.  If `path` names a generated file for this
     * client, return 0 with *data (malloc'd, the server frees it) and *len;
     * BH_ENOTFOUND to look in the boot root instead; BH_EPERM refuses it
     * (TFTP error 2), any other error gives TFTP error 0.  `path` has passed
     * the name checks (one leading '/' stripped; no control bytes,
     * backslashes, '..' components or absolute names).  `local` is our
     * address the request came to (the reply leaves from it): the address
     * the client reaches us at, which generated files point back to. */
    int (*virtual_file)(void *ud, const struct sockaddr *client, const struct in_addr *local,
                        const char *path, char **data, size_t *len);
    /* Loop thread: a transfer ended (also for refused requests: ok false,
     * blksize 0).  The event (bootevent.h) is borrowed for the call. */
    void (*on_transfer)(void *ud, const struct bh_tftp_event *ev);
    void *ud;
};

/* Counters for /metrics (monotonic, read from any thread).  `refused`
 * counts every request answered with an ERROR, `malformed` the part of
 * them (and of dropped packets) that did not parse. */
/* The counters, once: X(field, Prometheus sample, type, help).  The
 * struct, the /metrics lines (bootsvc.c) and the totals logged by
 * `bootherd tftpd` are all made from this list. */
#define BH_TFTP_STATS(X)                                                                           \
    X(requests, "bootherd_tftp_requests_total", "counter", "TFTP read requests.")                  \
    X(completed, "bootherd_tftp_transfers_total{result=\"completed\"}", "counter", "")             \
    X(failed, "bootherd_tftp_transfers_total{result=\"failed\"}", "counter", "")                   \
    X(refused, "bootherd_tftp_transfers_total{result=\"refused\"}", "counter", "")                 \
    X(malformed, "bootherd_tftp_malformed_total", "counter", "Malformed TFTP packets dropped.")    \
    X(retransmits, "bootherd_tftp_retransmits_total", "counter", "")                               \
    X(bytes, "bootherd_tftp_bytes_total", "counter", "")                                           \
    X(active, "bootherd_tftp_active_transfers", "gauge", "") /* transfers in progress now */
#define BH_TFTP_STATS_FIELD(f, metric, type, help) uint64_t f;
struct bh_tftp_stats {
    BH_TFTP_STATS(BH_TFTP_STATS_FIELD)
};

/* Bind cfg->tftp_listen (IPv4 "ADDR:PORT") and open cfg->root as given,
 * absolute or relative to the working directory (call while still
 * privileged; afterwards the files only need to be readable).  The server
 * starts answering when the loop runs. */
int bh_tftp_start(uv_loop_t *loop, const struct bh_boot_config *cfg,
                  const struct bh_tftp_hooks *hooks, struct bh_tftp **out, struct bh_err *err);
/* Abort transfers in progress and close every handle (loop thread).  The
 * memory goes once the loop has run the close callbacks; call bh_tftp_free
 * after the loop ran. */
void bh_tftp_stop(struct bh_tftp *t);
void bh_tftp_free(struct bh_tftp *t);
void bh_tftp_get_stats(const struct bh_tftp *t, struct bh_tftp_stats *out);

#endif
