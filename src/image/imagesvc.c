/*
 * imagesvc.c - see imagesvc.h.
 *
 * One mutex (mu) orders the three things that could otherwise lose data:
 * a commit's "every chunk is present" check and its version insert, each
 * sweep step of gc (check the protected set, unlink), and the additions
 * to the protected set made by uploads and chunk writes while gc runs.
 * gc sets `gc_running` before it reads its roots, so an upload that begins
 * after that point has its chunks protected, and one that began before is
 * a root.
 */
#include "imagesvc.h"

#include "chunkstore.h"
#include "core/log.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "idset.h"
#include "model/model.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MISSING_LIST_MAX 100000 /* ids named in one answer; the count is always exact */
#define VERIFY_LIST_MAX  100

struct bh_imagesvc {
    struct bh_chunkstore *cs;
    struct bh_store *store;
    pthread_mutex_t mu; /* see the file comment */
    bool gc_running;
    struct bh_idset protect;
    pthread_mutex_t gc_mu; /* one gc at a time */
    pthread_mutex_t vmu;   /* verified */
    struct bh_idset verified;
    _Atomic uint64_t chunks, bytes;
    _Atomic uint64_t recv_chunks, recv_bytes, new_chunks, new_bytes; /* since start */
};

static int count_one(void *ud, const uint8_t id[BH_SHA256_LEN], uint64_t zsize, int64_t mtime)
{
    (void)id;
    (void)mtime;
    struct bh_imagesvc *svc = ud;
    atomic_fetch_add(&svc->chunks, 1);
    atomic_fetch_add(&svc->bytes, zsize);
    return 0;
}

static int add_manifest_ids(struct bh_imagesvc *svc, const char *hex, struct bh_idset *set,
                            struct bh_err *err);
static void backfill_new_bytes(struct bh_imagesvc *svc);

int bh_imagesvc_open(const char *root, struct bh_store *store, struct bh_imagesvc **out,
                     struct bh_err *err)
{
    struct bh_imagesvc *svc = calloc(1, sizeof(*svc));
    if (!svc)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    svc->store = store;
    pthread_mutex_init(&svc->mu, NULL);
    pthread_mutex_init(&svc->gc_mu, NULL);
    pthread_mutex_init(&svc->vmu, NULL);
    int rc = bh_cs_open(root, &svc->cs, err);
    if (!rc)
        rc = bh_cs_walk(svc->cs, count_one, svc, err);
    if (rc) {
        bh_imagesvc_close(svc);
        return rc;
    }
    bh_log(BH_LOG_INFO, "image store", "root=%s chunks=%llu bytes=%llu", root,
           (unsigned long long)svc->chunks, (unsigned long long)svc->bytes);
    backfill_new_bytes(svc);
    *out = svc;
    return 0;
}

void bh_imagesvc_close(struct bh_imagesvc *svc)
{
    if (!svc)
        return;
    bh_cs_close(svc->cs);
    bh_idset_clear(&svc->protect);
    bh_idset_clear(&svc->verified);
    pthread_mutex_destroy(&svc->mu);
    pthread_mutex_destroy(&svc->gc_mu);
    pthread_mutex_destroy(&svc->vmu);
    free(svc);
}

struct bh_chunkstore *bh_imagesvc_chunks(struct bh_imagesvc *svc)
{
    return svc->cs;
}

void bh_imagesvc_totals(struct bh_imagesvc *svc, struct bh_imagesvc_totals *t)
{
    t->chunks = atomic_load(&svc->chunks);
    t->bytes = atomic_load(&svc->bytes);
    t->recv_chunks = atomic_load(&svc->recv_chunks);
    t->recv_bytes = atomic_load(&svc->recv_bytes);
    t->new_chunks = atomic_load(&svc->new_chunks);
    t->new_bytes = atomic_load(&svc->new_bytes);
}

/* ---- helpers ------------------------------------------------------------- */

static int load_manifest_hex(struct bh_imagesvc *svc, const char *hex, struct bh_manifest *m,
                             struct bh_err *err)
{
    uint8_t id[BH_SHA256_LEN];
    if (!hex || !bh_parse_id(hex, id))
        return bh_err_set(err, BH_EIO, "manifest", "bad manifest id '%s' in the database",
                          hex ? hex : "");
    return bh_cs_get_manifest(svc->cs, id, m, err);
}

/* protect ids while gc runs (caller holds mu) */
static int protect_locked(struct bh_imagesvc *svc, const uint8_t *ids, size_t n)
{
    if (!svc->gc_running)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (bh_idset_add(&svc->protect, ids + i * BH_SHA256_LEN) < 0)
            return BH_ENOMEM;
    return 0;
}

