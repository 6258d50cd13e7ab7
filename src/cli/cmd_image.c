/*
 * cmd_image.c - `bootherd image ...`: versions, tags, import, export, diff,
 * verify and gc, all through the API.
 *
 * import: the source is chunked and hashed here (both cores), the manifest
 * goes to the server, which answers with the chunks it lacks; only those
 * are read again, compressed and sent.  qcow2, vmdk and vdi sources (and
 * LINBO's qcow2 + qdiff pairs) go through `qemu-img convert` to a sparse
 * raw file first.
 */
#include "cli.h"

#include "core/buf.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "image/ingest.h"
#include "image/cdc.h"
#include "image/idset.h"
#include "image/srcfmt.h"
#include "client/progress.h"
#include "client/push.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#define MANIFEST_CTYPE "application/vnd.bootherd.manifest"
#define MAX_TAGS       16

void bh_usage_image(FILE *f)
{
    fprintf(f, "usage: bootherd image import NAME SOURCE [--kind partition|disk] [--fstype FS]\n"
               "                             [--note TEXT] [--tag TAG]... [--chunk-avg BYTES]\n"
               "                             [--tmp DIR]\n"
               "       bootherd image export NAME[@REF] FILE [--format raw|qcow2] [--compress]\n"
               "       bootherd image versions NAME\n"
               "       bootherd image promote NAME REF      (release a captured candidate)\n"
               "       bootherd image tag NAME TAG REF      (a rollback is a tag move)\n"
               "       bootherd image untag NAME TAG\n"
               "       bootherd image rmversion NAME@REF    (also: reject a candidate)\n"
               "       bootherd image diff NAME@REF NAME@REF\n"
               "       bootherd image verify [NAME]\n"
               "       bootherd image gc [--dry-run]\n"
               "       bootherd image stats\n"
               "SOURCE: a raw image file or block device, or qcow2/vmdk/vdi; a LINBO NAME.qdiff\n"
               "imports its base NAME.qcow2 and then the overlay as the next version.\n"
               "REF: a version number or a tag (default latest).  latest is the highest\n"
               "released version; bootherd moves it, nobody sets it.\n");
}

static int usage(void)
{
    bh_usage_image(stderr);
    return 2;
}

/* "name@ref" -> name, ref (default "latest") */
static void split_ref(const char *arg, char *name, size_t ncap, char *ref, size_t rcap)
{
    const char *at = strrchr(arg, '@');
    size_t n = at ? (size_t)(at - arg) : strlen(arg);
    snprintf(name, ncap, "%.*s", (int)(n < ncap ? n : ncap - 1), arg);
    bh_strlcpy(ref, at && at[1] ? at + 1 : "latest", rcap);
}

/* ---- sources ------------------------------------------------------------- */

/* Run argv, wait; 0 when it exited 0.  Output goes to our stderr. */
static int run(char *const argv[], struct bh_err *err)
{
    pid_t pid = fork();
    if (pid < 0)
        return bh_err_set(err, BH_ESYS, NULL, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execvp(argv[0], argv);
        fprintf(stderr, "bootherd: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    return bh_err_set(err, BH_EIO, NULL, "%s failed (%s %d)%s", argv[0],
                      WIFEXITED(st) ? "exit status" : "signal",
                      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st),
                      WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "; is qemu-utils installed?" : "");
}

