/*
 * cmd_wake.c - `bootherd wake HOST... | --room R | --group G | --selector S`
 *
 * Asks the server to send Wake-on-LAN packets; the server answers at once
 * and sends them staggered.  Exit 1 if any host was skipped.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

void bh_usage_wake(FILE *f)
{
    fprintf(f, "usage: bootherd wake HOST... | --room R | --group G | --selector S\n");
}

static void usage(void)
{
    bh_usage_wake(stderr);
}

static void print_row(const char *what, const json_t *o)
{
    const char *ifc = json_string_value(json_object_get(o, "interface"));
    const char *why = json_string_value(json_object_get(o, "why"));
    printf("%-8s %-20s %-17s ", what, json_string_value(json_object_get(o, "host")),
           json_string_value(json_object_get(o, "mac")));
    if (why)
        printf("%s\n", why);
    else
        printf("%s:%lld%s%s%s\n", json_string_value(json_object_get(o, "address")),
               (long long)json_integer_value(json_object_get(o, "port")), ifc ? " via " : "",
               ifc ? ifc : "", json_is_true(json_object_get(o, "directed")) ? " (directed)" : "");
}

int bh_cmd_wake(struct bh_cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"room", required_argument, NULL, 'r'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"selector", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    json_t *body = json_object(), *hosts = json_array();
    int ch, rc = 2;
    optind = 1;
    while ((ch = getopt_long(argc + 1, argv - 1, "r:g:s:h", opts, NULL)) != -1) {
        const char *key = ch == 'r' ? "room" : ch == 'g' ? "group" : ch == 's' ? "selector" : NULL;
        if (!key) {
            usage();
            goto out;
        }
        json_object_set_new(body, key, json_string(optarg));
    }
    /* getopt refused unknown options; what is left are hosts */
    for (int i = optind - 1; i < argc; i++)
        json_array_append_new(hosts, json_string(argv[i]));
    if (json_array_size(hosts))
        json_object_set(body, "hosts", hosts);
    if (!json_object_size(body)) {
        usage();
        goto out;
    }
    long status;
    json_t *resp = NULL;
    struct bh_err e;
    if (bh_cli_json(c, "POST", "/api/v1/wake", body, &status, &resp, &e)) {
        fprintf(stderr, "bootherd: %s\n", e.msg);
        rc = 1;
        goto out;
    }
    if (status != 202) {
        rc = bh_cli_fail_json("wake", status, resp);
        json_decref(resp);
        goto out;
    }
    const json_t *queued = json_object_get(resp, "queued"),
                 *skipped = json_object_get(resp, "skipped");
    if (c->json) {
        bh_out_json(resp);
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(queued, i, o) print_row("queued", o);
        json_array_foreach(skipped, i, o) print_row("skipped", o);
        printf("%zu queued, %zu skipped\n", json_array_size(queued), json_array_size(skipped));
    }
    rc = json_array_size(skipped) ? 1 : 0;
    json_decref(resp);
out:
    json_decref(hosts);
    json_decref(body);
    return rc;
}
