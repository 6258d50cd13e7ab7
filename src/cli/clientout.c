/*
 * clientout.c - the CLI's side of talking to the server: a refusal or an
 * unreachable server printed to stderr, and answers printed (cli.h).  The
 * requests themselves are client/client.c's.
 */
#include "cli.h"

#include <stdio.h>

long bh_cli_get_named(struct bh_cli *c, const char *coll, const char *name, json_t **out)
{
    char esc[768], path[1024];
    bh_cli_escape(name, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/%s/%s", coll, esc);
    long status;
    json_t *doc = NULL;
    struct bh_err e;
    if (out)
        *out = NULL;
    if (bh_cli_json(c, "GET", path, NULL, &status, &doc, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return -1;
    }
    if (out)
        *out = doc;
    else
        json_decref(doc);
    return status;
}

int bh_cli_create(struct bh_cli *c, const char *coll, const json_t *doc, const char *what)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/%s", coll);
    long status;
    json_t *out = NULL;
    struct bh_err e;
    if (bh_cli_json(c, "POST", path, doc, &status, &out, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    int rc = status == 201 ? 0 : bh_cli_fail_json(what, status, out);
    json_decref(out);
    return rc;
}

int bh_cli_list_all(struct bh_cli *c, const char *path, const char *what, json_t **items)
{
    struct bh_err e;
    if (bh_client_list_all(c, path, what, items, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    return 0;
}

void bh_cli_out_page(const json_t *items, const json_t *next)
{
    json_t *page =
        json_pack("{s:O, s:O}", "items", items, "next", json_is_string(next) ? next : json_null());
    bh_out_json(page ? page : items);
    json_decref(page);
}

int bh_cli_show(struct bh_cli *c, const char *method, const char *path, const json_t *body,
                const char *what, long want)
{
    return bh_cli_do(c, method, path, body, what, want, NULL);
}

int bh_cli_do(struct bh_cli *c, const char *method, const char *path, const json_t *body,
              const char *what, long want, const char *done)
{
    long status;
    json_t *out = NULL;
    struct bh_err e;
    if (bh_cli_json(c, method, path, body, &status, &out, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        return 1;
    }
    int rc = 0;
    if (status != want) {
        rc = bh_cli_fail_json(what, status, out);
    } else if (c->json) {
        if (out)
            bh_out_json(out);
    } else {
        if (done)
            printf("%s\n", done);
        if (out)
            bh_out_show(out);
    }
    json_decref(out);
    return rc;
}
