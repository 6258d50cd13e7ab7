/*
 * test_api.c - the API handlers through the real stack: a store in a
 * temporary directory (real SQLite), the real route table and auth hook,
 * and the HTTP server on 127.0.0.1, spoken to over a plain socket.  Checks
 * the role gate (the route's opaque need against the token's role), a
 * create/get/list with {items, next}, a 400 for bad JSON and a 404.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "api/api.h"
#include "http/server.h"
#include "model/model.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct bh_actor actor = {"test", "0123456789ab", "192.0.2.1"};

static char g_dir[64];
static struct bh_store *S;
static struct bh_api API;
static struct bh_http *H;
static int g_port;
static char tok_viewer[BH_TOKEN_STR_MAX], tok_operator[BH_TOKEN_STR_MAX];

static void make_token(const char *name, const char *role, char tok[BH_TOKEN_STR_MAX])
{
    char tid[32], hash[65];
    struct bh_err e;
    assert_int_equal(bh_token_generate(tid, tok, hash), 0);
    json_t *in = json_pack("{s:s, s:s}", "name", name, "role", role), *doc = NULL, *out = NULL;
    if (bh_model_validate(&bh_kinds[BH_KIND_TOKEN], in, BH_V_CREATE, &doc, &e))
        fail_msg("token: %s", e.msg);
    json_object_set_new(doc, "id", json_string(tid));
    json_object_set_new(doc, "hash", json_string(hash));
    if (bh_store_create(S, &bh_kinds[BH_KIND_TOKEN], doc, &actor, &out, &e))
        fail_msg("token: %s", e.msg);
    json_decref(in);
    json_decref(doc);
    json_decref(out);
}

static int setup(void **state)
{
    (void)state;
    char path[128];
    struct bh_err e;
    snprintf(g_dir, sizeof(g_dir), "/tmp/bh-test-api-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    snprintf(path, sizeof(path), "%s/state.db", g_dir);
    struct bh_store_config sc = {.path = path, .readers = 2};
    if (bh_store_open(&sc, &S, &e))
        fail_msg("store: %s", e.msg);
    make_token("viewer1", "viewer", tok_viewer);
    make_token("operator1", "operator", tok_operator);

    memset(&API, 0, sizeof(API));
    API.store = S;
    API.ui_fd = -1;
    pthread_mutex_init(&API.seen_mu, NULL);
    API.agents_seen = json_object();

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    socklen_t al = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    g_port = ntohs(a.sin_port);

    size_t n;
    struct bh_http_config hc = {
        .listen_fd = fd,
        .boot_fd = -1,
        .threads = 2,
        .max_body = 1 << 20,
        .conn_timeout = 10,
        .body_timeout = 10,
        .body_min_rate = 1,
        .send_min_rate = 1,
        .routes = bh_api_routes(&n),
        .authenticate = bh_api_authenticate,
        .ud = &API,
    };
    hc.nroutes = n;
    for (int c = 0; c < BH_CONN__COUNT; c++) {
        hc.limits.budget[c] = 32;
        hc.limits.per_address[c] = 32;
    }
    hc.limits.pending = 32;
    hc.limits.pending_per_address = 32;
    hc.limits.header_timeout = 10;
    if (bh_http_start(&hc, &H, &e))
        fail_msg("http: %s", e.msg);
    atomic_store(&API.http, H);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bh_http_stop(H);
    bh_store_close(S);
    json_decref(API.agents_seen);
    pthread_mutex_destroy(&API.seen_mu);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* One request on its own connection; the status, and the body parsed
 * (NULL if empty or not JSON). */
static int request(const char *method, const char *path, const char *token, const char *body,
                   json_t **out)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)g_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    char req[4096], auth[256] = "";
    if (token)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    int n = snprintf(req, sizeof(req),
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                     method, path, auth, body ? strlen(body) : 0, body ? body : "");
    assert_true(n > 0 && (size_t)n < sizeof(req));
    assert_int_equal(send(fd, req, (size_t)n, MSG_NOSIGNAL), n);
    static char resp[1 << 16];
    size_t got = 0;
    ssize_t k;
    while ((k = recv(fd, resp + got, sizeof(resp) - 1 - got, 0)) > 0)
        got += (size_t)k;
    close(fd);
    resp[got] = '\0';
    int status = 0;
    if (sscanf(resp, "HTTP/1.1 %d", &status) != 1)
        fail_msg("no status line in: %.200s", resp);
    const char *b = strstr(resp, "\r\n\r\n");
    *out = NULL;
    if (b && b[4]) {
        /* the server answers with a length, never chunked, to these */
        json_error_t je;
        *out = json_loads(b + 4, 0, &je);
    }
    return status;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void test_auth_by_role(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(request("GET", "/api/v1/hosts", NULL, NULL, &j), 401);
    assert_string_equal(str(j, "type"), "urn:bootherd:problem:unauthenticated");
    json_decref(j);
    assert_int_equal(request("GET", "/api/v1/hosts", "bh_nonsense", NULL, &j), 401);
    json_decref(j);
    /* a viewer reads, but may not write: the route's need is operator */
    assert_int_equal(request("GET", "/api/v1/hosts", tok_viewer, NULL, &j), 200);
    json_decref(j);
    assert_int_equal(
        request("POST", "/api/v1/hosts", tok_viewer, "{\"mac\":\"00:00:00:00:00:09\"}", &j), 403);
    assert_string_equal(str(j, "type"), "urn:bootherd:problem:forbidden");
    assert_string_equal(str(j, "detail"), "token 'viewer1' has role viewer; this needs operator");
    json_decref(j);
    /* nobody below admin reads the tokens */
    assert_int_equal(request("GET", "/api/v1/tokens", tok_operator, NULL, &j), 403);
    json_decref(j);
    /* a public route needs nothing */
    assert_int_equal(request("GET", "/health", NULL, NULL, &j), 200);
    json_decref(j);
}

