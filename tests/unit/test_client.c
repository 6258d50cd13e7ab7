/*
 * test_client.c - the HTTP client library (src/client) against a real
 * HTTP server in this process (libmicrohttpd on 127.0.0.1, an ephemeral
 * port): JSON requests and their status, a refusal as a bh_err, a refused
 * connection, httpsrc's retries, the token header, URL escaping and list
 * paging through "next".
 *
 * The server does not unescape URLs (a no-op unescaper), so a handler
 * sees exactly the path and query the client sent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "client/client.h"
#include "client/httpsrc.h"
#include "core/buf.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TOKEN "t0ken-for-tests"

/* What the server saw, for the tests to check (under mu: MHD answers on
 * its own thread). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char seen_auth[256];
static char seen_url[512];
static char seen_method[16];
static char seen_body[512];
static char seen_after[5][128]; /* the "after" of each list request */
static int list_calls;
static int chunk_calls; /* requests of the flaky chunk */

static struct MHD_Daemon *srv;
static char base[64]; /* http://127.0.0.1:PORT */

struct upload {
    char body[512];
    size_t len;
};

static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned st, const char *ctype,
                             const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ok = MHD_queue_response(c, st, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result list_page(struct MHD_Connection *c)
{
    const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    pthread_mutex_lock(&mu);
    if (list_calls < 5) /* the first five */
        snprintf(seen_after[list_calls], sizeof(seen_after[0]), "%s", after ? after : "");
    list_calls++;
    pthread_mutex_unlock(&mu);
    if (!after)
        return reply(c, 200, "application/json", "{\"items\":[1,2],\"next\":\"p 2/x\"}");
    if (!strcmp(after, "p%202%2Fx"))
        return reply(c, 200, "application/json", "{\"items\":[3],\"next\":\"p3\"}");
    if (!strcmp(after, "p3"))
        return reply(c, 200, "application/json", "{\"items\":[4],\"next\":null}");
    return reply(c, 400, "application/problem+json", "{\"title\":\"bad cursor\"}");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_len, void **state)
{
    (void)cls;
    (void)version;
    struct upload *u = *state;
    if (!u) {
        u = calloc(1, sizeof(*u));
        *state = u;
        return MHD_YES;
    }
    if (*data_len) {
        size_t n =
            *data_len < sizeof(u->body) - 1 - u->len ? *data_len : sizeof(u->body) - 1 - u->len;
        memcpy(u->body + u->len, data, n);
        u->len += n;
        *data_len = 0;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    pthread_mutex_lock(&mu);
    snprintf(seen_auth, sizeof(seen_auth), "%s", auth ? auth : "");
    snprintf(seen_url, sizeof(seen_url), "%s", url);
    snprintf(seen_method, sizeof(seen_method), "%s", method);
    snprintf(seen_body, sizeof(seen_body), "%s", u->body);
    pthread_mutex_unlock(&mu);

    if (!strcmp(url, "/api/v1/echo")) {
        /* {"got": the JSON body} */
        json_t *in = json_loads(u->body, 0, NULL);
        json_t *out = json_pack("{s:o}", "got", in ? in : json_null());
        char *s = json_dumps(out, JSON_COMPACT);
        enum MHD_Result ok = reply(c, 201, "application/json", s);
        free(s);
        json_decref(out);
        return ok;
    }
    if (!strcmp(url, "/api/v1/hosts/missing"))
        return reply(c, 404, "application/problem+json",
                     "{\"title\":\"not found\",\"detail\":\"no host missing\"}");
    if (!strcmp(url, "/api/v1/hosts/taken"))
        return reply(c, 409, "application/problem+json",
                     "{\"title\":\"conflict\",\"detail\":\"name in use\",\"field\":\"name\"}");
    if (!strcmp(url, "/api/v1/private"))
        return reply(c, 401, "application/problem+json", "{\"title\":\"unauthorized\"}");
    if (!strcmp(url, "/api/v1/list"))
        return list_page(c);
    if (!strncmp(url, "/api/v1/chunks/", 15)) {
        pthread_mutex_lock(&mu);
        int n = ++chunk_calls;
        pthread_mutex_unlock(&mu);
        if (!strcmp(url + 15, "00000000000000000000000000000000000000000000000000000000000000ff"))
            return reply(c, 404, "application/problem+json", "{\"title\":\"no such chunk\"}");
        /* restarting: twice 503, then the bytes */
        if (n <= 2)
            return reply(c, 503, "text/plain", "busy");
        return reply(c, 200, "application/zstd", "frame-bytes");
    }
    return reply(c, 200, "application/json", "{\"path\":\"other\"}");
}

static void done(void *cls, struct MHD_Connection *c, void **state,
                 enum MHD_RequestTerminationCode why)
{
    (void)cls;
    (void)c;
    (void)why;
    free(*state);
    *state = NULL;
}

static int setup(void **st)
{
    (void)st;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                           handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a,
                           MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
                           MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
    if (!srv)
        return -1;
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(srv, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)i->port);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    MHD_stop_daemon(srv);
    return 0;
}

/* A client of the test server; data points nowhere so nothing is read
 * from ./var. */
static void open_client(struct bh_cli *c, const char *url, const char *token)
{
    struct bh_err e;
    memset(c, 0, sizeof(*c));
    unsetenv("BOOTHERD_CACERT");
    unsetenv("BOOTHERD_PIN");
    assert_int_equal(bh_cli_setup(c, url, token, "/nonexistent", &e), 0);
}

static void test_json_request(void **st)
{
    (void)st;
    struct bh_cli c;
    open_client(&c, base, TOKEN);
    json_t *body = J("{'name':'pc01','n':3}"), *out = NULL;
    long status = 0;
    struct bh_err e;
    assert_int_equal(bh_cli_json(&c, "POST", "/api/v1/echo", body, &status, &out, &e), 0);
    assert_int_equal(status, 201);
    json_t *want = J("{'got':{'name':'pc01','n':3}}");
    assert_true(json_equal(out, want));
    pthread_mutex_lock(&mu);
    assert_string_equal(seen_method, "POST");
    assert_string_equal(seen_auth, "Bearer " TOKEN);
    pthread_mutex_unlock(&mu);
    json_decref(want);
    json_decref(out);
    json_decref(body);

    /* the raw request: status, body and Content-Type of the answer */
    struct bh_resp r;
    assert_int_equal(bh_cli_request(&c, "GET", "/api/v1/else", NULL, NULL, 0, NULL, &r, &e), 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"path\":\"other\"}");
    assert_string_equal(r.ctype, "application/json");
    bh_resp_free(&r);
    bh_cli_cleanup(&c);
    assert_string_equal(c.token, ""); /* wiped */
}

static void test_no_token_no_header(void **st)
{
    (void)st;
    struct bh_cli c;
    unsetenv("BOOTHERD_TOKEN");
    open_client(&c, base, "");
    long status = 0;
    json_t *out = NULL;
    struct bh_err e;
    assert_int_equal(bh_cli_json(&c, "GET", "/api/v1/else", NULL, &status, &out, &e), 0);
    pthread_mutex_lock(&mu);
    assert_string_equal(seen_auth, "");
    pthread_mutex_unlock(&mu);
    json_decref(out);
    bh_cli_cleanup(&c);
}

static void test_refusal_is_bh_err(void **st)
{
    (void)st;
    struct bh_cli c;
    open_client(&c, base, TOKEN);
    long status = 0;
    json_t *out = NULL;
    struct bh_err e;
    /* an answer is not a transport error: the caller reads the status */
    assert_int_equal(bh_cli_json(&c, "GET", "/api/v1/hosts/missing", NULL, &status, &out, &e), 0);
    assert_int_equal(status, 404);
    assert_int_equal(bh_client_problem("host show", status, out, &e), BH_ENOTFOUND);
    assert_int_equal(e.code, BH_ENOTFOUND);
    assert_string_equal(e.msg, "host show: not found (HTTP 404): no host missing");
    json_decref(out);

    assert_int_equal(bh_cli_json(&c, "GET", "/api/v1/hosts/taken", NULL, &status, &out, &e), 0);
    assert_int_equal(bh_client_problem("host add", status, out, &e), BH_ECONFLICT);
    assert_string_equal(e.msg, "host add: conflict (HTTP 409): name in use [field: name]");
    assert_string_equal(e.field, "name");
    json_decref(out);

    struct bh_resp r;
    assert_int_equal(bh_cli_request(&c, "GET", "/api/v1/private", NULL, NULL, 0, NULL, &r, &e), 0);
    assert_int_equal(bh_client_problem_resp("whoami", r.status, r.body, &e), BH_EAUTH);
    assert_string_equal(e.msg, "whoami: unauthorized (HTTP 401)");
    bh_resp_free(&r);
    /* a body that is not a problem: the status still says it */
    assert_int_equal(bh_client_problem_resp("x", 502, "<html>", &e), BH_EIO);
    assert_string_equal(e.msg, "x: failed (HTTP 502)");
    bh_cli_cleanup(&c);
}

/* A port nobody listens on: bound, then closed. */
static unsigned dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_refused_connection(void **st)
{
    (void)st;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", dead_port());
    struct bh_cli c;
    open_client(&c, url, TOKEN);
    long status = 0;
    json_t *out = NULL;
    struct bh_err e;
    assert_int_equal(bh_cli_json(&c, "GET", "/api/v1/hosts", NULL, &status, &out, &e), BH_EIO);
    assert_non_null(strstr(e.msg, "cannot reach bootherd at "));
    assert_non_null(strstr(e.msg, url));
    bh_cli_cleanup(&c);

    /* httpsrc retries a refused connection, then gives up saying so */
    struct bh_httpsrc *s;
    struct bh_httpsrc_opts o = {.server = url, .token = TOKEN, .retry_secs = 1, .stall_secs = 2};
    assert_int_equal(bh_httpsrc_open(&o, &s, &e), 0);
    uint8_t id[BH_SHA256_LEN] = {0};
    struct bh_buf z;
    bh_buf_init(&z, 1 << 20);
    assert_int_equal(bh_httpsrc_fetch(s, id, &z, &e), BH_EIO);
    assert_non_null(strstr(e.msg, "has not answered"));
    assert_true(bh_httpsrc_retries(s) >= 1);
    bh_buf_free(&z);
    bh_httpsrc_close(s);
}

static void test_httpsrc_retries(void **st)
{
    (void)st;
    struct bh_httpsrc *s;
    struct bh_err e;
    struct bh_httpsrc_opts o = {.server = base, .token = TOKEN, .retry_secs = 30};
    assert_int_equal(bh_httpsrc_open(&o, &s, &e), 0);
    pthread_mutex_lock(&mu);
    chunk_calls = 0;
    pthread_mutex_unlock(&mu);
    uint8_t id[BH_SHA256_LEN];
    memset(id, 0xab, sizeof(id));
    struct bh_buf z;
    bh_buf_init(&z, 1 << 20);
    /* two 503s are retried; the third answer is the chunk */
    assert_int_equal(bh_httpsrc_fetch(s, id, &z, &e), 0);
    assert_int_equal(z.len, strlen("frame-bytes"));
    assert_memory_equal(z.p, "frame-bytes", z.len);
    assert_int_equal(bh_httpsrc_retries(s), 2);
    pthread_mutex_lock(&mu);
    assert_int_equal(chunk_calls, 3);
    assert_string_equal(seen_auth, "Bearer " TOKEN);
    assert_string_equal(seen_url,
                        "/api/v1/chunks/"
                        "abababababababababababababababababababababababababababababababab");
    pthread_mutex_unlock(&mu);
    /* a 404 is not retried */
    memset(id, 0, sizeof(id));
    id[BH_SHA256_LEN - 1] = 0xff;
    assert_int_equal(bh_httpsrc_fetch(s, id, &z, &e), BH_ENOTFOUND);
    assert_int_equal(bh_httpsrc_retries(s), 2);
    bh_buf_free(&z);
    bh_httpsrc_close(s);
}

static void test_escape(void **st)
{
    (void)st;
    char out[64];
    bh_cli_escape("pc 01/a?b&c=d%", out, sizeof(out));
    assert_string_equal(out, "pc%2001%2Fa%3Fb%26c%3Dd%25");
    bh_cli_escape("A-z_0.9~:", out, sizeof(out));
    assert_string_equal(out, "A-z_0.9~:");
    bh_cli_escape("\xc3\xa9", out, sizeof(out));
    assert_string_equal(out, "%C3%A9");
    /* cut short, never mid-escape, always terminated */
    bh_cli_escape("////////", out, 9);
    assert_string_equal(out, "%2F%2F");

    /* what the server receives, byte for byte */
    struct bh_cli c;
    open_client(&c, base, TOKEN);
    char esc[64], path[128];
    bh_cli_escape("a b/c", esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/hosts/%s", esc);
    long status = 0;
    json_t *o = NULL;
    struct bh_err e;
    assert_int_equal(bh_cli_json(&c, "GET", path, NULL, &status, &o, &e), 0);
    pthread_mutex_lock(&mu);
    assert_string_equal(seen_url, "/api/v1/hosts/a%20b%2Fc");
    pthread_mutex_unlock(&mu);
    json_decref(o);
    bh_cli_cleanup(&c);
}

static void test_list_paging(void **st)
{
    (void)st;
    struct bh_cli c;
    open_client(&c, base, TOKEN);
    pthread_mutex_lock(&mu);
    list_calls = 0;
    pthread_mutex_unlock(&mu);
    json_t *items = NULL;
    struct bh_err e;
    assert_int_equal(bh_client_list_all(&c, "/api/v1/list", "host ls", &items, &e), 0);
    json_t *want = J("[1,2,3,4]");
    assert_true(json_equal(items, want));
    json_decref(want);
    json_decref(items);
    pthread_mutex_lock(&mu);
    assert_int_equal(list_calls, 3);
    assert_string_equal(seen_after[0], "");
    assert_string_equal(seen_after[1], "p%202%2Fx"); /* the cursor, escaped */
    assert_string_equal(seen_after[2], "p3");
    pthread_mutex_unlock(&mu);

    /* a query already in the path: the cursor is appended with & */
    assert_int_equal(bh_client_list_all(&c, "/api/v1/list?kind=pc", "host ls", &items, &e), 0);
    assert_int_equal(json_array_size(items), 4);
    json_decref(items);
    pthread_mutex_lock(&mu);
    assert_int_equal(list_calls, 6);
    pthread_mutex_unlock(&mu);

    /* a refused page: the whole list fails with the server's problem */
    assert_int_equal(bh_client_list_all(&c, "/api/v1/list?after=bogus", "host ls", &items, &e),
                     BH_EINVAL);
    assert_null(items);
    assert_string_equal(e.msg, "host ls: bad cursor (HTTP 400)");
    bh_cli_cleanup(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_request),      cmocka_unit_test(test_no_token_no_header),
        cmocka_unit_test(test_refusal_is_bh_err), cmocka_unit_test(test_refused_connection),
        cmocka_unit_test(test_httpsrc_retries),   cmocka_unit_test(test_escape),
        cmocka_unit_test(test_list_paging),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
