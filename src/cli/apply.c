/*
 * apply.c - `bootherd apply -f fleet.yaml [--dry-run] [--prune]`.
 *
 * The file declares rooms, profiles, groups, images and hosts.  Fields
 * written in the file are authoritative; fields left out are left alone.
 * apply validates everything first (reporting every error with its line and
 * column), then compares with the server, prints the difference and, unless
 * --dry-run, makes the server match.  Running it twice changes nothing.
 *
 * A LINBO devices.csv (named *.csv, or whose first line is ';'-separated
 * fields) is taken as well: rooms and hosts, the same mapping as `bootherd
 * migrate linbo` (devices.c).
 */
#include "cli.h"
#include "migrate.h"

#include "core/ini.h"
#include "core/str.h"
#include "model/model.h"
#include "model/startconf.h"
#include "yamlload.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ERRORS 50

/* sections in dependency order */
static const struct {
    const char *section;
    enum bh_kind kind;
} sections[] = {
    {"rooms", BH_KIND_ROOM},   {"profiles", BH_KIND_PROFILE}, {"groups", BH_KIND_GROUP},
    {"images", BH_KIND_IMAGE}, {"hosts", BH_KIND_HOST},
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

struct plan {
    const char *fname;
    const struct bh_yaml_pos *pos;
    int nerrors;
    /* per section: validated desired docs (only fields given) and full docs */
    json_t *want[NSECTIONS];
    json_t *full[NSECTIONS];
    int creates, updates, deletes, same;
};

static void report(struct plan *p, const char *path, const char *msg)
{
    int line = 0, col = 0;
    bh_yaml_pos_lookup(p->pos, path, &line, &col);
    if (p->nerrors++ < MAX_ERRORS)
        fprintf(stderr, "%s:%d:%d: %s: %s\n", p->fname, line, col, path, msg);
}

static const char *key_field(enum bh_kind k)
{
    return k == BH_KIND_HOST ? "mac" : "name";
}

/* "start_conf: |" text becomes "config" */
static int group_startconf(struct plan *p, json_t *obj, const char *path)
{
    json_t *sc = json_object_get(obj, "start_conf");
    if (!sc)
        return 0;
    char sub[256];
    snprintf(sub, sizeof(sub), "%s.start_conf", path);
    if (!json_is_string(sc)) {
        report(p, sub, "start_conf must be the text of a LINBO start.conf");
        return -1;
    }
    if (json_object_get(obj, "config")) {
        report(p, sub, "give either start_conf or config, not both");
        return -1;
    }
    json_t *conf = NULL, *warnings = NULL;
    struct bh_err e;
    if (bh_startconf_parse(json_string_value(sc), json_string_length(sc), &conf, &warnings, &e)) {
        report(p, sub, e.msg);
        return -1;
    }
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w)
    {
        int line = 0, col = 0;
        bh_yaml_pos_lookup(p->pos, sub, &line, &col);
        fprintf(stderr, "%s:%d:%d: warning: %s: %s\n", p->fname, line, col, sub,
                json_string_value(w));
    }
    json_decref(warnings);
    /* the text is kept beside the JSON, so the group's start.conf comes
     * back with its comments (a non-UTF-8 file is simply not kept) */
    if (bh_startconf_keep_text(conf, json_string_value(sc), json_string_length(sc), NULL)) {
        json_decref(conf);
        report(p, sub, "out of memory");
        return -1;
    }
    json_object_del(obj, "start_conf");
    json_object_set_new(obj, "config", conf);
    return 0;
}

