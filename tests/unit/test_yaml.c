/*
 * test_yaml.c - unit tests for src/cli/yamlload.c (YAML -> JSON + positions).
 */
#include "cli/yamlload.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char fleet[] = "rooms:\n"
                            "  - name: r101\n"
                            "    description: \"Physics lab\"\n"
                            "groups:\n"
                            "  - name: win10\n"
                            "    start_conf: |\n"
                            "      [LINBO]\n"
                            "      Cache = /dev/sda5\n"
                            "profiles:\n"
                            "  - name: bootherd-client\n"
                            "    kernel: vmlinuz\n"
                            "    initrds: [initrd.img]\n"
                            "    cmdline: \"console=ttyS0 bootherd.server={{server}}\"\n"
                            "hosts:\n"
                            "  - mac: 00:11:22:33:44:55\n"
                            "    name: pc01\n"
                            "    room: r101\n"
                            "    group: win10\n"
                            "    labels: {role: kiosk, floor: \"2\"}\n";

/* Load a NUL-terminated text; on success return its compact JSON (caller
 * frees) and keep the position map in *pos if asked. */
static int load(const char *text, char **json, struct bh_yaml_pos **pos, struct bh_err *err)
{
    json_t *v = NULL;
    int rc = bh_yaml_load(text, strlen(text), "t.yaml", &v, pos, err);
    if (json)
        *json = NULL;
    if (rc == 0 && json)
        *json = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return rc;
}

