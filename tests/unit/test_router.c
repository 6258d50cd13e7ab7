/*
 * test_router.c - the route table matcher (src/http/router.c): literal
 * and parameter segments, methods, HEAD for GET, the 404/405 decision and
 * its Allow list, and the bounds on what a path may bring.  The router is
 * pure: no server runs here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/router.h"

#include <string.h>

static void h_dummy(struct bh_req *r)
{
    (void)r;
}

static const struct bh_route routes[] = {
    {"GET", "/health", h_dummy, 0, NULL, BH_ROUTE_PUBLIC, NULL},
    {"GET", "/api/v1/hosts", h_dummy, 1, NULL, 0, NULL},
    {"POST", "/api/v1/hosts", h_dummy, 2, NULL, 0, NULL},
    {"GET", "/api/v1/hosts/{key}", h_dummy, 1, NULL, 0, NULL},
    {"PATCH", "/api/v1/hosts/{key}", h_dummy, 2, NULL, 0, NULL},
    {"DELETE", "/api/v1/hosts/{key}", h_dummy, 2, NULL, 0, NULL},
    {"GET", "/api/v1/images/{key}/versions/{ref}", h_dummy, 1, NULL, 0, NULL},
    {"GET", "/ui/{path*}", h_dummy, 0, NULL, BH_ROUTE_PUBLIC, NULL},
    {"GET", "/api/v1/hosts/register", h_dummy, 3, NULL, 0, NULL}, /* after {key}: never wins */
};
#define NR (sizeof(routes) / sizeof(routes[0]))

static const char *param(const struct bh_route_match *m, const char *name)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (!strcmp(m->params[i].name, name))
            return m->params[i].value;
    return NULL;
}

static void test_literal_and_method(void **state)
{
    (void)state;
    struct bh_route_match m;
    bh_router_match(routes, NR, "GET", "/health", &m);
    assert_ptr_equal(m.route, &routes[0]);
    assert_int_equal(m.nparams, 0);
    bh_router_match(routes, NR, "POST", "/api/v1/hosts", &m);
    assert_ptr_equal(m.route, &routes[2]);
    assert_int_equal(m.route->need, 2); /* the opaque need comes back as stored */
    /* HEAD is served by GET (RFC 9110 9.3.2) */
    bh_router_match(routes, NR, "HEAD", "/api/v1/hosts", &m);
    assert_ptr_equal(m.route, &routes[1]);
    /* methods are case-sensitive (RFC 9110 9.1) */
    bh_router_match(routes, NR, "get", "/health", &m);
    assert_null(m.route);
    assert_true(m.path_known);
}

static void test_params(void **state)
{
    (void)state;
    struct bh_route_match m;
    bh_router_match(routes, NR, "GET", "/api/v1/hosts/pc01", &m);
    assert_ptr_equal(m.route, &routes[3]);
    assert_int_equal(m.nparams, 1);
    assert_string_equal(param(&m, "key"), "pc01");
    /* the first route that fits wins: "register" is a key here */
    bh_router_match(routes, NR, "GET", "/api/v1/hosts/register", &m);
    assert_ptr_equal(m.route, &routes[3]);
    bh_router_match(routes, NR, "GET", "/api/v1/images/win11/versions/7", &m);
    assert_ptr_equal(m.route, &routes[6]);
    assert_string_equal(param(&m, "key"), "win11");
    assert_string_equal(param(&m, "ref"), "7");
    /* a parameter is one whole segment, never empty */
    bh_router_match(routes, NR, "GET", "/api/v1/hosts/", &m);
    assert_null(m.route);
    bh_router_match(routes, NR, "GET", "/api/v1/hosts/a/b", &m);
    assert_null(m.route);
    assert_false(m.path_known);
    bh_router_match(routes, NR, "GET", "/api/v1/images/w//7", &m);
    assert_null(m.route);
    /* what the server decoded reaches the handler as is: the router does
     * not decode again ("%2F" stays) */
    bh_router_match(routes, NR, "GET", "/api/v1/hosts/a b%2Fc", &m);
    assert_ptr_equal(m.route, &routes[3]);
    assert_string_equal(param(&m, "key"), "a b%2Fc");
}

static void test_rest_param(void **state)
{
    (void)state;
    struct bh_route_match m;
    bh_router_match(routes, NR, "GET", "/ui/app.js", &m);
    assert_ptr_equal(m.route, &routes[7]);
    assert_string_equal(param(&m, "path"), "app.js");
    bh_router_match(routes, NR, "GET", "/ui/assets/x/y.css", &m);
    assert_string_equal(param(&m, "path"), "assets/x/y.css");
    /* {path*} needs at least one byte */
    bh_router_match(routes, NR, "GET", "/ui/", &m);
    assert_null(m.route);
    bh_router_match(routes, NR, "GET", "/ui", &m);
    assert_null(m.route);
}

