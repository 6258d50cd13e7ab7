/*
 * store.c - the store front: dispatch to the backend and count operations.
 */
#include "backend.h"

#include "core/timeutil.h"

#include <stdlib.h>
#include <string.h>

struct bh_store {
    const struct bh_store_backend *be;
    void *impl;
    void (*notify)(void *ud, int64_t rev);
    void *notify_ud;
    struct bh_store_stats stats;
};

static const char *const op_names[BH_OP__COUNT] = {
    "get", "list", "create", "update", "delete", "events", "audit", "auth",
};

const char *bh_store_op_name(enum bh_store_op op)
{
    return (unsigned)op < BH_OP__COUNT ? op_names[op] : "unknown";
}

int bh_store_open(const struct bh_store_config *cfg, struct bh_store **out, struct bh_err *err)
{
    struct bh_store *s = calloc(1, sizeof(*s));
    if (!s)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    s->be = &bh__sqlite_backend;
    int rc = s->be->open(s, cfg, &s->impl, err);
    if (rc) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void bh_store_close(struct bh_store *s)
{
    if (!s)
        return;
    s->be->close(s->impl);
    free(s);
}

void bh_store_set_notify(struct bh_store *s, void (*fn)(void *ud, int64_t rev), void *ud)
{
    s->notify = fn;
    s->notify_ud = ud;
}

void bh__store_notify(struct bh_store *s, int64_t rev)
{
    if (s && s->notify)
        s->notify(s->notify_ud, rev);
}

const struct bh_store_stats *bh_store_get_stats(const struct bh_store *s)
{
    return &s->stats;
}

static void account(struct bh_store *s, enum bh_store_op op, uint64_t t0, int rc)
{
    atomic_fetch_add_explicit(&s->stats.count[op], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->stats.nanos[op], bh_mono_ns() - t0, memory_order_relaxed);
    /* "not found" and friends are answers, not store failures */
    if (rc == BH_EIO || rc == BH_ENOMEM || rc == BH_EBUSY || rc == BH_ESYS)
        atomic_fetch_add_explicit(&s->stats.errors[op], 1, memory_order_relaxed);
}

#define TIMED(op, call)                                                                            \
    do {                                                                                           \
        uint64_t t0_ = bh_mono_ns();                                                               \
        int rc_ = (call);                                                                          \
        account(s, op, t0_, rc_);                                                                  \
        return rc_;                                                                                \
    } while (0)

/* The rules of the version contract that need no stored state, checked
 * here once for every backend. */
static int version_new_check(const struct bh_version_new *v, struct bh_err *err)
{
    if (v->candidate && json_array_size(v->tags))
        return bh_err_set(err, BH_EINVAL, "tags",
                          "a candidate version carries no tags until it is promoted");
    size_t i;
    json_t *t;
    json_array_foreach(v->tags, i, t)
    {
        if (json_is_string(t) && !strcmp(json_string_value(t), BH_TAG_LATEST))
            return bh_err_set(err, BH_EINVAL, "tags",
                              "'latest' is kept by bootherd (the highest released version); "
                              "it cannot be given");
    }
    return 0;
}

static int latest_by_hand(const char *tag, struct bh_err *err)
{
    if (strcmp(tag, BH_TAG_LATEST))
        return 0;
    return bh_err_sett(err, BH_ECONFLICT, "latest-is-kept", "tag",
                       "'latest' always names the highest released version; bootherd moves it, "
                       "it cannot be set or removed by hand");
}

int bh_store_version_create(struct bh_store *s, const struct bh_version_new *v,
                            const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    int rc = version_new_check(v, err);
    if (rc)
        return rc;
    TIMED(BH_OP_CREATE, s->be->version_create(s->impl, v, a, out, err));
}

int bh_store_version_promote(struct bh_store *s, const char *image, const char *ref,
                             const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_UPDATE, s->be->version_promote(s->impl, image, ref, a, out, err));
}

int bh_store_version_get(struct bh_store *s, const char *image, const char *ref, json_t **out,
                         struct bh_err *err)
{
    TIMED(BH_OP_GET, s->be->version_get(s->impl, image, ref, out, err));
}

int bh_store_versions(struct bh_store *s, const char *image, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->versions(s->impl, image, out, err));
}

int bh_store_tag_set(struct bh_store *s, const char *image, const char *tag, const char *ref,
                     const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    int rc = latest_by_hand(tag, err);
    if (rc)
        return rc;
    TIMED(BH_OP_UPDATE, s->be->tag_set(s->impl, image, tag, ref, a, out, err));
}

int bh_store_tag_delete(struct bh_store *s, const char *image, const char *tag,
                        const struct bh_actor *a, struct bh_err *err)
{
    int rc = latest_by_hand(tag, err);
    if (rc)
        return rc;
    TIMED(BH_OP_DELETE, s->be->tag_delete(s->impl, image, tag, a, err));
}

