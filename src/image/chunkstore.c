/*
 * chunkstore.c - content-addressed chunks and manifests on disk (see
 * chunkstore.h).
 *
 * Every path is looked up relative to a directory descriptor opened once
 * (root, chunks, manifests, tmp), with O_NOFOLLOW on the last component.
 * A write goes to a uniquely named file in tmp, is flushed, and is moved
 * into place with renameat2(RENAME_NOREPLACE), so a present object is never
 * replaced (a racing writer of the same content just drops its copy); then
 * the directory is flushed so the name itself survives a crash.
 *
 * The tmp directory is cleared only by the first opener: every open holds
 * a shared flock on it, and clearing needs the exclusive one, so a second
 * process (or a second open in this one) never deletes writes in progress.
 */
#include "chunkstore.h"

#include "cdc.h"
#include "image_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_MODE      0755
#define FILE_MODE     0644
#define TMP_NAME_MAX  64
#define CHUNK_PATH    (3 + BH_SHA256_HEX) /* "ab/" + 64 hex digits + NUL */
#define MANIFEST_MAX  (64u + 48u * (size_t)BH_MF_EXTENTS_MAX)
#define ERR_CORRUPT   "corrupt-chunk"
#define ERR_CORRUPT_M "corrupt-manifest"
#define CCTX_KEEP_MAX (8u * 1024 * 1024) /* larger per-thread contexts are freed */

struct bh_chunkstore {
    int root, chunks, manifests, tmp; /* directory descriptors */
    atomic_bool no_renameat2;         /* the file system refused RENAME_NOREPLACE */
};

static atomic_uint_fast64_t tmp_seq;

/* ---- per-thread zstd contexts ------------------------------------------ *
 * Creating a context per call costs about 20 us for a compression and
 * 10 us for a decompression (measured with 16 KiB chunks: a fifth and a
 * third of the work; at 256 KiB it is lost in the noise), so each thread
 * keeps one of each, freed when the thread exits. */

struct zctx {
    ZSTD_CCtx *c;
    ZSTD_DCtx *d;
    struct bh_buf scratch; /* a verified chunk's content (bh_cs_put) */
};

#define SCRATCH_KEEP_MAX (4u << 20)

static pthread_key_t zkey;
static pthread_once_t zkey_once = PTHREAD_ONCE_INIT;

static void zctx_free(void *p)
{
    struct zctx *z = p;
    ZSTD_freeCCtx(z->c);
    ZSTD_freeDCtx(z->d);
    bh_buf_free(&z->scratch);
    free(z);
}

static void zkey_init(void)
{
    if (pthread_key_create(&zkey, zctx_free))
        abort();
}

static struct zctx *zctx_get(void)
{
    pthread_once(&zkey_once, zkey_init);
    struct zctx *z = pthread_getspecific(zkey);
    if (!z) {
        z = calloc(1, sizeof(*z));
        if (!z || pthread_setspecific(zkey, z)) {
            free(z);
            return NULL;
        }
        bh_buf_init(&z->scratch, BH_CDC_CHUNK_MAX);
    }
    return z;
}

/* A context keeps the workspace of the largest job it did; high levels on
 * big chunks need tens of MiB, which a long-lived thread should not keep. */
static void zctx_trim(void)
{
    struct zctx *z = pthread_getspecific(zkey);
    if (z && z->c && ZSTD_sizeof_CCtx(z->c) > CCTX_KEEP_MAX) {
        ZSTD_freeCCtx(z->c);
        z->c = NULL;
    }
}

ZSTD_CCtx *bh__zstd_cctx(void)
{
    struct zctx *z = zctx_get();
    if (z && !z->c)
        z->c = ZSTD_createCCtx();
    return z ? z->c : NULL;
}

ZSTD_DCtx *bh__zstd_dctx(void)
{
    struct zctx *z = zctx_get();
    if (z && !z->d)
        z->d = ZSTD_createDCtx();
    return z ? z->d : NULL;
}

/* ---- helpers ------------------------------------------------------------ */