/* the image format qemu-img sees in path ("raw", "qcow2", ...) */
static int probe_format(const char *path, char *fmt, size_t cap, struct bh_err *err)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return bh_err_set(err, BH_ESYS, NULL, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return bh_err_set(err, BH_ESYS, NULL, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[0]);
        close(pfd[1]);
        execlp("qemu-img", "qemu-img", "info", "--output=json", path, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    struct bh_buf b;
    bh_buf_init(&b, 1 << 20);
    char tmp[4096];
    ssize_t n;
    while ((n = read(pfd[0], tmp, sizeof(tmp))) > 0)
        if (bh_buf_add(&b, tmp, (size_t)n))
            break;
    close(pfd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    json_t *j = WIFEXITED(st) && WEXITSTATUS(st) == 0 ? json_loadb(b.p, b.len, 0, NULL) : NULL;
    bh_buf_free(&b);
    const char *f = json_string_value(json_object_get(j, "format"));
    int rc = 0;
    if (f)
        bh_strlcpy(fmt, f, cap);
    else
        rc = bh_err_set(err, BH_EINVAL, "source", "%s: qemu-img cannot read it (%s)", path,
                        WIFEXITED(st) && WEXITSTATUS(st) == 127 ? "qemu-img is missing"
                                                                : "not an image?");
    json_decref(j);
    return rc;
}

/* first line of a small sidecar file, or "" */
static void sidecar(const char *path, char *out, size_t cap)
{
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
}

/* LINBO keeps NAME.qcow2.desc (and, older, NAME.desc) */
static void linbo_desc(const char *img, char *out, size_t cap)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s.desc", img);
    sidecar(p, out, cap);
    if (out[0])
        return;
    const char *dot = strrchr(img, '.');
    snprintf(p, sizeof(p), "%.*s.desc", (int)(dot ? dot - img : (long)strlen(img)), img);
    sidecar(p, out, cap);
}

/* ---- import -------------------------------------------------------------- */

static int ensure_image(struct bh_cli *c, const char *name, const char *kind, const char *fstype)
{
    long status = bh_cli_get_named(c, "images", name, NULL);
    if (status < 0)
        return 1;
    if (status == 200)
        return 0;
    if (status != 404)
        return bh_cli_fail_json("image", status, NULL);
    json_t *doc = json_pack("{s:s, s:s}", "name", name, "kind", kind ? kind : "partition");
    if (fstype)
        json_object_set_new(doc, "fstype", json_string(fstype));
    int rc = bh_cli_create(c, "images", doc, "image");
    json_decref(doc);
    return rc;
}

/* upload the raw image at path as a new version of name */
static int import_raw(struct bh_cli *c, const char *name, const char *path, const char *note,
                      const char **tags, int ntags, uint32_t chunk_avg)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "bootherd: %s: %s\n", path, strerror(errno));
        return 1;
    }
    struct bh_err e;
    bh_err_clear(&e);
    struct bh_push_opts o = {.name = name,
                             .note = note,
                             .tags = (const char *const *)tags,
                             .ntags = ntags,
                             .chunk_avg = chunk_avg};
    struct bh_push_stats st;
    json_t *ver = NULL;
    uint64_t size = 0;
    int rc = bh_push_source_size(fd, &size, &e);
    if (!rc)
        rc = bh_cli_push(c, fd, size, &o, &st, &ver, &e);
    if (!rc) {
        char hsize[32], hsent[32];
        bh_out_size(st.size, hsize, sizeof(hsize));
        bh_out_size(st.sent_bytes, hsent, sizeof(hsent));
        printf(
            "%s version %lld: %s (%llu bytes), %llu chunks, sent %llu chunks (%s, %llu bytes) in "
            "%.1f s\n",
            name, (long long)st.version, hsize, (unsigned long long)st.size,
            (unsigned long long)json_integer_value(json_object_get(ver, "chunks")),
            (unsigned long long)st.sent_chunks, hsent, (unsigned long long)st.sent_bytes,
            st.seconds);
        if (c->json)
            bh_out_json(ver);
    } else if (e.msg[0]) {
        fprintf(stderr, "bootherd: import %s: %s\n", path, e.msg);
    }
    json_decref(ver);
    close(fd);
    return rc ? 1 : 0;
}

/* An image name given as a file name ("win11.qcow2", "win11.img",
 * "win11.raw", LINBO's "win11.qdiff") is stored without the suffix: the
 * name a start.conf's BaseImage=win11.qcow2 finds (bh_startconf_image). */
void bh_cli_image_name(const char *arg, char *out, size_t cap)
{
    static const char *const suffixes[] = {".qcow2", ".qdiff", ".img", ".raw", NULL};
    size_t n = strlen(arg);
    for (size_t i = 0; suffixes[i]; i++) {
        size_t k = strlen(suffixes[i]);
        if (n > k && !strcmp(arg + n - k, suffixes[i])) {
            n -= k;
            break;
        }
    }
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), arg);
    if (strcmp(out, arg) != 0)
        fprintf(stderr, "image name '%s' stored as '%s' (the name BaseImage=%s.qcow2 finds)\n", arg,
                out, out);
}

