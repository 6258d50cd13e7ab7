/*
 * test_store.c - the store interface (src/store/store.h) on the real SQLite
 * backend, one fresh database under /tmp per test.
 *
 * JSON in this file is written with single quotes ('name') for legibility;
 * J() turns them into double quotes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "core/timeutil.h"
#include "model/model.h"
#include "model/selector.h"
#include "jobs/jobs.h"
#include "jobs/rules.h"
#include "store/store.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define ROOM    (&bh_kinds[BH_KIND_ROOM])
#define GROUP   (&bh_kinds[BH_KIND_GROUP])
#define HOST    (&bh_kinds[BH_KIND_HOST])
#define PROFILE (&bh_kinds[BH_KIND_PROFILE])
#define IMAGE   (&bh_kinds[BH_KIND_IMAGE])
#define TOKEN   (&bh_kinds[BH_KIND_TOKEN])

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define MAC1   "00:00:00:00:00:01"

static const struct bh_actor actor = {"tester", "0123456789ab", "192.0.2.7"};

/* The store under test (one per test, set up and torn down by the fixture). */
static struct bh_store *S;
static char g_dir[64], g_path[128];
static int64_t g_keep;
static int g_readers = 4;

static void store_open(void)
{
    struct bh_store_config cfg = {.path = g_path, .readers = g_readers, .events_keep = g_keep};
    struct bh_err err;
    if (bh_store_open(&cfg, &S, &err))
        fail_msg("open %s: %s", g_path, err.msg);
}

static int setup_keep(int64_t keep)
{
    snprintf(g_dir, sizeof(g_dir), "/tmp/bh-test-store-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_path, sizeof(g_path), "%s/state.db", g_dir);
    g_keep = keep;
    store_open();
    return 0;
}

static int setup(void **state)
{
    (void)state;
    g_readers = 4;
    return setup_keep(0);
}

static int setup_small_keep(void **state)
{
    (void)state;
    g_readers = 4;
    return setup_keep(1000);
}

/* one reader connection: any path that takes a second one deadlocks */
static int setup_one_reader(void **state)
{
    (void)state;
    g_readers = 1;
    return setup_keep(1000);
}

static int teardown(void **state)
{
    (void)state;
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    bh_store_close(S);
    S = NULL;
    for (size_t i = 0; i < N_ELEMS(suffix); i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", g_path, suffix[i]);
        unlink(p);
    }
    rmdir(g_dir);
    return 0;
}

/* ---- helpers -------------------------------------------------------------- */

/* Validate as the API does, then create.  Tokens get the id (given as 'id' or
 * generated) and hash that bh_h_token_create adds. */
static int mk(const struct bh_kind_desc *k, const char *text, json_t **out, struct bh_err *err)
{
    static atomic_uint next_tid;
    json_t *in = J(text), *doc = NULL;
    char tid[16];
    *out = NULL;
    bh_err_clear(err);
    snprintf(tid, sizeof(tid), "%012x", atomic_fetch_add(&next_tid, 1) + 1);
    if (json_is_string(json_object_get(in, "id"))) {
        snprintf(tid, sizeof(tid), "%s", json_string_value(json_object_get(in, "id")));
        json_object_del(in, "id");
    }
    int rc = bh_model_validate(k, in, BH_V_CREATE, &doc, err);
    json_decref(in);
    if (rc)
        fail_msg("test document %s invalid: %s", text, err->msg);
    if (k == TOKEN) {
        json_object_set_new(doc, "id", json_string(tid));
        json_object_set_new(doc, "hash", json_string(HASH_A));
    }
    rc = bh_store_create(S, k, doc, &actor, out, err);
    json_decref(doc);
    return rc;
}

static json_t *mk_ok(const struct bh_kind_desc *k, const char *text)
{
    json_t *o;
    struct bh_err err;
    if (mk(k, text, &o, &err))
        fail_msg("create %s: %s", text, err.msg);
    return o;
}

static void mk0(const struct bh_kind_desc *k, const char *text)
{
    json_decref(mk_ok(k, text));
}

/* Update with a raw (already normalised) document; returns rc. */
static int upd(const struct bh_kind_desc *k, const char *key, const char *text, int64_t if_rev,
               unsigned flags, struct bh_err *err)
{
    json_t *doc = J(text), *o = NULL;
    bh_err_clear(err);
    int rc = bh_store_update(S, k, key, doc, if_rev, flags, &actor, &o, err);
    json_decref(doc);
    json_decref(o);
    return rc;
}

static json_t *upd_ok(const struct bh_kind_desc *k, const char *key, const char *text,
                      unsigned flags)
{
    json_t *doc = J(text), *o = NULL;
    struct bh_err err;
    if (bh_store_update(S, k, key, doc, 0, flags, &actor, &o, &err))
        fail_msg("update %s %s: %s", key, text, err.msg);
    json_decref(doc);
    return o;
}

static json_t *get_ok(const struct bh_kind_desc *k, const char *key)
{
    json_t *o;
    struct bh_err err;
    if (bh_store_get(S, k, key, &o, &err))
        fail_msg("get %s '%s': %s", k->name, key, err.msg);
    return o;
}

static int del(const struct bh_kind_desc *k, const char *key, int64_t if_rev, struct bh_err *err)
{
    return bh_store_delete(S, k, key, if_rev, &actor, err);
}

static const char *sget(const json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v ? v : "(not a string)";
}

static int64_t iget(const json_t *o, const char *key)
{
    return json_integer_value(json_object_get(o, key));
}

static int64_t rev(void)
{
    return bh_store_revision(S);
}

static json_t *events_ok(int64_t since, int limit)
{
    json_t *ev;
    struct bh_err err;
    if (bh_store_events(S, since, limit, &ev, &err))
        fail_msg("events since %lld: %s", (long long)since, err.msg);
    return ev;
}

static json_t *audit_ok(const char *kind, const char *key, const char *who, int64_t before_id,
                        int64_t limit)
{
    struct bh_audit_query q = {kind, key, who, before_id, limit, NULL};
    json_t *items;
    struct bh_err err;
    if (bh_store_audit(S, &q, &items, &err))
        fail_msg("audit: %s", err.msg);
    return items;
}

/* Size of a returned array, which is released. */
static size_t count(json_t *arr)
{
    size_t n = json_array_size(arr);
    json_decref(arr);
    return n;
}

#define N_EVENTS(since) count(events_ok(since, 100000))
#define N_AUDIT()       count(audit_ok(NULL, NULL, NULL, 0, 100000))

/* ---- open, CRUD ----------------------------------------------------------- */

static void test_open_fresh(void **state)
{
    (void)state;
    struct bh_err err;
    assert_true(bh_store_schema_version(S) >= 1);
    assert_int_equal(rev(), 0);
    assert_int_equal(bh_store_ping(S, &err), 0);
    assert_int_equal(N_EVENTS(0), 0);
    assert_int_equal(N_AUDIT(), 0);

    struct bh_store_config cfg = {.path = "/nonexistent-dir/x/state.db"};
    struct bh_store *s2 = NULL;
    assert_int_equal(bh_store_open(&cfg, &s2, &err), BH_EIO);
    assert_null(s2);
    assert_non_null(strstr(err.msg, "/nonexistent-dir/x/state.db"));
}

static void test_crud_every_kind(void **state)
{
    (void)state;
    static const struct {
        const struct bh_kind_desc *k;
        const char *create, *key, *replace, *field, *before, *after;
    } v[] = {
        {ROOM, "{'name':'r1','description':'a','labels':{'x':'y'}}", "r1",
         "{'name':'r1','description':'b'}", "description", "a", "b"},
        {GROUP, "{'name':'g1'}", "g1", "{'name':'g1','description':'d'}", "description",
         "(not a string)", "d"},
        {HOST, "{'mac':'00-11-22-33-44-55','name':'pc1'}", "pc1",
         "{'mac':'00:11:22:33:44:55','name':'pc1','state':'up','arch':''}", "state", "known", "up"},
        {PROFILE, "{'name':'p1','kernel':'vmlinuz','initrds':['a','b']}", "p1",
         "{'name':'p1','kernel':'vmlinuz2','arch':'any'}", "kernel", "vmlinuz", "vmlinuz2"},
        {IMAGE, "{'name':'i1'}", "i1", "{'name':'i1','kind':'disk','fstype':''}", "kind",
         "partition", "disk"},
        {TOKEN, "{'name':'t1','role':'viewer'}", "t1", "{'name':'t1','role':'admin'}", "role",
         "viewer", "admin"},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        struct bh_err err;
        int64_t r0 = rev();
        json_t *o = mk_ok(v[i].k, v[i].create);
        assert_int_equal(rev(), r0 + 1);
        assert_int_equal(iget(o, "rev"), r0 + 1);
        assert_string_equal(sget(o, v[i].field), v[i].before);
        assert_string_equal(sget(o, "created_at"), sget(o, "updated_at"));
        int64_t ms;
        assert_int_equal(bh_time_parse(sget(o, "created_at"), &ms), 0);
        if (bh_kind_field(v[i].k, "labels")) /* absent labels read back as {} */
            assert_true(json_is_object(json_object_get(o, "labels")));
        assert_null(json_object_get(o, "hash")); /* internal: never shown */

        json_t *g = get_ok(v[i].k, v[i].key);
        assert_true(json_equal(g, o));
        json_decref(g);
        struct bh_list_query q = {.kind = v[i].k, .limit = 10};
        struct bh_list_result res;
        assert_int_equal(bh_store_list(S, &q, &res, &err), 0);
        assert_int_equal(json_array_size(res.items), 1);
        assert_true(json_equal(json_array_get(res.items, 0), o));
        json_decref(res.items);

        json_t *u = upd_ok(v[i].k, v[i].key, v[i].replace, 0);
        assert_int_equal(iget(u, "rev"), r0 + 2);
        assert_string_equal(sget(u, v[i].field), v[i].after);
        assert_string_equal(sget(u, "created_at"), sget(o, "created_at"));
        if (v[i].k == ROOM) /* a replace clears what the document leaves out */
            assert_int_equal(json_object_size(json_object_get(u, "labels")), 0);
        json_decref(u);
        json_decref(o);

        assert_int_equal(del(v[i].k, v[i].key, 0, &err), 0);
        assert_int_equal(rev(), r0 + 3);
        assert_int_equal(bh_store_get(S, v[i].k, v[i].key, &o, &err), BH_ENOTFOUND);
        assert_int_equal(del(v[i].k, v[i].key, 0, &err), BH_ENOTFOUND);
        assert_int_equal(upd(v[i].k, v[i].key, v[i].replace, 0, 0, &err), BH_ENOTFOUND);
        assert_int_equal(rev(), r0 + 3);
    }
    const struct bh_store_stats *st = bh_store_get_stats(S);
    assert_true(st->count[BH_OP_CREATE] >= N_ELEMS(v));
    assert_true(st->count[BH_OP_GET] >= 2 * N_ELEMS(v));
    assert_int_equal(st->errors[BH_OP_GET], 0); /* not-found is an answer, not an error */
}

/* PUT of only the required fields, as bh_h_replace hands it to the store. */
static void test_replace_minimal_document(void **state)
{
    (void)state;
    mk0(HOST, "{'mac':'00:11:22:33:44:55','state':'up'}");
    mk0(IMAGE, "{'name':'img'}");
    static const struct {
        const struct bh_kind_desc *k;
        const char *key, *body, *field;
    } v[] = {
        {HOST, "00:11:22:33:44:55", "{'mac':'00:11:22:33:44:55'}", "state"},
        {IMAGE, "img", "{'name':'img'}", "kind"},
    };
    int failures = 0;
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        struct bh_err err;
        json_t *in = J(v[i].body), *doc = NULL, *out = NULL;
        assert_int_equal(bh_model_validate(v[i].k, in, BH_V_REPLACE, &doc, &err), 0);
        int rc = bh_store_update(S, v[i].k, v[i].key, doc, 0, 0, &actor, &out, &err);
        if (rc || !json_is_string(json_object_get(out, v[i].field))) {
            print_error("PUT %s %s: rc %d (%s) %s\n", v[i].k->name, v[i].body, rc, bh_err_name(rc),
                        rc ? err.msg : "");
            failures++;
        }
        json_decref(out);
        json_decref(doc);
        json_decref(in);
    }
    assert_int_equal(failures, 0);
}

