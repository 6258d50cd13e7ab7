/*
 * steps.c - see steps.h.
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