static void validate_section(struct plan *p, size_t si, json_t *arr)
{
    const struct bh_kind_desc *k = bh_kind_get(sections[si].kind);
    p->want[si] = json_array();
    p->full[si] = json_array();
    if (!json_is_array(arr)) {
        report(p, sections[si].section, "expected a list");
        return;
    }
    json_t *seen = json_object();
    size_t i;
    json_t *obj;
    json_array_foreach(arr, i, obj)
    {
        char path[128];
        snprintf(path, sizeof(path), "%s[%zu]", sections[si].section, i);
        if (!json_is_object(obj)) {
            report(p, path, "expected a mapping of fields");
            continue;
        }
        if (sections[si].kind == BH_KIND_GROUP && group_startconf(p, obj, path))
            continue;
        json_t *full = NULL;
        struct bh_err e;
        if (bh_model_validate(k, obj, BH_V_CREATE, &full, &e)) {
            char sub[256];
            snprintf(sub, sizeof(sub), "%s%s%s", path, e.field[0] ? "." : "", e.field);
            report(p, sub, e.msg);
            continue;
        }
        const char *key = json_string_value(json_object_get(full, key_field(k->kind)));
        if (json_object_get(seen, key)) {
            char msg[256];
            snprintf(msg, sizeof(msg), "%s '%s' is declared twice", k->name, key);
            report(p, path, msg);
            json_decref(full);
            continue;
        }
        json_object_set_new(seen, key, json_true());
        /* only what the file says is compared later */
        json_t *given = json_object();
        const char *f;
        json_t *v;
        json_object_foreach(full, f, v) if (json_object_get(obj, f)) json_object_set(given, f, v);
        json_array_append_new(p->want[si], given);
        json_array_append_new(p->full[si], full);
    }
    json_decref(seen);
}

static int fetch_all(struct bh_cli *c, const struct bh_kind_desc *k, json_t **out)
{
    char path[128];
    json_t *items = NULL;
    snprintf(path, sizeof(path), "/api/v1/%s?limit=1000", k->plural);
    if (bh_cli_list_all(c, path, "apply", &items))
        return 1;
    json_t *all = json_object();
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
        json_object_set(all, json_string_value(json_object_get(o, key_field(k->kind))), o);
    json_decref(items);
    *out = all;
    return 0;
}

static void show_value(const json_t *v, char *out, size_t cap)
{
    char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    snprintf(out, cap, "%s", s ? s : "(unset)");
    if (strlen(out) > 60)
        memcpy(out + 57, "...", 4);
    free(s);
}

/* The fields of `want` that differ from `cur`, as a merge patch. */
static json_t *changes(const json_t *want, const json_t *cur)
{
    json_t *patch = json_object();
    const char *f;
    json_t *v;
    json_object_foreach((json_t *)want, f, v)
    {
        json_t *now = json_object_get(cur, f);
        if (now && json_equal(now, v))
            continue;
        if (!strcmp(f, "config") && json_is_object(now) && !json_object_get(v, "text")) {
            /* a config given as JSON leaves the kept start.conf text alone */
            json_t *bare = json_copy(now);
            json_object_del(bare, "text");
            bool same = bare && json_equal(bare, v);
            json_decref(bare);
            if (same)
                continue;
        }
        if (!strcmp(f, "labels") && json_is_object(now)) {
            /* labels in the file are the whole set: drop the others */
            json_t *l = json_deep_copy(v);
            const char *lk;
            json_t *lv;
            json_object_foreach(now, lk, lv) if (!json_object_get(v, lk))
                json_object_set_new(l, lk, json_null());
            json_object_set_new(patch, f, l);
            continue;
        }
        json_object_set(patch, f, v);
    }
    return patch;
}

/* One write; with `seen` (the object as planned) it only succeeds if the
 * object has not changed since the plan was made (If-Match its revision). */
static int write_obj(struct bh_cli *c, const char *method, const char *path, const json_t *doc,
                     const json_t *seen, int ok, const char *what)
{
    char etag[32] = "";
    if (seen)
        snprintf(etag, sizeof(etag), "\"%lld\"",
                 (long long)json_integer_value(json_object_get(seen, "rev")));
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    struct bh_resp r;
    struct bh_err e;
    int rc = bh_cli_request(c, method, path, NULL, body, body ? strlen(body) : 0,
                            seen ? etag : NULL, &r, &e);
    free(body);
    if (rc) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    if (r.status == 412)
        fprintf(stderr,
                "bootherd: %s changed on the server after the plan was made; run "
                "apply again\n",
                what);
    rc = r.status == ok ? 0 : bh_cli_fail_resp(what, r.status, r.body);
    bh_resp_free(&r);
    return rc;
}