static void test_keys(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *o;
    mk0(HOST, "{'mac':'0A-1B-2C-3D-4E-5F','name':'pc01'}");
    /* a name that reads as a MAC would make the key ambiguous: refused */
    json_t *doc = J("{'mac':'02:00:00:00:00:02','name':'aabbccddeeff'}"), *norm = NULL;
    assert_int_equal(bh_model_validate(HOST, doc, BH_V_CREATE, &norm, &err), BH_EINVAL);
    assert_string_equal(err.field, "name");
    json_decref(doc);
    static const char *const forms[] = {"0a:1b:2c:3d:4e:5f", "0A:1B:2C:3D:4E:5F",
                                        "0a-1b-2c-3d-4e-5f", "0a1b.2c3d.4e5f",
                                        "0a1b2c3d4e5f",      "pc01"};
    for (size_t i = 0; i < N_ELEMS(forms); i++) {
        o = get_ok(HOST, forms[i]);
        assert_string_equal(sget(o, "mac"), "0a:1b:2c:3d:4e:5f");
        json_decref(o);
    }
    assert_int_equal(bh_store_get(S, HOST, "pc02", &o, &err), BH_ENOTFOUND);
    assert_string_equal(err.msg, "host 'pc02' not found");
    assert_int_equal(bh_store_get(S, HOST, "0a:1b:2c:3d:4e:50", &o, &err), BH_ENOTFOUND);
    /* tokens by public id and by name */
    json_t *t = mk_ok(TOKEN, "{'name':'ci','role':'admin'}");
    o = get_ok(TOKEN, sget(t, "id"));
    assert_true(json_equal(o, t));
    json_decref(o);
    o = get_ok(TOKEN, "ci");
    assert_true(json_equal(o, t));
    json_decref(o);
    json_decref(t);
}

static void test_unique_conflicts(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *o;
    mk0(ROOM, "{'name':'r1'}");
    mk0(HOST, "{'mac':'" MAC1 "','name':'a','ip':'192.0.2.1'}");
    mk0(HOST, "{'mac':'00:00:00:00:00:02','name':'b'}");
    mk0(TOKEN, "{'name':'t','role':'admin','id':'00000000000a'}");
    int64_t r0 = rev();
    size_t e0 = N_EVENTS(0), a0 = N_AUDIT();
    static const struct {
        const struct bh_kind_desc *k;
        const char *doc, *field;
    } v[] = {
        {ROOM, "{'name':'r1'}", "name"},
        {HOST, "{'mac':'00-00-00-00-00-01'}", "mac"},
        {HOST, "{'mac':'00:00:00:00:00:03','name':'a'}", "name"},
        {HOST, "{'mac':'00:00:00:00:00:03','ip':'192.0.2.1'}", "ip"},
        {TOKEN, "{'name':'t','role':'admin','id':'00000000000b'}", "name"},
        {TOKEN, "{'name':'u','role':'admin','id':'00000000000a'}", "id"},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        int rc = mk(v[i].k, v[i].doc, &o, &err);
        if (rc != BH_ECONFLICT)
            fail_msg("%s: rc %d", v[i].doc, rc);
        assert_string_equal(err.field, v[i].field);
        assert_null(o);
    }
    /* renaming onto another object's name or MAC */
    assert_int_equal(
        upd(HOST, "b", "{'mac':'00:00:00:00:00:02','name':'a','state':'known'}", 0, 0, &err),
        BH_ECONFLICT);
    assert_string_equal(err.field, "name");
    assert_int_equal(upd(HOST, "b", "{'mac':'" MAC1 "'}", 0, BH_UPD_PARTIAL, &err), BH_ECONFLICT);
    assert_string_equal(err.field, "mac");
    /* nothing was written */
    assert_int_equal(rev(), r0);
    assert_int_equal(N_EVENTS(0), e0);
    assert_int_equal(N_AUDIT(), a0);
    /* keeping one's own unique values is no conflict */
    json_decref(upd_ok(HOST, "a", "{'description':'x','ip':'192.0.2.1'}", BH_UPD_PARTIAL));
}

static void test_missing_references(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *o;
    mk0(ROOM, "{'name':'r1'}");
    mk0(HOST, "{'mac':'" MAC1 "','room':'r1'}");
    int64_t r0 = rev();
    assert_int_equal(mk(HOST, "{'mac':'00:00:00:00:00:02','room':'nope'}", &o, &err), BH_ENOREF);
    assert_string_equal(err.field, "room");
    assert_non_null(strstr(err.msg, "room 'nope' does not exist"));
    assert_int_equal(mk(GROUP, "{'name':'g','default_profile':'nope'}", &o, &err), BH_ENOREF);
    assert_string_equal(err.field, "default_profile");
    assert_int_equal(upd(HOST, MAC1, "{'group':'nope'}", 0, BH_UPD_PARTIAL, &err), BH_ENOREF);
    assert_string_equal(err.field, "group");
    assert_int_equal(rev(), r0);
    o = get_ok(HOST, MAC1);
    assert_string_equal(sget(o, "room"), "r1");
    assert_true(json_is_null(json_object_get(o, "group")));
    json_decref(o);
}

static void test_delete_referenced(void **state)
{
    (void)state;
    struct bh_err err;
    mk0(ROOM, "{'name':'r1'}");
    mk0(PROFILE, "{'name':'p','kernel':'k'}");
    mk0(GROUP, "{'name':'g','default_profile':'p'}");
    mk0(HOST, "{'mac':'" MAC1 "','room':'r1','group':'g'}");
    int64_t r0 = rev();
    assert_int_equal(del(ROOM, "r1", 0, &err), BH_ECONFLICT);
    assert_non_null(strstr(err.msg, "room 'r1' is still used by 1 host (field 'room')"));
    assert_int_equal(del(GROUP, "g", 0, &err), BH_ECONFLICT);
    assert_int_equal(del(PROFILE, "p", 0, &err), BH_ECONFLICT);
    assert_non_null(strstr(err.msg, "default_profile"));
    assert_int_equal(rev(), r0);
    json_decref(get_ok(ROOM, "r1"));
    /* move the host out, then the room can go */
    json_decref(upd_ok(HOST, MAC1, "{'room':null}", BH_UPD_PARTIAL));
    assert_int_equal(del(ROOM, "r1", 0, &err), 0);
    assert_int_equal(del(HOST, MAC1, 0, &err), 0);
    assert_int_equal(del(GROUP, "g", 0, &err), 0);
    assert_int_equal(del(PROFILE, "p", 0, &err), 0);
}

static void test_if_rev(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *o = mk_ok(ROOM, "{'name':'r'}");
    int64_t rv = iget(o, "rev");
    json_decref(o);
    mk0(ROOM, "{'name':'other'}"); /* the global revision moves on */
    assert_int_equal(upd(ROOM, "r", "{'name':'r','description':'1'}", rv + 1, 0, &err),
                     BH_EPRECOND);
    assert_non_null(strstr(err.msg, "you sent revision"));
    /* checked before the no-op shortcut, too */
    assert_int_equal(upd(ROOM, "r", "{'name':'r'}", rv + 1, 0, &err), BH_EPRECOND);
    assert_int_equal(upd(ROOM, "r", "{'name':'r','description':'1'}", rv, 0, &err), 0);
    int64_t rv2 = rev();
    assert_int_equal(upd(ROOM, "r", "{'name':'r','description':'2'}", rv, 0, &err), BH_EPRECOND);
    assert_int_equal(del(ROOM, "r", rv, &err), BH_EPRECOND);
    assert_int_equal(rev(), rv2);
    assert_int_equal(del(ROOM, "r", rv2, &err), 0);
}

static void test_noop_update(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *o = mk_ok(HOST, "{'mac':'" MAC1 "','name':'pc','labels':{'a':'b'}}");
    int64_t r0 = rev();
    size_t e0 = N_EVENTS(0), a0 = N_AUDIT();
    json_t *doc = bh_model_writable(HOST, o), *u = NULL;
    assert_int_equal(bh_store_update(S, HOST, "pc", doc, iget(o, "rev"), 0, &actor, &u, &err), 0);
    assert_true(json_equal(u, o));
    json_decref(u);
    json_decref(doc);
    u = upd_ok(HOST, "pc", "{'labels':{'a':'b'}}", BH_UPD_PARTIAL);
    assert_true(json_equal(u, o));
    json_decref(u);
    assert_int_equal(rev(), r0);
    assert_int_equal(N_EVENTS(0), e0);
    assert_int_equal(N_AUDIT(), a0);
    json_t *g = get_ok(HOST, "pc");
    assert_true(json_equal(g, o)); /* same rev, same updated_at */
    json_decref(g);
    json_decref(o);
}

/* ---- revisions, events, audit -------------------------------------------- */

static void count_notify(void *ud, int64_t r)
{
    int64_t *notes = ud;
    notes[0]++;
    notes[1] = r;
}

/* The one event appended after `since`; checks its envelope. */
static json_t *one_event(int64_t since, const char *type, const char *key)
{
    json_t *ev = events_ok(since, 100);
    assert_int_equal(json_array_size(ev), 1);
    json_t *e = json_incref(json_array_get(ev, 0));
    json_decref(ev);
    assert_int_equal(iget(e, "rev"), since + 1);
    assert_string_equal(sget(e, "type"), type);
    assert_string_equal(sget(e, "key"), key);
    int64_t ms;
    assert_int_equal(bh_time_parse(sget(e, "ts"), &ms), 0);
    return e;
}

