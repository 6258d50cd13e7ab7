/*
 * test_startconf_text.c - start.conf fidelity (issue 11, 2): opsi product
 * lists, empty keys kept, the same Dev twice, the admin's text kept and
 * edited (comments, CRLF), cross-check warnings and keys not acted on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/ini.h"
#include "model/startconf.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef BH_SRCDIR
#define BH_SRCDIR "."
#endif

static json_t *parse_ok(const char *text, json_t **warnings)
{
    json_t *conf = NULL;
    struct bh_err err = {0};
    if (bh_startconf_parse(text, strlen(text), &conf, warnings, &err))
        fail_msg("unexpected parse error: %s", err.msg);
    return conf;
}

static void parse_fails(const char *text, const char *field, const char *msg)
{
    json_t *conf = NULL;
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_parse(text, strlen(text), &conf, NULL, &err), BH_EINVAL);
    assert_null(conf);
    assert_string_equal(err.field, field);
    assert_string_equal(err.msg, msg);
}

static json_t *os0(json_t *conf)
{
    return json_array_get(json_object_get(conf, "os"), 0);
}

/* ---- ForceOpsiSetup, empty keys, the same Dev twice ---------------------- */

static void test_force_opsi_setup(void **state)
{
    (void)state;
    json_t *c = parse_ok("[OS]\nName = Windows 10\nForceOpsiSetup = win10-opsi\n", NULL);
    assert_string_equal(json_string_value(json_object_get(os0(c), "force_opsi_setup")),
                        "win10-opsi");
    json_decref(c);
    c = parse_ok("[OS]\nName = w\nForceOpsiSetup = Firefox,7zip,office_2019.x64\n", NULL);
    assert_string_equal(json_string_value(json_object_get(os0(c), "force_opsi_setup")),
                        "firefox,7zip,office_2019.x64");
    char *t = bh_startconf_render(c, NULL);
    assert_non_null(strstr(t, "ForceOpsiSetup = firefox,7zip,office_2019.x64\n"));
    free(t);
    json_decref(c);
    static const char expect[] =
        "expected opsi product ids separated by commas, without blanks (letters, digits, '-', "
        "'_' and '.'), such as win10-opsi or firefox,7zip";
    char msg[512];
    snprintf(msg, sizeof(msg), "start.conf:3: [OS] ForceOpsiSetup: %s, got 'firefox, 7zip'",
             expect);
    parse_fails("[OS]\nName = w\nForceOpsiSetup = firefox, 7zip\n", "start.conf:3", msg);
    snprintf(msg, sizeof(msg), "start.conf:3: [OS] ForceOpsiSetup: %s, got 'a,,b'", expect);
    parse_fails("[OS]\nName = w\nForceOpsiSetup = a,,b\n", "start.conf:3", msg);
    snprintf(msg, sizeof(msg), "start.conf:3: [OS] ForceOpsiSetup: %s, got 'yes!'", expect);
    parse_fails("[OS]\nName = w\nForceOpsiSetup = yes!\n", "start.conf:3", msg);
    /* through the API: the stored (lower-case) form */
    json_t *j = json_pack("{s:[{s:s, s:s}]}", "os", "name", "w", "force_opsi_setup", "Firefox");
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_validate(j, &err), BH_EINVAL);
    assert_string_equal(err.msg, "config.os[0].force_opsi_setup: expected lower case 'firefox'");
    json_decref(j);
}

