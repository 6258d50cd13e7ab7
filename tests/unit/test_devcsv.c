/*
 * test_devcsv.c - LINBO's devices.csv (src/model/devcsv.c): what real files
 * hold (comments, BOM, CRLF, trailing empty fields, nopxe), every bad field
 * at its line and field, values repeated across lines; the host documents
 * a row makes; and bh_store_put_many, which files them all or nothing
 * (a fresh SQLite store under /tmp per test).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testutil.h"

#include "model/devcsv.h"
#include "model/model.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOST (&bh_kinds[BH_KIND_HOST])
#define ROOM (&bh_kinds[BH_KIND_ROOM])

/* parse text (NUL-terminated), expecting rc */
static void parse(const char *text, int want, struct bh_devcsv *d)
{
    struct bh_err e;
    bh_err_clear(&e);
    int rc = bh_devcsv_parse(text, strlen(text), d, &e);
    if (rc != want)
        fail_msg("parse: want %d, got %d (%s)", want, rc, e.msg);
    if (rc == BH_EINVAL)
        assert_non_null(strstr(e.field, "devices.csv:"));
}

/* "LINE:COL:FIELD" of error i */
static const char *where(const struct bh_devcsv *d, size_t i)
{
    static char out[64];
    assert_true(i < d->nerrors);
    snprintf(out, sizeof(out), "%d:%d:%s", d->errors[i].line, d->errors[i].column,
             d->errors[i].field);
    return out;
}

/* ---- real files -------------------------------------------------------------- */

static void test_real_file(void **state)
{
    (void)state;
    /* what sophomorix writes: a BOM, CRLF, a header comment, 16 fields
     * with the empty ones, a server with nopxe, DHCP in any case */
    const char *text =
        "\xEF\xBB\xBF# devices.csv of the school\r\n"
        "   # indented comment\r\n"
        "\r\n"
        "r101;r101-pc01;win11;00:11:22:33:44:01;10.0.0.11;;;;classroom-studentcomputer;;1;;;;Lehrer"
        " PC;\r\n"
        "r101 ; r101-pc02 ;win11;00-11-22-33-44-02;dhcp;OFFICE-KEY;WIN-KEY;;;;2;;;;;\r\n"
        "server;server;nopxe;001122334403;10.0.0.1;;;;server;;1;;;;;;;;\r\n"
        ";;;;;;;;;;;;;;;\r\n"
        "r102;r102-pc01;linux;00:11:22:33:44:04;10.0.0.21;;;;;;ml\r\n"
        "r102;r102-pc02;;00:11:22:33:44:05;10.0.0.22\n"; /* LF, five fields, no group */
    struct bh_devcsv d;
    parse(text, 0, &d);
    assert_int_equal(d.nrows, 5);
    assert_int_equal(d.comments, 2);
    assert_int_equal(d.nerrors, 0);
    const struct bh_devcsv_row *r = d.rows;
    assert_int_equal(r[0].line, 4);
    assert_string_equal(r[0].room, "r101");
    assert_string_equal(r[0].hostname, "r101-pc01");
    assert_string_equal(r[0].group, "win11");
    assert_string_equal(r[0].mac, "00:11:22:33:44:01");
    assert_string_equal(r[0].ip, "10.0.0.11");
    assert_string_equal(r[0].role, "classroom-studentcomputer");
    assert_string_equal(r[0].comment, "Lehrer PC");
    assert_true(r[0].pxe);
    /* blanks around fields; MAC in any spelling; DHCP: no address */
    assert_string_equal(r[1].room, "r101");
    assert_string_equal(r[1].hostname, "r101-pc02");
    assert_string_equal(r[1].mac, "00:11:22:33:44:02");
    assert_string_equal(r[1].ip, "");
    assert_int_equal(r[1].pxe_flag, 2);
    assert_true(r[1].pxe);
    /* nopxe: no group, no PXE whatever the flag; empty fields past 16 */
    assert_string_equal(r[2].group, "");
    assert_int_equal(r[2].pxe_flag, 1);
    assert_false(r[2].pxe);
    /* "ml" reads as no PXE; five fields are enough */
    assert_int_equal(r[3].line, 8);
    assert_false(r[3].pxe);
    assert_int_equal(r[4].line, 9);
    assert_string_equal(r[4].group, "");
    assert_false(r[4].pxe);
    /* fields bootherd does not keep, counted where set (for migrate's report) */
    assert_int_equal(d.unkept[6], 1); /* officeKey */
    assert_int_equal(d.unkept[7], 1); /* windowsKey */
    assert_int_equal(d.unkept[8], 0);
    assert_int_equal(d.unkept[16], 0);
    bh_devcsv_free(&d);
}

