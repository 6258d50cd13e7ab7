/*
 * cmd_misc.c - `bootherd audit`, `events`, `whoami`.
 */
#include "cli.h"

#include "core/buf.h"
#include "core/str.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int get_json(struct bh_cli *c, const char *path, const char *what, json_t **out)
{
    long status;
    struct bh_err e;
    if (bh_cli_json(c, "GET", path, NULL, &status, out, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    if (status != 200) {
        int rc = bh_cli_fail_json(what, status, *out);
        json_decref(*out);
        *out = NULL;
        return rc;
    }
    return 0;
}

/* "--name value" pairs -> "&name=value" */
static int query_from_flags(int argc, char **argv, const char *const *allowed, struct bh_buf *q)
{
    char esc[512];
    for (int i = 0; i < argc; i += 2) { /* "--name value" pairs */
        bool ok = false;
        for (size_t a = 0; allowed[a]; a++)
            if (!strncmp(argv[i], "--", 2) && !strcmp(argv[i] + 2, allowed[a]))
                ok = true;
        if (!ok || i + 1 >= argc) {
            fprintf(stderr, "bootherd: unexpected '%s'\n", argv[i]);
            return 2;
        }
        bh_cli_escape(argv[i + 1], esc, sizeof(esc));
        if (bh_buf_printf(q, "&%s=%s", argv[i] + 2, esc)) {
            fprintf(stderr, "bootherd: query too long\n");
            return 2;
        }
    }
    return 0;
}

void bh_usage_audit(FILE *f)
{
    fprintf(f, "usage: bootherd audit [--kind K] [--key K] [--actor A] [--limit N] [--before ID]\n"
               "                     [--after CURSOR]\n");
}

void bh_usage_whoami(FILE *f)
{
    fprintf(f, "usage: bootherd whoami\n");
}

void bh_usage_events(FILE *f)
{
    fprintf(f, "usage: bootherd events [--since REV] [--follow] [--kind K] [--key K]\n");
}

void bh_usage_boot(FILE *f)
{
    fprintf(f, "usage: bootherd boot log HOST [--limit N]\n");
}

int bh_cmd_audit(struct bh_cli *c, int argc, char **argv)
{
    static const char *const allowed[] = {"kind", "key", "actor", "limit", "before", "after", NULL};
    struct bh_buf q;
    bh_buf_init(&q, 4096);
    int rc = query_from_flags(argc, argv, allowed, &q);
    if (rc) {
        bh_usage_audit(stderr);
        bh_buf_free(&q);
        return rc;
    }
    char path[4200];
    snprintf(path, sizeof(path), "/api/v1/audit?%s", q.p ? q.p + 1 : "");
    bh_buf_free(&q);
    json_t *out;
    if ((rc = get_json(c, path, "audit", &out)))
        return rc;
    if (c->json)
        bh_out_json(out);
    else
        bh_out_table("audit", json_object_get(out, "items"));
    json_decref(out);
    return 0;
}

int bh_cmd_whoami(struct bh_cli *c, int argc, char **argv)
{
    (void)argv;
    if (argc) {
        bh_usage_whoami(stderr);
        return 2;
    }
    json_t *out;
    int rc = get_json(c, "/api/v1/whoami", "whoami", &out);
    if (rc)
        return rc;
    if (c->json)
        bh_out_json(out);
    else
        bh_out_show(out);
    json_decref(out);
    return 0;
}

static void print_event(const json_t *ev, bool as_json)
{
    if (as_json) {
        char *s = json_dumps(ev, JSON_COMPACT);
        if (s)
            puts(s);
        free(s);
    } else {
        printf("%-8lld %s %-8s %-20s %-10s %s\n",
               (long long)json_integer_value(json_object_get(ev, "rev")),
               json_string_value(json_object_get(ev, "ts")),
               json_string_value(json_object_get(ev, "kind")),
               json_string_value(json_object_get(ev, "key")),
               json_string_value(json_object_get(ev, "type")),
               json_string_value(json_object_get(ev, "actor")));
    }
    fflush(stdout);
}

struct follow {
    bool json;
};

static int on_event(void *ud, const char *msg, size_t n, long long *rev)
{
    struct follow *f = ud;
    json_t *ev = json_loadb(msg, n, 0, NULL);
    if (!ev)
        return 0;
    *rev = (long long)json_integer_value(json_object_get(ev, "rev"));
    print_event(ev, f->json);
    json_decref(ev);
    return 0;
}

int bh_cmd_events(struct bh_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"since", required_argument, NULL, 's'},
                                         {"follow", no_argument, NULL, 'f'},
                                         {"kind", required_argument, NULL, 'k'},
                                         {"key", required_argument, NULL, 'K'},
                                         {NULL, 0, NULL, 0}};
    long long since = -1;
    bool follow = false;
    const char *kind = NULL, *key = NULL;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "s:f", opts, NULL)) != -1) {
        int64_t v;
        switch (ch) {
        case 's':
            if (bh_parse_i64(optarg, 0, INT64_MAX, &v)) {
                fprintf(stderr, "bootherd: --since wants a revision number\n");
                return 2;
            }
            since = v;
            break;
        case 'f': follow = true; break;
        case 'k': kind = optarg; break;
        case 'K': key = optarg; break;
        default: bh_usage_events(stderr); return 2;
        }
    }
    if (optind != argc + 1) {
        fprintf(stderr, "bootherd events: unexpected '%s'\n", argv[optind - 1]);
        bh_usage_events(stderr);
        return 2;
    }
    char q[512] = "", esc[256];
    size_t n = 0;
    if (kind) {
        bh_cli_escape(kind, esc, sizeof(esc));
        n += (size_t)snprintf(q + n, sizeof(q) - n, "&kind=%s", esc);
    }
    if (key) {
        bh_cli_escape(key, esc, sizeof(esc));
        snprintf(q + n, sizeof(q) - n, "&key=%s", esc);
    }
    if (follow && since < 0) { /* start from now, without a gap on reconnect */
        json_t *ready;
        int rc = get_json(c, "/ready", "ready", &ready);
        if (rc)
            return rc;
        since = (long long)json_integer_value(json_object_get(ready, "revision"));
        json_decref(ready);
    }
    if (follow) {
        struct follow f = {c->json};
        struct bh_err e;
        int rc = bh_ws_follow(c, q, since, on_event, &f, &e);
        if (rc)
            fprintf(stderr, "bootherd: %s\n", e.msg);
        return rc ? 1 : 0;
    }
    /* page through everything since `since` (default: the last 100) */
    long long from = since >= 0 ? since : -1;
    if (from < 0) {
        json_t *ready;
        int rc = get_json(c, "/ready", "ready", &ready);
        if (rc)
            return rc;
        from = (long long)json_integer_value(json_object_get(ready, "revision")) - 100;
        json_decref(ready);
        if (from < 0)
            from = 0;
    }
    /* with --json, one list {items, next} as every list command prints */
    json_t *all = json_array(), *next = NULL;
    for (;;) {
        char path[1024];
        snprintf(path, sizeof(path), "/api/v1/events?after=%lld%s", from, q);
        json_t *out;
        int rc = get_json(c, path, "events", &out);
        if (rc) {
            json_decref(all);
            json_decref(next);
            return rc;
        }
        size_t i;
        json_t *ev;
        json_array_foreach(json_object_get(out, "items"), i, ev)
        {
            if (c->json)
                json_array_append(all, ev);
            else
                print_event(ev, false);
        }
        json_decref(next);
        next = json_incref(json_object_get(out, "next"));
        json_decref(out);
        int64_t to;
        if (!json_is_string(next) || bh_parse_i64(json_string_value(next), 0, INT64_MAX, &to) ||
            to <= from)
            break;
        from = to;
    }
    if (c->json)
        bh_cli_out_page(all, next);
    json_decref(all);
    json_decref(next);
    return 0;
}

