/*
 * api.c - the route table and helpers shared by the handlers.
 */
#include "api.h"

#include "core/str.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define V1 "/api/v1"

/* clang-format off */
#define CRUD(plural, kind, rd, wr) CRUD_L(plural, kind, rd, wr, bh_h_list, "List " plural)
/* with a list handler of its own (console.c) */
#define CRUD_L(plural, kind, rd, wr, list, list_summary)                                           \
    {"GET", V1 "/" plural, list, rd, &bh_kinds[kind], 0, list_summary},                            \
    {"POST", V1 "/" plural, bh_h_create, wr, &bh_kinds[kind], 0, "Create one of the " plural},     \
    {"GET", V1 "/" plural "/{key}", bh_h_get, rd, &bh_kinds[kind], 0, "Read one of the " plural},  \
    {"PUT", V1 "/" plural "/{key}", bh_h_replace, wr, &bh_kinds[kind], 0,                          \
     "Replace one of the " plural},                                                                \
    {"PATCH", V1 "/" plural "/{key}", bh_h_patch, wr, &bh_kinds[kind], 0,                          \
     "Change part of one of the " plural " (JSON merge patch)"},                                   \
    {"DELETE", V1 "/" plural "/{key}", bh_h_delete, wr, &bh_kinds[kind], 0,                        \
     "Delete one of the " plural}

#define TOKENS &bh_kinds[BH_KIND_TOKEN]
#define GROUPS &bh_kinds[BH_KIND_GROUP]
#define SETTINGS &bh_kinds[BH_KIND_SETTINGS]

