/*
 * cli.h - the command-line client: talks to a running bootherd over its API.
 *
 * Server and token come from --url/--token, else BOOTHERD_URL/BOOTHERD_TOKEN,
 * else --data DIR, else ./var; https is checked with --cacert FILE or
 * --pin sha256//... (client/client.h says how).  The requests are
 * client/client.h's; this part parses arguments and prints.
 * Exit codes: 0 ok, 1 the server refused or failed, 2 usage error.
 */
#ifndef BH_CLI_CLI_H
#define BH_CLI_CLI_H

#include "client/client.h"
#include "client/push.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* clientout.c: the client's requests (client/client.h) with what they
 * print for the CLI. */
/* One JSON request; on status `want` print the answer (JSON with --json,
 * else key/value lines), otherwise the server's problem.  0, or 1. */
int bh_cli_show(struct bh_cli *c, const char *method, const char *path, const json_t *body,
                const char *what, long want);

/* bh_cli_show, and on success without --json first one line saying what
 * was done (done; NULL: none): every command that changes something says
 * so, also when the server answers 204 with nothing to show. */
int bh_cli_do(struct bh_cli *c, const char *method, const char *path, const json_t *body,
              const char *what, long want, const char *done);

/* GET /api/v1/<coll>/<name> (name escaped here).  The HTTP status, with
 * the answer in *out when out is not NULL (the caller frees it); -1 after
 * printing why when the server could not be asked. */
long bh_cli_get_named(struct bh_cli *c, const char *coll, const char *name, json_t **out);
/* POST doc (borrowed) to /api/v1/<coll>: 0 when the server answers 201,
 * else 1 after printing why (what: the command, in the message). */
int bh_cli_create(struct bh_cli *c, const char *coll, const json_t *doc, const char *what);
/* bh_client_list_all; on an error prints it (what: the command) and
 * returns 1 (*items NULL). */
int bh_cli_list_all(struct bh_cli *c, const char *path, const char *what, json_t **items);
/* --json of every list command: {"items": items, "next": next}, the API's
 * list shape; next is the cursor after the last item printed (a string, to
 * pass back with --after) or null (NULL: null).  Borrows both. */
void bh_cli_out_page(const json_t *items, const json_t *next);

/* args.c: the same rules for every subcommand.  Is --help or -h among
 * argv (before a "--")?  Then the command prints its usage to stdout and
 * exits 0, and does nothing else. */
bool bh_cli_help_asked(int argc, char *const *argv);
/* Does a look like an option ("-x", "--xyz"; "-" alone does not)?  A
 * subcommand refuses one it does not know rather than taking it as a name
 * or value: bh_cli_bad_option says so and returns 2. */
bool bh_cli_is_option(const char *a);
int bh_cli_bad_option(const char *cmd, const char *a);

/* Usage of each command, to stdout for --help, to stderr after a mistake. */
void bh_usage_resource(const char *kind, FILE *f); /* host, room, ..., settings */
void bh_usage_image(FILE *f);                      /* image's own verbs */
void bh_usage_job(FILE *f);
void bh_usage_wake(FILE *f);
void bh_usage_apply(FILE *f);
void bh_usage_audit(FILE *f);
void bh_usage_events(FILE *f);
void bh_usage_whoami(FILE *f);
void bh_usage_boot(FILE *f);
void bh_usage_migrate(FILE *f);

/* output.c */
void bh_out_table(const char *kind_plural, const json_t *items);
/* One object as indented `key: value` text (nested objects indented, list
 * items as "- "). */
void bh_out_show(const json_t *obj);
/* bytes in human units: "512 B", "1.5 KiB", "3.2 GiB" */
void bh_out_size(uint64_t bytes, char *out, size_t cap);
/* Does a field of this name hold a byte count ("size", "bytes", "*_size",
 * "*_bytes")? */
bool bh_out_is_size(const char *key);
void bh_out_json(const json_t *j);

/* commands */
int bh_cmd_resource(struct bh_cli *c, const char *kind, int argc, char **argv);
int bh_cmd_audit(struct bh_cli *c, int argc, char **argv);
int bh_cmd_events(struct bh_cli *c, int argc, char **argv);
int bh_cmd_whoami(struct bh_cli *c, int argc, char **argv);
int bh_cmd_apply(struct bh_cli *c, int argc, char **argv);
int bh_cmd_boot(struct bh_cli *c, int argc, char **argv);
/* cmd_wake.c: Wake-on-LAN */
int bh_cmd_wake(struct bh_cli *c, int argc, char **argv);
/* An image name given as a file name ("win11.qcow2", ".img", ".raw",
 * ".qdiff") without its suffix, as BaseImage=win11.qcow2 finds it; says so
 * on stderr when it changed anything. */
void bh_cli_image_name(const char *arg, char *out, size_t cap);
/* image verbs beyond ls/add/show/set/rm; -1 when argv[0] is not one */
int bh_cmd_image(struct bh_cli *c, int argc, char **argv);
int bh_cmd_job(struct bh_cli *c, int argc, char **argv);
/* cmd_migrate.c: `bootherd migrate linbo` */
int bh_cmd_migrate(struct bh_cli *c, int argc, char **argv);

/* cmd_image.c: push the image file src (raw, or any format qemu-img reads,
 * then first converted to a raw file in tmpdir, removed after) as a new
 * version of o->name.  0, or err says what failed. */
int bh_cli_image_file(struct bh_cli *c, const char *src, const char *tmpdir,
                      const struct bh_push_opts *o, struct bh_push_stats *st, struct bh_err *err);

#endif
