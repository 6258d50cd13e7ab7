/*
 * test_startconf.c - LINBO start.conf parse / render / validate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/ini.h"
#include "model/startconf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BH_SRCDIR
#define BH_SRCDIR "."
#endif
#define DATA_DIR BH_SRCDIR "/tests/data/startconf/"

static char *load(const char *name, size_t *len)
{
    char path[512];
    char *text = NULL;
    struct bh_err err;
    snprintf(path, sizeof(path), DATA_DIR "%s", name);
    int rc = bh_read_file(path, BH_STARTCONF_MAX, &text, len, &err);
    if (rc)
        fail_msg("%s", err.msg);
    return text;
}

static json_t *parse_ok(const char *text, json_t **warnings)
{
    json_t *conf = NULL;
    struct bh_err err = {0};
    int rc = bh_startconf_parse(text, strlen(text), &conf, warnings, &err);
    if (rc)
        fail_msg("unexpected parse error %d: %s", rc, err.msg);
    assert_non_null(conf);
    return conf;
}

static json_t *parse_file(const char *name, json_t **warnings)
{
    size_t len;
    char *text = load(name, &len);
    json_t *conf = parse_ok(text, warnings);
    free(text);
    return conf;
}

static const char *sget(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        fail_msg("'%s' is not a string", key);
    return json_string_value(v);
}

static const json_t *part(const json_t *conf, size_t i)
{
    return json_array_get(json_object_get(conf, "partitions"), i);
}

static const json_t *os(const json_t *conf, size_t i)
{
    return json_array_get(json_object_get(conf, "os"), i);
}

/* parse -> render -> parse gives the same JSON, and rendering is stable. */
static void check_roundtrip(const json_t *conf)
{
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_validate(conf, &err), 0);
    char *t1 = bh_startconf_render(conf, &err);
    if (!t1)
        fail_msg("render: %s", err.msg);
    json_t *again = parse_ok(t1, NULL);
    if (!json_equal(conf, again)) {
        char *a = json_dumps(conf, JSON_SORT_KEYS), *b = json_dumps(again, JSON_SORT_KEYS);
        print_error("before: %s\nafter:  %s\n", a, b);
        free(a);
        free(b);
        fail();
    }
    char *t2 = bh_startconf_render(again, &err);
    assert_non_null(t2);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    json_decref(again);
}

static const char *const example_files[] = {
    "bios-win-linux.conf",      "efi-gpt.conf", "efi-nvme.conf", "uniform-names.conf",
    "comments-mixed-case.conf",
};

static void test_roundtrip_files(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(example_files) / sizeof(example_files[0]); i++) {
        json_t *conf = parse_file(example_files[i], NULL);
        check_roundtrip(conf);
        json_decref(conf);
    }
}

static void test_efi_values(void **state)
{
    (void)state;
    json_t *w = NULL, *conf = parse_file("efi-gpt.conf", &w);
    const json_t *l = json_object_get(conf, "linbo");
    assert_int_equal(json_array_size(w), 0);
    assert_string_equal(sget(l, "cache"), "/dev/sda5");
    assert_string_equal(sget(l, "server"), "10.0.0.1");
    assert_string_equal(sget(l, "system_type"), "efi64");
    assert_string_equal(sget(l, "download_type"), "torrent");
    assert_true(json_is_integer(json_object_get(l, "root_timeout")));
    assert_int_equal(json_integer_value(json_object_get(l, "root_timeout")), 600);
    assert_true(json_is_false(json_object_get(l, "auto_partition")));
    assert_null(json_object_get(l, "background_font_color")); /* not in the file */
    assert_null(json_object_get(l, "extra"));

    assert_int_equal(json_array_size(json_object_get(conf, "partitions")), 5);
    assert_string_equal(sget(part(conf, 0), "dev"), "/dev/sda1");
    assert_string_equal(sget(part(conf, 0), "size"), "200M");
    assert_string_equal(sget(part(conf, 0), "id"), "ef");
    assert_string_equal(sget(part(conf, 0), "fstype"), "vfat");
    assert_true(json_is_true(json_object_get(part(conf, 0), "bootable")));
    assert_string_equal(sget(part(conf, 1), "id"), "0c01");
    assert_string_equal(sget(part(conf, 1), "fstype"), "");
    assert_string_equal(sget(part(conf, 2), "id"), "7");
    assert_string_equal(sget(part(conf, 2), "fstype"), "ntfs");
    assert_string_equal(sget(part(conf, 3), "id"), "83");
    assert_string_equal(sget(part(conf, 4), "size"), ""); /* rest of the disk */
    assert_string_equal(sget(part(conf, 4), "label"), "cache");

    assert_int_equal(json_array_size(json_object_get(conf, "os")), 2);
    assert_string_equal(sget(os(conf, 0), "name"), "Windows 10");
    assert_string_equal(sget(os(conf, 0), "kernel"), "auto");
    assert_string_equal(sget(os(conf, 0), "default_action"), "sync");
    assert_true(json_is_false(json_object_get(os(conf, 0), "restore_opsi_state")));
    assert_int_equal(json_integer_value(json_object_get(os(conf, 0), "autostart_timeout")), 5);
    assert_string_equal(sget(os(conf, 1), "append"), "ro splash");
    assert_string_equal(sget(os(conf, 1), "initrd"), "boot/initrd.img");
    json_decref(conf);
    json_decref(w);
}

