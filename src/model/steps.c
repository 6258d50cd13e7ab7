/*
 * steps.c - see steps.h.  The rules of a job's steps: their syntax, and
 * whether they fit the groups of the hosts they run on (so the API, the
 * CLI and the console's job form all get the same refusal).
 */
#include "steps.h"

#include "startconf.h"

#include <stdio.h>
#include <string.h>

struct verb {
    const char *name;
    enum bh_step_kind kind;
    int os;  /* 0: no N; 1: N required; 2: N optional */
    int arg; /* 0: nothing after N; 1: optional ":TEXT"; 2: required ":TEXT" (no N) */
};

static const struct verb verbs[] = {
    {"partition", BH_STEP_PARTITION, 0, 0},
    {"format", BH_STEP_FORMAT, 2, 0},
    {"sync", BH_STEP_SYNC, 1, 0},
    {"new", BH_STEP_NEW, 1, 0},
    {"create_image", BH_STEP_CREATE_IMAGE, 1, 1},
    {"start", BH_STEP_START, 1, 0},
    {"postsync", BH_STEP_POSTSYNC, 1, 0},
    {"initcache", BH_STEP_INITCACHE, 0, 0},
    {"reboot", BH_STEP_REBOOT, 0, 0},
    {"halt", BH_STEP_HALT, 0, 0},
    {"shell", BH_STEP_SHELL, 0, 2},
};

#define ACCEPTED                                                                                   \
    "partition, format[:N], sync:N, new:N, create_image:N[:NOTE], start:N, postsync:N, "           \
    "initcache, reboot, halt or shell:CMD"

int bh_step_parse(const char *text, struct bh_step *out, struct bh_err *err)
{
    memset(out, 0, sizeof(*out));
    size_t len = strlen(text);
    if (len == 0 || len >= BH_STEP_MAX)
        return bh_err_set(err, BH_EINVAL, "steps", "a step is 1 to %d bytes: " ACCEPTED,
                          BH_STEP_MAX - 1);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
            return bh_err_set(err, BH_EINVAL, "steps", "step '%.40s': control characters", text);
    const char *colon = strchr(text, ':');
    size_t nlen = colon ? (size_t)(colon - text) : len;
    const struct verb *v = NULL;
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (strlen(verbs[i].name) == nlen && !strncmp(verbs[i].name, text, nlen))
            v = &verbs[i];
    if (!v)
        return bh_err_set(err, BH_EINVAL, "steps", "unknown step '%.*s': use " ACCEPTED,
                          (int)(nlen > 40 ? 40 : nlen), text);
    out->kind = v->kind;
    const char *rest = colon ? colon + 1 : NULL;
    if (v->arg == 2) { /* shell:CMD */
        if (!rest || !*rest)
            return bh_err_set(err, BH_EINVAL, "steps", "'%s' needs a command: %s:CMD", v->name,
                              v->name);
        out->arg = rest;
        return 0;
    }
    if (v->os == 0) {
        if (rest)
            return bh_err_set(err, BH_EINVAL, "steps", "'%s' takes no argument", v->name);
        return 0;
    }
    if (!rest) {
        if (v->os == 1)
            return bh_err_set(err, BH_EINVAL, "steps",
                              "'%s' needs the OS entry: %s:N (N from 1, as in start.conf)", v->name,
                              v->name);
        return 0;
    }
    int n = 0;
    const char *p = rest;
    while (*p >= '0' && *p <= '9' && n <= BH_STEP_OS_MAX)
        n = n * 10 + (*p++ - '0');
    if (p == rest || n < 1 || n > BH_STEP_OS_MAX || (*p && *p != ':'))
        return bh_err_set(err, BH_EINVAL, "steps", "'%.40s': N is an OS entry from 1 to %d", text,
                          BH_STEP_OS_MAX);
    out->os = n;
    if (*p == ':') {
        if (!v->arg)
            return bh_err_set(err, BH_EINVAL, "steps", "'%s:%d' takes nothing after N", v->name, n);
        out->arg = p + 1;
    }
    return 0;
}

bool bh_step_admin_only(const struct bh_step *s)
{
    return s->kind == BH_STEP_SHELL;
}

/* What a step needs of the host's start.conf */
enum need { NEED_NONE, NEED_CONF, NEED_OS, NEED_IMAGE, NEED_PART, NEED_CACHE };

