/*
 * fuzz_devcsv.c - libFuzzer driver for LINBO's devices.csv (model/devcsv.c).
 *
 * Whatever the bytes: the parse ends, every error has a line, a message and
 * a known field; the rows it accepts make host documents that the model
 * accepts as a POST would (so an import never hands the store a value the
 * API refuses), with no MAC, host name or address twice; and a failed parse
 * says where.  Any breach aborts so libFuzzer keeps the input.
 */
#include "model/devcsv.h"
#include "model/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_devcsv: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

static void check_row(const struct bh_devcsv_row *r)
{
    struct bh_err e;
    json_t *raw = bh_devcsv_host_new(r), *doc = NULL;
    if (!raw)
        die("no host document for a row", r->hostname);
    if (bh_model_validate(bh_kind_get(BH_KIND_HOST), raw, BH_V_CREATE, &doc, &e))
        die("a row the model refuses", e.msg);
    json_t *cur = json_pack("{s:s, s:s, s:{s:s}, s:{s:s}}", "mac", r->mac, "state", "new", "labels",
                            "floor", "2", "boot", "action", "local");
    json_t *merged = bh_devcsv_host_merge(r, cur);
    if (!merged || strcmp(json_string_value(json_object_get(merged, "state")), "known"))
        die("a merge that does not register a new host", r->hostname);
    json_decref(raw);
    json_decref(doc);
    json_decref(cur);
    json_decref(merged);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bh_devcsv d;
    struct bh_err e = {0};
    int rc = bh_devcsv_parse((const char *)data, size, &d, &e);
    if (rc == BH_EINVAL && (d.nerrors == 0 || strncmp(e.field, "devices.csv:", 12)))
        die("a failed parse that says nowhere", e.msg);
    if (rc == 0 && d.nerrors)
        die("errors but success", NULL);
    for (size_t i = 0; i < d.nerrors; i++) {
        const struct bh_devcsv_error *x = &d.errors[i];
        if (x->line < 1 || !x->msg[0] || x->column < 0 ||
            strcmp(x->field, bh_devcsv_field_name(x->column)))
            die("an error without its place", x->msg);
    }
    if (d.errors_total < d.nerrors)
        die("fewer errors counted than kept", NULL);
    for (size_t i = 0; rc == 0 && i < d.nrows; i++) {
        check_row(&d.rows[i]);
        for (size_t k = 0; k < i; k++) {
            const struct bh_devcsv_row *a = &d.rows[k], *b = &d.rows[i];
            if (!strcmp(a->mac, b->mac) || !strcasecmp(a->hostname, b->hostname) ||
                (a->ip[0] && !strcmp(a->ip, b->ip)))
                die("a value twice in an accepted file", b->hostname);
        }
    }
    bh_devcsv_free(&d);
    return 0;
}