static int fail_errno(struct bh_err *err, int e, const char *what, const char *name)
{
    if (e == ENOSPC || e == EDQUOT)
        return bh_err_sett(err, BH_EIO, "disk-full", name,
                           "chunk store: the disk is full (%s) while %s %s", strerror(e), what,
                           name);
    return bh_err_set(err, BH_EIO, name, "chunk store: %s %s: %s", what, name, strerror(e));
}

static void chunk_path(const uint8_t id[BH_SHA256_LEN], char out[CHUNK_PATH])
{
    char hex[BH_SHA256_HEX];
    bh_hex_id(id, hex);
    out[0] = hex[0];
    out[1] = hex[1];
    out[2] = '/';
    memcpy(out + 3, hex, BH_SHA256_HEX);
}

static int open_dir(int at, const char *name, bool create, struct bh_err *err)
{
    if (create && mkdirat(at, name, DIR_MODE) && errno != EEXIST)
        return fail_errno(err, errno, "creating directory", name);
    int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fail_errno(err, errno, "opening directory", name);
    return fd;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write p to a new file in tmp (flushed when sync); its name in name. */
static int write_tmp(struct bh_chunkstore *cs, const void *p, size_t n, bool sync,
                     char name[TMP_NAME_MAX], struct bh_err *err)
{
    int fd;
    for (;;) {
        unsigned long long seq = (unsigned long long)atomic_fetch_add(&tmp_seq, 1);
        snprintf(name, TMP_NAME_MAX, "%ld.%llu.tmp", (long)getpid(), seq);
        fd = openat(cs->tmp, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, FILE_MODE);
        if (fd >= 0)
            break;
        if (errno != EEXIST) /* EEXIST: left by an earlier process with our pid */
            return fail_errno(err, errno, "creating", "tmp file");
    }
    int e = write_all(fd, p, n);
    if (!e && sync && fsync(fd))
        e = errno;
    if (close(fd) && !e)
        e = errno;
    if (e) {
        unlinkat(cs->tmp, name, 0);
        return fail_errno(err, e, "writing", "tmp file");
    }
    return 0;
}

/* Move tmp/name to dst (relative to dirfd) unless something is there;
 * *added says which happened.  The tmp file is gone either way. */
static int install(struct bh_chunkstore *cs, const char *name, int dirfd, const char *dst,
                   bool *added, struct bh_err *err)
{
    int r = -1, e = 0;
    if (!atomic_load(&cs->no_renameat2)) {
        r = renameat2(cs->tmp, name, dirfd, dst, RENAME_NOREPLACE);
        e = errno;
        if (r && (e == EINVAL || e == ENOSYS)) {
            atomic_store(&cs->no_renameat2, true);
            r = -1;
        }
    }
    if (atomic_load(&cs->no_renameat2) && r) {
        /* link(2) never replaces either */
        r = linkat(cs->tmp, name, dirfd, dst, 0);
        e = errno;
        if (!r)
            unlinkat(cs->tmp, name, 0);
    }
    if (!r) {
        *added = true;
        return 0;
    }
    unlinkat(cs->tmp, name, 0);
    if (e == EEXIST) {
        *added = false;
        return 0;
    }
    return fail_errno(err, e, "storing", dst);
}

/* Read a whole regular file of at most out->max bytes into out (replacing
 * its content).  BH_ENOTFOUND when absent; BH_EIO when unreadable or over
 * the limit. */
static int read_file(int dirfd, const char *path, struct bh_buf *out, uint64_t *size,
                     struct bh_err *err)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return bh_err_set(err, BH_ENOTFOUND, path, "%s is not in the store", path);
        return fail_errno(err, errno, "opening", path);
    }
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st)) {
        rc = fail_errno(err, errno, "reading", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > out->max) {
        rc = bh_err_set(err, BH_EIO, path, "chunk store: %s is %s", path,
                        S_ISREG(st.st_mode) ? "too large" : "not a regular file");
        goto out;
    }
    size_t n = (size_t)st.st_size;
    *size = n;
    bh_buf_reset(out);
    /* grow once to the file's size, then read straight into the buffer */
    char *p = out->cap >= n + 1 ? out->p : realloc(out->p, n + 1);
    if (!p) {
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        goto out;
    }
    if (p != out->p) {
        out->p = p;
        out->cap = n + 1;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? fail_errno(err, errno, "reading", path)
                       : bh_err_set(err, BH_EIO, path, "chunk store: %s shrank while read", path);
            goto out;
        }
        got += (size_t)r;
    }
    out->len = n;
    p[n] = '\0';
