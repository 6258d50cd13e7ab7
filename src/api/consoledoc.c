/*
 * consoledoc.c - the OpenAPI parts of the console's routes (console.c):
 * their query parameters, bodies, answers and schemas.  openapi.c asks
 * bh_api_console_doc for each route, so the document is generated from
 * the route table as before.  Owned by the console API (issue 10).
 */
#include "api.h"

#include "model/console.h"

#include <stdio.h>
#include <string.h>

static json_t *ref(const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "#/components/schemas/%s", name);
    return json_pack("{s:s}", "$ref", path);
}

static json_t *problem(const char *desc)
{
    return json_pack("{s:s, s:{s:{s:o}}}", "description", desc, "content",
                     "application/problem+json", "schema", ref("Problem"));
}

static json_t *json_body(const char *desc, json_t *schema)
{
    return json_pack("{s:s, s:{s:{s:o}}}", "description", desc, "content", "application/json",
                     "schema", schema);
}

static void query(json_t *params, const char *name, json_t *schema, const char *desc)
{
    json_array_append_new(params, json_pack("{s:s, s:s, s:o, s:s}", "name", name, "in", "query",
                                            "schema", schema, "description", desc));
}

static json_t *integer(void)
{
    return json_pack("{s:s}", "type", "integer");
}

static json_t *counts(const char *const *keys)
{
    json_t *p = json_object();
    for (size_t i = 0; keys[i]; i++)
        json_object_set_new(p, keys[i], integer());
    return json_pack("{s:s, s:o}", "type", "object", "properties", p);
}

bool bh_api_console_doc(const struct bh_route *rt, json_t *op, json_t *resp, json_t *params)
{
    if (rt->fn == bh_h_hosts_list) {
        query(params, "q", json_pack("{s:s, s:i}", "type", "string", "maxLength", BH_SEARCH_MAX),
              "hosts whose name, MAC (aa:bb:.., aa-bb-.. or aabb..) or IP contains this text, "
              "ignoring case; '%' and '_' are themselves");
        query(params, "include", json_pack("{s:s, s:[s]}", "type", "string", "enum", "activity"),
              "activity: each host gets \"activity\", its current or last step {job, task, step, "
              "state, progress, eta_s, error, updated}, or null");
        json_object_set_new(resp, "400", problem("unknown or bad query parameter"));
        return true;
    }
    if (rt->fn == bh_h_images_list) {
        query(params, "include", json_pack("{s:s, s:[s]}", "type", "string", "enum", "usage"),
              "usage: each image gets \"usage\" {versions, candidates, latest, logical_bytes, "
              "stored_bytes, groups}");
        json_object_set_new(resp, "400", problem("unknown or bad query parameter"));
        return true;
    }
    if (rt->fn == bh_h_summary) {
        query(params, "room", json_pack("{s:s}", "type", "string"),
              "count the hosts of this room only");
        json_object_set_new(resp, "200", json_body("the counts", ref("Summary")));
        json_object_set_new(resp, "400", problem("unknown query parameter"));
        json_object_set_new(resp, "404", problem("no such room"));
        return true;
    }
    if (rt->fn == bh_h_hosts_register) {
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
                                      "application/json", "schema", ref("HostRegistration")));
        json_object_set_new(
            resp, "200",
            json_body("the hosts as written, in the order they were named",
                      json_pack("{s:s, s:{s:{s:s, s:o}}}", "type", "object", "properties", "hosts",
                                "type", "array", "items", ref("Host"))));
        json_object_set_new(resp, "400", problem("body is not JSON"));
        json_object_set_new(resp, "422",
                            problem("a bad MAC, pattern or order; a host that is missing or "
                                    "not new; a name taken; an unknown room or group: nothing "
                                    "is written"));
        return true;
    }
    if (rt->fn == bh_h_hosts_import) {
        query(params, "dry_run", json_pack("{s:s}", "type", "boolean"),
              "1: report what the import would do, write nothing");
        query(params, "create",
              json_pack("{s:s, s:s}", "type", "string", "pattern",
                        "^(rooms|groups)(,(rooms|groups))?$"),
              "rooms,groups: create the rooms and groups the file names that do not exist "
              "(without it they are errors at the lines that name them)");
        json_object_set_new(op, "requestBody",
                            json_pack("{s:b, s:s, s:{s:{s:{s:s}}}}", "required", 1, "description",
                                      "LINBO's devices.csv: room;hostname;group;mac;ip;...;"
                                      "pxeFlag;...;comment;options (docs/api.md)",
                                      "content", "text/csv", "schema", "type", "string"));
        json_object_set_new(resp, "200",
                            json_body("what was (or would be) written", ref("HostImport")));
        json_object_set_new(resp, "400", problem("unknown or bad query parameter"));
        json_object_set_new(resp, "409",
                            problem("a name or address another host holds: the report's errors "
                                    "say at which lines; nothing is written"));
        json_object_set_new(resp, "413", problem("more than 10000 devices, or a body over 4 MiB"));
        json_object_set_new(resp, "415", problem("not text/csv (or text/plain)"));
        json_object_set_new(resp, "422",
                            problem("bad lines, or rooms and groups that do not exist: the "
                                    "problem carries errors [{line, column, field, message}] and "
                                    "errors_total; nothing is written"));
        return true;
    }
    return false;
}

