/*
 * wol.c - Wake-on-LAN, the pure half: the magic packet and the choice of
 * broadcast address and interface.  No sockets here.
 */
#include "wol.h"

#include "core/str.h"

#include <arpa/inet.h>
#include <string.h>

void bh_wol_packet(const uint8_t mac[6], uint8_t out[BH_WOL_PACKET_LEN])
{
    memset(out, 0xff, BH_WOL_SYNC_LEN);
    for (size_t i = 0; i < BH_WOL_MAC_REPEATS; i++)
        memcpy(out + BH_WOL_SYNC_LEN + 6 * i, mac, 6);
}

static uint32_t h32(struct in_addr a)
{
    return ntohl(a.s_addr);
}

static struct in_addr n32(uint32_t h)
{
    struct in_addr a = {htonl(h)};
    return a;
}

static bool usable(const struct bh_wol_iface *f)
{
    return f->up && f->broadcast && !f->loopback && h32(f->mask) != 0;
}

/* a prefix of /31 or /32 has no broadcast address (RFC 3021) */
static bool has_broadcast(uint32_t mask)
{
    return (~mask) > 1;
}

/* The usable interface with the longest prefix whose network contains ip. */
static const struct bh_wol_iface *iface_for(const struct bh_wol_env *env, uint32_t ip)
{
    const struct bh_wol_iface *best = NULL;
    for (size_t i = 0; i < env->nifaces; i++) {
        const struct bh_wol_iface *f = &env->ifaces[i];
        uint32_t m = h32(f->mask);
        if (usable(f) && (ip & m) == (h32(f->addr) & m) && (!best || m > h32(best->mask)))
            best = f;
    }
    return best;
}

/* the interface `name` is up and can broadcast */
static const struct bh_wol_iface *iface_named(const struct bh_wol_env *env, const char *name)
{
    for (size_t i = 0; name[0] && i < env->nifaces; i++)
        if (usable(&env->ifaces[i]) && !strcmp(env->ifaces[i].name, name))
            return &env->ifaces[i];
    return NULL;
}

static void on_iface(const struct bh_wol_iface *f, struct bh_wol_target *t)
{
    uint32_t m = h32(f->mask), a = h32(f->addr), b = h32(f->brd);
    /* the interface's own broadcast address when it has a sensible one:
     * an address added without "brd" reports none, or its own address */
    bool own = b && b != a && (b & m) == (a & m);
    t->dst = own ? f->brd : n32((a & m) | ~m);
    bh_strlcpy(t->iface, f->name, sizeof(t->iface));
    t->directed = false;
}

/* The most specific [subnet] containing ip, or NULL. */
static const struct bh_wol_net *subnet_for(const struct bh_wol_env *env, uint32_t ip)
{
    const struct bh_wol_net *best = NULL;
    for (size_t i = 0; i < env->nsubnets; i++) {
        const struct bh_wol_net *s = &env->subnets[i];
        uint32_t m = h32(s->mask);
        if ((ip & m) == (h32(s->net) & m) && (!best || m > h32(best->mask)))
            best = s;
    }
    return best;
}

/* ip (an address in the subnet) with mask: on a local segment, else the
 * directed broadcast of the subnet */
static int toward(const struct bh_wol_env *env, uint32_t ip, uint32_t mask, const char *iface,
                  struct bh_wol_target *t, const char **why)
{
    const struct bh_wol_iface *f = iface_for(env, ip);
    if (f) {
        on_iface(f, t);
        return 0;
    }
    if (!has_broadcast(mask)) {
        *why = "the host's subnet is a /31 or /32, which has no broadcast address";
        return BH_ENOTFOUND;
    }
    t->dst = n32((ip & mask) | ~mask);
    /* a [subnet] tied to an interface is on that segment, even when the
     * interface has no address in it */
    f = iface ? iface_named(env, iface) : NULL;
    t->iface[0] = '\0';
    if (f)
        bh_strlcpy(t->iface, f->name, sizeof(t->iface));
    t->directed = !f;
    return 0;
}

int bh_wol_choose(const struct bh_wol_env *env, const struct bh_wol_where *w,
                  struct bh_wol_target *t, const char **why)
{
    memset(t, 0, sizeof(*t));
    *why = NULL;
    if (w->has_ip) {
        uint32_t ip = h32(w->ip), rm = h32(w->room_mask);
        uint32_t mask = ~0u << (32 - BH_WOL_DEFAULT_PREFIX);
        const struct bh_wol_net *sn = subnet_for(env, ip);
        if (w->has_room_net && (ip & rm) == (h32(w->room_net) & rm))
            mask = rm;
        else if (sn)
            mask = h32(sn->mask);
        return toward(env, ip, mask, sn ? sn->iface : NULL, t, why);
    }
    if (w->has_room_net) {
        uint32_t net = h32(w->room_net), mask = h32(w->room_mask);
        /* a local interface with an address in the room's subnet, or whose
         * network holds the room's subnet */
        for (size_t i = 0; i < env->nifaces; i++) {
            const struct bh_wol_iface *f = &env->ifaces[i];
            if (usable(f) && (h32(f->addr) & mask) == net) {
                on_iface(f, t);
                return 0;
            }
        }
        const struct bh_wol_net *sn = subnet_for(env, net);
        return toward(env, net, mask, sn && h32(sn->mask) <= mask ? sn->iface : NULL, t, why);
    }
    const struct bh_wol_iface *only = NULL;
    size_t n = 0;
    for (size_t i = 0; i < env->ndhcp; i++) {
        const struct bh_wol_iface *f = iface_named(env, env->dhcp_ifaces[i]);
        if (f && (!only || strcmp(f->name, only->name))) {
            only = f;
            n++;
        }
    }
    if (n == 1) {
        on_iface(only, t);
        return 0;
    }
    *why = n ? "the host has no ip and its room no subnet, and several [dhcp] interfaces are up"
             : "the host has no ip, its room no subnet, and no [dhcp] interface is up";
    return BH_ENOTFOUND;
}
