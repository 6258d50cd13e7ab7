/*
 * sqlite_image.c - image versions, tags and uploads in the SQLite backend.
 * The chunks and manifests they name are files; see src/image.
 */
#include "sqlite_int.h"

#include "core/str.h"
#include "core/timeutil.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_COLS                                                                               \
    "v.version, v.manifest, v.logical_size, v.stored_size, v.added_bytes, v.chunks, v.parent, "    \
    "v.note, v.created_by, v.created_at, "                                                         \
    "(SELECT json_group_array(t.tag) FROM (SELECT tag FROM image_tags t WHERE "                    \
    "t.image_id = v.image_id AND t.version = v.version ORDER BY tag) t), "                         \
    "v.state, v.promoted_by, v.promoted_at, v.new_bytes"

static json_t *version_row(sqlite3_stmt *st, const char *image)
{
    json_t *v = json_pack(
        "{s:s, s:I, s:s?, s:s?, s:I, s:I, s:I, s:I, s:o, s:s?, s:s?, s:s?, "
        "s:o, s:s?, s:s?}",
        "image", image, "version", (json_int_t)sqlite3_column_int64(st, 0), "state",
        (const char *)sqlite3_column_text(st, 11), "manifest",
        (const char *)sqlite3_column_text(st, 1), "logical_size",
        (json_int_t)sqlite3_column_int64(st, 2), "stored_size",
        (json_int_t)sqlite3_column_int64(st, 3), "added_bytes",
        (json_int_t)sqlite3_column_int64(st, 4), "chunks", (json_int_t)sqlite3_column_int64(st, 5),
        "parent",
        sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null()
                                                  : json_integer(sqlite3_column_int64(st, 6)),
        "note", (const char *)sqlite3_column_text(st, 7), "created_by",
        (const char *)sqlite3_column_text(st, 8), "created_at",
        (const char *)sqlite3_column_text(st, 9), "tags", bh__sq_column_json(st, 10), "promoted_by",
        (const char *)sqlite3_column_text(st, 12), "promoted_at",
        (const char *)sqlite3_column_text(st, 13));
    if (v && json_object_set_new(v, "new_bytes",
                                 sqlite3_column_type(st, 14) == SQLITE_NULL
                                     ? json_null()
                                     : json_integer(sqlite3_column_int64(st, 14)))) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static int image_id(struct sq_conn *c, const char *image, int64_t *id, struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(c, "SELECT id FROM images WHERE name = ?", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_text(st, 1, image, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    int rc = 0;
    if (r == SQLITE_ROW)
        *id = sqlite3_column_int64(st, 0);
    else if (r == SQLITE_DONE)
        rc = bh_err_set(err, BH_ENOTFOUND, "image", "no image named '%s'", image);
    else
        rc = bh__sq_fail(c, err, "find image");
    sqlite3_reset(st);
    return rc;
}

/* version number of ref (a number or a tag) */
static int resolve(struct sq_conn *c, int64_t img, const char *image, const char *ref, int64_t *ver,
                   struct bh_err *err)
{
    sqlite3_stmt *st;
    int64_t num = 0;
    if (all_digits(ref)) {
        /* strict: a number too big for a version is no version, not a
         * clamped one */
        if (bh_parse_i64(ref, 0, INT64_MAX, &num))
            return bh_err_set(err, BH_ENOTFOUND, "version", "image '%s' has no version %s", image,
                              ref);
        st = bh__sq_prepare(
            c, "SELECT version FROM image_versions WHERE image_id = ? AND version = ?", err);
        if (!st)
            return BH_EIO;
        sqlite3_bind_int64(st, 1, img);
        sqlite3_bind_int64(st, 2, num);
    } else {
        st =
            bh__sq_prepare(c, "SELECT version FROM image_tags WHERE image_id = ? AND tag = ?", err);
        if (!st)
            return BH_EIO;
        sqlite3_bind_int64(st, 1, img);
        sqlite3_bind_text(st, 2, ref, -1, SQLITE_TRANSIENT);
    }
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW)
        *ver = sqlite3_column_int64(st, 0);
    else if (r == SQLITE_DONE)
        rc = bh_err_set(err, BH_ENOTFOUND, "version", "image '%s' has no version %s%s", image,
                        all_digits(ref) ? "" : "tagged ", ref);
    else
        rc = bh__sq_fail(c, err, "find version");
    sqlite3_reset(st);
    return rc;
}

static int get_version(struct sq_conn *c, int64_t img, const char *image, int64_t ver, json_t **out,
                       struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(c,
                                      "SELECT " VERSION_COLS " FROM image_versions v "
                                      "WHERE v.image_id = ? AND v.version = ?",
                                      err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, img);
    sqlite3_bind_int64(st, 2, ver);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW)
        rc =
            (*out = version_row(st, image)) ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    else if (r == SQLITE_DONE)
        rc = bh_err_set(err, BH_ENOTFOUND, "version", "image '%s' has no version %lld", image,
                        (long long)ver);
    else
        rc = bh__sq_fail(c, err, "read version");
    sqlite3_reset(st);
    return rc;
}

static int set_tag(struct sq_conn *c, int64_t img, const char *tag, int64_t ver, struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(
        c, "INSERT OR REPLACE INTO image_tags (image_id, tag, version) VALUES (?, ?, ?)", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, img);
    sqlite3_bind_text(st, 2, tag, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, ver);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "set tag");
    sqlite3_reset(st);
    return rc;
}