out:
    close(fd);
    return rc;
}

/* ---- open and close ----------------------------------------------------- */

static void clear_tmp(int tmpfd)
{
    int fd = dup(tmpfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlinkat(tmpfd, de->d_name, 0);
    closedir(d);
}

int bh_cs_open(const char *root, struct bh_chunkstore **out, struct bh_err *err)
{
    struct bh_chunkstore *cs = calloc(1, sizeof(*cs));
    if (!cs)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    cs->root = cs->chunks = cs->manifests = cs->tmp = -1;
    int rc;
    if ((rc = cs->root = open_dir(AT_FDCWD, root, true, err)) < 0 ||
        (rc = cs->chunks = open_dir(cs->root, "chunks", true, err)) < 0 ||
        (rc = cs->manifests = open_dir(cs->root, "manifests", true, err)) < 0 ||
        (rc = cs->tmp = open_dir(cs->root, "tmp", true, err)) < 0)
        goto fail;
    for (unsigned i = 0; i < 256; i++) {
        char sub[3];
        snprintf(sub, sizeof(sub), "%02x", i);
        if (mkdirat(cs->chunks, sub, DIR_MODE) && errno != EEXIST) {
            rc = fail_errno(err, errno, "creating directory chunks/", sub);
            goto fail;
        }
    }
    /* best effort: where directories cannot be locked (some network file
     * systems) tmp is just not cleared */
    if (flock(cs->tmp, LOCK_EX | LOCK_NB) == 0) {
        clear_tmp(cs->tmp); /* nobody else has the store open */
        flock(cs->tmp, LOCK_SH);
    } else if (errno == EWOULDBLOCK) {
        flock(cs->tmp, LOCK_SH);
    }
    *out = cs;
    return 0;
fail:
    bh_cs_close(cs);
    return rc;
}

void bh_cs_close(struct bh_chunkstore *cs)
{
    if (!cs)
        return;
    int fds[] = {cs->tmp, cs->manifests, cs->chunks, cs->root};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(cs);
}

/* ---- chunks ------------------------------------------------------------- */

bool bh_cs_has(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN])
{
    char path[CHUNK_PATH];
    chunk_path(id, path);
    struct stat st;
    return fstatat(cs->chunks, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

enum frame_check { FRAME_OK, FRAME_BAD, FRAME_MISMATCH, FRAME_TOOBIG, FRAME_NOMEM };

/* Is z exactly one zstd frame whose content hashes to id?  The content is
 * decoded into out (replacing what it held), never more than
 * BH_CDC_CHUNK_MAX bytes nor out->max; *why says what is wrong. */
static enum frame_check check_frame(const void *z, size_t zlen, const uint8_t id[BH_SHA256_LEN],
                                    struct bh_buf *out, const char **why)
{
    bh_buf_reset(out);
    unsigned long long n = ZSTD_getFrameContentSize(z, zlen);
    *why = "not a zstd frame";
    if (n == ZSTD_CONTENTSIZE_ERROR)
        return FRAME_BAD;
    *why = "the zstd frame does not declare its content size";
    if (n == ZSTD_CONTENTSIZE_UNKNOWN)
        return FRAME_BAD;
    *why = "the zstd frame declares a chunk size out of range";
    if (n == 0 || n > BH_CDC_CHUNK_MAX)
        return FRAME_BAD;
    *why = "not exactly one zstd frame";
    size_t fsz = ZSTD_findFrameCompressedSize(z, zlen);
    if (ZSTD_isError(fsz) || fsz != zlen)
        return FRAME_BAD;
    *why = "the chunk is larger than the buffer limit";
    if (n > out->max)
        return FRAME_TOOBIG;
    *why = "out of memory";
    if (out->cap < n + 1) {
        char *p = realloc(out->p, (size_t)n + 1);
        if (!p)
            return FRAME_NOMEM;
        out->p = p;
        out->cap = (size_t)n + 1;
    }
    ZSTD_DCtx *d = bh__zstd_dctx();
    if (!d)
        return FRAME_NOMEM;
    size_t got = ZSTD_decompressDCtx(d, out->p, (size_t)n, z, zlen);
    if (ZSTD_isError(got)) {
        *why = ZSTD_getErrorName(got);
        return FRAME_BAD;
    }
    *why = "the zstd frame decodes to fewer bytes than it declares";
    if (got != n)
        return FRAME_BAD;
    out->len = got;
    out->p[got] = '\0';
    uint8_t h[BH_SHA256_LEN];
    bh_sha256(out->p, got, h);
    *why = "the content does not hash to the chunk id";
    if (memcmp(h, id, BH_SHA256_LEN)) {
        bh_buf_reset(out);
        return FRAME_MISMATCH;
    }
    *why = NULL;
    return FRAME_OK;
}

static int put_frame(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], const void *z,
                     size_t zlen, bool *added, struct bh_err *err)
{
    char path[CHUNK_PATH], name[TMP_NAME_MAX];
    chunk_path(id, path);
    int rc = write_tmp(cs, z, zlen, true, name, err);
    if (rc)
        return rc;
    /* the content is on disk (write_tmp synced it); the new name becomes
     * durable with the next bh_cs_sync */
    return install(cs, name, cs->chunks, path, added, err);
}

int bh_cs_sync(struct bh_chunkstore *cs, struct bh_err *err)
{
    if (syncfs(cs->chunks) < 0)
        return fail_errno(err, errno, "flushing", "the chunk store");
    return 0;
}

int bh_cs_check_frame(const void *z, size_t zlen, const uint8_t id[BH_SHA256_LEN],
                      struct bh_err *err)
{
    /* the thread's scratch: no chunk's worth is allocated per check; one
     * over SCRATCH_KEEP_MAX is not kept */
    struct zctx *t = zctx_get();
    if (!t)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    const char *why;
    bh_buf_reset(&t->scratch);
    enum frame_check fc = check_frame(z, zlen, id, &t->scratch, &why);
    if (t->scratch.cap > SCRATCH_KEEP_MAX) {
        bh_buf_free(&t->scratch);
        bh_buf_init(&t->scratch, BH_CDC_CHUNK_MAX);
    }
    if (fc == FRAME_NOMEM)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (fc != FRAME_OK) {
        char hex[BH_SHA256_HEX];
        bh_hex_id(id, hex);
        return bh_err_sett(err, BH_EINVAL, fc == FRAME_MISMATCH ? "hash-mismatch" : "bad-chunk",
                           hex, "chunk %s: %s", hex, why);
    }
    return 0;
}

int bh_cs_put(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], const void *z, size_t zlen,
              bool verify, bool *added, struct bh_err *err)
{
    bool dummy;
    if (!added)
        added = &dummy;
    *added = false;
    if (verify) {
        int rc = bh_cs_check_frame(z, zlen, id, err);
        if (rc)
            return rc;
    }
    if (bh_cs_has(cs, id))
        return 0;
    return put_frame(cs, id, z, zlen, added, err);
}

