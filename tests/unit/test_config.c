/*
 * test_config.c - unit tests for bootherd.conf parsing (src/daemon/config.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/log.h"
#include "daemon/config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef BH_SRCDIR
#define BH_SRCDIR "."
#endif

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Field by field: struct copies need not copy padding. */
static void assert_config_equal(const struct bh_config *a, const struct bh_config *b)
{
    assert_string_equal(a->data_dir, b->data_dir);
    assert_string_equal(a->user, b->user);
    assert_string_equal(a->http_listen, b->http_listen);
    assert_string_equal(a->http_tls_cert, b->http_tls_cert);
    assert_string_equal(a->http_tls_key, b->http_tls_key);
    assert_string_equal(a->http_boot_listen, b->http_boot_listen);
    assert_int_equal(a->http_threads, b->http_threads);
    assert_true(a->http_max_body == b->http_max_body);
    assert_int_equal(a->http_timeout, b->http_timeout);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(a->http_conns[i], b->http_conns[i]);
        assert_int_equal(a->http_per_address[i], b->http_per_address[i]);
    }
    assert_int_equal(a->http_pending, b->http_pending);
    assert_int_equal(a->http_pending_per_address, b->http_pending_per_address);
    assert_int_equal(a->http_header_timeout, b->http_header_timeout);
    assert_int_equal(a->http_body_timeout, b->http_body_timeout);
    assert_true(a->http_body_min_rate == b->http_body_min_rate);
    assert_int_equal(a->http_ws_ping, b->http_ws_ping);
    assert_int_equal(a->http_ws_idle_close, b->http_ws_idle_close);
    assert_int_equal(a->log_level, b->log_level);
    assert_int_equal(a->store_readers, b->store_readers);
    assert_int_equal(a->busy_timeout_ms, b->busy_timeout_ms);
    assert_int_equal(a->events_keep, b->events_keep);
}

static int parse_n(struct bh_config *c, const char *text, size_t n, struct bh_err *err)
{
    bh_err_clear(err);
    return bh_config_parse(c, text, n, "admin-guide.md", err);
}

static int parse(struct bh_config *c, const char *text, struct bh_err *err)
{
    bh_err_clear(err);
    return bh_config_parse(c, text, strlen(text), "test.conf", err);
}

static void test_defaults(void **state)
{
    (void)state;
    struct bh_config c;
    memset(&c, 0xa5, sizeof(c));
    bh_config_defaults(&c);
    assert_string_equal(c.data_dir, "./var");
    assert_string_equal(c.user, "");
    assert_string_equal(c.http_listen, "127.0.0.1:8080");
    assert_int_equal(c.http_threads, 4);
    assert_int_equal(c.http_max_body, 1 << 20);
    assert_int_equal(c.http_timeout, 60);
    assert_int_equal(c.http_conns[0], 1024);
    assert_int_equal(c.http_conns[1], 1024);
    assert_int_equal(c.http_conns[2], 2048);
    assert_int_equal(c.http_per_address[0], 64);
    assert_int_equal(c.http_per_address[1], 32);
    assert_int_equal(c.http_per_address[2], 32);
    assert_int_equal(c.http_pending, 1024);
    assert_int_equal(c.http_pending_per_address, 32);
    assert_int_equal(c.http_header_timeout, 10);
    assert_int_equal(c.http_body_timeout, 20);
    assert_int_equal(c.http_body_min_rate, 500);
    assert_int_equal(c.http_ws_ping, 30);
    assert_int_equal(c.http_ws_idle_close, 90);
    assert_int_equal(c.log_level, BH_LOG_INFO);
    assert_int_equal(c.store_readers, 8);
    assert_int_equal(c.busy_timeout_ms, 5000);
    assert_int_equal(c.events_keep, 100000);

    /* an empty file, or one with only comments, changes nothing */
    struct bh_config d;
    bh_config_defaults(&d);
    struct bh_err err;
    assert_int_equal(parse(&d, "", &err), 0);
    assert_int_equal(parse(&d, "# nothing\n; here\n\n[http]\n", &err), 0);
    assert_config_equal(&c, &d);
}

