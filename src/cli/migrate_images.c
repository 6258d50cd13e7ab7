/*
 * migrate_images.c - the images of a LINBO server into bootherd image
 * versions, for `bootherd migrate linbo`.
 *
 * LINBO 4.x keeps SRV/images/NAME/NAME.qcow2 (a partition), optionally
 * NAME.qdiff (an overlay on it), and sidecars beside them: .desc (the
 * admin's note), .postsync (a script run after a sync), .prestart, .reg
 * (a registry patch), .info and .torrent; older servers keep the same
 * files flat in SRV.  Each NAME becomes the bootherd image NAME (the name
 * a start.conf BaseImage "NAME.qcow2" names), the base its next version
 * and the overlay (read through its base, so the whole partition) the one
 * after, each with its .desc as note; the .postsync becomes the image's
 * postsync script.
 *
 * A file is imported only when its content is not a version of the image
 * already: the manifest is made locally (bh_cli_push's stop hook) and its
 * id compared with the versions' manifests, so a re-run sends nothing and
 * a run cut off half way resumes (an upload started before is resumed by
 * the server, chunks sent before are not sent again).  A dry run converts
 * and scans, and stops before sending.  Owned by the LINBO migration
 * (issue 11, 1).
 */
#include "migrate.h"

#include "core/ini.h"
#include "core/str.h"
#include "model/model.h"
#include "client/push.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOTE_MAX     4096
#define POSTSYNC_MAX 65536

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char **bh_migrate_list_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    *n = 0;
    if (!d)
        return NULL;
    size_t cap = 16;
    char **v = malloc(cap * sizeof(*v));
    struct dirent *de;
    while (v && (de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (*n == cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof(*v));
            if (!nv)
                break;
            v = nv;
        }
        v[(*n)++] = strdup(de->d_name);
    }
    closedir(d);
    if (v)
        qsort(v, *n, sizeof(*v), cmp_str);
    return v;
}

void bh_migrate_free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* ---- finding them ---------------------------------------------------------------- */

static void found(json_t *names, struct bh_mreport *rep, const char *name, const char *rel)
{
    if (!bh_name_ok(name)) {
        bh_mreport_add(rep, BH_MR_SKIPPED, "image", name,
                       "%s: not a name bootherd takes (letters, digits, '.', '_', '-'; at most "
                       "63)",
                       rel);
        return;
    }
    if (json_object_get(names, name)) {
        bh_mreport_add(rep, BH_MR_SKIPPED, "image", name,
                       "%s.qcow2: images/%s/ holds the same image and is the one imported", name,
                       name);
        return;
    }
    json_object_set_new(names, name, json_string(rel));
}

int bh_migrate_images_scan(const char *srv, json_t *names, struct bh_mreport *rep)
{
    char dir[4096], p[8192];
    snprintf(dir, sizeof(dir), "%s/images", srv);
    size_t n = 0;
    char **v = is_dir(dir) ? bh_migrate_list_dir(dir, &n) : NULL;
    for (size_t i = 0; i < n; i++) {
        snprintf(p, sizeof(p), "%s/%s", dir, v[i]);
        if (!is_dir(p))
            continue;
        snprintf(p, sizeof(p), "%s/%s/%s.qcow2", dir, v[i], v[i]);
        char rel[512];
        snprintf(rel, sizeof(rel), "images/%.255s", v[i]);
        if (is_file(p))
            found(names, rep, v[i], rel);
        else
            bh_mreport_add(rep, BH_MR_SKIPPED, "image", v[i], "%s has no %s.qcow2", rel, v[i]);
    }
    bh_migrate_free_list(v, n);
    /* the older flat layout: SRV/NAME.qcow2 */
    v = bh_migrate_list_dir(srv, &n);
    if (!v) {
        fprintf(stderr, "bootherd: migrate linbo: %s: %s\n", srv, strerror(errno));
        return 2;
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(v[i]);
        if (l <= 6 || !ends_with(v[i], ".qcow2"))
            continue;
        snprintf(p, sizeof(p), "%s/%s", srv, v[i]);
        if (!is_file(p))
            continue;
        v[i][l - 6] = '\0';
        found(names, rep, v[i], "");
    }
    bh_migrate_free_list(v, n);
    return 0;
}

/* ---- bringing them over -------------------------------------------------------- */

struct img {
    struct bh_cli *c;
    struct bh_mreport *rep;
    const char *name;
    char dir[4096];  /* SRV/REL */
    const char *rel; /* "images/NAME", or "" for the flat layout */
    bool dry_run;
    json_t *manifests; /* manifest id -> version */
    json_int_t hit;    /* the version the last scanned file is, or 0 */
    json_int_t next;   /* the number a new version gets, for a dry run's report */
};

/* a sidecar's text (trailing blanks and line ends removed) into *out
 * (caller frees), trying FILE.ext then NAME.ext; its file name into which */
