/*
 * output.c - tables and detail views for people; --json for programs.
 *
 * Tables: one row per item, sizes in KiB/MiB/GiB (--json keeps bytes).
 * One object: indented `key: value` text as YAML writes it (nested objects
 * indented under their key, list items as "- "), never a line of JSON;
 * sizes as "1.5 GiB (1610612736 bytes)".
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

/* cell text: strings as-is, null as "-", sizes in human units, others as
 * compact JSON; capped */
static void cell(const char *key, const json_t *v, char *out, size_t cap)
{
    if (json_is_integer(v) && bh_out_is_size(key) && json_integer_value(v) >= 0) {
        bh_out_size((uint64_t)json_integer_value(v), out, cap);
    } else if (!v || json_is_null(v)) {
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
            cell(t->cols[c], json_object_get(it, t->cols[c]), buf, sizeof(buf));
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
            cell(t->cols[c], json_object_get(it, t->cols[c]), buf, sizeof(buf));
            printf("%-*s%s", c + 1 < ncols ? (int)width[c] : 0, buf, c + 1 < ncols ? "  " : "\n");
        }
    }
}

void bh_out_size(uint64_t bytes, char *out, size_t cap)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(out, cap, "%llu B", (unsigned long long)bytes);
        return;
    }
    double v = (double)bytes / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    snprintf(out, cap, "%.1f %s", v, units[u]);
}

bool bh_out_is_size(const char *key)
{
    size_t n = strlen(key);
    return !strcmp(key, "size") || !strcmp(key, "bytes") ||
           (n > 5 && !strcmp(key + n - 5, "_size")) || (n > 6 && !strcmp(key + n - 6, "_bytes"));
}

static void indent(int n)
{
    printf("%*s", n, "");
}

static void show_value(const char *key, const json_t *v, int ind);

/* a scalar after "key: " or "- ": strings as they are (several lines as an
 * indented block), null as "-", sizes as "1.5 GiB (1610612736 bytes)" */
static void show_scalar(const char *key, const json_t *v, int ind)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (!strchr(s, '\n')) {
            printf("%s\n", *s ? s : "\"\"");
            return;
        }
        printf("|\n");
        for (const char *p = s; *p;) {
            size_t n = strcspn(p, "\n");
            indent(ind + 2);
            printf("%.*s\n", (int)n, p);
            p += n + (p[n] == '\n');
        }
    } else if (json_is_null(v)) {
        printf("-\n");
    } else if (json_is_integer(v) && key && bh_out_is_size(key) && json_integer_value(v) >= 1024) {
        char h[32];
        bh_out_size((uint64_t)json_integer_value(v), h, sizeof(h));
        printf("%s (%lld bytes)\n", h, (long long)json_integer_value(v));
    } else {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%s\n", t ? t : "?");
        free(t);
    }
}

static void show_object(const json_t *obj, int ind, bool first_inline)
{
    const char *k;
    const json_t *v;
    bool first = true;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (!(first && first_inline))
            indent(ind);
        first = false;
        printf("%s:", k);
        show_value(k, v, ind);
    }
}

static void show_array(const char *key, const json_t *arr, int ind)
{
    size_t i;
    const json_t *it;
    json_array_foreach(arr, i, it)
    {
        indent(ind);
        printf("-");
        if (json_is_object(it) && json_object_size(it)) {
            printf(" ");
            show_object(it, ind + 2, true);
        } else if (json_is_array(it) && json_array_size(it)) {
            printf("\n");
            show_array(key, it, ind + 2);
        } else if (json_is_object(it) || json_is_array(it)) {
            printf(" %s\n", json_is_object(it) ? "{}" : "[]");
        } else {
            printf(" ");
            show_scalar(key, it, ind);
        }
    }
}

/* after "key:" at indent ind */
static void show_value(const char *key, const json_t *v, int ind)
{
    if (json_is_object(v) && json_object_size(v)) {
        printf("\n");
        show_object(v, ind + 2, false);
    } else if (json_is_array(v) && json_array_size(v)) {
        printf("\n");
        show_array(key, v, ind + 2);
    } else if (json_is_object(v) || json_is_array(v)) {
        printf(" %s\n", json_is_object(v) ? "{}" : "[]");
    } else {
        printf(" ");
        show_scalar(key, v, ind);
    }
}

void bh_out_show(const json_t *obj)
{
    if (json_is_object(obj))
        show_object(obj, 0, false);
    else if (json_is_array(obj))
        show_array(NULL, obj, 0);
    else
        show_scalar(NULL, obj, 0);
}

void bh_out_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        puts(s);
        free(s);
    }
}
