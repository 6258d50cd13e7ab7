/*
 * bootproof.c - see bootproof.h.
 */
#include "bootproof.h"

#include "core/net.h"
#include "core/str.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PER_MAC                                                                                    \
    4 /* addresses remembered per machine: a forged exchange cannot push out the real one */

struct bh_bootproof {
    struct bh_bootproof_config cfg;
    pthread_mutex_t mu;
    /* mac -> [{"ip": s, "until": ms, "ticket": s (once made)}], newest last */
    json_t *boots;
};

int bh_bootproof_new(const struct bh_bootproof_config *cfg, struct bh_bootproof **out)
{
    struct bh_bootproof *p = calloc(1, sizeof(*p));
    if (!p || !(p->boots = json_object())) {
        free(p);
        return BH_ENOMEM;
    }
    p->cfg = *cfg;
    if (!p->cfg.neighbour_of)
        p->cfg.neighbour_of = bh_net_neighbour;
    pthread_mutex_init(&p->mu, NULL);
    *out = p;
    return 0;
}

void bh_bootproof_free(struct bh_bootproof *p)
{
    if (!p)
        return;
    json_decref(p->boots);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static int64_t until_of(const json_t *e)
{
    return json_integer_value(json_object_get(e, "until"));
}

/* drop the expired entries of one machine's list */
static void prune(json_t *list, int64_t now_ms)
{
    for (size_t i = json_array_size(list); i-- > 0;)
        if (until_of(json_array_get(list, i)) <= now_ms)
            json_array_remove(list, i);
}

/* room for one more machine: forget what expired, and everything if that
 * is not enough (bounded memory; machines prove themselves again at their
 * next DHCP exchange) */
static void make_room(struct bh_bootproof *p, int64_t now_ms)
{
    if (json_object_size(p->boots) < BH_BOOTPROOF_MAX)
        return;
    const char *k;
    json_t *v, *tmp;
    json_object_foreach_safe(p->boots, tmp, k, v)
    {
        prune(v, now_ms);
        if (!json_array_size(v))
            json_object_del(p->boots, k);
    }
    if (json_object_size(p->boots) >= BH_BOOTPROOF_MAX)
        json_object_clear(p->boots);
}

/* the entry of mac at ip, live at now_ms; NULL if none */
static json_t *find(struct bh_bootproof *p, const char *mac, const char *ip, int64_t now_ms)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(p->boots, mac), i, e)
    {
        if (!strcmp(json_string_value(json_object_get(e, "ip")), ip) && until_of(e) > now_ms)
            return e;
    }
    return NULL;
}

/* a new boot of mac at ip: replaces what was known of that address */
static json_t *put(struct bh_bootproof *p, const char *mac, const char *ip, int64_t until_ms,
                   int64_t now_ms)
{
    json_t *list = json_object_get(p->boots, mac);
    if (!list) {
        make_room(p, now_ms);
        list = json_array();
        json_object_set_new(p->boots, mac, list);
    }
    prune(list, now_ms);
    for (size_t i = json_array_size(list); i-- > 0;)
        if (!strcmp(json_string_value(json_object_get(json_array_get(list, i), "ip")), ip))
            json_array_remove(list, i);
    if (json_array_size(list) >= PER_MAC)
        json_array_remove(list, 0);
    json_t *e = json_pack("{s:s, s:I}", "ip", ip, "until", until_ms);
    json_array_append_new(list, e);
    return e;
}

void bh_bootproof_seen(struct bh_bootproof *p, const char *mac, const char *ip, int64_t until_ms,
                       int64_t now_ms)
{
    pthread_mutex_lock(&p->mu);
    put(p, mac, ip, until_ms ? until_ms : now_ms + p->cfg.window_ms, now_ms);
    pthread_mutex_unlock(&p->mu);
}

/* "::ffff:192.0.2.10" (an IPv4 client of a dual-stack socket) -> "192.0.2.10" */
static const char *ipv4_of(const char *remote)
{
    return strncmp(remote, "::ffff:", 7) == 0 && strchr(remote + 7, '.') ? remote + 7 : remote;
}

/* why mac has no live entry for ip, into err */
static int refuse(struct bh_bootproof *p, const char *mac, const char *ip, int64_t now_ms,
                  struct bh_err *err)
{
    json_t *list = json_object_get(p->boots, mac);
    const json_t *last = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (until_of(e) > now_ms)
            last = e;
    }
    if (last)
        return bh_err_set(err, BH_EPERM, "mac",
                          "the request came from %s, but this machine's DHCP exchange was for %s",
                          ip, json_string_value(json_object_get(last, "ip")));
    return bh_err_set(err, BH_EPERM, "mac",
                      "no DHCP exchange of this machine %s (the request came from %s)",
                      list ? "in the ticket window" : "was seen", ip);
}

int bh_bootproof_ticket(struct bh_bootproof *p, const char *mac, const char *remote, int64_t now_ms,
                        bh_bootproof_mint_fn mint, void *ud, char out[BH_BOOTPROOF_TICKET_MAX],
                        struct bh_err *err)
{
    const char *ip = ipv4_of(remote);
    /* the neighbour table, outside the lock: it is a file read */
    char nmac[18] = "";
    bool nknown = p->cfg.neighbour_of(ip, nmac) == 0;
    pthread_mutex_lock(&p->mu);
    json_t *e = find(p, mac, ip, now_ms);
    int rc = 0;
    if (e && nknown && strcmp(nmac, mac) != 0)
        /* DHCP says mac, the wire says someone else answers for ip */
        rc =
            bh_err_set(err, BH_EPERM, "mac",
                       "the request came from %s, which the neighbour table gives to %s", ip, nmac);
    else if (!e && p->cfg.neighbour && nknown && !strcmp(nmac, mac))
        /* proven by the neighbour table alone: a boot of its own, for the window */
        e = put(p, mac, ip, now_ms + p->cfg.window_ms, now_ms);
    else if (!e)
        rc = refuse(p, mac, ip, now_ms, err);
    const char *t = rc ? NULL : json_string_value(json_object_get(e, "ticket"));
    if (!rc && t) {
        bh_strlcpy(out, t, BH_BOOTPROOF_TICKET_MAX);
    } else if (!rc) {
        rc = mint(ud, mac, out, BH_BOOTPROOF_TICKET_MAX);
        if (rc)
            bh_err_set(err, rc, NULL, "cannot make a ticket");
        else
            json_object_set_new(e, "ticket", json_string(out));
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}