static void test_empty_and_comments_only(void **state)
{
    (void)state;
    struct bh_devcsv d;
    parse("", 0, &d);
    assert_int_equal(d.nrows, 0);
    bh_devcsv_free(&d);
    parse("# only\n\n   \n;;;\n", 0, &d);
    assert_int_equal(d.nrows, 0);
    assert_int_equal(d.comments, 1);
    bh_devcsv_free(&d);
    /* no newline at the end of the last line */
    parse("r1;pc1;g;00:11:22:33:44:01;DHCP", 0, &d);
    assert_int_equal(d.nrows, 1);
    bh_devcsv_free(&d);
}

/* ---- bad lines ------------------------------------------------------------------ */

static void test_every_bad_field_at_its_place(void **state)
{
    (void)state;
    const char *text = "r101;pc_1;win 11;zz:11;10.0.0.300;;;;bad role!;;x;;;;;\n" /* line 1 */
                       "r101;pc2\n"                                               /* 2 */
                       ";pc3;g;00:11:22:33:44:03;DHCP\n"                          /* 3 */
                       "r1;pc4;g;ff:ff:ff:ff:ff:ff;DHCP\n"                        /* 4 */
                       "r1;pc5;g;00:11:22:33:44:05;DHCP;;;;;;;;;;;;extra\n"       /* 5 */
                       "r1;00:11:22:33:44:06;g;00:11:22:33:44:06;DHCP\n";         /* 6 */
    struct bh_devcsv d;
    parse(text, BH_EINVAL, &d);
    assert_int_equal(d.nrows, 0);
    assert_int_equal(d.nerrors, 11);
    assert_string_equal(where(&d, 0), "1:2:hostname");
    assert_string_equal(where(&d, 1), "1:3:group");
    assert_string_equal(where(&d, 2), "1:4:mac");
    assert_string_equal(where(&d, 3), "1:5:ip");
    assert_string_equal(where(&d, 4), "1:9:sophomorixRole");
    assert_string_equal(where(&d, 5), "1:11:pxeFlag");
    assert_non_null(strstr(d.errors[5].msg, "'x' is not a PXE flag"));
    assert_string_equal(where(&d, 6), "2:0:"); /* too few fields: the line */
    assert_non_null(strstr(d.errors[6].msg, "2 fields; a device needs at least 5"));
    assert_string_equal(where(&d, 7), "3:1:room");
    assert_string_equal(d.errors[7].msg, "room is empty");
    assert_string_equal(where(&d, 8), "4:4:mac");
    assert_non_null(strstr(d.errors[8].msg, "broadcast"));
    assert_string_equal(where(&d, 9), "5:17:");
    assert_non_null(strstr(d.errors[9].msg, "field 17 is not empty"));
    assert_string_equal(where(&d, 10), "6:2:hostname"); /* a name that reads as a MAC */
    assert_int_equal(d.errors_total, 11);
    bh_devcsv_free(&d);
}

static void test_first_error_names_line_and_field(void **state)
{
    (void)state;
    struct bh_devcsv d;
    struct bh_err e;
    const char *text = "# x\nr1;pc1;g;00:11:22:33:44:01;DHCP\nr1;pc2;g;nomac;DHCP\n";
    assert_int_equal(bh_devcsv_parse(text, strlen(text), &d, &e), BH_EINVAL);
    assert_string_equal(e.field, "devices.csv:3:4");
    assert_non_null(strstr(e.msg, "line 3: mac: 'nomac' is not a MAC address"));
    assert_int_equal(d.nrows, 1); /* the good line is read */
    bh_devcsv_free(&d);
}

