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

#define PER_MAC 4 /* addresses remembered per machine (the newest) */

struct bh_bootproof {
    struct bh_bootproof_config cfg;
    pthread_mutex_t mu;
    /* mac -> [{"ip": s, "until": ms, "relayed": b, "handed": b}], newest
     * last; the object is in least-recently-seen order (jansson keeps
     * insertion order), so the first keys go first when it is full */
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

static bool flag(const json_t *e, const char *name)
{
    return json_is_true(json_object_get(e, name));
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

/* a new boot of mac at ip: replaces what was known of that address; mac
 * becomes the most recently seen machine */
static json_t *put(struct bh_bootproof *p, const char *mac, const char *ip, int64_t until_ms,
                   bool relayed, int64_t now_ms)
{
    json_t *list = json_incref(json_object_get(p->boots, mac));
    if (list)
        json_object_del(p->boots, mac);
    else
        list = json_array();
    while (json_object_size(p->boots) >= BH_BOOTPROOF_MAX) { /* the least recently seen go */
        void *it = json_object_iter(p->boots);
        json_object_del(p->boots, json_object_iter_key(it));
    }
    json_object_set_new(p->boots, mac, list);
    for (size_t i = json_array_size(list); i-- > 0;) {
        json_t *e = json_array_get(list, i);
        if (until_of(e) <= now_ms || !strcmp(json_string_value(json_object_get(e, "ip")), ip))
            json_array_remove(list, i);
    }
    if (json_array_size(list) >= PER_MAC)
        json_array_remove(list, 0);
    json_t *e = json_pack("{s:s, s:I, s:b, s:b}", "ip", ip, "until", until_ms, "relayed", relayed,
                          "handed", 0);
    json_array_append_new(list, e);
    return e;
}

void bh_bootproof_seen(struct bh_bootproof *p, const char *mac, const char *ip, int64_t until_ms,
                       bool relayed, int64_t now_ms)
{
    int64_t until = now_ms + p->cfg.window_ms; /* a boot fetches its script right after */
    if (until_ms && until_ms < until)
        until = until_ms; /* ... and not after its lease ends */
    pthread_mutex_lock(&p->mu);
    put(p, mac, ip, until, relayed, now_ms);
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

/* Does the evidence e (mac at ip) hold, given what the neighbour table
 * says (nknown, nmac)?  0 or BH_EPERM with why. */
static int confirm(const struct bh_bootproof *p, const json_t *e, const char *mac, const char *ip,
                   bool nknown, const char *nmac, struct bh_err *err)
{
    if (nknown && strcmp(nmac, mac) != 0) /* DHCP says mac; the wire says another answers */
        return bh_err_set(err, BH_EPERM, "mac",
                          "the request came from %s, which the neighbour table gives to %s", ip,
                          nmac);
    if (nknown)
        return 0;
    if (!flag(e, "relayed"))
        return bh_err_set(err, BH_EPERM, "mac",
                          "the neighbour table has no entry for %s: the request did not come "
                          "from a machine on this server's boot network",
                          ip);
    if (!p->cfg.relayed)
        return bh_err_set(err, BH_EPERM, "mac",
                          "this machine's DHCP exchange came through a relay, and [boot] "
                          "ticket_relayed is off");
    return 0;
}

/* the live, confirmed evidence that remote is mac booting (under mu), or
 * NULL with why; with `neighbour`, a matching entry alone makes one */
static json_t *proven(struct bh_bootproof *p, const char *mac, const char *ip, int64_t now_ms,
                      bool nknown, const char *nmac, struct bh_err *err)
{
    json_t *e = find(p, mac, ip, now_ms);
    if (e)
        return confirm(p, e, mac, ip, nknown, nmac, err) ? NULL : e;
    if (p->cfg.neighbour && nknown && !strcmp(nmac, mac))
        return put(p, mac, ip, now_ms + p->cfg.window_ms, false, now_ms);
    refuse(p, mac, ip, now_ms, err);
    return NULL;
}

/* prove, and with mint, hand out this boot's ticket */
static int prove(struct bh_bootproof *p, const char *mac, const char *remote, int64_t now_ms,
                 bh_bootproof_mint_fn mint, void *ud, char *out, struct bh_err *err)
{
    const char *ip = ipv4_of(remote);
    if (!strncmp(ip, "127.", 4) || !strcmp(ip, "::1"))
        return bh_err_set(err, BH_EPERM, "mac",
                          "the request came from this server itself (%s), not from the machine",
                          ip);
    /* the neighbour table, outside the lock: it is a file read */
    char nmac[BH_MAC_STRLEN] = "";
    bool nknown = p->cfg.neighbour_of(ip, nmac) == 0;
    pthread_mutex_lock(&p->mu);
    json_t *e = proven(p, mac, ip, now_ms, nknown, nmac, err);
    int rc = e ? 0 : BH_EPERM;
    if (e && mint && flag(e, "handed")) {
        rc = bh_err_set(err, BH_EPERM, "mac",
                        "the ticket of this boot was handed out already (boot again for a "
                        "new one)");
    } else if (e && mint) {
        rc = mint(ud, mac, out, BH_BOOTPROOF_TICKET_MAX);
        if (rc)
            bh_err_set(err, rc, NULL, "cannot make a ticket");
        else
            json_object_set_new(e, "handed", json_true());
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int bh_bootproof_check(struct bh_bootproof *p, const char *mac, const char *remote, int64_t now_ms,
                       struct bh_err *err)
{
    return prove(p, mac, remote, now_ms, NULL, NULL, NULL, err);
}

int bh_bootproof_ticket(struct bh_bootproof *p, const char *mac, const char *remote, int64_t now_ms,
                        bh_bootproof_mint_fn mint, void *ud, char out[BH_BOOTPROOF_TICKET_MAX],
                        struct bh_err *err)
{
    return prove(p, mac, remote, now_ms, mint, ud, out, err);
}