/* What to do with a source that is no disk image, in one line. */
static int refuse_kind(const char *src, enum bh_srcfmt outer, enum bh_srcfmt k)
{
    char how[64] = "";
    if (outer != BH_SRC_PLAIN)
        snprintf(how, sizeof(how), " (%s-compressed)", bh_srcfmt_name(outer));
    if (k == BH_SRC_NTFSCLONE)
        fprintf(stderr,
                "bootherd image import: %s is an ntfsclone image%s, not a disk or partition "
                "image: restore it first (ntfsclone --restore-image --overwrite FILE.raw IMAGE), "
                "then import FILE.raw\n",
                src, how);
    else if (k == BH_SRC_BZIP2)
        fprintf(stderr,
                "bootherd image import: %s is bzip2-compressed%s, which bootherd does not "
                "decode: bunzip2 it first (gzip, zstd and xz are decoded on import)\n",
                src, how);
    else
        fprintf(stderr,
                "bootherd image import: %s is %s data inside %s: compressed twice? decode it "
                "to a raw file first\n",
                src, bh_srcfmt_name(k), bh_srcfmt_name(outer));
    return 2;
}

/* a new file tmpdir/bootherd-import-PID.ext for a decoded source, its
 * name in dec: the fd, or -1 after saying why (dec emptied) */
static int import_tmp(const char *tmpdir, const char *ext, char *dec, size_t cap)
{
    snprintf(dec, cap, "%s/bootherd-import-%d.%s", tmpdir, (int)getpid(), ext);
    int fd = open(dec, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "bootherd image import: %s: %s (--tmp DIR chooses another place)\n", dec,
                strerror(errno));
        dec[0] = '\0';
    }
    return fd;
}

/* A partclone image (read from fd) restored into dec, a new file in
 * tmpdir: the raw partition.  0, or the exit code (and dec removed). */
static int restore_partclone(const char *src, int fd, const char *tmpdir, char *dec, size_t cap)
{
    int out = import_tmp(tmpdir, "part", dec, cap);
    if (out < 0)
        return 1;
    fprintf(stderr, "restoring the partclone image %s into %s\n", src, dec);
    struct bh_err e;
    bh_err_clear(&e);
    struct bh_partclone_info pi;
    int rc = bh_srcfmt_partclone(fd, out, &pi, &e);
    close(out);
    if (rc) {
        fprintf(stderr, "bootherd image import: %s: %s\n", src, e.msg);
        unlink(dec);
        dec[0] = '\0';
        return rc == BH_EINVAL || rc == BH_EUNSUPP ? 2 : 1;
    }
    char size[32];
    bh_out_size(pi.device_size, size, sizeof(size));
    fprintf(stderr, "partclone %s file system of %s: %llu of %llu blocks of %u bytes used\n", pi.fs,
            size, (unsigned long long)pi.used_blocks, (unsigned long long)pi.total_blocks,
            pi.block_size);
    return 0;
}

/* A compressed source: decoded into dec (a new file in tmpdir), which the
 * import then reads; a partclone image inside is restored in turn.  0, or
 * the exit code (and dec removed). */
static int decode_source(const char *src, int fd, enum bh_srcfmt f, const char *tmpdir, char *dec,
                         size_t cap)
{
    int out = import_tmp(tmpdir, "dec", dec, cap);
    if (out < 0)
        return 1;
    fprintf(stderr, "decoding %s (%s) into %s\n", src, bh_srcfmt_name(f), dec);
    struct bh_err e;
    bh_err_clear(&e);
    enum bh_srcfmt inner;
    uint64_t len = 0;
    int rc = bh_srcfmt_decode(f, fd, out, &inner, &len, &e);
    if (rc)
        fprintf(stderr, "bootherd image import: %s: %s\n", src, e.msg);
    else if (inner == BH_SRC_PARTCLONE && lseek(out, 0, SEEK_SET) == 0) {
        char part[4096];
        rc = restore_partclone(src, out, tmpdir, part, sizeof(part));
        unlink(dec);
        close(out);
        if (!rc)
            bh_strlcpy(dec, part, cap);
        else
            dec[0] = '\0';
        return rc;
    } else if (inner != BH_SRC_PLAIN)
        rc = refuse_kind(src, f, inner);
    close(out);
    if (rc) {
        unlink(dec);
        dec[0] = '\0';
        return rc == BH_EINVAL ? 2 : rc > 0 ? rc : 1;
    }
    return 0;
}