int bh_cs_put_raw(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], const void *data,
                  size_t len, int level, bool *added, struct bh_err *err)
{
    bool dummy;
    if (!added)
        added = &dummy;
    *added = false;
    if (len == 0 || len > BH_CDC_CHUNK_MAX)
        return bh_err_set(err, BH_EINVAL, NULL, "a chunk of %zu bytes is out of range", len);
    if (bh_cs_has(cs, id))
        return 0;
    ZSTD_CCtx *c = bh__zstd_cctx();
    size_t cap = ZSTD_compressBound(len);
    void *z = malloc(cap);
    if (!c || !z) {
        free(z);
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    size_t zlen = ZSTD_compressCCtx(c, z, cap, data, len, level);
    zctx_trim();
    int rc;
    if (ZSTD_isError(zlen))
        rc = bh_err_set(err, BH_EIO, NULL, "zstd: %s", ZSTD_getErrorName(zlen));
    else
        rc = put_frame(cs, id, z, zlen, added, err);
    free(z);
    return rc;
}

int bh_cs_open_chunk(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], int *fd,
                     uint64_t *zsize, struct bh_err *err)
{
    char path[CHUNK_PATH];
    chunk_path(id, path);
    int f = openat(cs->chunks, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f < 0) {
        if (errno == ENOENT)
            return bh_err_set(err, BH_ENOTFOUND, path + 3, "chunk %s is not in the store",
                              path + 3);
        return fail_errno(err, errno, "opening", path);
    }
    struct stat st;
    if (fstat(f, &st)) {
        int e = errno;
        close(f);
        return fail_errno(err, e, "reading", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(f);
        return bh_err_set(err, BH_EIO, path, "chunk store: %s is not a regular file", path);
    }
    *fd = f;
    *zsize = (uint64_t)st.st_size;
    return 0;
}

/* Load the frame of id and decode it into out, checking the hash. */
static int load_chunk(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], struct bh_buf *out,
                      uint64_t *zsize, struct bh_err *err)
{
    char path[CHUNK_PATH];
    chunk_path(id, path);
    struct bh_buf z;
    bh_buf_init(&z, ZSTD_compressBound(BH_CDC_CHUNK_MAX));
    uint64_t zs = 0;
    int rc = read_file(cs->chunks, path, &z, &zs, err);
    if (rc == BH_ENOTFOUND)
        rc = bh_err_set(err, BH_ENOTFOUND, path + 3, "chunk %s is not in the store", path + 3);
    if (rc)
        goto out;
    const char *why;
    switch (check_frame(z.p, z.len, id, out, &why)) {
    case FRAME_OK: break;
    case FRAME_NOMEM: rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory"); break;
    case FRAME_TOOBIG:
        rc = bh_err_set(err, BH_ETOOBIG, path + 3, "chunk %s: %s", path + 3, why);
        break;
    default:
        rc = bh_err_sett(err, BH_EIO, ERR_CORRUPT, path + 3, "chunk %s is corrupt: %s", path + 3,
                         why);
    }
    if (zsize)
        *zsize = zs;
out:
    bh_buf_free(&z);
    if (rc)
        bh_buf_reset(out);
    return rc;
}

