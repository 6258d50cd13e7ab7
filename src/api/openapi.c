/*
 * openapi.c - the OpenAPI 3.1 document, generated from the route table and
 * the kind tables, so it cannot drift from what the server does.
 */
#include "api.h"

#include "core/str.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *doc_text;

static json_t *field_schema(const struct bh_field *f)
{
    json_t *s = json_object();
    switch (f->type) {
    case BH_F_STR:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "maxLength",
                            json_integer((json_int_t)(f->max_len ? f->max_len : 1024)));
        break;
    case BH_F_INT:
        json_object_set_new(s, "type", json_string("integer"));
        if (f->min < f->max) {
            json_object_set_new(s, "minimum", json_integer((json_int_t)f->min));
            json_object_set_new(s, "maximum", json_integer((json_int_t)f->max));
        }
        break;
    case BH_F_BOOL: json_object_set_new(s, "type", json_string("boolean")); break;
    case BH_F_MAC:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "examples", json_pack("[s]", "00:11:22:33:44:55"));
        break;
    case BH_F_ENUM: {
        json_t *e = json_array();
        for (size_t i = 0; f->enum_values[i]; i++)
            json_array_append_new(e, json_string(f->enum_values[i]));
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "enum", e);
        break;
    }
    case BH_F_REF: json_object_set_new(s, "type", json_pack("[s,s]", "string", "null")); break;
    case BH_F_TIME:
        json_object_set_new(s, "type", json_string("string"));
        json_object_set_new(s, "format", json_string("date-time"));
        break;
    case BH_F_LABELS:
        json_object_set_new(s, "type", json_string("object"));
        json_object_set_new(s, "additionalProperties", json_pack("{s:s}", "type", "string"));
        break;
    case BH_F_OBJECT: json_object_set_new(s, "type", json_string("object")); break;
    case BH_F_STRLIST:
        json_object_set_new(s, "type", json_string("array"));
        json_object_set_new(s, "items", json_pack("{s:s}", "type", "string"));
        break;
    }
    if (f->doc)
        json_object_set_new(s, "description", json_string(f->doc));
    if (f->flags & BH_FF_RO)
        json_object_set_new(s, "readOnly", json_true());
    return s;
}

static json_t *kind_schema(const struct bh_kind_desc *k)
{
    json_t *props = json_object(), *req = json_array();
    for (size_t i = 0; i < k->nfields; i++) {
        const struct bh_field *f = &k->fields[i];
        if (f->flags & BH_FF_INTERNAL)
            continue;
        json_object_set_new(props, f->name, field_schema(f));
        if (f->flags & BH_FF_REQUIRED)
            json_array_append_new(req, json_string(f->name));
    }
    json_object_set_new(props, "rev",
                        json_pack("{s:s, s:b, s:s}", "type", "integer", "readOnly", 1,
                                  "description", "revision of the last change (the ETag)"));
    if (k->kind == BH_KIND_GROUP) /* added by the API to single groups (api/misc.c) */
        json_object_set_new(
            props, "startconf_notes",
            json_pack("{s:s, s:{s:s}, s:b, s:s}", "type", "array", "items", "type", "string",
                      "readOnly", 1, "description",
                      "start.conf cross-check warnings and keys kept but not acted on"));
    return json_pack("{s:s, s:o, s:o, s:b}", "type", "object", "properties", props, "required", req,
                     "additionalProperties", 0);
}

static json_t *ref(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", path);
}

static json_t *problem_response(const char *desc)
{
    return json_pack("{s:s, s:{s:{s:o}}}", "description", desc, "content",
                     "application/problem+json", "schema", ref("Problem"));
}

static json_t *json_response(const char *desc, json_t *schema)
{
    return json_pack("{s:s, s:{s:{s:o}}}", "description", desc, "content", "application/json",
                     "schema", schema);
}

/* ---- lists: {"items": [...], "next": CURSOR or null} ---------------------- */

static json_t *page_schema(json_t *item)
{
    return json_pack(
        "{s:s, s:[s,s], s:{s:{s:s, s:o}, s:{s:[s,s], s:s}, s:{s:s, s:s}}}", "type", "object",
        "required", "items", "next", "properties", "items", "type", "array", "items", item, "next",
        "type", "string", "null", "description",
        "an opaque cursor: pass it back as ?after= for the next page; null: this was the last "
        "(GET /api/v1/events: never null, it is where to ask for what happens later)",
        "total", "type", "integer", "description", "every item that matches (count=true only)");
}