static void test_bios_values(void **state)
{
    (void)state;
    json_t *conf = parse_file("bios-win-linux.conf", NULL);
    const json_t *l = json_object_get(conf, "linbo");
    assert_string_equal(sget(l, "console_font_color_stderr"), "orange");
    assert_string_equal(sget(l, "system_type"), "bios64");
    assert_string_equal(sget(part(conf, 2), "size"), "4194304"); /* KiB, kept as written */
    assert_string_equal(sget(part(conf, 3), "id"), "5");
    assert_string_equal(sget(part(conf, 3), "label"), "");
    assert_string_equal(sget(os(conf, 0), "version"), "");
    assert_string_equal(sget(os(conf, 1), "default_action"), "start");
    assert_true(json_is_false(json_object_get(os(conf, 1), "new_enabled")));
    json_decref(conf);
}

static void test_nvme_and_uniform(void **state)
{
    (void)state;
    json_t *conf = parse_file("efi-nvme.conf", NULL);
    assert_string_equal(sget(json_object_get(conf, "linbo"), "cache"), "/dev/nvme0n1p4");
    assert_string_equal(sget(part(conf, 2), "dev"), "/dev/nvme0n1p3");
    assert_string_equal(sget(os(conf, 0), "root"), "/dev/nvme0n1p3");
    assert_true(json_is_true(json_object_get(os(conf, 0), "autostart")));
    json_decref(conf);

    conf = parse_file("uniform-names.conf", NULL);
    assert_string_equal(sget(json_object_get(conf, "linbo"), "server"), "linbo.school.example");
    assert_string_equal(sget(part(conf, 0), "dev"), "/dev/disk0p1");
    assert_string_equal(sget(part(conf, 4), "dev"), "/dev/disk1p1");
    assert_string_equal(sget(os(conf, 0), "default_action"), "new");
    json_decref(conf);
}

static void test_comments_mixed_case(void **state)
{
    (void)state;
    json_t *w = NULL, *conf = parse_file("comments-mixed-case.conf", &w);
    const json_t *l = json_object_get(conf, "linbo");
    assert_string_equal(sget(l, "server"), "10.0.0.1");
    assert_string_equal(sget(l, "group"), "r303");
    assert_string_equal(sget(l, "cache"), "/dev/sda4");
    assert_int_equal(json_integer_value(json_object_get(l, "root_timeout")), 600);
    assert_true(json_is_false(json_object_get(l, "auto_partition")));
    assert_true(json_is_false(json_object_get(l, "auto_format")));
    assert_true(json_is_false(json_object_get(l, "auto_init_cache")));
    assert_string_equal(sget(l, "download_type"), "torrent");
    assert_string_equal(sget(l, "system_type"), "efi64");
    assert_string_equal(sget(l, "kernel_options"), "quiet splash server=10.0.0.1");
    assert_string_equal(sget(json_object_get(l, "extra"), "WallpaperDpi"), "96");

    assert_string_equal(sget(part(conf, 0), "size"), "200m"); /* as written */
    assert_string_equal(sget(part(conf, 0), "id"), "ef");
    assert_string_equal(sget(part(conf, 0), "fstype"), "vfat");
    assert_true(json_is_true(json_object_get(part(conf, 0), "bootable")));
    assert_null(json_object_get(part(conf, 1), "label"));
    assert_string_equal(sget(part(conf, 1), "fstype"), "ntfs");
    assert_string_equal(sget(part(conf, 2), "label"), "cache #1");

    const json_t *o = os(conf, 0);
    assert_string_equal(sget(o, "name"), "Windows 10");
    assert_string_equal(sget(o, "description"), "  padded description  ");
    assert_string_equal(sget(o, "default_action"), "sync");
    assert_string_equal(sget(o, "force_opsi_setup"), ""); /* empty: kept as written */
    assert_string_equal(sget(json_object_get(o, "extra"), "Autostrat"), "yes");

    assert_int_equal(json_array_size(w), 2);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "line 18: unknown key 'WallpaperDpi' in [LINBO] kept as-is");
    assert_string_equal(json_string_value(json_array_get(w, 1)),
                        "line 51: unknown key 'Autostrat' in [OS] kept as-is");
    json_decref(conf);
    json_decref(w);
}