static void test_empty_keys_kept(void **state)
{
    (void)state;
    const char *text = "[LINBO]\nAutoFormat =\nRootTimeout =\nDownloadType =\n"
                       "[Partition]\nDev = /dev/sda1\nId =\nBootable =\nFSType =\n"
                       "[OS]\nName = w\nBoot =\nAutostartTimeout =\nForceOpsiSetup =\n";
    json_t *w = NULL, *c = parse_ok(text, &w);
    assert_int_equal(json_array_size(w), 0); /* nothing dropped, nothing to warn about */
    const json_t *l = json_object_get(c, "linbo");
    const json_t *p = json_array_get(json_object_get(c, "partitions"), 0);
    assert_string_equal(json_string_value(json_object_get(l, "auto_format")), "");
    assert_string_equal(json_string_value(json_object_get(l, "root_timeout")), "");
    assert_string_equal(json_string_value(json_object_get(l, "download_type")), "");
    assert_string_equal(json_string_value(json_object_get(p, "id")), "");
    assert_string_equal(json_string_value(json_object_get(p, "bootable")), "");
    assert_string_equal(json_string_value(json_object_get(os0(c), "boot")), "");
    assert_string_equal(json_string_value(json_object_get(os0(c), "autostart_timeout")), "");
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_validate(c, &err), 0);
    char *t = bh_startconf_render(c, &err);
    assert_string_equal(t, "[LINBO]\nRootTimeout =\nAutoFormat =\nDownloadType =\n\n"
                           "[Partition]\nDev = /dev/sda1\nId =\nFSType =\nBootable =\n\n"
                           "[OS]\nName = w\nBoot =\nAutostartTimeout =\nForceOpsiSetup =\n");
    free(t);
    json_decref(c);
    json_decref(w);
    /* required keys still may not be empty */
    parse_fails("[OS]\nName =\n", "start.conf:2", "start.conf:2: [OS] Name: must not be empty");
}

static void test_dev_twice(void **state)
{
    (void)state;
    parse_fails("[Partition]\nDev = /dev/sda1\n\n[Partition]\nDev = /dev/sda2\n[Partition]\n"
                "Dev = /dev/sda1\n",
                "start.conf:7",
                "start.conf:7: [Partition] Dev: /dev/sda1 is already the Dev of partition 1 "
                "(line 2)");
    json_t *j = json_pack("{s:[{s:s},{s:s},{s:s}]}", "partitions", "dev", "/dev/sda1", "dev",
                          "/dev/sda2", "dev", "/dev/sda2");
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_validate(j, &err), BH_EINVAL);
    assert_string_equal(err.field, "config.partitions[2].dev");
    assert_string_equal(err.msg,
                        "config.partitions[2].dev: /dev/sda2 is already the dev of partitions[1]");
    json_decref(j);
}

/* ---- the kept text --------------------------------------------------------- */

static char *render_kept(json_t *conf, const char *text, size_t len)
{
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_keep_text(conf, text, len, NULL), 0);
    char *t = bh_startconf_render(conf, &err);
    if (!t)
        fail_msg("render: %s", err.msg);
    return t;
}

/* Lines of a and b: same count, exactly one differs, and it holds want. */
static void one_line_changed(const char *a, const char *b, const char *want)
{
    int diffs = 0;
    while (*a || *b) {
        size_t na = strcspn(a, "\n"), nb = strcspn(b, "\n");
        if (na != nb || memcmp(a, b, na)) {
            diffs++;
            char line[4200];
            snprintf(line, sizeof(line), "%.*s", (int)nb, b);
            if (!strstr(line, want))
                fail_msg("changed line '%s' lacks '%s'", line, want);
        }
        if (!a[na] || !b[nb]) {
            assert_true(!a[na] && !b[nb]);
            break;
        }
        a += na + 1;
        b += nb + 1;
    }
    assert_int_equal(diffs, 1);
}

static int roundtrip_file(const char *path)
{
    char *text = NULL;
    size_t len;
    struct bh_err err = {0};
    if (bh_read_file(path, BH_STARTCONF_MAX, &text, &len, &err))
        fail_msg("%s", err.msg);
    json_t *conf = NULL;
    if (bh_startconf_parse(text, len, &conf, NULL, &err))
        fail_msg("%s: %s", path, err.msg);
    /* nothing changed: byte for byte */
    char *same = render_kept(conf, text, len);
    if (strlen(same) != len || memcmp(same, text, len))
        fail_msg("%s: not byte-identical through parse + render", path);
    /* one value changed: one line */
    json_t *os = os0(conf), *part = json_array_get(json_object_get(conf, "partitions"), 0);
    const char *want;
    if (os) {
        json_object_set_new(os, "name", json_string("Changed Name"));
        want = "Changed Name";
    } else if (part) {
        json_object_set_new(part, "dev", json_string("/dev/zzz9"));
        want = "/dev/zzz9";
    } else {
        json_object_set_new(json_object_get(conf, "linbo"), "group", json_string("changed"));
        want = "changed";
    }
    char *edited = bh_startconf_render(conf, &err);
    assert_non_null(edited);
    one_line_changed(same, edited, want);
    free(edited);
    free(same);
    free(text);
    json_decref(conf);
    return 1;
}

