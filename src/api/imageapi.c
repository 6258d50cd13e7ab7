/*
 * imageapi.c - the image store over HTTP (token needed for everything).
 *
 *   GET    /api/v1/images/{key}/versions                  versions, oldest first
 *   GET    /api/v1/images/{key}/versions/{ref}            one (number or tag)
 *   DELETE /api/v1/images/{key}/versions/{ref}             (also: reject a candidate)
 *   POST   /api/v1/images/{key}/versions/{ref}/promote    release a candidate
 *   GET    /api/v1/images/{key}/versions/{ref}/manifest   the manifest (binary)
 *   PUT    /api/v1/images/{key}/tags/{tag}                {"version": REF}
 *   DELETE /api/v1/images/{key}/tags/{tag}
 *   GET    /api/v1/images/{key}/diff?a=REF&b=REF[&b_image=NAME]
 *   GET    /api/v1/images/{key}/postsync                  the post-sync script
 *   POST   /api/v1/images/{key}/uploads                   body: a manifest
 *   GET    /api/v1/uploads/{id}                           what is still missing
 *   DELETE /api/v1/uploads/{id}
 *   POST   /api/v1/uploads/{id}/commit                    {note?, tags?}
 *   PUT    /api/v1/chunks/{id}                            body: a zstd frame
 *   GET    /api/v1/chunks/{id}                            the stored zstd frame
 *   GET    /api/v1/imagestore                             totals
 *   POST   /api/v1/imagestore/verify[?image=NAME]
 *   POST   /api/v1/imagestore/gc[?dry_run=1]
 *
 * The rules (what may run at the same time, what is verified when) are in
 * src/image/imagesvc.c; this file only speaks HTTP.
 */
#include "api.h"

#include "core/str.h"
#include "model/startconf.h"
#include "model/steps.h"
#include "image/imagesvc.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MANIFEST_CTYPE "application/vnd.bootherd.manifest"

static struct bh_imagesvc *svc_of(struct bh_req *r)
{
    struct bh_imagesvc *s = bh_api_ctx(r)->images;
    if (!s)
        bh_reply_problem(r, 503, "unavailable", "Image store unavailable",
                         "the image store could not be opened; see the server log", NULL);
    return s;
}

static bool id_param(struct bh_req *r, const char *name, uint8_t id[BH_SHA256_LEN])
{
    const char *hex = bh_req_param(r, name);
    if (hex && bh_parse_id(hex, id))
        return true;
    bh_reply_problem(r, 400, "bad-id", "Bad chunk id",
                     "a chunk id is 64 lowercase hex digits (the SHA-256 of the chunk)", name);
    return false;
}

/* tag names: a letter or digit, then letters, digits, '.', '_', '-' (at
 * most 64); not all digits, which would read as a version number */
static bool tag_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 64)
        return false;
    bool digits = true;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
        digits = digits && c >= '0' && c <= '9';
    }
    return !digits;
}

static bool may_write_image(struct bh_req *r, const char *image);
static bool may_touch_upload(struct bh_req *r);
static bool may(struct bh_req *r, const char *image, enum bh_role role);

static void reply_rc(struct bh_req *r, int rc, const struct bh_err *e, int status, json_t *out)
{
    if (rc)
        bh_reply_err(r, e);
    else
        bh_reply_json(r, status, out);
}

/* oldest first; the cursor is the offset of the next page */
void bh_h_image_versions(struct bh_req *r)
{
    struct bh_err e;
    json_t *out = NULL;
    int64_t limit = BH_LIST_MAX, off = 0;
    const char *l = bh_req_query(r, "limit");
    if (l && bh_parse_i64(l, 1, BH_LIST_MAX, &limit)) {
        bh_reply_problem(r, 400, "invalid-query", "Bad request", "limit must be 1..1000", "limit");
        return;
    }
    if (bh_api_after(r, 0, INT64_MAX / 2, &off) < 0)
        return;
    int rc = bh_store_versions(bh_api_ctx(r)->store, bh_req_param(r, "key"), &out, &e);
    if (rc) {
        bh_reply_err(r, &e);
        return;
    }
    json_t *page = json_array();
    size_t n = json_array_size(out);
    for (size_t i = (size_t)off; i < n && (int64_t)json_array_size(page) < limit; i++)
        json_array_append(page, json_array_get(out, i));
    int64_t next = off + (int64_t)json_array_size(page);
    json_decref(out);
    bh_reply_json(r, 200, bh_api_page(page, next < (int64_t)n ? next : -1));
}