/* Expect `text` to load to exactly `want` (compact JSON). */
static void expect_json(const char *text, const char *want)
{
    char *got = NULL;
    struct bh_err err = {0};
    int rc = load(text, &got, NULL, &err);
    if (rc)
        fail_msg("load of <%s> failed: %s", text, err.msg);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Expect an error with this code, field "t.yaml:LINE:COL" and a message that
 * starts with the field and contains `needle`. */
static void expect_err_n(const char *text, size_t len, int code, const char *field,
                         const char *needle)
{
    json_t *v = (json_t *)(uintptr_t)1;
    struct bh_yaml_pos *pos = (struct bh_yaml_pos *)(uintptr_t)1;
    struct bh_err err = {0};
    int rc = bh_yaml_load(text, len, "t.yaml", &v, &pos, &err);
    if (rc != code)
        fail_msg("want %d got %d (%s) for <%s>", code, rc, err.msg, text);
    assert_null(v);
    assert_null(pos);
    assert_int_equal(err.code, code);
    assert_string_equal(err.field, field);
    assert_int_equal(strncmp(err.msg, field, strlen(field)), 0);
    assert_int_equal(strncmp(err.msg + strlen(field), ": ", 2), 0);
    if (!strstr(err.msg, needle))
        fail_msg("message <%s> lacks <%s>", err.msg, needle);
}

static void expect_err(const char *text, int code, const char *field, const char *needle)
{
    expect_err_n(text, strlen(text), code, field, needle);
}

static void expect_pos(const struct bh_yaml_pos *pos, const char *path, int line, int col)
{
    int l = -1, c = -1;
    assert_int_equal(bh_yaml_pos_lookup(pos, path, &l, &c), 0);
    if (l != line || c != col)
        fail_msg("%s: want %d:%d got %d:%d", path, line, col, l, c);
}

static void test_fleet_json(void **state)
{
    (void)state;
    expect_json(fleet, "{\"rooms\":[{\"name\":\"r101\",\"description\":\"Physics lab\"}],"
                       "\"groups\":[{\"name\":\"win10\","
                       "\"start_conf\":\"[LINBO]\\nCache = /dev/sda5\\n\"}],"
                       "\"profiles\":[{\"name\":\"bootherd-client\",\"kernel\":\"vmlinuz\","
                       "\"initrds\":[\"initrd.img\"],"
                       "\"cmdline\":\"console=ttyS0 bootherd.server={{server}}\"}],"
                       "\"hosts\":[{\"mac\":\"00:11:22:33:44:55\",\"name\":\"pc01\","
                       "\"room\":\"r101\",\"group\":\"win10\","
                       "\"labels\":{\"role\":\"kiosk\",\"floor\":\"2\"}}]}");
}

static void test_fleet_positions(void **state)
{
    (void)state;
    struct bh_yaml_pos *pos = NULL;
    struct bh_err err = {0};
    assert_int_equal(load(fleet, NULL, &pos, &err), 0);
    assert_non_null(pos);
    expect_pos(pos, "", 1, 1);
    expect_pos(pos, "rooms", 2, 3);
    expect_pos(pos, "rooms[0].description", 3, 18);
    expect_pos(pos, "groups[0].start_conf", 6, 17);
    expect_pos(pos, "profiles[0].initrds[0]", 12, 15);
    expect_pos(pos, "hosts", 15, 3);
    expect_pos(pos, "hosts[0]", 15, 5);
    expect_pos(pos, "hosts[0].mac", 15, 10);
    expect_pos(pos, "hosts[0].room", 17, 11);
    expect_pos(pos, "hosts[0].labels", 19, 13);
    expect_pos(pos, "hosts[0].labels.floor", 19, 34);
    /* the quoted-key form is accepted for any key */
    expect_pos(pos, "[\"hosts\"][0][\"room\"]", 17, 11);
    /* fallback to the closest recorded ancestor */
    expect_pos(pos, "hosts[0].nosuchfield", 15, 5);
    expect_pos(pos, "hosts[3].room", 15, 3);
    expect_pos(pos, "hosts[0].labels.x.y", 19, 13);
    expect_pos(pos, "nosuch", 1, 1);
    expect_pos(pos, "hosts[0].room.deeper", 17, 11);
    expect_pos(pos, "hosts.room", 15, 3); /* key lookup in a sequence */
    /* malformed tails stop at the last good segment */
    expect_pos(pos, "hosts[x", 15, 3);
    expect_pos(pos, "hosts[0]room", 15, 5);
    expect_pos(pos, "hosts[0].", 15, 5);
    expect_pos(pos, "hosts[0][\"room", 15, 5);
    expect_pos(pos, "hosts[99999999999999999999999]", 15, 3);
    /* line/col pointers may be NULL */
    assert_int_equal(bh_yaml_pos_lookup(pos, "hosts", NULL, NULL), 0);
    assert_int_equal(bh_yaml_pos_lookup(NULL, "", NULL, NULL), BH_ENOTFOUND);
    assert_int_equal(bh_yaml_pos_lookup(pos, NULL, NULL, NULL), BH_ENOTFOUND);
    bh_yaml_pos_free(pos);
    bh_yaml_pos_free(NULL);
}

static void test_quoted_key_paths(void **state)
{
    (void)state;
    const char *text = "\"a.b\":\n"
                       "  \"c d\": [1, 2]\n"
                       "  'q\"\\': x\n"
                       "  \"\": empty\n"
                       "  \"r\\u00e9seau\": 5\n"
                       "plain_key-1: y\n";
    struct bh_yaml_pos *pos = NULL;
    struct bh_err err = {0};
    assert_int_equal(load(text, NULL, &pos, &err), 0);
    expect_pos(pos, "[\"a.b\"]", 2, 3);
    expect_pos(pos, "[\"a.b\"][\"c d\"]", 2, 10);
    expect_pos(pos, "[\"a.b\"][\"c d\"][1]", 2, 14);
    expect_pos(pos, "[\"a.b\"][\"q\\\"\\\\\"]", 3, 10);
    expect_pos(pos, "[\"a.b\"][\"\"]", 4, 7);
    expect_pos(pos, "[\"a.b\"][\"r\xc3\xa9seau\"]", 5, 18);
    expect_pos(pos, "plain_key-1", 6, 14);
    expect_pos(pos, "a.b", 1, 1); /* not the same as ["a.b"] */
    bh_yaml_pos_free(pos);
}

static void test_root_sequence_and_scalar(void **state)
{
    (void)state;
    struct bh_yaml_pos *pos = NULL;
    struct bh_err err = {0};
    assert_int_equal(load("- a\n- [b, c]\n", NULL, &pos, &err), 0);
    expect_pos(pos, "[1][1]", 2, 7);
    expect_pos(pos, "[0]", 1, 3);
    bh_yaml_pos_free(pos);
    expect_json("hello", "\"hello\"");
    expect_json("  42\n", "42");
}

static void test_core_schema(void **state)
{
    (void)state;
    expect_json("[null, Null, NULL, ~, \"\", '', nULL]",
                "[null,null,null,null,\"\",\"\",\"nULL\"]");
    expect_json("[true, True, TRUE, false, False, FALSE, tRUE]",
                "[true,true,true,false,false,false,\"tRUE\"]");
    expect_json("[yes, no, on, off, y, n]", "[\"yes\",\"no\",\"on\",\"off\",\"y\",\"n\"]");
    expect_json("[0, +1, -1, 007, 0o17, 0x1F, 0xff, -0]", "[0,1,-1,7,15,31,255,0]");
    expect_json("[9223372036854775807, -9223372036854775808, 0x7fffffffffffffff, "
                "0o777777777777777777777]",
                "[9223372036854775807,-9223372036854775808,9223372036854775807,"
                "9223372036854775807]");
    expect_json("[1.5, .5, 5., -1e3, 1E+2, 2.5e-1]", "[1.5,0.5,5.0,-1000.0,100.0,0.25]");
    expect_json("[1_000, 0b101, 0o, 0x, 0o8, 0xg, -0x1, 1.2.3, 1e, +, ., .e1, 0X1F, 0O7, 1,5]",
                "[\"1_000\",\"0b101\",\"0o\",\"0x\",\"0o8\",\"0xg\",\"-0x1\",\"1.2.3\","
                "\"1e\",\"+\",\".\",\".e1\",\"0X1F\",\"0O7\",1,5]");
    /* quoted and block scalars are always strings */
    expect_json("[\"1\", '2', \"true\", 'null', \"~\"]", "[\"1\",\"2\",\"true\",\"null\",\"~\"]");
    expect_json("a: |\n  123\nb: >-\n  true\n", "{\"a\":\"123\\n\",\"b\":\"true\"}");
    /* MACs, times and versions stay strings */
    expect_json("mac: 00:11:22:33:44:55\nt: 12:30\nv: 1.50\n",
                "{\"mac\":\"00:11:22:33:44:55\",\"t\":\"12:30\",\"v\":1.5}");
    /* escapes; NUL is fine inside a value string */
    expect_json("a: \"x\\ty\\u00e9\\0\"", "{\"a\":\"x\\ty\xc3\xa9\\u0000\"}");
    /* keys are the scalar's text */
    expect_json("1: a\n~: b\ntrue: c\n1.0: d\n",
                "{\"1\":\"a\",\"~\":\"b\",\"true\":\"c\",\"1.0\":\"d\"}");
    /* flow and empty values */
    expect_json("a:\nb: {}\nc: []\nd: {x: }\n",
                "{\"a\":null,\"b\":{},\"c\":[],\"d\":{\"x\":null}}");
}

static void test_tags(void **state)
{
    (void)state;
    expect_json("[!!str 1, !!str true, !!int \"42\", !!int 0x10, !!float 1, !!float \"2.5\", "
                "!!bool \"false\", !!null \"\", !!null ~, ! 12]",
                "[\"1\",\"true\",42,16,1.0,2.5,false,null,null,\"12\"]");
    expect_json("a: !!str\nb: !!null\n", "{\"a\":\"\",\"b\":null}");
    expect_json("!!map {a: !!seq [1]}", "{\"a\":[1]}");
    expect_json("%YAML 1.2\n---\n!!int 7\n...\n", "7");
    expect_err("a: !!binary aGVsbG8=\n", BH_EINVAL, "t.yaml:1:4", "unsupported tag '!!binary'");
    expect_err("a: !custom x\n", BH_EINVAL, "t.yaml:1:4", "unsupported tag '!custom'");
    expect_err("!<tag:example.com,2000:x> 1\n", BH_EINVAL, "t.yaml:1:1",
               "unsupported tag 'tag:example.com,2000:x'");
    expect_err("- !!set {a: 1}\n", BH_EINVAL, "t.yaml:1:3", "unsupported tag '!!set'");
    expect_err("!!map [1]\n", BH_EINVAL, "t.yaml:1:1", "tag !!map cannot be used on a sequence");
    expect_err("a: !!seq x\n", BH_EINVAL, "t.yaml:1:4", "tag !!seq cannot be used on a scalar");
    expect_err("a: !!int abc\n", BH_EINVAL, "t.yaml:1:4", "'abc' is not a valid !!int");
    expect_err("a: !!int \"\"\n", BH_EINVAL, "t.yaml:1:4", "'' is not a valid !!int");
    expect_err("a: !!bool yes\n", BH_EINVAL, "t.yaml:1:4", "'yes' is not a valid !!bool");
    expect_err("a: !!null x\n", BH_EINVAL, "t.yaml:1:4", "'x' is not a valid !!null");
    expect_err("a: !!float 0x10\n", BH_EINVAL, "t.yaml:1:4", "'0x10' is not a valid !!float");
    expect_err("a: !!int \"1\\02\"\n", BH_EINVAL, "t.yaml:1:4", "NUL byte");
    expect_err("!!seq a: 1\n", BH_EINVAL, "t.yaml:1:1", "tag !!seq cannot be used on a key");
}

static void test_numbers_out_of_range(void **state)
{
    (void)state;
    expect_err("n: 9223372036854775808\n", BH_EINVAL, "t.yaml:1:4",
               "integer '9223372036854775808' is out of range");
    expect_err("n: -9223372036854775809\n", BH_EINVAL, "t.yaml:1:4", "out of range");
    expect_err("n: [1, 0x8000000000000000]\n", BH_EINVAL, "t.yaml:1:8", "out of range");
    expect_err("n: 0o1000000000000000000000\n", BH_EINVAL, "t.yaml:1:4", "out of range");
    expect_err("n: !!int \"99999999999999999999\"\n", BH_EINVAL, "t.yaml:1:4", "out of range");
    expect_err("n: .inf\n", BH_EINVAL, "t.yaml:1:4", "'.inf' is not a finite number");
    expect_err("n: -.Inf\n", BH_EINVAL, "t.yaml:1:4", "not a finite number");
    expect_err("n: +.INF\n", BH_EINVAL, "t.yaml:1:4", "not a finite number");
    expect_err("n: .nan\n", BH_EINVAL, "t.yaml:1:4", "'.nan' is not a finite number");
    expect_err("n: !!float .NaN\n", BH_EINVAL, "t.yaml:1:4", "not a finite number");
    expect_err("n: 1e999\n", BH_EINVAL, "t.yaml:1:4", "'1e999' is out of range");
    /* quoted: just strings; big via !!float: fine */
    expect_json("[\".inf\", \"9223372036854775808\", -.nan, .infinity]",
                "[\".inf\",\"9223372036854775808\",\"-.nan\",\".infinity\"]");
    expect_json("!!float 99999999999999999999", "1e20");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    expect_err("a:\n  b: 1\n c: 2\n", BH_EINVAL, "t.yaml:3:2",
               "did not find expected key (while parsing a block mapping at line 1, column 1)");
    expect_err("a: [1, 2\n", BH_EINVAL, "t.yaml:2:1", "did not find expected ',' or ']'");
    expect_err("a: b: c\n", BH_EINVAL, "t.yaml:1:5", "mapping values are not allowed");
    expect_err("a:\n\tb: 1\n", BH_EINVAL, "t.yaml:2:1", "found character that cannot start");
    expect_err("a: \"open\n", BH_EINVAL, "t.yaml:2:1", "found unexpected end of stream");
    expect_err("- a\nb: c\n", BH_EINVAL, "t.yaml:2:1", "did not find expected '-' indicator");
}

static void test_keys(void **state)
{
    (void)state;
    expect_err("name: a\nother: 1\nname: b\n", BH_EINVAL, "t.yaml:3:1", "duplicate key 'name'");
    expect_err("h:\n  - {x: 1, \"x\": 2}\n", BH_EINVAL, "t.yaml:2:12", "duplicate key 'x'");
    expect_err("1: a\n\"1\": b\n", BH_EINVAL, "t.yaml:2:1", "duplicate key '1'");
    expect_err("? [a, b]\n: 1\n", BH_EINVAL, "t.yaml:1:3",
               "mapping key must be a scalar, not a sequence");
    expect_err("{{a: 1}: 2}\n", BH_EINVAL, "t.yaml:1:2",
               "mapping key must be a scalar, not a mapping");
    expect_err("x: &a k\n*a : 3\n", BH_EINVAL, "t.yaml:2:1", "alias '*a' used as a mapping key");
    expect_err("\"a\\0b\": 1\n", BH_EINVAL, "t.yaml:1:1", "mapping key contains a NUL byte");
    /* long keys are shortened in messages */
    char text[500];
    snprintf(text, sizeof(text), "%0200d: 1\n%0200d: 2\n", 0, 0);
    expect_err(text, BH_EINVAL, "t.yaml:2:1", "duplicate key '000000000000");
    /* the same key in different mappings is fine */
    expect_json("a: {n: 1}\nb: {n: 2}\n", "{\"a\":{\"n\":1},\"b\":{\"n\":2}}");
}

static void test_documents(void **state)
{
    (void)state;
    expect_err("a: 1\n---\nb: 2\n", BH_EINVAL, "t.yaml:2:1", "a second document");
    expect_err("a: 1\n...\n---\n", BH_EINVAL, "t.yaml:3:1", "only one is allowed");
    expect_err("--- 1\n--- 2\n", BH_EINVAL, "t.yaml:2:1", "a second document");
    expect_json("a: 1\n...\n# trailing comment\n", "{\"a\":1}");
    expect_json("--- {a: 1}\n", "{\"a\":1}");

    /* empty input and comment-only input are null, with no positions */
    const char *empties[] = {"", "# nothing\n", "\n\n"};
    for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
        struct bh_yaml_pos *pos = NULL;
        char *got = NULL;
        struct bh_err err = {0};
        assert_int_equal(load(empties[i], &got, &pos, &err), 0);
        assert_string_equal(got, "null");
        assert_non_null(pos);
        assert_int_equal(bh_yaml_pos_lookup(pos, "", NULL, NULL), BH_ENOTFOUND);
        free(got);
        bh_yaml_pos_free(pos);
    }
    /* an explicit empty document is a null node with a position */
    struct bh_yaml_pos *pos = NULL;
    char *got = NULL;
    assert_int_equal(load("---\n", &got, &pos, NULL), 0);
    assert_string_equal(got, "null");
    assert_int_equal(bh_yaml_pos_lookup(pos, "x", NULL, NULL), 0);
    free(got);
    bh_yaml_pos_free(pos);
    /* NULL text with zero length is the empty document */
    json_t *v = NULL;
    assert_int_equal(bh_yaml_load(NULL, 0, NULL, &v, NULL, NULL), 0);
    assert_true(json_is_null(v));
    json_decref(v);
}

