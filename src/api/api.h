/*
 * api.h - the REST API: route table, auth hook and the events hub glue.
 *
 * Handlers use only the store interface and the model; never SQL.
 */
#ifndef BH_API_API_H
#define BH_API_API_H

#include "http/server.h"
#include "http/ws.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct bh_boot;
struct bh_login_limit;

struct bh_api {
    struct bh_store *store;
    _Atomic(struct bh_http *) http; /* set once the server runs (for /metrics) */
    struct bh_ws_hub *hub;          /* event watchers */
    int64_t started_ms;
    struct bh_boot *boot;       /* boot services; NULL when off (set before HTTP starts) */
    struct bh_imagesvc *images; /* the image store; NULL if it could not open */
    uint8_t agent_key[32];      /* signs boot tickets (DATA/agent.key) */
    bool agent_key_ok;
    /* Wake-on-LAN sender; NULL when the boot services are off */
    struct bh_wol *wol;
    /* MAC -> when its agent last asked for a step (ms); for the
     * waiting-for-host state.  In memory: after a restart, agents are heard
     * from again within seconds. */
    pthread_mutex_t seen_mu;
    json_t *agents_seen;
    /* browser sessions (session.c), set before HTTP starts: [http]
     * session_idle and session_max (0: the defaults), and failed logins
     * per client address (NULL: not counted) */
    int64_t session_idle_ms, session_max_ms;
    struct bh_login_limit *login_limit;
    /* the console's files (console.c): [http] ui_dir, opened before
     * privileges drop; ui_ok false when it could not be opened */
    int ui_fd;
    bool ui_ok;
};

/* An agent asked for its next step now. */
void bh_api_agent_seen(struct bh_api *api, const char *mac);
/* A job as the store has it, with "waiting-for-host" for each host whose
 * next step is queued and whose agent has not asked for steps lately. */
void bh_api_job_annotate(struct bh_api *api, json_t *job);
/* What a reader of a job sees (jobview.c): bh_api_job_annotate and
 * bh_api_job_eta, then each host's wake outcome and, while it waits, why. */
void bh_api_job_view(struct bh_api *api, json_t *job);

/* A host token's life: its boot session, renewed while the agent is heard
 * from.  Renewed when less than TTL - RENEW_MS is left (a write at most
 * once per RENEW_MS per session), so an agent silent for the whole TTL (a
 * machine that went away) loses it. */
#define BH_AGENT_TOKEN_TTL_MS   (4LL * 3600 * 1000)
#define BH_AGENT_TOKEN_RENEW_MS (3600LL * 1000)

/* request bodies larger than the [http] max_body */
#define BH_CHUNK_BODY_MIB    17  /* a zstd frame of a 16 MiB chunk */
#define BH_MANIFEST_BODY_MIB 256 /* 5.5M extents: a 1.4 TB image */

/* The complete route table (static). */
const struct bh_route *bh_api_routes(size_t *n);

/* libmicrohttpd auth hook: Bearer token or session cookie -> role, then
 * that role against the route's need (its least role): 403 below it. */
int bh_api_authenticate(void *ud, struct bh_req *r, struct bh_auth *auth, struct bh_err *err);
/* Check an API token string (auth.c): 0 with *auth filled (auth->host set
 * for a client agent's host token) and, if expires_ms is not NULL, the
 * token's end (INT64_MAX: never); else BH_EAUTH with err filled. */
int bh_api_check_token(struct bh_api *api, const char *tok, struct bh_auth *auth,
                       int64_t *expires_ms, struct bh_err *err);
/* Authenticate by the browser session cookie (session.c), for a request
 * that brought no token: 0 with *auth filled (auth->session true); BH_EAUTH
 * without a live session; BH_EPERM with err->type "csrf" when a write lacks
 * the session's X-CSRF-Token, or "origin" when a WebSocket handshake comes
 * from another site's page. */
int bh_api_session_auth(struct bh_api *api, struct bh_req *r, struct bh_auth *auth,
                        struct bh_err *err);

/* Does the credential that authenticated *a (bh_api_authenticate) still
 * stand, with the same role?  For what outlives its request (a WebSocket):
 * 0 if so, or if the store cannot tell now; BH_EAUTH with err->msg saying
 * why not (logged out, revoked, expired, idle, role changed, the agent's
 * session ended).  auth.c, and session.c for a browser session. */
int bh_api_recheck(struct bh_api *api, const struct bh_auth *a, struct bh_err *err);
int bh_api_session_recheck(struct bh_api *api, const struct bh_auth *a, struct bh_err *err);

/* Failed console logins per client address (session.c): after
 * BH_LOGIN_FAIL_MAX failures within BH_LOGIN_FAIL_WINDOW_MS, an address
 * gets 429 until the window ends.  A fixed table: the oldest address makes
 * room for a new one.  Thread-safe. */
