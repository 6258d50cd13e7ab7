/*
 * config.c - the table of bootherd.conf keys and its parser.
 */
#include "config.h"

#include "core/ini.h"
#include "core/log.h"
#include "core/net.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_MAX (1u << 20)

enum ctype { C_STR, C_INT, C_SIZE, C_LEVEL, C_ADDR };

struct ckey {
    const char *section, *key;
    enum ctype type;
    size_t off, size;
    int64_t min, max;
    const char *doc;
};

#define F(m) offsetof(struct bh_config, m), sizeof(((struct bh_config *)0)->m)

static const struct ckey keys[] = {
    {"server", "data", C_STR, F(data_dir), 0, 0, "data directory"},
    {"server", "user", C_STR, F(user), 0, 0, "user to run as after binding ports (root only)"},
    {"http", "listen", C_ADDR, F(http_listen), 0, 0, "API address:port"},
    {"http", "threads", C_INT, F(http_threads), 1, 256, "HTTP worker threads"},
    {"http", "max_body", C_SIZE, F(http_max_body), 1024, 1LL << 34, "largest request body"},
    {"http", "timeout", C_INT, F(http_timeout), 1, 3600, "idle connection timeout (s)"},
    {"log", "level", C_LEVEL, F(log_level), 0, 0, "debug, info, warn or error"},
    {"store", "readers", C_INT, F(store_readers), 1, 64, "SQLite reader connections"},
    {"store", "busy_timeout_ms", C_INT, F(busy_timeout_ms), 0, 600000, "SQLite busy timeout"},
    {"store", "events_keep", C_INT, F(events_keep), 1000, 100000000, "events kept for resume"},
};

void bh_config_defaults(struct bh_config *c)
{
    memset(c, 0, sizeof(*c));
    bh_strlcpy(c->data_dir, "./var", sizeof(c->data_dir));
    bh_strlcpy(c->http_listen, "127.0.0.1:8080", sizeof(c->http_listen));
    c->http_threads = 4;
    c->http_max_body = 1u << 20;
    c->http_timeout = 60;
    c->log_level = BH_LOG_INFO;
    c->store_readers = 8;
    c->busy_timeout_ms = 5000;
    c->events_keep = 100000;
}

struct parse_state {
    struct bh_config *c;
    const char *fname;
    char section[64];
};

static int on_section(void *ud, const char *name, int line, struct bh_err *err)
{
    struct parse_state *ps = ud;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        if (strcasecmp(keys[i].section, name) == 0) {
            bh_strlcpy(ps->section, keys[i].section, sizeof(ps->section));
            return 0;
        }
    }
    char where[BH_ERR_FIELD_MAX];
    snprintf(where, sizeof(where), "%s:%d", ps->fname, line);
    return bh_err_set(err, BH_EINVAL, where,
                      "%s:%d: unknown section [%s]; known: [server], [http], [log], [store]",
                      ps->fname, line, name);
}

static int on_kv(void *ud, const char *key, const char *value, int line, struct bh_err *err)
{
    struct parse_state *ps = ud;
    char where[BH_ERR_FIELD_MAX];
    snprintf(where, sizeof(where), "%s:%d", ps->fname, line);
    if (!ps->section[0])
        return bh_err_set(err, BH_EINVAL, where, "%s:%d: key '%s' outside of any [section]",
                          ps->fname, line, key);
    const struct ckey *k = NULL;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strcmp(keys[i].section, ps->section) && !strcasecmp(keys[i].key, key))
            k = &keys[i];
    if (!k)
        return bh_err_set(err, BH_EINVAL, where, "%s:%d: unknown key '%s' in [%s]", ps->fname, line,
                          key, ps->section);
    char *dst = (char *)ps->c + k->off;
    switch (k->type) {
    case C_STR:
    case C_ADDR:
        if (strlen(value) >= k->size)
            return bh_err_set(err, BH_EINVAL, where, "%s:%d: %s is too long", ps->fname, line, key);
        if (k->type == C_ADDR) {
            struct sockaddr_storage ss;
            socklen_t len;
            struct bh_err sub;
            if (bh_net_parse_hostport(value, &ss, &len, &sub))
                return bh_err_set(err, BH_EINVAL, where, "%s:%d: %s: %s", ps->fname, line, key,
                                  sub.msg);
        }
        bh_strlcpy(dst, value, k->size);
        return 0;
    case C_INT: {
        int64_t v;
        if (bh_parse_i64(value, k->min, k->max, &v))
            return bh_err_set(err, BH_EINVAL, where,
                              "%s:%d: %s must be an integer from %lld to %lld, got '%s'", ps->fname,
                              line, key, (long long)k->min, (long long)k->max, value);
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case C_SIZE: {
        uint64_t v;
        if (bh_parse_size(value, 1, &v) || v < (uint64_t)k->min || v > (uint64_t)k->max)
            return bh_err_set(err, BH_EINVAL, where,
                              "%s:%d: %s must be a size like 512K or 4M, got '%s'", ps->fname, line,
                              key, value);
        memcpy(dst, &v, sizeof(v));
        return 0;
    }
    case C_LEVEL: {
        int lv;
        if (bh_log_parse_level(value, &lv))
            return bh_err_set(err, BH_EINVAL, where,
                              "%s:%d: level must be debug, info, warn or error, got '%s'",
                              ps->fname, line, value);
        memcpy(dst, &lv, sizeof(lv));
        return 0;
    }
    }
    return 0;
}

int bh_config_parse(struct bh_config *c, const char *text, size_t len, const char *fname,
                    struct bh_err *err)
{
    /* parse into a copy so a bad file changes nothing */
    struct bh_config tmp = *c;
    struct parse_state ps = {&tmp, fname ? fname : "<config>", ""};
    struct bh_ini_cb cb = {on_section, on_kv};
    int rc = bh_ini_parse(text, len, ps.fname, 0, &cb, &ps, err);
    if (!rc)
        *c = tmp;
    return rc;
}

int bh_config_load(struct bh_config *c, const char *path, struct bh_err *err)
{
    char *text;
    size_t len;
    int rc = bh_read_file(path, CONFIG_MAX, &text, &len, err);
    if (rc)
        return rc;
    rc = bh_config_parse(c, text, len, path, err);
    free(text);
    return rc;
}