static void test_every_key(void **state)
{
    (void)state;
    static const char text[] = "# bootherd.conf\n"
                               "[server]\n"
                               "data = /var/lib/bootherd\n"
                               "user = bootherd\n"
                               "[http]\n"
                               "listen = [::1]:9000\n"
                               "threads = 16\n"
                               "max_body = 4M\n"
                               "timeout = 120\n"
                               "api_connections = 100\n"
                               "boot_connections = 200\n"
                               "ws_connections = 300\n"
                               "api_per_address = 0\n"
                               "boot_per_address = 2\n"
                               "ws_per_address = 3\n"
                               "pending = 40\n"
                               "pending_per_address = 4\n"
                               "header_timeout = 5\n"
                               "body_timeout = 7\n"
                               "body_min_rate = 1K\n"
                               "ws_ping = 10\n"
                               "ws_idle_close = 25\n"
                               "tls_cert = tls/cert.pem\n"
                               "tls_key = tls/key.pem\n"
                               "boot_listen = [::1]:9001\n"
                               "[log]\n"
                               "level = debug\n"
                               "[store]\n"
                               "readers = 2\n"
                               "busy_timeout_ms = 250\n"
                               "events_keep = 5000\n";
    struct bh_config c;
    struct bh_err err;
    bh_config_defaults(&c);
    if (parse(&c, text, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(c.data_dir, "/var/lib/bootherd");
    assert_string_equal(c.user, "bootherd");
    assert_string_equal(c.http_listen, "[::1]:9000");
    assert_string_equal(c.http_tls_cert, "tls/cert.pem");
    assert_string_equal(c.http_tls_key, "tls/key.pem");
    assert_string_equal(c.http_boot_listen, "[::1]:9001");
    assert_int_equal(c.http_threads, 16);
    assert_int_equal(c.http_max_body, 4 << 20);
    assert_int_equal(c.http_timeout, 120);
    assert_int_equal(c.http_conns[0], 100);
    assert_int_equal(c.http_conns[1], 200);
    assert_int_equal(c.http_conns[2], 300);
    assert_int_equal(c.http_per_address[0], 0);
    assert_int_equal(c.http_per_address[1], 2);
    assert_int_equal(c.http_per_address[2], 3);
    assert_int_equal(c.http_pending, 40);
    assert_int_equal(c.http_pending_per_address, 4);
    assert_int_equal(c.http_header_timeout, 5);
    assert_int_equal(c.http_body_timeout, 7);
    assert_int_equal(c.http_body_min_rate, 1024);
    assert_int_equal(c.http_ws_ping, 10);
    assert_int_equal(c.http_ws_idle_close, 25);
    assert_int_equal(c.log_level, BH_LOG_DEBUG);
    assert_int_equal(c.store_readers, 2);
    assert_int_equal(c.busy_timeout_ms, 250);
    assert_int_equal(c.events_keep, 5000);

    /* sections and keys are case-insensitive; a later file overrides */
    assert_int_equal(parse(&c, "[HTTP]\nThreads = 8\n[Log]\nLEVEL = Warning\n", &err), 0);
    assert_int_equal(c.http_threads, 8);
    assert_int_equal(c.log_level, BH_LOG_WARN);
    assert_int_equal(c.http_timeout, 120); /* untouched */
    /* the same key twice: the last one wins */
    assert_int_equal(parse(&c, "[http]\ntimeout = 5\ntimeout = 6\n", &err), 0);
    assert_int_equal(c.http_timeout, 6);
}

static void test_limits_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t off;
        int64_t want;
    } v[] = {
        {"[http]\nthreads = 1", offsetof(struct bh_config, http_threads), 1},
        {"[http]\nthreads = 256", offsetof(struct bh_config, http_threads), 256},
        {"[http]\ntimeout = 1", offsetof(struct bh_config, http_timeout), 1},
        {"[http]\ntimeout = 3600", offsetof(struct bh_config, http_timeout), 3600},
        {"[store]\nreaders = 1", offsetof(struct bh_config, store_readers), 1},
        {"[store]\nreaders = 64", offsetof(struct bh_config, store_readers), 64},
        {"[store]\nbusy_timeout_ms = 0", offsetof(struct bh_config, busy_timeout_ms), 0},
        {"[store]\nbusy_timeout_ms = 600000", offsetof(struct bh_config, busy_timeout_ms), 600000},
        {"[store]\nevents_keep = 1000", offsetof(struct bh_config, events_keep), 1000},
        {"[store]\nevents_keep = 100000000", offsetof(struct bh_config, events_keep), 100000000},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        struct bh_config c;
        struct bh_err err;
        bh_config_defaults(&c);
        if (parse(&c, v[i].text, &err))
            fail_msg("'%s': %s", v[i].text, err.msg);
        int64_t got;
        memcpy(&got, (char *)&c + v[i].off, sizeof(got));
        assert_int_equal(got, v[i].want);
    }
    static const struct {
        const char *v;
        uint64_t want;
    } sizes[] = {
        {"1024", 1024}, {"1K", 1024}, {"512k", 512 << 10}, {"1MiB", 1 << 20}, {"16G", 16ull << 30},
    };
    for (size_t i = 0; i < N_ELEMS(sizes); i++) {
        char text[64];
        struct bh_config c;
        struct bh_err err;
        bh_config_defaults(&c);
        snprintf(text, sizeof(text), "[http]\nmax_body = %s\n", sizes[i].v);
        if (parse(&c, text, &err))
            fail_msg("'%s': %s", sizes[i].v, err.msg);
        assert_true(c.http_max_body == sizes[i].want);
    }
    static const char *const addrs[] = {
        ":8080", "0.0.0.0:0", "[::]:80", "192.0.2.1:65535", "[fe80::1]:443",
    };
    for (size_t i = 0; i < N_ELEMS(addrs); i++) {
        char text[128];
        struct bh_config c;
        struct bh_err err;
        bh_config_defaults(&c);
        snprintf(text, sizeof(text), "[http]\nlisten = %s\n", addrs[i]);
        if (parse(&c, text, &err))
            fail_msg("'%s': %s", addrs[i], err.msg);
        assert_string_equal(c.http_listen, addrs[i]);
    }
}