/* {chunks, missing, missing_bytes} of m against the chunk store */
static int missing_of(struct bh_imagesvc *svc, const struct bh_manifest *m, json_t *out)
{
    uint8_t *ids;
    size_t n;
    int rc = bh_manifest_chunk_set(m, &ids, &n);
    if (rc)
        return rc;
    struct bh_idset miss = {0};
    json_t *list = json_array();
    size_t nmiss = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *id = ids + i * BH_SHA256_LEN;
        if (bh_cs_has(svc->cs, id))
            continue;
        nmiss++;
        bh_idset_add(&miss, id);
        if (json_array_size(list) < MISSING_LIST_MAX) {
            char hex[BH_SHA256_HEX];
            bh_hex_id(id, hex);
            json_array_append_new(list, json_string(hex));
        }
    }
    uint64_t miss_bytes = 0; /* each missing chunk once */
    struct bh_idset counted = {0};
    for (size_t i = 0; i < m->n; i++)
        if (!m->ext[i].zero && bh_idset_has(&miss, m->ext[i].id) &&
            bh_idset_add(&counted, m->ext[i].id) == 1)
            miss_bytes += m->ext[i].len;
    bh_idset_clear(&counted);
    bh_idset_clear(&miss);
    free(ids);
    json_object_set_new(out, "chunks", json_integer((json_int_t)n));
    json_object_set_new(out, "missing_count", json_integer((json_int_t)nmiss));
    json_object_set_new(out, "missing_bytes", json_integer((json_int_t)miss_bytes));
    json_object_set_new(out, "missing", list);
    return 0;
}

/* ---- upload -------------------------------------------------------------- */

int bh_imagesvc_upload_begin(struct bh_imagesvc *svc, const char *image, const uint8_t *mf,
                             size_t len, const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    struct bh_manifest m;
    bh_manifest_init(&m);
    int rc = bh_manifest_parse(mf, len, &m, err);
    if (rc) {
        bh_manifest_free(&m);
        return rc;
    }
    uint8_t mid[BH_SHA256_LEN];
    char mhex[BH_SHA256_HEX];
    json_t *up = NULL;
    uint8_t *ids = NULL;
    size_t n = 0;
    rc = bh_manifest_chunk_set(&m, &ids, &n);
    /* The manifest file, then the upload row, which makes it a gc root.
     * Under mu: a gc that began before sees our ids protected, one that
     * begins after reads the row among its roots. */
    if (!rc)
        rc = bh_cs_put_manifest(svc->cs, mf, len, mid, err);
    if (!rc) {
        bh_hex_id(mid, mhex);
        pthread_mutex_lock(&svc->mu);
        rc = protect_locked(svc, ids, n);
        if (!rc)
            rc = bh_store_upload_create(svc->store, image, mhex, bh_wall_ms() + BH_UPLOAD_TTL_MS, a,
                                        &up, err);
        pthread_mutex_unlock(&svc->mu);
    }
    free(ids);
    if (!rc) {
        json_object_set_new(up, "upload", json_incref(json_object_get(up, "id")));
        json_object_set_new(up, "size", json_integer((json_int_t)m.size));
        rc = missing_of(svc, &m, up);
    }
    bh_manifest_free(&m);
    if (rc) {
        json_decref(up);
        return rc == BH_ENOMEM ? bh_err_set(err, rc, NULL, "out of memory") : rc;
    }
    *out = up;
    return 0;
}

int bh_imagesvc_upload_status(struct bh_imagesvc *svc, const char *upload, json_t **out,
                              struct bh_err *err)
{
    json_t *up = NULL;
    int rc = bh_store_upload_get(svc->store, upload, &up, err);
    if (rc)
        return rc;
    struct bh_manifest m;
    bh_manifest_init(&m);
    rc = load_manifest_hex(svc, json_string_value(json_object_get(up, "manifest")), &m, err);
    if (!rc) {
        json_object_set_new(up, "upload", json_string(upload));
        json_object_set_new(up, "size", json_integer((json_int_t)m.size));
        rc = missing_of(svc, &m, up);
    }
    bh_manifest_free(&m);
    if (rc)
        json_decref(up);
    else
        *out = up;
    return rc;
}

int bh_imagesvc_put_chunk(struct bh_imagesvc *svc, const uint8_t id[BH_SHA256_LEN], const void *z,
                          size_t zlen, bool *added, struct bh_err *err)
{
    bool add = false;
    atomic_fetch_add(&svc->recv_chunks, 1);
    atomic_fetch_add(&svc->recv_bytes, zlen);
    int rc = bh_cs_put(svc->cs, id, z, zlen, true, &add, err);
    if (rc)
        return rc;
    pthread_mutex_lock(&svc->mu);
    rc = protect_locked(svc, id, 1);
    pthread_mutex_unlock(&svc->mu);
    if (add) {
        atomic_fetch_add(&svc->chunks, 1);
        atomic_fetch_add(&svc->bytes, zlen);
        atomic_fetch_add(&svc->new_chunks, 1);
        atomic_fetch_add(&svc->new_bytes, zlen);
    }
    if (added)
        *added = add;
    return rc ? bh_err_set(err, rc, NULL, "out of memory") : 0;
}