static int sync_section(struct bh_cli *c, struct plan *p, size_t si, bool dry, json_t *cur)
{
    const struct bh_kind_desc *k = bh_kind_get(sections[si].kind);
    size_t i;
    json_t *want;
    json_array_foreach(p->want[si], i, want)
    {
        const char *key = json_string_value(json_object_get(want, key_field(k->kind)));
        json_t *now = json_object_get(cur, key);
        char esc[256], path[512], what[160];
        bh_cli_escape(key, esc, sizeof(esc));
        snprintf(what, sizeof(what), "%s %s", k->name, key);
        if (!now) {
            printf("+ %s\n", what);
            p->creates++;
            snprintf(path, sizeof(path), "/api/v1/%s", k->plural);
            if (!dry && write_obj(c, "POST", path, json_array_get(p->full[si], i), NULL, 201, what))
                return 1;
            continue;
        }
        json_t *patch = changes(want, now);
        if (json_object_size(patch) == 0) {
            p->same++;
            json_decref(patch);
            continue;
        }
        printf("~ %s\n", what);
        const char *f;
        json_t *v;
        json_object_foreach(patch, f, v)
        {
            char a[80], b[80];
            show_value(json_object_get(now, f), a, sizeof(a));
            show_value(json_object_get(want, f), b, sizeof(b));
            printf("    %s: %s -> %s\n", f, a, b);
        }
        p->updates++;
        snprintf(path, sizeof(path), "/api/v1/%s/%s", k->plural, esc);
        int rc = dry ? 0 : write_obj(c, "PATCH", path, patch, now, 200, what);
        json_decref(patch);
        if (rc)
            return rc;
    }
    return 0;
}

static int prune_section(struct bh_cli *c, struct plan *p, size_t si, bool dry, json_t *cur)
{
    const struct bh_kind_desc *k = bh_kind_get(sections[si].kind);
    const char *key;
    json_t *obj;
    json_object_foreach(cur, key, obj)
    {
        bool wanted = false;
        size_t i;
        json_t *w;
        json_array_foreach(
            p->want[si], i,
            w) if (!strcmp(key, json_string_value(json_object_get(w, key_field(k->kind))))) wanted =
            true;
        if (wanted)
            continue;
        char esc[256], path[512], what[160];
        snprintf(what, sizeof(what), "%s %s", k->name, key);
        printf("- %s\n", what);
        p->deletes++;
        bh_cli_escape(key, esc, sizeof(esc));
        snprintf(path, sizeof(path), "/api/v1/%s/%s", k->plural, esc);
        if (dry)
            continue;
        int rc = write_obj(c, "DELETE", path, NULL, obj, 204, what);
        if (rc)
            return rc;
    }
    return 0;
}

static int load_plan(struct plan *p, const char *file, json_t **root, struct bh_yaml_pos **pos)
{
    char *text;
    size_t len;
    struct bh_err e;
    if (bh_read_file(file, BH_YAML_MAX_BYTES, &text, &len, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 2;
    }
    int rc = bh_yaml_load(text, len, file, root, pos, &e);
    free(text);
    if (rc) {
        fprintf(stderr, "%s\n", e.msg);
        return 2;
    }
    p->pos = *pos;
    if (!json_is_object(*root)) {
        report(p, "", "the file must be a mapping with rooms, profiles, groups, images, hosts");
        return 2;
    }
    const char *key;
    json_t *v;
    json_object_foreach(*root, key, v)
    {
        bool known = false;
        for (size_t si = 0; si < NSECTIONS; si++)
            known |= !strcmp(key, sections[si].section);
        if (!known) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "unknown section '%.64s'; use rooms, profiles, groups, images, hosts", key);
            report(p, key, msg);
        }
    }
    for (size_t si = 0; si < NSECTIONS; si++) {
        json_t *arr = json_object_get(*root, sections[si].section);
        if (arr)
            validate_section(p, si, arr);
    }
    if (p->nerrors) {
        fprintf(stderr, "%s: %d error%s; nothing was changed\n", file, p->nerrors,
                p->nerrors == 1 ? "" : "s");
        return 2;
    }
    return 0;
}