/* Every rejected value: the error names test.conf:LINE and says what is wrong,
 * and the struct is exactly as before. */
static void test_bad_values(void **state)
{
    (void)state;
    static const struct {
        const char *text, *field, *msg;
    } v[] = {
        /* out-of-range and malformed integers */
        {"[http]\nthreads = 0", "test.conf:2", "threads must be an integer from 1 to 256"},
        {"[http]\nthreads = 257", "test.conf:2", "from 1 to 256, got '257'"},
        {"[http]\nthreads = four", "test.conf:2", "got 'four'"},
        {"[http]\nthreads = 4x", "test.conf:2", "got '4x'"},
        {"[http]\nthreads =", "test.conf:2", "got ''"},
        {"[http]\ntimeout = 0", "test.conf:2", "timeout must be an integer from 1 to 3600"},
        {"[http]\ntimeout = 3601", "test.conf:2", "from 1 to 3600"},
        {"[http]\napi_connections = 0", "test.conf:2", "from 1 to 1000000"},
        {"[http]\nboot_connections = 1000001", "test.conf:2", "from 1 to 1000000"},
        {"[http]\nws_connections = -1", "test.conf:2", "from 1 to 1000000"},
        {"[http]\nws_per_address = -1", "test.conf:2", "from 0 to 1000000"},
        {"[http]\npending = 0", "test.conf:2", "pending must be an integer from 1"},
        {"[http]\npending_per_address = 0", "test.conf:2", "from 1 to 1000000"},
        {"[http]\nheader_timeout = 0", "test.conf:2", "from 1 to 3600"},
        {"[http]\nbody_timeout = 86401", "test.conf:2", "from 1 to 86400"},
        {"[http]\nbody_min_rate = 0", "test.conf:2", "body_min_rate must be a size"},
        {"[http]\nws_ping = 61", "test.conf:2", "ws_ping must be an integer from 1 to 60"},
        {"[http]\nws_idle_close = 1", "test.conf:2", "from 2 to 86400"},
        {"[http]\nws_ping = 30\nws_idle_close = 30", "ws_idle_close",
         "ws_idle_close (30 s) must be longer than ws_ping (30 s)"},
        {"[store]\nreaders = 0", "test.conf:2", "readers must be an integer from 1 to 64"},
        {"[store]\nreaders = 65", "test.conf:2", "from 1 to 64"},
        {"[store]\nbusy_timeout_ms = -1", "test.conf:2", "from 0 to 600000"},
        {"[store]\nbusy_timeout_ms = 600001", "test.conf:2", "from 0 to 600000"},
        {"[store]\nevents_keep = 999", "test.conf:2", "from 1000 to 100000000"},
        {"[store]\nevents_keep = 100000001", "test.conf:2", "from 1000 to 100000000"},
        {"[store]\nevents_keep = 99999999999999999999", "test.conf:2", "from 1000"},
        /* sizes */
        {"[http]\nmax_body = 1023", "test.conf:2", "max_body must be a size like 512K"},
        {"[http]\nmax_body = 17G", "test.conf:2", "got '17G'"},
        {"[http]\nmax_body = 1T", "test.conf:2", "got '1T'"},
        {"[http]\nmax_body = 1.5M", "test.conf:2", "got '1.5M'"},
        {"[http]\nmax_body = lots", "test.conf:2", "got 'lots'"},
        {"[http]\nmax_body = -1M", "test.conf:2", "got '-1M'"},
        /* levels */
        {"[log]\nlevel = verbose", "test.conf:2", "level must be debug, info, warn or error"},
        {"[log]\nlevel = 1", "test.conf:2", "got '1'"},
        /* listen addresses */
        {"[http]\nlisten = localhost:8080", "test.conf:2", "listen: 'localhost:8080' is not"},
        {"[http]\nlisten = 127.0.0.1", "test.conf:2", "is not an address:port"},
        {"[http]\nlisten = 127.0.0.1:65536", "test.conf:2", "is not an address:port"},
        {"[http]\nlisten = 127.0.0.1:-1", "test.conf:2", "is not an address:port"},
        {"[http]\nlisten = [::1]8080", "test.conf:2", "is not an address:port"},
        {"[http]\nlisten = :http", "test.conf:2", "is not an address:port"},
        {"[http]\nlisten = 300.1.1.1:80", "test.conf:2", "is not an address:port"},
        /* HTTPS */
        {"[http]\ntls_cert = a.pem", "tls_key", "tls_cert and tls_key go together"},
        {"[http]\ntls_key = k.pem", "tls_cert", "tls_cert and tls_key go together"},
        {"[http]\nboot_listen = 0.0.0.0:8081", "boot_listen", "without tls_cert and tls_key"},
        {"[http]\ntls_cert = a\ntls_key = b\nboot_listen = 8081", "test.conf:4",
         "boot_listen: '8081' is not"},
        {"[http]\ntls_cert = a\ntls_key = b\nboot_listen = no", "test.conf:4",
         "boot_listen: 'no' is not"},
        /* unknown sections and keys */
        {"[server]\n\n[bogus]\nx = 1", "test.conf:3",
         "test.conf:3: unknown section [bogus]; known: [server], [http], [log], [store]"},
        {"[http]\nbogus = 1", "test.conf:2", "test.conf:2: unknown key 'bogus' in [http]"},
        {"[server]\nthreads = 4", "test.conf:2", "unknown key 'threads' in [server]"},
        {"[log]\nlisten = :80", "test.conf:2", "unknown key 'listen' in [log]"},
        {"data = /x", "test.conf:1", "test.conf:1: key 'data' outside of any [section]"},
        /* syntax errors from the tokenizer */
        {"[http\nthreads = 2", "test.conf:1", "test.conf:1: section header without closing"},
        {"[http]\nthreads 2", "test.conf:2", "expected 'key = value'"},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        struct bh_config before, c;
        struct bh_err err;
        bh_config_defaults(&c);
        c.http_threads = 3; /* not a default: must survive */
        before = c;
        int rc = parse(&c, v[i].text, &err);
        if (rc != BH_EINVAL)
            fail_msg("'%s': rc %d, want EINVAL", v[i].text, rc);
        if (strcmp(err.field, v[i].field) != 0)
            fail_msg("'%s': field '%s', want '%s'", v[i].text, err.field, v[i].field);
        if (!strstr(err.msg, v[i].msg))
            fail_msg("'%s': message '%s' lacks '%s'", v[i].text, err.msg, v[i].msg);
        assert_config_equal(&before, &c);
    }
}