/* The stored sizes of ids, in one pass: *stored of all, *added of those
 * not in parent, *fresh of those not in earlier; *missing counts the
 * absent ones. */
static void stored_sizes(struct bh_imagesvc *svc, const uint8_t *ids, size_t n,
                         const struct bh_idset *parent, const struct bh_idset *earlier,
                         uint64_t *stored, uint64_t *added, uint64_t *fresh, size_t *missing,
                         char first_missing[BH_SHA256_HEX])
{
    *stored = *added = *fresh = 0;
    *missing = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *id = ids + i * BH_SHA256_LEN;
        int fd;
        uint64_t zs;
        if (bh_cs_open_chunk(svc->cs, id, &fd, &zs, NULL)) {
            if (!(*missing)++)
                bh_hex_id(id, first_missing);
            continue;
        }
        close(fd);
        *stored += zs;
        if (!bh_idset_has(parent, id))
            *added += zs;
        if (!bh_idset_has(earlier, id))
            *fresh += zs;
    }
}

/* Add the chunk ids of manifest hex to set (zero runs have none). */
static int add_manifest_ids(struct bh_imagesvc *svc, const char *hex, struct bh_idset *set,
                            struct bh_err *err)
{
    struct bh_manifest m;
    bh_manifest_init(&m);
    int rc = load_manifest_hex(svc, hex, &m, err);
    for (size_t i = 0; !rc && i < m.n; i++)
        if (!m.ext[i].zero && bh_idset_add(set, m.ext[i].id) < 0)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    bh_manifest_free(&m);
    return rc;
}

/* Add the chunks of image's versions above *upto to set; *upto becomes
 * the highest version read.  For a version's new_bytes: what no earlier
 * version has.  A manifest that cannot be read is left out (its chunks
 * then count as new: new_bytes is a figure, never a reason to refuse). */