static void test_events_and_audit(void **state)
{
    (void)state;
    struct bh_err err;
    int64_t notes[2] = {0, 0};
    bh_store_set_notify(S, count_notify, notes);

    json_t *c = mk_ok(ROOM, "{'name':'r1','description':'one'}");
    json_t *e = one_event(0, "created", "r1");
    assert_string_equal(sget(e, "kind"), "room");
    assert_string_equal(sget(e, "actor"), "tester");
    assert_true(json_equal(json_object_get(e, "data"), c));
    json_decref(e);
    assert_int_equal(notes[0], 1);
    assert_int_equal(notes[1], 1);

    json_t *u = upd_ok(ROOM, "r1", "{'name':'r1','description':'two'}", 0);
    e = one_event(1, "updated", "r1");
    assert_true(json_equal(json_object_get(e, "data"), u));
    json_decref(e);

    assert_int_equal(del(ROOM, "r1", 0, &err), 0);
    e = one_event(2, "deleted", "r1");
    assert_true(json_equal(json_object_get(e, "data"), u)); /* the last state */
    json_decref(e);

    /* non-CRUD events bump the revision but write no audit record */
    json_t *data = J("{'ip':'192.0.2.9'}");
    int64_t r = 0;
    assert_int_equal(
        bh_store_event_append(S, "host", MAC1, "boot.dhcp", data, NULL, false, &r, &err), 0);
    assert_int_equal(r, 4);
    e = one_event(3, "boot.dhcp", MAC1);
    assert_string_equal(sget(e, "actor"), "system");
    assert_true(json_equal(json_object_get(e, "data"), data));
    json_decref(e);
    json_decref(data);
    assert_int_equal(rev(), 4);
    assert_int_equal(notes[0], 4);
    assert_int_equal(notes[1], 4);

    /* audit: newest first, with before/after and who did it */
    json_t *a = audit_ok(NULL, NULL, NULL, 0, 100);
    assert_int_equal(json_array_size(a), 3);
    static const char *const actions[] = {"deleted", "updated", "created"};
    json_t *before[] = {u, c, NULL}, *after[] = {NULL, u, c};
    for (size_t i = 0; i < 3; i++) {
        json_t *rec = json_array_get(a, i);
        assert_string_equal(sget(rec, "action"), actions[i]);
        assert_string_equal(sget(rec, "kind"), "room");
        assert_string_equal(sget(rec, "key"), "r1");
        assert_string_equal(sget(rec, "actor"), "tester");
        assert_string_equal(sget(rec, "token_id"), "0123456789ab");
        assert_string_equal(sget(rec, "remote"), "192.0.2.7");
        json_t *b = json_object_get(rec, "before"), *af = json_object_get(rec, "after");
        assert_true(before[i] ? json_equal(b, before[i]) : json_is_null(b));
        assert_true(after[i] ? json_equal(af, after[i]) : json_is_null(af));
    }
    /* filters and paging */
    int64_t newest = iget(json_array_get(a, 0), "id");
    json_decref(a);
    assert_int_equal(count(audit_ok("room", "r1", "tester", 0, 1)), 1);
    a = audit_ok(NULL, NULL, NULL, newest, 100);
    assert_int_equal(json_array_size(a), 2);
    assert_string_equal(sget(json_array_get(a, 0), "action"), "updated");
    json_decref(a);
    assert_int_equal(count(audit_ok("host", NULL, NULL, 0, 100)), 0);
    assert_int_equal(count(audit_ok(NULL, "r2", NULL, 0, 100)), 0);
    assert_int_equal(count(audit_ok(NULL, NULL, "someone-else", 0, 100)), 0);
    json_decref(c);
    json_decref(u);
}

