/*
 * cmd_migrate.c - `bootherd migrate linbo`: a LINBO server's state into a
 * running bootherd, through its API, in one command.
 *
 *   SRV/start.conf.GROUP      group GROUP (created if missing), its
 *                             start.conf that file (PUT .../start.conf);
 *                             its OS entries' BaseImage name the images
 *   devices.csv               rooms and hosts (devices.c, shared with
 *                             `bootherd apply devices.csv`)
 *   SRV/images/NAME/NAME.*    image NAME, versions from .qcow2 then .qdiff
 *                             with .desc notes, the .postsync script
 *                             (migrate_images.c)
 *
 * Everything is read and checked first (each start.conf parsed, each
 * devices.csv line and the groups it names, the server's dry run of the
 * host import); with an error nothing is written.  Then groups, hosts and
 * images, each compared with what bootherd holds: what is there already
 * is left alone and reported unchanged, so a second run writes nothing
 * and a run cut off half way is finished by the next.  --dry-run reports
 * the same and writes nothing.  Owned by the LINBO migration (issue 11,
 * 1); docs/migrate-linbo.md.
 */
#include "migrate.h"

#include "core/ini.h"
#include "core/str.h"
#include "model/model.h"
#include "model/startconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_SRV     "/srv/linbo"
#define DEFAULT_DEVICES "/etc/linuxmuster/sophomorix/default-school/devices.csv"
#define SC_PREFIX       "start.conf."

void bh_usage_migrate(FILE *f)
{
    fprintf(f, "usage: bootherd migrate linbo [--dry-run] [--srv DIR] [--devices FILE] [--json]\n"
               "Brings a LINBO server over (docs/migrate-linbo.md): each DIR/start.conf.GROUP\n"
               "as group GROUP with that start.conf, devices.csv as rooms and hosts, and\n"
               "DIR/images/NAME/NAME.qcow2 (+ .qdiff, .desc, .postsync) as versions of image\n"
               "NAME.  What is there already is left alone: run it again to finish a run that\n"
               "was cut off; a second run changes nothing.\n"
               "  --dry-run        report what would be done, change nothing\n"
               "  --srv DIR        LINBO's directory (default " DEFAULT_SRV ")\n"
               "  --devices FILE   default " DEFAULT_DEVICES "\n"
               "  --json           the report as JSON\n");
}

/* one start.conf.GROUP, read and parsed */
struct group {
    char name[64];
    char file[320]; /* start.conf.NAME */
    char *text;
    size_t len;
    json_t *config;
};

struct mig {
    struct bh_cli *c;
    const char *srv;
    bool dry_run;
    struct group *groups;
    size_t ngroups;
    json_t *planned; /* group name -> true */
    json_t *images;  /* image name -> its folder, relative to srv */
    struct bh_mreport rep;
    int errors;
};

/* ---- reading ------------------------------------------------------------------- */

static int read_group(struct mig *m, const char *file)
{
    struct group g;
    memset(&g, 0, sizeof(g));
    bh_strlcpy(g.file, file, sizeof(g.file));
    const char *name = file + strlen(SC_PREFIX);
    if (!bh_name_ok(name) || strlen(name) >= sizeof(g.name)) {
        bh_mreport_add(&m->rep, BH_MR_SKIPPED, "file", file,
                       "'%s' is not a group name bootherd takes (letters, digits, '.', '_', "
                       "'-'; at most 63)",
                       name);
        return 0;
    }
    bh_strlcpy(g.name, name, sizeof(g.name));
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", m->srv, file);
    struct bh_err e;
    bh_err_clear(&e);
    json_t *warnings = NULL;
    if (bh_read_file(path, BH_STARTCONF_MAX, &g.text, &g.len, &e) ||
        bh_startconf_parse(g.text, g.len, &g.config, &warnings, &e) ||
        bh_startconf_keep_text(g.config, g.text, g.len, NULL)) {
        fprintf(stderr, "bootherd: migrate linbo: %s: %s\n", path, e.msg);
        m->errors++;
        free(g.text);
        return 0;
    }
    size_t i;
    json_t *w;
    json_array_foreach(warnings, i, w)
        fprintf(stderr, "warning: %s: %s\n", path, json_string_value(w));
    json_decref(warnings);
    struct group *ng = realloc(m->groups, (m->ngroups + 1) * sizeof(*ng));
    if (!ng) {
        free(g.text);
        json_decref(g.config);
        return 1;
    }
    m->groups = ng;
    m->groups[m->ngroups++] = g;
    json_object_set_new(m->planned, g.name, json_true());
    return 0;
}