static void test_render_golden(void **state)
{
    (void)state;
    const char *json = "{\"os\":[{\"extra\":{\"Zeta\":\"z\"},\"default_action\":\"new\","
                       "\"name\":\"Ubuntu\",\"autostart\":true}],"
                       "\"partitions\":[{\"size\":\"\",\"dev\":\"/dev/sda1\",\"bootable\":false,"
                       "\"label\":\" a #b\"}],"
                       "\"linbo\":{\"root_timeout\":30,\"group\":\"g1\"}}";
    const char *want = "[LINBO]\n"
                       "Group = g1\n"
                       "RootTimeout = 30\n"
                       "\n"
                       "[Partition]\n"
                       "Dev = /dev/sda1\n"
                       "Label = \" a #b\"\n"
                       "Size =\n"
                       "Bootable = no\n"
                       "\n"
                       "[OS]\n"
                       "Name = Ubuntu\n"
                       "Autostart = yes\n"
                       "DefaultAction = new\n"
                       "Zeta = z\n";
    struct bh_err err = {0};
    json_t *conf = json_loads(json, 0, NULL);
    assert_non_null(conf);
    char *text = bh_startconf_render(conf, &err);
    assert_non_null(text);
    assert_string_equal(text, want);
    json_t *back = parse_ok(text, NULL);
    assert_true(json_equal(conf, back));
    free(text);
    json_decref(back);
    json_decref(conf);

    /* an empty configuration renders to nothing and parses to empty lists */
    conf = json_object();
    text = bh_startconf_render(conf, &err);
    assert_string_equal(text, "");
    back = parse_ok(text, NULL);
    assert_int_equal(json_array_size(json_object_get(back, "partitions")), 0);
    assert_int_equal(json_array_size(json_object_get(back, "os")), 0);
    assert_null(json_object_get(back, "linbo"));
    free(text);
    json_decref(back);
    json_decref(conf);
}

/* Values that need quotes, or contain quotes, survive a round trip. */
static void test_quoting(void **state)
{
    (void)state;
    const char *text = "[OS]\n"
                       "Name = \"  spaced  \"\n"
                       "Description = say \"hi\" # comment\n"
                       "Append = \"a=1 #2\"\n"
                       "Kernel = \"\"quoted\"\"\n"
                       "Initrd = x#y\n"
                       "IconName = \"# not a comment\"\n"
                       "Version = tab\there\n"
                       "Image=#\" # c\n";
    json_t *conf = parse_ok(text, NULL);
    const json_t *o = os(conf, 0);
    assert_string_equal(sget(o, "name"), "  spaced  ");
    assert_string_equal(sget(o, "description"), "say \"hi\"");
    assert_string_equal(sget(o, "append"), "a=1 #2");
    assert_string_equal(sget(o, "kernel"), "\"quoted\"");
    assert_string_equal(sget(o, "initrd"), "x#y");
    assert_string_equal(sget(o, "icon_name"), "# not a comment");
    assert_string_equal(sget(o, "version"), "tab\there");
    /* a '#' right after '=' is data; rewritten without the blank it stays so */
    assert_string_equal(sget(o, "image"), "#\" # c");
    struct bh_err err = {0};
    char *t = bh_startconf_render(conf, &err);
    assert_non_null(t);
    assert_non_null(strstr(t, "\nImage =#\" # c\n"));
    assert_non_null(strstr(t, "\nName = \"  spaced  \"\n"));
    free(t);
    check_roundtrip(conf);
    json_decref(conf);
}

static void test_header_comments_and_bom(void **state)
{
    (void)state;
    json_t *conf = parse_ok("\xEF\xBB\xBF[LINBO]   # global section\n"
                            "Group = a\n"
                            "[OS]; ini comment\n"
                            "Name = b\n",
                            NULL);
    assert_string_equal(sget(json_object_get(conf, "linbo"), "group"), "a");
    assert_string_equal(sget(os(conf, 0), "name"), "b");
    json_decref(conf);
}