int bh_cs_read(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], struct bh_buf *out,
               struct bh_err *err)
{
    return load_chunk(cs, id, out, NULL, err);
}

int bh_cs_verify(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], uint64_t *zsize,
                 struct bh_err *err)
{
    struct bh_buf tmp;
    bh_buf_init(&tmp, BH_CDC_CHUNK_MAX);
    int rc = load_chunk(cs, id, &tmp, zsize, err);
    bh_buf_free(&tmp);
    return rc;
}

int bh_cs_remove(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN], struct bh_err *err)
{
    char path[CHUNK_PATH];
    chunk_path(id, path);
    if (unlinkat(cs->chunks, path, 0)) {
        if (errno == ENOENT)
            return bh_err_set(err, BH_ENOTFOUND, path + 3, "chunk %s is not in the store",
                              path + 3);
        return fail_errno(err, errno, "removing", path);
    }
    return 0;
}

int bh_cs_walk(struct bh_chunkstore *cs,
               int (*fn)(void *ud, const uint8_t id[BH_SHA256_LEN], uint64_t zsize,
                         int64_t mtime_ms),
               void *ud, struct bh_err *err)
{
    for (unsigned i = 0; i < 256; i++) {
        char sub[3];
        snprintf(sub, sizeof(sub), "%02x", i);
        int fd = openat(cs->chunks, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            return fail_errno(err, errno, "opening directory chunks/", sub);
        }
        DIR *d = fdopendir(fd);
        if (!d) {
            int e = errno;
            close(fd);
            return fail_errno(err, e, "reading directory chunks/", sub);
        }
        int rc = 0;
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d)) != NULL) {
            uint8_t id[BH_SHA256_LEN];
            struct stat st;
            if (!bh_parse_id(de->d_name, id) || id[0] != i)
                continue; /* ".", "..", or not ours */
            if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
                continue; /* removed meanwhile */
            int64_t ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
            if ((rc = fn(ud, id, (uint64_t)st.st_size, ms)) != 0)
                break;
            errno = 0;
        }
        if (!rc && errno)
            rc = fail_errno(err, errno, "reading directory chunks/", sub);
        closedir(d);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- manifests ---------------------------------------------------------- */