static void page_params(json_t *params, const char *limit_doc)
{
    json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}, s:s}", "name", "after", "in",
                                            "query", "schema", "type", "string", "description",
                                            "the next of an earlier page (400 for anything else)"));
    json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s, s:i, s:i}, s:s}", "name", "limit",
                                            "in", "query", "schema", "type", "integer", "minimum",
                                            1, "maximum", BH_LIST_MAX, "description", limit_doc));
}

static void query_param(json_t *params, const char *name, const char *type, const char *doc)
{
    json_array_append_new(params, json_pack("{s:s, s:s, s:{s:s}, s:s}", "name", name, "in", "query",
                                            "schema", "type", type, "description", doc));
}

/* the lists of their own (not of a kind): jobs, audit, events, a host's
 * events, an image's versions */
static bool own_list(const struct bh_route *rt, json_t *resp, json_t *params)
{
    const char *item, *limit_doc;
    if (rt->fn == bh_h_jobs) {
        item = "Job";
        limit_doc = "jobs per page (50)";
        query_param(params, "before", "integer", "jobs older than this job id");
    } else if (rt->fn == bh_h_audit) {
        item = "AuditRecord";
        limit_doc = "records per page (100)";
        query_param(params, "kind", "string", "records of this kind only");
        query_param(params, "key", "string", "records of this object only");
        query_param(params, "actor", "string", "records of this actor only");
        query_param(params, "before", "integer", "records older than this audit id");
    } else if (rt->fn == bh_h_events) {
        item = "Event";
        limit_doc = "events per page (1000)";
        query_param(params, "since", "integer",
                    "the events after this revision (as after; without either: from now)");
        query_param(params, "kind", "string", "events of this kind only");
        query_param(params, "key", "string", "events of this object only");
        json_object_set_new(resp, "410", problem_response("the revision is older than the log"));
    } else if (rt->fn == bh_h_host_events) {
        item = "Event";
        limit_doc = "events per page (100), newest first";
        json_object_set_new(resp, "404", problem_response("no such host"));
    } else if (rt->fn == bh_h_image_versions) {
        item = "Version";
        limit_doc = "versions per page (1000), oldest first";
        json_object_set_new(resp, "404", problem_response("no such image"));
    } else {
        return false;
    }
    page_params(params, limit_doc);
    json_object_set_new(resp, "200", json_response("a page", page_schema(ref(item))));
    json_object_set_new(resp, "400", problem_response("a bad cursor, limit or filter"));
    return true;
}

static json_t *str_prop(const char *doc)
{
    return doc ? json_pack("{s:s, s:s}", "type", "string", "description", doc)
               : json_pack("{s:s}", "type", "string");
}

static void list_item_schemas(json_t *schemas)
{
    json_object_set_new(
        schemas, "Event",
        json_pack("{s:s, s:{s:{s:s, s:s}, s:{s:s, s:s}, s:o, s:o, s:o, s:{s:[s,s]}, s:{s:s}}}",
                  "type", "object", "properties", "rev", "type", "integer", "description",
                  "the store's revision this event made", "ts", "type", "string", "format",
                  "date-time", "kind", str_prop("room, group, host, profile, image, job, ..."),
                  "key", str_prop("the object's key (a host's MAC)"), "type",
                  str_prop("created, updated, deleted, boot.*, agent.*, ..."), "actor", "type",
                  "string", "null", "data", "description", "the object, or what happened"));
    json_object_set_new(
        schemas, "AuditRecord",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:s}, s:o, s:{s:[s,s]}, s:{s:[s,s]}, s:o, s:o, s:o, "
                  "s:{s:s}, s:{s:s}}}",
                  "type", "object", "properties", "id", "type", "integer", "ts", "type", "string",
                  "format", "date-time", "actor", str_prop(NULL), "token_id", "type", "string",
                  "null", "remote", "type", "string", "null", "action",
                  str_prop("created, updated, deleted, ..."), "kind", str_prop(NULL), "key",
                  str_prop(NULL), "before", "description", "the object before (null: created)",
                  "after", "description", "the object after (null: deleted)"));
    json_object_set_new(
        schemas, "Job",
        json_pack("{s:s, s:s, s:{s:{s:s}, s:o, s:{s:s}, s:o, s:{s:s}, s:{s:s}}}", "type", "object",
                  "description",
                  "a job: GET /api/v1/jobs/{id} adds every host's steps (docs/api.md)",
                  "properties", "id", "type", "integer", "state",
                  str_prop("queued, running, done, failed, cancelled"), "spec", "type", "object",
                  "created_by", str_prop(NULL), "host_count", "type", "integer", "host_states",
                  "type", "object"));
    json_object_set_new(
        schemas, "Version",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:o, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s}}, "
                  "s:{s:[s,s]}}}",
                  "type", "object", "properties", "image", "type", "string", "version", "type",
                  "integer", "state", str_prop("released or candidate"), "logical_size", "type",
                  "integer", "stored_size", "type", "integer", "new_bytes", "type", "integer",
                  "tags", "type", "array", "items", "type", "string", "note", "type", "string",
                  "null"));
}