static enum need need_of(const struct bh_step *s)
{
    switch (s->kind) {
    case BH_STEP_SYNC:
    case BH_STEP_NEW: return NEED_IMAGE;
    case BH_STEP_CREATE_IMAGE:
    case BH_STEP_START:
    case BH_STEP_POSTSYNC: return NEED_OS;
    case BH_STEP_FORMAT: return s->os ? NEED_PART : NEED_CONF;
    case BH_STEP_PARTITION: return NEED_CONF;
    case BH_STEP_INITCACHE: return NEED_CACHE;
    default: return NEED_NONE;
    }
}

static const char *host_label(const json_t *h)
{
    const char *n = json_string_value(json_object_get(h, "name"));
    return n && *n ? n : json_string_value(json_object_get(h, "mac"));
}

/* Why step s cannot work on a host of group g (NULL: in no group) with
 * config conf: reason filled, true; false when it can. */
static bool refused(const struct bh_step *s, const char *g, const json_t *conf,
                    const json_t *versions, char *reason, size_t cap)
{
    enum need need = need_of(s);
    if (need == NEED_NONE)
        return false;
    if (!g) {
        snprintf(reason, cap, "the host is in no group, so it has no start.conf");
        return true;
    }
    if (!json_is_object(conf)) {
        snprintf(reason, cap, "group %s has no start.conf", g);
        return true;
    }
    if (need == NEED_CACHE) {
        const char *cache =
            json_string_value(json_object_get(json_object_get(conf, "linbo"), "cache"));
        if (cache && *cache)
            return false;
        snprintf(reason, cap, "group %s has no cache partition (start.conf: [LINBO] Cache)", g);
        return true;
    }
    if (need == NEED_CONF)
        return false;
    const char *what = need == NEED_PART ? "partitions" : "os";
    size_t have = json_array_size(json_object_get(conf, what));
    if ((size_t)s->os > have) {
        snprintf(reason, cap, "group %s has no %s %d (it has %zu)", g,
                 need == NEED_PART ? "partition" : "OS entry", s->os, have);
        return true;
    }
    if (need != NEED_IMAGE)
        return false;
    const json_t *os = json_array_get(json_object_get(conf, "os"), (size_t)(s->os - 1));
    char name[256], ref[128], key[400];
    if (!bh_startconf_image(json_string_value(json_object_get(os, "base_image")), name,
                            sizeof(name), ref, sizeof(ref))) {
        snprintf(reason, cap, "OS entry %d of group %s names no image (start.conf: BaseImage)",
                 s->os, g);
        return true;
    }
    snprintf(key, sizeof(key), "%s@%s", name, ref);
    if (json_is_true(json_object_get(versions, key)))
        return false;
    if (!strcmp(ref, "latest"))
        snprintf(reason, cap, "image %s (OS entry %d of group %s) has no version", name, s->os, g);
    else
        snprintf(reason, cap, "image %s (OS entry %d of group %s) has no version '%s'", name, s->os,
                 g, ref);
    return true;
}

size_t bh_steps_check(const json_t *steps, const json_t *hosts, const json_t *groups,
                      const json_t *versions, json_t *errors, size_t cap, size_t *nhosts)
{
    struct bh_step parsed[BH_STEPS_MAX];
    bool ok[BH_STEPS_MAX];
    size_t nsteps = json_array_size(steps), total = 0, i, k;
    if (nsteps > BH_STEPS_MAX)
        nsteps = BH_STEPS_MAX;
    for (i = 0; i < nsteps; i++) {
        const char *text = json_string_value(json_array_get(steps, i));
        ok[i] = text && bh_step_parse(text, &parsed[i], NULL) == 0;
    }
    const json_t *h;
    if (nhosts)
        *nhosts = 0;
    json_array_foreach(hosts, k, h)
    {
        const char *g = json_string_value(json_object_get(h, "group"));
        const json_t *conf = g ? json_object_get(groups, g) : NULL;
        size_t before = total;
        for (i = 0; i < nsteps; i++) {
            char reason[512], field[32];
            if (!ok[i] || !refused(&parsed[i], g, conf, versions, reason, sizeof(reason)))
                continue;
            if (total++ >= cap)
                continue;
            snprintf(field, sizeof(field), "steps[%zu]", i);
            const char *mac = json_string_value(json_object_get(h, "mac"));
            json_array_append_new(errors,
                                  json_pack("{s:s?, s:s?, s:O, s:s, s:s}", "host", host_label(h),
                                            "mac", mac, "step", json_array_get(steps, i), "field",
                                            field, "reason", reason));
        }
        if (nhosts && total > before)
            (*nhosts)++;
    }
    return total;
}