static void test_anchors(void **state)
{
    (void)state;
    expect_json("base: &b {os: win10, disk: [sda, sdb]}\n"
                "one: *b\n"
                "two: &s scalar\n"
                "three: [*s, *b]\n",
                "{\"base\":{\"os\":\"win10\",\"disk\":[\"sda\",\"sdb\"]},"
                "\"one\":{\"os\":\"win10\",\"disk\":[\"sda\",\"sdb\"]},"
                "\"two\":\"scalar\","
                "\"three\":[\"scalar\",{\"os\":\"win10\",\"disk\":[\"sda\",\"sdb\"]}]}");
    /* an anchor may be redefined; an alias uses the latest */
    expect_json("[&a 1, *a, &a 2, *a]", "[1,1,2,2]");
    /* anchors on keys keep the key's resolved value */
    expect_json("&k 5: x\ny: *k\n", "{\"5\":\"x\",\"y\":5}");
    /* merge keys are not part of YAML 1.2: "<<" is an ordinary key */
    expect_json("b: &b {x: 1}\nc: {<<: *b}\n", "{\"b\":{\"x\":1},\"c\":{\"<<\":{\"x\":1}}}");

    /* copies are independent and positions inside an alias fall back to it */
    json_t *v = NULL;
    struct bh_yaml_pos *pos = NULL;
    const char *text = "a: &x {k: [1]}\nb: *x\n";
    assert_int_equal(bh_yaml_load(text, strlen(text), "t.yaml", &v, &pos, NULL), 0);
    json_array_append_new(json_object_get(json_object_get(v, "b"), "k"), json_integer(2));
    assert_int_equal(json_array_size(json_object_get(json_object_get(v, "a"), "k")), 1);
    expect_pos(pos, "a.k[0]", 1, 12);
    expect_pos(pos, "b", 2, 4);
    expect_pos(pos, "b.k[0]", 2, 4);
    json_decref(v);
    bh_yaml_pos_free(pos);

    expect_err("a: *nope\n", BH_EINVAL, "t.yaml:1:4", "unknown alias '*nope'");
    expect_err("a: [*x, &x 1]\n", BH_EINVAL, "t.yaml:1:5", "unknown alias '*x'");
    expect_err("a: &x [1, *x]\n", BH_EINVAL, "t.yaml:1:11", "refers to a node that contains it");
}