/* The one place that decides what "latest" names: the highest-numbered
 * released version of the image, or nothing when none is released.  Run
 * inside every write that creates, releases or deletes a version. */
static int latest_refresh(struct sq_conn *c, int64_t img, struct bh_err *err)
{
    static const char *const sql[] = {
        "DELETE FROM image_tags WHERE image_id = ? AND tag = '" BH_TAG_LATEST "'",
        "INSERT INTO image_tags (image_id, tag, version) SELECT ?1, '" BH_TAG_LATEST "', "
        "max(version) FROM image_versions WHERE image_id = ?1 AND state = '" BH_VERSION_RELEASED
        "' HAVING max(version) IS NOT NULL",
    };
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof(sql) / sizeof(sql[0]); i++) {
        sqlite3_stmt *st = bh__sq_prepare(c, sql[i], err);
        if (!st)
            return BH_EIO;
        sqlite3_bind_int64(st, 1, img);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "move latest");
        sqlite3_reset(st);
    }
    return rc;
}

/* state of version ver (BH_VERSION_*), into out */
static int version_state(struct sq_conn *c, int64_t img, int64_t ver, char *out, size_t cap,
                         struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(
        c, "SELECT state FROM image_versions WHERE image_id = ? AND version = ?", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, img);
    sqlite3_bind_int64(st, 2, ver);
    int rc = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        bh_strlcpy(out, (const char *)sqlite3_column_text(st, 0), cap);
    else
        rc = bh__sq_fail(c, err, "read version state");
    sqlite3_reset(st);
    return rc;
}

static int upload_delete_in(struct sq_conn *c, const char *id, struct bh_err *err)
{
    sqlite3_stmt *st = bh__sq_prepare(c, "DELETE FROM image_uploads WHERE id = ?", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "delete upload");
    sqlite3_reset(st);
    return rc;
}

