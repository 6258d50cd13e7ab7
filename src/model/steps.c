/*
 * steps.c - see steps.h.  The rules of a job's steps: their syntax, and
 * whether they fit the groups of the hosts they run on (so the API, the
 * CLI and the console's job form all get the same refusal).
 */
#include "steps.h"

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

/* What N of a step counts in a group's start.conf: "os" entries, or
 * "partitions" for format:N; NULL when the step names no N. */
static const char *counted(const struct bh_step *s)
{
    switch (s->kind) {
    case BH_STEP_SYNC:
    case BH_STEP_NEW:
    case BH_STEP_CREATE_IMAGE:
    case BH_STEP_START:
    case BH_STEP_POSTSYNC: return "os";
    case BH_STEP_FORMAT: return s->os ? "partitions" : NULL;
    default: return NULL;
    }
}

static const char *host_label(const json_t *h)
{
    const char *n = json_string_value(json_object_get(h, "name"));
    return n ? n : json_string_value(json_object_get(h, "mac"));
}

/* Does step i fit host h?  0, or BH_EINVAL with the refusal. */
static int fits(size_t i, const char *text, const struct bh_step *s, const json_t *h,
                const json_t *groups, struct bh_err *err)
{
    const char *what = counted(s);
    if (!what)
        return 0;
    bool os = !strcmp(what, "os");
    const char *entry = os ? "OS entry" : "partition";
    char field[32];
    snprintf(field, sizeof(field), "steps[%zu]", i);
    const char *g = json_string_value(json_object_get(h, "group"));
    if (!g)
        return bh_err_set(err, BH_EINVAL, field,
                          "'%.40s' needs %s %d of the host's group, but host %s is in no group "
                          "(so it has no start.conf)",
                          text, entry, s->os, host_label(h));
    const json_t *conf = json_object_get(groups, g);
    const json_t *list = json_object_get(conf, what);
    if (!json_is_object(conf))
        return bh_err_set(err, BH_EINVAL, field,
                          "'%.40s' needs %s %d, but group '%s' (of host %s) has no start.conf, "
                          "so no %s",
                          text, entry, s->os, g, host_label(h), os ? "OS entries" : "partitions");
    size_t have = json_array_size(list);
    if ((size_t)s->os > have)
        return bh_err_set(err, BH_EINVAL, field,
                          "'%.40s' names %s %d, but group '%s' (of host %s) has %zu %s", text,
                          entry, s->os, g, host_label(h), have,
                          have == 1 ? entry
                          : os      ? "OS entries"
                                    : "partitions");
    return 0;
}

int bh_steps_fit_hosts(const json_t *steps, const json_t *hosts, const json_t *groups,
                       struct bh_err *err)
{
    size_t i, k;
    const json_t *v, *h;
    json_array_foreach(steps, i, v)
    {
        struct bh_step s;
        const char *text = json_string_value(v);
        if (!text || bh_step_parse(text, &s, NULL) || !counted(&s))
            continue;
        /* each group once: hosts of one group fit or fail together */
        json_t *seen = json_object();
        int rc = 0;
        json_array_foreach(hosts, k, h)
        {
            const char *g = json_string_value(json_object_get(h, "group"));
            const char *key = g ? g : "";
            if (seen && json_object_get(seen, key))
                continue;
            if (seen)
                json_object_set_new(seen, key, json_true());
            if ((rc = fits(i, text, &s, h, groups, err)))
                break;
        }
        json_decref(seen);
        if (rc)
            return rc;
    }
    return 0;
}
