/*
 * router.h - match "METHOD /path" against a route table.  Pure; no I/O.
 */
#ifndef BH_HTTP_ROUTER_H
#define BH_HTTP_ROUTER_H

#include "server.h"

#define BH_ROUTE_MAX_PARAMS 4
#define BH_ROUTE_PARAM_MAX  256

struct bh_route_match {
    const struct bh_route *route; /* NULL if nothing matched */
    size_t nparams;
    struct {
        char name[32];
        char value[BH_ROUTE_PARAM_MAX];
    } params[BH_ROUTE_MAX_PARAMS];
    bool path_known; /* some route has this path (so 405, not 404) */
    char allow[96];  /* methods allowed on the path, for the Allow header */
};

void bh_router_match(const struct bh_route *routes, size_t n, const char *method, const char *path,
                     struct bh_route_match *m);

#endif
