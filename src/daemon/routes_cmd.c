/*
 * routes_cmd.c - `bootherd routes`: every API route and the role it needs,
 * read from the server's own route table (so it lives beside serve, not in
 * the client).
 */
#include "daemon.h"

#include "api/api.h"

#include <stdio.h>

void bh_usage_routes(FILE *f)
{
    fprintf(f, "usage: bootherd routes   every API route and the role it needs\n");
}

int bh_cmd_routes(int argc, char **argv)
{
    if (argc) {
        bh_usage_routes(stderr);
        return 2;
    }
    (void)argv;
    size_t n;
    const struct bh_route *r = bh_api_routes(&n);
    for (size_t i = 0; i < n; i++)
        printf("%-7s %-40s %s\n", r[i].method, r[i].pattern,
               r[i].flags & BH_ROUTE_PUBLIC ? "public" : bh_role_name(r[i].need));
    return 0;
}
