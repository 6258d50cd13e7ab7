/*
 * startconf_notes.c - what an admin should know about a group's start.conf
 * beyond "it parses": cross-checks between sections, keys bootherd keeps
 * but does not act on, keeping the admin's own text beside the JSON, and
 * the image an OS entry's BaseImage names.
 * Owner: the start.conf module.
 *
 * Errors and warnings, and why (docs/startconf.md "Cross-checks"):
 *   - the same Dev twice is an error (in parse and validate, startconf.c):
 *     LINBO, and bootherd's partition step, would write one partition
 *     twice, and the partition table can not be written at all;
 *   - Cache or an OS's Root that is no [Partition] Dev is a warning: LINBO
 *     loads such a file and only fails when a step needs the partition, and
 *     a partition outside the layout (a second disk) can exist on purpose;
 *   - a BaseImage naming no image in the store is a warning: images are
 *     often imported after the groups are.
 */
#include "model/startconf.h"
#include "model/startconf_int.h"

#include "core/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 2, 3))) static int note(json_t *notes, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_array_append_new(notes, json_string(msg)) ? BH_ENOMEM : 0;
}

static bool in_layout(const json_t *conf, const char *dev)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(conf, "partitions"), i, p)
    {
        const char *d = json_string_value(json_object_get(p, "dev"));
        if (d && strcmp(d, dev) == 0)
            return true;
    }
    return false;
}

/* A key LINBO acts on and bootherd does not: what bootherd does instead. */
struct idle {
    const char *json, *name, *instead;
};

static const struct idle idle_linbo[] = {
    {"auto_partition", "AutoPartition",
     "bootherd partitions only when a job has the partition step"},
    {"auto_format", "AutoFormat", "bootherd formats only when a job has a format step"},
    {"auto_init_cache", "AutoInitCache",
     "bootherd fills the cache only when a job has the initcache step"},
    {"download_type", "DownloadType", "bootherd's clients always fetch images over HTTP"},
    {"kernel_options", "KernelOptions",
     "the client's kernel command line comes from the boot profile"},
};

static const struct idle idle_os[] = {
    {"restore_opsi_state", "RestoreOpsiState", "bootherd has no opsi integration"},
    {"force_opsi_setup", "ForceOpsiSetup", "bootherd has no opsi integration"},
};

/* Set means: a bool that is yes, a string that is not empty. */
static int idle_keys(json_t *notes, const json_t *obj, const struct idle *t, size_t n,
                     const char *where)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const json_t *v = json_object_get(obj, t[i].json);
        const char *s = json_is_true(v) ? "yes" : json_string_value(v);
        if (s && *s)
            rc = note(notes, "%s %s = %.64s: not acted on (%s)", where, t[i].name, s, t[i].instead);
    }
    return rc;
}

int bh_startconf_notes(const json_t *conf, bh_startconf_image_fn has_image, void *ud, json_t *notes)
{
    const json_t *l = json_object_get(conf, "linbo");
    bool layout = json_array_size(json_object_get(conf, "partitions")) > 0;
    const char *cache = json_string_value(json_object_get(l, "cache"));
    int rc = 0;
    if (layout && cache && !strncmp(cache, "/dev/", 5) && !in_layout(conf, cache))
        rc = note(notes,
                  "[LINBO] Cache %s is not a [Partition] Dev: initcache and syncs through the "
                  "cache fail unless the disk already has it",
                  cache);
    if (!rc)
        rc = idle_keys(notes, l, idle_linbo, sizeof(idle_linbo) / sizeof(idle_linbo[0]), "[LINBO]");
    size_t i;
    json_t *os;
    json_array_foreach(json_object_get(conf, "os"), i, os)
    {
        char where[128], name[256];
        snprintf(where, sizeof(where), "[OS] %zu (%.64s):", i + 1,
                 json_string_value(json_object_get(os, "name")));
        const char *root = json_string_value(json_object_get(os, "root"));
        const char *base = json_string_value(json_object_get(os, "base_image"));
        if (!rc && layout && root && *root && !in_layout(conf, root))
            rc = note(notes,
                      "%s Root %s is not a [Partition] Dev: sync and new fail unless the disk "
                      "already has it",
                      where, root);
        if (!rc && has_image && base && *base &&
            bh_startconf_image(base, name, sizeof(name), NULL, 0) && !has_image(ud, name))
            rc = note(notes,
                      "%s BaseImage %.64s: no image '%s' in the store yet (import it before a "
                      "sync)",
                      where, base, name);
        if (!rc)
            rc = idle_keys(notes, os, idle_os, sizeof(idle_os) / sizeof(idle_os[0]), where);
    }
    return rc;
}

int bh_startconf_keep_text(json_t *conf, const char *text, size_t len, json_t *warnings)
{
    int line = 1;
    for (size_t i = 0; i < len;) {
        size_t n = bh_utf8_seqlen(text + i, len - i);
        if (n == 0)
            return warnings ? note(warnings,
                                   "line %d: not valid UTF-8 (in a comment): the comments are "
                                   "not kept, start.conf is written back without them",
                                   line)
                            : 0;
        line += text[i] == '\n';
        i += n;
    }
    json_t *t = json_stringn(text ? text : "", len);
    return t && json_object_set_new(conf, "text", t) == 0 ? 0 : BH_ENOMEM;
}

json_t *bh_startconf_normalize(const json_t *conf, struct bh_err *err)
{
    json_t *out = json_deep_copy(conf);
    if (!out) {
        bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        return NULL;
    }
    if (!json_object_get(conf, "text"))
        return out;
    char *t = bh_startconf_render(conf, err);
    if (!t || json_object_set_new(out, "text", json_string(t))) {
        if (t)
            bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        free(t);
        json_decref(out);
        return NULL;
    }
    free(t);
    return out;
}

bool bh_startconf_image(const char *base, char *name, size_t ncap, char *ref, size_t rcap)
{
    if (!base || !*base)
        return false;
    size_t len = strcspn(base, "@");
    if (ref)
        snprintf(ref, rcap, "%s", base[len] == '@' && base[len + 1] ? base + len + 1 : "latest");
    if (len > 6 && !strncmp(base + len - 6, ".qcow2", 6))
        len -= 6;
    if (len == 0 || len >= ncap)
        return false;
    snprintf(name, ncap, "%.*s", (int)len, base);
    return true;
}

bool bh_startconf_uses_image(const json_t *config, const char *image)
{
    size_t i;
    json_t *os;
    json_array_foreach(json_object_get(config, "os"), i, os)
    {
        char name[256];
        if (bh_startconf_image(json_string_value(json_object_get(os, "base_image")), name,
                               sizeof(name), NULL, 0) &&
            !strcmp(name, image))
            return true;
    }
    return false;
}