static void test_not_text(void **state)
{
    (void)state;
    struct bh_devcsv d;
    struct bh_err e;
    /* a NUL byte, and a comment that is not UTF-8 in a field */
    static const char nul[] = "r1;pc1;g;00:11:22:33:44:01;DHCP\nr1;p\0c;g;00:11:22:33:44:02;DHCP\n";
    assert_int_equal(bh_devcsv_parse(nul, sizeof(nul) - 1, &d, &e), BH_EINVAL);
    assert_string_equal(where(&d, 0), "2:0:");
    bh_devcsv_free(&d);
    parse("r1;pc1;g;00:11:22:33:44:01;DHCP;;;;;;1;;;;caf\xE9\n", BH_EINVAL, &d);
    assert_string_equal(where(&d, 0), "1:15:sophomorixComment");
    assert_non_null(strstr(d.errors[0].msg, "not UTF-8"));
    bh_devcsv_free(&d);
    /* a line over the limit */
    size_t n = BH_DEVCSV_LINE_MAX + 10;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'a', n);
    big[n] = '\0';
    parse(big, BH_EINVAL, &d);
    assert_string_equal(where(&d, 0), "1:0:");
    bh_devcsv_free(&d);
    free(big);
}

static void test_repeated_values(void **state)
{
    (void)state;
    const char *text = "r1;pc1;g;00:11:22:33:44:01;10.0.0.1\n"
                       "r1;PC1;g;00:11:22:33:44:02;10.0.0.2\n" /* name, other case */
                       "r1;pc3;g;00-11-22-33-44-01;10.0.0.3\n" /* MAC, other spelling */
                       "r1;pc4;g;00:11:22:33:44:04;10.0.0.1\n" /* address */
                       "r1;pc5;g;00:11:22:33:44:05;DHCP\n"     /* DHCP twice is fine */
                       "r1;pc6;g;00:11:22:33:44:06;dhcp\n"
                       "r1;pc7;g;00:11:22:33:44:01;DHCP\n"; /* MAC a third time */
    struct bh_devcsv d;
    parse(text, BH_EINVAL, &d);
    assert_int_equal(d.nerrors, 4);
    assert_string_equal(where(&d, 0), "2:2:hostname");
    assert_string_equal(d.errors[0].msg, "hostname PC1 is on line 1 already");
    assert_string_equal(where(&d, 1), "3:4:mac");
    assert_string_equal(d.errors[1].msg, "mac 00:11:22:33:44:01 is on line 1 already");
    assert_string_equal(where(&d, 2), "4:5:ip");
    assert_string_equal(where(&d, 3), "7:4:mac");
    assert_string_equal(d.errors[3].msg, "mac 00:11:22:33:44:01 is on line 1 already");
    bh_devcsv_free(&d);
}