int bh__sq_version_create(void *impl, const struct bh_version_new *v, const struct bh_actor *a,
                          json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev, img = 0, ver = 0;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    rc = image_id(c, v->image, &img, err);
    sqlite3_stmt *st = NULL;
    if (!rc &&
        !(st = bh__sq_prepare(c,
                              "INSERT INTO image_versions (image_id, version, manifest, "
                              "logical_size, stored_size, added_bytes, chunks, parent, note, "
                              "created_by, created_at, state, new_bytes) SELECT ?1, "
                              "max(coalesce(max(v.version), 0), (SELECT last_version FROM images "
                              "WHERE id = ?1)) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12 "
                              "FROM image_versions v WHERE v.image_id = ?1 RETURNING version",
                              err)))
        rc = BH_EIO;
    if (!rc) {
        char ts[BH_TIME_STRLEN];
        bh_time_format(bh_wall_ms(), ts);
        sqlite3_bind_int64(st, 1, img);
        sqlite3_bind_text(st, 2, v->manifest, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)v->logical_size);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)v->stored_size);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)v->added_bytes);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)v->chunks);
        if (v->parent > 0)
            sqlite3_bind_int64(st, 7, v->parent);
        else
            sqlite3_bind_null(st, 7);
        if (v->note)
            sqlite3_bind_text(st, 8, v->note, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, 8);
        sqlite3_bind_text(st, 9, a && a->name ? a->name : "system", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 10, ts, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 11, v->candidate ? BH_VERSION_CANDIDATE : BH_VERSION_RELEASED, -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(st, 12, (sqlite3_int64)v->new_bytes);
        if (sqlite3_step(st) == SQLITE_ROW)
            ver = sqlite3_column_int64(st, 0);
        else
            rc = bh__sq_fail(c, err, "create version");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    /* numbers are never given twice (see migration 9) */
    if (!rc && !(st = bh__sq_prepare(c, "UPDATE images SET last_version = ?2 WHERE id = ?1", err)))
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, img);
        sqlite3_bind_int64(st, 2, ver);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "count versions");
        sqlite3_reset(st);
    }
    if (!rc)
        rc = latest_refresh(c, img, err);
    size_t i;
    json_t *t;
    json_array_foreach(v->tags, i, t)
    {
        if (!rc && json_is_string(t))
            rc = set_tag(c, img, json_string_value(t), ver, err);
    }
    if (!rc && v->upload)
        rc = upload_delete_in(c, v->upload, err);
    json_t *doc = NULL;
    if (!rc)
        rc = get_version(c, img, v->image, ver, &doc, err);
    if (!rc)
        rc = bh__sq_record(q, rev, "image", v->image, "version.created", NULL, doc, a, true, err);
    if (rc) {
        json_decref(doc);
        bh__sq_rollback(q);
        return rc;
    }
    rc = bh__sq_commit(q, rev, err);
    if (!rc && out)
        *out = doc;
    else
        json_decref(doc);
    return rc;
}

int bh__sq_version_get(void *impl, const char *image, const char *ref, json_t **out,
                       struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    int64_t img, ver;
    int rc = image_id(c, image, &img, err);
    if (!rc)
        rc = resolve(c, img, image, ref, &ver, err);
    if (!rc)
        rc = get_version(c, img, image, ver, out, err);
    bh__sq_release(c);
    return rc;
}

int bh__sq_versions(void *impl, const char *image, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    int64_t img;
    int rc = image_id(c, image, &img, err);
    sqlite3_stmt *st = NULL;
    if (!rc && !(st = bh__sq_prepare(c,
                                     "SELECT " VERSION_COLS " FROM image_versions v "
                                     "WHERE v.image_id = ? ORDER BY v.version",
                                     err)))
        rc = BH_EIO;
    json_t *arr = rc ? NULL : json_array();
    if (!rc) {
        sqlite3_bind_int64(st, 1, img);
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW)
            json_array_append_new(arr, version_row(st, image));
        if (r != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "list versions");
        sqlite3_reset(st);
    }
    bh__sq_release(c);
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

int bh__sq_version_set_new_bytes(void *impl, const char *image, int64_t version, uint64_t new_bytes,
                                 struct bh_err *err)
{
    struct sq *q = impl;
    struct sq_conn *c = &q->writer;
    pthread_mutex_lock(&c->mu);
    sqlite3_stmt *st = bh__sq_prepare(c,
                                      "UPDATE image_versions SET new_bytes = ?3 WHERE version = ?2 "
                                      "AND image_id = (SELECT id FROM images WHERE name = ?1)",
                                      err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, image, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, version);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)new_bytes);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "set new_bytes");
        else if (sqlite3_changes(c->db) == 0)
            rc = bh_err_set(err, BH_ENOTFOUND, "version", "image '%s' has no version %lld", image,
                            (long long)version);
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int bh__sq_versions_without_new_bytes(void *impl, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st =
        bh__sq_prepare(c,
                       "SELECT i.name, v.version, v.manifest FROM image_versions v "
                       "JOIN images i ON i.id = v.image_id WHERE v.new_bytes IS NULL "
                       "ORDER BY i.name, v.version",
                       err);
    int rc = st ? 0 : BH_EIO;
    json_t *arr = json_array();
    if (!arr)
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (!rc) {
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW)
            json_array_append_new(arr,
                                  json_pack("{s:s, s:I, s:s?}", "image",
                                            (const char *)sqlite3_column_text(st, 0), "version",
                                            (json_int_t)sqlite3_column_int64(st, 1), "manifest",
                                            (const char *)sqlite3_column_text(st, 2)));
        if (r != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "versions without new_bytes");
    }
    if (st)
        sqlite3_reset(st);
    bh__sq_release(c);
    if (rc)
        json_decref(arr);
    else
        *out = arr;
    return rc;
}