int bh_store_version_delete(struct bh_store *s, const char *image, const char *ref,
                            const struct bh_actor *a, struct bh_err *err)
{
    TIMED(BH_OP_DELETE, s->be->version_delete(s->impl, image, ref, a, err));
}

int bh_store_upload_create(struct bh_store *s, const char *image, const char *manifest,
                           int64_t expires_ms, const struct bh_actor *a, json_t **out,
                           struct bh_err *err)
{
    TIMED(BH_OP_CREATE, s->be->upload_create(s->impl, image, manifest, expires_ms, a, out, err));
}

int bh_store_upload_get(struct bh_store *s, const char *id, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_GET, s->be->upload_get(s->impl, id, out, err));
}

int bh_store_upload_delete(struct bh_store *s, const char *id, struct bh_err *err)
{
    TIMED(BH_OP_DELETE, s->be->upload_delete(s->impl, id, err));
}

int bh_store_image_roots(struct bh_store *s, int64_t now_ms, bool uploads, json_t **manifests,
                         struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->image_roots(s->impl, now_ms, uploads, manifests, err));
}

int bh_store_job_create(struct bh_store *s, const json_t *spec, const json_t *macs,
                        const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_CREATE, s->be->job_create(s->impl, spec, macs, a, out, err));
}

int bh_store_job_get(struct bh_store *s, int64_t id, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_GET, s->be->job_get(s->impl, id, out, err));
}

int bh_store_jobs(struct bh_store *s, int64_t before, int limit, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->jobs(s->impl, before, limit, out, err));
}

int bh_store_job_edit(struct bh_store *s, int64_t job, int64_t task, bh_job_edit_fn edit, void *ctx,
                      const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_UPDATE, s->be->job_edit(s->impl, job, task, edit, ctx, a, out, err));
}

int bh_store_job_tasks(struct bh_store *s, int64_t job, struct bh_job_tasks *out,
                       struct bh_err *err)
{
    TIMED(BH_OP_GET, s->be->job_tasks(s->impl, job, out, err));
}

void bh_job_tasks_free(struct bh_job_tasks *jt)
{
    json_decref(jt->spec);
    free(jt->rows);
    jt->spec = NULL;
    jt->rows = NULL;
    jt->n = 0;
}

int bh_store_host_open_jobs(struct bh_store *s, const char *mac, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_GET, s->be->host_open_jobs(s->impl, mac, out, err));
}

int bh_store_task_find(struct bh_store *s, const char *mac, const char *prefix, bool queued,
                       json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_GET, s->be->task_find(s->impl, mac, prefix, queued, out, err));
}

int bh_store_jobs_wake_due(struct bh_store *s, int64_t now_ms, json_t **ids, struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->jobs_wake_due(s->impl, now_ms, ids, err));
}

int bh_store_job_woken(struct bh_store *s, int64_t id, const json_t *report,
                       const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_UPDATE, s->be->job_woken(s->impl, id, report, a, out, err));
}

int bh_store_agent_login(struct bh_store *s, const struct bh_agent_login *l, struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->agent_login(s->impl, l, err));
}

int bh_store_agent_renew(struct bh_store *s, const char *tid, int64_t expires_ms,
                         struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->agent_renew(s->impl, tid, expires_ms, err));
}

int bh_store_agent_end(struct bh_store *s, const char *mac, int64_t boot_ms, struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->agent_end(s->impl, mac, boot_ms, err));
}

int bh_store_agent_session(struct bh_store *s, const char *tid, char mac[BH_MAC_STRLEN],
                           char hash[65], int64_t *expires_ms, struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->agent_session(s->impl, tid, mac, hash, expires_ms, err));
}

int bh_store_session_create(struct bh_store *s, const struct bh_session_new *n,
                            const struct bh_actor *a, struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->session_create(s->impl, n, a, err));
}

int bh_store_session_get(struct bh_store *s, const char *hash, struct bh_session_info *out,
                         struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->session_get(s->impl, hash, out, err));
}

int bh_store_session_touch(struct bh_store *s, const char *hash, int64_t now_ms, struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->session_touch(s->impl, hash, now_ms, err));
}

int bh_store_session_end(struct bh_store *s, const char *hash, const char *token_name,
                         const struct bh_actor *a, struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->session_end(s->impl, hash, token_name, a, err));
}

int bh_store_ping(struct bh_store *s, struct bh_err *err)
{
    return s->be->ping(s->impl, err);
}

int64_t bh_store_revision(struct bh_store *s)
{
    return s->be->revision(s->impl);
}

int bh_store_schema_version(struct bh_store *s)
{
    return s->be->schema_version(s->impl);
}