static void test_too_long_strings(void **state)
{
    (void)state;
    struct bh_config c, before;
    struct bh_err err;
    char text[PATH_MAX + 64];
    char val[PATH_MAX + 1];
    memset(val, 'a', sizeof(val) - 1);
    val[sizeof(val) - 1] = '\0';
    bh_config_defaults(&c);
    before = c;
    /* values past the struct's buffers are errors, not truncations */
    snprintf(text, sizeof(text), "[server]\nuser = %.64s\n", val);
    assert_int_equal(parse(&c, text, &err), BH_EINVAL);
    assert_non_null(strstr(err.msg, "user is too long"));
    snprintf(text, sizeof(text), "[server]\nuser = %.63s\n", val);
    assert_int_equal(parse(&c, text, &err), 0);
    assert_int_equal(strlen(c.user), 63);
    c = before;
    snprintf(text, sizeof(text), "[http]\nlisten = 1.2.3.4:%.200s\n", val);
    assert_int_equal(parse(&c, text, &err), BH_EINVAL);
    assert_string_equal(err.field, "test.conf:2");
    /* data is bounded by PATH_MAX, and lines by the tokenizer's limit */
    snprintf(text, sizeof(text), "[server]\ndata = /%.3000s\n", val);
    assert_int_equal(parse(&c, text, &err), 0);
    assert_int_equal(strlen(c.data_dir), 3001);
    snprintf(text, sizeof(text), "[server]\ndata = /%s\n", val);
    assert_int_equal(parse(&c, text, &err), BH_EINVAL);
    assert_string_equal(err.field, "test.conf:2");
    assert_int_equal(strlen(c.data_dir), 3001);
}