/* every write adds exactly one revision, one event and one audit record */
static void test_write_accounting(void **state)
{
    (void)state;
    mk0(ROOM, "{'name':'r'}");
    for (int i = 0; i < 20; i++) {
        int64_t r0 = rev();
        size_t a0 = N_AUDIT();
        char doc[64];
        snprintf(doc, sizeof(doc), "{'description':'d%d'}", i);
        json_decref(upd_ok(ROOM, "r", doc, BH_UPD_PARTIAL));
        assert_int_equal(rev(), r0 + 1);
        assert_int_equal(N_EVENTS(r0), 1);
        assert_int_equal(N_AUDIT(), a0 + 1);
    }
    json_t *ev = events_ok(0, 5); /* limit */
    assert_int_equal(json_array_size(ev), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(iget(json_array_get(ev, i), "rev"), (int64_t)i + 1);
    json_decref(ev);
    assert_int_equal(N_EVENTS(rev()), 0);
}

/* events_keep = 1000: old events are pruned every 256 revisions */
static void test_events_gone_after_prune(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *ev;
    mk0(ROOM, "{'name':'r'}");
    for (int i = 2; i <= 1300; i++) {
        char doc[64];
        snprintf(doc, sizeof(doc), "{'description':'d%d'}", i);
        json_decref(upd_ok(ROOM, "r", doc, BH_UPD_PARTIAL));
        if (i == 1100) { /* pruned at 1024: events up to 24 are gone */
            assert_int_equal(bh_store_events(S, 23, 10, &ev, &err), BH_EGONE);
            ev = events_ok(24, 1);
            assert_int_equal(iget(json_array_get(ev, 0), "rev"), 25);
            json_decref(ev);
        }
    }
    assert_int_equal(rev(), 1300);
    /* pruned again at 1280: up to 280 are gone */
    assert_int_equal(bh_store_events(S, 0, 10, &ev, &err), BH_EGONE);
    assert_string_equal(err.field, "since");
    assert_non_null(strstr(err.msg, "read the objects again"));
    assert_int_equal(bh_store_events(S, 279, 10, &ev, &err), BH_EGONE);
    ev = events_ok(280, 5);
    assert_int_equal(json_array_size(ev), 5);
    assert_int_equal(iget(json_array_get(ev, 0), "rev"), 281);
    json_decref(ev);
    assert_int_equal(N_EVENTS(280), 1020);
    assert_int_equal(N_EVENTS(1299), 1);
    assert_int_equal(N_EVENTS(1300), 0);
    assert_int_equal(N_AUDIT(), 1300); /* the audit log is not pruned */
}

/* Regression: the "gone" answer used to take a second reader connection
 * while holding one, which hung the daemon with readers=1. */
static void test_gone_with_one_reader(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *ev;
    mk0(ROOM, "{'name':'r'}");
    for (int i = 2; i <= 1300; i++) {
        char doc[64];
        snprintf(doc, sizeof(doc), "{'description':'d%d'}", i);
        json_decref(upd_ok(ROOM, "r", doc, BH_UPD_PARTIAL));
    }
    assert_int_equal(bh_store_events(S, 0, 10, &ev, &err), BH_EGONE);
    assert_int_equal(bh_store_ping(S, &err), 0);
    ev = events_ok(1290, 100);
    assert_int_equal(json_array_size(ev), 10);
    json_decref(ev);
    /* a revision from the future is refused, not answered with nothing */
    assert_int_equal(bh_store_events(S, 1301, 10, &ev, &err), BH_EINVAL);
    assert_int_equal(bh_store_events(S, INT64_MAX, 10, &ev, &err), BH_EINVAL);
}

/* ---- lists ---------------------------------------------------------------- */

/* 25 hosts h00..h24 in rooms r1 (odd), r2 (i % 4 == 2) or none, with
 * arch x86_64/arm64/"" by i % 3, state up (odd) or known, and labels
 * role=kiosk (i % 5 == 0) or lab (i % 5 == 1), floor=i%3 (even i),
 * broken="" (i % 7 == 0). */
static void make_fleet(void)
{
    mk0(ROOM, "{'name':'r1'}");
    mk0(ROOM, "{'name':'r2'}");
    static const char *const arch[] = {"x86_64", "arm64", ""};
    for (int i = 0; i < 25; i++) {
        char doc[512], labels[128] = "", room[32] = "";
        size_t n = 0;
        if (i % 5 < 2)
            n += (size_t)snprintf(labels + n, sizeof(labels) - n, "'role':'%s'",
                                  i % 5 ? "lab" : "kiosk");
        if (i % 2 == 0)
            n += (size_t)snprintf(labels + n, sizeof(labels) - n, "%s'floor':'%d'", n ? "," : "",
                                  i % 3);
        if (i % 7 == 0)
            snprintf(labels + n, sizeof(labels) - n, "%s'broken':''", n ? "," : "");
        if (i % 4)
            snprintf(room, sizeof(room), ",'room':'%s'", i % 2 ? "r1" : "r2");
        snprintf(doc, sizeof(doc),
                 "{'mac':'02:00:00:00:00:%02x','name':'h%02d','arch':'%s','state':'%s',"
                 "'labels':{%s}%s}",
                 i, i, arch[i % 3], i % 2 ? "up" : "known", labels, room);
        mk0(HOST, doc);
    }
}

static json_t *list_ok(struct bh_list_query *q, struct bh_list_result *res)
{
    struct bh_err err;
    if (bh_store_list(S, q, res, &err))
        fail_msg("list: %s", err.msg);
    return res->items;
}

static void test_list_selectors(void **state)
{
    (void)state;
    make_fleet();
    struct bh_list_query all = {.kind = HOST, .limit = BH_LIST_MAX};
    struct bh_list_result res;
    json_t *every = list_ok(&all, &res);
    assert_int_equal(json_array_size(every), 25);
    static const struct {
        const char *sel;
        size_t want;
    } v[] = {
        {"role=kiosk", 5},
        {"role!=kiosk", 20},
        {"role in (kiosk,lab)", 10},
        {"role notin (lab)", 20},
        {"floor in (0,1)", 9},
        {"floor", 13},
        {"!floor", 12},
        {"broken", 4},
        {"!broken", 21},
        {"broken=", 4},
        {"arch=x86_64", 9},
        {"arch", 17},
        {"!arch", 8},
        {"arch!=arm64", 17},
        {"state=up", 12},
        {"room=r1", 12},
        {"room!=r1", 13},
        {"!room", 7},
        {"room", 18},
        {"", 25},
        {"role=kiosk,state=known,floor=0", 1},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        struct bh_selector sel;
        struct bh_err err;
        if (bh_selector_parse(v[i].sel, &sel, &err))
            fail_msg("'%s': %s", v[i].sel, err.msg);
        bh_selector_resolve(&sel, HOST);
        struct bh_list_query q = {
            .kind = HOST, .limit = BH_LIST_MAX, .selector = &sel, .want_total = true};
        json_t *items = list_ok(&q, &res);
        /* SQL and the in-memory matcher agree, object for object */
        size_t k = 0;
        for (size_t h = 0; h < json_array_size(every); h++) {
            json_t *o = json_array_get(every, h);
            if (!bh_selector_match(&sel, o))
                continue;
            if (!json_equal(json_array_get(items, k), o))
                fail_msg("'%s': item %zu differs from the matcher's", v[i].sel, k);
            k++;
        }
        if (json_array_size(items) != k || k != v[i].want)
            fail_msg("'%s': SQL gave %zu, matcher %zu, want %zu", v[i].sel, json_array_size(items),
                     k, v[i].want);
        assert_int_equal(res.total, (int64_t)v[i].want);
        json_decref(items);
    }
    json_decref(every);
}

static const char *name_at(json_t *items, size_t i)
{
    return sget(json_array_get(items, i), "name");
}

static void test_list_filters_sort_paging(void **state)
{
    (void)state;
    make_fleet();
    struct bh_list_result res;
    struct bh_list_query q = {.kind = HOST, .limit = 100, .nfilters = 1};
    q.filters[0].field = bh_kind_field(HOST, "arch");
    q.filters[0].value = "arm64";
    assert_int_equal(count(list_ok(&q, &res)), 8);
    assert_int_equal(res.total, -1);                  /* not asked for */
    q.filters[0].field = bh_kind_field(HOST, "room"); /* a reference, by name */
    q.filters[0].value = "r2";
    q.filters[1].field = bh_kind_field(HOST, "state");
    q.filters[1].value = "known";
    q.nfilters = 2;
    assert_int_equal(count(list_ok(&q, &res)), 6);
    q.filters[1].value = "up";
    assert_int_equal(count(list_ok(&q, &res)), 0);

    struct bh_list_query s = {.kind = HOST, .limit = 100, .nsort = 1};
    s.sort[0].field = bh_kind_field(HOST, "name");
    s.sort[0].desc = true;
    json_t *items = list_ok(&s, &res);
    assert_string_equal(name_at(items, 0), "h24");
    assert_string_equal(name_at(items, 24), "h00");
    json_decref(items);
    s.sort[0].field = bh_kind_field(HOST, "arch");
    s.sort[0].desc = false;
    s.sort[1].field = bh_kind_field(HOST, "name");
    s.sort[1].desc = true;
    s.nsort = 2;
    items = list_ok(&s, &res);
    assert_string_equal(name_at(items, 0), "h23"); /* arch "" first, names descending */
    assert_string_equal(name_at(items, 7), "h02");
    assert_string_equal(name_at(items, 8), "h22"); /* then arm64 */
    assert_string_equal(name_at(items, 24), "h00");
    json_decref(items);

    static const struct {
        int64_t limit, offset;
        size_t n;
        bool more;
        const char *first;
    } pages[] = {
        {10, 0, 10, true, "h00"},   {10, 10, 10, true, "h10"}, {10, 20, 5, false, "h20"},
        {10, 15, 10, false, "h15"}, {25, 0, 25, false, "h00"}, {10, 25, 0, false, NULL},
        {1, 24, 1, false, "h24"},
    };
    for (size_t i = 0; i < N_ELEMS(pages); i++) {
        struct bh_list_query p = {.kind = HOST,
                                  .limit = pages[i].limit,
                                  .offset = pages[i].offset,
                                  .nsort = 1,
                                  .want_total = true};
        p.sort[0].field = bh_kind_field(HOST, "name");
        items = list_ok(&p, &res);
        assert_int_equal(json_array_size(items), pages[i].n);
        assert_int_equal(res.more, pages[i].more);
        assert_int_equal(res.total, 25);
        if (pages[i].first)
            assert_string_equal(name_at(items, 0), pages[i].first);
        json_decref(items);
    }
}

/* ---- partial and system updates ------------------------------------------ */

#define SEEN "2026-01-01T00:00:00.000Z"

static void test_partial_and_system(void **state)
{
    (void)state;
    mk0(HOST, "{'mac':'" MAC1 "','name':'pc','labels':{'a':'b'}}");
    json_t *o = upd_ok(HOST, "pc", "{'description':'x'}", BH_UPD_PARTIAL);
    assert_string_equal(sget(o, "description"), "x");
    assert_string_equal(sget(o, "name"), "pc"); /* untouched */
    assert_string_equal(sget(json_object_get(o, "labels"), "a"), "b");
    assert_true(json_is_null(json_object_get(o, "last_seen")));
    json_decref(o);

    /* read-only fields: ignored without BH_UPD_SYSTEM, so nothing changes */
    int64_t r0 = rev();
    o = upd_ok(HOST, "pc", "{'last_seen':'" SEEN "'}", BH_UPD_PARTIAL);
    assert_true(json_is_null(json_object_get(o, "last_seen")));
    json_decref(o);
    o = upd_ok(HOST, "pc",
               "{'mac':'" MAC1 "','name':'pc','description':'x','labels':{'a':'b'},"
               "'state':'known','arch':'','last_seen':'" SEEN "'}",
               0);
    assert_true(json_is_null(json_object_get(o, "last_seen")));
    json_decref(o);
    assert_int_equal(rev(), r0);

    /* ... and written with it */
    o = upd_ok(HOST, "pc", "{'last_seen':'" SEEN "','state':'up'}", BH_UPD_PARTIAL | BH_UPD_SYSTEM);
    assert_string_equal(sget(o, "last_seen"), SEEN);
    assert_string_equal(sget(o, "state"), "up");
    assert_string_equal(sget(o, "description"), "x");
    json_decref(o);
    assert_int_equal(rev(), r0 + 1);

    /* a client replace leaves read-only fields as they are */
    o = upd_ok(HOST, "pc", "{'mac':'" MAC1 "','name':'pc','state':'up'}", 0);
    assert_string_equal(sget(o, "last_seen"), SEEN);
    assert_true(json_is_null(json_object_get(o, "description"))); /* cleared by the replace */
    json_decref(o);
    /* null in a partial update clears the field */
    o = upd_ok(HOST, "pc", "{'name':null}", BH_UPD_PARTIAL);
    assert_true(json_is_null(json_object_get(o, "name")));
    json_decref(o);
    json_decref(get_ok(HOST, MAC1));
}

/* ---- durability ----------------------------------------------------------- */

static void test_reopen(void **state)
{
    (void)state;
    mk0(ROOM, "{'name':'r1','labels':{'k':'v'}}");
    json_t *room = upd_ok(ROOM, "r1", "{'description':'d'}", BH_UPD_PARTIAL);
    json_t *host = mk_ok(HOST, "{'mac':'" MAC1 "','room':'r1'}");
    json_t *tok = mk_ok(TOKEN, "{'name':'ci','role':'operator'}");
    int64_t r = rev();
    int schema = bh_store_schema_version(S);
    size_t nev = N_EVENTS(0), nau = N_AUDIT();
    bh_store_close(S);
    S = NULL;
    store_open();
    assert_int_equal(rev(), r);
    assert_int_equal(bh_store_schema_version(S), schema);
    assert_int_equal(N_EVENTS(0), nev);
    assert_int_equal(N_AUDIT(), nau);
    json_t *objs[] = {room, host, tok};
    const struct bh_kind_desc *kinds[] = {ROOM, HOST, TOKEN};
    const char *keys[] = {"r1", MAC1, "ci"};
    for (size_t i = 0; i < 3; i++) {
        json_t *g = get_ok(kinds[i], keys[i]);
        assert_true(json_equal(g, objs[i]));
        json_decref(g);
        json_decref(objs[i]);
    }
    mk0(ROOM, "{'name':'r2'}");
    assert_int_equal(rev(), r + 1);
}

static void test_token_lookup(void **state)
{
    (void)state;
    struct bh_err err;
    struct bh_token_info ti;
    mk0(TOKEN, "{'name':'ci','role':'operator','id':'0123456789ab',"
               "'expires_at':'2030-01-01T01:00:00+01:00'}");
    mk0(TOKEN, "{'name':'forever','role':'admin','id':'00000000ffff'}");
    memset(&ti, 0x55, sizeof(ti));
    assert_int_equal(bh_store_token_lookup(S, "0123456789ab", &ti, &err), 0);
    assert_string_equal(ti.name, "ci");
    assert_string_equal(ti.hash, HASH_A);
    assert_int_equal(ti.role, BH_ROLE_OPERATOR);
    int64_t want;
    assert_int_equal(bh_time_parse("2030-01-01T00:00:00Z", &want), 0);
    assert_int_equal(ti.expires_ms, want);
    assert_int_equal(bh_store_token_lookup(S, "00000000ffff", &ti, &err), 0);
    assert_int_equal(ti.role, BH_ROLE_ADMIN);
    assert_int_equal(ti.expires_ms, INT64_MAX); /* never */
    assert_int_equal(bh_store_token_lookup(S, "ffffffffffff", &ti, &err), BH_ENOTFOUND);
    assert_int_equal(bh_store_token_lookup(S, "ci", &ti, &err), BH_ENOTFOUND); /* ids only */
    /* a replace keeps the secret; a delete revokes it */
    json_decref(upd_ok(TOKEN, "ci", "{'name':'ci2','role':'viewer'}", 0));
    assert_int_equal(bh_store_token_lookup(S, "0123456789ab", &ti, &err), 0);
    assert_string_equal(ti.name, "ci2");
    assert_string_equal(ti.hash, HASH_A);
    assert_int_equal(ti.role, BH_ROLE_VIEWER);
    assert_int_equal(ti.expires_ms, INT64_MAX); /* the replace cleared the expiry */
    assert_int_equal(del(TOKEN, "0123456789ab", 0, &err), 0);
    assert_int_equal(bh_store_token_lookup(S, "0123456789ab", &ti, &err), BH_ENOTFOUND);
}

/* ---- concurrency ---------------------------------------------------------- */

#define WRITERS    8
#define HOSTS_EACH 100

struct writer {
    int id;
    atomic_int *errors, *retries;
};

/* Read-modify-write of the shared room's counter label, conditional on the
 * revision read (as bh_h_patch does), retried when another writer won. */
static int bump_counter(struct writer *w)
{
    for (;;) {
        struct bh_err err;
        json_t *cur = NULL, *out = NULL;
        if (bh_store_get(S, ROOM, "shared", &cur, &err))
            return -1;
        const char *cs = json_string_value(json_object_get(json_object_get(cur, "labels"), "n"));
        long n = cs ? strtol(cs, NULL, 10) : -1;
        json_t *doc = bh_model_writable(ROOM, cur);
        char next[24];
        snprintf(next, sizeof(next), "%ld", n + 1);
        json_object_set_new(json_object_get(doc, "labels"), "n", json_string(next));
        int rc = bh_store_update(S, ROOM, "shared", doc, iget(cur, "rev"), 0, &actor, &out, &err);
        json_decref(doc);
        json_decref(cur);
        json_decref(out);
        if (rc != BH_EPRECOND)
            return rc;
        atomic_fetch_add(w->retries, 1);
    }
}

/* No cmocka asserts off the main thread: failures are counted. */
static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < HOSTS_EACH; i++) {
        char mac[32];
        snprintf(mac, sizeof(mac), "02:00:00:00:%02x:%02x", w->id, i);
        json_t *doc = json_pack("{s:s, s:s, s:s}", "mac", mac, "state", "known", "arch", "");
        json_t *out = NULL;
        struct bh_err err;
        if (!doc || bh_store_create(S, HOST, doc, &actor, &out, &err))
            atomic_fetch_add(w->errors, 1);
        json_decref(doc);
        json_decref(out);
        if (bump_counter(w))
            atomic_fetch_add(w->errors, 1);
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    (void)state;
    mk0(ROOM, "{'name':'shared','labels':{'n':'0'}}");
    int64_t r0 = rev();
    atomic_int errors = 0, retries = 0;
    pthread_t th[WRITERS];
    struct writer w[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){i, &errors, &retries};
        assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&errors), 0);

    json_t *room = get_ok(ROOM, "shared");
    assert_string_equal(sget(json_object_get(room, "labels"), "n"), "800"); /* no lost update */
    json_decref(room);
    struct bh_list_query q = {.kind = HOST, .limit = 1, .want_total = true};
    struct bh_list_result res;
    json_decref(list_ok(&q, &res));
    assert_int_equal(res.total, WRITERS * HOSTS_EACH);
    /* one revision per write, events without gaps */
    assert_int_equal(rev(), r0 + 2 * WRITERS * HOSTS_EACH);
    json_t *ev = events_ok(r0, 100000);
    assert_int_equal(json_array_size(ev), 2 * WRITERS * HOSTS_EACH);
    for (size_t i = 0; i < json_array_size(ev); i++)
        assert_int_equal(iget(json_array_get(ev, i), "rev"), r0 + 1 + (int64_t)i);
    json_decref(ev);
    print_message("concurrent writers: %d if_rev retries\n", atomic_load(&retries));
}