/* the start.conf files of SRV: groups, and what else LINBO keeps there */
static int read_groups(struct mig *m)
{
    size_t n = 0, links = 0;
    char **v = bh_migrate_list_dir(m->srv, &n);
    if (!v) {
        fprintf(stderr, "bootherd: migrate linbo: --srv %s: %s\n", m->srv, strerror(errno));
        return 2;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (!strcmp(v[i], "start.conf"))
            bh_mreport_add(&m->rep, BH_MR_NOMEANING, "file", v[i],
                           "LINBO's start.conf for hosts in no group: no bootherd meaning yet "
                           "(bootherd boots them by its unknown_hosts setting)");
        else if (!strncmp(v[i], "start.conf-", 11))
            links++;
        else if (!strncmp(v[i], SC_PREFIX, strlen(SC_PREFIX)) && v[i][strlen(SC_PREFIX)])
            rc = read_group(m, v[i]);
    }
    if (links)
        bh_mreport_add(&m->rep, BH_MR_SKIPPED, "file", "start.conf-*",
                       "%zu per-host link%s: bootherd finds a host's start.conf through its "
                       "group",
                       links, links == 1 ? "" : "s");
    bh_migrate_free_list(v, n);
    return rc;
}

/* ---- groups ------------------------------------------------------------------------ */

/* "win10 (OS 1), ubuntu (OS 2)"; a BaseImage naming an image that is
 * neither in the tree nor in bootherd is reported */
static int links(struct mig *m, const struct group *g, char *out, size_t cap)
{
    out[0] = '\0';
    size_t i, used = 0;
    json_t *os;
    json_array_foreach(json_object_get(g->config, "os"), i, os)
    {
        const char *base = json_string_value(json_object_get(os, "base_image"));
        char name[64];
        if (!base || !bh_startconf_image(base, name, sizeof(name), NULL, 0))
            continue;
        int w = snprintf(out + used, cap - used, "%s%s (OS %zu)", used ? ", " : "", name, i + 1);
        if (w > 0 && (size_t)w < cap - used)
            used += (size_t)w;
        if (json_object_get(m->images, name))
            continue;
        long status = bh_cli_get_named(m->c, "images", name, NULL);
        if (status < 0)
            return 1;
        if (status == 404) {
            char what[160];
            snprintf(what, sizeof(what), "%s OS %zu", g->name, i + 1);
            bh_mreport_add(&m->rep, BH_MR_SKIPPED, "link", what,
                           "BaseImage %s names image %s, which is neither under %s/images nor "
                           "in bootherd: import it (bootherd image import %s FILE)",
                           base, name, m->srv, name);
        } else if (status != 200) {
            return bh_cli_fail_json("image", status, NULL);
        }
    }
    return 0;
}

