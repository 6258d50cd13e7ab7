/*
 * test_model.c - unit tests for src/model: kind tables, bh_model_validate,
 * bh_model_writable, bh_merge_patch and label selectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "model/model.h"
#include "model/selector.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

#define ROOM    (&bh_kinds[BH_KIND_ROOM])
#define GROUP   (&bh_kinds[BH_KIND_GROUP])
#define HOST    (&bh_kinds[BH_KIND_HOST])
#define PROFILE (&bh_kinds[BH_KIND_PROFILE])
#define IMAGE   (&bh_kinds[BH_KIND_IMAGE])
#define TOKEN   (&bh_kinds[BH_KIND_TOKEN])

static const char *const mode_names[] = {"CREATE", "REPLACE", "PATCH"};

/* Validate JSON text; returns rc and fills *out (NULL on failure). */
static int validate(const struct bh_kind_desc *k, const char *text, enum bh_vmode mode,
                    json_t **out, struct bh_err *err)
{
    json_t *in = J(text);
    *out = NULL;
    bh_err_clear(err);
    int rc = bh_model_validate(k, in, mode, out, err);
    json_decref(in);
    if (rc)
        assert_null(*out);
    return rc;
}

static json_t *valid(const struct bh_kind_desc *k, const char *text, enum bh_vmode mode)
{
    struct bh_err err;
    json_t *out;
    if (validate(k, text, mode, &out, &err))
        fail_msg("%s %s rejected: %s (%s)", mode_names[mode], text, err.msg, err.field);
    return out;
}

/* Expect a failure with code EINVAL, the given slug (NULL = any) and field. */
static void invalid(const struct bh_kind_desc *k, const char *text, enum bh_vmode mode,
                    const char *type, const char *field)
{
    struct bh_err err;
    json_t *out;
    int rc = validate(k, text, mode, &out, &err);
    if (rc != BH_EINVAL)
        fail_msg("%s %s %s: rc %d, want EINVAL", k->name, mode_names[mode], text, rc);
    if (type && (!err.type || strcmp(err.type, type) != 0))
        fail_msg("%s %s: type '%s', want '%s' (%s)", mode_names[mode], text,
                 err.type ? err.type : "(null)", type, err.msg);
    if (strcmp(err.field, field) != 0)
        fail_msg("%s %s: field '%s', want '%s' (%s)", mode_names[mode], text, err.field, field,
                 err.msg);
    assert_true(err.msg[0] != '\0');
}

/* Compare with JSON text without leaking the parsed copy. */
static bool json_eq_text(const json_t *v, const char *text)
{
    json_t *want = J(text);
    bool eq = json_equal((json_t *)v, want);
    json_decref(want);
    return eq;
}

static const char *sget(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("'%s' is not a string", key);
    return s;
}

/* A minimal valid document of each kind, as JSON members without braces. */
static const struct {
    const struct bh_kind_desc *k;
    const char *min;
} minimal[] = {
    {ROOM, "'name': 'r101'"},
    {GROUP, "'name': 'win10'"},
    {HOST, "'mac': '00:11:22:33:44:55'"},
    {PROFILE, "'name': 'linux', 'kernel': 'vmlinuz'"},
    {IMAGE, "'name': 'win10-base'"},
    {TOKEN, "'name': 'ci', 'role': 'operator'"},
};

static json_t *with_min(size_t i, const char *extra, enum bh_vmode mode)
{
    char text[512];
    snprintf(text, sizeof(text), "{%s%s%s}", minimal[i].min, extra[0] ? ", " : "", extra);
    return valid(minimal[i].k, text, mode);
}

static void invalid_min(size_t i, const char *extra, enum bh_vmode mode, const char *type,
                        const char *field)
{
    char text[512];
    snprintf(text, sizeof(text), "{%s, %s}", minimal[i].min, extra);
    invalid(minimal[i].k, text, mode, type, field);
}

/* ---- kind tables ---------------------------------------------------------- */

static void test_kind_lookup(void **state)
{
    (void)state;
    assert_ptr_equal(bh_kind_by_plural("hosts"), HOST);
    assert_null(bh_kind_by_plural("host"));
    assert_ptr_equal(bh_kind_by_name("host"), HOST);
    assert_ptr_equal(bh_kind_by_name("groups"), GROUP);
    assert_null(bh_kind_by_name("jobs"));
    assert_ptr_equal(bh_kind_get(BH_KIND_TOKEN), TOKEN);
    assert_null(bh_kind_get(BH_KIND__COUNT));
    for (size_t i = 0; i < BH_KIND__COUNT; i++) {
        assert_int_equal(bh_kinds[i].kind, i);
        assert_non_null(bh_kind_field(&bh_kinds[i], bh_kinds[i].default_sort));
    }
    assert_null(bh_kind_field(HOST, "nope"));
    enum bh_role r;
    assert_int_equal(bh_role_parse("Admin", &r), 0);
    assert_int_equal(r, BH_ROLE_ADMIN);
    assert_int_equal(bh_role_parse("root", &r), BH_EINVAL);
    assert_string_equal(bh_role_name(BH_ROLE_VIEWER), "viewer");
}

/* ---- validate: generic rules for every kind ------------------------------ */

static void test_minimal_valid_all_modes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(minimal); i++)
        for (int m = BH_V_CREATE; m <= BH_V_PATCH; m++)
            json_decref(with_min(i, "", (enum bh_vmode)m));
    invalid(HOST, "[1]", BH_V_CREATE, NULL, "");
    invalid(HOST, "'x'", BH_V_PATCH, NULL, "");
}

