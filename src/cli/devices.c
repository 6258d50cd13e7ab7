/*
 * devices.c - LINBO's devices.csv into rooms and hosts, for `bootherd
 * migrate linbo` and `bootherd apply devices.csv` alike (one mapping).
 *
 * The file is checked here first, with the parser the server uses
 * (model/devcsv.c: comment lines, CRLF, blanks, empty trailing fields),
 * so that every bad line is reported with its line before anything is
 * sent; then every group a line names must exist (or be about to: the
 * start.conf files a migration brings), as LINBO refuses a device in a
 * group it does not know; then the server's dry run of POST
 * /api/v1/hosts/import finds conflicts with stored hosts.  Only then is
 * anything written, by the same endpoint in one transaction, rooms
 * created as needed.  What a line becomes is the server's rule
 * (devcsv.h): room, name, group, MAC, IP or none for DHCP, sophomorixRole
 * as the label linbo/role, the comment as description, and the pxeFlag
 * as the boot setting (0: boot.action local, the host boots its disk).
 * Owned by the LINBO migration (issue 11, 1).
 */
#include "migrate.h"

#include "core/ini.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEVICES_MAX_BYTES ((size_t)4 << 20) /* what the import endpoint takes */
#define IMPORT_PATH       "/api/v1/hosts/import?create=rooms,groups"

void bh_devices_free(struct bh_devices *d)
{
    free(d->text);
    bh_devcsv_free(&d->csv);
    json_decref(d->plan);
    memset(d, 0, sizeof(*d));
}

bool bh_devices_sniff(const char *fname, const char *text, size_t len)
{
    size_t n = strlen(fname);
    if (n > 4 && !strcasecmp(fname + n - 4, ".csv"))
        return true;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len, i = pos;
        while (i < end && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r'))
            i++;
        if (i < end && text[i] != '#') {
            int semis = 0;
            bool colon = false;
            for (size_t k = i; k < end; k++) {
                semis += text[k] == ';';
                colon |=
                    text[k] == ':' && (k + 1 == end || text[k + 1] == ' ' || text[k + 1] == '\r');
            }
            return semis >= BH_DEVCSV_MIN_FIELDS - 1 && !colon;
        }
        pos = end + 1;
    }
    return false;
}

/* The errors of a refused import (problem+json with errors[]) as lines. */
static void print_problem(const char *fname, long status, const json_t *p)
{
    const json_t *errs = json_object_get(p, "errors");
    if (!json_array_size(errs)) {
        bh_cli_fail_json("devices.csv", status, p);
        return;
    }
    size_t i;
    json_t *e;
    json_array_foreach(errs, i, e)
    {
        fprintf(stderr, "%s:%lld: %s\n", fname,
                (long long)json_integer_value(json_object_get(e, "line")),
                json_string_value(json_object_get(e, "message")));
    }
}