static int put_startconf(struct mig *m, const struct group *g)
{
    char esc[256], path[512];
    bh_cli_escape(g->name, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/groups/%s/start.conf", esc);
    struct bh_resp r;
    struct bh_err e;
    if (bh_cli_request(m->c, "PUT", path, "text/plain", g->text, g->len, NULL, &r, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    int rc = r.status == 200 ? 0 : bh_cli_fail_resp(g->file, r.status, r.body);
    bh_resp_free(&r);
    return rc;
}

static int one_group(struct mig *m, const struct group *g)
{
    char linked[1024];
    if (links(m, g, linked, sizeof(linked)))
        return 1;
    json_t *cur;
    long status = bh_cli_get_named(m->c, "groups", g->name, &cur);
    if (status < 0)
        return 1;
    int rc = 0;
    const char *imgs = linked[0] ? linked : "none";
    if (status == 404) {
        bh_mreport_add(&m->rep, BH_MR_CREATED, "group", g->name, "start.conf from %s; images: %s",
                       g->file, imgs);
        if (!m->dry_run) {
            json_t *doc = json_pack("{s:s}", "name", g->name);
            rc = bh_cli_create(m->c, "groups", doc, "group");
            json_decref(doc);
            if (!rc)
                rc = put_startconf(m, g);
        }
    } else if (status != 200) {
        rc = bh_cli_fail_json("group", status, cur);
    } else if (json_equal(json_object_get(cur, "config"), g->config)) {
        bh_mreport_add(&m->rep, BH_MR_UNCHANGED, "group", g->name,
                       "start.conf as in %s; images: %s", g->file, imgs);
    } else {
        bh_mreport_add(&m->rep, BH_MR_CHANGED, "group", g->name, "start.conf from %s; images: %s",
                       g->file, imgs);
        if (!m->dry_run)
            rc = put_startconf(m, g);
    }
    json_decref(cur);
    return rc;
}

/* ---- the command ------------------------------------------------------------------- */

/* a usage mistake: one line saying what; 2 */
static int usage_err(const char *what)
{
    fprintf(stderr, "bootherd migrate: %s (see bootherd migrate --help)\n", what);
    return 2;
}

static int migrate(struct mig *m, const char *devices, bool devices_given)
{
    struct stat st;
    if (stat(m->srv, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "bootherd: migrate linbo: --srv %s: %s\n", m->srv,
                stat(m->srv, &st) < 0 ? strerror(errno) : "not a directory");
        return 2;
    }
    /* 1. read and check everything; nothing is written yet */
    int rc = read_groups(m);
    if (!rc)
        rc = bh_migrate_images_scan(m->srv, m->images, &m->rep);
    if (rc)
        return rc;
    struct bh_devices d;
    memset(&d, 0, sizeof(d));
    bool have_devices = devices_given || access(devices, F_OK) == 0;
    if (!have_devices)
        bh_mreport_add(&m->rep, BH_MR_SKIPPED, "file", devices,
                       "not found: no rooms or hosts brought over (name the file with --devices)");
    if (m->errors) {
        fprintf(stderr, "bootherd: migrate linbo: %d error%s; nothing was changed\n", m->errors,
                m->errors == 1 ? "" : "s");
        return 2;
    }
    if (have_devices && (rc = bh_devices_load(m->c, devices, m->planned, &d))) {
        bh_devices_free(&d);
        return rc;
    }
    /* 2. groups, then rooms and hosts (which name the groups), then images */
    for (size_t i = 0; i < m->ngroups && !rc; i++)
        rc = one_group(m, &m->groups[i]);
    if (!rc && have_devices)
        rc = bh_devices_commit(m->c, &d, m->dry_run, &m->rep);
    if (!rc)
        rc = bh_migrate_images(m->c, m->srv, m->images, m->dry_run, &m->rep);
    bh_devices_free(&d);
    bh_mreport_print(&m->rep, m->c->json);
    if (rc)
        fprintf(stderr,
                "bootherd: migrate linbo stopped before the end; what is listed above is done: "
                "run it again to finish\n");
    return rc;
}

int bh_cmd_migrate(struct bh_cli *c, int argc, char **argv)
{
    if (argc < 1)
        return usage_err("name what to migrate from: linbo");
    char msg[512];
    if (strcmp(argv[0], "linbo") != 0) {
        snprintf(msg, sizeof(msg), "unknown source '%.200s'; bootherd migrates from linbo",
                 argv[0]);
        return usage_err(msg);
    }
    struct mig m = {.c = c, .srv = DEFAULT_SRV, .planned = json_object(), .images = json_object()};
    const char *devices = DEFAULT_DEVICES;
    bool devices_given = false, dry = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--dry-run") || !strcmp(a, "-n")) {
            dry = true;
        } else if (!strcmp(a, "--srv") || !strcmp(a, "--devices")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                json_decref(m.planned);
                json_decref(m.images);
                snprintf(msg, sizeof(msg), "%s needs a value", a);
                return usage_err(msg);
            }
            if (a[2] == 's') {
                m.srv = argv[++i];
            } else {
                devices = argv[++i];
                devices_given = true;
            }
        } else {
            json_decref(m.planned);
            json_decref(m.images);
            if (bh_cli_is_option(a))
                return bh_cli_bad_option("migrate linbo", a);
            snprintf(msg, sizeof(msg), "unexpected argument '%.200s'", a);
            return usage_err(msg);
        }
    }
    bh_mreport_init(&m.rep, dry);
    m.dry_run = dry;
    int rc = migrate(&m, devices, devices_given);
    for (size_t i = 0; i < m.ngroups; i++) {
        free(m.groups[i].text);
        json_decref(m.groups[i].config);
    }
    free(m.groups);
    json_decref(m.planned);
    json_decref(m.images);
    bh_mreport_free(&m.rep);
    return rc;
}