static void test_remote_cache_and_paths(void **state)
{
    (void)state;
    json_t *conf = parse_ok("[LINBO]\nCache = //10.0.0.1/linbo-repo\n"
                            "[Partition]\nDev = /dev/disk/by-id/nvme-SAMSUNG_MZ_123-part1\n",
                            NULL);
    assert_string_equal(sget(json_object_get(conf, "linbo"), "cache"), "//10.0.0.1/linbo-repo");
    check_roundtrip(conf);
    json_decref(conf);
}

static void test_warnings_optional(void **state)
{
    (void)state;
    json_t *conf = NULL;
    struct bh_err err = {0};
    const char *text = "[LINBO]\nFoo = 1\nAutoFormat =\n";
    assert_int_equal(bh_startconf_parse(text, strlen(text), &conf, NULL, &err), 0);
    assert_string_equal(sget(json_object_get(json_object_get(conf, "linbo"), "extra"), "Foo"), "1");
    assert_string_equal(sget(json_object_get(conf, "linbo"), "auto_format"), ""); /* kept */
    json_decref(conf);
    /* NULL text with length 0 is an empty file */
    assert_int_equal(bh_startconf_parse(NULL, 0, &conf, NULL, &err), 0);
    json_decref(conf);
}

struct err_case {
    const char *text;
    int code;
    const char *field;
    const char *msg; /* substring of err.msg */
};

static const struct err_case err_cases[] = {
    {"[LINBO]\n[Foo]\n", BH_EINVAL, "start.conf:2", "start.conf:2: unknown section [Foo]"},
    {"[LINBO]\nGroup = a\n\n[linbo]\n", BH_EINVAL, "start.conf:4",
     "[LINBO] repeated (first at line 1)"},
    {"[OS]\nName = a\n[Partition]\nLabel = x\n[OS]\nName = b\n", BH_EINVAL, "start.conf:3",
     "start.conf:3: [Partition] Dev: required key missing"},
    {"[Partition]\nLabel = x\n", BH_EINVAL, "start.conf:1", "[Partition] Dev: required"},
    {"[Partition]\nDev =\n", BH_EINVAL, "start.conf:2", "[Partition] Dev: must not be empty"},
    {"[OS]\nBaseImage = x.qcow2\n", BH_EINVAL, "start.conf:1", "[OS] Name: required key missing"},
    {"[OS]\nName =\n", BH_EINVAL, "start.conf:2", "[OS] Name: must not be empty"},
    {"[LINBO]\nAutoFormat = maybe\n", BH_EINVAL, "start.conf:2",
     "start.conf:2: [LINBO] AutoFormat: expected yes or no, got 'maybe'"},
    {"[Partition]\nDev = /dev/sda1\nSize = 10X\n", BH_EINVAL, "start.conf:3",
     "[Partition] Size: expected a size"},
    {"[Partition]\nDev = /dev/sda1\nSize = 0\n", BH_EINVAL, "start.conf:3", "Size: expected"},
    {"[Partition]\nDev = /dev/sda1\nSize = -5G\n", BH_EINVAL, "start.conf:3", "Size: expected"},
    {"[Partition]\nDev = /dev/sda1\nId = 0x83\n", BH_EINVAL, "start.conf:3",
     "[Partition] Id: expected a partition type code of 1 to 4 hex digits"},
    {"[Partition]\nDev = /dev/sda1\nId = 12345\n", BH_EINVAL, "start.conf:3", "got '12345'"},
    {"[Partition]\nDev = /dev/sda1\nId = zz\n", BH_EINVAL, "start.conf:3", "Id: expected"},
    {"[Partition]\nDev = /dev/sda1\nFSType = reiserfs\n", BH_EINVAL, "start.conf:3",
     "FSType: expected vfat, fat32, ntfs, ext2, ext3, ext4, btrfs, xfs or swap, got "
     "'reiserfs'"},
    {"[OS]\nName = a\nDefaultAction = boot\n", BH_EINVAL, "start.conf:3",
     "start.conf:3: [OS] DefaultAction: expected start, sync or new, got 'boot'"},
    {"[LINBO]\nDownloadType = ftp\n", BH_EINVAL, "start.conf:2",
     "expected rsync, multicast or torrent"},
    {"[LINBO]\nSystemType = uefi\n", BH_EINVAL, "start.conf:2",
     "expected bios, bios64, efi32 or efi64"},
    {"# header\nGroup = a\n[LINBO]\n", BH_EINVAL, "start.conf:2",
     "key 'Group' before the first section"},
    {"[OS]\nName = a\nname = b\n", BH_EINVAL, "start.conf:3",
     "[OS] Name: repeated (first set at line 2)"},
    {"[OS]\nName = a\nFoo = 1\nFOO = 2\n", BH_EINVAL, "start.conf:4", "[OS] FOO: repeated key"},
    {"[OS]\nName = a\nHidden =\nHidden = yes\n", BH_EINVAL, "start.conf:4", "repeated"},
    {"[Partition]\nDev = /dev/../etc/passwd\n", BH_EINVAL, "start.conf:2",
     "Dev: expected a device path"},
    {"[Partition]\nDev = /etc/passwd\n", BH_EINVAL, "start.conf:2", "Dev: expected a device"},
    {"[Partition]\nDev = /dev/sda1;reboot\n", BH_EINVAL, "start.conf:2", "Dev: expected"},
    {"[Partition]\nDev = /dev/\n", BH_EINVAL, "start.conf:2", "Dev: expected"},
    {"[OS]\nName = a\nRoot = sda1\n", BH_EINVAL, "start.conf:3", "Root: expected"},
    {"[LINBO]\nCache = //host\n", BH_EINVAL, "start.conf:2", "Cache: expected"},
    {"[LINBO]\nServer = 10.0.0.256\n", BH_EINVAL, "start.conf:2",
     "Server: expected an IPv4 address or host name"},
    {"[LINBO]\nServer = bad_host\n", BH_EINVAL, "start.conf:2", "Server: expected"},
    {"[LINBO]\nRootTimeout = -1\n", BH_EINVAL, "start.conf:2", "RootTimeout: expected a whole"},
    {"[LINBO]\nRootTimeout = 10m\n", BH_EINVAL, "start.conf:2", "got '10m'"},
    {"[OS]\nName = a\nAutostartTimeout = 99999999999\n", BH_EINVAL, "start.conf:3",
     "AutostartTimeout"},
    {"[OS]\nName = \xff\xfe\n", BH_EINVAL, "start.conf:2", "[OS] Name: not valid UTF-8"},
    {"[OS]\nName = a\x1b[31m\n", BH_EINVAL, "start.conf:2", "contains a control character"},
    {"[OS]\nName = a\nK\xc3\xa4se = 1\n", BH_EINVAL, "start.conf:3", "printable ASCII"},
    {"[OS]\nName = \"open\n", BH_EINVAL, "start.conf:2", "unterminated quoted value"},
    {"[OS\n", BH_EINVAL, "start.conf:1", "closing ']'"},
    {"[OS] trailing\n", BH_EINVAL, "start.conf:1", "unexpected text after section header"},
    {"[LINBO]\njust text\n", BH_EINVAL, "start.conf:2", "expected 'key = value'"},
};

