/*
 * targets.c - which hosts a request names: {hosts: [name or MAC...], room,
 * group, selector}.  Every part adds hosts; each host comes once, in the
 * order the parts are read (hosts, room, group, selector; within a room,
 * group or selector by name, then MAC).  Used by jobs and Wake-on-LAN.
 */
#include "api.h"

#include "model/selector.h"

#include <stdlib.h>
#include <string.h>

/* hosts (array of host objects) and seen (mac -> true) gain host */
static void add_host(json_t *hosts, json_t *seen, json_t *host)
{
    const char *mac = json_string_value(json_object_get(host, "mac"));
    if (mac && !json_object_get(seen, mac)) {
        json_object_set_new(seen, mac, json_true());
        json_array_append(hosts, host);
    }
}

/* every host of a room or group, or picked by a selector; by name, then MAC */
static int add_matching(struct bh_store *st, const char *field, const char *value,
                        const struct bh_selector *sel, size_t max, json_t *hosts, json_t *seen,
                        struct bh_err *err)
{
    const struct bh_kind_desc *k = bh_kind_get(BH_KIND_HOST);
    struct bh_list_query q = {.kind = k, .limit = BH_LIST_MAX, .selector = sel};
    if (field) {
        q.filters[0].field = bh_kind_field(k, field);
        q.filters[0].value = value;
        q.nfilters = 1;
    }
    q.sort[0].field = bh_kind_field(k, "name");
    q.sort[1].field = bh_kind_field(k, "mac");
    q.nsort = 2;
    for (;;) {
        struct bh_list_result res = {0};
        int rc = bh_store_list(st, &q, &res, err);
        if (rc)
            return rc;
        size_t i;
        json_t *h;
        json_array_foreach(res.items, i, h) add_host(hosts, seen, h);
        size_t got = json_array_size(res.items);
        json_decref(res.items);
        if (json_array_size(hosts) > max)
            return bh_err_set(err, BH_ETOOBIG, NULL, "at most %zu hosts at once", max);
        if (!res.more)
            return 0;
        q.offset += (int64_t)got;
    }
}

static int named_hosts(struct bh_store *st, const json_t *v, size_t max, json_t *hosts,
                       json_t *seen, struct bh_err *err)
{
    size_t i;
    json_t *h;
    if (!json_is_array(v) || json_array_size(v) > max)
        return bh_err_sett(err, BH_EINVAL, "wrong-type", "hosts",
                           "\"hosts\" is a list of host names or MACs (at most %zu)", max);
    json_array_foreach(v, i, h)
    {
        json_t *host = NULL;
        if (!json_is_string(h))
            return bh_err_sett(err, BH_EINVAL, "wrong-type", "hosts",
                               "\"hosts\" is a list of host names or MACs");
        int rc = bh_store_get(st, bh_kind_get(BH_KIND_HOST), json_string_value(h), &host, err);
        if (rc == BH_ENOTFOUND)
            return bh_err_set(err, BH_ENOREF, "hosts", "no host '%.64s'", json_string_value(h));
        if (rc)
            return rc;
        add_host(hosts, seen, host);
        json_decref(host);
    }
    return 0;
}

int bh_api_resolve_hosts(struct bh_store *st, const json_t *body, size_t max, json_t *hosts,
                         struct bh_err *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(body))
        return bh_err_sett(err, BH_EINVAL, "wrong-type", NULL,
                           "the body is an object: {hosts: [...], room, group, selector}");
    json_object_foreach((json_t *)body, key, v)
    {
        if (strcmp(key, "hosts") && strcmp(key, "room") && strcmp(key, "group") &&
            strcmp(key, "selector"))
            return bh_err_sett(err, BH_EINVAL, "unknown-field", key,
                               "unknown field '%.64s': use hosts, room, group or selector", key);
        if (strcmp(key, "hosts") && !json_is_string(v))
            return bh_err_sett(err, BH_EINVAL, "wrong-type", key, "\"%s\" is a string", key);
    }
    if (!json_object_size(body))
        return bh_err_sett(err, BH_EINVAL, "missing-field", "hosts",
                           "say which hosts: hosts, room, group or selector");
    json_t *seen = json_object();
    int rc = seen ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (!rc && (v = json_object_get(body, "hosts")))
        rc = named_hosts(st, v, max, hosts, seen, err);
    static const char *const refs[] = {"room", "group"};
    for (size_t i = 0; !rc && i < 2; i++) {
        const char *name = json_string_value(json_object_get(body, refs[i]));
        json_t *obj = NULL;
        if (!name)
            continue;
        rc = bh_store_get(st, bh_kind_get(i ? BH_KIND_GROUP : BH_KIND_ROOM), name, &obj, err);
        json_decref(obj);
        if (rc == BH_ENOTFOUND)
            rc = bh_err_set(err, BH_ENOREF, refs[i], "no %s '%.64s'", refs[i], name);
        if (!rc)
            rc = add_matching(st, refs[i], name, NULL, max, hosts, seen, err);
    }
    const char *s = json_string_value(json_object_get(body, "selector"));
    if (!rc && s) {
        struct bh_selector *sel = malloc(sizeof(*sel)); /* large: not on the stack */
        rc = sel ? bh_selector_parse(s, sel, err) : bh_err_set(err, BH_ENOMEM, NULL, "no memory");
        if (!rc) {
            bh_selector_resolve(sel, bh_kind_get(BH_KIND_HOST));
            rc = add_matching(st, NULL, NULL, sel, max, hosts, seen, err);
        } else if (rc == BH_EINVAL) {
            bh_err_type(err, "invalid-value");
        }
        free(sel);
    }
    json_decref(seen);
    return rc;
}