static bool is_startconf(const char *name)
{
    size_t n = strlen(name);
    return strncmp(name, "start.conf", 10) == 0 || (n > 5 && !strcmp(name + n - 5, ".conf"));
}

static int walk(const char *dir)
{
    int count = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        char path[1024];
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (stat(path, &st))
            continue;
        if (S_ISDIR(st.st_mode))
            count += walk(path);
        else if (is_startconf(de->d_name) && !strstr(de->d_name, "bad"))
            count += roundtrip_file(path);
    }
    closedir(d);
    return count;
}

/* Every start.conf under tests/data: byte-identical back, one line per edit. */
static void test_roundtrip_all_data(void **state)
{
    (void)state;
    int n = walk(BH_SRCDIR "/tests/data");
    print_message("%d start.conf files round-tripped\n", n);
    assert_true(n >= 5);
}

static const char commented[] = "# lab 1, edited by hand\n"
                                "[LINBO]   # global\n"
                                "Server = 10.0.0.1\n"
                                "Cache = /dev/sda3      # the cache\n"
                                "#Cache = /dev/sdb1     # the old disk\n"
                                "AutoFormat = no\n"
                                "\n"
                                "[Partition]\n"
                                "  Dev = /dev/sda1\n"
                                "  Size = 50G\n"
                                "  FSType = ntfs\n"
                                "\n"
                                "[Partition]\n"
                                "  Dev = /dev/sda2\n"
                                "  Size = 20G\n"
                                "\n"
                                "[Partition]\n"
                                "  Dev = /dev/sda3\n"
                                "\n"
                                "[OS]\n"
                                "Name = Windows 10\n"
                                "BaseImage = win10.qcow2   # 22H2\n"
                                "Root = /dev/sda1\n"
                                "Description = the lab image\n"
                                "\n"
                                "[OS]\n"
                                "Name = Ubuntu\n"
                                "Root = /dev/sda2\n";

static json_t *conf_of(const char *text)
{
    json_t *c = parse_ok(text, NULL);
    assert_int_equal(bh_startconf_keep_text(c, text, strlen(text), NULL), 0);
    return c;
}

static void expect_render(json_t *c, const char *want)
{
    struct bh_err err = {0};
    char *t = bh_startconf_render(c, &err);
    assert_non_null(t);
    assert_string_equal(t, want);
    free(t);
}

static void test_edit_in_place(void **state)
{
    (void)state;
    json_t *c = conf_of(commented);
    json_t *l = json_object_get(c, "linbo"), *o = os0(c);
    /* changed values keep the comment; a removed key goes; a new key follows
     * the last key, indented like it; an emptied value keeps its comment */
    json_object_set_new(l, "cache", json_string("/dev/sda2"));
    json_object_del(l, "auto_format");
    json_object_set_new(l, "download_type", json_string("rsync"));
    json_object_set_new(o, "base_image", json_string(""));
    json_object_set_new(o, "description", json_string("a #hash"));
    json_object_set_new(json_array_get(json_object_get(c, "partitions"), 0), "bootable",
                        json_true());
    expect_render(c, "# lab 1, edited by hand\n"
                     "[LINBO]   # global\n"
                     "Server = 10.0.0.1\n"
                     "Cache = /dev/sda2      # the cache\n"
                     "#Cache = /dev/sdb1     # the old disk\n"
                     "DownloadType = rsync\n"
                     "\n"
                     "[Partition]\n"
                     "  Dev = /dev/sda1\n"
                     "  Size = 50G\n"
                     "  FSType = ntfs\n"
                     "  Bootable = yes\n"
                     "\n"
                     "[Partition]\n"
                     "  Dev = /dev/sda2\n"
                     "  Size = 20G\n"
                     "\n"
                     "[Partition]\n"
                     "  Dev = /dev/sda3\n"
                     "\n"
                     "[OS]\n"
                     "Name = Windows 10\n"
                     "BaseImage = # 22H2\n"
                     "Root = /dev/sda1\n"
                     "Description = \"a #hash\"\n"
                     "\n"
                     "[OS]\n"
                     "Name = Ubuntu\n"
                     "Root = /dev/sda2\n");
    json_decref(c);
}

