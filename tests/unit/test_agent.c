/*
 * test_agent.c - unit tests for the step logic of `bootherd-agent run`
 * (src/agent): a step text parsed and dispatched, with the message a
 * failing step gives the server as a struct bh_err; the partition plan
 * (sfdisk's script) and the mkfs command lines; real mkfs runs on temp
 * files; the cache partition's decisions (which chunk is read from the
 * cache, which is fetched, a damaged one dropped); running a tool.
 *
 * Nothing here needs root or touches a disk: the steps that would mount,
 * kexec or reboot are taken to the point where they refuse outside the
 * client OS.  The server the agent reports to is a closed loopback port,
 * so reports fail at once and the step's own outcome is what is checked.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testfiles.h"

#include "agent/agent.h"
#include "agent/cache.h"
#include "agent/disk.h"
#include "agent/proc.h"
#include "agent/run.h"
#include "agent/steps.h"
#include "core/buf.h"
#include "image/manifest.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

static char g_dir[] = "/tmp/bh-test-agent-XXXXXX";

#define path(name) dir_path(g_dir, name)

/* ---- an agent whose group is the given start.conf (as JSON) ------------- */

static void agent_init(struct bh_agent *a, const char *config_json)
{
    memset(a, 0, sizeof(*a));
    /* port 1 on loopback: nothing listens, so every report fails at once */
    snprintf(a->api.url, sizeof(a->api.url), "http://127.0.0.1:1");
    a->api.curl = curl_easy_init();
    assert_non_null(a->api.curl);
    snprintf(a->mac, sizeof(a->mac), "02:00:00:00:00:01");
    json_error_t je;
    json_t *config = json_loads(config_json, 0, &je);
    assert_non_null(config);
    a->group = json_pack("{s:s, s:o}", "name", "lab", "config", config);
    a->host = json_pack("{s:s}", "name", "pc01");
    a->task = 7;
}

static void agent_free(struct bh_agent *a)
{
    json_decref(a->group);
    json_decref(a->host);
    bh_cli_cleanup(&a->api);
}

/* parse text, do it; the code, with the message in *e */
static int step(struct bh_agent *a, const char *text, struct bh_err *e)
{
    struct bh_step s;
    bh_err_clear(e);
    assert_int_equal(bh_step_parse(text, &s, e), 0);
    return bh_agent_do_step(a, &s, text, e);
}

static const char *const TWO_OS =
    "{\"partitions\": ["
    " {\"dev\": \"/dev/sda1\", \"size\": \"1G\", \"id\": \"83\", \"fstype\": \"ext4\"},"
    " {\"dev\": \"/dev/sda2\", \"size\": \"\", \"id\": \"7\", \"fstype\": \"xfs\"}],"
    " \"os\": ["
    " {\"name\": \"Debian\", \"base_image\": \"debian@stable\", \"root\": \"/dev/sda1\","
    "  \"kernel\": \"auto\"},"
    " {\"name\": \"Nothing\"}],"
    " \"linbo\": {\"cache\": \"//server/share\"}}";

/* ---- dispatch: what a failing step reports ------------------------------ */

static void test_step_messages(void **state)
{
    (void)state;
    unsetenv("BOOTHERD_CLIENT_OS"); /* never reboot the machine the tests run on */
    struct bh_agent a;
    agent_init(&a, TWO_OS);
    struct bh_err e;

    assert_int_equal(step(&a, "sync:2", &e), BH_ENOTFOUND);
    assert_string_equal(e.msg, "the group has no OS entry 2 with a BaseImage and a Root");
    assert_int_equal(step(&a, "new:5", &e), BH_ENOTFOUND);
    assert_string_equal(e.msg, "the group has no OS entry 5 with a BaseImage and a Root");
    assert_int_equal(step(&a, "start:2", &e), BH_ENOTFOUND);
    assert_string_equal(e.msg, "the group has no OS entry 2 with a Root");

    /* Kernel auto: a reboot into the disk, refused outside the client OS */
    assert_int_equal(step(&a, "start:1", &e), BH_EPERM);
    assert_string_equal(e.msg,
                        "refusing to reboot into OS 1: not running in the bootherd client OS");
    assert_int_equal(step(&a, "reboot", &e), BH_EPERM);
    assert_string_equal(e.msg, "refusing to reboot: not running in the bootherd client OS");
    assert_int_equal(step(&a, "halt", &e), BH_EPERM);
    assert_string_equal(e.msg, "refusing to halt: not running in the bootherd client OS");
    assert_false(a.step_reported);

    /* a remote cache (//server/share) is no cache partition */
    assert_null(bh_agent_cache_dev(&a));
    assert_int_equal(step(&a, "initcache", &e), BH_ENOTFOUND);
    assert_string_equal(e.msg,
                        "the group's start.conf names no cache partition (Cache = /dev/...)");

    /* format: checked before any tool runs */
    assert_int_equal(step(&a, "format:3", &e), BH_EINVAL);
    assert_string_equal(e.msg, "the group's start.conf has no partition 3");
    assert_int_equal(step(&a, "format:2", &e), BH_EUNSUPP);
    assert_string_equal(e.msg, "/dev/sda2: this agent cannot make a 'xfs' file system");
    agent_free(&a);
}