static void test_limits(void **state)
{
    (void)state;
    /* errors past the kept ones are counted */
    size_t lines = BH_DEVCSV_ERRORS_MAX + 20, cap = lines * 16 + 1, n = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    for (size_t i = 0; i < lines; i++)
        n += (size_t)snprintf(text + n, cap - n, "r1;pc;g;x;y\n");
    struct bh_devcsv d;
    parse(text, BH_EINVAL, &d);
    assert_int_equal(d.nerrors, BH_DEVCSV_ERRORS_MAX);
    assert_true(d.errors_total > BH_DEVCSV_ERRORS_MAX);
    bh_devcsv_free(&d);
    free(text);
    /* more devices than a file may hold */
    lines = BH_DEVCSV_ROWS_MAX + 1;
    cap = lines * 48 + 1;
    n = 0;
    text = malloc(cap);
    assert_non_null(text);
    for (size_t i = 0; i < lines; i++)
        n += (size_t)snprintf(text + n, cap - n, "r1;pc%zu;g;02:00:00:%02zx:%02zx:%02zx;DHCP\n", i,
                              (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    struct bh_err e;
    assert_int_equal(bh_devcsv_parse(text, n, &d, &e), BH_ETOOBIG);
    bh_devcsv_free(&d);
    free(text);
}

/* ---- rows as hosts ---------------------------------------------------------------- */

static struct bh_devcsv_row row_of(const char *line)
{
    struct bh_devcsv d;
    parse(line, 0, &d);
    assert_int_equal(d.nrows, 1);
    struct bh_devcsv_row r = d.rows[0];
    bh_devcsv_free(&d);
    return r;
}

static char *dump(json_t *j)
{
    static char out[1024];
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    assert_non_null(s);
    snprintf(out, sizeof(out), "%s", s);
    free(s);
    json_decref(j);
    for (char *p = out; *p; p++)
        if (*p == '"')
            *p = '\'';
    return out;
}

static void test_host_documents(void **state)
{
    (void)state;
    struct bh_devcsv_row r = row_of("r1;pc1;g;00:11:22:33:44:01;10.0.0.1;;;;student;;1;;;;note");
    assert_string_equal(dump(bh_devcsv_host_new(&r)),
                        "{'description':'note','group':'g','ip':'10.0.0.1','labels':{'linbo/"
                        "role':'student'},'mac':'00:11:22:33:44:01','name':'pc1','room':'r1',"
                        "'state':'known'}");
    struct bh_devcsv_row off = row_of("r1;srv;nopxe;00:11:22:33:44:02;DHCP;;;;;;0");
    assert_string_equal(dump(bh_devcsv_host_new(&off)),
                        "{'boot':{'action':'local'},'mac':'00:11:22:33:44:02','name':'srv','room':"
                        "'r1','state':'known'}");
    /* a stored host: the file's fields win, other labels and boot keys stay */
    json_t *cur = J("{'mac':'00:11:22:33:44:01','name':'old','state':'new','ip':'10.9.9.9',"
                    "'description':'kept','labels':{'floor':'2','linbo/role':'x'},"
                    "'boot':{'action':'local','menu_timeout':5}}");
    assert_string_equal(dump(bh_devcsv_host_merge(&r, cur)),
                        "{'boot':{'menu_timeout':5},'description':'note','group':'g','ip':'10.0.0."
                        "1','labels':{'floor':'2','linbo/role':'student'},'name':'pc1','room':"
                        "'r1','state':'known'}");
    struct bh_devcsv_row bare = row_of("r2;pc1;;00:11:22:33:44:01;DHCP;;;;;;1");
    assert_string_equal(dump(bh_devcsv_host_merge(&bare, cur)),
                        "{'boot':{'menu_timeout':5},'group':null,'ip':null,'labels':{'floor':'2'},"
                        "'name':'pc1','room':'r2','state':'known'}");
    json_decref(cur);
    cur = J("{'mac':'00:11:22:33:44:01','state':'up','labels':{},'boot':null}");
    assert_string_equal(dump(bh_devcsv_host_merge(&off, cur)),
                        "{'boot':{'action':'local'},'group':null,'ip':null,'labels':{},'name':"
                        "'srv','room':'r1'}");
    json_decref(cur);
}

/* ---- filing them: bh_store_put_many ----------------------------------------------- */

static struct bh_store *S;
static char g_dir[64], g_path[128];
static const struct bh_actor actor = {"tester", NULL, "192.0.2.7"};

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/bh-test-devcsv-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_path, sizeof(g_path), "%s/state.db", g_dir);
    struct bh_store_config cfg = {.path = g_path, .readers = 2};
    struct bh_err err;
    if (bh_store_open(&cfg, &S, &err))
        fail_msg("open %s: %s", g_path, err.msg);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    bh_store_close(S);
    for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        char p[160];
        snprintf(p, sizeof(p), "%s%s", g_path, suffix[i]);
        unlink(p);
    }
    rmdir(g_dir);
    return 0;
}

static json_t *merge_fn(void *ud, const json_t *cur, struct bh_err *err)
{
    (void)err;
    return bh_devcsv_host_merge(ud, cur);
}

struct failures {
    char text[1024];
    size_t n;
};

static bool on_fail(void *ud, size_t i, const struct bh_err *e)
{
    struct failures *f = ud;
    size_t len = strlen(f->text);
    snprintf(f->text + len, sizeof(f->text) - len, "%s%zu:%s", f->n++ ? "|" : "", i, e->field);
    return true;
}