int bh__sq_version_promote(void *impl, const char *image, const char *ref, const struct bh_actor *a,
                           json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev, img = 0, ver = 0;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    json_t *before = NULL, *after = NULL;
    rc = image_id(c, image, &img, err);
    if (!rc)
        rc = resolve(c, img, image, ref, &ver, err);
    if (!rc)
        rc = get_version(c, img, image, ver, &before, err);
    const char *state = rc ? NULL : json_string_value(json_object_get(before, "state"));
    bool candidate = state && !strcmp(state, BH_VERSION_CANDIDATE);
    if (candidate) {
        char ts[BH_TIME_STRLEN];
        bh_time_format(bh_wall_ms(), ts);
        sqlite3_stmt *st =
            bh__sq_prepare(c,
                           "UPDATE image_versions SET state = '" BH_VERSION_RELEASED
                           "', promoted_by = ?, promoted_at = ? WHERE image_id = ? AND "
                           "version = ?",
                           err);
        if (!st)
            rc = BH_EIO;
        if (!rc) {
            sqlite3_bind_text(st, 1, a && a->name ? a->name : "system", -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 2, ts, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 3, img);
            sqlite3_bind_int64(st, 4, ver);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "promote version");
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
        if (!rc)
            rc = latest_refresh(c, img, err);
        if (!rc)
            rc = get_version(c, img, image, ver, &after, err);
        if (!rc)
            rc = bh__sq_record(q, rev, "image", image, "version.promoted", before, after, a, true,
                               err);
    }
    /* released already (or an error): nothing to write */
    if (rc || !candidate) {
        bh__sq_rollback(q);
        json_decref(after);
        if (!rc && out)
            *out = before;
        else
            json_decref(before);
        return rc;
    }
    json_decref(before);
    rc = bh__sq_commit(q, rev, err);
    if (!rc && out)
        *out = after;
    else
        json_decref(after);
    return rc;
}

/* One write transaction around fn, with an event on the image. */
static int image_write(struct sq *q, const char *image, const char *type, const struct bh_actor *a,
                       int (*fn)(struct sq_conn *c, int64_t img, void *ud, json_t **data,
                                 struct bh_err *err),
                       void *ud, json_t **out, struct bh_err *err)
{
    int64_t rev, img;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    json_t *data = NULL;
    rc = image_id(&q->writer, image, &img, err);
    if (!rc)
        rc = fn(&q->writer, img, ud, &data, err);
    if (!rc)
        rc = bh__sq_record(q, rev, "image", image, type, NULL, data, a, true, err);
    if (rc) {
        json_decref(data);
        bh__sq_rollback(q);
        return rc;
    }
    rc = bh__sq_commit(q, rev, err);
    if (!rc && out)
        *out = data;
    else
        json_decref(data);
    return rc;
}

struct tag_args {
    const char *image, *tag, *ref;
};

static int do_tag_set(struct sq_conn *c, int64_t img, void *ud, json_t **data, struct bh_err *err)
{
    struct tag_args *t = ud;
    int64_t ver;
    char state[16] = "";
    int rc = resolve(c, img, t->image, t->ref, &ver, err);
    if (!rc)
        rc = version_state(c, img, ver, state, sizeof(state), err);
    if (!rc && !strcmp(state, BH_VERSION_CANDIDATE))
        rc = bh_err_sett(err, BH_ECONFLICT, "candidate", "version",
                         "version %lld of '%s' is a candidate: no tag may name it until an "
                         "operator promotes it",
                         (long long)ver, t->image);
    if (!rc)
        rc = set_tag(c, img, t->tag, ver, err);
    if (!rc)
        *data = json_pack("{s:s, s:s, s:I}", "image", t->image, "tag", t->tag, "version",
                          (json_int_t)ver);
    return rc;
}

int bh__sq_tag_set(void *impl, const char *image, const char *tag, const char *ref,
                   const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    struct tag_args t = {image, tag, ref};
    return image_write(impl, image, "tag.set", a, do_tag_set, &t, out, err);
}