static void test_step_partition_and_capture(void **state)
{
    (void)state;
    struct bh_agent a;
    char conf[1024];
    /* a Root that does not exist: the capture fails opening it */
    snprintf(conf, sizeof(conf),
             "{\"partitions\": [], \"os\": [{\"base_image\": \"win10.qcow2\", \"root\": \"%s\"},"
             " {\"base_image\": \"@@\", \"root\": \"/dev/sda1\"}]}",
             path("no-such-disk"));
    agent_init(&a, conf);
    struct bh_err e;
    assert_int_equal(step(&a, "partition", &e), BH_EINVAL);
    assert_string_equal(e.msg, "the group's start.conf has no [Partition]");

    assert_int_equal(step(&a, "create_image:1", &e), BH_ESYS);
    char want[600];
    snprintf(want, sizeof(want), "%s: %s", path("no-such-disk"), strerror(ENOENT));
    assert_string_equal(e.msg, want);

    assert_int_equal(step(&a, "postsync:2", &e), BH_EINVAL);
    assert_string_equal(e.msg, "OS entry 2's BaseImage '@@' names no image");
    agent_free(&a);
}

/* shell:CMD runs; its failure is the task's error, with the output's end */
static void test_step_shell(void **state)
{
    (void)state;
    struct bh_agent a;
    agent_init(&a, "{}");
    struct bh_err e;
    assert_int_equal(step(&a, "shell:echo fine", &e), 0);
    assert_int_equal(step(&a, "shell:echo out of disk; exit 3", &e), BH_EIO);
    assert_string_equal(e.msg, "sh failed (status 3): out of disk");
    assert_false(a.step_reported);
    agent_free(&a);
}

/* ---- the partition plan --------------------------------------------------- */

static int plan(const char *config_json, bool uefi, struct bh_buf *sc, char *disk, struct bh_err *e)
{
    json_t *c = json_loads(config_json, 0, NULL);
    assert_non_null(c);
    bh_buf_init(sc, 64 * 1024);
    bh_err_clear(e);
    int rc = bh_disk_plan(c, uefi, sc, disk, 128, e);
    json_decref(c);
    return rc;
}

static void test_plan_mbr_and_gpt(void **state)
{
    (void)state;
    const char *conf =
        "{\"partitions\": ["
        " {\"dev\": \"/dev/nvme0n1p1\", \"size\": \"512M\", \"id\": \"ef\", \"label\": \"efi\","
        "  \"bootable\": true},"
        " {\"dev\": \"/dev/nvme0n1p2\", \"size\": \"1048576\", \"id\": \"83\"},"
        " {\"dev\": \"/dev/nvme0n1p3\", \"size\": \"\", \"id\": \"07\", \"label\": \"a\\\"b\"}]}";
    struct bh_buf sc;
    char disk[128];
    struct bh_err e;
    /* BIOS boot and no SystemType: MBR, the Id codes as they are */
    assert_int_equal(plan(conf, false, &sc, disk, &e), 0);
    assert_string_equal(disk, "/dev/nvme0n1");
    bh_buf_add(&sc, "", 1);
    assert_string_equal(sc.p, "label: dos\n"
                              "size=1048576, type=ef, bootable\n"
                              "size=2097152, type=83\n"
                              "type=07\n");
    bh_buf_free(&sc);
    /* UEFI: GPT, type GUIDs, labels as names (one with a quote left out) */
    assert_int_equal(plan(conf, true, &sc, disk, &e), 0);
    bh_buf_add(&sc, "", 1);
    assert_string_equal(sc.p, "label: gpt\n"
                              "size=1048576, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, "
                              "name=\"efi\"\n"
                              "size=2097152, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n"
                              "type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7\n");
    bh_buf_free(&sc);
    /* SystemType wins over how the client booted */
    const char *bios = "{\"linbo\": {\"system_type\": \"bios64\"},"
                       " \"partitions\": [{\"dev\": \"/dev/sdb1\", \"size\": \"\"}]}";
    assert_int_equal(plan(bios, true, &sc, disk, &e), 0);
    bh_buf_add(&sc, "", 1);
    assert_string_equal(sc.p, "label: dos\ntype=83\n");
    assert_string_equal(disk, "/dev/sdb");
    bh_buf_free(&sc);
}