static int earlier_chunks(struct bh_imagesvc *svc, const char *image, struct bh_idset *set,
                          int64_t *upto, struct bh_err *err)
{
    json_t *vs = NULL;
    int rc = bh_store_versions(svc->store, image, &vs, err);
    size_t i;
    json_t *v;
    json_array_foreach(vs, i, v)
    {
        int64_t n = json_integer_value(json_object_get(v, "version"));
        if (rc || n <= *upto)
            continue;
        *upto = n;
        int r = add_manifest_ids(svc, json_string_value(json_object_get(v, "manifest")), set, NULL);
        if (r == BH_ENOMEM)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    json_decref(vs);
    return rc;
}

/* Is a capture of image a candidate?  Yes unless the image auto-promotes. */
static int capture_waits(struct bh_imagesvc *svc, const char *image, bool *candidate,
                         struct bh_err *err)
{
    json_t *img = NULL;
    int rc = bh_store_get(svc->store, bh_kind_get(BH_KIND_IMAGE), image, &img, err);
    if (!rc)
        *candidate = !json_is_true(json_object_get(img, "auto_promote"));
    json_decref(img);
    return rc;
}

int bh_imagesvc_commit(struct bh_imagesvc *svc, const char *upload, const json_t *body,
                       bool captured, const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    json_t *up = NULL, *parent = NULL;
    int rc = bh_store_upload_get(svc->store, upload, &up, err);
    if (rc)
        return rc;
    const char *image = json_string_value(json_object_get(up, "image"));
    const char *mhex = json_string_value(json_object_get(up, "manifest"));
    struct bh_manifest m, pm;
    bh_manifest_init(&m);
    bh_manifest_init(&pm);
    uint8_t *ids = NULL;
    size_t n = 0;
    bool candidate = false;
    rc = captured ? capture_waits(svc, image, &candidate, err) : 0;
    if (!rc)
        rc = load_manifest_hex(svc, mhex, &m, err);
    if (!rc)
        rc = bh_manifest_chunk_set(&m, &ids, &n);
    /* the parent: "latest" as the store keeps it (the highest released
     * version), if any; a candidate is never a parent */
    struct bh_idset pset = {0};
    int64_t parent_ver = 0;
    if (!rc && bh_store_version_get(svc->store, image, BH_TAG_LATEST, &parent, NULL) == 0) {
        parent_ver = json_integer_value(json_object_get(parent, "version"));
        if (load_manifest_hex(svc, json_string_value(json_object_get(parent, "manifest")), &pm,
                              NULL) == 0)
            for (size_t i = 0; i < pm.n; i++)
                if (!pm.ext[i].zero)
                    bh_idset_add(&pset, pm.ext[i].id);
    }
    /* every earlier version's chunks, for new_bytes: read before taking mu
     * (manifests can be large), then, under it, what came meanwhile */
    struct bh_idset eset = {0};
    int64_t upto = 0;
    if (!rc)
        rc = earlier_chunks(svc, image, &eset, &upto, err);
    pthread_mutex_lock(&svc->mu);
    uint64_t stored = 0, added = 0, fresh = 0;
    size_t missing = 0;
    char first[BH_SHA256_HEX] = "";
    if (!rc)
        rc = earlier_chunks(svc, image, &eset, &upto, err);
    if (!rc) {
        stored_sizes(svc, ids, n, &pset, &eset, &stored, &added, &fresh, &missing, first);
        if (missing)
            rc = bh_err_sett(err, BH_ECONFLICT, "chunks-missing", "chunks",
                             "%zu of the %zu chunks are not uploaded yet (the first: %s); "
                             "GET the upload for the list",
                             missing, n, first);
    }
    /* every chunk the version names is durable before the version is */
    if (!rc)
        rc = bh_cs_sync(svc->cs, err);
    if (!rc) {
        struct bh_version_new v = {
            .image = image,
            .manifest = mhex,
            .logical_size = m.size,
            .stored_size = stored,
            .added_bytes = added,
            .new_bytes = fresh,
            .chunks = n,
            .note = json_string_value(json_object_get(body, "note")),
            .parent = parent_ver,
            .candidate = candidate,
            .tags = json_object_get(body, "tags"),
            .upload = upload,
        };
        rc = bh_store_version_create(svc->store, &v, a, out, err);
    }
    pthread_mutex_unlock(&svc->mu);
    bh_idset_clear(&pset);
    bh_idset_clear(&eset);
    free(ids);
    bh_manifest_free(&m);
    bh_manifest_free(&pm);
    json_decref(parent);
    json_decref(up);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

/* What "this chunk file, as verified" means: the id and the file's
 * identity and change time.  Any write to the file changes its ctime, so a
 * chunk altered after it was verified is verified again before it is
 * served.  (Bit rot below the file system does not; `image verify` and the
 * clients, which hash what they receive, catch that.) */
static void verified_key(const uint8_t id[BH_SHA256_LEN], const struct stat *st,
                         uint8_t key[BH_SHA256_LEN])
{
    uint8_t in[BH_SHA256_LEN + 5 * sizeof(uint64_t)];
    uint64_t f[5] = {(uint64_t)st->st_dev, (uint64_t)st->st_ino, (uint64_t)st->st_size,
                     (uint64_t)st->st_ctim.tv_sec, (uint64_t)st->st_ctim.tv_nsec};
    memcpy(in, id, BH_SHA256_LEN);
    memcpy(in + BH_SHA256_LEN, f, sizeof(f));
    bh_sha256(in, sizeof(in), key);
}

int bh_imagesvc_chunk_fd(struct bh_imagesvc *svc, const uint8_t id[BH_SHA256_LEN], int *fd,
                         uint64_t *zsize, struct bh_err *err)
{
    int rc = bh_cs_open_chunk(svc->cs, id, fd, zsize, err);
    if (rc)
        return rc;
    struct stat st;
    uint8_t key[BH_SHA256_LEN];
    if (fstat(*fd, &st) < 0) {
        close(*fd);
        return bh_err_set(err, BH_ESYS, "chunk", "fstat: %s", strerror(errno));
    }
    verified_key(id, &st, key);
    pthread_mutex_lock(&svc->vmu);
    bool ok = bh_idset_has(&svc->verified, key);
    pthread_mutex_unlock(&svc->vmu);
    if (ok)
        return 0;
    rc = bh_cs_verify(svc->cs, id, NULL, err);
    if (rc) {
        close(*fd);
        if (rc != BH_ENOTFOUND)
            bh_log(BH_LOG_ERROR, "corrupt chunk not served", "err=%s", err ? err->msg : "");
        return rc;
    }
    pthread_mutex_lock(&svc->vmu);
    bh_idset_add(&svc->verified, key);
    pthread_mutex_unlock(&svc->vmu);
    return 0;
}

int bh_imagesvc_manifest(struct bh_imagesvc *svc, const char *image, const char *ref,
                         bool released_only, struct bh_buf *out, char id_hex[BH_SHA256_HEX],
                         struct bh_err *err)
{
    json_t *v = NULL;
    int rc = bh_store_version_get(svc->store, image, ref, &v, err);
    if (rc)
        return rc;
    const char *hex = json_string_value(json_object_get(v, "manifest"));
    const char *state = json_string_value(json_object_get(v, "state"));
    uint8_t id[BH_SHA256_LEN];
    if (released_only && (!state || strcmp(state, BH_VERSION_RELEASED)))
        rc = bh_err_sett(err, BH_EPERM, "candidate", "version",
                         "version %lld of '%s' is a candidate that waits for an operator's "
                         "promote; hosts get released versions only",
                         (long long)json_integer_value(json_object_get(v, "version")), image);
    else if (!hex || !bh_parse_id(hex, id))
        rc = bh_err_set(err, BH_EIO, "manifest", "version without a valid manifest id");
    else
        rc = bh_cs_get_manifest_raw(svc->cs, id, out, err);
    if (!rc)
        bh_strlcpy(id_hex, hex, BH_SHA256_HEX);
    json_decref(v);
    return rc;
}

static int version_manifest(struct bh_imagesvc *svc, const char *image, const char *ref,
                            struct bh_manifest *m, struct bh_err *err)
{
    json_t *v = NULL;
    int rc = bh_store_version_get(svc->store, image, ref, &v, err);
    if (!rc)
        rc = load_manifest_hex(svc, json_string_value(json_object_get(v, "manifest")), m, err);
    json_decref(v);
    return rc;
}

/* bytes of the data extents of m whose chunk is not in other */
static uint64_t bytes_not_in(const struct bh_manifest *m, const struct bh_idset *other)
{
    uint64_t b = 0;
    for (size_t i = 0; i < m->n; i++)
        if (!m->ext[i].zero && !bh_idset_has(other, m->ext[i].id))
            b += m->ext[i].len;
    return b;
}

int bh_imagesvc_diff(struct bh_imagesvc *svc, const char *image_a, const char *ref_a,
                     const char *image_b, const char *ref_b, json_t **out, struct bh_err *err)
{
    struct bh_manifest a, b;
    bh_manifest_init(&a);
    bh_manifest_init(&b);
    int rc = version_manifest(svc, image_a, ref_a, &a, err);
    if (!rc)
        rc = version_manifest(svc, image_b, ref_b, &b, err);
    struct bh_idset sa = {0}, sb = {0};
    for (size_t i = 0; !rc && i < a.n; i++)
        if (!a.ext[i].zero && bh_idset_add(&sa, a.ext[i].id) < 0)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    for (size_t i = 0; !rc && i < b.n; i++)
        if (!b.ext[i].zero && bh_idset_add(&sb, b.ext[i].id) < 0)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (!rc) {
        size_t shared = 0;
        for (size_t i = 0; i < sa.cap; i++) {
            static const uint8_t z[BH_SHA256_LEN];
            if (memcmp(sa.slot[i], z, BH_SHA256_LEN) && bh_idset_has(&sb, sa.slot[i]))
                shared++;
        }
        *out =
            json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "size_a", (json_int_t)a.size,
                      "size_b", (json_int_t)b.size, "chunks_a", (json_int_t)sa.n, "chunks_b",
                      (json_int_t)sb.n, "shared", (json_int_t)shared, "only_a",
                      (json_int_t)(sa.n - shared), "only_b", (json_int_t)(sb.n - shared),
                      "bytes_only_b", (json_int_t)bytes_not_in(&b, &sa), "identical", 0);
        json_object_set_new(*out, "bytes_only_a", json_integer((json_int_t)bytes_not_in(&a, &sb)));
        json_object_set_new(*out, "identical",
                            json_boolean(sa.n == shared && sb.n == shared && a.size == b.size));
    }
    bh_idset_clear(&sa);
    bh_idset_clear(&sb);
    bh_manifest_free(&a);
    bh_manifest_free(&b);
    return rc;
}

/* ---- verify and gc ------------------------------------------------------- */

/* the manifests of image's versions (every version of every image: NULL) */
static int roots_of(struct bh_imagesvc *svc, const char *image, json_t **hexes, struct bh_err *err)
{
    if (!image) /* versions only: uploads in progress lack chunks by nature */
        return bh_store_image_roots(svc->store, bh_wall_ms(), false, hexes, err);
    json_t *vs = NULL;
    int rc = bh_store_versions(svc->store, image, &vs, err);
    if (rc)
        return rc;
    *hexes = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(vs, i, v)
    {
        json_array_append(*hexes, json_object_get(v, "manifest"));
    }
    json_decref(vs);
    return 0;
}

/* mark every chunk of the manifests named in hexes */
static int mark(struct bh_imagesvc *svc, const json_t *hexes, struct bh_idset *set,
                json_t *bad_manifests, struct bh_err *err)
{
    size_t i;
    json_t *h;
    json_array_foreach(hexes, i, h)
    {
        struct bh_manifest m;
        bh_manifest_init(&m);
        struct bh_err e;
        int rc = load_manifest_hex(svc, json_string_value(h), &m, &e);
        if (rc) {
            if (!bad_manifests) {
                bh_manifest_free(&m);
                return bh_err_set(err, rc, "manifest", "manifest %s: %s", json_string_value(h),
                                  e.msg);
            }
            json_array_append_new(bad_manifests,
                                  json_pack("{s:O, s:s}", "manifest", h, "error", e.msg));
        }
        for (size_t j = 0; j < m.n; j++)
            if (!m.ext[j].zero && bh_idset_add(set, m.ext[j].id) < 0) {
                bh_manifest_free(&m);
                return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
            }
        bh_manifest_free(&m);
    }
    return 0;
}

int bh_imagesvc_verify(struct bh_imagesvc *svc, const char *image, json_t **out, struct bh_err *err)
{
    json_t *hexes = NULL, *bad = json_array(), *missing = json_array(), *corrupt = json_array();
    struct bh_idset set = {0};
    int rc = roots_of(svc, image, &hexes, err);
    if (!rc)
        rc = mark(svc, hexes, &set, bad, err);
    uint64_t bytes = 0, nmissing = 0, ncorrupt = 0;
    for (size_t i = 0; !rc && i < set.cap; i++) {
        static const uint8_t z[BH_SHA256_LEN];
        if (!memcmp(set.slot[i], z, BH_SHA256_LEN))
            continue;
        struct bh_err e;
        uint64_t zs = 0;
        int r = bh_cs_verify(svc->cs, set.slot[i], &zs, &e);
        char hex[BH_SHA256_HEX];
        bh_hex_id(set.slot[i], hex);
        /* the counts are exact; the lists name the first VERIFY_LIST_MAX */
        if (r == BH_ENOTFOUND && nmissing++ < VERIFY_LIST_MAX)
            json_array_append_new(missing, json_string(hex));
        else if (r && r != BH_ENOTFOUND && ncorrupt++ < VERIFY_LIST_MAX)
            json_array_append_new(corrupt, json_pack("{s:s, s:s}", "chunk", hex, "error", e.msg));
        else if (!r)
            bytes += zs;
        if (r) { /* nothing is known good any more: verify again when served */
            pthread_mutex_lock(&svc->vmu);
            bh_idset_clear(&svc->verified);
            pthread_mutex_unlock(&svc->vmu);
        }
    }
    if (!rc)
        *out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:b}", "manifests",
                         (json_int_t)json_array_size(hexes), "chunks", (json_int_t)set.n,
                         "stored_bytes", (json_int_t)bytes, "missing_count", (json_int_t)nmissing,
                         "corrupt_count", (json_int_t)ncorrupt, "missing", json_incref(missing),
                         "corrupt", json_incref(corrupt), "bad_manifests", json_incref(bad), "ok",
                         !nmissing && !ncorrupt && !json_array_size(bad));
    bh_idset_clear(&set);
    json_decref(hexes);
    json_decref(bad);
    json_decref(missing);
    json_decref(corrupt);
    return rc;
}