static void test_alias_bomb(void **state)
{
    (void)state;
    /* each level multiplies by 10: f would be 10^6 nodes */
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    expect_err(bomb, BH_ETOOBIG, "t.yaml:6:8", "more than 200000 nodes");

    /* few nodes but huge strings: the byte cap stops it */
    size_t big = 1024 * 1024;
    char *text = malloc(big + 4096);
    assert_non_null(text);
    memcpy(text, "s: &s ", 6);
    memset(text + 6, 'x', big);
    size_t n = 6 + big;
    n += (size_t)snprintf(text + n, 32, "\nl: &l [");
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(text + n, 8, "*s, ");
    n += (size_t)snprintf(text + n, 64, "1]\nm: [*l, *l, *l, *l]\n");
    expect_err_n(text, n, BH_ETOOBIG, "t.yaml:3:13", "expands to more than");
    free(text);
}

static void test_depth(void **state)
{
    (void)state;
    char text[2 * BH_YAML_MAX_DEPTH + 8];
    /* exactly BH_YAML_MAX_DEPTH levels load */
    memset(text, '[', BH_YAML_MAX_DEPTH);
    memset(text + BH_YAML_MAX_DEPTH, ']', BH_YAML_MAX_DEPTH);
    text[2 * BH_YAML_MAX_DEPTH] = '\0';
    char *got = NULL;
    assert_int_equal(load(text, &got, NULL, NULL), 0);
    free(got);
    /* one more does not */
    memset(text, '[', BH_YAML_MAX_DEPTH + 1);
    memset(text + BH_YAML_MAX_DEPTH + 1, ']', BH_YAML_MAX_DEPTH + 1);
    text[2 * BH_YAML_MAX_DEPTH + 2] = '\0';
    expect_err(text, BH_ETOOBIG, "t.yaml:1:65", "nesting deeper than 64 levels");
    /* nor does an alias that would nest too deep */
    char t2[256];
    memset(t2, 0, sizeof(t2));
    memcpy(t2, "a: &a ", 6);
    memset(t2 + 6, '[', 40);
    memset(t2 + 46, ']', 40);
    memcpy(t2 + 86, "\nb: ", 4);
    memset(t2 + 90, '[', 30);
    memcpy(t2 + 120, "*a", 2);
    memset(t2 + 122, ']', 30);
    expect_err(t2, BH_ETOOBIG, "t.yaml:2:34", "alias '*a' nests deeper than 64 levels");
}