static void test_parse_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *c = &err_cases[i];
        json_t *conf = (json_t *)1, *w = (json_t *)1;
        struct bh_err err = {0};
        int rc = bh_startconf_parse(c->text, strlen(c->text), &conf, &w, &err);
        if (rc != c->code || strcmp(err.field, c->field) != 0 || !strstr(err.msg, c->msg))
            fail_msg("case %zu: rc %d field '%s' msg '%s'", i, rc, err.field, err.msg);
        assert_null(conf);
        assert_null(w);
    }
}

static void test_nul_byte(void **state)
{
    (void)state;
    const char text[] = "[OS]\nName = a\0b\n";
    json_t *conf = NULL;
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_parse(text, sizeof(text) - 1, &conf, NULL, &err), BH_EINVAL);
    assert_string_equal(err.field, "start.conf:2");
    assert_non_null(strstr(err.msg, "NUL byte"));
    assert_null(conf);
}

static void test_value_too_long(void **state)
{
    (void)state;
    struct bh_buf b;
    bh_buf_init(&b, 8192);
    assert_int_equal(bh_buf_adds(&b, "[OS]\nName = "), 0);
    for (int i = 0; i < 2049; i++)
        assert_int_equal(bh_buf_addc(&b, 'x'), 0);
    json_t *conf = NULL;
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_parse(b.p, b.len, &conf, NULL, &err), BH_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 2048"));
    /* exactly 2048 is fine */
    b.len--;
    assert_int_equal(bh_startconf_parse(b.p, b.len, &conf, NULL, &err), 0);
    check_roundtrip(conf);
    json_decref(conf);
    bh_buf_free(&b);
}

