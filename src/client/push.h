/*
 * push.h - upload a raw image (a file or a block device) as a new version:
 * chunk and hash it here, post the manifest, send only the chunks the
 * server lacks (several connections), commit.  `bootherd image import` and
 * the agent's create_image:N both push this way.
 */
#ifndef BH_CLIENT_PUSH_H
#define BH_CLIENT_PUSH_H

#include "client.h"
#include "image/manifest.h"

#include <stdint.h>

struct bh_push_opts {
    const char *name; /* the image */
    const char *note; /* of the version; NULL for none */
    const char *const *tags;
    int ntags;
    uint32_t chunk_avg; /* 0: the default */
    /* progress of each phase ("scanning", "uploading"); NULL: a bar on stderr */
    void (*progress)(void *ud, const char *phase, uint64_t done, uint64_t total);
    void *ud;
    /* Asked once the manifest is made, before anything is sent, with its
     * id (hex): true stops the push there, nothing sent and st->stopped
     * set (`migrate linbo`: a version with that content exists already,
     * or a dry run).  NULL: always push. */
    bool (*stop)(void *ud, const char *manifest_hex);
};

struct bh_push_stats {
    uint64_t size, chunks;            /* of the image */
    uint64_t sent_chunks, sent_bytes; /* what went over the wire (compressed) */
    uint64_t missing_bytes;           /* what the server lacked, before compression */
    int64_t version;                  /* the new version */
    double seconds;
    char manifest[BH_SHA256_HEX]; /* the manifest's id (hex) */
    bool stopped;                 /* o->stop said so: nothing was sent */
};

/* The size of a regular file or a block device. */
int bh_push_source_size(int fd, uint64_t *size, struct bh_err *err);
/* Push what fd holds (size bytes from offset 0).  On failure err says
 * which step failed; a problem the server sent is printed to stderr and
 * err then names the step only. */
int bh_cli_push(struct bh_cli *c, int fd, uint64_t size, const struct bh_push_opts *o,
                struct bh_push_stats *st, json_t **version, struct bh_err *err);

#endif