static const struct bh_route routes[] = {
    {"GET", "/health", bh_h_health, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC | BH_ROUTE_PLAIN,
     "Liveness"},
    {"GET", "/ready", bh_h_ready, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC | BH_ROUTE_PLAIN,
     "Readiness (store usable)"},
    {"GET", "/metrics", bh_h_metrics, BH_ROLE_VIEWER, NULL, 0, "Prometheus metrics"},
    {"GET", V1, bh_h_index, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC, "API index"},
    {"GET", V1 "/openapi.json", bh_h_openapi, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC,
     "This OpenAPI document"},
    {"GET", V1 "/whoami", bh_h_whoami, BH_ROLE_VIEWER, NULL, 0, "The calling token"},
    {"GET", "/", bh_h_console_index, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC,
     "The web console's page (text 503 when the console was not built)"},
    {"GET", "/ui/{path*}", bh_h_console_file, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC,
     "A file of the web console (ETag; gzip; cached for a year when its name has a hash)"},
    {"POST", V1 "/session", bh_h_session_create, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC,
     "Log in from a browser: trade a token ({token}) for a session cookie and a CSRF token"},
    {"GET", V1 "/session", bh_h_session_get, BH_ROLE_VIEWER, NULL, 0,
     "The browser session of the cookie, with its CSRF token"},
    {"DELETE", V1 "/session", bh_h_session_delete, BH_ROLE_VIEWER, NULL, 0,
     "Log out: end the cookie's browser session (send X-CSRF-Token)"},
    {"GET", V1 "/summary", bh_h_summary, BH_ROLE_VIEWER, NULL, 0,
     "The dashboard's counts: hosts by state (?room=NAME: of one room), rooms, groups, "
     "profiles, images, jobs, the image store and the boot services"},
    CRUD("rooms", BH_KIND_ROOM, BH_ROLE_VIEWER, BH_ROLE_OPERATOR),
    CRUD("groups", BH_KIND_GROUP, BH_ROLE_VIEWER, BH_ROLE_OPERATOR),
    {"GET", V1 "/groups/{key}/start.conf", bh_h_startconf_get, BH_ROLE_VIEWER, GROUPS, 0,
     "The group's layout and OS entries as a LINBO start.conf"},
    {"PUT", V1 "/groups/{key}/start.conf", bh_h_startconf_put, BH_ROLE_OPERATOR, GROUPS, 0,
     "Set the group's layout and OS entries from a LINBO start.conf"},
    CRUD_L("hosts", BH_KIND_HOST, BH_ROLE_VIEWER, BH_ROLE_OPERATOR, bh_h_hosts_list,
           "List hosts (q=TEXT searches name, MAC and IP; include=activity adds each host's "
           "current or last step)"),
    {"POST", V1 "/hosts/register", bh_h_hosts_register, BH_ROLE_OPERATOR, NULL, 0,
     "Name and file many new hosts at once: {hosts: [MAC...], pattern: \"r101-pc{01..30}\", "
     "order: given|mac|first_seen, room, group}; all or nothing"},
    {"POST", V1 "/hosts/import", bh_h_hosts_import, BH_ROLE_OPERATOR, NULL,
     BH_ROUTE_BODY_MIB(BH_IMPORT_BODY_MIB),
     "Import a LINBO devices.csv (text/csv): hosts created or updated by MAC, all or nothing "
     "(?dry_run=1: report only; ?create=rooms,groups: create the missing ones)"},
    CRUD("profiles", BH_KIND_PROFILE, BH_ROLE_VIEWER, BH_ROLE_OPERATOR),
    CRUD_L("images", BH_KIND_IMAGE, BH_ROLE_VIEWER, BH_ROLE_OPERATOR, bh_h_images_list,
           "List images (include=usage adds versions, sizes and the groups that use each)"),
    {"GET", V1 "/tokens", bh_h_list, BH_ROLE_ADMIN, TOKENS, 0, "List tokens"},
    {"POST", V1 "/tokens", bh_h_token_create, BH_ROLE_ADMIN, TOKENS, 0,
     "Create a token (its secret is in this response only)"},
    {"GET", V1 "/tokens/{key}", bh_h_get, BH_ROLE_ADMIN, TOKENS, 0, "Read a token"},
    {"PATCH", V1 "/tokens/{key}", bh_h_patch, BH_ROLE_ADMIN, TOKENS, 0,
     "Change a token's name, role, description or expiry"},
    {"DELETE", V1 "/tokens/{key}", bh_h_delete, BH_ROLE_ADMIN, TOKENS, 0, "Revoke a token"},
    {"GET", V1 "/settings", bh_h_get, BH_ROLE_ADMIN, SETTINGS, 0,
     "Run-time boot settings (null: as the config file says; see /api/v1/settings/effective)"},
    {"GET", V1 "/settings/effective", bh_h_settings_effective, BH_ROLE_ADMIN, NULL, 0,
     "The boot settings in force: config file and settings object together"},
    {"PATCH", V1 "/settings", bh_h_patch, BH_ROLE_ADMIN, SETTINGS, 0,
     "Change run-time boot settings"},
    {"GET", V1 "/hosts/{key}/events", bh_h_host_events, BH_ROLE_VIEWER, NULL, 0,
     "The newest events of one host: its boot timeline"},
    {"POST", V1 "/hosts/{key}/ticket", bh_h_host_ticket, BH_ROLE_ADMIN, NULL, 0,
     "A boot ticket for the host, made by hand (audited): for a machine started without the "
     "boot chain"},
    {"GET", "/boot/boot.ipxe", bh_h_boot_bootstrap, BH_ROLE_NONE, NULL,
     BH_ROUTE_PUBLIC | BH_ROUTE_PLAIN,
     "iPXE bootstrap script: chains to the machine's own script"},
    {"GET", "/boot/ipxe", bh_h_boot_ipxe, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC | BH_ROUTE_PLAIN,
     "The iPXE script of the machine with ?mac= (menu, profile or local disk)"},
    {"GET", "/boot/files/{path*}", bh_h_boot_file, BH_ROLE_NONE, NULL,
     BH_ROUTE_PUBLIC | BH_ROUTE_PLAIN,
     "A file of the boot root (Range, ETag, If-Modified-Since)"},
    {"GET", "/boot/up", bh_h_boot_up, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC | BH_ROUTE_PLAIN,
     "The booted system reports that it is up (?mac=)"},
    {"POST", "/boot/up", bh_h_boot_up, BH_ROLE_NONE, NULL, BH_ROUTE_PUBLIC | BH_ROUTE_PLAIN,
     "The booted system reports that it is up (?mac=)"},
    {"GET", V1 "/images/{key}/versions", bh_h_image_versions, BH_ROLE_VIEWER, NULL, 0,
     "The versions of an image, oldest first"},
    {"GET", V1 "/images/{key}/versions/{ref}", bh_h_image_version, BH_ROLE_VIEWER, NULL, 0,
     "One version (a number or a tag)"},
    {"DELETE", V1 "/images/{key}/versions/{ref}", bh_h_image_version_delete, BH_ROLE_OPERATOR,
     NULL, 0, "Delete a version, or reject a candidate (its chunks go at the next gc)"},
    {"POST", V1 "/images/{key}/versions/{ref}/promote", bh_h_image_promote, BH_ROLE_OPERATOR,
     NULL, 0,
     "Release a candidate (a version captured by a client agent); latest moves to the highest "
     "released version.  A released version is answered as it is"},
    {"GET", V1 "/images/{key}/versions/{ref}/manifest", bh_h_image_manifest, BH_ROLE_NONE, NULL,
     0,
     "A version's manifest (application/vnd.bootherd.manifest; docs/image-format.md); hosts "
     "get released versions only"},
    {"PUT", V1 "/images/{key}/tags/{tag}", bh_h_image_tag_put, BH_ROLE_OPERATOR, NULL, 0,
     "Point a tag at a released version ({\"version\": REF}); a rollback is a tag move.  "
     "latest is 409: bootherd keeps it"},
    {"DELETE", V1 "/images/{key}/tags/{tag}", bh_h_image_tag_delete, BH_ROLE_OPERATOR, NULL, 0,
     "Remove a tag (latest is 409: bootherd keeps it)"},
    {"GET", V1 "/images/{key}/diff", bh_h_image_diff, BH_ROLE_VIEWER, NULL, 0,
     "Chunks and bytes that differ between two versions (?a=REF&b=REF[&b_image=NAME])"},
    {"GET", V1 "/images/{key}/postsync", bh_h_image_postsync, BH_ROLE_NONE, NULL, 0,
     "The image's post-sync script (text; 204 if none): viewers, and hosts whose group uses it"},
    {"POST", V1 "/images/{key}/uploads", bh_h_upload_begin, BH_ROLE_NONE, NULL,
     BH_ROUTE_BODY_MIB(BH_MANIFEST_BODY_MIB),
     "Begin or resume an upload: post a manifest, get the chunks the server lacks"},
    {"GET", V1 "/uploads/{id}", bh_h_upload_get, BH_ROLE_NONE, NULL, 0,
     "An upload in progress and the chunks it still lacks"},
    {"DELETE", V1 "/uploads/{id}", bh_h_upload_delete, BH_ROLE_NONE, NULL, 0,
     "Abandon an upload"},
    {"POST", V1 "/uploads/{id}/commit", bh_h_upload_commit, BH_ROLE_NONE, NULL, 0,
     "Create the version ({note?, tags?}); only when every chunk is present.  A host "
     "token's version is a candidate (unless the image has auto_promote) and may have no "
     "tags"},
    {"PUT", V1 "/chunks/{id}", bh_h_chunk_put, BH_ROLE_NONE, NULL,
     BH_ROUTE_BODY_MIB(BH_CHUNK_BODY_MIB), "Upload a chunk: a zstd frame whose content hashes to id"},
    {"GET", V1 "/chunks/{id}", bh_h_chunk_get, BH_ROLE_NONE, NULL, 0,
     "A chunk as stored (zstd; ETag = id, immutable)"},
    {"GET", V1 "/imagestore", bh_h_imagestore, BH_ROLE_VIEWER, NULL, 0,
     "Chunks and bytes in the image store"},
    {"POST", V1 "/imagestore/verify", bh_h_imagestore_verify, BH_ROLE_OPERATOR, NULL, 0,
     "Rehash every chunk of every version (?image=NAME: of one image)"},
    {"POST", V1 "/imagestore/gc", bh_h_imagestore_gc, BH_ROLE_ADMIN, NULL, 0,
     "Delete chunks no version or upload needs (?dry_run=1: only count them)"},
    {"POST", V1 "/agent/hello", bh_h_agent_hello, BH_ROLE_NONE, NULL,
     BH_ROUTE_PUBLIC | BH_ROUTE_PLAIN,
     "A client agent trades its boot ticket for a host token ({mac, ticket, inventory})"},
    {"GET", V1 "/agent/task", bh_h_agent_task, BH_ROLE_NONE, NULL, 0,
     "The agent's next step (host token); 204 when there is none"},
    {"POST", V1 "/agent/tasks/{id}", bh_h_agent_task_update, BH_ROLE_NONE, NULL, 0,
     "The agent reports on a step: {state, progress?, error?} (host token)"},
    {"GET", V1 "/agent/channel", bh_h_agent_channel, BH_ROLE_NONE, NULL, BH_ROUTE_NOMETRIC,
     "The agent's WebSocket (host token): {type: hello}, then {type: jobs} when jobs change"},
    {"POST", V1 "/agent/boot-local", bh_h_agent_boot_local, BH_ROLE_NONE, NULL, 0,
     "The host's next boot script boots its disk, once (host token; start:N without kexec)"},
    {"POST", V1 "/jobs", bh_h_job_create, BH_ROLE_OPERATOR, NULL, 0,
     "Run steps on hosts: {targets: {hosts, room, group, selector}, steps, when, wake, parallel}; "
     "422 with errors [{host, step, reason}] and nothing made when a step cannot work on a host"},
    {"GET", V1 "/jobs", bh_h_jobs, BH_ROLE_VIEWER, NULL, 0, "Jobs, newest first (?before=&limit=)"},
    {"GET", V1 "/jobs/{id}", bh_h_job_get, BH_ROLE_VIEWER, NULL, 0,
     "A job with every host's steps and their states, its wake outcome and why it waits"},
    {"POST", V1 "/jobs/{id}/cancel", bh_h_job_cancel, BH_ROLE_OPERATOR, NULL, 0,
     "Cancel the steps that have not finished"},
    {"POST", V1 "/jobs/{id}/retry", bh_h_job_retry, BH_ROLE_OPERATOR, NULL, 0,
     "Run failed and cancelled steps again"},
    {"POST", V1 "/hosts/{key}/wake", bh_h_host_wake, BH_ROLE_OPERATOR, NULL, 0,
     "Wake the host (Wake-on-LAN); 202 with where the packet goes"},
    {"POST", V1 "/wake", bh_h_wake, BH_ROLE_OPERATOR, NULL, 0,
     "Wake hosts: {hosts, room, group, selector}; sent staggered, 202 at once"},
    {"GET", V1 "/audit", bh_h_audit, BH_ROLE_OPERATOR, NULL, 0, "The audit log, newest first"},
    {"GET", V1 "/events", bh_h_events, BH_ROLE_VIEWER, NULL, BH_ROUTE_NOMETRIC,
     "Events since a revision (JSON page, or a WebSocket stream)"},
};
/* clang-format on */