static void test_over_cap(void **state)
{
    (void)state;
    size_t n = BH_STARTCONF_MAX + 1;
    char *text = malloc(n);
    assert_non_null(text);
    memset(text, '#', n);
    for (size_t i = 79; i < n; i += 80)
        text[i] = '\n';
    json_t *conf = NULL;
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_parse(text, n, &conf, NULL, &err), BH_ETOOBIG);
    assert_null(conf);
    assert_non_null(strstr(err.msg, "larger than"));
    /* at the cap, a file of comments is fine */
    assert_int_equal(bh_startconf_parse(text, n - 1, &conf, NULL, &err), 0);
    json_decref(conf);
    free(text);
}

static int parse_built(struct bh_buf *b, struct bh_err *err)
{
    json_t *conf = NULL;
    int rc = bh_startconf_parse(b->p, b->len, &conf, NULL, err);
    json_decref(conf);
    bh_buf_free(b);
    return rc;
}

static void test_count_caps(void **state)
{
    (void)state;
    struct bh_buf b;
    struct bh_err err = {0};

    bh_buf_init(&b, BH_STARTCONF_MAX);
    for (int i = 0; i < 129; i++)
        assert_int_equal(bh_buf_printf(&b, "[Partition]\nDev = /dev/sda%d\n", i + 1), 0);
    assert_int_equal(parse_built(&b, &err), BH_ETOOBIG);
    assert_string_equal(err.field, "start.conf:257");
    assert_non_null(strstr(err.msg, "more than 128 [Partition] sections"));

    bh_buf_init(&b, BH_STARTCONF_MAX);
    for (int i = 0; i < 65; i++)
        assert_int_equal(bh_buf_printf(&b, "[OS]\nName = os%d\n", i), 0);
    assert_int_equal(parse_built(&b, &err), BH_ETOOBIG);
    assert_non_null(strstr(err.msg, "more than 64 [OS] sections"));

    bh_buf_init(&b, BH_STARTCONF_MAX);
    assert_int_equal(bh_buf_adds(&b, "[LINBO]\n"), 0);
    for (int i = 0; i < 65; i++)
        assert_int_equal(bh_buf_printf(&b, "X%d = %d\n", i, i), 0);
    assert_int_equal(parse_built(&b, &err), BH_ETOOBIG);
    assert_non_null(strstr(err.msg, "more than 64 unknown keys"));
}

/* A file under the cap whose canonical rewrite would exceed it is refused,
 * so that whatever parse accepts, render can write and parse can read back. */
