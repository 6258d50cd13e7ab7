/*
 * uploader.h - chunk uploads over several keep-alive connections at once,
 * so that the server's per-chunk work (decompress, hash, write) and the
 * network round trips overlap with each other and with our compression.
 */
#ifndef BH_CLIENT_UPLOADER_H
#define BH_CLIENT_UPLOADER_H

#include "client.h"
#include "image/manifest.h"

#include <stdint.h>

struct bh_uploader;

/* n connections (1..16) to c's server, with c's token. */
int bh_uploader_start(const struct bh_cli *c, int n, struct bh_uploader **out, struct bh_err *err);
/* Queue one chunk (z is copied).  Blocks while the queue is full.  Fails
 * with the first error a connection met. */
int bh_uploader_put(struct bh_uploader *u, const uint8_t id[BH_SHA256_LEN], const void *z,
                    size_t zlen, struct bh_err *err);
/* Wait until everything queued is sent, stop the connections, free u.
 * Returns the first error; *chunks and *bytes what was sent. */
int bh_uploader_finish(struct bh_uploader *u, uint64_t *chunks, uint64_t *bytes,
                       struct bh_err *err);

#endif
