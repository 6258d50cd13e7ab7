/*
 * cmd_resource.c - `bootherd <kind> ls|add|show|set|rm` for every kind,
 * driven by the same field tables as the server.
 */
#include "cli.h"

#include "core/buf.h"
#include "core/ini.h"
#include "core/str.h"
#include "model/model.h"
#include "model/startconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 1000

static void settings_usage(FILE *f)
{
    fprintf(f, "usage: bootherd settings [show]      the run-time settings object\n"
               "       bootherd settings effective   what the boot services use now\n"
               "       bootherd settings set FIELD=VALUE ...   (FIELD= resets it to the "
               "config file's value)\n");
}

void bh_usage_resource(const char *kind, FILE *f)
{
    const struct bh_kind_desc *k = bh_kind_by_name(kind);
    if (!k)
        return;
    if (k->kind == BH_KIND_SETTINGS) {
        settings_usage(f);
        return;
    }
    const char *key = k->kind == BH_KIND_HOST ? "MAC|NAME" : "NAME";
    fprintf(f,
            "usage: bootherd %s ls [--FIELD VALUE] [-l SELECTOR] [--sort F[,-F]] [--limit N]\n"
            "       bootherd %s add %s [FIELD=VALUE ...] [--label K=V ...]\n"
            "       bootherd %s show %s\n"
            "       bootherd %s set %s FIELD=VALUE ... [--label K=V] [--unlabel K]\n"
            "       bootherd %s rm %s ...\n",
            k->name, k->name, k == bh_kind_get(BH_KIND_HOST) ? "MAC" : "NAME", k->name, key,
            k->name, key, k->name, key);
    if (k->kind == BH_KIND_GROUP)
        fprintf(f,
                "       bootherd group startconf NAME [-f FILE [--create]]   (--create: make the "
                "group if missing)\n");
    if (k->kind == BH_KIND_HOST)
        fprintf(f, "       bootherd host ticket MAC|NAME   (admin: a boot ticket by hand)\n");
    if (k->kind == BH_KIND_IMAGE)
        bh_usage_image(f);
    fprintf(f, "fields:");
    for (size_t i = 0; i < k->nfields; i++)
        if (!(k->fields[i].flags & (BH_FF_RO | BH_FF_INTERNAL)))
            fprintf(f, " %s", k->fields[i].name);
    fprintf(f, "\n");
}

static int usage(const struct bh_kind_desc *k)
{
    bh_usage_resource(k->name, stderr);
    return 2;
}

/* FIELD=VALUE -> JSON by the field's type; "" clears (null). */
static int field_value(const struct bh_kind_desc *k, const char *arg, json_t *doc)
{
    const char *eq = strchr(arg, '=');
    char name[64];
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
        fprintf(stderr, "bootherd: expected FIELD=VALUE, got '%s'\n", arg);
        return 2;
    }
    memcpy(name, arg, (size_t)(eq - arg));
    name[eq - arg] = '\0';
    const char *val = eq + 1;
    const struct bh_field *f = bh_kind_field(k, name);
    if (!f || (f->flags & BH_FF_INTERNAL)) {
        fprintf(stderr, "bootherd: a %s has no field '%s'\n", k->name, name);
        return 2;
    }
    json_t *v = NULL;
    if (!*val) {
        v = json_null();
    } else if (f->type == BH_F_INT) {
        int64_t n;
        if (bh_parse_i64(val, INT64_MIN, INT64_MAX, &n)) {
            fprintf(stderr, "bootherd: %s must be an integer, got '%s'\n", name, val);
            return 2;
        }
        v = json_integer(n);
    } else if (f->type == BH_F_BOOL) {
        bool b;
        if (bh_parse_bool(val, &b)) {
            fprintf(stderr, "bootherd: %s must be true or false, got '%s'\n", name, val);
            return 2;
        }
        v = json_boolean(b);
    } else if (f->type == BH_F_STRLIST) {
        v = json_array();
        for (const char *p = val; *p;) {
            const char *c = strchr(p, ',');
            size_t n = c ? (size_t)(c - p) : strlen(p);
            json_array_append_new(v, json_stringn(p, n));
            p += n + (c ? 1 : 0);
        }
    } else if (f->type == BH_F_OBJECT || f->type == BH_F_LABELS) {
        char *text = NULL;
        size_t len;
        struct bh_err e;
        if (val[0] == '@') {
            if (bh_read_file(val + 1, 16u << 20, &text, &len, &e)) {
                fprintf(stderr, "bootherd: %s\n", e.msg);
                return 2;
            }
            val = text;
        }
        json_error_t je;
        v = json_loads(val, 0, &je);
        free(text);
        if (!v) {
            fprintf(stderr, "bootherd: %s: not JSON (line %d: %s); use %s='{...}' or %s=@file\n",
                    name, je.line, je.text, name, name);
            return 2;
        }
    } else if ((f->flags & BH_FF_TEXT) && val[0] == '@') { /* a script from a file */
        char *text = NULL;
        size_t len;
        struct bh_err e;
        if (bh_read_file(val + 1, f->max_len ? f->max_len : 1024, &text, &len, &e)) {
            fprintf(stderr, "bootherd: %s: %s\n", name, e.msg);
            return 2;
        }
        v = json_stringn(text, len);
        free(text);
        if (!v) {
            fprintf(stderr, "bootherd: %s: %s is not UTF-8 text\n", name, val + 1);
            return 2;
        }
    } else {
        v = json_string(val);
    }
    json_object_set_new(doc, name, v);
    return 0;
}