/* jobs: a host's steps run in order; a failed step stops that host only;
 * cancel and retry; a host can report only on its own tasks */
static const char *step_state(const json_t *job, size_t host, size_t step)
{
    return json_string_value(json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(job, "hosts"), host), "steps"), step),
        "state"));
}

/* a host's report on task t, as session (NULL: no claim rule) */
static int task_upd(int64_t t, const char *mac, const char *session, const char *state,
                    const json_t *prog, const char *error, json_t **job, struct bh_err *e)
{
    struct bh_actor agent = {"agent", NULL, NULL};
    struct bh_task_report rep = {mac, session, state, prog, error};
    return bh_jobs_report(S, t, &rep, &agent, job, e);
}

static int64_t next_task(const char *mac)
{
    json_t *t = NULL;
    struct bh_err e;
    assert_int_equal(bh_jobs_next(S, mac, bh_wall_ms(), &t, &e), 0);
    int64_t id = json_is_null(t) ? 0 : json_integer_value(json_object_get(t, "task"));
    json_decref(t);
    return id;
}

/* The job as read shows, for every host and for the job, the state that
 * model/jobstate.h derives from the task states it lists. */
static void agrees_with_rules(const json_t *job)
{
    const json_t *hosts = json_object_get(job, "hosts");
    enum bh_run_state hs[16];
    assert_true(json_array_size(hosts) <= 16);
    size_t i, k;
    json_t *h, *t;
    json_array_foreach(hosts, i, h)
    {
        enum bh_task_state ts[16];
        const json_t *steps = json_object_get(h, "steps");
        assert_true(json_array_size(steps) <= 16);
        json_array_foreach(steps, k, t)
        {
            assert_int_equal(
                bh_task_state_parse(json_string_value(json_object_get(t, "state")), &ts[k]), 0);
        }
        hs[i] = bh_host_state(ts, json_array_size(steps));
        assert_string_equal(json_string_value(json_object_get(h, "state")),
                            bh_run_state_name(hs[i]));
    }
    assert_string_equal(json_string_value(json_object_get(job, "state")),
                        bh_run_state_name(bh_job_state(hs, json_array_size(hosts))));
}

static void test_jobs_and_tasks(void **state)
{
    (void)state;
    struct bh_err e;
    json_t *h;
    assert_int_equal(mk(bh_kind_get(BH_KIND_HOST), "{\"mac\":\"" MAC1 "\"}", &h, &e), 0);
    json_decref(h);
    assert_int_equal(mk(bh_kind_get(BH_KIND_HOST), "{\"mac\":\"00:00:00:00:00:02\"}", &h, &e), 0);
    json_decref(h);
    json_t *spec = json_pack("{s:[s,s,s]}", "steps", "partition", "sync:1", "start:1");
    json_t *macs = json_pack("[s,s]", MAC1, "00:00:00:00:00:02");
    json_t *job = NULL;
    assert_int_equal(bh_store_job_create(S, spec, macs, &actor, &job, &e), 0);
    int64_t id = json_integer_value(json_object_get(job, "id"));
    assert_string_equal(json_string_value(json_object_get(job, "state")), "queued");
    agrees_with_rules(job);
    json_decref(job);
    /* a MAC that is no host: refused, nothing created */
    json_t *bad = json_pack("[s]", "00:00:00:00:00:09");
    assert_int_equal(bh_store_job_create(S, spec, bad, &actor, &job, &e), BH_ENOREF);
    json_decref(bad);

    /* host 1: step 1 runs, then step 2 becomes next */
    int64_t t1 = next_task(MAC1);
    assert_true(t1 > 0);
    json_t *prog = json_pack("{s:s, s:I, s:I}", "phase", "writing", "done", 10, "total", 100);
    assert_int_equal(task_upd(t1, MAC1, NULL, "running", prog, NULL, &job, &e), 0);
    json_decref(prog);
    assert_string_equal(json_string_value(json_object_get(job, "state")), "running");
    agrees_with_rules(job);
    json_decref(job);
    assert_int_equal(next_task(MAC1), t1); /* still the running one */
    /* host 2 may not report on host 1's task */
    assert_int_equal(task_upd(t1, "00:00:00:00:00:02", NULL, "done", NULL, NULL, &job, &e),
                     BH_ECONFLICT);
    assert_int_equal(task_upd(t1, MAC1, NULL, "done", NULL, NULL, &job, &e), 0);
    agrees_with_rules(job);
    json_decref(job);
    int64_t t2 = next_task(MAC1);
    assert_true(t2 > t1);
    /* it fails: its later step is cancelled, host 2 is untouched */
    assert_int_equal(
        task_upd(t2, MAC1, NULL, "failed", NULL, "sync: /dev/sda2: No space", &job, &e), 0);
    assert_string_equal(step_state(job, 0, 1), "failed");
    assert_string_equal(step_state(job, 0, 2), "cancelled");
    assert_string_equal(step_state(job, 1, 0), "queued");
    assert_string_equal(json_string_value(json_object_get(job, "state")), "running");
    agrees_with_rules(job);
    json_decref(job);
    assert_int_equal(next_task(MAC1), 0);
    /* a finished task cannot be reopened */
    assert_int_equal(task_upd(t1, MAC1, NULL, "running", NULL, NULL, &job, &e), BH_ECONFLICT);
    /* retry: the failed and cancelled steps run again, from the failed one */
    assert_int_equal(bh_jobs_retry(S, id, &actor, &job, &e), 0);
    agrees_with_rules(job);
    json_decref(job);
    assert_int_equal(next_task(MAC1), t2);
    /* cancel: every unfinished step of every host */
    assert_int_equal(bh_jobs_cancel(S, id, &actor, &job, &e), 0);
    assert_string_equal(step_state(job, 0, 0), "done");
    assert_string_equal(step_state(job, 1, 0), "cancelled");
    assert_string_equal(json_string_value(json_object_get(job, "state")), "cancelled");
    agrees_with_rules(job);
    json_decref(job);
    assert_int_equal(next_task("00:00:00:00:00:02"), 0);
    /* the list: newest first, with counts */
    json_t *list = NULL;
    assert_int_equal(bh_store_jobs(S, 0, 10, &list, &e), 0);
    assert_int_equal(json_array_size(list), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "host_count")), 2);
    json_decref(list);
    assert_int_equal(bh_store_job_get(S, 999, &job, &e), BH_ENOTFOUND);
    json_decref(spec);
    json_decref(macs);
}

static int login(const char *tid, const char *nonce, int64_t exp, int64_t texp)
{
    struct bh_err e;
    struct bh_agent_login l = {.mac = MAC1,
                               .nonce = nonce,
                               .tid = tid,
                               .hash = "00",
                               .expires_ms = exp,
                               .ticket_expires_ms = texp,
                               .now_ms = bh_wall_ms()};
    return bh_store_agent_login(S, &l, &e);
}

static int64_t session_end(const char *tid)
{
    char mac[BH_MAC_STRLEN], hash[65];
    int64_t exp = -1;
    struct bh_err e;
    if (bh_store_agent_session(S, tid, mac, hash, &exp, &e))
        return -1;
    return exp;
}

/* sessions: a new boot ends the earlier one; a ticket's nonce outlives its
 * session; a task claimed by one session is reported by it alone, until it
 * ends and the next session starts the task again */