static void test_edit_sections(void **state)
{
    (void)state;
    json_t *c = conf_of(commented);
    /* one partition less, one OS more, no [LINBO] */
    json_array_remove(json_object_get(c, "partitions"), 2);
    json_array_append_new(json_object_get(c, "os"), json_pack("{s:s}", "name", "Third"));
    json_object_del(c, "linbo");
    expect_render(c, "# lab 1, edited by hand\n"
                     "[Partition]\n"
                     "  Dev = /dev/sda1\n"
                     "  Size = 50G\n"
                     "  FSType = ntfs\n"
                     "\n"
                     "[Partition]\n"
                     "  Dev = /dev/sda2\n"
                     "  Size = 20G\n"
                     "\n"
                     "[OS]\n"
                     "Name = Windows 10\n"
                     "BaseImage = win10.qcow2   # 22H2\n"
                     "Root = /dev/sda1\n"
                     "Description = the lab image\n"
                     "\n"
                     "[OS]\n"
                     "Name = Ubuntu\n"
                     "Root = /dev/sda2\n"
                     "\n"
                     "[OS]\n"
                     "Name = Third\n");
    json_decref(c);
    /* a new partition goes after the last one, a new [LINBO] first */
    c = conf_of("# top\n[Partition]\nDev = /dev/sda1\n\n[OS]\nName = a\n");
    json_array_append_new(json_object_get(c, "partitions"), json_pack("{s:s}", "dev", "/dev/sda2"));
    json_object_set_new(c, "linbo", json_pack("{s:s}", "group", "g"));
    expect_render(c, "# top\n[LINBO]\nGroup = g\n\n[Partition]\nDev = /dev/sda1\n\n"
                     "[Partition]\nDev = /dev/sda2\n\n[OS]\nName = a\n");
    json_decref(c);
}

/* Unknown keys: changed, added to a section that had none, removed. */
static void test_edit_extra_keys(void **state)
{
    (void)state;
    json_t *c = conf_of("[LINBO]\nServer = 10.0.0.1\nWallpaper = a.png  # mine\n\n"
                        "[OS]\nName = a\n");
    json_object_set_new(json_object_get(json_object_get(c, "linbo"), "extra"), "Wallpaper",
                        json_string("b.png"));
    json_object_set_new(os0(c), "extra", json_pack("{s:s}", "IconSize", "64"));
    expect_render(c, "[LINBO]\nServer = 10.0.0.1\nWallpaper = b.png  # mine\n\n"
                     "[OS]\nName = a\nIconSize = 64\n");
    json_object_del(json_object_get(c, "linbo"), "extra");
    expect_render(c, "[LINBO]\nServer = 10.0.0.1\n\n[OS]\nName = a\nIconSize = 64\n");
    json_decref(c);
}

static void test_edit_crlf(void **state)
{
    (void)state;
    const char *text = "[LINBO]\r\nServer = 10.0.0.1 # ip\r\n\r\n[OS]\r\nName = a\r\n";
    json_t *c = conf_of(text);
    char *same = bh_startconf_render(c, NULL);
    assert_string_equal(same, text);
    free(same);
    json_object_set_new(json_object_get(c, "linbo"), "server", json_string("10.0.0.2"));
    json_object_set_new(os0(c), "autostart", json_true());
    expect_render(c, "[LINBO]\r\nServer = 10.0.0.2 # ip\r\n\r\n[OS]\r\nName = a\r\n"
                     "Autostart = yes\r\n");
    json_decref(c);
    /* no line end on the last line: added lines still start on a line of their own */
    c = conf_of("[OS]\nName = a");
    json_object_set_new(os0(c), "root", json_string("/dev/sda1"));
    expect_render(c, "[OS]\nName = a\nRoot = /dev/sda1\n");
    json_decref(c);
}

/* A text that does not parse, or an edit the text can not hold: canonical. */
static void test_edit_falls_back(void **state)
{
    (void)state;
    json_t *c = parse_ok("[OS]\nName = a\n", NULL);
    json_object_set_new(c, "text", json_string("[Nonsense]\n"));
    expect_render(c, "[OS]\nName = a\n");
    json_decref(c);
}

static void test_keep_text_not_utf8(void **state)
{
    (void)state;
    const char *text = "[OS]\nName = a\n# caf\xe9\n";
    json_t *c = parse_ok(text, NULL), *w = json_array();
    assert_int_equal(bh_startconf_keep_text(c, text, strlen(text), w), 0);
    assert_null(json_object_get(c, "text"));
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "line 3: not valid UTF-8 (in a comment): the comments are not kept, "
                        "start.conf is written back without them");
    json_decref(c);
    json_decref(w);
}