void bh_h_image_version(struct bh_req *r)
{
    struct bh_err e;
    json_t *out = NULL;
    int rc = bh_store_version_get(bh_api_ctx(r)->store, bh_req_param(r, "key"),
                                  bh_req_param(r, "ref"), &out, &e);
    reply_rc(r, rc, &e, 200, out);
}

void bh_h_image_version_delete(struct bh_req *r)
{
    struct bh_err e;
    struct bh_actor a = bh_api_actor(r);
    if (bh_store_version_delete(bh_api_ctx(r)->store, bh_req_param(r, "key"),
                                bh_req_param(r, "ref"), &a, &e))
        bh_reply_err(r, &e);
    else
        bh_reply_empty(r, 204);
}

void bh_h_image_promote(struct bh_req *r)
{
    struct bh_err e;
    struct bh_actor a = bh_api_actor(r);
    json_t *out = NULL;
    int rc = bh_store_version_promote(bh_api_ctx(r)->store, bh_req_param(r, "key"),
                                      bh_req_param(r, "ref"), &a, &out, &e);
    reply_rc(r, rc, &e, 200, out);
}

/* viewers read any version's manifest; a host (which deploys what it
 * reads) only a released version's */
void bh_h_image_manifest(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    if (!svc || !bh_api_may_read_image(r, bh_req_param(r, "key")))
        return;
    bool released_only = bh_req_auth(r)->role < BH_ROLE_VIEWER;
    struct bh_buf b;
    bh_buf_init(&b, (size_t)1 << 34);
    char hex[BH_SHA256_HEX], etag[BH_SHA256_HEX + 2];
    struct bh_err e;
    if (bh_imagesvc_manifest(svc, bh_req_param(r, "key"), bh_req_param(r, "ref"), released_only, &b,
                             hex, &e)) {
        bh_buf_free(&b);
        bh_reply_err(r, &e);
        return;
    }
    snprintf(etag, sizeof(etag), "\"%s\"", hex);
    bh_reply_header(r, "ETag", etag);
    bh_reply_header(r, "X-Manifest-Id", hex);
    bh_reply(r, 200, MANIFEST_CTYPE, b.p, b.len);
    bh_buf_free(&b);
}

