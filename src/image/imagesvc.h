/*
 * imagesvc.h - the image store as the daemon runs it: the chunk store on
 * disk plus version metadata in the store, and the rules that keep the two
 * consistent while uploads, downloads and gc run at the same time.
 *
 *   upload   begin (a manifest: which chunks are missing), chunks (each
 *            verified), commit (a version, only when every chunk is there)
 *   gc       mark from every version's and every live upload's manifest,
 *            sweep the rest; uploads that begin, and chunks that arrive,
 *            while it runs are protected from its sweep; a commit and a
 *            sweep step never interleave
 *   serve    a chunk is verified (decompressed and hashed) the first time
 *            it is served after start; a corrupt one is never served
 *
 * All calls are thread-safe and blocking (HTTP handler threads).
 */
#ifndef BH_IMAGE_IMAGESVC_H
#define BH_IMAGE_IMAGESVC_H

#include "core/buf.h"
#include "core/err.h"
#include "manifest.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define BH_UPLOAD_TTL_MS (24LL * 3600 * 1000) /* an idle upload holds its chunks this long */

struct bh_imagesvc;
struct bh_chunkstore;

/* root: the image directory (relative to the working directory). */
int bh_imagesvc_open(const char *root, struct bh_store *store, struct bh_imagesvc **out,
                     struct bh_err *err);
void bh_imagesvc_close(struct bh_imagesvc *svc);
struct bh_chunkstore *bh_imagesvc_chunks(struct bh_imagesvc *svc);

/* Begin (or resume) an upload of manifest bytes mf to image: stores the
 * manifest and answers {upload, manifest, chunks, missing: [hex...],
 * missing_bytes (uncompressed), resumed}. */
int bh_imagesvc_upload_begin(struct bh_imagesvc *svc, const char *image, const uint8_t *mf,
                             size_t len, const struct bh_actor *a, json_t **out,
                             struct bh_err *err);
/* The same answer for a live upload (the missing list recomputed). */
int bh_imagesvc_upload_status(struct bh_imagesvc *svc, const char *upload, json_t **out,
                              struct bh_err *err);
/* Store one chunk from the network (verified against id). */
int bh_imagesvc_put_chunk(struct bh_imagesvc *svc, const uint8_t id[BH_SHA256_LEN], const void *z,
                          size_t zlen, bool *added, struct bh_err *err);
/* Create the version: BH_ECONFLICT ("chunks-missing", the count in the
 * message) unless every chunk is present.  body: {note?, tags?: [...]}.
 * Its parent is the image's "latest" (the highest released version).
 * captured: a client agent made it (create_image:N), so it is a candidate
 * that waits for an operator's promote, unless the image has
 * auto_promote; otherwise it is released at once. */
int bh_imagesvc_commit(struct bh_imagesvc *svc, const char *upload, const json_t *body,
                       bool captured, const struct bh_actor *a, json_t **out, struct bh_err *err);
/* Open a chunk for sending (verified once per daemon run). */
int bh_imagesvc_chunk_fd(struct bh_imagesvc *svc, const uint8_t id[BH_SHA256_LEN], int *fd,
                         uint64_t *zsize, struct bh_err *err);
/* A version's manifest encoding (checked against its id).  released_only
 * (for hosts, which deploy what they read): a candidate is BH_EPERM
 * ("candidate"). */
int bh_imagesvc_manifest(struct bh_imagesvc *svc, const char *image, const char *ref,
                         bool released_only, struct bh_buf *out, char id_hex[BH_SHA256_HEX],
                         struct bh_err *err);
/* {chunks_a, chunks_b, shared, only_a, only_b, bytes_only_a, bytes_only_b} */
int bh_imagesvc_diff(struct bh_imagesvc *svc, const char *image_a, const char *ref_a,
                     const char *image_b, const char *ref_b, json_t **out, struct bh_err *err);
/* Rehash every chunk of image (every image when NULL): {manifests, chunks,
 * bytes, missing: [...], corrupt: [...], ok} */
int bh_imagesvc_verify(struct bh_imagesvc *svc, const char *image, json_t **out,
                       struct bh_err *err);
/* {roots, marked, swept, swept_bytes, kept, dry_run, ms} */
int bh_imagesvc_gc(struct bh_imagesvc *svc, bool dry_run, json_t **out, struct bh_err *err);
/* Whole-store figures (kept current) and what chunk uploads brought since
 * the daemon started: received (every PUT body) and new to the store. */
struct bh_imagesvc_totals {
    uint64_t chunks, bytes;
    uint64_t recv_chunks, recv_bytes, new_chunks, new_bytes;
};
void bh_imagesvc_totals(struct bh_imagesvc *svc, struct bh_imagesvc_totals *t);

/* {chunks, stored_bytes, dedup_ratio, received_*, new_*, images: [{image,
 * versions, logical_bytes (newest), logical_bytes_all_versions,
 * stored_bytes, dedup_ratio}]} */
int bh_imagesvc_stats(struct bh_imagesvc *svc, json_t **out, struct bh_err *err);
/* The same in Prometheus text, appended to o. */
int bh_imagesvc_metrics(struct bh_imagesvc *svc, struct bh_buf *o);

#endif
