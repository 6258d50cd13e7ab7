/*
 * httpsrc.h - chunks and manifests from a bootherd server over HTTP
 * (libcurl), for the agent.
 *
 *   GET {server}/api/v1/chunks/{hex}                                a chunk's zstd frame
 *   GET {server}/api/v1/images/{name}/versions/{ref}/manifest       a manifest
 *
 * with "Authorization: Bearer TOKEN".  Connections are kept alive and
 * reused: a request takes an idle libcurl handle from a pool (making one
 * when none is idle) and gives it back, so each concurrent caller has its
 * own connection and the source is thread-safe.
 *
 * A server that cannot be reached (refused or reset connections, a stall,
 * HTTP 502/503/504: restarting, overloaded) is retried with a growing
 * pause, for up to retry_secs from the first failure of that request; then
 * the request fails with BH_EIO and a message that says for how long the
 * server was unreachable and why.  A 4xx or other answer fails at once.
 */
#ifndef BH_CLIENT_HTTPSRC_H
#define BH_CLIENT_HTTPSRC_H

#include "core/buf.h"
#include "core/err.h"
#include "image/manifest.h"

#include <stdint.h>

struct bh_httpsrc;

struct bh_httpsrc_opts {
    const char *server; /* http://host:port (a trailing slash is ignored) */
    const char *token;  /* may be NULL or "" (then no Authorization header) */
    int retry_secs;     /* 0: 60 */
    int stall_secs;     /* a request that receives nothing this long is retried; 0: 15 */
};

/* Copies what it needs from o.  BH_EINVAL for a server URL that is not
 * http:// or https://, BH_ENOMEM. */
int bh_httpsrc_open(const struct bh_httpsrc_opts *o, struct bh_httpsrc **out, struct bh_err *err);
/* Closes every connection.  No request may be running. */
void bh_httpsrc_close(struct bh_httpsrc *s);

/* The fetch of the agent's chunk source (struct bh_chunk_source,
 * agent/deploy.h); ud is s. */
int bh_httpsrc_fetch(void *s, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z,
                     struct bh_err *err);
/* Used where struct bh_chunk_source is known (the agent's): a macro, so the
 * client need not see the agent's header. */
#define bh_httpsrc_source(s) ((struct bh_chunk_source){.fetch = bh_httpsrc_fetch, .ud = (s)})

/* GET and parse the manifest of name@ref (ref: a version number or a tag;
 * NULL: "latest").  The encoding is checked against the server's
 * X-Manifest-Id when it sends one.  BH_ENOTFOUND when the server has no
 * such image or version; BH_EAUTH / BH_EPERM for a refused token. */
int bh_httpsrc_manifest(struct bh_httpsrc *s, const char *name, const char *ref,
                        struct bh_manifest *m, struct bh_err *err);

/* Response bytes received so far (bodies of every request), and the
 * number of retries made. */
uint64_t bh_httpsrc_bytes(const struct bh_httpsrc *s);
uint64_t bh_httpsrc_retries(const struct bh_httpsrc *s);

#endif
