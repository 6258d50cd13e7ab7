/*
 * bootview.c - the in-memory view of hosts, groups, profiles and settings.
 */
#include "bootview.h"

#include "core/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PAGE  1000
#define BATCH 1000

struct bh_bootview {
    pthread_mutex_t mu;
    json_t *hosts;     /* mac -> host */
    json_t *by_serial; /* serial -> mac */
    json_t *by_name;   /* name -> mac */
    json_t *groups;    /* name -> group */
    json_t *profiles;  /* name -> profile */
    json_t *settings;  /* the "boot" settings object */
    int64_t rev;
};

struct bh_bootview *bh_bootview_new(void)
{
    struct bh_bootview *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    pthread_mutex_init(&v->mu, NULL);
    v->hosts = json_object();
    v->by_serial = json_object();
    v->by_name = json_object();
    v->groups = json_object();
    v->profiles = json_object();
    v->settings = json_object();
    if (!v->hosts || !v->by_serial || !v->by_name || !v->groups || !v->profiles || !v->settings) {
        bh_bootview_free(v);
        return NULL;
    }
    return v;
}

void bh_bootview_free(struct bh_bootview *v)
{
    if (!v)
        return;
    json_decref(v->hosts);
    json_decref(v->by_serial);
    json_decref(v->by_name);
    json_decref(v->groups);
    json_decref(v->profiles);
    json_decref(v->settings);
    pthread_mutex_destroy(&v->mu);
    free(v);
}

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

/* under mu: drop index[key] if it points at mac */
static void unindex(json_t *index, const char *key, const char *mac)
{
    const char *cur = key ? json_string_value(json_object_get(index, key)) : NULL;
    if (cur && !strcmp(cur, mac))
        json_object_del(index, key);
}

/* under mu: forget a host and its secondary keys */
static void unindex_host(struct bh_bootview *v, const char *mac)
{
    json_t *old = json_object_get(v->hosts, mac);
    if (!old)
        return;
    unindex(v->by_serial, sget(old, "serial"), mac);
    unindex(v->by_name, sget(old, "name"), mac);
    json_object_del(v->hosts, mac);
}

/* under mu: put (obj != NULL) or drop one object.  Returns true when the
 * view must be reloaded: a group or profile renamed (it arrives as an update
 * under the new name), or a room changed (hosts show room names). */
static bool apply(struct bh_bootview *v, const char *kind, const char *key, json_t *obj,
                  bool update)
{
    json_t *map = !strcmp(kind, "group")     ? v->groups
                  : !strcmp(kind, "profile") ? v->profiles
                                             : NULL;
    if (!strcmp(kind, "host")) {
        unindex_host(v, key);
        if (!obj)
            return false;
        json_object_set(v->hosts, key, obj);
        const char *serial = sget(obj, "serial"), *name = sget(obj, "name");
        if (serial)
            json_object_set_new(v->by_serial, serial, json_string(key));
        if (name)
            json_object_set_new(v->by_name, name, json_string(key));
    } else if (!strcmp(kind, "settings")) {
        json_decref(v->settings);
        v->settings = obj ? json_incref(obj) : json_object();
    } else if (map) {
        if (update && !json_object_get(map, key))
            return true;
        if (obj)
            json_object_set(map, key, obj);
        else
            json_object_del(map, key);
    } else if (!strcmp(kind, "room") && update) {
        return true;
    }
    return false;
}

static int load_kind(struct bh_bootview *v, struct bh_store *s, enum bh_kind kind,
                     struct bh_err *err)
{
    const struct bh_kind_desc *k = bh_kind_get(kind);
    struct bh_list_query q = {.kind = k, .limit = PAGE};
    q.sort[0].field = bh_kind_field(k, k->default_sort);
    q.nsort = 1;
    for (;;) {
        struct bh_list_result res;
        int rc = bh_store_list(s, &q, &res, err);
        if (rc)
            return rc;
        size_t i;
        json_t *o;
        pthread_mutex_lock(&v->mu);
        json_array_foreach(res.items, i, o)
        {
            const char *key = kind == BH_KIND_HOST ? sget(o, "mac") : sget(o, "name");
            if (key)
                apply(v, k->name, key, o, false);
        }
        pthread_mutex_unlock(&v->mu);
        size_t n = json_array_size(res.items);
        json_decref(res.items);
        if (!res.more)
            return 0;
        q.offset += (int64_t)n;
    }
}