static void test_normalize(void **state)
{
    (void)state;
    json_t *c = conf_of(commented);
    json_object_set_new(os0(c), "root", json_string("/dev/sda2"));
    struct bh_err err = {0};
    json_t *n = bh_startconf_normalize(c, &err);
    assert_non_null(n);
    const char *t = json_string_value(json_object_get(n, "text"));
    one_line_changed(commented, t, "Root = /dev/sda2");
    json_decref(n);
    json_decref(c);
    /* without text: as given */
    c = parse_ok("[OS]\nName = a\n", NULL);
    n = bh_startconf_normalize(c, &err);
    assert_true(json_equal(c, n));
    json_decref(n);
    json_decref(c);
    /* text must be a string */
    c = json_pack("{s:i}", "text", 1);
    assert_int_equal(bh_startconf_validate(c, &err), BH_EINVAL);
    assert_string_equal(err.msg, "config.text: expected the text of a start.conf (a string)");
    json_decref(c);
}

/* ---- notes: cross-checks and keys not acted on --------------------------- */

static bool only_win10(void *ud, const char *name)
{
    (void)ud;
    return strcmp(name, "win10") == 0;
}

static void test_notes(void **state)
{
    (void)state;
    json_t *c = parse_ok("[LINBO]\nCache = /dev/sda9\nAutoPartition = yes\nAutoFormat = no\n"
                         "AutoInitCache = yes\nDownloadType = torrent\nKernelOptions =\n"
                         "[Partition]\nDev = /dev/sda1\n[Partition]\nDev = /dev/sda2\n"
                         "[OS]\nName = Windows 10\nBaseImage = win10.qcow2\nRoot = /dev/sda1\n"
                         "ForceOpsiSetup = win10-opsi\nRestoreOpsiState = no\n"
                         "[OS]\nName = Ubuntu\nBaseImage = ubuntu.qcow2\nRoot = /dev/sdb1\n",
                         NULL);
    json_t *notes = json_array();
    assert_int_equal(bh_startconf_notes(c, only_win10, NULL, notes), 0);
    static const char *const want[] = {
        "[LINBO] Cache /dev/sda9 is not a [Partition] Dev: initcache and syncs through the cache "
        "fail unless the disk already has it",
        "[LINBO] AutoPartition = yes: not acted on (bootherd partitions only when a job has the "
        "partition step)",
        "[LINBO] AutoInitCache = yes: not acted on (bootherd fills the cache only when a job has "
        "the initcache step)",
        "[LINBO] DownloadType = torrent: not acted on (bootherd's clients always fetch images "
        "over HTTP)",
        "[OS] 1 (Windows 10): ForceOpsiSetup = win10-opsi: not acted on (bootherd has no opsi "
        "integration)",
        "[OS] 2 (Ubuntu): Root /dev/sdb1 is not a [Partition] Dev: sync and new fail unless the "
        "disk already has it",
        "[OS] 2 (Ubuntu): BaseImage ubuntu.qcow2: no image 'ubuntu' in the store yet (import it "
        "before a sync)",
    };
    assert_int_equal(json_array_size(notes), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_string_equal(json_string_value(json_array_get(notes, i)), want[i]);
    json_decref(notes);
    json_decref(c);
    /* a clean file, a remote cache, no layout: nothing to say */
    c = parse_ok("[LINBO]\nCache = //srv/cache\n[OS]\nName = a\nRoot = /dev/sda1\n", NULL);
    notes = json_array();
    assert_int_equal(bh_startconf_notes(c, NULL, NULL, notes), 0);
    assert_int_equal(json_array_size(notes), 0);
    json_decref(notes);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_force_opsi_setup), cmocka_unit_test(test_empty_keys_kept),
        cmocka_unit_test(test_dev_twice),        cmocka_unit_test(test_roundtrip_all_data),
        cmocka_unit_test(test_edit_in_place),    cmocka_unit_test(test_edit_sections),
        cmocka_unit_test(test_edit_extra_keys),  cmocka_unit_test(test_edit_crlf),
        cmocka_unit_test(test_edit_falls_back),  cmocka_unit_test(test_keep_text_not_utf8),
        cmocka_unit_test(test_normalize),        cmocka_unit_test(test_notes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