/* POST the file to the import endpoint; *out its answer (200) or problem. */
static int post(struct bh_cli *c, struct bh_devices *d, bool dry, long *status, json_t **out)
{
    struct bh_resp r;
    struct bh_err e;
    if (bh_cli_request(c, "POST", dry ? IMPORT_PATH "&dry_run=1" : IMPORT_PATH, "text/csv", d->text,
                       d->len, NULL, &r, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    *status = r.status;
    *out = json_loadb(r.body ? r.body : "", r.len, 0, NULL);
    bh_resp_free(&r);
    return 0;
}

/* Every group a line names exists, or is planned.  Errors printed; their count. */
static int check_groups(struct bh_cli *c, struct bh_devices *d, const json_t *planned, int *fail)
{
    json_t *known = json_object();
    int nerr = 0;
    for (size_t i = 0; i < d->csv.nrows && !*fail; i++) {
        const struct bh_devcsv_row *row = &d->csv.rows[i];
        if (!row->group[0] || json_object_get(planned, row->group) ||
            json_object_get(known, row->group))
            continue;
        json_t *g;
        long status = bh_cli_get_named(c, "groups", row->group, &g);
        if (status < 0) {
            *fail = 1;
        } else if (status == 200) {
            json_object_set_new(known, row->group, json_true());
        } else if (status == 404) {
            nerr++;
            if (planned)
                fprintf(stderr,
                        "%s:%d: group '%s' does not exist in bootherd and the LINBO tree has "
                        "no start.conf.%s\n",
                        d->fname, row->line, row->group, row->group);
            else
                fprintf(stderr,
                        "%s:%d: group '%s' does not exist; create it first (bootherd group add "
                        "%s, or bootherd migrate linbo)\n",
                        d->fname, row->line, row->group, row->group);
        } else {
            *fail = bh_cli_fail_json("group", status, g);
        }
        json_decref(g);
    }
    json_decref(known);
    return nerr;
}

int bh_devices_load(struct bh_cli *c, const char *fname, const json_t *planned,
                    struct bh_devices *d)
{
    memset(d, 0, sizeof(*d));
    d->fname = fname;
    struct bh_err e;
    bh_err_clear(&e);
    if (bh_read_file(fname, DEVICES_MAX_BYTES, &d->text, &d->len, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 2;
    }
    int rc = bh_devcsv_parse(d->text, d->len, &d->csv, &e);
    if (rc == BH_EINVAL) {
        for (size_t i = 0; i < d->csv.nerrors; i++)
            fprintf(stderr, "%s:%d: %s\n", fname, d->csv.errors[i].line, d->csv.errors[i].msg);
        if (d->csv.errors_total > d->csv.nerrors)
            fprintf(stderr, "%s: ... and %zu more\n", fname, d->csv.errors_total - d->csv.nerrors);
        fprintf(stderr, "bootherd: %s: %zu error%s; nothing was changed\n", fname,
                d->csv.errors_total, d->csv.errors_total == 1 ? "" : "s");
        return 2;
    }
    if (rc) {
        fprintf(stderr, "bootherd: %s: %s\n", fname, e.msg);
        return 2;
    }
    if (d->csv.nrows == 0) {
        fprintf(stderr,
                "bootherd: %s names no device (only comments and empty lines); nothing was "
                "changed\n",
                fname);
        return 2;
    }
    int fail = 0, nerr = check_groups(c, d, planned, &fail);
    if (fail)
        return fail;
    if (nerr) {
        fprintf(stderr, "bootherd: %s: %d error%s; nothing was changed\n", fname, nerr,
                nerr == 1 ? "" : "s");
        return 2;
    }
    long status = 0;
    json_t *ans = NULL;
    if (post(c, d, true, &status, &ans))
        return 1;
    if (status == 200) {
        d->plan = ans;
        return 0;
    }
    print_problem(fname, status, ans);
    json_decref(ans);
    if (status == 409 || status == 422) {
        fprintf(stderr, "bootherd: %s does not fit what bootherd holds; nothing was changed\n",
                fname);
        return 2;
    }
    return 1;
}

static const struct bh_devcsv_row *row_at(const struct bh_devices *d, json_int_t line)
{
    for (size_t i = 0; i < d->csv.nrows; i++)
        if (d->csv.rows[i].line == line)
            return &d->csv.rows[i];
    return NULL;
}

static bool in_list(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (!strcmp(json_string_value(v), s)) return true;
    return false;
}

static void report_rooms(const struct bh_devices *d, const json_t *ans, struct bh_mreport *rep)
{
    json_t *seen = json_object();
    for (size_t i = 0; i < d->csv.nrows; i++) {
        const struct bh_devcsv_row *row = &d->csv.rows[i];
        if (json_object_get(seen, row->room))
            continue;
        json_object_set_new(seen, row->room, json_true());
        if (in_list(json_object_get(ans, "rooms_created"), row->room))
            bh_mreport_add(rep, BH_MR_CREATED, "room", row->room, "from %s line %d", d->fname,
                           row->line);
        else
            bh_mreport_add(rep, BH_MR_UNCHANGED, "room", row->room, "exists");
    }
    json_decref(seen);
}

static void report_hosts(const struct bh_devices *d, const json_t *ans, struct bh_mreport *rep)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(ans, "hosts"), i, h)
    {
        const char *res = json_string_value(json_object_get(h, "result"));
        const struct bh_devcsv_row *row = row_at(d, json_integer_value(json_object_get(h, "line")));
        if (!row || !res)
            continue;
        enum bh_mr_action a = !strcmp(res, "created")   ? BH_MR_CREATED
                              : !strcmp(res, "updated") ? BH_MR_CHANGED
                                                        : BH_MR_UNCHANGED;
        bh_mreport_add(rep, a, "host", row->hostname,
                       "%s line %d: %s, room %s, group %s, %s, %s%s%s", d->fname, row->line,
                       row->mac, row->room, row->group[0] ? row->group : "(none)",
                       row->ip[0] ? row->ip : "DHCP",
                       row->pxe ? "boots from the network" : "boots its disk (no PXE)",
                       row->role[0] ? ", label linbo/role=" : "", row->role);
        if (row->pxe_flag >= 2)
            bh_mreport_add(rep, BH_MR_NOMEANING, "host", row->hostname,
                           "pxeFlag %d (opsi): opsi has no bootherd meaning yet; the host boots "
                           "from the network as with pxeFlag 1",
                           row->pxe_flag);
    }
    for (int col = 1; col <= BH_DEVCSV_FIELDS; col++)
        if (d->csv.unkept[col])
            bh_mreport_add(rep, BH_MR_NOMEANING, "field", bh_devcsv_field_name(col),
                           "set on %zu line%s of %s: not kept (no bootherd meaning yet)",
                           d->csv.unkept[col], d->csv.unkept[col] == 1 ? "" : "s", d->fname);
}

int bh_devices_commit(struct bh_cli *c, struct bh_devices *d, bool dry_run, struct bh_mreport *rep)
{
    json_t *ans = json_incref(d->plan);
    if (!dry_run) {
        long status = 0;
        json_decref(ans);
        ans = NULL;
        if (post(c, d, false, &status, &ans))
            return 1;
        if (status != 200) {
            print_problem(d->fname, status, ans);
            json_decref(ans);
            return 1;
        }
    }
    report_rooms(d, ans, rep);
    report_hosts(d, ans, rep);
    json_decref(ans);
    return 0;
}
