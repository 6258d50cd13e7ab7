/*
 * sqlite_batch.c - many creates and updates, of objects of any kinds, in
 * one transaction (bh_store_put_many): what an import needs, where a file
 * names rooms, groups and hosts and either all of it goes in or none.
 *
 * Each put runs in a savepoint of its own with its own revision, so a put
 * that changes nothing, or fails, is undone alone and leaves no revision
 * behind, and the next one still runs: every failure is found in one pass.
 * Owned by the store; the rules of what to write are the caller's.
 */
#include "sqlite_int.h"

#include <string.h>

/* fn for a put that leaves an existing object as it is */
static json_t *keep(void *ud, const json_t *cur, struct bh_err *err)
{
    (void)ud;
    (void)cur;
    json_t *doc = json_object();
    if (!doc)
        bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    return doc;
}

/* One put inside the transaction at revision rev; *changed when it wrote. */
static int put_one(struct sq *q, struct bh_store_put *p, const struct bh_actor *a, int64_t rev,
                   bool *changed, struct bh_err *err)
{
    json_t *obj = NULL;
    *changed = false;
    p->result = BH_PUT_UNCHANGED;
    if (!p->kind || !p->key)
        return bh_err_set(err, BH_EINVAL, NULL, "a put needs a kind and a key");
    int rc = bh__sq_update_in(q, p->kind, p->key, p->fn ? p->fn : keep, p->ud, 0,
                              p->fn ? p->flags : BH_UPD_PARTIAL, a, rev, &obj, changed, err);
    if (rc == BH_ENOTFOUND && p->create) {
        bh_err_clear(err);
        rc = bh__sq_create_in(q, p->kind, p->create, a, rev, &obj, err);
        *changed = rc == 0;
        if (!rc)
            p->result = BH_PUT_CREATED;
    } else if (!rc && *changed) {
        p->result = BH_PUT_UPDATED;
    }
    json_decref(obj);
    if (rc)
        *changed = false;
    return rc;
}

int bh__sq_put_many(void *impl, struct bh_store_put *puts, size_t n, unsigned flags,
                    const struct bh_actor *a, bh_store_put_err_fn on_err, void *ud,
                    struct bh_err *err)
{
    struct sq *q = impl;
    int64_t first, last = 0;
    int rc = bh__sq_begin(q, &first, err), failed = 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        int64_t rev = first;
        bool changed = false;
        struct bh_err pe;
        bh_err_clear(&pe);
        if ((rc = bh__sq_exec(&q->writer, "SAVEPOINT put", err)) ||
            (last && (rc = bh__sq_bump(q, &rev, err))))
            break;
        int prc = put_one(q, &puts[i], a, rev, &changed, &pe);
        if (prc == BH_EIO || prc == BH_ENOMEM) { /* the database, not the data */
            if (err)
                *err = pe;
            rc = prc;
            break;
        }
        if (changed)
            last = rev;
        rc = bh__sq_exec(&q->writer, changed ? "RELEASE put" : "ROLLBACK TO put; RELEASE put", err);
        if (rc)
            break;
        if (prc) {
            bh__sq_err_of_key(&pe, puts[i].key);
            if (!failed && err)
                *err = pe;
            if (!failed)
                failed = prc;
            if (on_err && !on_err(ud, i, &pe))
                break;
        }
    }
    if (rc || failed || !last || (flags & BH_PUT_DRY_RUN)) {
        bh__sq_rollback(q);
        return rc ? rc : failed;
    }
    return bh__sq_commit(q, last, err);
}