const struct bh_route *bh_api_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}

struct bh_api *bh_api_ctx(struct bh_req *r)
{
    return bh_req_ud(r);
}

struct bh_actor bh_api_actor(struct bh_req *r)
{
    const struct bh_auth *a = bh_req_auth(r);
    struct bh_actor act = {a->name[0] ? a->name : "anonymous", a->token_id[0] ? a->token_id : NULL,
                           bh_req_remote(r)};
    return act;
}

void bh_json_sort(json_t *a, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(a);
    json_t **v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(a, i));
    qsort(v, n, sizeof(*v), cmp);
    json_array_clear(a);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, v[i]);
    free(v);
}

void bh_etag(int64_t rev, char out[32])
{
    snprintf(out, 32, "\"%lld\"", (long long)rev);
}

int64_t bh_if_match(struct bh_req *r)
{
    const char *h = bh_req_header(r, "If-Match");
    if (!h || strcmp(h, "*") == 0) /* RFC 9110 13.1.1: "*" holds if it exists */
        return 0;
    /* If-Match compares strongly, so a weak tag (W/"n") never matches */
    size_t n = strlen(h);
    int64_t v;
    if (n < 3 || h[0] != '"' || h[n - 1] != '"' || bh_parse_i64n(h + 1, n - 2, 1, INT64_MAX, &v))
        return -1;
    return v;
}