struct sweep {
    struct bh_imagesvc *svc;
    const struct bh_idset *marked;
    bool dry_run;
    int64_t started_ms;
    uint64_t swept, swept_bytes, kept,
        young; /* young: protected by an upload that began during gc */
};

static int sweep_one(void *ud, const uint8_t id[BH_SHA256_LEN], uint64_t zsize, int64_t mtime)
{
    struct sweep *sw = ud;
    struct bh_imagesvc *svc = sw->svc;
    if (bh_idset_has(sw->marked, id)) {
        sw->kept++;
        return 0;
    }
    (void)mtime; /* chunks of uploads are roots or protected: no age rule needed */
    pthread_mutex_lock(&svc->mu);
    bool keep = bh_idset_has(&svc->protect, id);
    if (!keep && !sw->dry_run && bh_cs_remove(svc->cs, id, NULL) == 0) {
        atomic_fetch_sub(&svc->chunks, 1);
        atomic_fetch_sub(&svc->bytes, zsize);
    }
    pthread_mutex_unlock(&svc->mu);
    if (keep) {
        sw->young++;
        return 0;
    }
    sw->swept++;
    sw->swept_bytes += zsize;
    return 0;
}

int bh_imagesvc_gc(struct bh_imagesvc *svc, bool dry_run, json_t **out, struct bh_err *err)
{
    if (pthread_mutex_trylock(&svc->gc_mu) != 0)
        return bh_err_sett(err, BH_EBUSY, "gc-running", NULL, "a gc is running already");
    int64_t t0 = bh_wall_ms();
    pthread_mutex_lock(&svc->mu);
    svc->gc_running = true;
    bh_idset_clear(&svc->protect);
    pthread_mutex_unlock(&svc->mu);

    json_t *hexes = NULL;
    struct bh_idset marked = {0};
    int rc = bh_store_image_roots(svc->store, t0, true, &hexes, err);
    /* a root that cannot be read stops the gc: sweeping without its
     * chunks marked could delete what a version needs */
    if (!rc)
        rc = mark(svc, hexes, &marked, NULL, err);
    struct sweep sw = {svc, &marked, dry_run, t0, 0, 0, 0, 0};
    if (!rc)
        rc = bh_cs_walk(svc->cs, sweep_one, &sw, err);

    pthread_mutex_lock(&svc->mu);
    svc->gc_running = false;
    bh_idset_clear(&svc->protect);
    pthread_mutex_unlock(&svc->mu);
    pthread_mutex_unlock(&svc->gc_mu);
    if (!rc) {
        *out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I}", "roots",
                         (json_int_t)json_array_size(hexes), "marked", (json_int_t)marked.n,
                         "swept", (json_int_t)sw.swept, "swept_bytes", (json_int_t)sw.swept_bytes,
                         "kept", (json_int_t)sw.kept, "spared_new", (json_int_t)sw.young, "dry_run",
                         dry_run, "ms", (json_int_t)(bh_wall_ms() - t0));
        bh_log(BH_LOG_INFO, "image gc", "dry_run=%d roots=%zu marked=%zu swept=%llu bytes=%llu",
               (int)dry_run, json_array_size(hexes), marked.n, (unsigned long long)sw.swept,
               (unsigned long long)sw.swept_bytes);
    }
    bh_idset_clear(&marked);
    json_decref(hexes);
    return rc;
}

