/*
 * mreport.c - the report of `bootherd migrate linbo` and of `bootherd
 * apply devices.csv`: one line per object created, changed, left
 * unchanged or skipped (with why), and per thing LINBO has that bootherd
 * has no meaning for yet.  A dry run prints the same lines, marked.
 * Owned by the LINBO migration (issue 11, 1).
 */
#include "migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[BH_MR_NACTIONS] = {
    "created", "changed", "unchanged", "skipped", "no-meaning",
};

void bh_mreport_init(struct bh_mreport *r, bool dry_run)
{
    memset(r, 0, sizeof(*r));
    r->dry_run = dry_run;
    r->items = json_array();
}

void bh_mreport_free(struct bh_mreport *r)
{
    json_decref(r->items);
    r->items = NULL;
}

void bh_mreport_add(struct bh_mreport *r, enum bh_mr_action a, const char *kind, const char *name,
                    const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    r->count[a]++;
    json_array_append_new(r->items, json_pack("{s:s, s:s, s:s, s:s}", "action", action_names[a],
                                              "kind", kind, "name", name, "detail", detail));
}

void bh_mreport_print(const struct bh_mreport *r, bool json)
{
    if (json) {
        json_t *o =
            json_pack("{s:b, s:O, s:i, s:i, s:i, s:i, s:i}", "dry_run", r->dry_run, "items",
                      r->items, "created", r->count[BH_MR_CREATED], "changed",
                      r->count[BH_MR_CHANGED], "unchanged", r->count[BH_MR_UNCHANGED], "skipped",
                      r->count[BH_MR_SKIPPED], "no_meaning", r->count[BH_MR_NOMEANING]);
        bh_out_json(o);
        json_decref(o);
        return;
    }
    if (r->dry_run)
        printf("dry run: nothing was changed; this is what would be done\n");
    size_t i;
    json_t *it;
    json_array_foreach(r->items, i, it)
    {
        printf("%-10s %-7s %s: %s\n", json_string_value(json_object_get(it, "action")),
               json_string_value(json_object_get(it, "kind")),
               json_string_value(json_object_get(it, "name")),
               json_string_value(json_object_get(it, "detail")));
    }
    printf("%s%d created, %d changed, %d unchanged, %d skipped, %d with no bootherd meaning yet\n",
           r->dry_run ? "dry run: " : "", r->count[BH_MR_CREATED], r->count[BH_MR_CHANGED],
           r->count[BH_MR_UNCHANGED], r->count[BH_MR_SKIPPED], r->count[BH_MR_NOMEANING]);
}