/* one line of detail for a boot event */
static void event_detail(const json_t *data, char *out, size_t cap)
{
    static const char *const keys[] = {
        "state",    "file",   "bytes", "ms",        "retransmits", "blksize", "windowsize",
        "ip",       "boot",   "why",   "interface", "mode",        "action",  "profile",
        "platform", "client", "error", "os",        NULL};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; keys[i] && n < cap; i++) {
        const json_t *v = json_object_get(data, keys[i]);
        if (!v || json_is_null(v))
            continue;
        if (json_is_string(v))
            n += (size_t)snprintf(out + n, cap - n, "%s%s=%s", n ? " " : "", keys[i],
                                  json_string_value(v));
        else if (json_is_integer(v))
            n += (size_t)snprintf(out + n, cap - n, "%s%s=%lld", n ? " " : "", keys[i],
                                  (long long)json_integer_value(v));
        else if (json_is_real(v))
            n += (size_t)snprintf(out + n, cap - n, "%s%s=%.1f", n ? " " : "", keys[i],
                                  json_real_value(v));
    }
}

/* `bootherd boot log HOST [--limit N]`: the host's timeline, oldest first */
int bh_cmd_boot(struct bh_cli *c, int argc, char **argv)
{
    int64_t limit = 50;
    if (argc < 2 || strcmp(argv[0], "log") != 0 ||
        (argc == 4 &&
         (strcmp(argv[2], "--limit") || bh_parse_i64(argv[3], 1, INT64_MAX, &limit))) ||
        (argc != 2 && argc != 4)) {
        bh_usage_boot(stderr);
        return 2;
    }
    if (bh_cli_is_option(argv[1]))
        return bh_cli_bad_option("boot log", argv[1]);
    char esc[256], path[512];
    bh_cli_escape(argv[1], esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/hosts/%s/events?limit=%lld", esc,
             (long long)(limit > 1000 ? 1000 : limit));
    json_t *out;
    int rc = get_json(c, path, "boot log", &out);
    if (rc)
        return rc;
    json_t *events = json_object_get(out, "items");
    if (c->json) {
        bh_out_json(out);
    } else {
        printf("boot log of %s\n", argv[1]);
        for (size_t i = json_array_size(events); i-- > 0;) {
            const json_t *ev = json_array_get(events, i);
            char detail[512];
            event_detail(json_object_get(ev, "data"), detail, sizeof(detail));
            printf("%s  %-12s %s\n", json_string_value(json_object_get(ev, "ts")),
                   json_string_value(json_object_get(ev, "type")), detail);
        }
    }
    json_decref(out);
    return 0;
}