/* ---- statistics ---------------------------------------------------------- */

/* new_bytes of one image's versions that lack it (made before bootherd
 * kept it): its versions in order, each against the chunks of those
 * before it.  Returns how many were filled in. */
static size_t backfill_image(struct bh_imagesvc *svc, const char *image)
{
    json_t *vs = NULL;
    struct bh_err e;
    if (bh_store_versions(svc->store, image, &vs, &e))
        return 0;
    struct bh_idset seen = {0};
    size_t filled = 0, i;
    json_t *v;
    json_array_foreach(vs, i, v)
    {
        const char *hex = json_string_value(json_object_get(v, "manifest"));
        struct bh_idset mine = {0};
        if (add_manifest_ids(svc, hex, &mine, NULL))
            continue; /* unreadable: left unknown */
        bool unknown = json_is_null(json_object_get(v, "new_bytes"));
        uint64_t fresh = 0;
        for (size_t k = 0; unknown && k < mine.cap; k++) {
            static const uint8_t none[BH_SHA256_LEN];
            const uint8_t *id = mine.slot[k];
            int fd;
            uint64_t zs;
            if (!memcmp(id, none, sizeof(none)) || bh_idset_has(&seen, id))
                continue;
            if (bh_cs_open_chunk(svc->cs, id, &fd, &zs, NULL) == 0) {
                close(fd);
                fresh += zs;
            }
        }
        if (unknown && bh_store_version_set_new_bytes(
                           svc->store, image, json_integer_value(json_object_get(v, "version")),
                           fresh, &e) == 0)
            filled++;
        for (size_t k = 0; k < mine.cap; k++)
            bh_idset_add(&seen, mine.slot[k]);
        bh_idset_clear(&mine);
    }
    bh_idset_clear(&seen);
    json_decref(vs);
    return filled;
}

