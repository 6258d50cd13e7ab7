/*
 * router.c - segment-wise matching of request paths against route patterns.
 */
#include "router.h"

#include "core/str.h"

#include <stdio.h>
#include <string.h>

/* Match path against pattern; fill params. Segment values are bounded. */
static bool match_one(const char *pattern, const char *path, struct bh_route_match *m)
{
    const char *p = pattern, *s = path;
    m->nparams = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        const char *pe = strchr(p, '/'), *se = strchr(s, '/');
        size_t pn = pe ? (size_t)(pe - p) : strlen(p);
        size_t sn = se ? (size_t)(se - s) : strlen(s);
        if (pn >= 3 && p[0] == '{' && p[pn - 2] == '*' && p[pn - 1] == '}') {
            /* {name*}: the rest of the path, slashes included (last segment) */
            size_t rest = strlen(s);
            if (rest == 0 || rest >= BH_ROUTE_PARAM_MAX || m->nparams == BH_ROUTE_MAX_PARAMS)
                return false;
            size_t nn =
                pn - 3 < sizeof(m->params[0].name) - 1 ? pn - 3 : sizeof(m->params[0].name) - 1;
            memcpy(m->params[m->nparams].name, p + 1, nn);
            m->params[m->nparams].name[nn] = '\0';
            memcpy(m->params[m->nparams].value, s, rest + 1);
            m->nparams++;
            return p[pn] == '\0';
        }
        if (pn >= 2 && p[0] == '{' && p[pn - 1] == '}') {
            if (sn == 0 || sn >= BH_ROUTE_PARAM_MAX || m->nparams == BH_ROUTE_MAX_PARAMS)
                return false;
            size_t nn =
                pn - 2 < sizeof(m->params[0].name) - 1 ? pn - 2 : sizeof(m->params[0].name) - 1;
            memcpy(m->params[m->nparams].name, p + 1, nn);
            m->params[m->nparams].name[nn] = '\0';
            memcpy(m->params[m->nparams].value, s, sn);
            m->params[m->nparams].value[sn] = '\0';
            m->nparams++;
        } else if (pn != sn || memcmp(p, s, pn) != 0) {
            return false;
        }
        p += pn;
        s += sn;
    }
    return *p == '\0' && *s == '\0';
}

void bh_router_match(const struct bh_route *routes, size_t n, const char *method, const char *path,
                     struct bh_route_match *m)
{
    memset(m, 0, sizeof(*m));
    size_t an = 0;
    for (size_t i = 0; i < n; i++) {
        struct bh_route_match tmp;
        if (!match_one(routes[i].pattern, path, &tmp))
            continue;
        m->path_known = true;
        int k = snprintf(m->allow + an, sizeof(m->allow) - an, "%s%s", an ? ", " : "",
                         routes[i].method);
        if (k > 0 && (size_t)k < sizeof(m->allow) - an)
            an += (size_t)k;
        bool same = strcmp(routes[i].method, method) == 0 ||
                    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0);
        if (same && !m->route) {
            bool known = m->path_known;
            char allow[sizeof(m->allow)];
            memcpy(allow, m->allow, sizeof(allow));
            *m = tmp;
            m->route = &routes[i];
            m->path_known = known;
            memcpy(m->allow, allow, sizeof(allow));
        }
    }
}

const struct bh_route *bh_http_match(const struct bh_route *routes, size_t n, const char *method,
                                     const char *path, bool *path_known)
{
    struct bh_route_match m;
    bh_router_match(routes, n, method, path, &m);
    if (path_known)
        *path_known = m.path_known;
    return m.route;
}
