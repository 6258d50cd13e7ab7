/*
 * push.c - a raw image to a new version on the server, in four steps:
 *
 *   1. chunk and hash the source (both cores; no compression yet);
 *   2. POST the manifest: the server answers with the chunks it lacks;
 *   3. read those again, compress and PUT them over several connections;
 *   4. commit, with the note and tags.
 *
 * Nothing is committed unless every step worked; an upload that stops
 * half way is resumed by posting the same manifest again (the chunks sent
 * before are no longer missing).
 */
#include "push.h"

#include "core/buf.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "image/idset.h"
#include "image/ingest.h"
#include "progress.h"
#include "uploader.h"

#include <errno.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#define MANIFEST_CTYPE     "application/vnd.bootherd.manifest"
#define UPLOAD_CONNECTIONS 4

struct push {
    const struct bh_push_opts *o;
    struct bh_uploader *up;
    struct bh_idset missing;
    struct bh_progress pr;
    const char *phase;
};

static bool want_missing(void *ud, const uint8_t id[BH_SHA256_LEN])
{
    const struct push *u = ud;
    return bh_idset_has(&u->missing, id); /* read-only while workers run */
}

static int put_chunk(void *ud, const uint8_t id[BH_SHA256_LEN], const void *z, size_t zlen,
                     uint32_t len, struct bh_err *err)
{
    struct push *u = ud;
    (void)len;
    return bh_uploader_put(u->up, id, z, zlen, err);
}

static void on_progress(void *ud, uint64_t done, uint64_t total)
{
    struct push *u = ud;
    if (u->o->progress) {
        u->o->progress(u->o->ud, u->phase, done, total);
        return;
    }
    u->pr.total = total;
    bh_progress_update(&u->pr, done);
}

static void phase(struct push *u, const char *what, uint64_t total, bool end)
{
    u->phase = what;
    if (u->o->progress)
        return;
    if (end)
        bh_progress_end(&u->pr);
    else
        bh_progress_start(&u->pr, what, total);
}

int bh_push_source_size(int fd, uint64_t *size, struct bh_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return bh_err_set(err, BH_ESYS, "source", "stat: %s", strerror(errno));
    if (S_ISREG(st.st_mode)) {
        *size = (uint64_t)st.st_size;
        return 0;
    }
    if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, size) == 0)
        return 0;
    return bh_err_set(err, BH_EINVAL, "source", "not a regular file or block device");
}

/* A problem the server sent, on stderr (push.h: err then names the step
 * only). */
static void say_problem(const char *what, long status, const char *body, const json_t *doc)
{
    struct bh_err e;
    if (doc)
        bh_client_problem(what, status, doc, &e);
    else
        bh_client_problem_resp(what, status, body, &e);
    fprintf(stderr, "bootherd: %s\n", e.msg);
}

/* step 2: the upload, and the chunks the server lacks into u->missing */
static int begin(struct bh_cli *c, struct push *u, const struct bh_buf *enc, json_t **up,
                 struct bh_push_stats *st, struct bh_err *err)
{
    char path[512], esc[256];
    bh_cli_escape(u->o->name, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/images/%s/uploads", esc);
    struct bh_resp r = {0};
    int rc = bh_cli_request(c, "POST", path, MANIFEST_CTYPE, enc->p, enc->len, NULL, &r, err);
    if (!rc) {
        *up = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
        if (r.status != 200 && r.status != 201) {
            say_problem("upload", r.status, r.body, NULL);
            rc =
                bh_err_set(err, BH_EIO, NULL, "the server refused the upload (HTTP %ld)", r.status);
        }
    }
    bh_resp_free(&r);
    if (rc)
        return rc;
    if (!json_string_value(json_object_get(*up, "upload")))
        return bh_err_set(err, BH_EIO, NULL, "the server's answer has no upload id");
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(*up, "missing"), i, h)
    {
        uint8_t id[BH_SHA256_LEN];
        if (bh_parse_id(json_string_value(h), id))
            bh_idset_add(&u->missing, id);
    }
    if ((size_t)json_integer_value(json_object_get(*up, "missing_count")) != u->missing.n)
        return bh_err_set(err, BH_EUNSUPP, NULL,
                          "the server lists only part of the missing chunks; push again after "
                          "this one to send the rest");
    st->missing_bytes = (uint64_t)json_integer_value(json_object_get(*up, "missing_bytes"));
    return 0;
}