static void sha256_hex(const char *s, char hash[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), d);
    bh_hex(d, sizeof(d), hash);
}

int bh_token_generate(char *tid, char token[BH_TOKEN_STR_MAX], char hash[65])
{
    unsigned char id[BH_TOKEN_ID_LEN / 2], secret[32];
    char sec[64];
    if (bh_random(id, sizeof(id)) || bh_random(secret, sizeof(secret)))
        return BH_ESYS;
    bh_hex(id, sizeof(id), tid);
    bh_b64url(secret, sizeof(secret), sec);
    snprintf(token, BH_TOKEN_STR_MAX, "%s%s_%s", BH_TOKEN_PREFIX, tid, sec);
    sha256_hex(token, hash);
    return 0;
}

int bh_token_parse(const char *token, char *tid, char hash[65])
{
    size_t n = strlen(token);
    size_t pre = strlen(BH_TOKEN_PREFIX);
    if (n >= BH_TOKEN_STR_MAX || n < pre + BH_TOKEN_ID_LEN + 2 ||
        strncmp(token, BH_TOKEN_PREFIX, pre) != 0 || token[pre + BH_TOKEN_ID_LEN] != '_')
        return BH_EINVAL;
    for (size_t i = 0; i < BH_TOKEN_ID_LEN; i++)
        if (!strchr("0123456789abcdef", token[pre + i]) || !token[pre + i])
            return BH_EINVAL;
    memcpy(tid, token + pre, BH_TOKEN_ID_LEN);
    tid[BH_TOKEN_ID_LEN] = '\0';
    sha256_hex(token, hash);
    return 0;
}