static void test_plan_errors(void **state)
{
    (void)state;
    static const struct {
        const char *conf, *msg;
    } cases[] = {
        {"{\"partitions\": [{\"dev\": \"/dev/sda1\", \"size\": \"1G\"},"
         " {\"dev\": \"/dev/sdb2\"}]}",
         "partitions on two disks (/dev/sda, /dev/sdb): one disk per layout"},
        {"{\"partitions\": [{\"dev\": \"/dev/sda2\"}]}",
         "/dev/sda2: partitions must be numbered 1, 2, 3... in start.conf order (this is number "
         "2, expected 1)"},
        {"{\"partitions\": [{\"dev\": \"/dev/sda1\", \"size\": \"5x\"}]}",
         "/dev/sda1: bad size '5x'"},
        {"{\"partitions\": [{\"dev\": \"/dev/sda1\", \"size\": \"\"},"
         " {\"dev\": \"/dev/sda2\", \"size\": \"1G\"}]}",
         "/dev/sda1: only the last partition may take the rest of the disk"},
        {"{\"partitions\": [{\"dev\": \"sda\"}]}", "partition 1: cannot tell the disk of 'sda'"},
        {"{\"linbo\": {\"system_type\": \"efi64\"},"
         " \"partitions\": [{\"dev\": \"/dev/sda1\", \"id\": \"a5\"}]}",
         "/dev/sda1: no GPT type for Id a5"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct bh_buf sc;
        char disk[128];
        struct bh_err e;
        assert_int_equal(plan(cases[i].conf, false, &sc, disk, &e), BH_EINVAL);
        assert_string_equal(e.msg, cases[i].msg);
        bh_buf_free(&sc);
    }
}

/* ---- format: the command lines, and real runs on files --------------------- */

static void test_mkfs_argv(void **state)
{
    (void)state;
    char *argv[8];
    struct bh_err e;
    assert_int_equal(bh_disk_mkfs_argv("/dev/sda1", "ext4", "root", argv, &e), 0);
    const char *ext4[] = {"mkfs.ext4", "-F", "-q", "-L", "root", "/dev/sda1"};
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(argv[i], ext4[i]);
    assert_null(argv[6]);
    assert_int_equal(bh_disk_mkfs_argv("/dev/sda1", "vfat", "", argv, &e), 0);
    assert_string_equal(argv[0], "mkfs.vfat");
    assert_string_equal(argv[1], "/dev/sda1");
    assert_null(argv[2]);
    assert_int_equal(bh_disk_mkfs_argv("/dev/sda1", "", "x", argv, &e), 0);
    assert_null(argv[0]); /* no file system wanted */
    assert_int_equal(bh_disk_mkfs_argv("/dev/sda1", "zfs", "x", argv, &e), BH_EUNSUPP);
    assert_string_equal(e.msg, "/dev/sda1: this agent cannot make a 'zfs' file system");
}

static bool have(const char *tool)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/* format partition 1 (ext4 on a file) and 2 (swap), then a file too small
 * for ext4: mkfs's own words reach the task's error */
static void test_format_files(void **state)
{
    (void)state;
    if (!have("mkfs.ext4") || !have("mkswap"))
        skip();
    uint8_t zero[4096] = {0};
    int fd = open(path("p1"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 8 << 20), 0);
    close(fd);
    fd = open(path("p2"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 1 << 20), 0);
    close(fd);
    write_file(path("tiny"), zero, sizeof(zero));
    char conf[2048];
    snprintf(conf, sizeof(conf),
             "{\"partitions\": [{\"dev\": \"%s\", \"fstype\": \"ext4\", \"label\": \"root\"},"
             " {\"dev\": \"%s\", \"fstype\": \"swap\"}, {\"dev\": \"%s\", \"fstype\": \"ext4\"}]}",
             path("p1"), path("p2"), path("tiny"));
    struct bh_agent a;
    agent_init(&a, conf);
    struct bh_err e;
    assert_int_equal(step(&a, "format:1", &e), 0);
    assert_int_equal(step(&a, "format:2", &e), 0);
    /* the ext4 superblock's magic (0xEF53 at 1024 + 56) and the swap signature */
    size_t n;
    uint8_t *d = read_file(path("p1"), &n);
    assert_int_equal(d[1024 + 56], 0x53);
    assert_int_equal(d[1024 + 57], 0xEF);
    free(d);
    d = read_file(path("p2"), &n);
    assert_memory_equal(d + 4096 - 10, "SWAPSPACE2", 10);
    free(d);
    assert_int_equal(step(&a, "format:3", &e), BH_EIO);
    assert_true(!strncmp(e.msg, "mkfs.ext4 failed (status ", 25));
    agent_free(&a);
}

/* ---- running a tool -------------------------------------------------------- */

static void test_exec(void **state)
{
    (void)state;
    struct bh_err e;
    bh_err_clear(&e);
    char out[64];
    char *echo[] = {"sh", "-c", "printf '%s %s' \"$BH_X\" \"$(pwd)\"", NULL};
    const char *env[] = {"BH_X=set", NULL};
    assert_int_equal(
        bh_exec(
            &(struct bh_exec){
                .argv = echo, .env = env, .cwd = "/", .out = out, .out_cap = sizeof(out)},
            &e),
        0);
    assert_string_equal(out, "set /");
    char *cat[] = {"cat", NULL};
    assert_int_equal(
        bh_exec(&(struct bh_exec){.argv = cat, .input = "fed", .out = out, .out_cap = sizeof(out)},
                &e),
        0);
    assert_string_equal(out, "fed");
    char *none[] = {"bh-no-such-program", NULL};
    assert_int_equal(bh_exec(&(struct bh_exec){.argv = none}, &e), BH_EIO);
    assert_string_equal(e.msg, "bh-no-such-program failed (status 127): bh-no-such-program: "
                               "cannot run it (not found, or not a program)");
    char *killed[] = {"sh", "-c", "kill -9 $$", NULL};
    assert_int_equal(bh_exec(&(struct bh_exec){.argv = killed}, &e), BH_EIO);
    assert_string_equal(e.msg, "sh failed (signal 9)");
    /* err may be NULL: only the code */
    assert_int_equal(bh_exec(&(struct bh_exec){.argv = none}, NULL), BH_EIO);
}

/* ---- the cache partition ---------------------------------------------------- */

struct server {
    int calls;
    bool fail;
    uint8_t data[3][1000];
    uint8_t id[3][BH_SHA256_LEN];
};

static int server_fetch(void *ud, const uint8_t id[BH_SHA256_LEN], struct bh_buf *z,
                        struct bh_err *err)
{
    struct server *s = ud;
    s->calls++;
    if (s->fail)
        return bh_err_set(err, BH_EIO, NULL, "the server is away");
    for (int i = 0; i < 3; i++) {
        if (memcmp(id, s->id[i], BH_SHA256_LEN))
            continue;
        uint8_t frame[2048];
        size_t n = ZSTD_compress(frame, sizeof(frame), s->data[i], sizeof(s->data[i]), 1);
        assert_false(ZSTD_isError(n));
        bh_buf_reset(z);
        return bh_buf_add(z, frame, n);
    }
    return bh_err_set(err, BH_ENOTFOUND, NULL, "no such chunk");
}

static void test_cache_decisions(void **state)
{
    (void)state;
    struct server srv = {0};
    for (int i = 0; i < 3; i++) {
        fill_random(srv.data[i], sizeof(srv.data[i]), (uint64_t)i + 1);
        bh_sha256(srv.data[i], sizeof(srv.data[i]), srv.id[i]);
    }
    struct bh_chunk_source inner = {.fetch = server_fetch, .ud = &srv};
    struct bh_cache c;
    struct bh_err e;
    bh_err_clear(&e);
    assert_int_equal(bh_cache_open(&c, path("cache"), &inner, &e), 0);
    struct bh_manifest m;
    bh_manifest_init(&m);
    for (int i = 0; i < 3; i++)
        assert_int_equal(bh_manifest_add(&m, false, sizeof(srv.data[i]), srv.id[i]), 0);
    assert_int_equal(bh_manifest_add(&m, false, sizeof(srv.data[0]), srv.id[0]), 0); /* again */
    /* initcache fills each distinct chunk once; a second fill fetches nothing */
    uint64_t added = 0;
    assert_int_equal(bh_cache_fill(&c, &m, NULL, NULL, &added, &e), 0);
    assert_int_equal(added, 3);
    assert_int_equal(srv.calls, 3);
    assert_int_equal(bh_cache_fill(&c, &m, NULL, NULL, &added, &e), 0);
    assert_int_equal(added, 0);
    assert_int_equal(srv.calls, 3);
    /* a deploy through the cache reads it there, the server is not asked */
    struct bh_buf z;
    bh_buf_init(&z, 1 << 20);
    srv.fail = true;
    assert_int_equal(bh_cache_fetch(&c, srv.id[1], &z, &e), 0);
    assert_int_equal(c.hits, 1);
    /* a damaged cache file is dropped and fetched again; with the server
     * away, the error is the server's */
    char hex[BH_SHA256_HEX], p[4096];
    bh_hex_id(srv.id[2], hex);
    snprintf(p, sizeof(p), "%s/bootherd/chunks/%.2s/%s", path("cache"), hex, hex);
    write_file(p, (const uint8_t *)"not zstd", 8);
    assert_int_equal(bh_cache_fetch(&c, srv.id[2], &z, &e), BH_EIO);
    assert_string_equal(e.msg, "the server is away");
    assert_int_not_equal(access(p, F_OK), 0); /* dropped */
    srv.fail = false;
    assert_int_equal(bh_cache_fetch(&c, srv.id[2], &z, &e), 0);
    assert_int_equal(c.misses, 1);
    assert_int_equal(access(p, F_OK), 0); /* kept again */
    assert_int_equal(bh_cache_fetch(&c, srv.id[2], &z, &e), 0);
    assert_int_equal(c.hits, 2);
    /* a fill that cannot fetch says so */
    bh_cache_drop(&c, srv.id[0]);
    srv.fail = true;
    assert_int_equal(bh_cache_fill(&c, &m, NULL, NULL, &added, &e), BH_EIO);
    assert_string_equal(e.msg, "the server is away");
    bh_buf_free(&z);
    bh_manifest_free(&m);
}

/* the cache device, the OS entry's image and a mount that cannot happen */
static void test_group_helpers(void **state)
{
    (void)state;
    unsetenv("BOOTHERD_CLIENT_OS");
    struct bh_agent a;
    agent_init(&a, "{\"linbo\": {\"cache\": \"/dev/sda4\"},"
                   " \"partitions\": [{\"dev\": \"/dev/sda3\", \"fstype\": \"swap\"}],"
                   " \"os\": [{\"base_image\": \"win10@stable\", \"root\": \"/dev/sda1\"}]}");
    assert_string_equal(bh_agent_cache_dev(&a), "/dev/sda4");
    char name[64], ref[32];
    struct bh_err e;
    assert_int_equal(
        bh_agent_os_image(bh_agent_os(&a, 1), 1, name, sizeof(name), ref, sizeof(ref), &e), 0);
    assert_string_equal(name, "win10");
    assert_string_equal(ref, "stable");
    assert_null(bh_agent_os(&a, 2));
    char dir[64];
    assert_int_equal(bh_agent_mount(&a, "/dev/sda3", false, "/mnt", dir, sizeof(dir), &e),
                     BH_EINVAL);
    assert_string_equal(e.msg, "/dev/sda3 is a swap partition, not an OS");
    assert_int_not_equal(access(dir, F_OK), 0); /* its temp directory is gone */
    /* a device that is not there cannot be mounted, and says where */
    assert_int_equal(bh_agent_mount(&a, path("no-such-dev"), false, "/mnt", dir, sizeof(dir), &e),
                     BH_ESYS);
    assert_true(!strncmp(e.msg, "cannot mount ", 13));
    assert_non_null(strstr(e.msg, "(ext4/vfat/ntfs3) on /tmp/bootherd-os."));
    assert_int_not_equal(access(dir, F_OK), 0);
    agent_free(&a);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return mkdtemp(g_dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_messages),   cmocka_unit_test(test_step_partition_and_capture),
        cmocka_unit_test(test_step_shell),      cmocka_unit_test(test_plan_mbr_and_gpt),
        cmocka_unit_test(test_plan_errors),     cmocka_unit_test(test_mkfs_argv),
        cmocka_unit_test(test_format_files),    cmocka_unit_test(test_exec),
        cmocka_unit_test(test_cache_decisions), cmocka_unit_test(test_group_helpers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