/* operationId: the method and the path's words, URL-safe, e.g.
 * getHostsByKeyEvents for GET /api/v1/hosts/{key}/events */
static void operation_id(const struct bh_route *rt, char *out, size_t cap)
{
    const char *p = rt->pattern;
    size_t n = 0;
    for (const char *m = rt->method; *m && n + 1 < cap; m++)
        out[n++] = (char)(*m >= 'A' && *m <= 'Z' ? *m - 'A' + 'a' : *m);
    if (!strncmp(p, "/api/v1", 7))
        p += 7;
    bool up = true, any = false;
    for (; *p && n + 3 < cap; p++) {
        char ch = *p;
        if (ch == '{') {
            out[n++] = 'B';
            out[n++] = 'y';
            up = true;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9')) {
            out[n++] = up && ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
            up = false;
            any = true;
        } else {
            up = true;
        }
    }
    out[n] = '\0';
    if (!any) /* "/" and "/api/v1" */
        snprintf(out + n, cap - n, "%s", !strcmp(rt->pattern, "/") ? "Root" : "Index");
}

/* every {name} of the path that the operation has not declared yet */
static void path_params(const char *pattern, json_t *params)
{
    for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
        char name[32];
        size_t n = strcspn(p + 1, "*}");
        if (n == 0 || n >= sizeof(name))
            continue;
        memcpy(name, p + 1, n);
        name[n] = '\0';
        bool have = false;
        size_t i;
        json_t *q;
        json_array_foreach(params, i, q) have |=
            !strcmp(json_string_value(json_object_get(q, "name")), name) &&
            !strcmp(json_string_value(json_object_get(q, "in")), "path");
        if (have)
            continue;
        const char *doc = !strcmp(name, "ref")   ? "a version number, or a tag (latest, ...)"
                          : !strcmp(name, "tag") ? "a tag name"
                          : strstr(pattern, "/chunks/")
                              ? "the chunk's id: the SHA-256 of its content, 64 hex digits"
                          : strstr(pattern, "/uploads/") ? "the upload's id"
                          : strstr(pattern, "/tasks/")   ? "the step's (task's) id"
                          : strstr(pattern, "/jobs/")    ? "the job's id"
                                                         : "the object's name";
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}, s:s}", "name", name, "in",
                                                "path", "required", 1, "schema", "type", "string",
                                                "description", doc));
    }
}

static void capitalize(const char *in, char *out, size_t cap)
{
    snprintf(out, cap, "%s", in);
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
}

/* the image store's routes: binary bodies, and answers by status */
static bool image_route(const char *p)
{
    return strstr(p, "/images/{key}/") || !strncmp(p, "/api/v1/uploads", 15) ||
           !strncmp(p, "/api/v1/chunks", 14) || !strncmp(p, "/api/v1/imagestore", 18);
}