/* Once, at start after an upgrade: the versions made before new_bytes was
 * kept get it, so image usage adds up without reading manifests later. */
static void backfill_new_bytes(struct bh_imagesvc *svc)
{
    json_t *todo = NULL;
    struct bh_err e;
    if (bh_store_versions_without_new_bytes(svc->store, &todo, &e)) {
        bh_log(BH_LOG_WARN, "image store: cannot list versions without new_bytes", "err=%s", e.msg);
        return;
    }
    size_t filled = 0, i;
    json_t *v;
    const char *last = "";
    json_array_foreach(todo, i, v)
    {
        const char *image = json_string_value(json_object_get(v, "image"));
        if (!image || !strcmp(image, last))
            continue;
        last = image;
        filled += backfill_image(svc, image);
    }
    if (json_array_size(todo))
        bh_log(BH_LOG_INFO, "image store: new bytes worked out for older versions",
               "versions=%zu filled=%zu", json_array_size(todo), filled);
    json_decref(todo);
}

/* Per image, from its versions: stored = what each version added to the
 * one before it (the first adds everything it has), so versions that share
 * chunks count them once.  Deleting a version in the middle makes the sum
 * an estimate until the next import. */
int bh_imagesvc_stats(struct bh_imagesvc *svc, json_t **out, struct bh_err *err)
{
    struct bh_list_query q = {.kind = bh_kind_get(BH_KIND_IMAGE), .limit = BH_LIST_MAX};
    struct bh_list_result res = {0};
    int rc = bh_store_list(svc->store, &q, &res, err);
    if (rc)
        return rc;
    json_t *images = json_array();
    uint64_t all_logical = 0;
    size_t i;
    json_t *img;
    json_array_foreach(res.items, i, img)
    {
        const char *name = json_string_value(json_object_get(img, "name"));
        json_t *vs = NULL;
        if (!name || bh_store_versions(svc->store, name, &vs, NULL))
            continue;
        uint64_t logical = 0, total = 0, stored = 0;
        size_t k;
        json_t *v;
        json_array_foreach(vs, k, v)
        {
            logical = (uint64_t)json_integer_value(json_object_get(v, "logical_size"));
            total += logical;
            stored += (uint64_t)json_integer_value(json_object_get(v, "added_bytes"));
        }
        all_logical += total;
        json_array_append_new(images, json_pack("{s:s, s:I, s:I, s:I, s:I, s:f}", "image", name,
                                                "versions", (json_int_t)json_array_size(vs),
                                                "logical_bytes", (json_int_t)logical,
                                                "logical_bytes_all_versions", (json_int_t)total,
                                                "stored_bytes", (json_int_t)stored, "dedup_ratio",
                                                stored ? (double)total / (double)stored : 0.0));
        json_decref(vs);
    }
    json_decref(res.items);
    struct bh_imagesvc_totals t;
    bh_imagesvc_totals(svc, &t);
    *out = json_pack("{s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:o}", "chunks", (json_int_t)t.chunks,
                     "stored_bytes", (json_int_t)t.bytes, "dedup_ratio",
                     t.bytes ? (double)all_logical / (double)t.bytes : 0.0, "received_chunks",
                     (json_int_t)t.recv_chunks, "received_bytes", (json_int_t)t.recv_bytes,
                     "new_chunks", (json_int_t)t.new_chunks, "new_bytes", (json_int_t)t.new_bytes,
                     "images", images);
    return 0;
}