static void test_rewrite_cap(void **state)
{
    (void)state;
    struct bh_buf b;
    struct bh_err err = {0};
    /* 192 sections of 64 short unknown keys grow by ~25 KiB when rewritten:
     * with 900-byte values the input fits the cap and the rewrite does not;
     * with 500-byte values both fit. */
    char pad[901];
    memset(pad, 'p', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (int round = 0; round < 2; round++) {
        bh_buf_init(&b, BH_STARTCONF_MAX);
        for (int s = 0; s < 128 + 64; s++) {
            int rc = s < 128 ? bh_buf_printf(&b, "[partition]\ndev=/dev/sda%d\nlabel=%s\n", s + 1,
                                             round ? pad + 400 : pad)
                             : bh_buf_printf(&b, "[os]\nname=%s\n", round ? pad + 400 : pad);
            assert_int_equal(rc, 0);
            for (int e = 0; e < 64; e++)
                assert_int_equal(bh_buf_printf(&b, "%c%d=1\n", 'a' + e % 26, e), 0);
        }
        assert_true(b.len <= BH_STARTCONF_MAX);
        json_t *conf = NULL;
        int rc = bh_startconf_parse(b.p, b.len, &conf, NULL, &err);
        if (round == 0) {
            assert_int_equal(rc, BH_ETOOBIG);
            assert_non_null(strstr(err.msg, "rendered text larger than"));
        } else {
            assert_int_equal(rc, 0);
            check_roundtrip(conf);
        }
        json_decref(conf);
        bh_buf_free(&b);
    }
}

struct verr_case {
    const char *json;
    const char *field;
    const char *msg;
};

static const struct verr_case verr_cases[] = {
    {"[]", "config", "expected an object"},
    {"{\"groups\":[]}", "config.groups", "unknown member"},
    {"{\"linbo\":[]}", "config.linbo", "expected an object"},
    {"{\"partitions\":{}}", "config.partitions", "expected an array of objects"},
    {"{\"os\":[{\"name\":\"a\"},7]}", "config.os[1]", "expected an object"},
    {"{\"os\":[{\"name\":\"a\"},{\"name\":\"b\",\"default_action\":\"boot\"}]}",
     "config.os[1].default_action", "expected start, sync or new"},
    {"{\"os\":[{\"name\":\"a\",\"default_action\":\"SYNC\"}]}", "config.os[0].default_action",
     "expected lower case 'sync'"},
    {"{\"os\":[{\"description\":\"x\"}]}", "config.os[0].name", "required"},
    {"{\"os\":[{\"name\":\"\"}]}", "config.os[0].name", "must not be empty"},
    {"{\"os\":[{\"name\":\"a\",\"autostart\":\"yes\"}]}", "config.os[0].autostart",
     "expected true or false"},
    {"{\"os\":[{\"name\":\"a\",\"autostart_timeout\":-1}]}", "config.os[0].autostart_timeout",
     "expected an integer from 0 to"},
    {"{\"os\":[{\"name\":\"a\",\"autostart_timeout\":5.0}]}", "config.os[0].autostart_timeout",
     "expected an integer"},
    {"{\"os\":[{\"name\":\"a\",\"Name\":\"b\"}]}", "config.os[0].Name", "unknown key for [OS]"},
    {"{\"os\":[{\"name\":1}]}", "config.os[0].name", "expected a string"},
    {"{\"os\":[{\"name\":\"a\\nb\"}]}", "config.os[0].name", "control character"},
    {"{\"os\":[{\"name\":\"\\\" #x\\\"y\"}]}", "config.os[0].name", "cannot be written"},
    {"{\"partitions\":[{\"dev\":\"/dev/sda1\",\"id\":\"0C01\"}]}", "config.partitions[0].id",
     "expected lower case '0c01'"},
    {"{\"partitions\":[{\"dev\":\"/dev/sda1\",\"size\":\"lots\"}]}", "config.partitions[0].size",
     "expected a size"},
    {"{\"partitions\":[{\"dev\":\"/tmp/x\"}]}", "config.partitions[0].dev",
     "expected a device path"},
    {"{\"partitions\":[{\"label\":\"x\"}]}", "config.partitions[0].dev", "required"},
    {"{\"partitions\":[{\"dev\":\"/dev/sda1\",\"fstype\":\"zfs\"}]}", "config.partitions[0].fstype",
     "expected vfat, fat32"},
    {"{\"linbo\":{\"extra\":[]}}", "config.linbo.extra", "expected an object of strings"},
    {"{\"linbo\":{\"extra\":{\"Foo\":1}}}", "config.linbo.extra.Foo", "expected a string"},
    {"{\"linbo\":{\"extra\":{\"cache\":\"/dev/sda1\"}}}", "config.linbo.extra.cache",
     "known start.conf key"},
    {"{\"linbo\":{\"extra\":{\"A\":\"1\",\"a\":\"2\"}}}", "config.linbo.extra.A",
     "same key as 'a'"},
    {"{\"linbo\":{\"extra\":{\"a b\":\"1\"}}}", "config.linbo.extra.a b", "printable ASCII"},
    {"{\"linbo\":{\"extra\":{\"#x\":\"1\"}}}", "config.linbo.extra.#x", "must not start"},
    {"{\"linbo\":{\"extra\":{\"\":\"1\"}}}", "config.linbo.extra.", "1 to 127"},
    {"{\"linbo\":{\"server\":\"10.1\"}}", "config.linbo.server", "IPv4 address or host name"},
    {"{\"linbo\":{\"root_timeout\":\"600\"}}", "config.linbo.root_timeout", "expected an integer"},
};

static void test_validate_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(verr_cases) / sizeof(verr_cases[0]); i++) {
        const struct verr_case *c = &verr_cases[i];
        json_error_t jerr;
        json_t *conf = json_loads(c->json, JSON_DECODE_ANY, &jerr);
        if (!conf)
            fail_msg("case %zu: bad test JSON: %s", i, jerr.text);
        struct bh_err err = {0};
        int rc = bh_startconf_validate(conf, &err);
        if (rc != BH_EINVAL || strcmp(err.field, c->field) != 0 || !strstr(err.msg, c->msg))
            fail_msg("case %zu: rc %d field '%s' msg '%s'", i, rc, err.field, err.msg);
        /* render refuses the same input with the same error */
        struct bh_err err2 = {0};
        assert_null(bh_startconf_render(conf, &err2));
        assert_string_equal(err2.field, err.field);
        json_decref(conf);
    }
}

static void test_validate_embedded_nul(void **state)
{
    (void)state;
    json_t *conf = json_pack("{s:[{s:s#}]}", "os", "name", "a\0b", (size_t)3);
    assert_non_null(conf);
    struct bh_err err = {0};
    assert_int_equal(bh_startconf_validate(conf, &err), BH_EINVAL);
    assert_string_equal(err.field, "config.os[0].name");
    assert_non_null(strstr(err.msg, "NUL"));
    json_decref(conf);
    assert_int_equal(bh_startconf_validate(NULL, &err), BH_EINVAL);
    assert_string_equal(err.field, "config");
}