static void test_unknown_field(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_ELEMS(minimal); i++)
        for (int m = BH_V_CREATE; m <= BH_V_PATCH; m++)
            invalid_min(i, "'bogus': 1", (enum bh_vmode)m, "unknown-field", "bogus");
    /* internal fields are unknown to clients */
    for (int m = BH_V_CREATE; m <= BH_V_PATCH; m++)
        invalid_min(5, "'hash': 'ab'", (enum bh_vmode)m, "unknown-field", "hash");
}

static void test_read_only_fields(void **state)
{
    (void)state;
    static const struct {
        size_t kind; /* index into minimal[] */
        const char *member, *field;
    } ro[] = {
        {0, "'created_at': '2026-01-01T00:00:00Z'", "created_at"},
        {1, "'updated_at': '2026-01-01T00:00:00Z'", "updated_at"},
        {2, "'last_seen': '2026-01-01T00:00:00Z'", "last_seen"},
        {3, "'rev': 7", "rev"},
        {4, "'rev': 7", "rev"},
        {5, "'id': '0123456789ab'", "id"},
        {5, "'created_by': 'admin'", "created_by"},
    };
    for (size_t i = 0; i < N_ELEMS(ro); i++) {
        invalid_min(ro[i].kind, ro[i].member, BH_V_CREATE, "read-only-field", ro[i].field);
        invalid_min(ro[i].kind, ro[i].member, BH_V_PATCH, "read-only-field", ro[i].field);
        /* GET, edit, PUT back: server fields are ignored on replace */
        json_t *o = with_min(ro[i].kind, ro[i].member, BH_V_REPLACE);
        assert_null(json_object_get(o, ro[i].field));
        json_decref(o);
    }
}

static void test_wrong_type(void **state)
{
    (void)state;
    static const struct {
        size_t kind;
        const char *member, *field;
    } cases[] = {
        {0, "'description': 5", "description"},
        {0, "'labels': 'x'", "labels"},
        {0, "'labels': ['a']", "labels"},
        {1, "'config': []", "config"},
        {1, "'default_profile': true", "default_profile"},
        {2, "'arch': 1", "arch"},
        {2, "'hardware': 'cpu'", "hardware"},
        {2, "'room': {}", "room"},
        {2, "'name': 1.5", "name"},
        {3, "'initrds': 'initrd.img'", "initrds"},
        {4, "'kind': false", "kind"},
        {5, "'expires_at': 1700000000", "expires_at"},
    };
    for (size_t i = 0; i < N_ELEMS(cases); i++) {
        invalid_min(cases[i].kind, cases[i].member, BH_V_CREATE, "wrong-type", cases[i].field);
        invalid_min(cases[i].kind, cases[i].member, BH_V_REPLACE, "wrong-type", cases[i].field);
    }
    /* the key field itself with the wrong type */
    invalid(HOST, "{'mac': 5}", BH_V_CREATE, "wrong-type", "mac");
    invalid(ROOM, "{'name': null}", BH_V_CREATE, "missing-field", "name");
    /* PATCH defers type checks until the patch is merged and the result is
     * validated as a whole (see bh_h_patch); values pass through verbatim */
    json_t *o = valid(HOST, "{'arch': 1, 'labels': {'a': {'b': 1}}}", BH_V_PATCH);
    assert_true(json_eq_text(o, "{'arch': 1, 'labels': {'a': {'b': 1}}}"));
    json_decref(o);
}

static void test_missing_required(void **state)
{
    (void)state;
    invalid(HOST, "{}", BH_V_CREATE, "missing-field", "mac");
    invalid(HOST, "{'name': 'pc1'}", BH_V_REPLACE, "missing-field", "mac");
    invalid(ROOM, "{'description': 'x'}", BH_V_CREATE, "missing-field", "name");
    invalid(PROFILE, "{'name': 'p'}", BH_V_CREATE, "missing-field", "kernel");
    invalid(TOKEN, "{'name': 't'}", BH_V_REPLACE, "missing-field", "role");
    /* PATCH: fields are optional, but a required field cannot be cleared */
    json_decref(valid(HOST, "{}", BH_V_PATCH));
    invalid(HOST, "{'mac': null}", BH_V_PATCH, "missing-field", "mac");
    invalid(PROFILE, "{'kernel': null}", BH_V_PATCH, "missing-field", "kernel");
    /* null clears an optional field in PATCH, and is dropped on CREATE */
    json_t *o = valid(HOST, "{'name': null, 'labels': null}", BH_V_PATCH);
    assert_true(json_is_null(json_object_get(o, "name")));
    assert_true(json_is_null(json_object_get(o, "labels")));
    json_decref(o);
    o = valid(HOST, "{'mac': '00:11:22:33:44:55', 'name': null}", BH_V_CREATE);
    assert_null(json_object_get(o, "name"));
    json_decref(o);
}

static void test_defaults(void **state)
{
    (void)state;
    json_t *o = with_min(2, "", BH_V_CREATE);
    assert_string_equal(sget(o, "arch"), "");
    assert_string_equal(sget(o, "state"), "known");
    assert_null(json_object_get(o, "name"));
    json_decref(o);
    o = with_min(2, "'state': 'up', 'arch': null", BH_V_CREATE);
    assert_string_equal(sget(o, "state"), "up");
    assert_string_equal(sget(o, "arch"), ""); /* null means "default" on create */
    json_decref(o);
    o = with_min(3, "", BH_V_CREATE);
    assert_string_equal(sget(o, "arch"), "any");
    json_decref(o);
    o = with_min(4, "", BH_V_CREATE);
    assert_string_equal(sget(o, "kind"), "partition");
    assert_string_equal(sget(o, "fstype"), "");
    json_decref(o);
    /* PUT replaces: what it leaves out goes back to the default */
    o = with_min(2, "", BH_V_REPLACE);
    assert_string_equal(sget(o, "state"), "known");
    assert_string_equal(sget(o, "arch"), "");
    json_decref(o);
    /* a merge patch only carries what it changes */
    o = with_min(2, "", BH_V_PATCH);
    assert_null(json_object_get(o, "state"));
    assert_null(json_object_get(o, "arch"));
    json_decref(o);
}

