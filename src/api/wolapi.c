/*
 * wolapi.c - Wake-on-LAN over the API.
 *
 *   POST /api/v1/hosts/{key}/wake
 *   POST /api/v1/wake   {"hosts": [name or MAC...], "room", "group", "selector"}
 *
 * Every part of the body adds hosts (as the targets of a job do).  The
 * answer comes at once, 202, with the hosts queued (and where each packet
 * goes) and the hosts skipped (and why); the sender works through the
 * queue on its own thread, `[wol] stagger_ms` apart.
 *
 * Every host's timeline says what became of its wake: "wol.skipped" (with
 * why: no MAC, no broadcast address, no interface, the queue) is recorded
 * here, "wol.sent" or "wol.failed" (a send error) by the sender.  A job
 * with wake keeps the answer (jobsapi.c, jobview.c).
 */
#include "api.h"

#include "boot/bootsvc.h"
#include "boot/wol.h"
#include "core/log.h"
#include "core/mac.h"
#include "core/str.h"
#include "core/timeutil.h"
#include "model/selector.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WAKE_HOSTS_MAX 10000

/* what the server knows about its networks, for bh_wol_choose */
struct env {
    struct bh_wol_env e;
    struct bh_wol_iface *ifaces;
    struct bh_wol_net nets[BH_DHCP_MAX_SUBNETS];
    char dhcp[BH_DHCP_MAX_IFACES][IFNAMSIZ];
    json_t *room_nets; /* room name -> "a.b.c.d/n" or null (this request's cache) */
};

static int env_init(struct env *v, struct bh_api *api, struct bh_err *err)
{
    memset(v, 0, sizeof(*v));
    int rc = bh_wol_ifaces(&v->ifaces, &v->e.nifaces, err);
    if (rc)
        return rc;
    v->e.ifaces = v->ifaces;
    const struct bh_boot_config *c = bh_boot_config_of(api->boot);
    for (int i = 0; i < c->nsubnets && i < BH_DHCP_MAX_SUBNETS; i++) {
        v->nets[i].net = c->subnets[i].net;
        v->nets[i].mask = c->subnets[i].mask;
        memcpy(v->nets[i].iface, c->subnets[i].iface, IFNAMSIZ);
        v->e.nsubnets++;
    }
    v->e.subnets = v->nets;
    for (int i = 0; i < c->nifaces && i < BH_DHCP_MAX_IFACES; i++)
        memcpy(v->dhcp[v->e.ndhcp++], c->ifaces[i].name, IFNAMSIZ);
    v->e.dhcp_ifaces = v->dhcp;
    v->room_nets = json_object();
    return v->room_nets ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
}

static void env_free(struct env *v)
{
    free(v->ifaces);
    json_decref(v->room_nets);
}

/* "192.0.2.0/24" -> net, mask */
static bool parse_cidr(const char *s, struct in_addr *net, struct in_addr *mask)
{
    char ip[INET_ADDRSTRLEN];
    const char *slash = s ? strchr(s, '/') : NULL;
    int64_t bits;
    if (!slash || (size_t)(slash - s) >= sizeof(ip) || bh_parse_i64(slash + 1, 0, 32, &bits))
        return false;
    memcpy(ip, s, (size_t)(slash - s));
    ip[slash - s] = '\0';
    uint32_t m = bits ? ~0u << (32 - bits) : 0;
    mask->s_addr = htonl(m);
    if (inet_pton(AF_INET, ip, net) != 1)
        return false;
    net->s_addr &= mask->s_addr;
    return true;
}

static void room_net(struct bh_api *api, struct env *v, const char *room, struct bh_wol_where *w)
{
    if (!room)
        return;
    json_t *cached = json_object_get(v->room_nets, room);
    if (!cached) {
        json_t *obj = NULL;
        if (bh_store_get(api->store, bh_kind_get(BH_KIND_ROOM), room, &obj, NULL) == 0)
            cached = json_object_get(obj, "subnet");
        cached = json_is_string(cached) ? json_incref(cached) : json_null();
        json_object_set_new(v->room_nets, room, cached);
        json_decref(obj);
    }
    w->has_room_net = parse_cidr(json_string_value(cached), &w->room_net, &w->room_mask);
}

static void add_skip(json_t *skipped, const char *host, const char *mac, const char *why)
{
    json_array_append_new(skipped,
                          json_pack("{s:s, s:s, s:s}", "host", host, "mac", mac, "why", why));
}