void bh_api_console_schemas(json_t *schemas)
{
    static const char *const states[] = {"new", "known", "booting", "up", "offline", NULL};
    static const char *const hosts[] = {"total", "busy", "failed", NULL};
    static const char *const jobs[] = {"running", "waiting", NULL};
    json_t *h = counts(hosts);
    json_object_set_new(json_object_get(h, "properties"), "by_state", counts(states));
    json_t *store = json_pack(
        "{s:[s,s], s:s, s:{s:o, s:o, s:o, s:{s:s}}}", "type", "object", "null", "description",
        "the image store; null when it could not be opened", "properties", "chunks", integer(),
        "stored_bytes", integer(), "logical_bytes", integer(), "dedup_ratio", "type", "number");
    json_t *boot = json_pack(
        "{s:s, s:{s:{s:s}, s:{s:s, s:[s,s,s,s]}, s:{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}}}}, s:o, "
        "s:{s:s}, s:o, s:o}}",
        "type", "object", "properties", "enabled", "type", "boolean", "dhcp_mode", "type", "string",
        "enum", "off", "proxy", "full", "mixed", "interfaces", "type", "array", "items", "type",
        "object", "properties", "name", "type", "string", "mode", "type", "string", "leases",
        integer(), "tftp", "type", "boolean", "tftp_transfers", integer(), "http_connections",
        integer());
    json_object_set_new(schemas, "Summary",
                        json_pack("{s:s, s:{s:o, s:{s:s}, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}}",
                                  "type", "object", "properties", "rev", integer(), "room", "type",
                                  "string", "hosts", h, "rooms", integer(), "groups", integer(),
                                  "profiles", integer(), "images", integer(), "jobs", counts(jobs),
                                  "store", store, "boot", boot));
    json_t *line =
        json_pack("{s:s, s:{s:o, s:{s:s}, s:{s:s}, s:{s:s, s:[s,s,s]}}}", "type", "object",
                  "properties", "line", integer(), "mac", "type", "string", "name", "type",
                  "string", "result", "type", "string", "enum", "created", "updated", "unchanged");
    json_t *error = json_pack("{s:s, s:{s:o, s:o, s:{s:s}, s:{s:s}}}", "type", "object",
                              "properties", "line", integer(), "column", integer(), "field", "type",
                              "string", "message", "type", "string");
    json_object_set_new(
        schemas, "HostImport",
        json_pack("{s:s, s:{s:{s:s}, s:o, s:o, s:o, s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}, "
                  "s:{s:s, s:o}, s:{s:s, s:o}}}",
                  "type", "object", "properties", "dry_run", "type", "boolean", "created",
                  integer(), "updated", integer(), "unchanged", integer(), "rooms_created", "type",
                  "array", "items", "type", "string", "groups_created", "type", "array", "items",
                  "type", "string", "hosts", "type", "array", "items", line, "errors", "type",
                  "array", "items", error));
    json_object_set_new(
        schemas, "HostRegistration",
        json_pack("{s:s, s:[s,s], s:b, s:{s:{s:s, s:{s:s}, s:i, s:i}, s:{s:s, s:i, s:s}, "
                  "s:{s:s, s:[s,s,s]}, s:{s:[s,s]}, s:{s:[s,s]}}}",
                  "type", "object", "required", "hosts", "pattern", "additionalProperties", 0,
                  "properties", "hosts", "type", "array", "items", "type", "string", "minItems", 1,
                  "maxItems", 1000, "pattern", "type", "string", "maxLength", BH_PATTERN_MAX,
                  "description", "one range {A..B}, padded to A's width: r101-pc{01..30}", "order",
                  "type", "string", "enum", "given", "mac", "first_seen", "room", "type", "string",
                  "null", "group", "type", "string", "null"));
}