int bh_imagesvc_metrics(struct bh_imagesvc *svc, struct bh_buf *o)
{
    json_t *st = NULL;
    if (bh_imagesvc_stats(svc, &st, NULL))
        return 0; /* the store is unreadable: say nothing rather than fail /metrics */
    int rc = bh_buf_printf(
        o,
        "# HELP bootherd_image_store_chunks Chunks in the image store.\n"
        "# TYPE bootherd_image_store_chunks gauge\nbootherd_image_store_chunks %lld\n"
        "# HELP bootherd_image_store_bytes Bytes of chunks (compressed) in the image store.\n"
        "# TYPE bootherd_image_store_bytes gauge\nbootherd_image_store_bytes %lld\n"
        "# HELP bootherd_image_store_dedup_ratio Logical bytes of every version over stored "
        "bytes.\n"
        "# TYPE bootherd_image_store_dedup_ratio gauge\nbootherd_image_store_dedup_ratio %g\n"
        "# HELP bootherd_image_chunk_received_bytes_total Chunk bytes uploaded since start.\n"
        "# TYPE bootherd_image_chunk_received_bytes_total counter\n"
        "bootherd_image_chunk_received_bytes_total %lld\n"
        "# HELP bootherd_image_logical_bytes Size of the newest version of an image.\n"
        "# TYPE bootherd_image_logical_bytes gauge\n"
        "# HELP bootherd_image_stored_bytes Bytes that the versions of an image added to the "
        "store.\n"
        "# TYPE bootherd_image_stored_bytes gauge\n"
        "# HELP bootherd_image_versions Versions of an image.\n"
        "# TYPE bootherd_image_versions gauge\n",
        (long long)json_integer_value(json_object_get(st, "chunks")),
        (long long)json_integer_value(json_object_get(st, "stored_bytes")),
        json_real_value(json_object_get(st, "dedup_ratio")),
        (long long)json_integer_value(json_object_get(st, "received_bytes")));
    size_t i;
    json_t *im;
    json_array_foreach(json_object_get(st, "images"), i, im)
    {
        const char *n = json_string_value(json_object_get(im, "image"));
        if (!rc)
            rc = bh_buf_printf(
                o,
                "bootherd_image_logical_bytes{image=\"%s\"} %lld\n"
                "bootherd_image_stored_bytes{image=\"%s\"} %lld\n"
                "bootherd_image_versions{image=\"%s\"} %lld\n",
                n, (long long)json_integer_value(json_object_get(im, "logical_bytes")), n,
                (long long)json_integer_value(json_object_get(im, "stored_bytes")), n,
                (long long)json_integer_value(json_object_get(im, "versions")));
    }
    json_decref(st);
    return rc;
}