/* ---- validate: value checks ---------------------------------------------- */

static void test_mac_field(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "AA-BB-CC-DD-EE-0F",
        "aabb.ccdd.ee0f",
        "AABBCCDDEE0F",
        "aa:bb:cc:dd:ee:0f",
    };
    for (size_t i = 0; i < N_ELEMS(forms); i++) {
        char text[128];
        snprintf(text, sizeof(text), "{'mac': '%s'}", forms[i]);
        for (int m = BH_V_CREATE; m <= BH_V_REPLACE; m++) {
            json_t *o = valid(HOST, text, (enum bh_vmode)m);
            assert_string_equal(sget(o, "mac"), "aa:bb:cc:dd:ee:0f");
            json_decref(o);
        }
    }
    static const char *const bad[] = {
        "aa:bb:cc:dd:ee", "aa:bb-cc:dd:ee:ff", "zz:bb:cc:dd:ee:ff", "", "aa:bb:cc:dd:ee:ff ",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char text[128];
        snprintf(text, sizeof(text), "{'mac': '%s'}", bad[i]);
        invalid(HOST, text, BH_V_CREATE, "invalid-value", "mac");
    }
}

static void test_enum_field(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *out;
    assert_int_equal(
        validate(HOST, "{'mac': '00:11:22:33:44:55', 'arch': 'sparc'}", BH_V_CREATE, &out, &err),
        BH_EINVAL);
    assert_string_equal(err.field, "arch");
    assert_non_null(strstr(err.msg, "'sparc' is not one of"));
    assert_non_null(strstr(err.msg, "'x86_64'"));
    invalid_min(2, "'state': 'dead'", BH_V_CREATE, "invalid-value", "state");
    invalid_min(2, "'arch': 'X86_64'", BH_V_REPLACE, "invalid-value", "arch");
    invalid_min(3, "'arch': ''", BH_V_CREATE, "invalid-value", "arch");
    invalid_min(5, "'role': 'root'", BH_V_CREATE, "invalid-value", "role");
    invalid_min(4, "'fstype': 'zfs'", BH_V_CREATE, "invalid-value", "fstype");
    json_decref(with_min(4, "'kind': 'disk', 'fstype': 'ntfs'", BH_V_CREATE));
}

static void test_labels(void **state)
{
    (void)state;
    json_t *o = with_min(0,
                         "'labels': {'role': 'kiosk', 'example.com/floor': '1', "
                         "'empty': '', 'a.b_c-d': 'x.y_z-1'}",
                         BH_V_CREATE);
    assert_int_equal(json_object_size(json_object_get(o, "labels")), 4);
    json_decref(o);
    static const struct {
        const char *labels, *field;
    } bad[] = {
        {"{'': 'x'}", "labels."},
        {"{'-a': 'x'}", "labels.-a"},
        {"{'a-': 'x'}", "labels.a-"},
        {"{'a b': 'x'}", "labels.a b"},
        {"{'a/b/c': 'x'}", "labels.a/b/c"},
        {"{'/a': 'x'}", "labels./a"},
        {"{'pre_fix/a': 'x'}", "labels.pre_fix/a"},
        {"{'-pre/a': 'x'}", "labels.-pre/a"},
        {"{'a': 'x y'}", "labels.a"},
        {"{'a': '-x'}", "labels.a"},
        {"{'a': 'x.'}", "labels.a"},
        {"{'a': 5}", "labels.a"},
        {"{'a': null}", "labels.a"},
        {"{'a': "
         "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'}",
         "labels.a"}, /* 64 characters */
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char member[256];
        snprintf(member, sizeof(member), "'labels': %s", bad[i].labels);
        invalid_min(0, member, BH_V_CREATE, "invalid-value", bad[i].field);
    }
    /* 63-character names are fine, 64 are not */
    char key[64];
    memset(key, 'k', 63);
    key[63] = '\0';
    assert_true(bh_label_key_ok(key));
    assert_true(bh_label_value_ok(key));
    assert_true(bh_label_value_ok(""));
    char key64[65];
    memset(key64, 'k', 64);
    key64[64] = '\0';
    assert_false(bh_label_key_ok(key64));
    assert_false(bh_label_value_ok(key64));
    /* more than 64 labels */
    json_t *doc = J("{'name': 'r'}"), *labels = json_object();
    for (int i = 0; i < 65; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        json_object_set_new(labels, k, json_string("v"));
    }
    json_object_set_new(doc, "labels", labels);
    struct bh_err err;
    json_t *out = NULL;
    assert_int_equal(bh_model_validate(ROOM, doc, BH_V_CREATE, &out, &err), BH_EINVAL);
    assert_string_equal(err.field, "labels");
    json_object_del(labels, "k64");
    assert_int_equal(bh_model_validate(ROOM, doc, BH_V_CREATE, &out, &err), 0);
    json_decref(out);
    json_decref(doc);
}

/* Table of one string field's accepted and rejected values. */
struct str_case {
    size_t kind;
    const char *field, *value;
    bool ok;
};