static int label_arg(json_t *doc, const char *kv, bool remove)
{
    json_t *labels = json_object_get(doc, "labels");
    if (!labels) {
        labels = json_object();
        json_object_set_new(doc, "labels", labels);
    }
    if (remove) {
        json_object_set_new(labels, kv, json_null());
        return 0;
    }
    const char *eq = strchr(kv, '=');
    if (!eq) {
        fprintf(stderr, "bootherd: --label wants KEY=VALUE, got '%s'\n", kv);
        return 2;
    }
    char key[320];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    json_object_set_new(labels, key, json_string(eq + 1));
    return 0;
}

static int build_doc(const struct bh_kind_desc *k, int argc, char **argv, int from, json_t *doc)
{
    for (int i = from; i < argc; i++) {
        int rc;
        if (!strcmp(argv[i], "--label") || !strcmp(argv[i], "--unlabel")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bootherd: %s needs a value\n", argv[i]);
                return 2;
            }
            rc = label_arg(doc, argv[i + 1], argv[i][2] == 'u');
            i++;
        } else if (bh_cli_is_option(argv[i])) {
            rc = bh_cli_bad_option(k->name, argv[i]);
        } else {
            rc = field_value(k, argv[i], doc);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int cmd_ls(struct bh_cli *c, const struct bh_kind_desc *k, int argc, char **argv)
{
    struct bh_buf q;
    bh_buf_init(&q, 8192);
    char esc[1024], cursor[256] = "";
    long long limit = -1, offset = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *name = NULL;
        if (!strncmp(a, "--", 2) && i + 1 < argc)
            name = a + 2;
        else if (!strcmp(a, "-l") && i + 1 < argc)
            name = "selector";
        if (!name) {
            fprintf(stderr, "bootherd: unexpected '%s'\n", a);
            bh_buf_free(&q);
            return usage(k);
        }
        const char *v = argv[++i];
        int64_t n;
        if (!strcmp(name, "limit") || !strcmp(name, "offset")) {
            if (bh_parse_i64(v, 0, INT64_MAX, &n)) {
                fprintf(stderr, "bootherd: --%s wants a number\n", name);
                bh_buf_free(&q);
                return 2;
            }
            if (name[0] == 'l')
                limit = n;
            else
                offset = n;
            continue;
        }
        if (!strcmp(name, "after")) { /* a page's next, from an earlier --json */
            bh_cli_escape(v, cursor, sizeof(cursor));
            continue;
        }
        bh_cli_escape(v, esc, sizeof(esc));
        if (bh_buf_printf(&q, "&%s=%s", name, esc)) {
            fprintf(stderr, "bootherd: too many or too long filters\n");
            bh_buf_free(&q);
            return 2;
        }
    }
    /* page by page, each asking for the page after the last one's next */
    json_t *all = json_array(), *next = json_null();
    int rc = 0;
    for (;;) {
        long long want = limit < 0 ? PAGE : limit - (long long)json_array_size(all);
        if (want <= 0)
            break;
        if (want > PAGE)
            want = PAGE;
        char path[8192 + 512], from[300];
        if (cursor[0])
            snprintf(from, sizeof(from), "&after=%s", cursor);
        else
            snprintf(from, sizeof(from), "&offset=%lld", offset);
        snprintf(path, sizeof(path), "/api/v1/%s?limit=%lld%s%s", k->plural, want, from,
                 q.p ? q.p : "");
        long status;
        json_t *out = NULL;
        struct bh_err e;
        if (bh_cli_json(c, "GET", path, NULL, &status, &out, &e)) {
            fprintf(stderr, "bootherd: %s\n", e.msg);
            rc = 1;
            break;
        }
        if (status != 200) {
            rc = bh_cli_fail_json("list", status, out);
            json_decref(out);
            break;
        }
        json_array_extend(all, json_object_get(out, "items"));
        json_decref(next);
        next = json_incref(json_object_get(out, "next"));
        json_decref(out);
        if (!json_is_string(next))
            break;
        bh_cli_escape(json_string_value(next), cursor, sizeof(cursor));
    }
    bh_buf_free(&q);
    if (!rc) {
        if (c->json)
            bh_cli_out_page(all, next);
        else
            bh_out_table(k->plural, all);
    }
    json_decref(all);
    json_decref(next);
    return rc;
}

/* Before a start.conf is set: the group exists, or (create) is made now,
 * once the text (from file) is known to be a start.conf the server takes;
 * without create a missing group is an error saying so.  0, 1 or 2. */
static int group_exists(struct bh_cli *c, const char *name, bool create, const char *file,
                        const char *text, size_t len)
{
    long status = bh_cli_get_named(c, "groups", name, NULL);
    if (status < 0)
        return 1;
    if (status == 200)
        return 0;
    if (status != 404)
        return bh_cli_fail_json("group", status, NULL);
    if (!create) {
        fprintf(stderr,
                "bootherd group startconf: group '%s' does not exist; pass --create to create "
                "it with this start.conf\n",
                name);
        return 1;
    }
    json_t *conf = NULL;
    struct bh_err e;
    if (bh_startconf_parse(text, len, &conf, NULL, &e)) {
        fprintf(stderr, "bootherd group startconf: %s: %s; group '%s' was not created\n", file,
                e.msg, name);
        return 1;
    }
    json_decref(conf);
    json_t *doc = json_pack("{s:s}", "name", name);
    int rc = bh_cli_create(c, "groups", doc, "group");
    json_decref(doc);
    if (!rc)
        printf("group %s created\n", name);
    return rc;
}

static int cmd_startconf(struct bh_cli *c, int argc, char **argv)
{
    if (argc < 1)
        return usage(bh_kind_get(BH_KIND_GROUP));
    if (bh_cli_is_option(argv[0]))
        return bh_cli_bad_option("group startconf", argv[0]);
    char esc[256], path[512];
    bh_cli_escape(argv[0], esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/groups/%s/start.conf", esc);
    struct bh_resp r;
    struct bh_err e;
    int rc;
    bool create = false;
    if (argc == 4 && !strcmp(argv[3], "--create")) {
        create = true;
        argc--;
    } else if (argc == 4 && !strcmp(argv[1], "--create")) {
        create = true; /* NAME --create -f FILE */
        argv[1] = argv[2];
        argv[2] = argv[3];
        argc--;
    }
    if (argc == 3 && !strcmp(argv[1], "-f")) {
        char *text;
        size_t len;
        if (bh_read_file(argv[2], 1u << 20, &text, &len, &e)) {
            fprintf(stderr, "bootherd: %s\n", e.msg);
            return 2;
        }
        rc = group_exists(c, argv[0], create, argv[2], text, len);
        if (rc) {
            free(text);
            return rc;
        }
        rc = bh_cli_request(c, "PUT", path, "text/plain", text, len, NULL, &r, &e);
        free(text);
    } else if (argc == 1) {
        rc = bh_cli_request(c, "GET", path, NULL, NULL, 0, NULL, &r, &e);
    } else {
        return usage(bh_kind_get(BH_KIND_GROUP));
    }
    if (rc) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    if (r.status != 200) {
        rc = bh_cli_fail_resp("start.conf", r.status, r.body);
    } else if (argc == 1) {
        fwrite(r.body, 1, r.len, stdout);
    } else {
        json_t *g = json_loads(r.body, 0, NULL);
        size_t i;
        json_t *w;
        json_array_foreach(json_object_get(g, "warnings"), i, w)
            fprintf(stderr, "warning: %s\n", json_string_value(w));
        printf("start.conf of group %s updated\n", argv[0]);
        json_decref(g);
    }
    bh_resp_free(&r);
    return rc;
}

/* `bootherd group show NAME`: the group, its kept start.conf text as a
 * line count (`group startconf NAME` prints it), then the start.conf
 * notes (cross-check warnings, keys not acted on) one per line. */
static int group_show(struct bh_cli *c, const char *path, const char *name)
{
    long status = 0;
    json_t *g = NULL;
    struct bh_err e;
    if (bh_cli_json(c, "GET", path, NULL, &status, &g, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    int rc = status == 200 ? 0 : bh_cli_fail_json("show", status, g);
    if (!rc) {
        json_t *notes = json_incref(json_object_get(g, "startconf_notes"));
        json_t *conf = json_object_get(g, "config");
        const char *text = json_string_value(json_object_get(conf, "text"));
        json_object_del(g, "startconf_notes");
        if (text) {
            size_t lines = 0;
            for (const char *p = text; *p; p++)
                lines += *p == '\n';
            char what[160];
            snprintf(what, sizeof(what), "(%zu lines, with comments: bootherd group startconf %s)",
                     lines, name);
            json_object_set_new(conf, "text", json_string(what));
        }
        bh_out_show(g);
        size_t i;
        json_t *n;
        if (json_array_size(notes))
            printf("\nstart.conf notes:\n");
        json_array_foreach(notes, i, n) printf("  - %s\n", json_string_value(n));
        json_decref(notes);
    }
    json_decref(g);
    return rc;
}

/* `bootherd settings [show|effective]` and `bootherd settings set FIELD=VALUE ...` */
static int cmd_settings(struct bh_cli *c, const struct bh_kind_desc *k, int argc, char **argv)
{
    if (argc == 0 || (argc == 1 && !strcmp(argv[0], "show")))
        return bh_cli_show(c, "GET", "/api/v1/settings", NULL, "settings", 200);
    if (argc == 1 && !strcmp(argv[0], "effective"))
        return bh_cli_show(c, "GET", "/api/v1/settings/effective", NULL, "settings", 200);
    if (strcmp(argv[0], "set") != 0 || argc < 2) {
        settings_usage(stderr);
        return 2;
    }
    json_t *doc = json_object();
    int rc = build_doc(k, argc, argv, 1, doc);
    if (!rc)
        rc = bh_cli_do(c, "PATCH", "/api/v1/settings", doc, "settings", 200, "settings updated");
    json_decref(doc);
    return rc;
}

/* `bootherd host ticket HOST`: a boot ticket for a machine started without
 * the boot chain (pass it to `bootherd-agent run --ticket`) */
static int host_ticket(struct bh_cli *c, const char *hostpath)
{
    char path[1100];
    long status = 0;
    json_t *out = NULL;
    struct bh_err e;
    snprintf(path, sizeof(path), "%s/ticket", hostpath);
    if (bh_cli_json(c, "POST", path, NULL, &status, &out, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    int rc = status == 201 ? 0 : bh_cli_fail_json("ticket", status, out);
    if (!rc && c->json)
        bh_out_json(out);
    else if (!rc)
        printf("%s\n", json_string_value(json_object_get(out, "ticket")));
    json_decref(out);
    return rc;
}

int bh_cmd_resource(struct bh_cli *c, const char *kind, int argc, char **argv)
{
    const struct bh_kind_desc *k = bh_kind_by_name(kind);
    if (k && k->kind == BH_KIND_SETTINGS)
        return cmd_settings(c, k, argc, argv);
    if (k && k->kind == BH_KIND_IMAGE && argc >= 1) {
        int rc = bh_cmd_image(c, argc, argv);
        if (rc >= 0)
            return rc;
    }
    if (!k || argc < 1)
        return k ? usage(k) : 2;
    const char *verb = argv[0];
    char esc[512], path[1024];
    if (!strcmp(verb, "ls") || !strcmp(verb, "list"))
        return cmd_ls(c, k, argc - 1, argv + 1);
    if (k->kind == BH_KIND_GROUP && !strcmp(verb, "startconf"))
        return cmd_startconf(c, argc - 1, argv + 1);
    if (argc < 2)
        return usage(k);
    /* NAME (and every NAME of rm) is a name, never an option */
    for (int i = 1; i < argc && (i == 1 || !strcmp(verb, "rm") || !strcmp(verb, "delete")); i++)
        if (bh_cli_is_option(argv[i]))
            return bh_cli_bad_option(k->name, argv[i]);
    bh_cli_escape(argv[1], esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/%s/%s", k->plural, esc);
    if (!strcmp(verb, "show") || !strcmp(verb, "get")) {
        if (argc != 2)
            return usage(k);
        int rc = k->kind == BH_KIND_GROUP && !c->json
                     ? group_show(c, path, argv[1])
                     : bh_cli_show(c, "GET", path, NULL, "show", 200);
        if (!rc && k->kind == BH_KIND_HOST && !c->json) {
            char *a[] = {"log", argv[1], "--limit", "10", NULL};
            printf("\nrecent events:\n");
            rc = bh_cmd_boot(c, 4, a);
        }
        return rc;
    }
    if (k->kind == BH_KIND_HOST && !strcmp(verb, "ticket")) /* admin: a boot ticket by hand */
        return argc == 2 ? host_ticket(c, path) : usage(k);
    if (!strcmp(verb, "rm") || !strcmp(verb, "delete")) {
        for (int i = 1; i < argc; i++) {
            bh_cli_escape(argv[i], esc, sizeof(esc));
            snprintf(path, sizeof(path), "/api/v1/%s/%s", k->plural, esc);
            struct bh_resp r;
            struct bh_err e;
            if (bh_cli_request(c, "DELETE", path, NULL, NULL, 0, NULL, &r, &e)) {
                fprintf(stderr, "bootherd: %s\n", e.msg);
                return 1;
            }
            int rc = r.status == 204 ? 0 : bh_cli_fail_resp("rm", r.status, r.body);
            bh_resp_free(&r);
            if (rc)
                return rc;
            if (!c->json)
                printf("removed %s %s\n", k->name, argv[i]);
        }
        return 0;
    }
    json_t *doc = json_object();
    int rc;
    if (!strcmp(verb, "add") || !strcmp(verb, "create")) {
        const char *keyf = k->kind == BH_KIND_HOST ? "mac" : "name";
        char iname[256];
        if (k->kind == BH_KIND_IMAGE) { /* win11.qcow2 is image win11 */
            bh_cli_image_name(argv[1], iname, sizeof(iname));
            argv[1] = iname;
        }
        json_object_set_new(doc, keyf, json_string(argv[1]));
        rc = build_doc(k, argc, argv, 2, doc);
        if (!rc) {
            snprintf(path, sizeof(path), "/api/v1/%s", k->plural);
            char done[600];
            snprintf(done, sizeof(done), "added %s %s", k->name, argv[1]);
            rc = bh_cli_do(c, "POST", path, doc, "add", 201, done);
        }
    } else if (!strcmp(verb, "set") || !strcmp(verb, "update")) {
        rc = build_doc(k, argc, argv, 2, doc);
        if (!rc && json_object_size(doc) == 0) {
            fprintf(stderr, "bootherd: nothing to set\n");
            rc = 2;
        }
        if (!rc) {
            char done[600];
            snprintf(done, sizeof(done), "updated %s %s", k->name, argv[1]);
            rc = bh_cli_do(c, "PATCH", path, doc, "set", 200, done);
        }
    } else {
        fprintf(stderr, "bootherd: unknown command '%s %s'\n", k->name, verb);
        rc = usage(k);
    }
    json_decref(doc);
    return rc;
}