static void image_responses(const struct bh_route *rt, json_t *op, json_t *resp)
{
    const char *p = rt->pattern, *m = rt->method;
    bool chunk = strstr(p, "/chunks/") != NULL, manifest = strstr(p, "/manifest") != NULL;
    if (!strcmp(m, "DELETE")) {
        json_object_set_new(resp, "204", json_pack("{s:s}", "description", "deleted"));
    } else if (chunk && !strcmp(m, "GET")) {
        json_object_set_new(resp, "200",
                            json_pack("{s:s, s:{s:{s:{s:s, s:s}}}}", "description",
                                      "the chunk as stored: a zstd frame", "content",
                                      "application/zstd", "schema", "type", "string", "format",
                                      "binary"));
        json_object_set_new(resp, "304", json_pack("{s:s}", "description", "not modified"));
    } else if (strstr(p, "/postsync")) {
        json_object_set_new(resp, "200",
                            json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "the script",
                                      "content", "text/x-shellscript", "schema", "type", "string"));
        json_object_set_new(resp, "204", json_pack("{s:s}", "description", "the image has none"));
    } else if (manifest) {
        json_object_set_new(resp, "200",
                            json_pack("{s:s, s:{s:{s:{s:s, s:s}}}}", "description",
                                      "the manifest (docs/image-format.md)", "content",
                                      "application/vnd.bootherd.manifest", "schema", "type",
                                      "string", "format", "binary"));
    } else {
        bool creates = !strcmp(m, "POST") && (strstr(p, "/uploads") || strstr(p, "/commit"));
        json_object_set_new(resp, creates ? "201" : "200",
                            json_response("OK", json_pack("{s:s}", "type", "object")));
        if (creates || (chunk && !strcmp(m, "PUT")))
            json_object_set_new(
                resp, "200",
                json_pack("{s:s}", "description", chunk ? "already stored" : "an upload resumed"));
        if (chunk && !strcmp(m, "PUT"))
            json_object_set_new(resp, "201", json_pack("{s:s}", "description", "stored"));
    }
    if (!strcmp(m, "PUT") ||
        (!strcmp(m, "POST") && !strstr(p, "/imagestore") && !strstr(p, "/promote"))) {
        const char *ct = chunk ? "application/zstd"
                         : strstr(p, "/uploads") && !strstr(p, "/commit")
                             ? "application/vnd.bootherd.manifest"
                             : "application/json";
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content", ct,
                                      "schema", "type",
                                      strcmp(ct, "application/json") ? "string" : "object"));
        json_object_set_new(resp, "413", problem_response("body too large"));
    }
    if (strchr(p, '{') || strstr(p, "verify"))
        json_object_set_new(resp, "404",
                            problem_response("no such image, version, upload or chunk"));
    json_object_set_new(resp, "400", problem_response("malformed id, tag or query"));
    json_object_set_new(resp, "409",
                        problem_response("conflict: tagged, latest (kept by bootherd), a "
                                         "candidate, or chunks missing"));
    json_object_set_new(resp, "422", problem_response("invalid manifest, chunk or body"));
    json_object_set_new(resp, "500", problem_response("storage failure, or a corrupt chunk"));
    json_object_set_new(resp, "503", problem_response("image store unavailable, or a gc runs"));
}

/* Wake-on-LAN: 202 at once, with what was queued and what was skipped */
static void wake_responses(const struct bh_route *rt, json_t *op, json_t *resp)
{
    if (rt->fn == bh_h_wake)
        json_object_set_new(
            op, "requestBody",
            json_pack("{s:b, s:{s:{s:{s:s, s:b, s:{s:{s:s, s:{s:s}}, s:{s:s}, s:{s:s}, "
                      "s:{s:s}}}}}}",
                      "required", 1, "content", "application/json", "schema", "type", "object",
                      "additionalProperties", 0, "properties", "hosts", "type", "array", "items",
                      "type", "string", "room", "type", "string", "group", "type", "string",
                      "selector", "type", "string"));
    json_object_set_new(
        resp, "202",
        json_response("queued: [{host, mac, address, interface, port, directed}], "
                      "skipped: [{host, mac, why}]",
                      json_pack("{s:s, s:{s:{s:s}, s:{s:s}}}", "type", "object", "properties",
                                "queued", "type", "array", "skipped", "type", "array")));
    if (rt->fn == bh_h_wake)
        json_object_set_new(resp, "400", problem_response("body is not JSON"));
    json_object_set_new(resp, "404", problem_response("no such host, room or group"));
    json_object_set_new(resp, "422", problem_response("invalid body"));
    json_object_set_new(resp, "503", problem_response("boot services are off"));
}