static int do_tag_delete(struct sq_conn *c, int64_t img, void *ud, json_t **data,
                         struct bh_err *err)
{
    struct tag_args *t = ud;
    sqlite3_stmt *st = bh__sq_prepare(
        c, "DELETE FROM image_tags WHERE image_id = ? AND tag = ? RETURNING version", err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, img);
    sqlite3_bind_text(st, 2, t->tag, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st), rc = 0;
    if (r == SQLITE_ROW)
        *data = json_pack("{s:s, s:s, s:I}", "image", t->image, "tag", t->tag, "version",
                          (json_int_t)sqlite3_column_int64(st, 0));
    else if (r == SQLITE_DONE)
        rc = bh_err_set(err, BH_ENOTFOUND, "tag", "image '%s' has no tag '%s'", t->image, t->tag);
    else
        rc = bh__sq_fail(c, err, "delete tag");
    sqlite3_reset(st);
    return rc;
}

int bh__sq_tag_delete(void *impl, const char *image, const char *tag, const struct bh_actor *a,
                      struct bh_err *err)
{
    struct tag_args t = {image, tag, NULL};
    return image_write(impl, image, "tag.deleted", a, do_tag_delete, &t, NULL, err);
}

static int do_version_delete(struct sq_conn *c, int64_t img, void *ud, json_t **data,
                             struct bh_err *err)
{
    struct tag_args *t = ud;
    int64_t ver;
    int rc = resolve(c, img, t->image, t->ref, &ver, err);
    if (rc)
        return rc;
    sqlite3_stmt *st =
        bh__sq_prepare(c,
                       "SELECT tag FROM image_tags WHERE image_id = ? AND version = ? "
                       "AND tag <> 'latest' ORDER BY tag LIMIT 1",
                       err);
    if (!st)
        return BH_EIO;
    sqlite3_bind_int64(st, 1, img);
    sqlite3_bind_int64(st, 2, ver);
    if (sqlite3_step(st) == SQLITE_ROW)
        rc = bh_err_set(err, BH_ECONFLICT, "version",
                        "version %lld of '%s' is tagged '%s': move or remove the tag first",
                        (long long)ver, t->image, (const char *)sqlite3_column_text(st, 0));
    sqlite3_reset(st);
    if (rc)
        return rc;
    static const char *const sql[] = {
        "DELETE FROM image_tags WHERE image_id = ?1 AND version = ?2",
        "DELETE FROM image_versions WHERE image_id = ?1 AND version = ?2",
    };
    for (size_t i = 0; !rc && i < sizeof(sql) / sizeof(sql[0]); i++) {
        if (!(st = bh__sq_prepare(c, sql[i], err)))
            return BH_EIO;
        sqlite3_bind_int64(st, 1, img);
        sqlite3_bind_int64(st, 2, ver);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "delete version");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (!rc)
        rc = latest_refresh(c, img, err);
    if (!rc)
        *data = json_pack("{s:s, s:I}", "image", t->image, "version", (json_int_t)ver);
    return rc;
}

int bh__sq_version_delete(void *impl, const char *image, const char *ref, const struct bh_actor *a,
                          struct bh_err *err)
{
    struct tag_args t = {image, NULL, ref};
    return image_write(impl, image, "version.deleted", a, do_version_delete, &t, NULL, err);
}

static json_t *upload_row(sqlite3_stmt *st)
{
    return json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I}", "id", sqlite3_column_text(st, 0), "image",
                     sqlite3_column_text(st, 1), "manifest", sqlite3_column_text(st, 2),
                     "created_by", sqlite3_column_text(st, 3), "created_at",
                     sqlite3_column_text(st, 4), "expires_ms",
                     (json_int_t)sqlite3_column_int64(st, 5));
}

#define UPLOAD_COLS "u.id, i.name, u.manifest, u.created_by, u.created_at, u.expires_ms"