/* A file that fails halfway leaves everything before the error unapplied. */
static void test_bad_file_changes_nothing(void **state)
{
    (void)state;
    struct bh_config c, before;
    struct bh_err err;
    bh_config_defaults(&c);
    before = c;
    assert_int_equal(parse(&c,
                           "[server]\ndata = /srv\n[http]\nthreads = 16\nlisten = :9\n"
                           "[log]\nlevel = error\n[store]\nreaders = 99\n",
                           &err),
                     BH_EINVAL);
    assert_string_equal(err.field, "test.conf:9");
    assert_config_equal(&before, &c);
    assert_string_equal(c.data_dir, "./var");
}

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/bh-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "[http]\nthreads = 12\n[bogus]\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct bh_config c;
    struct bh_err err;
    bh_config_defaults(&c);
    assert_int_equal(bh_config_load(&c, path, &err), BH_EINVAL);
    /* messages name the real file and line */
    char where[64];
    snprintf(where, sizeof(where), "%s:3", path);
    assert_string_equal(err.field, where);
    assert_int_equal(c.http_threads, 4);
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, 20), 20);
    close(fd);
    assert_int_equal(bh_config_load(&c, path, &err), 0);
    assert_int_equal(c.http_threads, 12);
    unlink(path);
    assert_int_equal(bh_config_load(&c, path, &err), BH_ENOTFOUND);
}

/* HTTPS settings: both files or neither; the boot listener's default
 * follows listen's host. */