static void test_validate_accepts(void **state)
{
    (void)state;
    const char *ok[] = {
        "{}",
        "{\"linbo\":{}, \"partitions\":[], \"os\":[]}",
        "{\"linbo\":{\"extra\":{}}}",
        "{\"linbo\":{\"server\":\"linbo.example.org\",\"cache\":\"//srv/share/dir\"}}",
        "{\"os\":[{\"name\":\"\\u00c4rger \\u00fcber Umlaute\",\"extra\":{\"Foo\":\" x \"}}]}",
        "{\"partitions\":[{\"dev\":\"/dev/sda1\",\"size\":\"100GiB\",\"id\":\"c\"}]}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        json_t *conf = json_loads(ok[i], 0, NULL);
        struct bh_err err = {0};
        assert_non_null(conf);
        if (bh_startconf_validate(conf, &err))
            fail_msg("case %zu: %s", i, err.msg);
        char *text = bh_startconf_render(conf, &err);
        assert_non_null(text);
        free(text);
        json_decref(conf);
    }
}

/* Fail the n-th jansson allocation, for every n, during parse and render:
 * each run must succeed or report BH_ENOMEM, and (under ASan) leak nothing. */
static long alloc_budget = -1;

static void *failing_malloc(size_t n)
{
    if (alloc_budget == 0)
        return NULL;
    if (alloc_budget > 0)
        alloc_budget--;
    return malloc(n);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    size_t len;
    char *text = load("comments-mixed-case.conf", &len);
    json_t *good = parse_ok(text, NULL);
    json_set_alloc_funcs(failing_malloc, free);
    int successes = 0;
    for (long n = 0; n < 2000 && successes < 2; n++) {
        json_t *conf = NULL, *w = NULL;
        struct bh_err err = {0};
        alloc_budget = n;
        int rc = bh_startconf_parse(text, len, &conf, &w, &err);
        assert_true(rc == 0 || rc == BH_ENOMEM);
        alloc_budget = n;
        char *out = bh_startconf_render(good, &err);
        alloc_budget = -1;
        if (rc == 0 && out)
            successes++;
        if (rc == 0)
            assert_true(json_equal(conf, good));
        free(out);
        json_decref(conf);
        json_decref(w);
    }
    json_set_alloc_funcs(malloc, free);
    assert_int_equal(successes, 2);
    json_decref(good);
    free(text);
}

static void test_base_image(void **state)
{
    (void)state;
    char name[16], ref[16];
    assert_true(bh_startconf_image("win10.qcow2", name, sizeof(name), ref, sizeof(ref)));
    assert_string_equal(name, "win10");
    assert_string_equal(ref, "latest");
    assert_true(bh_startconf_image("win10@stable", name, sizeof(name), ref, sizeof(ref)));
    assert_string_equal(name, "win10");
    assert_string_equal(ref, "stable");
    assert_true(bh_startconf_image("ubuntu.qcow2@3", name, sizeof(name), NULL, 0));
    assert_string_equal(name, "ubuntu");
    assert_true(bh_startconf_image("plain", name, sizeof(name), ref, sizeof(ref)));
    assert_string_equal(name, "plain");
    assert_false(bh_startconf_image("", name, sizeof(name), ref, sizeof(ref)));
    assert_false(bh_startconf_image(NULL, name, sizeof(name), ref, sizeof(ref)));
    assert_false(bh_startconf_image("@latest", name, sizeof(name), ref, sizeof(ref)));
    assert_false(bh_startconf_image("a-name-longer-than-16", name, sizeof(name), NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_files),
        cmocka_unit_test(test_efi_values),
        cmocka_unit_test(test_bios_values),
        cmocka_unit_test(test_nvme_and_uniform),
        cmocka_unit_test(test_comments_mixed_case),
        cmocka_unit_test(test_render_golden),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_header_comments_and_bom),
        cmocka_unit_test(test_remote_cache_and_paths),
        cmocka_unit_test(test_warnings_optional),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_value_too_long),
        cmocka_unit_test(test_over_cap),
        cmocka_unit_test(test_count_caps),
        cmocka_unit_test(test_rewrite_cap),
        cmocka_unit_test(test_validate_errors),
        cmocka_unit_test(test_validate_embedded_nul),
        cmocka_unit_test(test_validate_accepts),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_base_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