/* Resolve and queue one host (an API host object). */
static void wake_one(struct bh_api *api, struct env *v, const json_t *host, json_t *queued,
                     json_t *skipped)
{
    const char *mac = json_string_value(json_object_get(host, "mac"));
    const char *name = json_string_value(json_object_get(host, "name"));
    const char *ip = json_string_value(json_object_get(host, "ip"));
    const char *label = name && *name ? name : mac;
    uint8_t m[6];
    if (!label)
        label = "";
    if (!mac || bh_mac_parse(mac, m)) { /* the store holds valid MACs only: for the record */
        json_array_append_new(skipped, json_pack("{s:s, s:n, s:s}", "host", label, "mac", "why",
                                                 "no MAC: the host has no MAC address"));
        return;
    }
    struct bh_wol_where w = {0};
    w.has_ip = ip && inet_pton(AF_INET, ip, &w.ip) == 1;
    room_net(api, v, json_string_value(json_object_get(host, "room")), &w);
    struct bh_wol_target t;
    const char *why;
    if (bh_wol_choose(&v->e, &w, &t, &why)) {
        add_skip(skipped, label, mac, why);
        return;
    }
    int rc = bh_wol_queue(api->wol, m, &t);
    if (rc) {
        add_skip(skipped, label, mac,
                 rc == BH_ECONFLICT ? "already queued" : "the wake-on-lan queue is full");
        return;
    }
    char dst[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &t.dst, dst, sizeof(dst));
    json_array_append_new(queued,
                          json_pack("{s:s, s:s, s:s, s:s?, s:i, s:b}", "host", label, "mac", mac,
                                    "address", dst, "interface", t.iface[0] ? t.iface : NULL,
                                    "port", bh_wol_port(api->wol), "directed", t.directed));
}

/* "wol.skipped" on each skipped host's timeline, in one transaction */
static void skip_events(struct bh_api *api, const json_t *skipped, const struct bh_actor *a)
{
    json_t *evs = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(skipped, i, s)
    {
        const char *mac = json_string_value(json_object_get(s, "mac"));
        if (mac)
            json_array_append_new(evs, json_pack("{s:s, s:s, s:s, s:{s:O}}", "kind", "host", "key",
                                                 mac, "type", "wol.skipped", "data", "why",
                                                 json_object_get(s, "why")));
    }
    struct bh_err e;
    if (json_array_size(evs) && bh_store_event_append_many(api->store, evs, a, &e))
        bh_log(BH_LOG_WARN, "cannot record skipped wakes", "err=%s", e.msg);
    json_decref(evs);
}

int bh_api_wake_hosts(struct bh_api *api, const json_t *hosts, const struct bh_actor *a,
                      json_t **out, struct bh_err *err)
{
    struct env v;
    if (!api->wol || !api->boot)
        return bh_err_set(err, BH_EBUSY, NULL, "Wake-on-LAN needs the boot services");
    int rc = env_init(&v, api, err);
    if (rc) {
        env_free(&v);
        return rc;
    }
    char at[BH_TIME_STRLEN]; /* the sender's events on the hosts come after this */
    bh_time_format(bh_wall_ms(), at);
    json_t *queued = json_array(), *skipped = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(hosts, i, h) wake_one(api, &v, h, queued, skipped);
    env_free(&v);
    skip_events(api, skipped, a);
    *out = json_pack("{s:s, s:o, s:o}", "at", at, "queued", queued, "skipped", skipped);
    return *out ? 0 : bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
}

static bool wol_ready(struct bh_req *r)
{
    struct bh_api *api = bh_api_ctx(r);
    if (api->wol && api->boot)
        return true;
    bh_reply_problem(r, 503, "unavailable", "Wake-on-LAN is off",
                     "this server does not run the boot services", NULL);
    return false;
}

static void reply_wake(struct bh_req *r, json_t *hosts)
{
    json_t *out;
    struct bh_err e;
    struct bh_actor a = bh_api_actor(r);
    if (bh_api_wake_hosts(bh_api_ctx(r), hosts, &a, &out, &e))
        bh_reply_err(r, &e);
    else
        bh_reply_json(r, 202, out);
}

/* POST /api/v1/hosts/{key}/wake */
void bh_h_host_wake(struct bh_req *r)
{
    if (!wol_ready(r))
        return;
    json_t *host;
    struct bh_err e;
    if (bh_store_get(bh_api_ctx(r)->store, bh_kind_get(BH_KIND_HOST), bh_req_param(r, "key"), &host,
                     &e)) {
        bh_reply_err(r, &e);
        return;
    }
    json_t *one = json_pack("[o]", host);
    reply_wake(r, one);
    json_decref(one);
}

/* POST /api/v1/wake */
void bh_h_wake(struct bh_req *r)
{
    if (!wol_ready(r))
        return;
    json_t *body = bh_req_json(r);
    if (!body)
        return;
    json_t *hosts = json_array();
    struct bh_err e;
    int rc = hosts ? bh_api_resolve_hosts(bh_api_ctx(r)->store, body, WAKE_HOSTS_MAX, hosts, &e)
                   : bh_err_set(&e, BH_ENOMEM, NULL, "out of memory");
    if (rc)
        bh_reply_err(r, &e);
    else
        reply_wake(r, hosts);
    json_decref(hosts);
    json_decref(body);
}