/* A devices.csv: rooms and hosts as `migrate linbo` makes them; -1 when
 * file is not one. */
static int apply_csv(struct bh_cli *c, const char *file, bool dry, bool prune)
{
    char *text;
    size_t len;
    struct bh_err e;
    if (bh_read_file(file, BH_YAML_MAX_BYTES, &text, &len, &e))
        return -1; /* load_plan says why */
    bool csv = bh_devices_sniff(file, text, len);
    free(text);
    if (!csv)
        return -1;
    if (prune) {
        fprintf(stderr, "bootherd apply: --prune does not apply to a devices.csv (%s)\n", file);
        return 2;
    }
    struct bh_devices d;
    struct bh_mreport rep;
    bh_mreport_init(&rep, dry);
    int rc = bh_devices_load(c, file, NULL, &d);
    if (!rc)
        rc = bh_devices_commit(c, &d, dry, &rep);
    if (!rc)
        bh_mreport_print(&rep, c->json);
    bh_devices_free(&d);
    bh_mreport_free(&rep);
    return rc;
}

void bh_usage_apply(FILE *f)
{
    fprintf(f, "usage: bootherd apply -f FILE.yaml [--dry-run] [--prune]\n"
               "       bootherd apply -f devices.csv [--dry-run]   (LINBO's: rooms and hosts)\n");
}

int bh_cmd_apply(struct bh_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"file", required_argument, NULL, 'f'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"prune", no_argument, NULL, 'p'},
                                         {NULL, 0, NULL, 0}};
    const char *file = NULL;
    bool dry = false, prune = false;
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "f:n", opts, NULL)) != -1) {
        switch (ch) {
        case 'f': file = optarg; break;
        case 'n': dry = true; break;
        case 'p': prune = true; break;
        default: bh_usage_apply(stderr); return 2;
        }
    }
    if (!file || optind != argc + 1) {
        bh_usage_apply(stderr);
        return 2;
    }
    int crc = apply_csv(c, file, dry, prune);
    if (crc >= 0)
        return crc;
    struct plan p;
    memset(&p, 0, sizeof(p));
    p.fname = file;
    json_t *root = NULL;
    struct bh_yaml_pos *pos = NULL;
    json_t *cur[NSECTIONS] = {0};
    int rc = load_plan(&p, file, &root, &pos);
    for (size_t si = 0; si < NSECTIONS && !rc; si++)
        if (p.want[si])
            rc = fetch_all(c, bh_kind_get(sections[si].kind), &cur[si]);
    for (size_t si = 0; si < NSECTIONS && !rc; si++)
        if (p.want[si])
            rc = sync_section(c, &p, si, dry, cur[si]);
    /* deletions go the other way round: hosts before the groups they use */
    for (size_t si = NSECTIONS; prune && si-- > 0 && !rc;)
        if (p.want[si])
            rc = prune_section(c, &p, si, dry, cur[si]);
    if (!rc)
        printf("%s%d to create, %d to change, %d to delete, %d unchanged\n", dry ? "dry run: " : "",
               p.creates, p.updates, p.deletes, p.same);
    for (size_t si = 0; si < NSECTIONS; si++) {
        json_decref(p.want[si]);
        json_decref(p.full[si]);
        json_decref(cur[si]);
    }
    json_decref(root);
    bh_yaml_pos_free(pos);
    return rc;
}