int bh_store_get(struct bh_store *s, const struct bh_kind_desc *k, const char *key, json_t **out,
                 struct bh_err *err)
{
    TIMED(BH_OP_GET, s->be->get(s->impl, k, key, out, err));
}

int bh_store_list(struct bh_store *s, const struct bh_list_query *q, struct bh_list_result *res,
                  struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->list(s->impl, q, res, err));
}

int bh_store_create(struct bh_store *s, const struct bh_kind_desc *k, const json_t *doc,
                    const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_CREATE, s->be->create(s->impl, k, doc, a, out, err));
}

static json_t *given_doc(void *ud, const json_t *cur, struct bh_err *err)
{
    (void)cur;
    (void)err;
    return json_incref(ud);
}

int bh_store_update(struct bh_store *s, const struct bh_kind_desc *k, const char *key,
                    const json_t *doc, int64_t if_rev, unsigned flags, const struct bh_actor *a,
                    json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_UPDATE,
          s->be->update(s->impl, k, key, given_doc, (void *)doc, if_rev, flags, a, out, err));
}

int bh_store_modify(struct bh_store *s, const struct bh_kind_desc *k, const char *key,
                    bh_store_modify_fn fn, void *ud, int64_t if_rev, unsigned flags,
                    const struct bh_actor *a, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_UPDATE, s->be->update(s->impl, k, key, fn, ud, if_rev, flags, a, out, err));
}

int bh_store_modify_many(struct bh_store *s, const struct bh_kind_desc *k, const json_t *keys,
                         bh_store_modify_fn fn, void *ud, unsigned flags, const struct bh_actor *a,
                         json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_UPDATE, s->be->update_many(s->impl, k, keys, fn, ud, flags, a, out, err));
}

int bh_store_put_many(struct bh_store *s, struct bh_store_put *puts, size_t n, unsigned flags,
                      const struct bh_actor *a, bh_store_put_err_fn on_err, void *ud,
                      struct bh_err *err)
{
    TIMED(BH_OP_UPDATE, s->be->put_many(s->impl, puts, n, flags, a, on_err, ud, err));
}

int bh_store_version_set_new_bytes(struct bh_store *s, const char *image, int64_t version,
                                   uint64_t new_bytes, struct bh_err *err)
{
    TIMED(BH_OP_UPDATE, s->be->version_set_new_bytes(s->impl, image, version, new_bytes, err));
}

int bh_store_versions_without_new_bytes(struct bh_store *s, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->versions_without_new_bytes(s->impl, out, err));
}

int bh_store_summary(struct bh_store *s, const char *room, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->summary(s->impl, room, out, err));
}

int bh_store_hosts_activity(struct bh_store *s, const json_t *macs, json_t **out,
                            struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->hosts_activity(s->impl, macs, out, err));
}

int bh_store_images_usage(struct bh_store *s, const json_t *names, json_t **out, struct bh_err *err)
{
    TIMED(BH_OP_LIST, s->be->images_usage(s->impl, names, out, err));
}

int bh_store_delete(struct bh_store *s, const struct bh_kind_desc *k, const char *key,
                    int64_t if_rev, const struct bh_actor *a, struct bh_err *err)
{
    TIMED(BH_OP_DELETE, s->be->del(s->impl, k, key, if_rev, a, err));
}

int bh_store_events(struct bh_store *s, int64_t since, int limit, json_t **events,
                    struct bh_err *err)
{
    TIMED(BH_OP_EVENTS, s->be->events(s->impl, since, limit, events, err));
}

int bh_store_event_append(struct bh_store *s, const char *kind, const char *key, const char *type,
                          const json_t *data, const struct bh_actor *a, bool audit, int64_t *rev,
                          struct bh_err *err)
{
    TIMED(BH_OP_CREATE, s->be->event_append(s->impl, kind, key, type, data, a, audit, rev, err));
}

int bh_store_event_append_many(struct bh_store *s, const json_t *events, const struct bh_actor *a,
                               struct bh_err *err)
{
    TIMED(BH_OP_CREATE, s->be->event_append_many(s->impl, events, a, err));
}

int bh_store_events_of(struct bh_store *s, const char *kind, const char *key, int64_t before,
                       int limit, json_t **events, struct bh_err *err)
{
    TIMED(BH_OP_EVENTS, s->be->events_of(s->impl, kind, key, before, limit, events, err));
}

int bh_store_audit(struct bh_store *s, const struct bh_audit_query *q, json_t **items,
                   struct bh_err *err)
{
    TIMED(BH_OP_AUDIT, s->be->audit(s->impl, q, items, err));
}

int bh_store_token_lookup(struct bh_store *s, const char *tid, struct bh_token_info *out,
                          struct bh_err *err)
{
    TIMED(BH_OP_AUTH, s->be->token_lookup(s->impl, tid, out, err));
}
