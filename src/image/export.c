/*
 * export.c - the image of a manifest, from the chunks of a store (see
 * bh_export in ingest.h).
 *
 * Writes go sequentially from fd's current offset (normally 0), so a
 * non-sparse export also works into a pipe.  Sparse: everything after the
 * start offset is discarded first (old data must not show through the
 * holes), zero runs are skipped with lseek, and the file is sized at the
 * end with ftruncate.  Each chunk is read, decoded and hashed; a chunk
 * repeated back to back is read once.
 */
#include "ingest.h"

#include "cdc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ZERO_BUF       (1024u * 1024)
#define PROGRESS_EVERY (64u * 1024 * 1024)

static int write_all(int fd, const void *p, size_t n, uint64_t at, struct bh_err *err)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : EIO;
            if (e == ENOSPC || e == EDQUOT)
                return bh_err_sett(err, BH_EIO, "disk-full", NULL,
                                   "export: the target is full (%s) at offset %llu", strerror(e),
                                   (unsigned long long)at);
            return bh_err_set(err, BH_EIO, NULL, "export: writing at offset %llu: %s",
                              (unsigned long long)at, strerror(e));
        }
        c += w;
        n -= (size_t)w;
        at += (uint64_t)w;
    }
    return 0;
}

static int sys_fail(struct bh_err *err, const char *what)
{
    return bh_err_set(err, BH_EIO, NULL, "export: %s: %s", what, strerror(errno));
}

int bh_export(struct bh_chunkstore *cs, const struct bh_manifest *m, int fd, bool sparse,
              void (*progress)(void *ud, uint64_t done, uint64_t total), void *ud,
              struct bh_err *err)
{
    off_t start = 0;
    if (sparse) {
        if ((start = lseek(fd, 0, SEEK_CUR)) < 0)
            return sys_fail(err, "seeking the target");
        if (ftruncate(fd, start))
            return sys_fail(err, "truncating the target");
    }
    struct bh_buf chunk;
    bh_buf_init(&chunk, BH_CDC_CHUNK_MAX);
    uint8_t *zeros = NULL;
    bool have = false; /* chunk holds last_id */
    uint8_t last_id[BH_SHA256_LEN];
    uint64_t last_progress = 0;
    int rc = 0;
    for (size_t i = 0; i < m->n && !rc; i++) {
        const struct bh_extent *e = &m->ext[i];
        if (e->zero && sparse) {
            if (lseek(fd, (off_t)e->len, SEEK_CUR) < 0)
                rc = sys_fail(err, "seeking past a zero run");
        } else if (e->zero) {
            if (!zeros && !(zeros = calloc(1, ZERO_BUF))) {
                rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
                break;
            }
            for (uint64_t left = e->len; left && !rc;) {
                size_t n = left < ZERO_BUF ? (size_t)left : ZERO_BUF;
                rc = write_all(fd, zeros, n, e->offset + (e->len - left), err);
                left -= n;
            }
        } else {
            if (!have || memcmp(last_id, e->id, BH_SHA256_LEN)) {
                have = false;
                if ((rc = bh_cs_read(cs, e->id, &chunk, err)) != 0)
                    break;
                have = true;
                memcpy(last_id, e->id, BH_SHA256_LEN);
            }
            if (chunk.len != e->len) {
                char hex[BH_SHA256_HEX];
                bh_hex_id(e->id, hex);
                rc = bh_err_sett(err, BH_EIO, "corrupt-manifest", hex,
                                 "export: the manifest says chunk %s at %llu has %llu bytes, "
                                 "it has %zu",
                                 hex, (unsigned long long)e->offset, (unsigned long long)e->len,
                                 chunk.len);
                break;
            }
            rc = write_all(fd, chunk.p, chunk.len, e->offset, err);
        }
        uint64_t done = e->offset + e->len;
        if (!rc && progress && done - last_progress >= PROGRESS_EVERY) {
            last_progress = done;
            progress(ud, done, m->size);
        }
    }
    if (!rc && sparse && ftruncate(fd, start + (off_t)m->size))
        rc = sys_fail(err, "sizing the target");
    if (!rc && progress)
        progress(ud, m->size, m->size);
    free(zeros);
    bh_buf_free(&chunk);
    return rc;
}
