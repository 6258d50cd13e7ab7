/*
 * cache.c - chunks kept on the client's cache partition (see cache.h).
 *
 * A kept chunk is written to a temporary name and renamed; the file system
 * is flushed once at the end of a deploy or an initcache (syncfs), not per
 * chunk.  A file cut short by a power cut before that, or damaged later, is
 * found when it is read: every cached frame is decoded and hashed before it
 * is used, and a bad one is dropped and fetched from the server.
 */
#include "cache.h"

#include "core/str.h"
#include "image/chunkstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK_FILE_MAX (17u << 20) /* a zstd frame of a 16 MiB chunk, with room */

static void path_of(const struct bh_cache *c, const uint8_t id[BH_SHA256_LEN], char *out,
                    size_t cap)
{
    char hex[BH_SHA256_HEX];
    bh_hex_id(id, hex);
    snprintf(out, cap, "%s/%.2s/%s", c->dir, hex, hex);
}

static int mkdirs(const char *path, struct bh_err *err)
{
    char p[PATH_MAX];
    bh_strlcpy(p, path, sizeof(p));
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return bh_err_set(err, BH_ESYS, NULL, "mkdir %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0755) < 0 && errno != EEXIST)
        return bh_err_set(err, BH_ESYS, NULL, "mkdir %s: %s", p, strerror(errno));
    return 0;
}

int bh_cache_open(struct bh_cache *c, const char *dir, const struct bh_chunk_source *inner,
                  struct bh_err *err)
{
    memset(c, 0, sizeof(*c));
    c->inner = *inner;
    if ((size_t)snprintf(c->dir, sizeof(c->dir), "%s/bootherd/chunks", dir) >= sizeof(c->dir))
        return bh_err_set(err, BH_EINVAL, NULL, "cache path too long");
    return mkdirs(c->dir, err);
}

/* the cached frame of id into z; false when there is none (or unreadable) */
static bool load(struct bh_cache *c, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z)
{
    char p[PATH_MAX];
    path_of(c, id, p, sizeof(p));
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size <= CHUNK_FILE_MAX;
    bh_buf_reset(z);
    char tmp[65536];
    ssize_t n;
    while (ok && (n = read(fd, tmp, sizeof(tmp))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0 && bh_buf_add(z, tmp, (size_t)n) == 0;
    }
    close(fd);
    return ok && z->len == (size_t)st.st_size;
}

static void keep(struct bh_cache *c, const uint8_t id[BH_SHA256_LEN], const struct bh_buf *z)
{
    bh_cache_keep(c, id, z->p, z->len);
}

bool bh_cache_has(const struct bh_cache *c, const uint8_t id[BH_SHA256_LEN])
{
    char p[PATH_MAX];
    path_of(c, id, p, sizeof(p));
    return access(p, F_OK) == 0;
}

bool bh_cache_keep(struct bh_cache *c, const uint8_t id[BH_SHA256_LEN], const void *z, size_t len)
{
    char p[PATH_MAX], t[PATH_MAX + 16];
    path_of(c, id, p, sizeof(p));
    snprintf(t, sizeof(t), "%s.tmp.%ld", p, (long)gettid());
    char *slash = strrchr(p, '/');
    *slash = '\0';
    mkdir(p, 0755);
    *slash = '/';
    int fd = open(t, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return false; /* a full or read-only cache costs speed, not the deploy */
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, (const char *)z + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(fd);
    if (off == len && rename(t, p) == 0) {
        atomic_fetch_add(&c->kept, 1);
        return true;
    }
    unlink(t);
    return false;
}

int bh_cache_fetch(void *ud, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z, struct bh_err *err)
{
    struct bh_cache *c = ud;
    if (load(c, id, z)) {
        /* damaged, or cut short by a power cut before the disk had it? */
        if (bh_cs_check_frame(z->p, z->len, id, NULL) == 0) {
            atomic_fetch_add(&c->hits, 1);
            return 0;
        }
        char hex[BH_SHA256_HEX];
        bh_hex_id(id, hex);
        fprintf(stderr,
                "bootherd-agent: cache: chunk %s is damaged; dropped from the cache, fetched "
                "again\n",
                hex);
        bh_cache_drop(c, id);
    }
    int rc = c->inner.fetch(c->inner.ud, id, z, err);
    if (rc)
        return rc;
    atomic_fetch_add(&c->misses, 1);
    keep(c, id, z);
    return 0;
}

void bh_cache_drop(struct bh_cache *c, const uint8_t id[BH_SHA256_LEN])
{
    char p[PATH_MAX];
    path_of(c, id, p, sizeof(p));
    unlink(p);
}

void bh_cache_sync(struct bh_cache *c)
{
    int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        syncfs(fd);
        close(fd);
    }
}

int bh_cache_fill(struct bh_cache *c, const struct bh_manifest *m,
                  void (*progress)(void *ud, uint64_t done, uint64_t total), void *ud,
                  uint64_t *added, struct bh_err *err)
{
    uint8_t *ids = NULL;
    size_t n = 0;
    *added = 0;
    if (bh_manifest_chunk_set(m, &ids, &n))
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    struct bh_buf z;
    bh_buf_init(&z, CHUNK_FILE_MAX);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const uint8_t *id = ids + i * BH_SHA256_LEN;
        if (!bh_cache_has(c, id)) {
            rc = c->inner.fetch(c->inner.ud, id, &z, err);
            if (!rc) {
                keep(c, id, &z);
                (*added)++;
            }
        }
        if (progress)
            progress(ud, i + 1, n);
    }
    bh_buf_free(&z);
    free(ids);
    bh_cache_sync(c);
    return rc;
}
