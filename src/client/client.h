/*
 * client.h - the one HTTP client of bootherd's API, shared by the CLI, the
 * agent and `bootherd client build`.
 *
 * Server and token come from bh_cli_setup's arguments, else BOOTHERD_URL /
 * BOOTHERD_TOKEN, else a data directory (DIR/http.url or DIR/http.addr,
 * and DIR/admin.token), else ./var.
 *
 * https:// is verified, never silently not: against the system's CAs; or a
 * CA file (cacert, BOOTHERD_CACERT); or a public-key pin (pin,
 * BOOTHERD_PIN: then the pin alone names the server, the certificate's CA
 * and names are not checked).  A server found through its data directory
 * whose DIR/tls/cert.pem exists is pinned to that certificate by itself.
 *
 * Contract:
 * - Errors: every function that can fail returns 0 or a BH_E* code with
 *   err set.  A server that cannot be reached is BH_EIO; a certificate or
 *   pin that does not match is BH_EAUTH.  An HTTP answer, whatever its
 *   status, is not an error of bh_cli_request / bh_cli_json: the caller
 *   reads the status, and bh_client_problem turns a refusal into a bh_err.
 * - Ownership: struct bh_cli owns one libcurl handle (bh_cli_cleanup frees
 *   it and wipes the token).  A struct bh_resp owns its body
 *   (bh_resp_free); *out of bh_cli_json is the caller's (json_decref).
 * - Threads: a struct bh_cli is used by one thread at a time (its handle
 *   is reused request after request).  Threads that talk to one server at
 *   once each use a copy of it with its own handle (curl_easy_init), as
 *   uploader.c does; httpsrc.c keeps a pool of handles set up by
 *   bh_client_curl_base.  curl_global_init is called by bh_cli_setup and
 *   httpsrc; a program with threads calls it first, before any thread.
 * - Nothing here writes to stdout.  On stderr: bh_cli_fail_* print a
 *   refusal, bh_ws_follow says when it reconnects, push.c prints a problem
 *   the server sent and progress.c its bar (see their headers).
 */
#ifndef BH_CLIENT_CLIENT_H
#define BH_CLIENT_CLIENT_H

#include "core/err.h"
#include "core/tlscert.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* pins accepted at once (curl's "sha256//A;sha256//B"), e.g. during a
 * change of key */
#define BH_CLI_PINS_MAX 4

struct bh_cli {
    char url[256]; /* http://host:port, no trailing slash */
    char token[128];
    bool json; /* the CLI's --json; the client itself does not read it */
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

/* The settings every libcurl handle of bootherd's client shares: no
 * signals, the user agent ("bootherd-<who>/VERSION"), connect_secs to
 * connect and stall_secs without a byte before giving up, TCP keepalive.
 * curl is a CURL *. */
void bh_client_curl_base(void *curl, const char *who, long connect_secs, long stall_secs);
/* Set c's https checks on a libcurl handle (any handle talking to c's
 * server). */
void bh_cli_tls_setopt(const struct bh_cli *c, void *curl);
/* Whether pin (one or several separated by ';') is well-formed. */
bool bh_cli_pin_valid(const char *pin);
/* "Authorization: Bearer TOKEN" into out (cap bytes); "" for no token.
 * The caller wipes it after use (explicit_bzero). */
void bh_client_auth_header(const char *token, char *out, size_t cap);

/* One HTTP request to path (starting with '/').  body may be NULL. */
int bh_cli_request(struct bh_cli *c, const char *method, const char *path, const char *ctype,
                   const char *body, size_t len, const char *if_match, struct bh_resp *out,
                   struct bh_err *err);
/* JSON convenience: body is dumped; *out is the parsed reply (may be NULL). */
int bh_cli_json(struct bh_cli *c, const char *method, const char *path, const json_t *body,
                long *status, json_t **out, struct bh_err *err);
void bh_resp_free(struct bh_resp *r);

/* A refusal (status, the server's problem document or NULL) as a bh_err:
 * the message is "WHAT: TITLE (HTTP N): DETAIL [field: F]", the code
 * BH_EAUTH for 401, BH_EPERM 403, BH_ENOTFOUND 404, BH_ECONFLICT 409,
 * BH_EPRECOND 412, BH_ETOOBIG 413, BH_EINVAL other 4xx, BH_EBUSY 503,
 * else BH_EIO.  Returns that code. */
int bh_client_problem(const char *what, long status, const json_t *problem, struct bh_err *err);
/* The same with the problem as text (body may be NULL or not JSON). */
int bh_client_problem_resp(const char *what, long status, const char *body, struct bh_err *err);

/* Print the server's problem (bh_client_problem's message) to stderr as
 * "bootherd: MESSAGE"; returns 1.  For the CLI and the agent, whose
 * commands end on such a refusal. */
int bh_cli_fail_json(const char *what, long status, const json_t *problem);
int bh_cli_fail_resp(const char *what, long status, const char *body);

/* URL-escape into out (cut short to fit cap). */
void bh_cli_escape(const char *s, char *out, size_t cap);
/* Every item of a list endpoint (path may carry a query already), page by
 * page through its "next" cursor, as one new array in *items (the
 * caller's).  A status other than 200 is bh_client_problem's error (what
 * names the command); *items is then NULL. */
int bh_client_list_all(struct bh_cli *c, const char *path, const char *what, json_t **items,
                       struct bh_err *err);

/* wsclient.c: one WebSocket connection to path (Bearer c->token) until the
 * server closes it, nothing (not even a ping) arrives for idle_ms (0: no
 * limit), *quit becomes true or on_msg returns non-zero (then 0).
 * BH_EAUTH when refused (401/403), BH_EGONE for 410, else BH_EIO with why. */
int bh_ws_session(struct bh_cli *c, const char *path, int idle_ms, const _Atomic bool *quit,
                  int (*on_msg)(void *ud, const char *msg, size_t n, long long *rev), void *ud,
                  long long *rev, struct bh_err *err);
/* Follow /api/v1/events from `since`, reconnecting (saying so on stderr);
 * calls on_event per message until it returns non-zero. */
int bh_ws_follow(struct bh_cli *c, const char *query, long long since,
                 int (*on_event)(void *ud, const char *msg, size_t n, long long *rev), void *ud,
                 struct bh_err *err);

#endif