static const struct str_case str_cases[] = {
    /* host uuid */
    {2, "uuid", "4c4c4544-0042-3510-8052-b4c04f4e4b31", true},
    {2, "uuid", "4C4C4544-0042-3510-8052-B4C04F4E4B31", true},
    {2, "uuid", "4c4c454400423510-8052-b4c04f4e4b31", false},
    {2, "uuid", "4c4c4544-0042-3510-8052-b4c04f4e4b3", false},
    {2, "uuid", "4c4c4544-0042-3510-8052-b4c04f4e4b3g", false},
    {2, "uuid", "4c4c4544_0042-3510-8052-b4c04f4e4b31", false},
    /* host ip */
    {2, "ip", "192.0.2.10", true},
    {2, "ip", "0.0.0.0", true},
    {2, "ip", "255.255.255.255", true},
    {2, "ip", "256.0.0.1", false},
    {2, "ip", "1.2.3", false},
    {2, "ip", "1.2.3.4.5", false},
    {2, "ip", "01.2.3.4", false},
    {2, "ip", "1..2.3", false},
    {2, "ip", "1.2.3.4.", false},
    {2, "ip", ".1.2.3", false},
    {2, "ip", "a.b.c.d", false},
    {2, "ip", "1.2.3.4 ", false},
    {2, "ip", "+1.2.3.4", false},
    {2, "ip", "1.2.-0.4", false},
    /* room subnet */
    {0, "subnet", "10.0.0.0/8", true},
    {0, "subnet", "192.0.2.0/24", true},
    {0, "subnet", "0.0.0.0/0", true},
    {0, "subnet", "10.0.0.0/32", true},
    {0, "subnet", "10.0.0.0", false},
    {0, "subnet", "10.0.0.0/33", false},
    {0, "subnet", "10.0.0/8", false},
    {0, "subnet", "10.0.0.0/", false},
    {0, "subnet", "10.0.0.0/x", false},
    {0, "subnet", "/8", false},
    {0, "subnet", "10.0.0.0/+8", false},
    /* names: letters, digits, '.', '_', '-', starting with alnum, <= 63 */
    {0, "name", "lab.1_a-b", true},
    {0, "name", "Lab1", true},
    {0, "name", "lab 1", false},
    {0, "name", "-lab", false},
    {0, "name", ".lab", false},
    {0, "name", "lab/1", false},
    {0, "name", "", false},
    {0, "name", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", true}, /* 63 */
    {0, "name", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", false},
    /* host names: letters, digits and '-' */
    {2, "name", "pc-01", true},
    {2, "name", "pc_01", false},
    {2, "name", "pc.01", false},
    /* free text: printable, tab allowed */
    {0, "description", "a\tb", true},
    {0, "description", "bell\a", false},
    {0, "description", "del\x7f", false},
    {2, "serial", "SN 12/34:5", true},
    {2, "serial", "SN#1", false},
    /* references must be valid names */
    {2, "room", "r101", true},
    {2, "room", "bad name", false},
    {2, "room", "", false},
    {1, "default_profile", "-x", false},
};

static void test_string_checks(void **state)
{
    (void)state;
    int failures = 0; /* report every wrong case, then fail */
    for (size_t i = 0; i < N_ELEMS(str_cases); i++) {
        const struct str_case *c = &str_cases[i];
        json_t *doc =
            J(minimal[c->kind].k == HOST ? "{'mac': '00:11:22:33:44:55'}" : "{'name': 'n'}");
        json_object_set_new(doc, c->field, json_string(c->value));
        struct bh_err err;
        json_t *out = NULL;
        bh_err_clear(&err);
        int rc = bh_model_validate(minimal[c->kind].k, doc, BH_V_CREATE, &out, &err);
        json_decref(doc);
        json_decref(out);
        const char *what = NULL;
        if (c->ok && rc)
            what = "rejected";
        else if (!c->ok && rc != BH_EINVAL)
            what = "accepted";
        else if (!c->ok && strcmp(err.field, c->field) != 0)
            what = "reported with the wrong field";
        if (what) {
            print_error("%s.%s = '%s' %s (%s)\n", minimal[c->kind].k->name, c->field, c->value,
                        what, rc ? err.msg : "ok");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Whatever may be a room's name may also be used to refer to the room. */
static void test_names_are_referenceable(void **state)
{
    (void)state;
    static const char *const names[] = {"r1", "lab-", "lab.", "a_", "x.y", "A-1"};
    int failures = 0;
    for (size_t i = 0; i < N_ELEMS(names); i++) {
        char room[128], host[160];
        snprintf(room, sizeof(room), "{'name': '%s'}", names[i]);
        snprintf(host, sizeof(host), "{'mac': '00:11:22:33:44:55', 'room': '%s'}", names[i]);
        struct bh_err e1, e2;
        json_t *o1, *o2;
        int rc1 = validate(ROOM, room, BH_V_CREATE, &o1, &e1);
        int rc2 = validate(HOST, host, BH_V_CREATE, &o2, &e2);
        json_decref(o1);
        json_decref(o2);
        if (rc1 != rc2) {
            print_error("name '%s': as a room name rc %d (%s), as a reference rc %d (%s)\n",
                        names[i], rc1, rc1 ? e1.msg : "ok", rc2, rc2 ? e2.msg : "ok");
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_strlist(void **state)
{
    (void)state;
    json_t *o = with_min(3, "'initrds': ['a.img', 'b.img']", BH_V_CREATE);
    assert_int_equal(json_array_size(json_object_get(o, "initrds")), 2);
    json_decref(o);
    json_decref(with_min(3, "'initrds': []", BH_V_CREATE));
    struct bh_err err;
    json_t *out;
    assert_int_equal(validate(PROFILE, "{'name': 'p', 'kernel': 'k', 'initrds': ['a', 1]}",
                              BH_V_CREATE, &out, &err),
                     BH_EINVAL);
    assert_string_equal(err.field, "initrds");
    assert_non_null(strstr(err.msg, "entry 1"));
    invalid_min(3, "'initrds': ['a\\u0001']", BH_V_CREATE, "invalid-value", "initrds");
    /* at most 64 entries */
    json_t *doc = J("{'name': 'p', 'kernel': 'k'}"), *arr = json_array();
    for (int i = 0; i < 64; i++)
        json_array_append_new(arr, json_string("x"));
    json_object_set_new(doc, "initrds", arr);
    assert_int_equal(bh_model_validate(PROFILE, doc, BH_V_CREATE, &out, &err), 0);
    json_decref(out);
    json_array_append_new(arr, json_string("x"));
    assert_int_equal(bh_model_validate(PROFILE, doc, BH_V_CREATE, &out, &err), BH_EINVAL);
    assert_string_equal(err.field, "initrds");
    json_decref(doc);
}

static void test_time_field(void **state)
{
    (void)state;
    json_t *o = with_min(5, "'expires_at': '2026-11-22T10:00:00+02:00'", BH_V_CREATE);
    assert_string_equal(sget(o, "expires_at"), "2026-11-22T08:00:00.000Z");
    json_decref(o);
    o = with_min(5, "'expires_at': '2024-02-29T23:59:59.5Z'", BH_V_REPLACE);
    assert_string_equal(sget(o, "expires_at"), "2024-02-29T23:59:59.500Z");
    json_decref(o);
    invalid_min(5, "'expires_at': 'tomorrow'", BH_V_CREATE, "invalid-value", "expires_at");
    invalid_min(5, "'expires_at': '2023-02-29T00:00:00Z'", BH_V_CREATE, "invalid-value",
                "expires_at");
}

/* ---- writable projection and merge patch --------------------------------- */

static void test_writable(void **state)
{
    (void)state;
    json_t *host = J("{'mac': '00:11:22:33:44:55', 'name': null, 'rev': 9, "
                     "'state': 'up', 'last_seen': '2026-01-01T00:00:00.000Z', "
                     "'labels': {'a': 'b'}, 'created_at': 'x', 'updated_at': 'y'}");
    json_t *w = bh_model_writable(HOST, host);
    assert_true(json_eq_text(w, "{'mac': '00:11:22:33:44:55', 'state': 'up', "
                                "'labels': {'a': 'b'}}"));
    /* a deep copy: changing it leaves the object alone */
    json_object_set_new(json_object_get(w, "labels"), "c", json_string("d"));
    assert_int_equal(json_object_size(json_object_get(host, "labels")), 1);
    json_decref(w);
    json_decref(host);
    json_t *tok = J("{'id': '0123456789ab', 'name': 'ci', 'role': 'admin', "
                    "'hash': '00', 'created_by': 'root'}");
    w = bh_model_writable(TOKEN, tok);
    assert_true(json_eq_text(w, "{'name': 'ci', 'role': 'admin'}"));
    json_decref(w);
    json_decref(tok);
}

/* RFC 7396 appendix A, the cases where target and patch are objects */
static void test_merge_patch_rfc7396(void **state)
{
    (void)state;
    static const struct {
        const char *target, *patch, *result;
    } v[] = {
        {"{'a':'b'}", "{'a':'c'}", "{'a':'c'}"},
        {"{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}"},
        {"{'a':'b'}", "{'a':null}", "{}"},
        {"{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}"},
        {"{'a':['b']}", "{'a':'c'}", "{'a':'c'}"},
        {"{'a':'c'}", "{'a':['b']}", "{'a':['b']}"},
        {"{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}"},
        {"{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}"},
        {"{'e':null}", "{'a':1}", "{'e':null,'a':1}"},
        {"{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}"},
        {"{'a':'x'}", "{'a':{'b':null,'c':1}}", "{'a':{'c':1}}"},
        {"{'a':1}", "{}", "{'a':1}"},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        json_t *t = J(v[i].target), *p = J(v[i].patch), *want = J(v[i].result);
        bh_merge_patch(t, p);
        if (!json_equal(t, want)) {
            char *got = json_dumps(t, JSON_COMPACT);
            fail_msg("case %zu: %s + %s gave %s, want %s", i, v[i].target, v[i].patch, got,
                     v[i].result);
        }
        /* the patch itself is not changed (it is borrowed) */
        assert_true(json_eq_text(p, v[i].patch));
        json_decref(t);
        json_decref(p);
        json_decref(want);
    }
}

/* ---- selectors ------------------------------------------------------------ */

static void test_selector_parse_forms(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t n;
        enum bh_sel_op op0;
        const char *key0;
        const char *values0; /* joined by '|' */
    } v[] = {
        {"", 0, 0, NULL, NULL},
        {"   ", 0, 0, NULL, NULL},
        {"role=kiosk", 1, BH_SEL_EQ, "role", "kiosk"},
        {"role==kiosk", 1, BH_SEL_EQ, "role", "kiosk"},
        {" role = kiosk ", 1, BH_SEL_EQ, "role", "kiosk"},
        {"role!=kiosk", 1, BH_SEL_NE, "role", "kiosk"},
        {"role=", 1, BH_SEL_EQ, "role", ""},
        {"floor in (1,2)", 1, BH_SEL_IN, "floor", "1|2"},
        {"floor in(1)", 1, BH_SEL_IN, "floor", "1"},
        {"floor notin ( 1 , 2 ,3 )", 1, BH_SEL_NOTIN, "floor", "1|2|3"},
        {"broken", 1, BH_SEL_EXISTS, "broken", ""},
        {"!broken", 1, BH_SEL_ABSENT, "broken", ""},
        {"! broken", 1, BH_SEL_ABSENT, "broken", ""},
        {"example.com/role=a.b_c-d", 1, BH_SEL_EQ, "example.com/role", "a.b_c-d"},
        {"in", 1, BH_SEL_EXISTS, "in", ""},
        {"role=kiosk,arch!=arm64,floor in (1,2),!broken", 4, BH_SEL_EQ, "role", "kiosk"},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        struct bh_selector sel;
        struct bh_err err;
        if (bh_selector_parse(v[i].text, &sel, &err))
            fail_msg("'%s' rejected: %s", v[i].text, err.msg);
        assert_int_equal(sel.n, v[i].n);
        if (!v[i].n)
            continue;
        const struct bh_sel_term *t = &sel.terms[0];
        assert_int_equal(t->op, v[i].op0);
        assert_string_equal(t->key, v[i].key0);
        char joined[256] = "";
        size_t n = 0;
        for (size_t j = 0; j < t->nvalues; j++)
            n += (size_t)snprintf(joined + n, sizeof(joined) - n, "%s%s", j ? "|" : "",
                                  t->values[j]);
        assert_string_equal(joined, v[i].values0);
        assert_null(t->field);
    }
    struct bh_selector sel;
    assert_int_equal(bh_selector_parse("a=1, b!=2 ,c in (3),d notin (4),e,!f", &sel, NULL), 0);
    static const enum bh_sel_op ops[] = {
        BH_SEL_EQ, BH_SEL_NE, BH_SEL_IN, BH_SEL_NOTIN, BH_SEL_EXISTS, BH_SEL_ABSENT,
    };
    assert_int_equal(sel.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(sel.terms[i].op, ops[i]);
        assert_int_equal(sel.terms[i].key[0], 'a' + (char)i);
    }
}

static void test_selector_parse_errors(void **state)
{
    (void)state;
    char many_terms[256] = "", many_values[256] = "k in (",
         long_value[128] = "k=", long_key[400] = "", long_text[BH_SEL_TEXT_MAX + 2];
    for (int i = 0; i < 17; i++)
        snprintf(many_terms + strlen(many_terms), sizeof(many_terms) - strlen(many_terms), "%sk%d",
                 i ? "," : "", i);
    for (int i = 0; i < 9; i++)
        snprintf(many_values + strlen(many_values), sizeof(many_values) - strlen(many_values),
                 "%s%d", i ? "," : "", i);
    snprintf(many_values + strlen(many_values), sizeof(many_values) - strlen(many_values), ")");
    memset(long_value + 2, 'v', 64);
    memset(long_key, 'k', 320);
    memset(long_text, ' ', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    const struct {
        const char *text, *msg;
    } v[] = {
        {"role=kiosk extra", "selector: expected ',' at position 12, found 'e'"},
        {"=x", "selector: expected a key at position 1, found '='"},
        {"a,", "selector: expected a key at end of input"},
        {"a,,b", "selector: expected a key at position 3, found ','"},
        {"!", "selector: expected a key after '!' at end of input"},
        {"a in 1", "selector: expected '(' at position 6, found '1'"},
        {"a in", "selector: expected '(' at end of input"},
        {"a in (1", "selector: expected ',' or ')' at end of input"},
        {"a in (1 2)", "selector: expected ',' or ')' at position 9, found '2'"},
        {"a in ()", "selector: expected a value at position 7, found ')'"},
        {"a in (1,)", "selector: expected a value at position 9, found ')'"},
        {"a ~ b", "selector: expected '=', '!=', 'in', 'notin' or ',' at position 3, found '~'"},
        {"a inx (1)", "selector: expected '=', '!=', 'in', 'notin' or ',' at position 3, found "
                      "'i'"},
        {"a=b=c", "selector: expected ',' at position 4, found '='"},
        {"!a=b", "selector: expected ',' at position 3, found '='"},
        {many_terms, "selector: more than 16 terms"},
        {many_values, "selector: more than 8 values in a set"},
        {long_value, "selector: word at position 3 is longer than 63 characters"},
        {long_key, "selector: word at position 1 is longer than 319 characters"},
        {long_text, "selector: longer than 2048 characters"},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        struct bh_selector sel;
        struct bh_err err;
        bh_err_clear(&err);
        if (bh_selector_parse(v[i].text, &sel, &err) != BH_EINVAL)
            fail_msg("'%.40s' accepted", v[i].text);
        if (strcmp(err.msg, v[i].msg) != 0)
            fail_msg("'%.40s': message '%s', want '%s'", v[i].text, err.msg, v[i].msg);
        assert_string_equal(err.field, "selector");
    }
    /* the limits themselves are fine */
    struct bh_selector sel;
    char *comma = strrchr(many_terms, ',');
    *comma = '\0';
    assert_int_equal(bh_selector_parse(many_terms, &sel, NULL), 0);
    assert_int_equal(sel.n, 16);
    char *last = strrchr(many_values, ',');
    last[0] = ')';
    last[1] = '\0';
    assert_int_equal(bh_selector_parse(many_values, &sel, NULL), 0);
    assert_int_equal(sel.terms[0].nvalues, 8);
    long_value[2 + 63] = '\0';
    assert_int_equal(bh_selector_parse(long_value, &sel, NULL), 0);
    long_text[BH_SEL_TEXT_MAX] = '\0';
    assert_int_equal(bh_selector_parse(long_text, &sel, NULL), 0);
    assert_int_equal(sel.n, 0);
}

static void test_selector_resolve(void **state)
{
    (void)state;
    struct bh_selector sel;
    assert_int_equal(bh_selector_parse("arch=x86_64,role=a,name=pc,mac,state,room!=r1", &sel, NULL),
                     0);
    bh_selector_resolve(&sel, HOST);
    assert_ptr_equal(sel.terms[0].field, bh_kind_field(HOST, "arch"));
    assert_null(sel.terms[1].field); /* a label */
    assert_null(sel.terms[2].field); /* name is no filter field: a label */
    assert_null(sel.terms[3].field);
    assert_ptr_equal(sel.terms[4].field, bh_kind_field(HOST, "state"));
    assert_ptr_equal(sel.terms[5].field, bh_kind_field(HOST, "room"));
    bh_selector_resolve(&sel, ROOM); /* rooms have no arch: back to labels */
    assert_null(sel.terms[0].field);
}

static void test_selector_match(void **state)
{
    (void)state;
    json_t *hosts = J("["
                      "{'arch':'x86_64','state':'up','room':'r1',"
                      " 'labels':{'role':'kiosk','floor':'1','arch':'arm64'}},"
                      "{'arch':'arm64','state':'known','room':null,"
                      " 'labels':{'role':'lab','broken':''}},"
                      "{'arch':'','state':'known','labels':{}},"
                      "{'state':'offline'}"
                      "]");
    static const struct {
        const char *sel;
        const char *want; /* matching indexes */
    } v[] = {
        {"", "0123"},
        {"role=kiosk", "0"},
        {"role==lab", "1"},
        {"role!=kiosk", "123"}, /* != also holds where the label is absent */
        {"role in (kiosk,lab)", "01"},
        {"role notin (kiosk)", "123"},
        {"floor in (1,2)", "0"},
        {"broken", "1"}, /* an empty label value is present */
        {"!broken", "023"},
        {"broken=", "1"},
        {"arch=x86_64", "0"}, /* the field, not the label of the same name */
        {"arch=arm64", "1"},
        {"arch", "01"}, /* an empty field counts as absent */
        {"!arch", "23"},
        {"arch!=arm64", "023"},
        {"state in (up,known)", "012"},
        {"state notin (known)", "03"},
        {"room=r1", "0"},
        {"room!=r1", "123"},
        {"!room", "123"},
        {"role=kiosk,arch=x86_64", "0"},
        {"role=kiosk,arch=arm64", ""},
        {"nolabel", ""},
    };
    for (size_t i = 0; i < N_ELEMS(v); i++) {
        struct bh_selector sel;
        struct bh_err err;
        if (bh_selector_parse(v[i].sel, &sel, &err))
            fail_msg("'%s': %s", v[i].sel, err.msg);
        bh_selector_resolve(&sel, HOST);
        char got[8] = "";
        size_t n = 0;
        for (size_t h = 0; h < json_array_size(hosts); h++)
            if (bh_selector_match(&sel, json_array_get(hosts, h)))
                got[n++] = (char)('0' + h);
        got[n] = '\0';
        if (strcmp(got, v[i].want) != 0)
            fail_msg("'%s' matched [%s], want [%s]", v[i].sel, got, v[i].want);
    }
    /* unresolved, "arch" tests the label */
    struct bh_selector sel;
    assert_int_equal(bh_selector_parse("arch=arm64", &sel, NULL), 0);
    assert_true(bh_selector_match(&sel, json_array_get(hosts, 0)));
    assert_false(bh_selector_match(&sel, json_array_get(hosts, 1)));
    json_decref(hosts);
}

/* ---- issue 9: values that were accepted and should not be ----------------- */

#define SETTINGS (&bh_kinds[BH_KIND_SETTINGS])

static void test_host_mac_is_one_card(void **state)
{
    (void)state;
    static const char *const bad[] = {"ff:ff:ff:ff:ff:ff", "00:00:00:00:00:00",
                                      "FFFFFFFFFFFF",      "01:00:5e:00:00:01",
                                      "33:33:00:00:00:01", "03:00:00:00:00:00"};
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char text[128];
        snprintf(text, sizeof(text), "{'mac': '%s'}", bad[i]);
        invalid(HOST, text, BH_V_CREATE, "invalid-value", "mac");
        invalid(HOST, text, BH_V_REPLACE, "invalid-value", "mac"); /* PATCH: merged, then this */
    }
    /* locally administered unicast (QEMU's 52:54:00, 02:...) is a card's */
    json_t *o = valid(HOST, "{'mac': '52:54:00:00:00:0a'}", BH_V_CREATE);
    json_decref(o);
    o = valid(HOST, "{'mac': '02:00:00:00:00:01'}", BH_V_CREATE);
    json_decref(o);
}

static void test_offline_after_range(void **state)
{
    (void)state;
    static const char *const bad[] = {"-1", "0", "9", "31536001", "9223372036854775807"};
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char text[128];
        snprintf(text, sizeof(text), "{'offline_after': %s}", bad[i]);
        invalid(SETTINGS, text, BH_V_REPLACE, "invalid-value", "offline_after");
    }
    json_t *o = valid(SETTINGS, "{'offline_after': 10}", BH_V_REPLACE);
    json_decref(o);
    o = valid(SETTINGS, "{'offline_after': 31536000}", BH_V_REPLACE);
    json_decref(o);
    const struct bh_field *f = bh_kind_field(SETTINGS, "offline_after");
    assert_int_equal(f->min, BH_OFFLINE_AFTER_MIN);
    assert_int_equal(f->max, BH_OFFLINE_AFTER_MAX);
}

static void test_subnet_is_a_network(void **state)
{
    (void)state;
    struct bh_err err;
    json_t *out;
    assert_int_equal(
        validate(ROOM, "{'name': 'r', 'subnet': '10.0.0.1/24'}", BH_V_CREATE, &out, &err),
        BH_EINVAL);
    assert_string_equal(err.field, "subnet");
    assert_non_null(strstr(err.msg, "10.0.0.0/24")); /* says which network was meant */
    invalid(ROOM, "{'name': 'r', 'subnet': '192.168.1.129/25'}", BH_V_CREATE, NULL, "subnet");
    invalid(ROOM, "{'name': 'r', 'subnet': '10.0.0.0/0'}", BH_V_CREATE, NULL, "subnet");
    static const char *const good[] = {"10.0.0.0/24", "192.168.1.128/25", "0.0.0.0/0",
                                       "10.1.2.3/32", "172.16.0.0/12"};
    for (size_t i = 0; i < N_ELEMS(good); i++) {
        char text[128];
        snprintf(text, sizeof(text), "{'name': 'r', 'subnet': '%s'}", good[i]);
        json_decref(valid(ROOM, text, BH_V_CREATE));
    }
}

static void test_boot_files_stay_in_the_root(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "file:///etc/passwd", "../../etc/shadow", "/etc/passwd", "client/../../x", "a//b",
        "./vmlinuz",          "ftp://h/k",        "c:\\\\k",     "http://",        "http:///x",
        "vmlinuz quiet",
    };
    static const char *const good[] = {
        "vmlinuz",
        "client/vmlinuz",
        "http://192.0.2.1/k",
        "https://h.example/k?x=1",
        "tftp://192.0.2.1/k",
        "linbo64",
        "a..b/c",
    };
    for (size_t i = 0; i < N_ELEMS(bad); i++) {
        char text[256];
        snprintf(text, sizeof(text), "{'name': 'p', 'kernel': '%s'}", bad[i]);
        invalid(PROFILE, text, BH_V_CREATE, NULL, "kernel");
        snprintf(text, sizeof(text), "{'name': 'p', 'kernel': 'k', 'initrds': ['i', '%s']}",
                 bad[i]);
        invalid(PROFILE, text, BH_V_CREATE, NULL, "initrds");
        snprintf(text, sizeof(text),
                 "{'mac': '52:54:00:00:00:01', 'boot': {'files': {'bios': '%s'}}}", bad[i]);
        invalid(HOST, text, BH_V_CREATE, NULL, "boot.files.bios");
        snprintf(text, sizeof(text), "{'name': 'g', 'boot': {'files': {'efi64': '%s'}}}", bad[i]);
        invalid(GROUP, text, BH_V_CREATE, NULL, "boot.files.efi64");
    }
    for (size_t i = 0; i < N_ELEMS(good); i++) {
        char text[256];
        snprintf(text, sizeof(text), "{'name': 'p', 'kernel': '%s', 'initrds': ['%s']}", good[i],
                 good[i]);
        json_decref(valid(PROFILE, text, BH_V_CREATE));
        snprintf(text, sizeof(text), "{'name': 'g', 'boot': {'files': {'http': '%s'}}}", good[i]);
        json_decref(valid(GROUP, text, BH_V_CREATE));
    }
}

/* events and audit records follow the read role of their kind */
static void test_event_read_roles(void **state)
{
    (void)state;
    size_t n = 0;
    for (; bh_event_kinds[n]; n++)
        ;
    assert_int_equal(n, BH_KIND__COUNT + 1);
    for (size_t i = 0; i < BH_KIND__COUNT; i++) {
        bool listed = false;
        for (size_t j = 0; j < n; j++)
            listed = listed || !strcmp(bh_event_kinds[j], bh_kinds[i].name);
        assert_true(listed);
        assert_int_equal(bh_event_read_role(bh_kinds[i].name), bh_kinds[i].read_role);
    }
    assert_int_equal(bh_event_read_role("settings"), BH_ROLE_ADMIN);
    assert_int_equal(bh_event_read_role("token"), BH_ROLE_ADMIN);
    assert_int_equal(bh_event_read_role("host"), BH_ROLE_VIEWER);
    assert_int_equal(bh_event_read_role("job"), BH_ROLE_VIEWER);
    assert_int_equal(bh_event_read_role("something-new"), BH_ROLE_ADMIN); /* fails closed */
    assert_int_equal(bh_event_read_role(NULL), BH_ROLE_ADMIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_lookup),
        cmocka_unit_test(test_minimal_valid_all_modes),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_read_only_fields),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_mac_field),
        cmocka_unit_test(test_enum_field),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_string_checks),
        cmocka_unit_test(test_names_are_referenceable),
        cmocka_unit_test(test_strlist),
        cmocka_unit_test(test_time_field),
        cmocka_unit_test(test_writable),
        cmocka_unit_test(test_merge_patch_rfc7396),
        cmocka_unit_test(test_selector_parse_forms),
        cmocka_unit_test(test_selector_parse_errors),
        cmocka_unit_test(test_selector_resolve),
        cmocka_unit_test(test_selector_match),
        cmocka_unit_test(test_host_mac_is_one_card),
        cmocka_unit_test(test_offline_after_range),
        cmocka_unit_test(test_subnet_is_a_network),
        cmocka_unit_test(test_boot_files_stay_in_the_root),
        cmocka_unit_test(test_event_read_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