/* import path (src itself, or its decoded copy) as versions of name */
static int import_path(struct bh_cli *c, const char *name, const char *src, const char *path,
                       const char *kind, const char *fstype, const char *note, const char **tags,
                       int ntags, uint32_t avg, const char *tmpdir)
{
    struct bh_err e;
    char fmt[32];
    if (probe_format(path, fmt, sizeof(fmt), &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    if (ensure_image(c, name, kind, fstype))
        return 1;
    char desc[4096];
    if (!strcmp(fmt, "raw"))
        return import_raw(c, name, path, note, tags, ntags, avg);

    /* a LINBO overlay: the base first, as its own version */
    size_t sl = strlen(src);
    int rc = 0;
    if (path == src && sl > 6 && !strcmp(src + sl - 6, ".qdiff")) {
        char base[4096];
        snprintf(base, sizeof(base), "%.*s.qcow2", (int)(sl - 6), src);
        if (access(base, R_OK) == 0) {
            linbo_desc(base, desc, sizeof(desc));
            char raw[4096];
            snprintf(raw, sizeof(raw), "%s/bootherd-import-%d.raw", tmpdir, (int)getpid());
            char *conv[] = {"qemu-img", "convert", "-O", "raw", base, raw, NULL};
            fprintf(stderr, "LINBO base %s first\n", base);
            rc = run(conv, &e);
            if (!rc)
                rc = import_raw(c, name, raw, desc[0] ? desc : "LINBO base image", NULL, 0, avg);
            else
                fprintf(stderr, "bootherd: %s\n", e.msg);
            unlink(raw);
            if (rc)
                return rc;
        }
    }
    linbo_desc(src, desc, sizeof(desc));
    char raw[4096];
    snprintf(raw, sizeof(raw), "%s/bootherd-import-%d.raw", tmpdir, (int)getpid());
    char *conv[] = {"qemu-img", "convert", "-O", "raw", (char *)path, raw, NULL};
    fprintf(stderr, "converting %s (%s) to raw in %s\n", src, fmt, tmpdir);
    rc = run(conv, &e);
    if (rc)
        fprintf(stderr, "bootherd: %s\n", e.msg);
    else
        rc = import_raw(c, name, raw, note ? note : desc[0] ? desc : NULL, tags, ntags, avg);
    unlink(raw);
    return rc;
}

static int cmd_import(struct bh_cli *c, int argc, char **argv)
{
    const char *name_arg = NULL, *src = NULL, *kind = NULL, *fstype = NULL, *note = NULL;
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
    const char *tags[MAX_TAGS];
    int ntags = 0;
    uint32_t avg = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--kind") && v)
            kind = argv[++i];
        else if (!strcmp(a, "--fstype") && v)
            fstype = argv[++i];
        else if (!strcmp(a, "--note") && v)
            note = argv[++i];
        else if (!strcmp(a, "--tmp") && v)
            tmpdir = argv[++i];
        else if (!strcmp(a, "--tag") && v && ntags < MAX_TAGS)
            tags[ntags++] = argv[++i];
        else if (!strcmp(a, "--chunk-avg") && v) {
            uint64_t n;
            if (bh_parse_u64(argv[++i], BH_CDC_AVG_MAX, &n))
                return usage();
            avg = (uint32_t)n;
        } else if (bh_cli_is_option(a))
            return bh_cli_bad_option("image import", a);
        else if (!name_arg)
            name_arg = a;
        else if (!src)
            src = a;
        else
            return usage();
    }
    if (!name_arg || !src)
        return usage();
    if (kind && strcmp(kind, "partition") && strcmp(kind, "disk"))
        return usage();
    /* what the source is, by its first bytes: decoded, refused or as is */
    int fd = open(src, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "bootherd image import: %s: %s\n", src, strerror(errno));
        return 1;
    }
    uint8_t head[BH_SRCFMT_SNIFF];
    ssize_t nh = pread(fd, head, sizeof(head), 0);
    enum bh_srcfmt f = bh_srcfmt_sniff(head, nh > 0 ? (size_t)nh : 0);
    if (f != BH_SRC_PLAIN && f != BH_SRC_PARTCLONE && !bh_srcfmt_decodable(f)) {
        close(fd);
        return refuse_kind(src, BH_SRC_PLAIN, f);
    }
    char name[256], dec[4096] = "";
    bh_cli_image_name(name_arg, name, sizeof(name));
    int rc = 0;
    if (f == BH_SRC_PARTCLONE)
        rc = restore_partclone(src, fd, tmpdir, dec, sizeof(dec));
    else if (f != BH_SRC_PLAIN)
        rc = decode_source(src, fd, f, tmpdir, dec, sizeof(dec));
    close(fd);
    if (rc)
        return rc;
    rc =
        import_path(c, name, src, dec[0] ? dec : src, kind, fstype, note, tags, ntags, avg, tmpdir);
    if (dec[0])
        unlink(dec);
    return rc;
}

