/*
 * leases.h - durable DHCP leases, a store concern: the backend keeps the
 * rows (SQLite: sqlite_leases.c), this front runs the writer thread that
 * does group commit.
 *
 * The leases live in their own database file beside the store's (SQLite:
 * WAL, synchronous=FULL), not in the store's: the DHCP server commits a
 * batch every few milliseconds under load and must never queue behind an
 * API transaction on the store's single writer, and `bootherd dhcpd` runs
 * them without opening the store at all.  Only this interface touches it.
 *
 * The loop thread queues lease changes and gets a sequence number for each;
 * the writer commits everything queued within commit_ms of the first change
 * in ONE transaction (one fsync), then publishes the highest committed
 * sequence number and calls on_commit (from the writer thread; the DHCP
 * loop turns it into a uv_async wake-up).  A reply that depends on change
 * N may leave once bh_leasedb_committed() >= N.  A failed commit is retried
 * (the disk may come back); nothing is reported committed before it is.
 *
 * kill -9 at any point: SQLite's WAL keeps the file consistent and every
 * change reported committed is on disk.
 */
#ifndef BH_STORE_LEASES_H
#define BH_STORE_LEASES_H

#include "core/err.h"

#include <stdbool.h>
#include <stdint.h>

enum bh_lease_state {
    BH_LEASE_OFFERED = 1,  /* memory only: held for a client between OFFER and REQUEST */
    BH_LEASE_BOUND = 2,    /* acknowledged until `expires` */
    BH_LEASE_RELEASED = 3, /* given back; remembered so the client gets it again */
    BH_LEASE_DECLINED = 4, /* in use by someone unknown (DECLINE): not handed out until expires */
};

#define BH_LEASE_HOSTNAME_MAX 64

/* One row: an address and who holds it.  mac all zero for DECLINED. */
struct bh_lease_rec {
    uint32_t ip; /* host byte order (the primary key) */
    uint8_t mac[6];
    uint8_t state;
    bool del;        /* queued change: delete the row of `ip` */
    int64_t expires; /* seconds since the epoch */
    char hostname[BH_LEASE_HOSTNAME_MAX];
};

#define BH_LEASEDB_MAX_QUEUE 65536 /* changes waiting for a commit; more = BH_EBUSY */

struct bh_leasedb;

/* Open (create) the database at path, schema included, in WAL mode with
 * synchronous=FULL.  Caller closes with bh_leasedb_close. */
int bh_leasedb_open(const char *path, struct bh_leasedb **out, struct bh_err *err);
/* Every row, in ip order (before bh_leasedb_start; caller's thread).  cb
 * returns 0 to go on. */
int bh_leasedb_load(struct bh_leasedb *db, int (*cb)(void *ud, const struct bh_lease_rec *r),
                    void *ud, struct bh_err *err);
/* Start the writer thread.  commit_ms: how long a batch waits for company
 * after its first change (0 = commit at once).  on_commit(ud) runs on the
 * writer thread after each successful commit. */
int bh_leasedb_start(struct bh_leasedb *db, int64_t commit_ms, void (*on_commit)(void *ud),
                     void *ud, struct bh_err *err);
/* Queue one change (any thread; copied).  Returns its sequence number
 * (> 0) or BH_EBUSY when BH_LEASEDB_MAX_QUEUE changes are already waiting. */
int64_t bh_leasedb_queue(struct bh_leasedb *db, const struct bh_lease_rec *r);
/* Highest sequence number known to be on disk. */
int64_t bh_leasedb_committed(const struct bh_leasedb *db);
/* Transactions committed so far and the time they took (for stats). */
void bh_leasedb_stats(const struct bh_leasedb *db, uint64_t *commits, uint64_t *nanos);
/* Commit whatever is queued and stop the writer (blocks for that last
 * commit); the database stays readable for stats.  Idempotent. */
void bh_leasedb_close_writer(struct bh_leasedb *db);
/* Commit whatever is queued, stop the writer and close the database.
 * Blocks for that last commit.  NULL is a no-op. */
void bh_leasedb_close(struct bh_leasedb *db);

#endif