void bh_h_image_tag_put(struct bh_req *r)
{
    const char *tag = bh_req_param(r, "tag");
    if (!tag_ok(tag)) {
        bh_reply_problem(r, 400, "bad-tag", "Bad tag name",
                         "a tag is 1-64 letters, digits, '.', '_' or '-', starts with a letter "
                         "or digit, and is not only digits",
                         "tag");
        return;
    }
    json_t *body = bh_req_json(r);
    if (!body)
        return;
    json_t *v = json_object_get(body, "version");
    char ref[32];
    if (json_is_integer(v) && json_integer_value(v) > 0)
        snprintf(ref, sizeof(ref), "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) < sizeof(ref))
        bh_strlcpy(ref, json_string_value(v), sizeof(ref));
    else {
        json_decref(body);
        bh_reply_problem(r, 400, "invalid", "Bad version",
                         "\"version\" is a version number or a tag", "version");
        return;
    }
    json_decref(body);
    struct bh_err e;
    struct bh_actor a = bh_api_actor(r);
    json_t *out = NULL;
    int rc = bh_store_tag_set(bh_api_ctx(r)->store, bh_req_param(r, "key"), tag, ref, &a, &out, &e);
    reply_rc(r, rc, &e, 200, out);
}

void bh_h_image_tag_delete(struct bh_req *r)
{
    struct bh_err e;
    struct bh_actor a = bh_api_actor(r);
    if (bh_store_tag_delete(bh_api_ctx(r)->store, bh_req_param(r, "key"), bh_req_param(r, "tag"),
                            &a, &e))
        bh_reply_err(r, &e);
    else
        bh_reply_empty(r, 204);
}

void bh_h_image_diff(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    if (!svc)
        return;
    const char *img = bh_req_param(r, "key");
    const char *a = bh_req_query(r, "a"), *b = bh_req_query(r, "b");
    const char *bimg = bh_req_query(r, "b_image");
    if (!a || !b) {
        bh_reply_problem(r, 400, "invalid", "Missing versions",
                         "give the two versions as ?a=REF&b=REF (numbers or tags)", "a");
        return;
    }
    struct bh_err e;
    json_t *out = NULL;
    int rc = bh_imagesvc_diff(svc, img, a, bimg ? bimg : img, b, &out, &e);
    reply_rc(r, rc, &e, 200, out);
}

/* the script postsync:N runs (text; 204 when the image has none): for
 * viewers and for the hosts whose group uses the image */
void bh_h_image_postsync(struct bh_req *r)
{
    const char *name = bh_req_param(r, "key");
    if (!bh_api_may_read_image(r, name))
        return;
    json_t *img = NULL;
    struct bh_err e;
    if (bh_store_get(bh_api_ctx(r)->store, bh_kind_get(BH_KIND_IMAGE), name, &img, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    const char *script = json_string_value(json_object_get(img, "postsync"));
    if (script && *script)
        bh_reply(r, 200, "text/x-shellscript; charset=utf-8", script, strlen(script));
    else
        bh_reply_empty(r, 204);
    json_decref(img);
}

void bh_h_upload_begin(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    if (!svc || !may_write_image(r, bh_req_param(r, "key")))
        return;
    size_t len;
    const char *body = bh_req_body(r, &len);
    struct bh_err e;
    struct bh_actor a = bh_api_actor(r);
    json_t *out = NULL;
    int rc = bh_imagesvc_upload_begin(svc, bh_req_param(r, "key"), (const uint8_t *)body, len, &a,
                                      &out, &e);
    reply_rc(r, rc, &e, rc ? 0 : json_is_true(json_object_get(out, "resumed")) ? 200 : 201, out);
}

void bh_h_upload_get(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    if (!svc || !may_touch_upload(r))
        return;
    struct bh_err e;
    json_t *out = NULL;
    int rc = bh_imagesvc_upload_status(svc, bh_req_param(r, "id"), &out, &e);
    reply_rc(r, rc, &e, 200, out);
}

void bh_h_upload_delete(struct bh_req *r)
{
    struct bh_err e;
    if (!may_touch_upload(r))
        return;
    if (bh_store_upload_delete(bh_api_ctx(r)->store, bh_req_param(r, "id"), &e))
        bh_reply_err(r, &e);
    else
        bh_reply_empty(r, 204);
}

void bh_h_upload_commit(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    if (!svc || !may_touch_upload(r))
        return;
    size_t len;
    bh_req_body(r, &len);
    json_t *body = len ? bh_req_json(r) : json_object();
    if (!body)
        return;
    const json_t *note = json_object_get(body, "note"), *tags = json_object_get(body, "tags");
    bool agent = bh_req_auth(r)->role < BH_ROLE_OPERATOR; /* may_touch_upload let a host in */
    if (agent && json_array_size(tags)) {
        json_decref(body);
        bh_reply_problem(r, 403, "forbidden", "Agents may not set tags",
                         "client agents may not set tags: where a tag points is an operator's "
                         "decision (promote the captured version, then tag it)",
                         "tags");
        return;
    }
    size_t i;
    json_t *t;
    const char *bad = NULL;
    if (note && !json_is_string(note) && !json_is_null(note))
        bad = "note";
    if (tags && !json_is_array(tags))
        bad = "tags";
    json_array_foreach(tags, i, t)
    {
        if (!json_is_string(t) || !tag_ok(json_string_value(t)))
            bad = "tags";
    }
    if (bad) {
        json_decref(body);
        bh_reply_problem(r, 400, "invalid", "Bad commit",
                         "\"note\" is a string; \"tags\" a list of tag names (1-64 letters, "
                         "digits, '.', '_' or '-', not only digits)",
                         bad);
        return;
    }
    struct bh_err e;
    struct bh_actor a = bh_api_actor(r);
    json_t *out = NULL;
    int rc = bh_imagesvc_commit(svc, bh_req_param(r, "id"), body, agent, &a, &out, &e);
    json_decref(body);
    reply_rc(r, rc, &e, 201, out);
}

void bh_h_chunk_put(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    uint8_t id[BH_SHA256_LEN];
    if (!svc || !may_write_image(r, NULL) || !id_param(r, "id", id))
        return;
    size_t len;
    const char *body = bh_req_body(r, &len);
    struct bh_err e;
    bool added = false;
    if (bh_imagesvc_put_chunk(svc, id, body, len, &added, &e))
        bh_reply_err(r, &e);
    else
        bh_reply_empty(r, added ? 201 : 200);
}

void bh_h_chunk_get(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    uint8_t id[BH_SHA256_LEN];
    if (!svc || !bh_api_may_read_image(r, NULL) || !id_param(r, "id", id))
        return;
    char etag[BH_SHA256_HEX + 2];
    snprintf(etag, sizeof(etag), "\"%s\"", bh_req_param(r, "id"));
    bh_reply_header(r, "ETag", etag);
    bh_reply_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    const char *inm = bh_req_header(r, "If-None-Match");
    int fd;
    uint64_t zsize;
    struct bh_err e;
    if (bh_imagesvc_chunk_fd(svc, id, &fd, &zsize, &e)) {
        bh_reply_err(r, &e);
        return;
    }
    if (inm && strstr(inm, etag)) {
        close(fd);
        bh_reply_empty(r, 304);
        return;
    }
    bh_reply_fd(r, 200, "application/zstd", fd, 0, zsize);
}

void bh_h_imagestore(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    if (!svc)
        return;
    struct bh_err e;
    json_t *out = NULL;
    int rc = bh_imagesvc_stats(svc, &out, &e);
    reply_rc(r, rc, &e, 200, out);
}

void bh_h_imagestore_verify(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    if (!svc)
        return;
    struct bh_err e;
    json_t *out = NULL;
    int rc = bh_imagesvc_verify(svc, bh_req_query(r, "image"), &out, &e);
    reply_rc(r, rc, &e, 200, out);
}

void bh_h_imagestore_gc(struct bh_req *r)
{
    struct bh_imagesvc *svc = svc_of(r);
    if (!svc)
        return;
    const char *dr = bh_req_query(r, "dry_run");
    bool dry = dr && (!strcmp(dr, "1") || !strcmp(dr, "true"));
    struct bh_err e;
    json_t *out = NULL;
    int rc = bh_imagesvc_gc(svc, dry, &out, &e);
    reply_rc(r, rc, &e, 200, out);
}

/* the image names a group's OS entries use: base_image "win10.qcow2",
 * "win10@stable" or "win10" all name image win10 */
static bool group_uses(const json_t *group, const char *image)
{
    return bh_startconf_uses_image(json_object_get(group, "config"), image);
}

/* Does this host's group use the image?  (A client agent's host token.) */
static bool host_uses(struct bh_req *r, const char *mac, const char *image)
{
    struct bh_store *st = bh_api_ctx(r)->store;
    json_t *host = NULL, *group = NULL;
    bool ok = false;
    if (bh_store_get(st, bh_kind_get(BH_KIND_HOST), mac, &host, NULL) == 0) {
        const char *g = json_string_value(json_object_get(host, "group"));
        if (g && bh_store_get(st, bh_kind_get(BH_KIND_GROUP), g, &group, NULL) == 0)
            ok = group_uses(group, image);
    }
    json_decref(host);
    json_decref(group);
    return ok;
}

/* role, or a host token whose group uses image (NULL: chunks, which are
 * named by their content and good for any host) */
static bool may(struct bh_req *r, const char *image, enum bh_role role)
{
    const struct bh_auth *a = bh_req_auth(r);
    if (a->role >= role)
        return true;
    if (a->host[0] && (!image || host_uses(r, a->host, image)))
        return true;
    bh_reply_problem(r, 403, "forbidden", "Forbidden",
                     a->host[0]               ? "this host's group does not use that image"
                     : role == BH_ROLE_VIEWER ? "this needs the viewer role"
                                              : "this needs the operator role",
                     NULL);
    return false;
}

bool bh_api_may_read_image(struct bh_req *r, const char *image)
{
    return may(r, image, BH_ROLE_VIEWER);
}

/* The image OS n of the host's group names (its BaseImage without
 * ".qcow2" or "@ref") into out; false if none. */
static bool os_image(struct bh_req *r, const char *mac, int n, char *out, size_t cap)
{
    struct bh_store *st = bh_api_ctx(r)->store;
    json_t *host = NULL, *group = NULL;
    bool ok = false;
    if (bh_store_get(st, bh_kind_get(BH_KIND_HOST), mac, &host, NULL) == 0 &&
        json_string_value(json_object_get(host, "group")) &&
        bh_store_get(st, bh_kind_get(BH_KIND_GROUP),
                     json_string_value(json_object_get(host, "group")), &group, NULL) == 0) {
        const json_t *os = json_array_get(json_object_get(json_object_get(group, "config"), "os"),
                                          (size_t)(n - 1));
        ok = bh_startconf_image(json_string_value(json_object_get(os, "base_image")), out, cap,
                                NULL, 0);
    }
    json_decref(host);
    json_decref(group);
    return ok;
}

/* create_image:N: a host token uploads a new version of OS N's image, and
 * only while its session runs that step (image NULL: a chunk, for the
 * step's image); operators upload any */
static bool may_write_image(struct bh_req *r, const char *image)
{
    const struct bh_auth *a = bh_req_auth(r);
    if (a->role >= BH_ROLE_OPERATOR)
        return true;
    json_t *t = NULL;
    struct bh_err e;
    bool ok = false;
    char want[256] = "";
    if (a->host[0] &&
        bh_store_task_find(bh_api_ctx(r)->store, a->host, "create_image:", false, &t, &e) == 0 &&
        json_is_object(t)) {
        struct bh_step s;
        const char *claim = json_string_value(json_object_get(t, "claim"));
        ok = claim && !strcmp(claim, a->token_id) &&
             bh_step_parse(json_string_value(json_object_get(t, "step")), &s, NULL) == 0 &&
             os_image(r, a->host, s.os, want, sizeof(want)) && (!image || !strcmp(image, want));
    }
    json_decref(t);
    if (!ok)
        bh_reply_problem(r, 403, "forbidden", "Forbidden",
                         a->host[0] ? "a host uploads only the image of the create_image step "
                                      "its agent session runs, while it runs it"
                                    : "this needs the operator role",
                         NULL);
    return ok;
}

/* an upload belongs to its image: a host may touch it when it may write that */
static bool may_touch_upload(struct bh_req *r)
{
    const struct bh_auth *a = bh_req_auth(r);
    if (a->role >= BH_ROLE_OPERATOR)
        return true;
    json_t *up = NULL;
    struct bh_err e;
    if (a->host[0] && bh_store_upload_get(bh_api_ctx(r)->store, bh_req_param(r, "id"), &up, &e)) {
        bh_reply_err(r, &e);
        return false;
    }
    bool ok = may_write_image(r, a->host[0] ? json_string_value(json_object_get(up, "image")) : "");
    json_decref(up);
    return ok;
}