/* Browser sessions: the cookie and its CSRF token */
static void session_responses(const struct bh_route *rt, json_t *op, json_t *resp)
{
    if (rt->fn == bh_h_session_create) {
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:{s:s, s:b, s:[s], s:{s:{s:s}}}}}}", "required",
                                      1, "content", "application/json", "schema", "type", "object",
                                      "additionalProperties", 0, "required", "token", "properties",
                                      "token", "type", "string"));
        json_t *ok = json_response("the session; Set-Cookie: bh_session=...; Path=/; HttpOnly; "
                                   "SameSite=Strict (and Secure over TLS)",
                                   ref("Session"));
        json_object_set_new(ok, "headers",
                            json_pack("{s:{s:s, s:{s:s}}}", "Set-Cookie", "description",
                                      "the session cookie", "schema", "type", "string"));
        json_object_set_new(resp, "201", ok);
        json_object_set_new(resp, "400", problem_response("malformed JSON"));
        json_object_set_new(resp, "401", problem_response("unknown, revoked or expired token"));
        json_object_set_new(resp, "403",
                            problem_response("a host token, or an Origin other than the server"));
        json_object_set_new(resp, "415", problem_response("the body is not application/json"));
        json_object_set_new(resp, "422", problem_response("not {token: STRING}"));
        json_object_set_new(resp, "429",
                            problem_response("too many failed logins from this address"));
    } else if (rt->fn == bh_h_session_get) {
        json_object_set_new(resp, "200", json_response("the session", ref("Session")));
    } else {
        json_object_set_new(resp, "204",
                            json_pack("{s:s}", "description", "ended; the cookie is cleared"));
    }
}

/* The console's files: public, HTML or whatever the file is */
static void console_responses(const struct bh_route *rt, json_t *resp, json_t *params)
{
    bool index = rt->fn == bh_h_console_index;
    if (!index) {
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}, s:s}", "name", "path",
                                                "in", "path", "required", 1, "schema", "type",
                                                "string", "description",
                                                "path below the console's ui/ directory; may "
                                                "contain slashes"));
        json_object_set_new(resp, "404", problem_response("no such file"));
        json_object_set_new(resp, "206", json_pack("{s:s}", "description", "a byte range"));
        json_object_set_new(resp, "416", problem_response("range not satisfiable"));
    }
    json_object_set_new(resp, "200",
                        json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                  index ? "the console's page" : "the file (gzip when asked)",
                                  "content", index ? "text/html" : "*/*", "schema", "type",
                                  "string"));
    json_object_set_new(resp, "304", json_pack("{s:s}", "description", "not modified"));
    json_object_set_new(resp, "503",
                        json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                  "the console was not built (run make)", "content", "text/plain",
                                  "schema", "type", "string"));
}