int bh_cs_put_manifest(struct bh_chunkstore *cs, const void *enc, size_t len,
                       uint8_t id[BH_SHA256_LEN], struct bh_err *err)
{
    struct bh_manifest m;
    int rc = bh_manifest_parse(enc, len, &m, err);
    bh_manifest_free(&m);
    if (rc)
        return rc;
    uint8_t h[BH_SHA256_LEN];
    char hex[BH_SHA256_HEX], name[TMP_NAME_MAX];
    bh_sha256(enc, len, h);
    bh_hex_id(h, hex);
    if (id)
        memcpy(id, h, BH_SHA256_LEN);
    struct stat st;
    if (fstatat(cs->manifests, hex, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 0;
    if ((rc = write_tmp(cs, enc, len, true, name, err)) != 0)
        return rc;
    bool added;
    if ((rc = install(cs, name, cs->manifests, hex, &added, err)) != 0)
        return rc;
    if (added && fsync(cs->manifests))
        return fail_errno(err, errno, "flushing directory", "manifests");
    return 0;
}

int bh_cs_get_manifest_raw(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN],
                           struct bh_buf *out, struct bh_err *err)
{
    char hex[BH_SHA256_HEX];
    bh_hex_id(id, hex);
    size_t max = out->max;
    if (out->max > MANIFEST_MAX)
        out->max = MANIFEST_MAX;
    uint64_t size = 0;
    int rc = read_file(cs->manifests, hex, out, &size, err);
    out->max = max;
    if (rc == BH_ENOTFOUND)
        return bh_err_set(err, BH_ENOTFOUND, hex, "manifest %s is not in the store", hex);
    if (rc)
        return rc;
    uint8_t h[BH_SHA256_LEN];
    bh_sha256(out->p, out->len, h);
    if (memcmp(h, id, BH_SHA256_LEN)) {
        bh_buf_reset(out);
        return bh_err_sett(err, BH_EIO, ERR_CORRUPT_M, hex,
                           "manifest %s is corrupt: its content does not hash to its id", hex);
    }
    return 0;
}

int bh_cs_get_manifest(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN],
                       struct bh_manifest *m, struct bh_err *err)
{
    bh_manifest_init(m);
    struct bh_buf raw;
    bh_buf_init(&raw, MANIFEST_MAX);
    int rc = bh_cs_get_manifest_raw(cs, id, &raw, err);
    if (!rc && (rc = bh_manifest_parse((const uint8_t *)raw.p, raw.len, m, err)) != 0) {
        char hex[BH_SHA256_HEX], why[BH_ERR_MSG_MAX];
        bh_hex_id(id, hex);
        snprintf(why, sizeof(why), "%s", err ? err->msg : "it does not parse");
        rc = bh_err_sett(err, BH_EIO, ERR_CORRUPT_M, hex, "manifest %s is corrupt: %s", hex, why);
    }
    bh_buf_free(&raw);
    return rc;
}

int bh_cs_remove_manifest(struct bh_chunkstore *cs, const uint8_t id[BH_SHA256_LEN],
                          struct bh_err *err)
{
    char hex[BH_SHA256_HEX];
    bh_hex_id(id, hex);
    if (unlinkat(cs->manifests, hex, 0)) {
        if (errno == ENOENT)
            return bh_err_set(err, BH_ENOTFOUND, hex, "manifest %s is not in the store", hex);
        return fail_errno(err, errno, "removing manifest", hex);
    }
    return 0;
}