#define BH_LOGIN_FAIL_MAX       10
#define BH_LOGIN_FAIL_WINDOW_MS 60000
struct bh_login_limit *bh_login_limit_new(void);
void bh_login_limit_free(struct bh_login_limit *l);
/* A login try from addr (IPv6: its /64): seconds it must wait, or 0 when
 * it may try now, counted as a failure at once (so parallel tries cannot
 * pass the limit); bh_login_limit_ok takes it back when the try did not
 * end in a refused token. */
int64_t bh_login_limit_try(struct bh_login_limit *l, const char *addr, int64_t now_ms);
void bh_login_limit_ok(struct bh_login_limit *l, const char *addr);

/* Hub wake-up: push new events to every watcher (hub thread). */
void bh_api_events_wake(struct bh_ws_hub *hub, void *ud);

/* ---- shared by the handler files ----------------------------------------- */

/* Token strings: "bh_<12 hex id>_<43 chars secret>". */
#define BH_TOKEN_PREFIX  "bh_"
#define BH_TOKEN_ID_LEN  12
#define BH_TOKEN_STR_MAX 96

/* Make a new token: fills tid (BH_TOKEN_ID_LEN+1), the full token string
 * and the hex SHA-256 hash to store. */
int bh_token_generate(char *tid, char token[BH_TOKEN_STR_MAX], char hash[65]);
/* Split "bh_<id>_<secret>" and hash it; BH_EINVAL if malformed. */
int bh_token_parse(const char *token, char *tid, char hash[65]);

struct bh_actor bh_api_actor(struct bh_req *r);
struct bh_api *bh_api_ctx(struct bh_req *r);
/* ETag helpers: format "\"<rev>\""; parse If-Match (0 = header absent,
 * -1 = malformed). */
void bh_etag(int64_t rev, char out[32]);
/* Sort the JSON array a in place by cmp, which gets two json_t *const *
 * (qsort's order: not stable).  Out of memory: a is left as it was. */
void bh_json_sort(json_t *a, int (*cmp)(const void *, const void *));
int64_t bh_if_match(struct bh_req *r);

/* ---- list pages (resources.c) ---------------------------------------------
 * Every list answers {"items": [...], "next": CURSOR or null}.  CURSOR is
 * an opaque string: pass it back as ?after=CURSOR (with the same other
 * parameters) for the next page; null means there is none.  A cursor the
 * list did not give out is 400 with BH_CURSOR_BAD. */
#define BH_CURSOR_BAD "after must be a cursor this list gave out: the next of an earlier page"
/* ?after=: 0 when absent, 1 with *out set (a number from min to max), -1
 * after replying 400 with BH_CURSOR_BAD. */
int bh_api_after(struct bh_req *r, int64_t min, int64_t max, int64_t *out);
/* {"items": items, "next": next as a cursor, or null when next < 0}; takes
 * items. */
json_t *bh_api_page(json_t *items, int64_t next);
/* bh_api_page for a keyset list read with limit: when it came back full,
 * the cursor is the last item's field key (a number), else null. */
json_t *bh_api_page_full(json_t *items, int64_t limit, const char *key);

/* A list request's query, parsed: limit, after, offset, sort, count, selector,
 * filters on filterable fields and, for kinds with search fields, q. */
struct bh_api_list;
/* A route's own list parameter: return 1 if key is one (and was taken), 0
 * if it is not, -1 after replying an error itself. */
typedef int (*bh_api_list_arg_fn)(void *ud, struct bh_req *r, const char *key, const char *val);
/* Parse the query of a list request for kind k; extra (may be NULL) sees
 * every parameter first, extra_names (", include", for the message about
 * an unknown parameter) names its own.  NULL after replying 400 (or 500). */
struct bh_api_list *bh_api_list_parse(struct bh_req *r, const struct bh_kind_desc *k,
                                      bh_api_list_arg_fn extra, void *ud, const char *extra_names);
const struct bh_list_query *bh_api_list_query(const struct bh_api_list *l);
void bh_api_list_free(struct bh_api_list *l);
/* The page {items, next, and total with count=true}; takes items.  Its
 * cursor is the offset of the next page (?offset= is the same). */
json_t *bh_api_list_page(const struct bh_api_list *l, json_t *items,
                         const struct bh_list_result *res);

/* handlers */
void bh_h_list(struct bh_req *r);
void bh_h_get(struct bh_req *r);
void bh_h_create(struct bh_req *r);
void bh_h_replace(struct bh_req *r);
void bh_h_patch(struct bh_req *r);
void bh_h_delete(struct bh_req *r);
void bh_h_token_create(struct bh_req *r);
void bh_h_startconf_get(struct bh_req *r);
void bh_h_startconf_put(struct bh_req *r);
/* Add "startconf_notes" to a group object about to be sent: the warnings
 * and "not acted on" notes of bh_startconf_notes, images looked up in the
 * store (an empty array when the group has no config). */