static json_t *operation(const struct bh_route *rt)
{
    const struct bh_kind_desc *k = rt->data;
    json_t *op = json_object(), *resp = json_object(), *params = json_array();
    char sname[64] = "";
    if (k)
        capitalize(k->name, sname, sizeof(sname));
    json_object_set_new(op, "summary", json_string(rt->summary ? rt->summary : ""));
    char opid[128];
    operation_id(rt, opid, sizeof(opid));
    json_object_set_new(op, "operationId", json_string(opid));
    if (strstr(rt->pattern, "{key}"))
        json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}, s:s}", "name", "key",
                                                "in", "path", "required", 1, "schema", "type",
                                                "string", "description",
                                                "name (hosts: MAC or name; tokens: id or name)"));
    bool list =
        k && (rt->fn == bh_h_list || rt->fn == bh_h_hosts_list || rt->fn == bh_h_images_list);
    if (list) {
        page_params(params, "objects per page (100)");
        query_param(params, "offset", "integer", "skip this many (a page's next does it for you)");
        query_param(params, "sort", "string", "fields, comma-separated, '-' for descending");
        query_param(params, "count", "boolean", "true: the page says how many match (total)");
        query_param(params, "selector", "string",
                    "labels and fields: role in (kiosk,lab),arch!=arm64");
        for (size_t i = 0; i < k->nfields; i++)
            if (k->fields[i].flags & BH_FF_FILTER)
                json_array_append_new(params,
                                      json_pack("{s:s, s:s, s:{s:s}}", "name", k->fields[i].name,
                                                "in", "query", "schema", "type", "string"));
        json_object_set_new(resp, "200",
                            json_response("a page of objects", page_schema(ref(sname))));
        json_object_set_new(resp, "400", problem_response("a bad cursor, filter or sort"));
        bh_api_console_doc(rt, op, resp, params); /* its q and include, if it has them */
    } else if (k && strstr(rt->pattern, "start.conf")) {
        if (!strcmp(rt->method, "GET"))
            json_object_set_new(resp, "200",
                                json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                          "start.conf text", "content", "text/plain", "schema",
                                          "type", "string"));
        else {
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
                                          "text/plain", "schema", "type", "string"));
            json_object_set_new(resp, "200", json_response("the updated group", ref(sname)));
            json_object_set_new(resp, "422", problem_response("invalid start.conf"));
        }
    } else if (k) {
        if (!strcmp(rt->method, "POST") || !strcmp(rt->method, "PUT") ||
            !strcmp(rt->method, "PATCH")) {
            const char *ct =
                strcmp(rt->method, "PATCH") ? "application/json" : "application/merge-patch+json";
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content", ct,
                                          "schema", ref(sname)));
            json_object_set_new(resp, "422", problem_response("invalid field"));
            json_object_set_new(resp, "409", problem_response("duplicate"));
        }
        if (!strcmp(rt->method, "DELETE")) {
            json_object_set_new(resp, "204", json_pack("{s:s}", "description", "deleted"));
            json_object_set_new(resp, "409", problem_response("still in use"));
        } else {
            json_object_set_new(resp, strcmp(rt->method, "POST") ? "200" : "201",
                                json_response("the object", ref(sname)));
        }
        if (strstr(rt->pattern, "{key}")) {
            json_object_set_new(resp, "404", problem_response("no such object"));
            if (strcmp(rt->method, "GET"))
                json_object_set_new(resp, "412", problem_response("If-Match failed"));
        }
    } else if (own_list(rt, resp, params)) {
        /* jobs, audit, events, a host's events, an image's versions */
    } else if (bh_api_console_doc(rt, op, resp, params)) {
        /* the console's routes: consoledoc.c */
    } else if (!strncmp(rt->pattern, "/boot/", 6)) {
        /* firmware-facing: plain text or files, answered without a token */
        static const char *const ipxe_q[] = {"mac", "arch", "platform", "uuid", "serial", NULL};
        const char *const *qs = strstr(rt->pattern, "/ipxe") ? ipxe_q : NULL;
        if (strstr(rt->pattern, "/up") || strstr(rt->pattern, "/files/"))
            json_array_append_new(params,
                                  json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", "mac", "in",
                                            "query", "required", strstr(rt->pattern, "/up") != NULL,
                                            "schema", "type", "string"));
        for (size_t i = 0; qs && qs[i]; i++)
            json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}}", "name", qs[i], "in",
                                                    "query", "required", i == 0, "schema", "type",
                                                    "string"));
        if (strstr(rt->pattern, "{path*}")) {
            json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s}, s:s}", "name", "path",
                                                    "in", "path", "required", 1, "schema", "type",
                                                    "string", "description",
                                                    "path below the boot root; may "
                                                    "contain slashes"));
            json_object_set_new(resp, "206", json_pack("{s:s}", "description", "a byte range"));
            json_object_set_new(resp, "304", json_pack("{s:s}", "description", "not modified"));
            json_object_set_new(resp, "416", problem_response("range not satisfiable"));
        }
        json_object_set_new(
            resp, "200",
            json_pack("{s:s, s:{s:{s:{s:s}}}}", "description", "script or file", "content",
                      strstr(rt->pattern, "/files/") ? "application/octet-stream" : "text/plain",
                      "schema", "type", "string"));
        json_object_set_new(resp, "400", problem_response("missing or malformed mac"));
        json_object_set_new(resp, "404", problem_response("no such host or file"));
        json_object_set_new(resp, "503", problem_response("boot services are off"));
    } else if (rt->fn == bh_h_session_create || rt->fn == bh_h_session_get ||
               rt->fn == bh_h_session_delete) {
        session_responses(rt, op, resp);
    } else if (rt->fn == bh_h_console_index || rt->fn == bh_h_console_file) {
        console_responses(rt, resp, params);
    } else if (rt->fn == bh_h_wake || rt->fn == bh_h_host_wake) {
        wake_responses(rt, op, resp);
    } else if (image_route(rt->pattern)) {
        image_responses(rt, op, resp);
    } else if (rt->fn == bh_h_agent_channel) {
        json_object_set_new(resp, "101",
                            json_pack("{s:s}", "description",
                                      "switched to WebSocket: {type: hello}, then {type: jobs} "
                                      "whenever a job changed"));
        json_object_set_new(resp, "400", problem_response("not a WebSocket upgrade"));
        json_object_set_new(resp, "403", problem_response("not a host token"));
    } else if (rt->fn == bh_h_host_ticket) {
        json_object_set_new(resp, "201",
                            json_response("{mac, ticket, expires_ms}: pass the ticket to "
                                          "bootherd-agent run --ticket",
                                          json_pack("{s:s}", "type", "object")));
        json_object_set_new(resp, "404", problem_response("no such host"));
        json_object_set_new(resp, "503", problem_response("the server has no agent key"));
    } else if (rt->fn == bh_h_agent_boot_local) {
        json_object_set_new(
            resp, "204", json_pack("{s:s}", "description", "the next boot script boots the disk"));
        json_object_set_new(resp, "403", problem_response("not a host token"));
        json_object_set_new(resp, "503", problem_response("boot services are off"));
    } else if (!strncmp(rt->pattern, "/api/v1/agent/", 14)) {
        json_object_set_new(resp, "200", json_response("OK", json_pack("{s:s}", "type", "object")));
        if (strstr(rt->pattern, "/hello")) {
            json_object_set_new(resp, "401",
                                problem_response("bad, foreign, expired or used ticket"));
            json_object_set_new(resp, "404", problem_response("no host with that MAC"));
            json_object_set_new(resp, "503", problem_response("the server has no agent key"));
        } else {
            json_object_set_new(resp, "403", problem_response("not a host token"));
        }
        if (!strcmp(rt->method, "GET"))
            json_object_set_new(resp, "204", json_pack("{s:s}", "description", "no step to run"));
        if (strstr(rt->pattern, "{id}")) {
            json_object_set_new(resp, "404", problem_response("no such task"));
            json_object_set_new(resp, "409",
                                problem_response("not this host's, finished, or claimed by "
                                                 "another agent session of the host"));
        }
        if (!strcmp(rt->method, "POST")) {
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
                                          "application/json", "schema", "type", "object"));
            json_object_set_new(resp, "400", problem_response("malformed JSON"));
            json_object_set_new(resp, "422", problem_response("invalid body"));
        }
    } else if (!strncmp(rt->pattern, "/api/v1/jobs", 12)) {
        bool create = !strcmp(rt->pattern, "/api/v1/jobs") && !strcmp(rt->method, "POST");
        json_object_set_new(resp, create ? "201" : "200",
                            json_response(create ? "the job, with its hosts and steps" : "OK",
                                          json_pack("{s:s}", "type", "object")));
        if (create) {
            json_object_set_new(op, "requestBody",
                                json_pack("{s:b, s:{s:{s:{s:s}}}}", "required", 1, "content",
                                          "application/json", "schema", "type", "object"));
            json_object_set_new(resp, "422",
                                problem_response("bad steps, targets or time; no host matched"));
        }
        json_object_set_new(resp, "400", problem_response("malformed JSON or query"));
        if (strstr(rt->pattern, "{id}"))
            json_object_set_new(resp, "404", problem_response("no such job"));
    } else if (!strcmp(rt->pattern, "/metrics")) {
        json_object_set_new(resp, "200",
                            json_pack("{s:s, s:{s:{s:{s:s}}}}", "description",
                                      "Prometheus text format", "content", "text/plain", "schema",
                                      "type", "string"));
    } else {
        json_object_set_new(resp, "200", json_response("OK", json_pack("{s:s}", "type", "object")));
    }
    if (!strcmp(rt->pattern, "/api/v1/events"))
        json_object_set_new(resp, "101",
                            json_pack("{s:s}", "description",
                                      "switched to WebSocket: one JSON event per "
                                      "text message"));
    if (!(rt->flags & BH_ROUTE_PUBLIC)) {
        json_object_set_new(resp, "401", problem_response("no or bad token"));
        json_object_set_new(resp, "403", problem_response("role too low"));
        char role[96];
        snprintf(role, sizeof(role), "needs role %s or higher", bh_role_name(rt->need));
        json_object_set_new(op, "description", json_string(role));
    } else {
        json_object_set_new(op, "security", json_array());
    }
    path_params(rt->pattern, params);
    json_object_set_new(op, "parameters", params);
    json_object_set_new(op, "responses", resp);
    return op;
}