static void test_tls(void **state)
{
    (void)state;
    struct bh_config c;
    struct bh_err err;
    char b[128];
    bh_config_defaults(&c);
    assert_false(bh_config_tls(&c));
    assert_int_equal(parse(&c,
                           "[http]\nlisten = 0.0.0.0:443\ntls_cert = tls/cert.pem\n"
                           "tls_key = /etc/k.pem\n",
                           &err),
                     0);
    assert_true(bh_config_tls(&c));
    assert_string_equal(c.http_tls_cert, "tls/cert.pem");
    assert_string_equal(c.http_tls_key, "/etc/k.pem");
    assert_int_equal(bh_config_boot_listen(&c, b, sizeof(b), &err), 0);
    assert_string_equal(b, "0.0.0.0:8081");
    assert_int_equal(parse(&c, "[http]\nlisten = [::1]:8443\n", &err), 0);
    assert_int_equal(bh_config_boot_listen(&c, b, sizeof(b), &err), 0);
    assert_string_equal(b, "[::1]:8081");
    assert_int_equal(parse(&c, "[http]\nboot_listen = 192.0.2.1:80\n", &err), 0);
    assert_int_equal(bh_config_boot_listen(&c, b, sizeof(b), &err), 0);
    assert_string_equal(b, "192.0.2.1:80");
    assert_int_equal(parse(&c, "[http]\nboot_listen = OFF\n", &err), 0);
    assert_int_equal(bh_config_boot_listen(&c, b, sizeof(b), &err), 0);
    assert_string_equal(b, "");
    /* the default would take listen's own port */
    bh_config_defaults(&c);
    assert_int_equal(
        parse(&c, "[http]\nlisten = 127.0.0.1:8081\ntls_cert = c\ntls_key = k\n", &err), 0);
    assert_int_equal(bh_config_boot_listen(&c, b, sizeof(b), &err), BH_EINVAL);
    assert_non_null(strstr(err.msg, "set boot_listen"));
}

/* Comments after a value ('#' or ';' after whitespace) are no part of it;
 * a quoted value keeps them; a '#' inside a word is the value's. */
static void test_inline_comments(void **state)
{
    (void)state;
    struct bh_config c;
    struct bh_err err;
    bh_config_defaults(&c);
    assert_int_equal(parse(&c,
                           "[http]\nthreads = 12   # workers\nlisten = :8080\t; every address\n"
                           "[log]\nlevel = debug #\n[server]\nuser = \"a #b\"  # quoted\n"
                           "data = /srv/x#y\n",
                           &err),
                     0);
    assert_int_equal(c.http_threads, 12);
    assert_string_equal(c.http_listen, ":8080");
    assert_string_equal(c.user, "a #b");
    assert_string_equal(c.data_dir, "/srv/x#y");
    /* a comment does not hide a bad value */
    assert_int_equal(parse(&c, "[http]\nthreads = many # workers\n", &err), BH_EINVAL);
    assert_non_null(strstr(err.msg, "got 'many'"));
}

/* The example in docs/admin-guide.md loads as printed, comments and all. */
static void test_admin_guide_example(void **state)
{
    (void)state;
    const char *src = getenv("BH_SRCDIR") ? getenv("BH_SRCDIR") : BH_SRCDIR;
    char path[4096];
    snprintf(path, sizeof(path), "%s/docs/admin-guide.md", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char doc[1 << 20];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    fclose(f);
    doc[n] = '\0';
    char *start = strstr(doc, "```ini\n");
    assert_non_null(start);
    start += 7;
    char *end = strstr(start, "```");
    assert_non_null(end);
    struct bh_config c;
    struct bh_err err;
    bh_config_defaults(&c);
    if (parse_n(&c, start, (size_t)(end - start), &err))
        fail_msg("the admin guide's example: %s", err.msg);
    assert_string_equal(c.data_dir, "/var/lib/bootherd");
    assert_string_equal(c.http_listen, "127.0.0.1:8080");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),         cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_limits_accepted),  cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_too_long_strings), cmocka_unit_test(test_bad_file_changes_nothing),
        cmocka_unit_test(test_load_file),        cmocka_unit_test(test_tls),
        cmocka_unit_test(test_inline_comments),  cmocka_unit_test(test_admin_guide_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