static void test_agent_sessions_and_claims(void **state)
{
    (void)state;
    struct bh_err e;
    json_t *h, *job = NULL;
    int64_t now = bh_wall_ms(), hour = 3600 * 1000;
    assert_int_equal(mk(bh_kind_get(BH_KIND_HOST), "{\"mac\":\"" MAC1 "\"}", &h, &e), 0);
    json_decref(h);
    assert_int_equal(login("aaaaaaaaaaaa", "n1", now + hour, now + hour), 0);
    assert_true(session_end("aaaaaaaaaaaa") > now);
    /* the same ticket (nonce) twice */
    assert_int_equal(login("bbbbbbbbbbbb", "n1", now + hour, now + hour), BH_EAUTH);

    json_t *spec = json_pack("{s:[s,s]}", "steps", "partition", "sync:1");
    json_t *macs = json_pack("[s]", MAC1);
    assert_int_equal(bh_store_job_create(S, spec, macs, &actor, &job, &e), 0);
    json_decref(job);
    int64_t t1 = next_task(MAC1);
    assert_int_equal(task_upd(t1, MAC1, "aaaaaaaaaaaa", "running", NULL, NULL, &job, &e), 0);
    json_decref(job);
    json_t *f = NULL;
    assert_int_equal(bh_store_task_find(S, MAC1, "partition", false, &f, &e), 0);
    assert_string_equal(json_string_value(json_object_get(f, "claim")), "aaaaaaaaaaaa");
    json_decref(f);

    /* renewal of a live session */
    assert_int_equal(bh_store_agent_renew(S, "aaaaaaaaaaaa", now + 2 * hour, &e), 0);
    assert_int_equal(session_end("aaaaaaaaaaaa"), now + 2 * hour);

    /* a second session of the host (a new boot) ends the first */
    assert_int_equal(login("cccccccccccc", "n2", now + hour, now + hour), 0);
    assert_int_equal(session_end("aaaaaaaaaaaa"), 0);
    assert_int_equal(bh_store_agent_renew(S, "aaaaaaaaaaaa", now + 2 * hour, &e), BH_ENOTFOUND);
    /* ... but the first ticket still cannot be used again */
    assert_int_equal(login("dddddddddddd", "n1", now + hour, now + hour), BH_EAUTH);
    assert_true(session_end("cccccccccccc") > now);

    /* the new session may not finish the old one's task ... */
    e.type = NULL;
    assert_int_equal(task_upd(t1, MAC1, "cccccccccccc", "done", NULL, NULL, &job, &e),
                     BH_ECONFLICT);
    assert_non_null(e.type);
    assert_string_equal(e.type, "claimed");
    /* ... but it may start it again, and then finish it */
    assert_int_equal(task_upd(t1, MAC1, "cccccccccccc", "running", NULL, NULL, &job, &e), 0);
    json_decref(job);
    assert_int_equal(task_upd(t1, MAC1, "cccccccccccc", "done", NULL, NULL, &job, &e), 0);
    json_decref(job);

    /* a live holder keeps its task: another live session of the host (made
     * behind the store's back here: login always ends the others) is refused */
    int64_t t2 = next_task(MAC1);
    assert_int_equal(task_upd(t2, MAC1, "cccccccccccc", "running", NULL, NULL, &job, &e), 0);
    json_decref(job);
    assert_int_equal(task_upd(t2, MAC1, "eeeeeeeeeeee", "running", NULL, NULL, &job, &e),
                     BH_ECONFLICT);
    assert_int_equal(task_upd(t2, MAC1, "cccccccccccc", "done", NULL, NULL, &job, &e), 0);
    json_decref(job);

    /* the host boots again (its DHCP exchange): sessions begun before end,
     * later ones live on */
    assert_int_equal(bh_store_agent_end(S, MAC1, bh_wall_ms() + 1, &e), 0);
    assert_int_equal(session_end("cccccccccccc"), 0);
    assert_int_equal(login("ffffffffffff", "n3", now + hour, now + hour), 0);
    assert_int_equal(bh_store_agent_end(S, MAC1, now - 1, &e), 0);
    assert_true(session_end("ffffffffffff") > now);
    assert_int_equal(bh_store_agent_end(S, "00:00:00:00:00:99", now, &e), 0); /* no such host */
    /* a deleted host frees none of its used tickets */
    struct bh_actor del = {"op", NULL, NULL};
    assert_int_equal(bh_store_delete(S, bh_kind_get(BH_KIND_HOST), MAC1, 0, &del, &e), 0);
    assert_int_equal(mk(bh_kind_get(BH_KIND_HOST), "{\"mac\":\"" MAC1 "\"}", &h, &e), 0);
    json_decref(h);
    assert_int_equal(login("hhhhhhhhhhhh", "n3", now + hour, now + hour), BH_EAUTH);
    json_decref(spec);
    json_decref(macs);
}

/* ---- image versions: candidates, promote, "latest" ----------------------- */

#define MF_HEX "1111111111111111111111111111111111111111111111111111111111111111"

/* a new version of img (candidate or released, with tags given as JSON) */
static int ver_new(const char *img, bool candidate, const char *tags, json_t **out,
                   struct bh_err *err)
{
    json_t *t = tags ? J(tags) : NULL;
    struct bh_version_new v = {
        .image = img, .manifest = MF_HEX, .logical_size = 10, .candidate = candidate, .tags = t};
    bh_err_clear(err);
    *out = NULL;
    int rc = bh_store_version_create(S, &v, &actor, out, err);
    json_decref(t);
    return rc;
}

static int64_t ver_ok(const char *img, bool candidate)
{
    json_t *o;
    struct bh_err err;
    if (ver_new(img, candidate, NULL, &o, &err))
        fail_msg("version of %s: %s", img, err.msg);
    int64_t n = iget(o, "version");
    assert_string_equal(sget(o, "state"), candidate ? "candidate" : "released");
    json_decref(o);
    return n;
}

/* the version "latest" names, 0 when there is none */
static int64_t latest(const char *img)
{
    json_t *o = NULL;
    struct bh_err err;
    int rc = bh_store_version_get(S, img, "latest", &o, &err);
    if (rc == BH_ENOTFOUND)
        return 0;
    if (rc)
        fail_msg("latest of %s: %s", img, err.msg);
    int64_t n = iget(o, "version");
    assert_string_equal(sget(o, "state"), "released");
    json_decref(o);
    return n;
}

static void test_version_states(void **state)
{
    (void)state;
    struct bh_err e;
    json_t *o;
    mk0(IMAGE, "{'name':'img'}");
    assert_int_equal(latest("img"), 0);
    assert_int_equal(ver_ok("img", true), 1); /* only a candidate: no latest */
    assert_int_equal(latest("img"), 0);
    assert_int_equal(ver_ok("img", false), 2);
    assert_int_equal(latest("img"), 2);
    assert_int_equal(ver_ok("img", true), 3);
    assert_int_equal(latest("img"), 2); /* a candidate does not move latest */

    /* a candidate carries no tags, and nobody gives "latest" */
    assert_int_equal(ver_new("img", true, "['stable']", &o, &e), BH_EINVAL);
    assert_string_equal(e.field, "tags");
    assert_int_equal(ver_new("img", false, "['latest']", &o, &e), BH_EINVAL);
    assert_int_equal(bh_store_tag_set(S, "img", "stable", "3", &actor, &o, &e), BH_ECONFLICT);
    assert_non_null(strstr(e.msg, "candidate"));
    assert_int_equal(bh_store_tag_set(S, "img", "latest", "1", &actor, &o, &e), BH_ECONFLICT);
    assert_int_equal(bh_store_tag_set(S, "img", "latest", "2", &actor, &o, &e), BH_ECONFLICT);
    assert_int_equal(bh_store_tag_delete(S, "img", "latest", &actor, &e), BH_ECONFLICT);
    assert_int_equal(latest("img"), 2);

    /* promote: an event and an audit record naming who; latest = highest released */
    int64_t r0 = rev();
    size_t a0 = N_AUDIT();
    assert_int_equal(bh_store_version_promote(S, "img", "1", &actor, &o, &e), 0);
    assert_string_equal(sget(o, "state"), "released");
    assert_string_equal(sget(o, "promoted_by"), "tester");
    assert_true(json_is_string(json_object_get(o, "promoted_at")));
    json_decref(o);
    assert_int_equal(rev(), r0 + 1);
    assert_int_equal(N_AUDIT(), a0 + 1);
    json_t *ev = events_ok(r0, 10);
    assert_string_equal(sget(json_array_get(ev, 0), "type"), "version.promoted");
    assert_string_equal(sget(json_array_get(ev, 0), "key"), "img");
    json_decref(ev);
    json_t *au = audit_ok("image", "img", "tester", 0, 1);
    assert_string_equal(sget(json_array_get(au, 0), "action"), "version.promoted");
    json_decref(au);
    assert_int_equal(latest("img"), 2); /* 1 < 2: latest stays */
    assert_int_equal(bh_store_version_promote(S, "img", "3", &actor, &o, &e), 0);
    json_decref(o);
    assert_int_equal(latest("img"), 3);
    /* again: answered as it is, nothing written */
    r0 = rev();
    assert_int_equal(bh_store_version_promote(S, "img", "3", &actor, &o, &e), 0);
    assert_string_equal(sget(o, "state"), "released");
    json_decref(o);
    assert_int_equal(rev(), r0);
    assert_int_equal(bh_store_version_promote(S, "img", "9", &actor, &o, &e), BH_ENOTFOUND);
    assert_int_equal(bh_store_version_promote(S, "nope", "1", &actor, &o, &e), BH_ENOTFOUND);

    /* a released version can be tagged; delete moves latest to the highest released left */
    assert_int_equal(bh_store_tag_set(S, "img", "stable", "3", &actor, &o, &e), 0);
    json_decref(o);
    assert_int_equal(ver_ok("img", true), 4);
    assert_int_equal(bh_store_version_delete(S, "img", "4", &actor, &e), 0);
    assert_int_equal(latest("img"), 3);
    assert_int_equal(bh_store_tag_delete(S, "img", "stable", &actor, &e), 0);
    assert_int_equal(bh_store_version_delete(S, "img", "3", &actor, &e), 0);
    assert_int_equal(latest("img"), 2);
    assert_int_equal(ver_ok("img", true), 5); /* never a number given before (4 was deleted) */
    assert_int_equal(latest("img"), 2);
    assert_int_equal(bh_store_version_delete(S, "img", "2", &actor, &e), 0);
    assert_int_equal(latest("img"), 1);
    assert_int_equal(bh_store_version_delete(S, "img", "1", &actor, &e), 0);
    assert_int_equal(latest("img"), 0); /* only a candidate is left */
    json_t *vs = NULL;
    assert_int_equal(bh_store_versions(S, "img", &vs, &e), 0);
    assert_int_equal(json_array_size(vs), 1);
    assert_string_equal(sget(json_array_get(vs, 0), "state"), "candidate");
    assert_true(json_is_null(json_object_get(json_array_get(vs, 0), "promoted_by")));
    json_decref(vs);
}

static void sql(sqlite3 *db, const char *q)
{
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", q, msg ? msg : "?");
}

/* browser sessions: only for a token that exists; the dead are removed at
 * the next login; touch moves last use forward only; logout is an audited
 * event on the token; deleting the token deletes its sessions */