static bool sidecar(const struct img *m, const char *file, const char *ext, size_t max, char **out,
                    char *which, size_t wcap)
{
    char p[8192];
    const char *first[2] = {file, m->name};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s/%s%s", m->dir, first[i], ext);
        size_t len;
        if (!is_file(p) || bh_read_file(p, max, out, &len, NULL))
            continue;
        while (len && strchr(" \t\r\n", (*out)[len - 1]))
            (*out)[--len] = '\0';
        snprintf(which, wcap, "%s%s%s%s", m->rel, *m->rel ? "/" : "", first[i], ext);
        return true;
    }
    return false;
}

static bool stop_known(void *ud, const char *hex)
{
    struct img *m = ud;
    m->hit = json_integer_value(json_object_get(m->manifests, hex));
    return m->hit || m->dry_run;
}

static int get_json(struct bh_cli *c, const char *path, long *status, json_t **out)
{
    struct bh_err e;
    if (bh_cli_json(c, "GET", path, NULL, status, out, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    return 0;
}

/* The image, created if missing; m->manifests from its versions. */
static int ensure(struct img *m, json_t **image)
{
    char esc[256], path[512];
    bh_cli_escape(m->name, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/images/%s", esc);
    long status;
    if (get_json(m->c, path, &status, image))
        return 1;
    if (status == 404) {
        json_decref(*image);
        *image = NULL;
        bh_mreport_add(m->rep, BH_MR_CREATED, "image", m->name, "from %s%s%s.qcow2", m->rel,
                       *m->rel ? "/" : "", m->name);
        if (m->dry_run)
            return 0;
        json_t *doc = json_pack("{s:s, s:s}", "name", m->name, "kind", "partition");
        struct bh_err e;
        int rc = bh_cli_json(m->c, "POST", "/api/v1/images", doc, &status, image, &e);
        json_decref(doc);
        if (rc) {
            fprintf(stderr, "bootherd: %s\n", e.msg);
            return 1;
        }
        return status == 201 ? 0 : bh_cli_fail_json("image", status, *image);
    }
    if (status != 200)
        return bh_cli_fail_json("image", status, *image);
    bh_mreport_add(m->rep, BH_MR_UNCHANGED, "image", m->name, "exists");
    json_t *vs = NULL;
    snprintf(path, sizeof(path), "/api/v1/images/%s/versions", esc);
    if (bh_cli_list_all(m->c, path, "versions", &vs))
        return 1;
    size_t i;
    json_t *v;
    json_array_foreach(vs, i, v)
    {
        json_int_t n = json_integer_value(json_object_get(v, "version"));
        const char *mf = json_string_value(json_object_get(v, "manifest"));
        if (mf)
            json_object_set_new(m->manifests, mf, json_integer(n));
        if (n >= m->next)
            m->next = n + 1;
    }
    json_decref(vs);
    return 0;
}

/* One file (NAME.qcow2 or NAME.qdiff) as a version, unless it is one. */
static int one_file(struct img *m, const char *file)
{
    char src[8192], which[8192], label[8192];
    snprintf(src, sizeof(src), "%s/%s", m->dir, file);
    snprintf(label, sizeof(label), "%s%s%s", m->rel, *m->rel ? "/" : "", file);
    char *note = NULL;
    bool has_note = sidecar(m, file, ".desc", NOTE_MAX, &note, which, sizeof(which));
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
    struct bh_push_opts o = {
        .name = m->name, .note = has_note ? note : NULL, .stop = stop_known, .ud = m};
    struct bh_push_stats st;
    memset(&st, 0, sizeof(st));
    struct bh_err e;
    bh_err_clear(&e);
    m->hit = 0;
    int rc = bh_cli_image_file(m->c, src, tmp, &o, &st, &e);
    if (rc) {
        fprintf(stderr, "bootherd: migrate linbo: %s: %s\n", label, e.msg[0] ? e.msg : "failed");
        free(note);
        return 1;
    }
    char ver[320];
    if (m->hit) {
        snprintf(ver, sizeof(ver), "%s@%lld", m->name, (long long)m->hit);
        bh_mreport_add(m->rep, BH_MR_UNCHANGED, "version", ver, "%s is this version already",
                       label);
    } else {
        json_int_t n = m->dry_run ? m->next : st.version;
        snprintf(ver, sizeof(ver), "%s@%lld", m->name, (long long)n);
        bh_mreport_add(m->rep, BH_MR_CREATED, "version", ver, "from %s%s%s%s", label,
                       has_note ? ", note from " : "", has_note ? which : "",
                       has_note ? "" : ", no .desc note");
        json_object_set_new(m->manifests, st.manifest, json_integer(n));
        m->next = n + 1;
    }
    free(note);
    return 0;
}

static int postsync(struct img *m, const json_t *image)
{
    char *text = NULL, which[8192], file[320];
    snprintf(file, sizeof(file), "%s.qcow2", m->name);
    if (!sidecar(m, file, ".postsync", POSTSYNC_MAX, &text, which, sizeof(which)))
        return 0;
    const char *now = json_string_value(json_object_get(image, "postsync"));
    int rc = 0;
    if (now && !strcmp(now, text)) {
        bh_mreport_add(m->rep, BH_MR_UNCHANGED, "image", m->name, "postsync script as in %s",
                       which);
    } else {
        bh_mreport_add(m->rep, BH_MR_CHANGED, "image", m->name, "postsync script set from %s",
                       which);
        if (!m->dry_run) {
            char esc[256], path[512];
            bh_cli_escape(m->name, esc, sizeof(esc));
            snprintf(path, sizeof(path), "/api/v1/images/%s", esc);
            json_t *doc = json_pack("{s:s}", "postsync", text), *out = NULL;
            long status;
            struct bh_err e;
            if (bh_cli_json(m->c, "PATCH", path, doc, &status, &out, &e)) {
                fprintf(stderr, "bootherd: %s\n", e.msg);
                rc = 1;
            } else if (status != 200) {
                rc = bh_cli_fail_json("postsync", status, out);
            }
            json_decref(doc);
            json_decref(out);
        }
    }
    free(text);
    return rc;
}

/* the rest of NAME's files: what bootherd does not take, and why */
static void others(struct img *m)
{
    size_t n = 0, nl = strlen(m->name);
    char **v = bh_migrate_list_dir(m->dir, &n);
    for (size_t i = 0; i < n; i++) {
        const char *f = v[i];
        char rel[8192];
        snprintf(rel, sizeof(rel), "%s%s%s", m->rel, *m->rel ? "/" : "", f);
        if (!strcmp(f, "backups") && *m->rel) {
            bh_mreport_add(m->rep, BH_MR_SKIPPED, "file", rel,
                           "older versions LINBO kept are not imported (bootherd image import "
                           "one if you need it)");
            continue;
        }
        if (strncmp(f, m->name, nl) != 0 || f[nl] != '.')
            continue;
        const char *rest = f + nl;
        if (!strcmp(rest, ".qcow2") || !strcmp(rest, ".qdiff") || ends_with(rest, ".desc") ||
            ends_with(rest, ".postsync"))
            continue; /* taken above */
        if (ends_with(rest, ".reg"))
            bh_mreport_add(m->rep, BH_MR_NOMEANING, "file", rel,
                           "a Windows registry patch LINBO applies after a sync: no bootherd "
                           "meaning yet (apply it from the postsync script)");
        else if (ends_with(rest, ".prestart"))
            bh_mreport_add(m->rep, BH_MR_NOMEANING, "file", rel,
                           "a script LINBO runs before the OS starts: no bootherd meaning yet");
        else if (ends_with(rest, ".info") || ends_with(rest, ".torrent"))
            bh_mreport_add(m->rep, BH_MR_SKIPPED, "file", rel,
                           "bootherd keeps its own sizes and content hashes; not needed");
        else
            bh_mreport_add(m->rep, BH_MR_SKIPPED, "file", rel, "not a file LINBO names");
    }
    bh_migrate_free_list(v, n);
}

static int one_image(struct bh_cli *c, const char *srv, const char *name, const char *rel,
                     bool dry_run, struct bh_mreport *rep)
{
    struct img m = {.c = c,
                    .rep = rep,
                    .name = name,
                    .rel = rel,
                    .dry_run = dry_run,
                    .manifests = json_object(),
                    .next = 1};
    snprintf(m.dir, sizeof(m.dir), "%s%s%s", srv, *rel ? "/" : "", rel);
    json_t *image = NULL;
    char file[320], p[8192];
    int rc = ensure(&m, &image);
    snprintf(file, sizeof(file), "%s.qcow2", name);
    if (!rc)
        rc = one_file(&m, file); /* the base before its overlay */
    snprintf(file, sizeof(file), "%s.qdiff", name);
    snprintf(p, sizeof(p), "%s/%s", m.dir, file);
    if (!rc && is_file(p))
        rc = one_file(&m, file);
    if (!rc)
        rc = postsync(&m, image);
    if (!rc)
        others(&m);
    json_decref(image);
    json_decref(m.manifests);
    return rc;
}

int bh_migrate_images(struct bh_cli *c, const char *srv, const json_t *names, bool dry_run,
                      struct bh_mreport *rep)
{
    size_t n = json_object_size(names), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return 1;
    const char *name;
    json_t *rel;
    json_object_foreach((json_t *)names, name, rel) keys[k++] = name;
    qsort(keys, n, sizeof(*keys), cmp_str);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = one_image(c, srv, keys[i], json_string_value(json_object_get(names, keys[i])), dry_run,
                       rep);
    free(keys);
    return rc;
}
