/*
 * cli.h - the command-line client: talks to a running bootherd over its API.
 *
 * Server and token come from --url/--token, else BOOTHERD_URL/BOOTHERD_TOKEN,
 * else --data DIR (DIR/http.url or DIR/http.addr, and DIR/admin.token),
 * else ./var.
 *
 * https:// is verified, never silently not: against the system's CAs; or
 * --cacert FILE / BOOTHERD_CACERT; or a public-key pin, --pin sha256//... /
 * BOOTHERD_PIN (then the pin alone names the server: the certificate's CA
 * and names are not checked).  A server found through its data directory
 * (DIR/http.url, or --data given with an https URL) whose DIR/tls/cert.pem
 * exists is pinned to that certificate by itself.
 * Exit codes: 0 ok, 1 the server refused or failed, 2 usage error.
 */
#ifndef BH_CLI_CLI_H
#define BH_CLI_CLI_H

#include "core/err.h"
#include "core/tlscert.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* pins accepted at once (curl's "sha256//A;sha256//B"), e.g. during a
 * change of key */
#define BH_CLI_PINS_MAX 4

struct bh_cli {
    char url[256]; /* http://host:port, no trailing slash */
    char token[128];
    bool json;
    void *curl;
    /* https: set before bh_cli_setup (flags), completed by it */
    char cacert[4096];                          /* CA file; "" = the system's */
    char pin[BH_CLI_PINS_MAX * BH_TLS_PIN_MAX]; /* "sha256//..;sha256//.."; "" = none */
    char pin_from[4096];                        /* where the pin came from, for messages */
};

struct bh_resp {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    char etag[64];
    char ctype[96];
};

/* Resolve server, token and how to check an https server (see above);
 * BH_EINVAL for a malformed pin or an unreadable CA file. */
int bh_cli_setup(struct bh_cli *c, const char *url, const char *token, const char *data,
                 struct bh_err *err);
void bh_cli_cleanup(struct bh_cli *c);

/* Set c's https checks on a libcurl handle (any handle talking to c's
 * server). */
void bh_cli_tls_setopt(const struct bh_cli *c, void *curl);
/* Whether pin (one or several separated by ';') is well-formed. */
bool bh_cli_pin_valid(const char *pin);

/* One HTTP request to path (starting with '/').  body may be NULL. */
int bh_cli_request(struct bh_cli *c, const char *method, const char *path, const char *ctype,
                   const char *body, size_t len, const char *if_match, struct bh_resp *out,
                   struct bh_err *err);
/* JSON convenience: body is dumped; *out is the parsed reply (may be NULL). */
int bh_cli_json(struct bh_cli *c, const char *method, const char *path, const json_t *body,
                long *status, json_t **out, struct bh_err *err);
void bh_resp_free(struct bh_resp *r);
/* One JSON request; on status `want` print the answer (JSON with --json,
 * else key/value lines), otherwise the server's problem.  0, or 1. */
int bh_cli_show(struct bh_cli *c, const char *method, const char *path, const json_t *body,
                const char *what, long want);

/* bh_cli_show, and on success without --json first one line saying what
 * was done (done; NULL: none): every command that changes something says
 * so, also when the server answers 204 with nothing to show. */
int bh_cli_do(struct bh_cli *c, const char *method, const char *path, const json_t *body,
              const char *what, long want, const char *done);

/* Print the server's problem (or the status) to stderr; returns 1. */
int bh_cli_fail_resp(const char *what, long status, const char *body);
int bh_cli_fail_json(const char *what, long status, const json_t *problem);
/* URL-escape into out. */
void bh_cli_escape(const char *s, char *out, size_t cap);
/* GET /api/v1/<coll>/<name> (name escaped here).  The HTTP status, with
 * the answer in *out when out is not NULL (the caller frees it); -1 after
 * printing why when the server could not be asked. */
long bh_cli_get_named(struct bh_cli *c, const char *coll, const char *name, json_t **out);
/* POST doc (borrowed) to /api/v1/<coll>: 0 when the server answers 201,
 * else 1 after printing why (what: the command, in the message). */
int bh_cli_create(struct bh_cli *c, const char *coll, const json_t *doc, const char *what);
/* Every item of a list endpoint (path may carry a query already), page by
 * page through its "next" cursor, as one new array in *items.  On an
 * error prints it (what: the command) and returns 1 (*items NULL). */
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

/* wsclient.c: follow /api/v1/events from `since`, reconnecting; calls
 * on_event per message until it returns non-zero.  Returns on error only
 * if `once`. */
/* One WebSocket connection to path (Bearer c->token) until the server
 * closes it, nothing (not even a ping) arrives for idle_ms (0: no limit),
 * *quit becomes true or on_msg returns non-zero (then 0).  BH_EAUTH when
 * refused (401/403), BH_EGONE for 410, else BH_EIO with why. */
int bh_ws_session(struct bh_cli *c, const char *path, int idle_ms, const _Atomic bool *quit,
                  int (*on_msg)(void *ud, const char *msg, size_t n, long long *rev), void *ud,
                  long long *rev, struct bh_err *err);
int bh_ws_follow(struct bh_cli *c, const char *query, long long since,
                 int (*on_event)(void *ud, const char *msg, size_t n, long long *rev), void *ud,
                 struct bh_err *err);

#endif
