/*
 * deploy.h - write an image version onto a disk or partition (LINBO's
 * "new" and "sync").
 *
 * The image of a manifest is written at offset 0 of fd.  Chunks come from
 * a chunk source (HTTP in the agent, a local store in tests) as zstd
 * frames; each is decoded and its SHA-256 checked against its id before a
 * byte of it is written, so a corrupt or wrong chunk never reaches the
 * disk.  A sync (compare) first hashes what the disk already holds at each
 * extent and leaves matching extents alone, so a disk that holds an older
 * version of the image costs only the chunks that changed.
 *
 * Worker threads each take one extent at a time and fetch, verify and
 * write it, so network waits, decoding and disk writes overlap.  Memory is
 * bounded by the number of workers times the largest chunk, whatever the
 * image size.  A chunk that the manifest names more than once is fetched
 * once: later copies are read back from where it was written and verified.
 */
#ifndef BH_AGENT_DEPLOY_H
#define BH_AGENT_DEPLOY_H

#include "core/buf.h"
#include "core/err.h"
#include "image/manifest.h"

#include <stdbool.h>
#include <stdint.h>

/* Where chunks come from.  fetch puts the zstd frame of chunk id into z
 * (replacing its content; z's cap is the caller's), and returns 0, or a
 * BH_E* code with err filled.  Called from several threads at once: it
 * must be thread-safe.  The frame is untrusted: bh_deploy checks it. */
struct bh_chunk_source {
    int (*fetch)(void *ud, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z, struct bh_err *err);
    void *ud;
};

struct bh_deploy_opts {
    bool compare; /* sync: skip extents the target already holds */
    /* Worker threads, each fetching, verifying and writing one extent at a
     * time.  0: twice the online CPUs, at least 4 (a worker waiting on the
     * network leaves its core to another). */
    int threads;
    /* The calling thread, at most twice a second, and once at the end:
     * image bytes done (checked, written or zeroed), the image size, and
     * compressed bytes fetched so far.  May be NULL. */
    void (*progress)(void *ud, uint64_t done, uint64_t total, uint64_t fetched);
    void *ud;
};

struct bh_deploy_stats {
    uint64_t extents;       /* in the manifest */
    uint64_t skipped;       /* extents the target already held (compare) */
    uint64_t fetched;       /* chunks fetched from the source */
    uint64_t fetched_bytes; /* their compressed size: what came over the wire */
    uint64_t written;       /* bytes written from chunks (fetched or copied) */
    uint64_t zeroed;        /* bytes of zero runs cleared */
    uint64_t zero_runs;     /* zero runs cleared (without a compare where that is cheap) */
    double seconds;
    uint64_t retries;    /* requests retried (bh_agent_deploy: the server was away) */
    uint64_t cache_hits; /* chunks read from the cache partition */
};

/* Write the image of m onto fd (a block device or regular file opened
 * O_RDWR), whose usable size is dev_size (bytes after m->size are left
 * alone).  Zero runs: BLKZEROOUT on a block device, else a hole punched
 * (fallocate), else written zeros; with compare, a zero run that reads
 * back as zeros is left alone.  Flushes fd (fsync) before returning 0.
 *
 * Failures: BH_EINVAL, type "device-too-small", when dev_size < m->size;
 * BH_EIO, type "corrupt-chunk" and the chunk's id in err->field, for a
 * frame that does not decode to the extent's length or whose content does
 * not hash to its id (nothing of it was written); the source's own error
 * for a fetch that failed; BH_EIO for a read or write of fd that failed
 * (the offset in the message).  On failure the target holds a mix of old
 * and new extents: a later sync repairs it.  st (may be NULL) is filled in
 * either case. */
int bh_deploy(int fd, uint64_t dev_size, const struct bh_manifest *m,
              const struct bh_chunk_source *src, const struct bh_deploy_opts *o,
              struct bh_deploy_stats *st, struct bh_err *err);

/* The `deploy` command of bootherd-agent (cmd_deploy.c); argv[0] is
 * "deploy".  Exit status: 0 done, 1 failed, 2 usage. */
int bh_agent_cmd_deploy(int argc, char **argv);

/* Deploy name@ref from server onto device (a block device, or a file,
 * which is created or extended): the manifest over HTTP, then bh_deploy
 * with the HTTP chunk source.  For `deploy` and for the jobs of `run`. */
struct bh_agent_deploy_req {
    const char *server, *token, *name, *ref, *device;
    bool full;       /* new: no compare pass */
    bool must_exist; /* the device must be there (run); else a file is made */
    /* the mounted cache partition: chunks are taken from it and kept in it
     * (cache.h); NULL: none */
    const char *cache_dir;
    int threads, retry_secs;
    void (*progress)(void *ud, uint64_t done, uint64_t total, uint64_t fetched);
    void *ud;
};
int bh_agent_deploy(const struct bh_agent_deploy_req *q, struct bh_deploy_stats *st,
                    struct bh_err *err);

#endif
