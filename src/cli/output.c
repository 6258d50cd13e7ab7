/*
 * output.c - tables and detail views for people; --json for programs.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL_MAX 40
#define COLS_MAX 8

struct columns {
    const char *plural;
    const char *cols[COLS_MAX];
};

static const struct columns tables[] = {
    {"hosts", {"mac", "name", "room", "group", "arch", "state", "last_seen", NULL}},
    {"rooms", {"name", "location", "subnet", "description", NULL}},
    {"groups", {"name", "default_profile", "description", NULL}},
    {"profiles", {"name", "arch", "kernel", "description", NULL}},
    {"images", {"name", "kind", "fstype", "auto_promote", "description", NULL}},
    {"tokens", {"id", "name", "role", "expires_at", "created_by", NULL}},
    {"audit", {"id", "ts", "actor", "action", "kind", "key", NULL}},
};

/* cell text: strings as-is, null as "-", others as compact JSON; capped */
static void cell(const json_t *v, char *out, size_t cap)
{
    if (!v || json_is_null(v)) {
        snprintf(out, cap, "-");
    } else if (json_is_string(v)) {
        snprintf(out, cap, "%s", *json_string_value(v) ? json_string_value(v) : "-");
    } else {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        snprintf(out, cap, "%s", s ? s : "?");
        free(s);
    }
    for (char *p = out; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    if (strlen(out) > CELL_MAX)
        memcpy(out + CELL_MAX - 3, "...", 4);
}

void bh_out_table(const char *plural, const json_t *items)
{
    const struct columns *t = NULL;
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (!strcmp(tables[i].plural, plural))
            t = &tables[i];
    if (!t) {
        bh_out_json(items);
        return;
    }
    size_t ncols = 0, width[COLS_MAX] = {0};
    char buf[CELL_MAX + 8];
    while (ncols < COLS_MAX && t->cols[ncols]) {
        width[ncols] = strlen(t->cols[ncols]);
        ncols++;
    }
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it)
    {
        for (size_t c = 0; c < ncols; c++) {
            cell(json_object_get(it, t->cols[c]), buf, sizeof(buf));
            if (strlen(buf) > width[c])
                width[c] = strlen(buf);
        }
    }
    for (size_t c = 0; c < ncols; c++) {
        char up[32];
        size_t k = 0;
        for (; t->cols[c][k] && k < sizeof(up) - 1; k++)
            up[k] = (char)(t->cols[c][k] >= 'a' && t->cols[c][k] <= 'z' ? t->cols[c][k] - 32
                                                                        : t->cols[c][k]);
        up[k] = '\0';
        printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, up, c + 1 < ncols ? "  " : "\n");
    }
    json_array_foreach(items, i, it)
    {
        for (size_t c = 0; c < ncols; c++) {
            cell(json_object_get(it, t->cols[c]), buf, sizeof(buf));
            printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, buf, c + 1 < ncols ? "  " : "\n");
        }
    }
}

void bh_out_show(const json_t *obj)
{
    const char *k;
    const json_t *v;
    size_t w = 0;
    json_object_foreach((json_t *)obj, k, v) if (strlen(k) > w) w = strlen(k);
    json_object_foreach((json_t *)obj, k, v)
    {
        if (json_is_string(v)) {
            printf("%-*s  %s\n", (int)w, k, json_string_value(v));
        } else if (json_is_null(v)) {
            printf("%-*s  -\n", (int)w, k);
        } else {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
            printf("%-*s  %s\n", (int)w, k, s ? s : "?");
            free(s);
        }
    }
}

void bh_out_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        puts(s);
        free(s);
    }
}