static void lower(const char *in, char *out, size_t cap)
{
    size_t i = 0;
    for (; in[i] && i + 1 < cap; i++)
        out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
    out[i] = '\0';
}

static void build(void)
{
    size_t n;
    const struct bh_route *routes = bh_api_routes(&n);
    json_t *paths = json_object(), *schemas = json_object();
    for (size_t i = 0; i < BH_KIND__COUNT; i++) {
        char sname[64];
        capitalize(bh_kinds[i].name, sname, sizeof(sname));
        json_object_set_new(schemas, sname, kind_schema(&bh_kinds[i]));
    }
    bh_api_console_schemas(schemas);
    list_item_schemas(schemas);
    json_object_set_new(schemas, "Problem",
                        json_pack("{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}",
                                  "type", "object", "properties", "type", "type", "string", "title",
                                  "type", "string", "status", "type", "integer", "detail", "type",
                                  "string", "instance", "type", "string", "field", "type",
                                  "string"));
    json_object_set_new(
        schemas, "Session",
        json_pack("{s:s, s:{s:{s:s}, s:{s:s, s:[s,s,s]}, s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, "
                  "s:s, s:s}}, s:[s,s,s,s,s]}",
                  "type", "object", "properties", "name", "type", "string", "role", "type",
                  "string", "enum", "viewer", "operator", "admin", "csrf", "type", "string",
                  "description", "send as X-CSRF-Token with every POST, PUT, PATCH and DELETE",
                  "idle_timeout", "type", "integer", "description",
                  "seconds without a request that end the session", "expires", "type", "string",
                  "format", "date-time", "description", "the session's end, however busy",
                  "required", "name", "role", "csrf", "idle_timeout", "expires"));
    for (size_t i = 0; i < n; i++) {
        /* OpenAPI has no catch-all parameter: {path*} is written {path} */
        char pat[256];
        bh_strlcpy(pat, routes[i].pattern, sizeof(pat));
        char *star = strstr(pat, "*}");
        if (star)
            memmove(star, star + 1, strlen(star + 1) + 1);
        json_t *item = json_object_get(paths, pat);
        if (!item) {
            item = json_object();
            json_object_set_new(paths, pat, item);
        }
        char m[16];
        lower(routes[i].method, m, sizeof(m));
        json_object_set_new(item, m, operation(&routes[i]));
    }
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s, s:{s:s, s:s}}, s:[{s:s, s:s}], s:o, s:{s:o, s:{s:{s:s, s:s}, "
        "s:{s:s, s:s, s:s, s:s}}}, s:[{s:[]}, {s:[]}]}",
        "openapi", "3.1.0", "info", "title", "bootherd API", "version", BH_VERSION, "description",
        "Network boot and fleet imaging. Errors are RFC 9457 problem+json; writes accept "
        "If-Match with the ETag of the object. Every list answers {items, next}: pass next "
        "back as ?after= for the next page; null means there is none.",
        "license", "name", "Apache-2.0", "identifier", "Apache-2.0", "servers", "url", "/",
        "description", "the server that serves this document", "paths", paths, "components",
        "schemas", schemas, "securitySchemes", "bearer", "type", "http", "scheme", "bearer",
        "cookie", "type", "apiKey", "in", "cookie", "name", "bh_session", "description",
        "a browser session (POST /api/v1/session); writes also need X-CSRF-Token", "security",
        "bearer", "cookie");
    doc_text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
    json_decref(doc);
}

void bh_h_openapi(struct bh_req *r)
{
    pthread_once(&once, build);
    if (!doc_text) {
        bh_reply_problem(r, 500, "internal", "Internal error", "cannot build the document", NULL);
        return;
    }
    bh_reply_header(r, "Cache-Control", "public, max-age=300");
    bh_reply(r, 200, "application/json", doc_text, strlen(doc_text));
}