static void test_bad_bytes_and_size(void **state)
{
    (void)state;
    static const char nul[] = "a: b\0c\n";
    expect_err_n(nul, sizeof(nul) - 1, BH_EINVAL, "t.yaml:1:5",
                 "control characters are not allowed");
    expect_err("a: ok\nb: \xff\n", BH_EINVAL, "t.yaml:2:4", "invalid leading UTF-8 octet");
    expect_err("a: \xc3\n", BH_EINVAL, "t.yaml:1:5", "invalid trailing UTF-8 octet");
    expect_err("a: \xc3", BH_EINVAL, "t.yaml:1:4", "incomplete UTF-8 octet sequence");
    expect_err("a: \xed\xa0\x80\n", BH_EINVAL, "t.yaml:1:4", "invalid Unicode character");
    expect_err("a: \"\\ud800\"\n", BH_EINVAL, "t.yaml:1:7", "invalid Unicode character escape");

    size_t n = (size_t)BH_YAML_MAX_BYTES + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    expect_err_n(big, n, BH_ETOOBIG, "t.yaml:1:1", "over the limit of 16777216");
    free(big);
}

static void test_bad_args_and_null_err(void **state)
{
    (void)state;
    struct bh_err err = {0};
    assert_int_equal(bh_yaml_load("x", 1, "t.yaml", NULL, NULL, &err), BH_EINVAL);
    assert_int_equal(bh_yaml_load(NULL, 3, "t.yaml", NULL, NULL, NULL), BH_EINVAL);
    /* err may be NULL on every path */
    json_t *v = NULL;
    assert_int_equal(bh_yaml_load("a: [", 4, "t.yaml", &v, NULL, NULL), BH_EINVAL);
    assert_int_equal(bh_yaml_load("a: 1\na: 2", 9, "t.yaml", &v, NULL, NULL), BH_EINVAL);
    assert_null(v);
    /* a missing file name is reported as <input> */
    assert_int_equal(bh_yaml_load("a: *x", 5, NULL, &v, NULL, &err), BH_EINVAL);
    assert_string_equal(err.field, "<input>:1:4");
}