int bh_cli_image_file(struct bh_cli *c, const char *src, const char *tmpdir,
                      const struct bh_push_opts *o, struct bh_push_stats *st, struct bh_err *err)
{
    char fmt[32], raw[4096];
    int rc = probe_format(src, fmt, sizeof(fmt), err);
    const char *path = src;
    if (!rc && strcmp(fmt, "raw") != 0) {
        snprintf(raw, sizeof(raw), "%s/bootherd-import-%d.raw", tmpdir, (int)getpid());
        char *conv[] = {"qemu-img", "convert", "-O", "raw", (char *)src, raw, NULL};
        path = raw;
        rc = run(conv, err);
    }
    int fd = rc ? -1 : open(path, O_RDONLY | O_CLOEXEC);
    if (!rc && fd < 0)
        rc = bh_err_set(err, BH_ESYS, "source", "%s: %s", path, strerror(errno));
    if (path != src) /* read through fd from here: nothing left behind if we are killed */
        unlink(raw);
    uint64_t size = 0;
    if (!rc)
        rc = bh_push_source_size(fd, &size, err);
    if (!rc)
        rc = bh_cli_push(c, fd, size, o, st, NULL, err);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* ---- export -------------------------------------------------------------- */

static int fetch_chunk(struct bh_cli *c, const uint8_t id[BH_SHA256_LEN], void *out, size_t len,
                       struct bh_err *err)
{
    char hex[BH_SHA256_HEX], path[128];
    bh_hex_id(id, hex);
    snprintf(path, sizeof(path), "/api/v1/chunks/%s", hex);
    struct bh_resp r;
    int rc = bh_cli_request(c, "GET", path, NULL, NULL, 0, NULL, &r, err);
    if (rc)
        return rc;
    if (r.status != 200) {
        rc = bh_err_set(err, r.status == 404 ? BH_ENOTFOUND : BH_EIO, "chunk",
                        "chunk %s: HTTP %ld %s", hex, r.status, r.body ? r.body : "");
    } else {
        unsigned long long want = ZSTD_getFrameContentSize(r.body, r.len);
        size_t got = want == len ? ZSTD_decompress(out, len, r.body, r.len) : 0;
        uint8_t h[BH_SHA256_LEN];
        if (want != len || ZSTD_isError(got) || got != len)
            rc =
                bh_err_set(err, BH_EIO, "chunk", "chunk %s does not decode to %zu bytes", hex, len);
        else if (bh_sha256(out, len, h), memcmp(h, id, BH_SHA256_LEN))
            rc = bh_err_set(err, BH_EIO, "chunk", "chunk %s: content does not match its id", hex);
    }
    bh_resp_free(&r);
    return rc;
}

static int write_all(int fd, const void *p, size_t n, uint64_t off)
{
    const char *b = p;
    while (n) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static int export_raw(struct bh_cli *c, const struct bh_manifest *m, const char *path,
                      struct bh_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return bh_err_set(err, BH_ESYS, "file", "%s: %s", path, strerror(errno));
    struct stat st;
    bool blk = fstat(fd, &st) == 0 && S_ISBLK(st.st_mode);
    if (!blk && ftruncate(fd, 0) < 0) {
        close(fd);
        return bh_err_set(err, BH_ESYS, "file", "%s: %s", path, strerror(errno));
    }
    uint8_t *buf = malloc(BH_CDC_CHUNK_MAX);
    uint8_t *zeros = calloc(1, 1 << 20);
    struct bh_idset seen = {0};
    struct bh_progress pr;
    bh_progress_start(&pr, "exporting", m->size);
    int rc = buf && zeros ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; !rc && i < m->n; i++) {
        const struct bh_extent *x = &m->ext[i];
        if (x->zero) {
            for (uint64_t o = 0; blk && !rc && o < x->len; o += 1 << 20) {
                size_t n = x->len - o < (1 << 20) ? (size_t)(x->len - o) : (size_t)1 << 20;
                if (write_all(fd, zeros, n, x->offset + o))
                    rc = bh_err_set(err, BH_ESYS, "file", "write %s: %s", path, strerror(errno));
            }
        } else {
            /* a chunk seen before is copied from where it was written */
            size_t j = i;
            if (bh_idset_has(&seen, x->id))
                for (j = 0; j < i; j++)
                    if (!m->ext[j].zero && !memcmp(m->ext[j].id, x->id, BH_SHA256_LEN))
                        break;
            if (j < i) {
                if (pread(fd, buf, (size_t)x->len, (off_t)m->ext[j].offset) != (ssize_t)x->len)
                    rc =
                        bh_err_set(err, BH_ESYS, "file", "read back %s: %s", path, strerror(errno));
            } else {
                rc = fetch_chunk(c, x->id, buf, (size_t)x->len, err);
                bh_idset_add(&seen, x->id);
            }
            if (!rc && write_all(fd, buf, (size_t)x->len, x->offset))
                rc = bh_err_set(err, BH_ESYS, "file", "write %s: %s", path, strerror(errno));
        }
        bh_progress_update(&pr, x->offset + x->len);
    }
    if (!rc && !blk && ftruncate(fd, (off_t)m->size) < 0)
        rc = bh_err_set(err, BH_ESYS, "file", "%s: %s", path, strerror(errno));
    if (!rc && fsync(fd) < 0)
        rc = bh_err_set(err, BH_ESYS, "file", "fsync %s: %s", path, strerror(errno));
    if (!rc)
        bh_progress_end(&pr);
    bh_idset_clear(&seen);
    free(buf);
    free(zeros);
    close(fd);
    return rc;
}

/* The format a file's name asks for when --format is not given: .qcow2
 * writes qcow2; the extension of a format or compression export cannot
 * write is refused (exit 2) rather than written as raw under that name;
 * anything else (.img, .raw, none, a device) is raw. */
static int export_format(const char *file, const char **format)
{
    static const char *const other[] = {"vmdk", "vdi", "vhd", "vhdx", "qed", "qcow", "qdiff",
                                        "iso",  "gz",  "zst", "xz",   "bz2", "tar",  NULL};
    const char *base = strrchr(file, '/');
    const char *dot = strrchr(base ? base + 1 : file, '.');
    *format = "raw";
    if (!dot || !dot[1])
        return 0;
    if (!strcasecmp(dot + 1, "qcow2")) {
        *format = "qcow2";
        return 0;
    }
    for (size_t i = 0; other[i]; i++)
        if (!strcasecmp(dot + 1, other[i])) {
            fprintf(stderr,
                    "bootherd image export: %s: export writes raw or qcow2, not %s; add "
                    "--format raw or --format qcow2\n",
                    file, dot + 1);
            return 2;
        }
    return 0;
}

static int cmd_export(struct bh_cli *c, int argc, char **argv)
{
    const char *spec = NULL, *file = NULL, *format = NULL;
    bool compress = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--format") && i + 1 < argc)
            format = argv[++i];
        else if (!strcmp(argv[i], "--compress"))
            compress = true;
        else if (bh_cli_is_option(argv[i]))
            return bh_cli_bad_option("image export", argv[i]);
        else if (!spec)
            spec = argv[i];
        else if (!file)
            file = argv[i];
        else
            return usage();
    }
    if (!spec || !file)
        return usage();
    if (format && strcmp(format, "raw") && strcmp(format, "qcow2")) {
        fprintf(stderr, "bootherd image export: --format '%s': raw or qcow2\n", format);
        return 2;
    }
    if (!format && export_format(file, &format))
        return 2;
    if (compress && strcmp(format, "qcow2")) {
        fprintf(stderr, "bootherd image export: --compress needs --format qcow2 (or a .qcow2 "
                        "file name)\n");
        return 2;
    }
    char name[256], ref[64], esc[512], path[1024];
    split_ref(spec, name, sizeof(name), ref, sizeof(ref));
    bh_cli_escape(name, esc, sizeof(esc));
    char eref[128];
    bh_cli_escape(ref, eref, sizeof(eref));
    snprintf(path, sizeof(path), "/api/v1/images/%s/versions/%s/manifest", esc, eref);
    struct bh_err e;
    bh_err_clear(&e);
    struct bh_resp r;
    if (bh_cli_request(c, "GET", path, NULL, NULL, 0, NULL, &r, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    if (r.status != 200) {
        int rc = bh_cli_fail_resp("manifest", r.status, r.body);
        bh_resp_free(&r);
        return rc;
    }
    struct bh_manifest m;
    bh_manifest_init(&m);
    int rc = bh_manifest_parse((const uint8_t *)r.body, r.len, &m, &e);
    bh_resp_free(&r);
    char raw[4096];
    if (!strcmp(format, "raw"))
        bh_strlcpy(raw, file, sizeof(raw));
    else
        snprintf(raw, sizeof(raw), "%s.raw-%d", file, (int)getpid());
    if (!rc)
        rc = export_raw(c, &m, raw, &e);
    if (!rc && strcmp(format, "qcow2") == 0) {
        char *conv[] = {"qemu-img", "convert", "-O", "qcow2", raw, (char *)file, NULL};
        char *convc[] = {"qemu-img", "convert", "-c", "-O", "qcow2", raw, (char *)file, NULL};
        rc = run(compress ? convc : conv, &e);
    }
    if (strcmp(format, "raw") != 0)
        unlink(raw);
    if (rc) {
        fprintf(stderr, "bootherd: export %s: %s\n", spec, e.msg);
    } else {
        char size[32];
        bh_out_size(m.size, size, sizeof(size));
        printf("%s@%s: %s (%llu bytes) written to %s (%s)\n", name, ref, size,
               (unsigned long long)m.size, file, format);
    }
    bh_manifest_free(&m);
    return rc ? 1 : 0;
}

/* ---- the rest ------------------------------------------------------------ */

static int cmd_versions(struct bh_cli *c, const char *name)
{
    char esc[512], path[1024];
    bh_cli_escape(name, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/images/%s/versions", esc);
    long status;
    json_t *out = NULL;
    struct bh_err e;
    if (bh_cli_json(c, "GET", path, NULL, &status, &out, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    int rc = 0;
    if (status != 200) {
        rc = bh_cli_fail_json("versions", status, out);
    } else if (c->json) {
        bh_out_json(out);
    } else {
        printf("%-8s %-9s %-10s %-10s %-10s %-24s %-24s %-20s %s\n", "VERSION", "STATE", "SIZE",
               "STORED", "ADDED", "CREATED", "BY", "TAGS", "NOTE");
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(out, "items"), i, v)
        {
            struct bh_buf tags;
            bh_buf_init(&tags, 1024);
            size_t k;
            json_t *t;
            json_array_foreach(json_object_get(v, "tags"), k, t)
            {
                bh_buf_printf(&tags, "%s%s", k ? "," : "", json_string_value(t));
            }
            const char *note = json_string_value(json_object_get(v, "note"));
            const char *state = json_string_value(json_object_get(v, "state"));
            const char *by = json_string_value(json_object_get(v, "created_by"));
            char size[32], stored[32], added[32];
            bh_out_size((uint64_t)json_integer_value(json_object_get(v, "logical_size")), size,
                        sizeof(size));
            bh_out_size((uint64_t)json_integer_value(json_object_get(v, "stored_size")), stored,
                        sizeof(stored));
            bh_out_size((uint64_t)json_integer_value(json_object_get(v, "added_bytes")), added,
                        sizeof(added));
            printf("%-8lld %-9s %-10s %-10s %-10s %-24s %-24s %-20s %s\n",
                   (long long)json_integer_value(json_object_get(v, "version")),
                   state ? state : "-", size, stored, added,
                   json_string_value(json_object_get(v, "created_at")), by ? by : "-",
                   tags.p ? tags.p : "", note ? note : "");
            bh_buf_free(&tags);
        }
    }
    json_decref(out);
    return rc;
}

int bh_cmd_image(struct bh_cli *c, int argc, char **argv)
{
    const char *verb = argv[0];
    char path[2048], esc[512], name[256], ref[64];
    if (!strcmp(verb, "import"))
        return cmd_import(c, argc, argv);
    if (!strcmp(verb, "export"))
        return cmd_export(c, argc, argv);
    /* the other verbs take names and refs only (gc its --dry-run) */
    for (int i = 1; i < argc; i++)
        if (bh_cli_is_option(argv[i]) && !(!strcmp(verb, "gc") && !strcmp(argv[i], "--dry-run"))) {
            char cmd[64];
            snprintf(cmd, sizeof(cmd), "image %.32s", verb);
            return bh_cli_bad_option(cmd, argv[i]);
        }
    if (!strcmp(verb, "versions") && argc == 2)
        return cmd_versions(c, argv[1]);
    if (!strcmp(verb, "promote") && (argc == 3 || (argc == 2 && strchr(argv[1], '@')))) {
        if (argc == 3) {
            bh_strlcpy(name, argv[1], sizeof(name));
            bh_strlcpy(ref, argv[2], sizeof(ref));
        } else {
            split_ref(argv[1], name, sizeof(name), ref, sizeof(ref));
        }
        bh_cli_escape(name, esc, sizeof(esc));
        char eref[128];
        bh_cli_escape(ref, eref, sizeof(eref));
        snprintf(path, sizeof(path), "/api/v1/images/%s/versions/%s/promote", esc, eref);
        char done[400];
        snprintf(done, sizeof(done), "promoted %s@%s", name, ref);
        return bh_cli_do(c, "POST", path, NULL, "promote", 200, done);
    }
    if (!strcmp(verb, "tag") && argc == 4) {
        bh_cli_escape(argv[1], esc, sizeof(esc));
        char etag[256];
        bh_cli_escape(argv[2], etag, sizeof(etag));
        snprintf(path, sizeof(path), "/api/v1/images/%s/tags/%s", esc, etag);
        json_t *body = json_pack("{s:s}", "version", argv[3]);
        char done[800];
        snprintf(done, sizeof(done), "tagged %.255s@%.63s as %.255s", argv[1], argv[3], argv[2]);
        int rc = bh_cli_do(c, "PUT", path, body, "tag", 200, done);
        json_decref(body);
        return rc;
    }
    if (!strcmp(verb, "untag") && argc == 3) {
        bh_cli_escape(argv[1], esc, sizeof(esc));
        char etag[256];
        bh_cli_escape(argv[2], etag, sizeof(etag));
        snprintf(path, sizeof(path), "/api/v1/images/%s/tags/%s", esc, etag);
        char done[600];
        snprintf(done, sizeof(done), "removed tag %.255s of image %.255s", argv[2], argv[1]);
        return bh_cli_do(c, "DELETE", path, NULL, "untag", 204, done);
    }
    if (!strcmp(verb, "rmversion") && argc == 2 && strchr(argv[1], '@')) {
        split_ref(argv[1], name, sizeof(name), ref, sizeof(ref));
        bh_cli_escape(name, esc, sizeof(esc));
        char eref[128];
        bh_cli_escape(ref, eref, sizeof(eref));
        snprintf(path, sizeof(path), "/api/v1/images/%s/versions/%s", esc, eref);
        char done[400];
        snprintf(done, sizeof(done), "removed version %s of image %s", ref, name);
        return bh_cli_do(c, "DELETE", path, NULL, "rmversion", 204, done);
    }
    if (!strcmp(verb, "diff") && argc == 3) {
        char n2[256], r2[64], eb[512], ea[128], er[128];
        split_ref(argv[1], name, sizeof(name), ref, sizeof(ref));
        split_ref(argv[2], n2, sizeof(n2), r2, sizeof(r2));
        bh_cli_escape(name, esc, sizeof(esc));
        bh_cli_escape(n2, eb, sizeof(eb));
        bh_cli_escape(ref, ea, sizeof(ea));
        bh_cli_escape(r2, er, sizeof(er));
        snprintf(path, sizeof(path), "/api/v1/images/%s/diff?a=%s&b=%s&b_image=%s", esc, ea, er,
                 eb);
        return bh_cli_show(c, "GET", path, NULL, "diff", 200);
    }
    if (!strcmp(verb, "verify") && argc <= 2) {
        if (argc == 2) {
            bh_cli_escape(argv[1], esc, sizeof(esc));
            snprintf(path, sizeof(path), "/api/v1/imagestore/verify?image=%s", esc);
        } else {
            bh_strlcpy(path, "/api/v1/imagestore/verify", sizeof(path));
        }
        long status;
        json_t *out = NULL;
        struct bh_err e;
        if (bh_cli_json(c, "POST", path, NULL, &status, &out, &e)) {
            fprintf(stderr, "bootherd: %s\n", e.msg);
            return 1;
        }
        int rc = status == 200 ? 0 : bh_cli_fail_json("verify", status, out);
        if (!rc) {
            c->json ? bh_out_json(out) : bh_out_show(out);
            rc = json_is_true(json_object_get(out, "ok")) ? 0 : 1;
        }
        json_decref(out);
        return rc;
    }
    if (!strcmp(verb, "gc") && argc <= 2) {
        bool dry = argc == 2 && !strcmp(argv[1], "--dry-run");
        if (argc == 2 && !dry)
            return usage();
        return bh_cli_show(c, "POST",
                           dry ? "/api/v1/imagestore/gc?dry_run=1" : "/api/v1/imagestore/gc", NULL,
                           "gc", 200);
    }
    if (!strcmp(verb, "stats") && argc == 1)
        return bh_cli_show(c, "GET", "/api/v1/imagestore", NULL, "stats", 200);
    return -1; /* not ours: the generic resource commands */
}