static void test_404_405(void **state)
{
    (void)state;
    struct bh_route_match m;
    bh_router_match(routes, NR, "GET", "/nowhere", &m);
    assert_null(m.route);
    assert_false(m.path_known); /* 404 */
    bh_router_match(routes, NR, "PUT", "/api/v1/hosts/pc01", &m);
    assert_null(m.route);
    assert_true(m.path_known); /* 405, with the methods the path has */
    assert_string_equal(m.allow, "GET, PATCH, DELETE");
    bh_router_match(routes, NR, "DELETE", "/health", &m);
    assert_true(m.path_known);
    assert_string_equal(m.allow, "GET");
    /* trailing slash and case are other paths */
    bh_router_match(routes, NR, "GET", "/health/", &m);
    assert_false(m.path_known);
    bh_router_match(routes, NR, "GET", "/HEALTH", &m);
    assert_false(m.path_known);
    bh_router_match(routes, NR, "GET", "", &m);
    assert_false(m.path_known);
    bh_router_match(routes, NR, "GET", "health", &m);
    assert_false(m.path_known);
    /* bh_http_match says the same */
    bool known = false;
    assert_null(bh_http_match(routes, NR, "PUT", "/api/v1/hosts", &known));
    assert_true(known);
    assert_ptr_equal(bh_http_match(routes, NR, "GET", "/api/v1/hosts", NULL), &routes[1]);
}

/* Parameters land in capped buffers: a segment as long as the buffer, or
 * a rest as long, matches nothing (so 404), never a truncated value. */
static void test_long_segments(void **state)
{
    (void)state;
    struct bh_route_match m;
    char path[BH_ROUTE_PARAM_MAX * 2 + 64];
    char seg[BH_ROUTE_PARAM_MAX + 1];
    memset(seg, 'a', sizeof(seg) - 1);
    seg[BH_ROUTE_PARAM_MAX - 1] = '\0'; /* the longest that fits: 255 bytes */
    snprintf(path, sizeof(path), "/api/v1/hosts/%s", seg);
    bh_router_match(routes, NR, "GET", path, &m);
    assert_ptr_equal(m.route, &routes[3]);
    assert_int_equal(strlen(param(&m, "key")), BH_ROUTE_PARAM_MAX - 1);
    seg[BH_ROUTE_PARAM_MAX - 1] = 'a'; /* one more */
    seg[BH_ROUTE_PARAM_MAX] = '\0';
    snprintf(path, sizeof(path), "/api/v1/hosts/%s", seg);
    bh_router_match(routes, NR, "GET", path, &m);
    assert_null(m.route);
    assert_false(m.path_known);
    snprintf(path, sizeof(path), "/ui/%s", seg);
    bh_router_match(routes, NR, "GET", path, &m);
    assert_null(m.route);
    snprintf(path, sizeof(path), "/ui/x/%s", seg + 2); /* the rest counts slashes and all */
    bh_router_match(routes, NR, "GET", path, &m);
    assert_null(m.route);
    /* a long literal path is just unknown */
    char lit[8192];
    memset(lit, '/', sizeof(lit) - 1);
    lit[sizeof(lit) - 1] = '\0';
    bh_router_match(routes, NR, "GET", lit, &m);
    assert_null(m.route);
    assert_false(m.path_known);
}

/* Dot segments are not resolved by the router: they only match a
 * parameter, whose handler must refuse them ({path*} handlers open files
 * beneath their directory, files.c), or nothing. */
static void test_traversal(void **state)
{
    (void)state;
    struct bh_route_match m;
    bh_router_match(routes, NR, "GET", "/api/v1/hosts/../../health", &m);
    assert_null(m.route);
    assert_false(m.path_known);
    bh_router_match(routes, NR, "GET", "/health/..", &m);
    assert_false(m.path_known);
    bh_router_match(routes, NR, "GET", "/ui/../health", &m);
    assert_ptr_equal(m.route, &routes[7]);
    assert_string_equal(param(&m, "path"), "../health");
}

/* More parameters than the table holds: no match, no overflow. */
static void test_too_many_params(void **state)
{
    (void)state;
    static const struct bh_route many[] = {
        {"GET", "/{a}/{b}/{c}/{d}/{e}", h_dummy, 0, NULL, 0, NULL},
        {"GET", "/{a}/{b}/{c}/{d}", h_dummy, 0, NULL, 0, NULL},
    };
    struct bh_route_match m;
    bh_router_match(many, 2, "GET", "/1/2/3/4/5", &m);
    assert_null(m.route);
    bh_router_match(many, 2, "GET", "/1/2/3/4", &m);
    assert_ptr_equal(m.route, &many[1]);
    assert_string_equal(param(&m, "d"), "4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_and_method), cmocka_unit_test(test_params),
        cmocka_unit_test(test_rest_param),         cmocka_unit_test(test_404_405),
        cmocka_unit_test(test_long_segments),      cmocka_unit_test(test_traversal),
        cmocka_unit_test(test_too_many_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