/* file text as the import does: a room put, then one put per row */
static int file(const char *text, unsigned flags, struct bh_store_put *puts, struct failures *f)
{
    static struct bh_devcsv d;
    static json_t *docs[8];
    bh_devcsv_free(&d);
    for (size_t i = 0; i < 8; i++) {
        json_decref(docs[i]);
        docs[i] = NULL;
    }
    parse(text, 0, &d);
    assert_true(d.nrows < 8);
    struct bh_err e;
    docs[0] = J("{'name':'r1'}");
    puts[0] = (struct bh_store_put){.kind = ROOM, .key = "r1", .create = docs[0]};
    for (size_t i = 0; i < d.nrows; i++) {
        json_t *raw = bh_devcsv_host_new(&d.rows[i]);
        assert_int_equal(bh_model_validate(HOST, raw, BH_V_CREATE, &docs[i + 1], &e), 0);
        json_decref(raw);
        puts[i + 1] = (struct bh_store_put){.kind = HOST,
                                            .key = d.rows[i].mac,
                                            .create = docs[i + 1],
                                            .fn = merge_fn,
                                            .ud = &d.rows[i],
                                            .flags = BH_UPD_PARTIAL | BH_UPD_SYSTEM};
    }
    memset(f, 0, sizeof(*f));
    return bh_store_put_many(S, puts, d.nrows + 1, flags, &actor, on_fail, f, &e);
}

static int64_t revision(void)
{
    return bh_store_revision(S);
}

static void test_put_many(void **state)
{
    (void)state;
    struct bh_store_put p[8];
    struct failures f;
    const char *two = "r1;pc1;;00:11:22:33:44:01;10.0.0.1\nr1;pc2;;00:11:22:33:44:02;DHCP\n";
    int64_t r0 = revision();
    /* a dry run says what would happen and writes nothing */
    assert_int_equal(file(two, BH_PUT_DRY_RUN, p, &f), 0);
    assert_int_equal(p[0].result, BH_PUT_CREATED);
    assert_int_equal(p[1].result, BH_PUT_CREATED);
    assert_int_equal(p[2].result, BH_PUT_CREATED);
    assert_int_equal(revision(), r0);
    json_t *h = NULL;
    assert_int_equal(bh_store_get(S, HOST, "pc1", &h, NULL), BH_ENOTFOUND);
    /* for real: the room first (the hosts name it), a revision each */
    assert_int_equal(file(two, 0, p, &f), 0);
    assert_int_equal(revision(), r0 + 3);
    assert_int_equal(bh_store_get(S, HOST, "pc1", &h, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(h, "room")), "r1");
    json_decref(h);
    /* again: all unchanged, nothing written */
    assert_int_equal(file(two, 0, p, &f), 0);
    assert_int_equal(p[0].result, BH_PUT_UNCHANGED);
    assert_int_equal(p[1].result, BH_PUT_UNCHANGED);
    assert_int_equal(revision(), r0 + 3);
    /* one renamed, one new: updated and created */
    assert_int_equal(file("r1;pc1b;;00:11:22:33:44:01;10.0.0.1\n"
                          "r1;pc3;;00:11:22:33:44:03;DHCP\n",
                          0, p, &f),
                     0);
    assert_int_equal(p[1].result, BH_PUT_UPDATED);
    assert_int_equal(p[2].result, BH_PUT_CREATED);
    assert_int_equal(revision(), r0 + 5);
    /* all or nothing, and every failure heard of: a name and an address
     * other hosts hold, and a group that does not exist */
    int64_t r1 = revision();
    assert_int_equal(file("r1;pc9;;00:11:22:33:44:09;DHCP\n"
                          "r1;pc2;;00:11:22:33:44:0a;DHCP\n"
                          "r1;pc8;;00:11:22:33:44:08;10.0.0.1\n"
                          "r1;pc7;nogroup;00:11:22:33:44:07;DHCP\n",
                          0, p, &f),
                     BH_ECONFLICT);
    assert_string_equal(f.text, "2:name|3:ip|4:group");
    assert_int_equal(p[1].result, BH_PUT_CREATED); /* would have been */
    assert_int_equal(revision(), r1);
    assert_int_equal(bh_store_get(S, HOST, "pc9", &h, NULL), BH_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_file),
        cmocka_unit_test(test_empty_and_comments_only),
        cmocka_unit_test(test_every_bad_field_at_its_place),
        cmocka_unit_test(test_first_error_names_line_and_field),
        cmocka_unit_test(test_not_text),
        cmocka_unit_test(test_repeated_values),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_host_documents),
        cmocka_unit_test_setup_teardown(test_put_many, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
