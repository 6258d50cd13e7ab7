/*
 * backend.h - what a store backend provides (internal to src/store).
 *
 * store.c owns struct bh_store, counts operations and calls the backend
 * through this table; a backend calls bh__store_notify after each commit.
 */
#ifndef BH_STORE_BACKEND_H
#define BH_STORE_BACKEND_H

#include "leases.h"
#include "store.h"

struct bh_store_backend {
    const char *name;
    int (*open)(struct bh_store *owner, const struct bh_store_config *cfg, void **impl,
                struct bh_err *err);
    void (*close)(void *impl);
    int (*ping)(void *impl, struct bh_err *err);
    int64_t (*revision)(void *impl);
    int (*schema_version)(void *impl);
    int (*get)(void *impl, const struct bh_kind_desc *k, const char *key, json_t **out,
               struct bh_err *err);
    int (*list)(void *impl, const struct bh_list_query *q, struct bh_list_result *res,
                struct bh_err *err);
    int (*create)(void *impl, const struct bh_kind_desc *k, const json_t *doc,
                  const struct bh_actor *a, json_t **out, struct bh_err *err);
    int (*update)(void *impl, const struct bh_kind_desc *k, const char *key, bh_store_modify_fn fn,
                  void *ud, int64_t if_rev, unsigned flags, const struct bh_actor *a, json_t **out,
                  struct bh_err *err);
    int (*update_many)(void *impl, const struct bh_kind_desc *k, const json_t *keys,
                       bh_store_modify_fn fn, void *ud, unsigned flags, const struct bh_actor *a,
                       json_t **out, struct bh_err *err);
    int (*put_many)(void *impl, struct bh_store_put *puts, size_t n, unsigned flags,
                    const struct bh_actor *a, bh_store_put_err_fn on_err, void *ud,
                    struct bh_err *err);
    int (*del)(void *impl, const struct bh_kind_desc *k, const char *key, int64_t if_rev,
               const struct bh_actor *a, struct bh_err *err);
    int (*events)(void *impl, int64_t since, int limit, json_t **events, struct bh_err *err);
    int (*event_append)(void *impl, const char *kind, const char *key, const char *type,
                        const json_t *data, const struct bh_actor *a, bool audit, int64_t *rev,
                        struct bh_err *err);
    int (*event_append_many)(void *impl, const json_t *events, const struct bh_actor *a,
                             struct bh_err *err);
    int (*events_of)(void *impl, const char *kind, const char *key, int64_t before, int limit,
                     json_t **events, struct bh_err *err);
    int (*audit)(void *impl, const struct bh_audit_query *q, json_t **items, struct bh_err *err);
    int (*token_lookup)(void *impl, const char *tid, struct bh_token_info *out, struct bh_err *err);
    int (*version_create)(void *impl, const struct bh_version_new *v, const struct bh_actor *a,
                          json_t **out, struct bh_err *err);
    int (*version_get)(void *impl, const char *image, const char *ref, json_t **out,
                       struct bh_err *err);
    int (*versions)(void *impl, const char *image, json_t **out, struct bh_err *err);
    int (*version_promote)(void *impl, const char *image, const char *ref, const struct bh_actor *a,
                           json_t **out, struct bh_err *err);
    int (*tag_set)(void *impl, const char *image, const char *tag, const char *ref,
                   const struct bh_actor *a, json_t **out, struct bh_err *err);
    int (*tag_delete)(void *impl, const char *image, const char *tag, const struct bh_actor *a,
                      struct bh_err *err);
    int (*version_delete)(void *impl, const char *image, const char *ref, const struct bh_actor *a,
                          struct bh_err *err);
    int (*upload_create)(void *impl, const char *image, const char *manifest, int64_t expires_ms,
                         const struct bh_actor *a, json_t **out, struct bh_err *err);
    int (*upload_get)(void *impl, const char *id, json_t **out, struct bh_err *err);
    int (*upload_delete)(void *impl, const char *id, struct bh_err *err);
    int (*image_roots)(void *impl, int64_t now_ms, bool uploads, json_t **manifests,
                       struct bh_err *err);
    int (*version_set_new_bytes)(void *impl, const char *image, int64_t version, uint64_t new_bytes,
                                 struct bh_err *err);
    int (*versions_without_new_bytes)(void *impl, json_t **out, struct bh_err *err);
    int (*summary)(void *impl, const char *room, json_t **out, struct bh_err *err);
    int (*hosts_activity)(void *impl, const json_t *macs, json_t **out, struct bh_err *err);
    int (*images_usage)(void *impl, const json_t *names, json_t **out, struct bh_err *err);
    int (*job_create)(void *impl, const json_t *spec, const json_t *macs, const struct bh_actor *a,
                      json_t **out, struct bh_err *err);
    int (*job_get)(void *impl, int64_t id, json_t **out, struct bh_err *err);
    int (*jobs)(void *impl, int64_t before, int limit, json_t **out, struct bh_err *err);
    int (*job_edit)(void *impl, int64_t job, int64_t task, bh_job_edit_fn edit, void *ctx,
                    const struct bh_actor *a, json_t **out, struct bh_err *err);
    int (*job_tasks)(void *impl, int64_t job, struct bh_job_tasks *out, struct bh_err *err);
    int (*host_open_jobs)(void *impl, const char *mac, json_t **out, struct bh_err *err);
    int (*task_find)(void *impl, const char *mac, const char *prefix, bool queued, json_t **out,
                     struct bh_err *err);
    int (*jobs_wake_due)(void *impl, int64_t now_ms, json_t **ids, struct bh_err *err);
    int (*job_woken)(void *impl, int64_t id, const json_t *report, const struct bh_actor *a,
                     json_t **out, struct bh_err *err);
    int (*agent_login)(void *impl, const struct bh_agent_login *l, struct bh_err *err);
    int (*agent_session)(void *impl, const char *tid, char mac[BH_MAC_STRLEN], char hash[65],
                         int64_t *expires_ms, struct bh_err *err);
    int (*agent_renew)(void *impl, const char *tid, int64_t expires_ms, struct bh_err *err);
    int (*agent_end)(void *impl, const char *mac, int64_t boot_ms, struct bh_err *err);
    int (*session_create)(void *impl, const struct bh_session_new *n, const struct bh_actor *a,
                          struct bh_err *err);
    int (*session_get)(void *impl, const char *hash, struct bh_session_info *out,
                       struct bh_err *err);
    int (*session_touch)(void *impl, const char *hash, int64_t now_ms, struct bh_err *err);
    int (*session_end)(void *impl, const char *hash, const char *token_name,
                       const struct bh_actor *a, struct bh_err *err);
};

extern const struct bh_store_backend bh__sqlite_backend;

void bh__store_notify(struct bh_store *s, int64_t rev);

/* The lease rows (leases.h): the backend's connection to the lease
 * database, used by one thread at a time (leases.c's writer once it runs).
 * apply writes v[0..n) (puts and deletes) in one transaction, all or
 * nothing. */
struct bh__lease_rows;
int bh__sq_lease_open(const char *path, struct bh__lease_rows **out, struct bh_err *err);
int bh__sq_lease_load(struct bh__lease_rows *l, int (*cb)(void *ud, const struct bh_lease_rec *r),
                      void *ud, struct bh_err *err);
int bh__sq_lease_apply(struct bh__lease_rows *l, const struct bh_lease_rec *v, size_t n,
                       struct bh_err *err);
void bh__sq_lease_close(struct bh__lease_rows *l);

#endif