static void test_create_get_list(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(request("POST", "/api/v1/hosts", tok_operator,
                             "{\"mac\":\"00:00:00:00:00:01\",\"name\":\"pc01\"}", &j),
                     201);
    assert_string_equal(str(j, "name"), "pc01");
    json_decref(j);
    assert_int_equal(request("POST", "/api/v1/hosts", tok_operator,
                             "{\"mac\":\"00:00:00:00:00:02\",\"name\":\"pc02\"}", &j),
                     201);
    json_decref(j);
    assert_int_equal(request("GET", "/api/v1/hosts/pc01", tok_viewer, NULL, &j), 200);
    assert_string_equal(str(j, "mac"), "00:00:00:00:00:01");
    json_decref(j);
    /* by MAC too */
    assert_int_equal(request("GET", "/api/v1/hosts/00:00:00:00:00:02", tok_viewer, NULL, &j), 200);
    assert_string_equal(str(j, "name"), "pc02");
    json_decref(j);
    /* a page of one, then the rest from its cursor */
    assert_int_equal(request("GET", "/api/v1/hosts?limit=1", tok_viewer, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
    const char *next = str(j, "next");
    assert_non_null(next);
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/hosts?limit=1&after=%s", next);
    json_t *first = json_incref(json_array_get(json_object_get(j, "items"), 0));
    json_decref(j);
    assert_int_equal(request("GET", path, tok_viewer, NULL, &j), 200);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), 1);
    assert_string_not_equal(str(json_array_get(items, 0), "mac"), str(first, "mac"));
    json_decref(first);
    json_decref(j);
    /* all at once: both, and no next page */
    assert_int_equal(request("GET", "/api/v1/hosts", tok_viewer, NULL, &j), 200);
    assert_int_equal(json_array_size(json_object_get(j, "items")), 2);
    assert_true(json_is_null(json_object_get(j, "next")) || !json_object_get(j, "next"));
    json_decref(j);
}

static void test_bad_json_and_404(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(request("POST", "/api/v1/hosts", tok_operator, "{\"mac\": ", &j), 400);
    assert_string_equal(str(j, "type"), "urn:bootherd:problem:malformed-json");
    const char *d = str(j, "detail");
    assert_non_null(d);
    assert_non_null(strstr(d, "line 1, column"));
    json_decref(j);
    assert_int_equal(request("GET", "/api/v1/hosts/nosuchhost", tok_viewer, NULL, &j), 404);
    assert_string_equal(str(j, "type"), "urn:bootherd:problem:not-found");
    assert_string_equal(str(j, "instance"), "/api/v1/hosts/nosuchhost");
    json_decref(j);
    assert_int_equal(request("GET", "/api/v1/nothing-here", tok_viewer, NULL, &j), 404);
    json_decref(j);
    assert_int_equal(request("PUT", "/api/v1/hosts", tok_operator, "{}", &j), 405);
    json_decref(j);
}

/* What the router gets is decoded once by the server (RFC 3986 2.1); a
 * decoded NUL, a path that is not UTF-8 and an over-long head are refused
 * before any route. */
static void test_decoding_and_limits(void **state)
{
    (void)state;
    json_t *j;
    assert_int_equal(request("POST", "/api/v1/hosts", tok_operator,
                             "{\"mac\":\"00:00:00:00:00:03\",\"name\":\"pc03\"}", &j),
                     201);
    json_decref(j);
    assert_int_equal(request("GET", "/api/v1/hosts/pc%30%33", tok_viewer, NULL, &j), 200);
    assert_string_equal(str(j, "name"), "pc03");
    json_decref(j);
    assert_int_equal(request("GET", "/api/v1/hosts/pc03%00.json", tok_viewer, NULL, &j), 400);
    assert_string_equal(str(j, "type"), "urn:bootherd:problem:invalid-url");
    json_decref(j);
    assert_int_equal(request("GET", "/api/v1/hosts/%ff%fe", tok_viewer, NULL, &j), 400);
    json_decref(j);
    /* an encoded slash stays inside its segment: no such host, not another route */
    assert_int_equal(request("GET", "/api/v1/hosts/pc03%2F..%2F..", tok_viewer, NULL, &j), 404);
    json_decref(j);
    /* a segment longer than a parameter may be: no route */
    char path[600] = "/api/v1/hosts/";
    memset(path + strlen(path), 'a', 400);
    assert_int_equal(request("GET", path, tok_viewer, NULL, &j), 404);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auth_by_role),
        cmocka_unit_test(test_create_get_list),
        cmocka_unit_test(test_bad_json_and_404),
        cmocka_unit_test(test_decoding_and_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