int bh_bootview_load(struct bh_bootview *v, struct bh_store *s, struct bh_err *err)
{
    int64_t rev = bh_store_revision(s); /* events after this are applied later */
    pthread_mutex_lock(&v->mu);
    json_object_clear(v->hosts);
    json_object_clear(v->by_serial);
    json_object_clear(v->by_name);
    json_object_clear(v->groups);
    json_object_clear(v->profiles);
    pthread_mutex_unlock(&v->mu);
    int rc = load_kind(v, s, BH_KIND_HOST, err);
    if (!rc)
        rc = load_kind(v, s, BH_KIND_GROUP, err);
    if (!rc)
        rc = load_kind(v, s, BH_KIND_PROFILE, err);
    json_t *st = NULL;
    if (!rc && bh_store_get(s, bh_kind_get(BH_KIND_SETTINGS), "boot", &st, NULL) == 0) {
        pthread_mutex_lock(&v->mu);
        apply(v, "settings", "boot", st, false);
        pthread_mutex_unlock(&v->mu);
        json_decref(st);
    }
    if (!rc) {
        pthread_mutex_lock(&v->mu);
        v->rev = rev;
        pthread_mutex_unlock(&v->mu);
    }
    return rc;
}

int bh_bootview_refresh(struct bh_bootview *v, struct bh_store *s, struct bh_err *err)
{
    for (;;) {
        int64_t since = bh_bootview_revision(v);
        if (since >= bh_store_revision(s))
            return 0;
        json_t *events;
        int rc = bh_store_events(s, since, BATCH, &events, err);
        if (rc == BH_EGONE) {
            bh_log(BH_LOG_INFO, "boot view reloads", "reason=%s", "events pruned");
            return bh_bootview_load(v, s, err);
        }
        if (rc)
            return rc;
        size_t i, n = json_array_size(events);
        json_t *ev;
        bool reload = false;
        pthread_mutex_lock(&v->mu);
        json_array_foreach(events, i, ev)
        {
            const char *kind = sget(ev, "kind"), *key = sget(ev, "key"), *type = sget(ev, "type");
            if (kind && key && type &&
                (!strcmp(type, "created") || !strcmp(type, "updated") || !strcmp(type, "deleted")))
                reload |= apply(v, kind, key,
                                strcmp(type, "deleted") ? json_object_get(ev, "data") : NULL,
                                !strcmp(type, "updated"));
            v->rev = json_integer_value(json_object_get(ev, "rev"));
        }
        pthread_mutex_unlock(&v->mu);
        json_decref(events);
        if (reload)
            return bh_bootview_load(v, s, err);
        if (n < BATCH)
            return 0;
    }
}

static json_t *get_ref(struct bh_bootview *v, json_t *map, const char *key)
{
    if (!key)
        return NULL;
    pthread_mutex_lock(&v->mu);
    json_t *o = json_incref(json_object_get(map, key));
    pthread_mutex_unlock(&v->mu);
    return o;
}

json_t *bh_bootview_host(struct bh_bootview *v, const char *mac)
{
    return get_ref(v, v->hosts, mac);
}

static json_t *host_via(struct bh_bootview *v, json_t *index, const char *key)
{
    if (!key)
        return NULL;
    pthread_mutex_lock(&v->mu);
    const char *mac = json_string_value(json_object_get(index, key));
    json_t *o = mac ? json_incref(json_object_get(v->hosts, mac)) : NULL;
    pthread_mutex_unlock(&v->mu);
    return o;
}

json_t *bh_bootview_host_by_serial(struct bh_bootview *v, const char *serial)
{
    return host_via(v, v->by_serial, serial);
}

json_t *bh_bootview_host_by_name(struct bh_bootview *v, const char *name)
{
    return host_via(v, v->by_name, name);
}

json_t *bh_bootview_group(struct bh_bootview *v, const char *name)
{
    return get_ref(v, v->groups, name);
}

json_t *bh_bootview_profile(struct bh_bootview *v, const char *name)
{
    return get_ref(v, v->profiles, name);
}

json_t *bh_bootview_settings(struct bh_bootview *v)
{
    pthread_mutex_lock(&v->mu);
    json_t *o = json_incref(v->settings);
    pthread_mutex_unlock(&v->mu);
    return o;
}

int64_t bh_bootview_revision(struct bh_bootview *v)
{
    pthread_mutex_lock(&v->mu);
    int64_t r = v->rev;
    pthread_mutex_unlock(&v->mu);
    return r;
}

void bh_bootview_each_host(struct bh_bootview *v, void (*fn)(void *ud, json_t *host), void *ud)
{
    /* copy the references out so fn runs without the lock */
    pthread_mutex_lock(&v->mu);
    size_t n = json_object_size(v->hosts), i = 0;
    json_t **all = malloc((n ? n : 1) * sizeof(*all));
    const char *k;
    json_t *o;
    if (all)
        json_object_foreach(v->hosts, k, o) all[i++] = json_incref(o);
    pthread_mutex_unlock(&v->mu);
    for (size_t j = 0; all && j < i; j++)
        fn(ud, all[j]);
    free(all);
}