static void test_web_sessions(void **state)
{
    (void)state;
    struct bh_err e;
    json_t *t, *items;
    assert_int_equal(
        mk(TOKEN, "{\"name\":\"web\",\"role\":\"viewer\",\"id\":\"0000000000ab\"}", &t, &e), 0);
    json_decref(t);
    struct bh_session_info si;
    int64_t now = bh_wall_ms(), hour = 3600 * 1000;
    struct bh_session_new n = {"aa", "0000000000ab", "web", now, now + hour, now - hour, NULL};
    struct bh_actor a = {"web", "0000000000ab", "192.0.2.7"};
    assert_int_equal(bh_store_session_create(S, &n, &a, &e), 0);
    assert_int_equal(bh_store_session_get(S, "aa", &si, &e), 0);
    assert_string_equal(si.token_id, "0000000000ab");
    assert_true(si.created_ms == now && si.last_ms == now && si.expires_ms == now + hour);
    assert_int_equal(bh_store_session_touch(S, "aa", now + 5, &e), 0);
    assert_int_equal(bh_store_session_touch(S, "aa", now + 1, &e), 0); /* never back */
    assert_int_equal(bh_store_session_get(S, "aa", &si, &e), 0);
    assert_true(si.last_ms == now + 5);
    /* no such token: refused, nothing stored */
    struct bh_session_new bad = {"bb", "00000000dead", "ghost", now, now + hour, now - hour, NULL};
    assert_int_equal(bh_store_session_create(S, &bad, &a, &e), BH_ENOREF);
    assert_int_equal(bh_store_session_get(S, "bb", &si, &e), BH_ENOTFOUND);
    /* a later login removes sessions idle since before its idle_before */
    struct bh_session_new n2 = {"cc", "0000000000ab", "web", now + 10, now + hour, now + 6, NULL};
    assert_int_equal(bh_store_session_create(S, &n2, &a, &e), 0);
    assert_int_equal(bh_store_session_get(S, "aa", &si, &e), BH_ENOTFOUND);
    /* logout: gone, audited on the token */
    assert_int_equal(bh_store_session_end(S, "cc", "web", &a, &e), 0);
    assert_int_equal(bh_store_session_get(S, "cc", &si, &e), BH_ENOTFOUND);
    assert_int_equal(bh_store_session_end(S, "cc", "web", &a, &e), 0); /* again: fine */
    struct bh_audit_query q = {"token", "web", NULL, 0, 10, NULL};
    assert_int_equal(bh_store_audit(S, &q, &items, &e), 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "action")),
                        "session.logout");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "action")),
                        "session.login");
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1), "remote")),
                        "192.0.2.7");
    json_decref(items);
    /* revoking the token ends its sessions */
    struct bh_session_new n3 = {"dd", "0000000000ab", "web", now, now + hour, now - hour, NULL};
    assert_int_equal(bh_store_session_create(S, &n3, &a, &e), 0);
    assert_int_equal(bh_store_delete(S, TOKEN, "web", 0, &actor, &e), 0);
    assert_int_equal(bh_store_session_get(S, "dd", &si, &e), BH_ENOTFOUND);
}

/* A database of schema 6 with a "latest" moved by hand: migration 7 makes
 * every version released and puts latest on the highest. */
static void test_migration_7(void **state)
{
    (void)state;
    mk0(IMAGE, "{'name':'old'}");
    for (int i = 0; i < 3; i++)
        ver_ok("old", false);
    int newest = bh_store_schema_version(S);
    bh_store_close(S);
    S = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(g_path, &db), SQLITE_OK);
    /* back to what schema 6 had */
    sql(db, "ALTER TABLE images DROP COLUMN auto_promote;"
            "ALTER TABLE image_versions DROP COLUMN state;"
            "ALTER TABLE image_versions DROP COLUMN promoted_by;"
            "ALTER TABLE image_versions DROP COLUMN promoted_at;"
            "UPDATE image_tags SET version = 1 WHERE tag = 'latest';"
            /* and what later migrations added */
            "ALTER TABLE tasks DROP COLUMN claim;"
            "ALTER TABLE agent_sessions DROP COLUMN created_ms;"
            "DROP TABLE agent_nonces;"
            "ALTER TABLE images DROP COLUMN last_version;"
            "DROP TABLE web_sessions;"
            "DROP INDEX tasks_state;"
            "DROP INDEX tasks_last;"
            "ALTER TABLE image_versions DROP COLUMN new_bytes;"
            "ALTER TABLE tasks DROP COLUMN updated_at;"
            "PRAGMA user_version = 6;");
    sqlite3_close(db);
    store_open();
    assert_int_equal(bh_store_schema_version(S), newest);
    assert_int_equal(latest("old"), 3);
    json_t *vs = NULL;
    struct bh_err e;
    assert_int_equal(bh_store_versions(S, "old", &vs, &e), 0);
    size_t i;
    json_t *v;
    json_array_foreach(vs, i, v) assert_string_equal(sget(v, "state"), "released");
    json_decref(vs);
    json_t *img = get_ok(IMAGE, "old");
    assert_true(json_is_false(json_object_get(img, "auto_promote")));
    json_decref(img);
}

/* ---- what the web console reads (issue 10) -------------------------------- */

/* the names of a list's items, joined by spaces */
static char *names_of(json_t *items)
{
    static char out[1024];
    size_t i, n = 0;
    json_t *o;
    out[0] = '\0';
    json_array_foreach(items, i, o) n +=
        (size_t)snprintf(out + n, sizeof(out) - n, "%s%s", i ? " " : "", sget(o, "name"));
    return out;
}

static char *search(const char *text, const char *room)
{
    struct bh_list_query q = {.kind = HOST, .limit = 100, .search = text};
    q.sort[0].field = bh_kind_field(HOST, "name");
    q.nsort = 1;
    if (room) {
        q.filters[0].field = bh_kind_field(HOST, "room");
        q.filters[0].value = room;
        q.nfilters = 1;
    }
    struct bh_list_result res;
    char *out = names_of(list_ok(&q, &res));
    json_decref(res.items);
    return out;
}

static void test_list_search(void **state)
{
    (void)state;
    make_fleet();
    json_decref(upd_ok(HOST, "h03", "{'ip':'192.0.2.33'}", BH_UPD_PARTIAL));
    assert_string_equal(search("H1", NULL), "h10 h11 h12 h13 h14 h15 h16 h17 h18 h19");
    assert_string_equal(search("H1", "r1"), "h11 h13 h15 h17 h19"); /* with a filter */
    /* a MAC as written, with dashes, without separators, in capitals */
    assert_string_equal(search("02:00:00:00:00:0A", NULL), "h10");
    assert_string_equal(search("00-00-0a", NULL), "h10");
    assert_string_equal(search("00000a", NULL), "h10");
    assert_string_equal(search("2.33", NULL), "h03"); /* the IP */
    assert_string_equal(search("nothing", NULL), "");
    /* wildcards are only themselves */
    assert_string_equal(search("%", NULL), "");
    assert_string_equal(search("h_1", NULL), "");
    assert_string_equal(search("\\", NULL), "");
    assert_string_equal(search("", NULL), search(NULL, NULL)); /* no search */
    /* a search too long for the store is refused, not cut */
    char longq[BH_SEARCH_MAX + 2];
    memset(longq, 'a', sizeof(longq));
    longq[BH_SEARCH_MAX + 1] = '\0';
    struct bh_list_query q = {.kind = HOST, .limit = 10, .search = longq};
    q.sort[0].field = bh_kind_field(HOST, "mac");
    q.nsort = 1;
    struct bh_list_result res;
    struct bh_err e;
    assert_int_not_equal(bh_store_list(S, &q, &res, &e), 0);
    /* total counts what the search finds */
    q.search = "h2";
    q.want_total = true;
    json_decref(list_ok(&q, &res));
    assert_int_equal(res.total, 5);
}

/* modify_many: each host gets the name ud maps its MAC to; "refuse" in
 * the map makes fn refuse */
static json_t *rename_fn(void *ud, const json_t *cur, struct bh_err *err)
{
    const char *name = json_string_value(json_object_get(ud, sget(cur, "mac")));
    if (name && !strcmp(name, "refuse")) {
        bh_err_set(err, BH_EINVAL, "hosts", "refused");
        return NULL;
    }
    return json_pack("{s:s?, s:s}", "name", name, "state", "known");
}

static int rename_many(const char *keys, const char *map, json_t **out, struct bh_err *e)
{
    json_t *k = J(keys), *m = J(map);
    bh_err_clear(e);
    *out = NULL;
    int rc = bh_store_modify_many(S, HOST, k, rename_fn, m, BH_UPD_PARTIAL | BH_UPD_SYSTEM, &actor,
                                  out, e);
    json_decref(k);
    json_decref(m);
    return rc;
}

static void test_modify_many(void **state)
{
    (void)state;
    mk0(HOST, "{'mac':'02:00:00:00:01:01','state':'new'}");
    mk0(HOST, "{'mac':'02:00:00:00:01:02','state':'new'}");
    mk0(HOST, "{'mac':'02:00:00:00:01:03','name':'taken'}");
    int64_t r0 = rev();
    size_t audit0 = N_AUDIT();
    json_t *out;
    struct bh_err e;
    /* all or nothing: a missing host, a name taken, fn refusing */
    assert_int_equal(rename_many("['02:00:00:00:01:01','02:00:00:00:01:09']",
                                 "{'02:00:00:00:01:01':'a1','02:00:00:00:01:09':'a9'}", &out, &e),
                     BH_ENOTFOUND);
    assert_non_null(strstr(e.msg, "02:00:00:00:01:09: "));
    assert_int_equal(rename_many("['02:00:00:00:01:01','02:00:00:00:01:02']",
                                 "{'02:00:00:00:01:01':'a1','02:00:00:00:01:02':'taken'}", &out,
                                 &e),
                     BH_ECONFLICT);
    assert_int_equal(strncmp(e.msg, "02:00:00:00:01:02: ", 19), 0);
    assert_int_equal(rename_many("['02:00:00:00:01:01','02:00:00:00:01:02']",
                                 "{'02:00:00:00:01:01':'a1','02:00:00:00:01:02':'refuse'}", &out,
                                 &e),
                     BH_EINVAL);
    assert_string_equal(e.field, "hosts");
    assert_int_equal(rev(), r0);
    assert_int_equal(N_AUDIT(), audit0);
    json_t *h = get_ok(HOST, "02:00:00:00:01:01");
    assert_true(json_is_null(json_object_get(h, "name")));
    assert_string_equal(sget(h, "state"), "new");
    json_decref(h);
    /* both: two revisions, two events and audit records, objects in key order */
    assert_int_equal(rename_many("['02:00:00:00:01:02','02:00:00:00:01:01']",
                                 "{'02:00:00:00:01:01':'a1','02:00:00:00:01:02':'a2'}", &out, &e),
                     0);
    assert_string_equal(names_of(out), "a2 a1");
    assert_int_equal(iget(json_array_get(out, 0), "rev"), r0 + 1);
    assert_int_equal(iget(json_array_get(out, 1), "rev"), r0 + 2);
    json_decref(out);
    assert_int_equal(rev(), r0 + 2);
    assert_int_equal(N_AUDIT(), audit0 + 2);
    json_t *ev = events_ok(r0, 10);
    assert_int_equal(json_array_size(ev), 2);
    assert_string_equal(sget(json_array_get(ev, 0), "type"), "updated");
    assert_string_equal(sget(json_array_get(ev, 0), "key"), "02:00:00:00:01:02");
    json_decref(ev);
    /* again: nothing changes, nothing is written */
    assert_int_equal(rename_many("['02:00:00:00:01:02','02:00:00:00:01:01']",
                                 "{'02:00:00:00:01:01':'a1','02:00:00:00:01:02':'a2'}", &out, &e),
                     0);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    assert_int_equal(rev(), r0 + 2);
    /* one of two changes: one revision, the unchanged one leaves none */
    assert_int_equal(rename_many("['02:00:00:00:01:02','02:00:00:00:01:01']",
                                 "{'02:00:00:00:01:01':'b1','02:00:00:00:01:02':'a2'}", &out, &e),
                     0);
    json_decref(out);
    assert_int_equal(rev(), r0 + 3);
    json_t *b1 = get_ok(HOST, "b1");
    assert_int_equal(iget(b1, "rev"), r0 + 3);
    json_decref(b1);
}