void bh_api_group_notes(struct bh_api *api, json_t *group);
void bh_h_health(struct bh_req *r);
void bh_h_ready(struct bh_req *r);
void bh_h_metrics(struct bh_req *r);
void bh_h_index(struct bh_req *r);
void bh_h_whoami(struct bh_req *r);
void bh_h_session_create(struct bh_req *r);
void bh_h_session_get(struct bh_req *r);
void bh_h_session_delete(struct bh_req *r);
void bh_h_console_index(struct bh_req *r);
void bh_h_console_file(struct bh_req *r);
void bh_h_audit(struct bh_req *r);
void bh_h_events(struct bh_req *r);
void bh_h_openapi(struct bh_req *r);
void bh_h_boot_bootstrap(struct bh_req *r);
void bh_h_boot_ipxe(struct bh_req *r);
void bh_h_boot_file(struct bh_req *r);
void bh_h_boot_up(struct bh_req *r);
void bh_h_host_events(struct bh_req *r);
void bh_h_settings_effective(struct bh_req *r);
void bh_h_image_versions(struct bh_req *r);
void bh_h_image_version(struct bh_req *r);
void bh_h_image_version_delete(struct bh_req *r);
void bh_h_image_promote(struct bh_req *r);
void bh_h_image_manifest(struct bh_req *r);
void bh_h_image_tag_put(struct bh_req *r);
void bh_h_image_tag_delete(struct bh_req *r);
void bh_h_image_diff(struct bh_req *r);
void bh_h_image_postsync(struct bh_req *r);
void bh_h_upload_begin(struct bh_req *r);
void bh_h_upload_get(struct bh_req *r);
void bh_h_upload_delete(struct bh_req *r);
void bh_h_upload_commit(struct bh_req *r);
void bh_h_chunk_put(struct bh_req *r);
void bh_h_chunk_get(struct bh_req *r);
void bh_h_imagestore(struct bh_req *r);
void bh_h_imagestore_verify(struct bh_req *r);
void bh_h_imagestore_gc(struct bh_req *r);
/* Wake-on-LAN (wolapi.c) */
void bh_h_host_wake(struct bh_req *r);
void bh_h_wake(struct bh_req *r);
/* Queue a wake for each host (an array of host objects, borrowed); *out is
 * {"at": when, "queued": [{host, mac, address, interface, port, directed}],
 *  "skipped": [{host, mac, why}]}; each skipped host gets a "wol.skipped"
 * event by actor a.  BH_EBUSY if Wake-on-LAN is off. */
int bh_api_wake_hosts(struct bh_api *api, const json_t *hosts, const struct bh_actor *a,
                      json_t **out, struct bh_err *err);
/* The job scheduler's tick: wakes the hosts of at:TIME jobs whose time came. */
void bh_api_jobs_tick(struct bh_api *api);
void bh_h_agent_hello(struct bh_req *r);
void bh_h_agent_task(struct bh_req *r);
void bh_h_agent_task_update(struct bh_req *r);
void bh_h_agent_boot_local(struct bh_req *r);
void bh_h_agent_channel(struct bh_req *r);
void bh_h_host_ticket(struct bh_req *r);
/* May the caller read image `image` (NULL: any chunk)?  Viewers and up
 * may; a host token may for the images its group's OS entries name (and
 * chunks, which are named by content).  Replies 403 itself when not. */
bool bh_api_may_read_image(struct bh_req *r, const char *image);
/* The hosts (objects) that targets {hosts, room, group, selector} name, at
 * most max, appended to hosts.  BH_EINVAL for a malformed body or
 * selector, BH_ENOREF for a host, room or group that does not exist,
 * BH_ETOOBIG over max. */
int bh_api_resolve_hosts(struct bh_store *st, const json_t *targets, size_t max, json_t *hosts,
                         struct bh_err *err);
void bh_h_job_create(struct bh_req *r);
void bh_h_jobs(struct bh_req *r);
void bh_h_job_get(struct bh_req *r);
void bh_h_job_cancel(struct bh_req *r);
void bh_h_job_retry(struct bh_req *r);
/* What the web console needs (console.c) */
void bh_h_summary(struct bh_req *r);
void bh_h_hosts_list(struct bh_req *r);
void bh_h_hosts_register(struct bh_req *r);
/* POST /api/v1/hosts/import: a LINBO devices.csv (hostimport.c) */
void bh_h_hosts_import(struct bh_req *r);
#define BH_IMPORT_BODY_MIB 4 /* devices.csv of BH_DEVCSV_ROWS_MAX long lines */
void bh_h_images_list(struct bh_req *r);
/* Each host of a job (as GET /jobs/{id} shows it) gets eta_s: the seconds
 * its running step still needs at its reported rate, or null. */
void bh_api_job_eta(json_t *job);
/* The OpenAPI parts of the console's routes (openapi.c asks): true if rt
 * is one of them; adds its parameters, body and answers. */
bool bh_api_console_doc(const struct bh_route *rt, json_t *op, json_t *resp, json_t *params);
/* The schemas those parts refer to. */
void bh_api_console_schemas(json_t *schemas);

#endif