/* ---- batches (image_int.h) ---------------------------------------------- */

struct staged {
    uint8_t id[BH_SHA256_LEN];
    char name[TMP_NAME_MAX];
    uint64_t zlen;
};

struct bh__cs_batch {
    struct bh_chunkstore *cs;
    pthread_mutex_t mu; /* stage runs on any thread */
    struct staged *v;   /* under mu */
    size_t n, cap;
    uint64_t bytes;
};

int bh__cs_batch_new(struct bh_chunkstore *cs, struct bh__cs_batch **out)
{
    struct bh__cs_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return BH_ENOMEM;
    b->cs = cs;
    pthread_mutex_init(&b->mu, NULL);
    *out = b;
    return 0;
}

int bh__cs_batch_stage(struct bh__cs_batch *b, const uint8_t id[BH_SHA256_LEN], const void *z,
                       size_t zlen, struct bh_err *err)
{
    struct staged st;
    int rc = write_tmp(b->cs, z, zlen, false, st.name, err);
    if (rc)
        return rc;
    memcpy(st.id, id, BH_SHA256_LEN);
    st.zlen = zlen;
    pthread_mutex_lock(&b->mu);
    if (b->n == b->cap) {
        size_t ncap = b->cap ? 2 * b->cap : 64;
        struct staged *nv = realloc(b->v, ncap * sizeof(*nv));
        if (!nv) {
            pthread_mutex_unlock(&b->mu);
            unlinkat(b->cs->tmp, st.name, 0);
            return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        }
        b->v = nv;
        b->cap = ncap;
    }
    b->v[b->n++] = st;
    b->bytes += zlen;
    pthread_mutex_unlock(&b->mu);
    return 0;
}

uint64_t bh__cs_batch_pending(struct bh__cs_batch *b)
{
    pthread_mutex_lock(&b->mu);
    uint64_t n = b->bytes;
    pthread_mutex_unlock(&b->mu);
    return n;
}

static void unlink_staged(struct bh_chunkstore *cs, const struct staged *v, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++)
        unlinkat(cs->tmp, v[i].name, 0);
}

int bh__cs_batch_commit(struct bh__cs_batch *b, uint64_t *added_bytes, struct bh_err *err)
{
    /* take what is staged now; what is staged meanwhile waits for the next */
    pthread_mutex_lock(&b->mu);
    struct staged *v = b->v;
    size_t n = b->n;
    b->v = NULL;
    b->n = b->cap = 0;
    b->bytes = 0;
    pthread_mutex_unlock(&b->mu);
    if (!n) {
        free(v);
        return 0;
    }
    int rc = 0;
    /* 1. the staged contents reach the disk before any gets its name */
    if (syncfs(b->cs->tmp)) {
        rc = fail_errno(err, errno, "flushing", "staged chunks");
        unlink_staged(b->cs, v, 0, n);
        free(v);
        return rc;
    }
    /* 2. names */
    size_t i;
    for (i = 0; i < n; i++) {
        char path[CHUNK_PATH];
        chunk_path(v[i].id, path);
        bool added;
        if ((rc = install(b->cs, v[i].name, b->cs->chunks, path, &added, err)) != 0) {
            i++;
            break;
        }
        if (added && added_bytes)
            *added_bytes += v[i].zlen;
    }
    unlink_staged(b->cs, v, i, n);
    free(v);
    /* 3. the directory entries (also those renamed before a failure) */
    if (syncfs(b->cs->chunks) && !rc)
        rc = fail_errno(err, errno, "flushing", "chunk directories");
    return rc;
}

void bh__cs_batch_free(struct bh__cs_batch *b)
{
    if (!b)
        return;
    unlink_staged(b->cs, b->v, 0, b->n);
    free(b->v);
    pthread_mutex_destroy(&b->mu);
    free(b);
}