int bh__sq_upload_create(void *impl, const char *image, const char *manifest, int64_t expires_ms,
                         const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    struct sq *q = impl;
    int64_t rev, img;
    int rc = bh__sq_begin(q, &rev, err);
    if (rc)
        return rc;
    struct sq_conn *c = &q->writer;
    rc = image_id(c, image, &img, err);
    json_t *doc = NULL;
    sqlite3_stmt *st = NULL;
    /* a live upload of the same content resumes */
    if (!rc &&
        !(st = bh__sq_prepare(c,
                              "SELECT " UPLOAD_COLS " FROM image_uploads u JOIN images i ON "
                              "i.id = u.image_id WHERE u.image_id = ? AND u.manifest = ? AND "
                              "u.expires_ms > ?",
                              err)))
        rc = BH_EIO;
    if (!rc) {
        sqlite3_bind_int64(st, 1, img);
        sqlite3_bind_text(st, 2, manifest, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, bh_wall_ms());
        if (sqlite3_step(st) == SQLITE_ROW && (doc = upload_row(st)))
            json_object_set_new(doc, "resumed", json_true());
        sqlite3_reset(st);
    }
    if (!rc && !doc) {
        uint8_t rnd[12];
        char id[32];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            bh__sq_rollback(q);
            return bh_err_set(err, BH_EIO, NULL, "no randomness for an upload id");
        }
        for (size_t i = 0; i < sizeof(rnd); i++)
            snprintf(id + 2 * i, 3, "%02x", rnd[i]);
        char ts[BH_TIME_STRLEN];
        bh_time_format(bh_wall_ms(), ts);
        if (!(st = bh__sq_prepare(c,
                                  "INSERT INTO image_uploads (id, image_id, manifest, created_by, "
                                  "created_at, expires_ms) VALUES (?, ?, ?, ?, ?, ?)",
                                  err)))
            rc = BH_EIO;
        if (!rc) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 2, img);
            sqlite3_bind_text(st, 3, manifest, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 4, a && a->name ? a->name : "system", -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(st, 5, ts, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 6, expires_ms);
            rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "create upload");
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
        if (!rc)
            doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "id", id, "image", image,
                            "manifest", manifest, "created_by", a && a->name ? a->name : "system",
                            "created_at", ts, "expires_ms", (json_int_t)expires_ms, "resumed", 0);
    }
    if (rc || !doc) {
        bh__sq_rollback(q);
        return rc ? rc : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    rc = bh__sq_commit(q, rev, err);
    if (!rc)
        *out = doc;
    else
        json_decref(doc);
    return rc;
}

int bh__sq_upload_get(void *impl, const char *id, json_t **out, struct bh_err *err)
{
    struct sq_conn *c = bh__sq_reader(impl);
    sqlite3_stmt *st =
        bh__sq_prepare(c,
                       "SELECT " UPLOAD_COLS " FROM image_uploads u JOIN images i ON "
                       "i.id = u.image_id WHERE u.id = ? AND u.expires_ms > ?",
                       err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, bh_wall_ms());
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW)
            *out = upload_row(st);
        else if (r == SQLITE_DONE)
            rc =
                bh_err_set(err, BH_ENOTFOUND, "upload", "no upload '%s' (finished or expired)", id);
        else
            rc = bh__sq_fail(c, err, "read upload");
        sqlite3_reset(st);
    }
    bh__sq_release(c);
    return rc;
}

int bh__sq_upload_delete(void *impl, const char *id, struct bh_err *err)
{
    struct sq *q = impl;
    pthread_mutex_lock(&q->writer.mu);
    int rc = upload_delete_in(&q->writer, id, err);
    if (!rc && sqlite3_changes(q->writer.db) == 0)
        rc = bh_err_set(err, BH_ENOTFOUND, "upload", "no upload '%s'", id);
    pthread_mutex_unlock(&q->writer.mu);
    return rc;
}

int bh__sq_image_roots(void *impl, int64_t now_ms, bool uploads, json_t **manifests,
                       struct bh_err *err)
{
    struct sq *q = impl;
    pthread_mutex_lock(&q->writer.mu);
    struct sq_conn *c = &q->writer;
    sqlite3_stmt *st = bh__sq_prepare(c, "DELETE FROM image_uploads WHERE expires_ms <= ?", err);
    int rc = st ? 0 : BH_EIO;
    if (st) {
        sqlite3_bind_int64(st, 1, now_ms);
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : bh__sq_fail(c, err, "expire uploads");
        sqlite3_reset(st);
    }
    json_t *arr = json_array();
    if (!rc &&
        !(st = bh__sq_prepare(c,
                              uploads ? "SELECT manifest FROM image_versions WHERE manifest IS "
                                        "NOT NULL UNION SELECT manifest FROM image_uploads"
                                      : "SELECT DISTINCT manifest FROM image_versions WHERE "
                                        "manifest IS NOT NULL",
                              err)))
        rc = BH_EIO;
    if (!rc) {
        int r;
        while ((r = sqlite3_step(st)) == SQLITE_ROW)
            json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
        if (r != SQLITE_DONE)
            rc = bh__sq_fail(c, err, "gc roots");
        sqlite3_reset(st);
    }
    pthread_mutex_unlock(&q->writer.mu);
    if (rc)
        json_decref(arr);
    else
        *manifests = arr;
    return rc;
}