static json_t *summary_ok(const char *room)
{
    json_t *s = NULL;
    struct bh_err e;
    if (bh_store_summary(S, room, &s, &e))
        fail_msg("summary: %s", e.msg);
    return s;
}

#define SUM(s, path) json_integer_value(json_object_get(s, path))
#define HOSTS(s, k)  json_integer_value(json_object_get(json_object_get(s, "hosts"), k))
#define BY(s, k)                                                                                   \
    json_integer_value(json_object_get(json_object_get(json_object_get(s, "hosts"), "by_state"), k))
#define JOBS(s, k) json_integer_value(json_object_get(json_object_get(s, "jobs"), k))

static json_t *activity_ok(const char *macs)
{
    json_t *m = J(macs), *a = NULL;
    struct bh_err e;
    if (bh_store_hosts_activity(S, m, &a, &e))
        fail_msg("activity: %s", e.msg);
    json_decref(m);
    return a;
}

static const char *act(json_t *a, const char *mac, const char *k)
{
    json_t *v = json_object_get(json_object_get(a, mac), k);
    return json_is_string(v) ? json_string_value(v) : json_is_null(v) ? "null" : "?";
}

static void test_console_figures(void **state)
{
    (void)state;
    make_fleet(); /* 25 hosts: 13 known, 12 up; r1 has the 12 up, r2 6 */
    json_t *s = summary_ok(NULL);
    assert_int_equal(HOSTS(s, "total"), 25);
    assert_int_equal(BY(s, "known"), 13);
    assert_int_equal(BY(s, "up"), 12);
    assert_int_equal(BY(s, "new"), 0);
    assert_int_equal(SUM(s, "rooms"), 2);
    assert_int_equal(SUM(s, "groups"), 0);
    assert_int_equal(SUM(s, "rev"), rev());
    assert_int_equal(JOBS(s, "running") + JOBS(s, "waiting"), 0);
    json_decref(s);
    s = summary_ok("r1");
    assert_int_equal(HOSTS(s, "total"), 12);
    assert_int_equal(BY(s, "up"), 12); /* odd hosts are up and in r1 */
    assert_int_equal(BY(s, "known"), 0);
    json_decref(s);
    struct bh_err e;
    assert_int_equal(bh_store_summary(S, "nope", &s, &e), BH_ENOTFOUND);

    /* two jobs: one waiting, one where h00 fails, h02 runs, h04 is done */
    json_t *spec = json_pack("{s:[s,s,s]}", "steps", "partition", "sync:1", "start:1");
    json_t *macs =
        json_pack("[s,s,s]", "02:00:00:00:00:00", "02:00:00:00:00:02", "02:00:00:00:00:04");
    json_t *job = NULL;
    assert_int_equal(bh_store_job_create(S, spec, macs, &actor, &job, &e), 0);
    json_decref(job);
    s = summary_ok(NULL);
    assert_int_equal(JOBS(s, "waiting"), 1);
    assert_int_equal(JOBS(s, "running"), 0);
    json_decref(s);
    json_t *a = activity_ok("['02:00:00:00:00:00','02:00:00:00:00:06']");
    assert_string_equal(act(a, "02:00:00:00:00:00", "step"), "partition");
    assert_string_equal(act(a, "02:00:00:00:00:00", "state"), "queued");
    assert_null(json_object_get(a, "02:00:00:00:00:06")); /* no task: not there */
    json_decref(a);

    int64_t t = next_task("02:00:00:00:00:00");
    assert_int_equal(task_upd(t, "02:00:00:00:00:00", NULL, "done", NULL, NULL, &job, &e), 0);
    json_decref(job);
    t = next_task("02:00:00:00:00:00");
    assert_int_equal(task_upd(t, "02:00:00:00:00:00", NULL, "failed", NULL, "disk gone", &job, &e),
                     0);
    json_decref(job);
    t = next_task("02:00:00:00:00:02");
    json_t *prog =
        json_pack("{s:s, s:I, s:I, s:I}", "phase", "writing", "done", 10, "total", 110, "rate", 20);
    assert_int_equal(task_upd(t, "02:00:00:00:00:02", NULL, "running", prog, NULL, &job, &e), 0);
    json_decref(job);
    json_decref(prog);
    for (int i = 0; i < 3; i++) {
        t = next_task("02:00:00:00:00:04");
        assert_int_equal(task_upd(t, "02:00:00:00:00:04", NULL, "done", NULL, NULL, &job, &e), 0);
        json_decref(job);
    }
    a = activity_ok("['02:00:00:00:00:00','02:00:00:00:00:02','02:00:00:00:00:04']");
    /* the failed step, not the one cancelled with it */
    assert_string_equal(act(a, "02:00:00:00:00:00", "step"), "sync:1");
    assert_string_equal(act(a, "02:00:00:00:00:00", "state"), "failed");
    assert_string_equal(act(a, "02:00:00:00:00:00", "error"), "disk gone");
    assert_string_equal(act(a, "02:00:00:00:00:02", "state"), "running");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(a, "02:00:00:00:00:02"), "progress"), "total")),
        110);
    assert_string_equal(act(a, "02:00:00:00:00:04", "step"), "start:1"); /* the last done */
    assert_string_equal(act(a, "02:00:00:00:00:04", "state"), "done");
    assert_string_not_equal(act(a, "02:00:00:00:00:04", "updated"), "null");
    json_decref(a);
    s = summary_ok(NULL);
    assert_int_equal(JOBS(s, "running"), 1);
    assert_int_equal(JOBS(s, "waiting"), 0);
    assert_int_equal(HOSTS(s, "busy"), 1);
    assert_int_equal(HOSTS(s, "failed"), 1);
    json_decref(s);
    s = summary_ok("r2"); /* h00 and h04 stand in no room; h02 in r2 */
    assert_int_equal(HOSTS(s, "busy"), 1);
    assert_int_equal(HOSTS(s, "failed"), 0);
    json_decref(s);
    /* a newer job queued for h04 is what it does next */
    json_t *one = json_pack("[s]", "02:00:00:00:00:04");
    assert_int_equal(bh_store_job_create(S, spec, one, &actor, &job, &e), 0);
    json_decref(job);
    a = activity_ok("['02:00:00:00:00:04']");
    assert_string_equal(act(a, "02:00:00:00:00:04", "state"), "queued");
    assert_string_equal(act(a, "02:00:00:00:00:04", "step"), "partition");
    json_decref(a);
    json_decref(one);
    json_decref(spec);
    json_decref(macs);
}

static void test_images_usage(void **state)
{
    (void)state;
    mk0(IMAGE, "{'name':'win'}");
    mk0(IMAGE, "{'name':'empty'}");
    struct bh_err e;
    json_t *o = NULL;
    struct bh_version_new v = {.image = "win",
                               .manifest = MF_HEX,
                               .logical_size = 100,
                               .added_bytes = 60,
                               .new_bytes = 60};
    assert_int_equal(bh_store_version_create(S, &v, &actor, &o, &e), 0);
    assert_int_equal(iget(o, "new_bytes"), 60);
    json_decref(o);
    v.logical_size = 120;
    v.added_bytes = 30;
    v.new_bytes = 20;
    assert_int_equal(bh_store_version_create(S, &v, &actor, &o, &e), 0);
    json_decref(o);
    v.logical_size = 500;
    v.candidate = true;
    v.new_bytes = 5;
    assert_int_equal(bh_store_version_create(S, &v, &actor, &o, &e), 0);
    json_decref(o);
    json_t *names = J("['win','empty','nope']"), *u = NULL;
    assert_int_equal(bh_store_images_usage(S, names, &u, &e), 0);
    json_t *w = json_object_get(u, "win"), *z = json_object_get(u, "empty");
    assert_int_equal(iget(w, "versions"), 3);
    assert_int_equal(iget(w, "candidates"), 1);
    assert_int_equal(iget(w, "latest"), 2);
    assert_int_equal(iget(w, "logical_bytes"), 120); /* latest, not the candidate */
    assert_int_equal(iget(w, "stored_bytes"), 85);
    assert_int_equal(iget(z, "versions"), 0);
    assert_true(json_is_null(json_object_get(z, "latest")));
    assert_int_equal(iget(z, "stored_bytes"), 0);
    assert_null(json_object_get(u, "nope"));
    json_decref(u);
    json_decref(names);
    /* a version from before new_bytes was kept: filled in once, later */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(g_path, &db), SQLITE_OK);
    sql(db, "UPDATE image_versions SET new_bytes = NULL WHERE version = 1");
    sqlite3_close(db);
    json_t *todo = NULL;
    assert_int_equal(bh_store_versions_without_new_bytes(S, &todo, &e), 0);
    assert_int_equal(json_array_size(todo), 1);
    assert_string_equal(sget(json_array_get(todo, 0), "manifest"), MF_HEX);
    json_decref(todo);
    assert_int_equal(bh_store_version_set_new_bytes(S, "win", 1, 61, &e), 0);
    assert_int_equal(bh_store_version_set_new_bytes(S, "win", 9, 1, &e), BH_ENOTFOUND);
    assert_int_equal(bh_store_versions_without_new_bytes(S, &todo, &e), 0);
    assert_int_equal(json_array_size(todo), 0);
    json_decref(todo);
    assert_int_equal(bh_store_version_get(S, "win", "1", &o, &e), 0);
    assert_int_equal(iget(o, "new_bytes"), 61);
    json_decref(o);
}

#define T(fn)      cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T_KEEP(fn) cmocka_unit_test_setup_teardown(fn, setup_small_keep, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_open_fresh),
        T(test_crud_every_kind),
        T(test_replace_minimal_document),
        T(test_keys),
        T(test_unique_conflicts),
        T(test_missing_references),
        T(test_delete_referenced),
        T(test_if_rev),
        T(test_noop_update),
        T(test_events_and_audit),
        T(test_write_accounting),
        T_KEEP(test_events_gone_after_prune),
        cmocka_unit_test_setup_teardown(test_gone_with_one_reader, setup_one_reader, teardown),
        T(test_list_selectors),
        T(test_list_filters_sort_paging),
        T(test_partial_and_system),
        T(test_reopen),
        T(test_token_lookup),
        T(test_concurrent_writers),
        T(test_jobs_and_tasks),
        T(test_agent_sessions_and_claims),
        T(test_version_states),
        T(test_migration_7),
        T(test_web_sessions),
        T(test_list_search),
        T(test_modify_many),
        T(test_console_figures),
        T(test_images_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