/* step 4 */
static int commit(struct bh_cli *c, const struct bh_push_opts *o, const char *uid, json_t **ver,
                  struct bh_err *err)
{
    json_t *body = json_object();
    if (o->note)
        json_object_set_new(body, "note", json_string(o->note));
    json_t *tl = json_array();
    for (int t = 0; t < o->ntags; t++)
        json_array_append_new(tl, json_string(o->tags[t]));
    json_object_set_new(body, "tags", tl);
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/uploads/%s/commit", uid);
    long status = 0;
    int rc = bh_cli_json(c, "POST", path, body, &status, ver, err);
    json_decref(body);
    if (!rc && status != 201) {
        say_problem("commit", status, NULL, *ver);
        rc = bh_err_set(err, BH_EIO, NULL, "the server refused the commit (HTTP %ld)", status);
    }
    return rc;
}

int bh_cli_push(struct bh_cli *c, int fd, uint64_t size, const struct bh_push_opts *o,
                struct bh_push_stats *st, json_t **version, struct bh_err *err)
{
    struct bh_manifest m;
    bh_manifest_init(&m);
    struct push u = {.o = o};
    struct bh_buf enc;
    bh_buf_init(&enc, (size_t)1 << 34);
    json_t *up = NULL, *ver = NULL;
    uint64_t t0 = bh_mono_ns();
    memset(st, 0, sizeof(*st));
    st->size = size;

    phase(&u, "scanning", size, false);
    struct bh_ingest_opts io = {.chunk_avg = o->chunk_avg, .progress = on_progress, .ud = &u};
    int rc = bh_ingest(fd, size, &io, &m, err);
    if (!rc)
        phase(&u, "scanning", size, true);
    if (!rc && bh_manifest_encode(&m, &enc))
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory for the manifest");
    if (!rc) { /* the server names a manifest by the SHA-256 of its bytes */
        uint8_t mid[BH_SHA256_LEN];
        bh_sha256(enc.p, enc.len, mid);
        bh_hex_id(mid, st->manifest);
        st->stopped = o->stop && o->stop(o->ud, st->manifest);
    }
    if (!rc && st->stopped)
        goto out;
    if (!rc)
        rc = begin(c, &u, &enc, &up, st, err);
    const char *uid = json_string_value(json_object_get(up, "upload"));
    st->chunks = (uint64_t)json_integer_value(json_object_get(up, "chunks"));
    if (!rc && !o->progress)
        fprintf(stderr, "upload %s: %zu of %llu chunks to send (%llu bytes before compression)\n",
                uid, u.missing.n, (unsigned long long)st->chunks,
                (unsigned long long)st->missing_bytes);
    if (!rc && u.missing.n) {
        phase(&u, "uploading", size, false);
        struct bh_ingest_opts po = {.chunk_avg = o->chunk_avg,
                                    .want = want_missing,
                                    .on_chunk = put_chunk,
                                    .progress = on_progress,
                                    .ud = &u};
        rc = bh_uploader_start(c, UPLOAD_CONNECTIONS, &u.up, err);
        if (!rc) {
            rc = bh_ingest_pack(fd, &m, &po, err);
            struct bh_err fe;
            int frc = bh_uploader_finish(u.up, &st->sent_chunks, &st->sent_bytes, &fe);
            if (!rc && frc) {
                rc = frc;
                *err = fe;
            }
        }
        if (!rc)
            phase(&u, "uploading", size, true);
    }
    if (!rc)
        rc = commit(c, o, uid, &ver, err);
    if (!rc) {
        st->version = json_integer_value(json_object_get(ver, "version"));
        st->seconds = (double)(bh_mono_ns() - t0) / 1e9;
        if (version)
            *version = json_incref(ver);
    }
out:
    json_decref(up);
    json_decref(ver);
    bh_idset_clear(&u.missing);
    bh_buf_free(&enc);
    bh_manifest_free(&m);
    return rc;
}