static void test_many_nodes(void **state)
{
    (void)state;
    enum { HOSTS = 5000 };
    size_t cap = (size_t)HOSTS * 80 + 16, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    n += (size_t)snprintf(text + n, cap - n, "hosts:\n");
    for (int i = 0; i < HOSTS; i++)
        n += (size_t)snprintf(text + n, cap - n, "  - name: pc%05d\n    room: r%d\n", i, i % 7);
    json_t *v = NULL;
    struct bh_yaml_pos *pos = NULL;
    assert_int_equal(bh_yaml_load(text, n, "big.yaml", &v, &pos, NULL), 0);
    assert_int_equal(json_array_size(json_object_get(v, "hosts")), HOSTS);
    for (int i = 0; i < HOSTS; i += 499) {
        char path[64];
        snprintf(path, sizeof(path), "hosts[%d].room", i);
        expect_pos(pos, path, 3 + 2 * i, 11);
        snprintf(path, sizeof(path), "hosts[%d].name", i);
        expect_pos(pos, path, 2 + 2 * i, 11);
    }
    expect_pos(pos, "hosts[4999].nosuch", 2 + 2 * 4999, 5);
    json_decref(v);
    bh_yaml_pos_free(pos);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_json),
        cmocka_unit_test(test_fleet_positions),
        cmocka_unit_test(test_quoted_key_paths),
        cmocka_unit_test(test_root_sequence_and_scalar),
        cmocka_unit_test(test_core_schema),
        cmocka_unit_test(test_tags),
        cmocka_unit_test(test_numbers_out_of_range),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_bad_bytes_and_size),
        cmocka_unit_test(test_bad_args_and_null_err),
        cmocka_unit_test(test_many_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
