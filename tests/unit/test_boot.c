/*
 * test_boot.c - the boot policy and the generated boot files, over a real
 * store and boot view (no sockets: DHCP and TFTP stay off).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "boot/bootpolicy.h"
#include "boot/bootsvc.h"
#include "boot/bootwait.h"
#include "core/str.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char g_dir[64], g_cwd[4096];
static struct bh_store *S;
static struct bh_boot *B;
static const struct bh_actor A = {"test", NULL, NULL};

#define MAC1 "52:54:00:00:00:01"
#define MAC2 "52:54:00:00:00:02"

static void mk(enum bh_kind k, const char *text)
{
    json_t *doc = J(text), *norm = NULL, *out = NULL;
    struct bh_err e;
    if (bh_model_validate(bh_kind_get(k), doc, BH_V_CREATE, &norm, &e) ||
        bh_store_create(S, bh_kind_get(k), norm, &A, &out, &e))
        fail_msg("create %s: %s", text, e.msg);
    json_decref(doc);
    json_decref(norm);
    json_decref(out);
}

static void patch(enum bh_kind k, const char *key, const char *text)
{
    json_t *doc = J(text), *out = NULL;
    struct bh_err e;
    if (bh_store_update(S, bh_kind_get(k), key, doc, 0, BH_UPD_PARTIAL, &A, &out, &e))
        fail_msg("patch %s: %s", text, e.msg);
    json_decref(doc);
    json_decref(out);
}

static void sync_view(void)
{
    struct bh_err e;
    if (bh_bootview_refresh(bh_boot_view(B), S, &e))
        fail_msg("refresh: %s", e.msg);
}

static void touch(const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/boot/%s", g_dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    close(fd);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/bh-test-boot-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    assert_non_null(getcwd(g_cwd, sizeof(g_cwd)));
    assert_int_equal(chdir(g_dir), 0); /* the boot root is relative to the data dir */
    char db[128];
    snprintf(db, sizeof(db), "%s/bootherd.db", g_dir);
    struct bh_store_config sc = {.path = db, .readers = 2};
    struct bh_err e;
    if (bh_store_open(&sc, &S, &e))
        fail_msg("%s", e.msg);
    mk(BH_KIND_PROFILE, "{'name':'bootherd-client','kernel':'client/vmlinuz',"
                        "'initrds':['client/a.gz','client/b.gz'],"
                        "'cmdline':'console=ttyS0 host={{host.name}} url={{http_base}} "
                        "role={{host.labels.role}} grp={{ group.name }} t={{ticket}}'}");
    struct bh_boot_config cfg;
    bh_boot_config_defaults(&cfg);
    if (bh_boot_start(uv_default_loop(), &cfg, S, 8080, &B, &e))
        fail_msg("%s", e.msg);
    touch("undionly.kpxe");
    touch("ipxe.efi");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bh_boot_stop(B);
    bh_boot_free(B);
    bh_store_close(S);
    assert_int_equal(chdir(g_cwd), 0);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static struct bh_boot_client client(const char *mac, uint16_t arch)
{
    struct bh_boot_client c;
    memset(&c, 0, sizeof(c));
    bh_strlcpy(c.mac_str, mac, sizeof(c.mac_str));
    c.arch = arch;
    c.pxe = true;
    inet_pton(AF_INET, "192.0.2.1", &c.iface_addr);
    c.mode = BH_DHCP_PROXY;
    return c;
}

static void test_loader_by_firmware(void **state)
{
    (void)state;
    mk(BH_KIND_HOST, "{'mac':'" MAC1 "','name':'pc1'}");
    sync_view();
    struct bh_boot_decision d;
    struct bh_boot_client c = client(MAC1, BH_ARCH_BIOS);
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_TFTP);
    assert_string_equal(d.filename, "undionly.kpxe");
    char ip[16];
    inet_ntop(AF_INET, &d.next_server, ip, sizeof(ip));
    assert_string_equal(ip, "192.0.2.1");

    c = client(MAC1, BH_ARCH_EFI_X64);
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_TFTP);
    assert_string_equal(d.filename, "ipxe.efi");

    c = client(MAC1, BH_ARCH_EFI_X64);
    c.ipxe = true; /* iPXE asks again: give it the script */
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_SCRIPT);
    assert_string_equal(d.filename, "http://192.0.2.1:8080/boot/boot.ipxe");

    c = client(MAC1, BH_ARCH_HTTP_X64);
    c.pxe = false;
    c.http = true;
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_HTTP);
    assert_string_equal(d.filename, "http://192.0.2.1:8080/boot/files/ipxe.efi");

    c = client(MAC1, BH_ARCH_EFI_ARM64); /* no arm64 iPXE in the root */
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_NONE);
    assert_non_null(strstr(d.why, "ipxe-arm64.efi not in the boot root"));
    touch("ipxe-arm64.efi");
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_TFTP);
    assert_string_equal(d.filename, "ipxe-arm64.efi");

    c = client(MAC1, BH_ARCH_BIOS);
    c.pxe = false;
    c.rpi = true;
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_RPI);

    c = client(MAC1, BH_ARCH_NONE);
    c.pxe = false; /* a plain DHCP client */
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_NONE);
}

/* The policy decides from the narrow view alone: settings, the boot root
 * and the view, no boot services.  A group's boot file is copied out to
 * the caller's buffer, and two decisions in a row do not share it. */
static void test_policy_narrow_view(void **state)
{
    (void)state;
    mk(BH_KIND_GROUP, "{'name':'lab','boot':{'files':{'bios':'lab.kpxe'}}}");
    mk(BH_KIND_HOST, "{'mac':'" MAC1 "','name':'pc1','group':'lab'}");
    sync_view();
    touch("lab.kpxe");
    struct bh_bootctx x = {.view = bh_boot_view(B),
                           .work = bh_boot_work(B),
                           .root_fd = bh_boot_root_fd(B),
                           .http_port = 9000};
    bh_strlcpy(x.settings.server_ip, "198.51.100.7", sizeof(x.settings.server_ip));
    x.settings.unknown_hosts = BH_UNKNOWN_IGNORE;
    struct bh_boot_decision d, d2;
    struct bh_boot_client c = client(MAC1, BH_ARCH_BIOS);
    bh_bootpolicy_decide(&x, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_TFTP);
    assert_string_equal(d.filename, "lab.kpxe");
    char ip[16];
    inet_ntop(AF_INET, &d.next_server, ip, sizeof(ip));
    assert_string_equal(ip, "198.51.100.7");
    c.ipxe = true;
    bh_bootpolicy_decide(&x, &c, &d2);
    assert_string_equal(d2.filename, "http://198.51.100.7:9000/boot/boot.ipxe");
    assert_string_equal(d.filename, "lab.kpxe"); /* the first one is intact */
    struct bh_boot_client u = client(MAC2, BH_ARCH_BIOS);
    bh_bootpolicy_decide(&x, &u, &d);
    assert_int_equal(d.kind, BH_BOOT_NONE);
    assert_string_equal(d.why, "unknown host, ignored");
}

static void test_overrides_and_settings(void **state)
{
    (void)state;
    mk(BH_KIND_GROUP, "{'name':'lab','boot':{'files':{'bios':'custom.kpxe','efi64':'g.efi'}}}");
    mk(BH_KIND_HOST, "{'mac':'" MAC1 "','group':'lab','boot':{'files':{'efi64':'h.efi'}}}");
    touch("custom.kpxe");
    touch("h.efi");
    touch("snponly.efi");
    sync_view();
    struct bh_boot_decision d;
    struct bh_boot_client c = client(MAC1, BH_ARCH_BIOS);
    bh_boot_decide(B, &c, &d);
    assert_string_equal(d.filename, "custom.kpxe"); /* the group's */
    c = client(MAC1, BH_ARCH_EFI_X64);
    bh_boot_decide(B, &c, &d);
    assert_string_equal(d.filename, "h.efi"); /* the host's wins */
    /* settings: snponly for hosts without an override, and server_ip */
    mk(BH_KIND_HOST, "{'mac':'" MAC2 "'}");
    patch(BH_KIND_SETTINGS, "boot", "{'snponly':true,'server_ip':'198.51.100.7'}");
    sync_view();
    c = client(MAC2, BH_ARCH_EFI_X64);
    bh_boot_decide(B, &c, &d);
    assert_string_equal(d.filename, "snponly.efi");
    char ip[16];
    inet_ntop(AF_INET, &d.next_server, ip, sizeof(ip));
    assert_string_equal(ip, "198.51.100.7");
}

static void test_unknown_hosts(void **state)
{
    (void)state;
    struct bh_boot_decision d;
    struct bh_boot_client c = client(MAC2, BH_ARCH_BIOS);
    patch(BH_KIND_SETTINGS, "boot", "{'unknown_hosts':'ignore'}");
    sync_view();
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_NONE);
    patch(BH_KIND_SETTINGS, "boot", "{'unknown_hosts':'register'}");
    sync_view();
    bh_boot_decide(B, &c, &d);
    assert_int_equal(d.kind, BH_BOOT_TFTP); /* boots the default meanwhile */
    /* the worker registers it */
    json_t *h = NULL;
    for (int i = 0; i < 200 && bh_store_get(S, bh_kind_get(BH_KIND_HOST), MAC2, &h, NULL); i++)
        usleep(10000);
    assert_non_null(h);
    assert_string_equal(json_string_value(json_object_get(h, "state")), "new");
    /* with what its request said of the firmware (the console's New devices) */
    json_t *hw = json_object_get(h, "hardware");
    assert_string_equal(json_string_value(json_object_get(hw, "firmware")), "bios");
    assert_string_equal(json_string_value(json_object_get(hw, "source")), "dhcp");
    assert_int_equal(json_integer_value(json_object_get(hw, "client_arch")), BH_ARCH_BIOS);
    json_decref(h);
    /* signs of life move its last_seen; it stays new until it is registered */
    sync_view();
    bh_bootwork_seen(bh_boot_work(B), MAC2, "booting");
    h = NULL;
    for (int i = 0; i < 200; i++) {
        json_decref(h);
        h = NULL;
        if (bh_store_get(S, bh_kind_get(BH_KIND_HOST), MAC2, &h, NULL) == 0 &&
            json_is_string(json_object_get(h, "last_seen")))
            break;
        usleep(10000);
    }
    assert_true(json_is_string(json_object_get(h, "last_seen")));
    assert_string_equal(json_string_value(json_object_get(h, "state")), "new");
    json_decref(h);
}

static int tickets_asked;

static int fixed_ticket(void *ud, char *out, size_t cap)
{
    (void)ud;
    tickets_asked++;
    snprintf(out, cap, "%s", "TICKET");
    return 0;
}

static char *script(const char *mac, const char *platform)
{
    struct bh_script_ticket t = {fixed_ticket, NULL, 0, ""};
    struct bh_script_req q = {.mac = mac,
                              .arch = "x86_64",
                              .platform = platform,
                              .http_base = "http://192.0.2.1:8080",
                              .server = "192.0.2.1",
                              .ticket = &t};
    struct bh_buf o;
    struct bh_err e;
    bh_buf_init(&o, 1 << 20);
    if (bh_boot_ipxe_script(B, &q, &o, &e))
        fail_msg("script: %s", e.msg);
    return bh_buf_steal(&o);
}

static void test_ipxe_scripts(void **state)
{
    (void)state;
    mk(BH_KIND_GROUP, "{'name':'lab','config':{'os':[{'name':'Windows 10'},{'name':'Ubuntu'}]}}");
    mk(BH_KIND_HOST, "{'mac':'" MAC1 "','name':'pc1','group':'lab','labels':{'role':'kiosk'}}");
    sync_view();
    tickets_asked = 0;
    char *s = script(MAC1, "efi");
    assert_non_null(strstr(s, "#!ipxe\n"));
    assert_non_null(strstr(s, "kernel http://192.0.2.1:8080/boot/files/client/vmlinuz?mac=" MAC1
                              " initrd=initrd0 initrd=initrd1 console=ttyS0 host=pc1 "
                              "url=http://192.0.2.1:8080 role=kiosk grp=lab t=TICKET\n"));
    assert_int_equal(tickets_asked, 1);
    assert_non_null(strstr(s, "initrd --name initrd1 http://192.0.2.1:8080/boot/files/client/"
                              "b.gz?mac=" MAC1 "\n"));
    free(s);
    /* menu: OS entries, the profile and the local disk */
    patch(BH_KIND_HOST, MAC1, "{'boot':{'action':'menu','menu_timeout':7,'menu_default':'os:2'}}");
    sync_view();
    s = script(MAC1, "pcbios");
    assert_non_null(strstr(s, "item os1 1: Windows 10\n"));
    assert_non_null(strstr(s, "item os2 2: Ubuntu\n"));
    assert_non_null(strstr(s, "choose --default os2 --timeout 7000 target"));
    assert_non_null(strstr(s, "bootherd.action=start:2\n"));
    assert_non_null(strstr(s, ":local\n"));
    assert_int_equal(tickets_asked, 2); /* once for the whole menu */
    free(s);
    /* local disk: sanboot under BIOS, exit under EFI */
    patch(BH_KIND_GROUP, "lab", "{'boot':{'action':'local'}}");
    patch(BH_KIND_HOST, MAC1, "{'boot':null}");
    sync_view();
    s = script(MAC1, "pcbios");
    assert_non_null(strstr(s, "sanboot --no-describe --drive 0x80 || exit\n"));
    assert_null(strstr(s, "kernel "));
    assert_int_equal(tickets_asked, 2); /* a script to the disk asks for no ticket */
    free(s);
    s = script(MAC1, "efi");
    assert_non_null(strstr(s, "\nexit\n"));
    free(s);
    /* a profile that does not exist says so on the console */
    patch(BH_KIND_GROUP, "lab", "{'boot':null}");
    patch(BH_KIND_SETTINGS, "boot", "{'default_profile':null}");
    mk(BH_KIND_PROFILE, "{'name':'other','kernel':'x'}");
    patch(BH_KIND_HOST, MAC1, "{'profile':'other'}");
    struct bh_err e;
    assert_int_equal(bh_store_delete(S, bh_kind_get(BH_KIND_PROFILE), "other", 0, &A, &e),
                     BH_ECONFLICT); /* still used by the host */
    sync_view();
    s = script(MAC1, "efi");
    assert_non_null(strstr(s, "kernel http://192.0.2.1:8080/boot/files/x?mac="));
    free(s);
}

static char *vfile(const char *path, int want_rc)
{
    struct bh_buf o;
    bh_buf_init(&o, 1 << 16);
    int rc = bh_boot_virtual_file(B, path, "192.0.2.1:8080", &o);
    assert_int_equal(rc, want_rc);
    return rc ? (bh_buf_free(&o), NULL) : bh_buf_steal(&o);
}

static void test_generated_files(void **state)
{
    (void)state;
    mk(BH_KIND_HOST, "{'mac':'" MAC1 "','name':'pi4','serial':'10000000abcdef01'}");
    sync_view();
    char *s = vfile("pxelinux.cfg/01-52-54-00-00-00-01", 0);
    assert_non_null(strstr(s, "KERNEL client/vmlinuz\n"));
    assert_non_null(strstr(s, "INITRD client/a.gz,client/b.gz\n"));
    assert_non_null(strstr(s, "APPEND console=ttyS0 host=pi4"));
    free(s);
    s = vfile("grub/grub.cfg-01-52-54-00-00-00-01", 0);
    assert_non_null(strstr(s, "linux /client/vmlinuz console=ttyS0 host=pi4"));
    assert_non_null(strstr(s, "initrd /client/a.gz /client/b.gz\n"));
    free(s);
    s = vfile("10000000abcdef01/config.txt", 0);
    assert_non_null(strstr(s, "kernel=client/vmlinuz\n"));
    assert_non_null(strstr(s, "initramfs client/a.gz followkernel\n"));
    free(s);
    s = vfile("10000000abcdef01/cmdline.txt", 0);
    assert_non_null(strstr(s, "console=ttyS0 host=pi4"));
    free(s);
    vfile("10000000ffffffff/cmdline.txt", BH_ENOTFOUND); /* no such serial */
    vfile("pxelinux.cfg/default", BH_ENOTFOUND);
    vfile("pxelinux.cfg/01-zz-54-00-00-00-01", BH_ENOTFOUND);
    vfile("undionly.kpxe", BH_ENOTFOUND);
}

/* ---- boot tickets: who is booting where ----------------------------------- */

static char fake_neigh[64]; /* "ip mac" the fake neighbour table holds, or "" */

static int fake_neighbour_of(const char *ip, char mac[BH_MAC_STRLEN])
{
    size_t n = strlen(ip);
    if (strncmp(fake_neigh, ip, n) != 0 || fake_neigh[n] != ' ')
        return BH_ENOTFOUND;
    snprintf(mac, 18, "%s", fake_neigh + n + 1);
    return 0;
}

static int mints;

static int fake_mint(void *ud, const char *mac, char *out, size_t cap)
{
    (void)ud;
    snprintf(out, cap, "ticket-%s-%d", mac, ++mints);
    return 0;
}

static void test_bootproof(void **state)
{
    (void)state;
    const char *ma = "52:54:00:00:01:01", *mb = "52:54:00:00:01:02";
    struct bh_bootproof_config c = {300000, false, false, fake_neighbour_of};
    struct bh_bootproof *p;
    char t[BH_BOOTPROOF_TICKET_MAX];
    struct bh_err e;
    int64_t now = 1000000;
    fake_neigh[0] = '\0';
    mints = 0;
    assert_int_equal(bh_bootproof_new(&c, &p), 0);
#define TICKET(mac, ip, at) bh_bootproof_ticket(p, mac, ip, at, fake_mint, NULL, t, &e)
    /* nothing seen: no ticket, and why */
    assert_int_equal(TICKET(ma, "192.0.2.10", now), BH_EPERM);
    assert_non_null(strstr(e.msg, "no DHCP exchange"));
    /* proxy mode: the exchange proves the address for the window, when the
     * neighbour table agrees */
    bh_bootproof_seen(p, ma, "192.0.2.10", 0, false, now);
    assert_int_equal(TICKET(ma, "192.0.2.10", now + 1000), BH_EPERM);
    assert_non_null(strstr(e.msg, "neighbour table has no entry")); /* routed, or this server */
    snprintf(fake_neigh, sizeof(fake_neigh), "192.0.2.10 %s", ma);
    assert_int_equal(TICKET(ma, "::ffff:192.0.2.10", now + 1000), 0); /* a dual-stack socket */
    assert_string_equal(t, "ticket-52:54:00:00:01:01-1");
    /* one boot, one ticket; the boot is still proven */
    assert_int_equal(TICKET(ma, "192.0.2.10", now + 2000), BH_EPERM);
    assert_non_null(strstr(e.msg, "handed out already"));
    assert_int_equal(bh_bootproof_check(p, ma, "192.0.2.10", now + 2000, &e), 0);
    assert_int_equal(bh_bootproof_check(p, ma, "192.0.2.11", now + 2000, &e), BH_EPERM);
    /* loopback never */
    bh_bootproof_seen(p, mb, "127.0.0.1", 0, false, now);
    assert_int_equal(TICKET(mb, "127.0.0.1", now), BH_EPERM);
    assert_non_null(strstr(e.msg, "this server itself"));
    /* another address, or another MAC from this one: refused */
    assert_int_equal(TICKET(ma, "192.0.2.67", now + 2000), BH_EPERM);
    assert_non_null(strstr(e.msg, "was for 192.0.2.10"));
    assert_int_equal(TICKET(mb, "192.0.2.10", now + 2000), BH_EPERM);
    /* the neighbour table gives the address to another MAC: refused even
     * with DHCP proof (a forged exchange, or someone answering for it) */
    bh_bootproof_seen(p, mb, "192.0.2.10", 0, false, now + 3000);
    assert_int_equal(TICKET(mb, "192.0.2.10", now + 3001), BH_EPERM);
    assert_non_null(strstr(e.msg, "neighbour table gives to 52:54:00:00:01:01"));
    /* past the window: refused; a new exchange is a new boot with a new ticket */
    bh_bootproof_seen(p, ma, "192.0.2.10", 0, false, now + 400000);
    assert_int_equal(TICKET(ma, "192.0.2.10", now + 700001), BH_EPERM);
    bh_bootproof_seen(p, ma, "192.0.2.10", 0, false, now + 800000);
    assert_int_equal(TICKET(ma, "192.0.2.10", now + 800001), 0);
    assert_string_equal(t, "ticket-52:54:00:00:01:01-2");
    /* full mode: a lease proves the address for the window, not past its end */
    snprintf(fake_neigh, sizeof(fake_neigh), "192.0.2.20 %s", mb);
    bh_bootproof_seen(p, mb, "192.0.2.20", now + 60000, false, now);
    assert_int_equal(TICKET(mb, "192.0.2.20", now + 60001), BH_EPERM);
    bh_bootproof_seen(p, mb, "192.0.2.20", now + 3600000, false, now);
    assert_int_equal(TICKET(mb, "192.0.2.20", now + 300001), BH_EPERM); /* the window */
    bh_bootproof_seen(p, mb, "192.0.2.20", now + 3600000, false, now);
    assert_int_equal(TICKET(mb, "192.0.2.20", now + 1000), 0);
    /* through a relay: no neighbour entry, so only with `relayed` on */
    fake_neigh[0] = '\0';
    bh_bootproof_seen(p, mb, "198.51.100.7", 0, true, now);
    assert_int_equal(TICKET(mb, "198.51.100.7", now + 1), BH_EPERM);
    assert_non_null(strstr(e.msg, "ticket_relayed is off"));
    bh_bootproof_free(p);
    c.relayed = true;
    assert_int_equal(bh_bootproof_new(&c, &p), 0);
    bh_bootproof_seen(p, mb, "198.51.100.7", 0, true, now);
    assert_int_equal(TICKET(mb, "198.51.100.7", now + 1), 0);
    /* ... but a direct exchange still needs the neighbour entry */
    bh_bootproof_seen(p, ma, "198.51.100.8", 0, false, now);
    assert_int_equal(TICKET(ma, "198.51.100.8", now + 1), BH_EPERM);
    bh_bootproof_free(p);

    /* neighbour mode: a complete entry alone is proof (another server does
     * DHCP); without one, still refused */
    c.relayed = false;
    c.neighbour = true;
    assert_int_equal(bh_bootproof_new(&c, &p), 0);
    snprintf(fake_neigh, sizeof(fake_neigh), "192.0.2.30 %s", ma);
    assert_int_equal(TICKET(ma, "192.0.2.30", now), 0);
    assert_int_equal(TICKET(ma, "192.0.2.30", now + 10), BH_EPERM); /* once */
    assert_int_equal(TICKET(ma, "192.0.2.31", now), BH_EPERM);
    bh_bootproof_free(p);

    /* a full table forgets the least recently seen machine first */
    c.neighbour = false;
    assert_int_equal(bh_bootproof_new(&c, &p), 0);
    snprintf(fake_neigh, sizeof(fake_neigh), "192.0.2.40 %s", ma);
    bh_bootproof_seen(p, ma, "192.0.2.40", 0, false, now);
    for (int i = 0; i < BH_BOOTPROOF_MAX - 1; i++) {
        char m[BH_MAC_STRLEN];
        snprintf(m, sizeof(m), "02:00:00:%02x:%02x:%02x", (i >> 16) & 0xff, (i >> 8) & 0xff,
                 i & 0xff);
        bh_bootproof_seen(p, m, "192.0.2.99", 0, false, now);
    }
    bh_bootproof_seen(p, ma, "192.0.2.40", 0, false, now); /* seen again: the newest */
    bh_bootproof_seen(p, "02:ff:00:00:00:01", "192.0.2.98", 0, false, now); /* one more */
    assert_int_equal(TICKET(ma, "192.0.2.40", now + 1), 0);
#undef TICKET
    bh_bootproof_free(p);
}

static void test_bootstrap(void **state)
{
    (void)state;
    struct bh_buf o;
    bh_buf_init(&o, 4096);
    assert_int_equal(bh_boot_bootstrap("http://192.0.2.1:8080", &o), 0);
    assert_non_null(strstr(o.p, "chain http://192.0.2.1:8080/boot/ipxe?mac=${netX/mac}"));
    bh_buf_free(&o);
}

/* why a host waits: each fact in its turn (bootwait.c) */
/* The typed DHCP and TFTP events become event data once, in bootwork,
 * with the fields the console reads: an absent address is "", a client's
 * file name is made valid UTF-8, an error only on a failed transfer. */
static void test_event_data(void **state)
{
    (void)state;
    struct bh_dhcp_event d = {.type = "dhcp.ack",
                              .mac = MAC1,
                              .mode = BH_DHCP_FULL,
                              .iface = "eth1",
                              .boot = BH_BOOT_TFTP,
                              .file = "undionly.kpxe",
                              .why = "bios",
                              .arch = BH_ARCH_BIOS,
                              .lease_time = 3600};
    inet_pton(AF_INET, "192.0.2.50", &d.ip);
    json_t *j = bh_bootwork_dhcp_data(&d);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "full");
    assert_string_equal(json_string_value(json_object_get(j, "mac")), MAC1);
    assert_string_equal(json_string_value(json_object_get(j, "ip")), "192.0.2.50");
    assert_string_equal(json_string_value(json_object_get(j, "relay")), "");
    assert_string_equal(json_string_value(json_object_get(j, "interface")), "eth1");
    assert_string_equal(json_string_value(json_object_get(j, "boot")), "tftp");
    assert_string_equal(json_string_value(json_object_get(j, "file")), "undionly.kpxe");
    assert_string_equal(json_string_value(json_object_get(j, "why")), "bios");
    assert_int_equal(json_integer_value(json_object_get(j, "arch")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "lease_time")), 3600);
    assert_int_equal(json_object_size(j), 10);
    json_decref(j);
    d.mode = BH_DHCP_PROXY;
    d.ip.s_addr = 0;
    inet_pton(AF_INET, "192.0.2.1", &d.relay);
    j = bh_bootwork_dhcp_data(&d);
    assert_string_equal(json_string_value(json_object_get(j, "mode")), "proxy");
    assert_string_equal(json_string_value(json_object_get(j, "ip")), "");
    assert_string_equal(json_string_value(json_object_get(j, "relay")), "192.0.2.1");
    json_decref(j);

    struct bh_tftp_event t = {.ok = true, .bytes = 3000, .nanos = 2500000, .blksize = 1468};
    t.client.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.50", &t.client.sin_addr);
    bh_strlcpy(t.path,
               "a\xff"
               "b",
               sizeof(t.path)); /* not UTF-8 */
    bh_strlcpy(t.error, "ignored when ok", sizeof(t.error));
    j = bh_bootwork_tftp_data(&t);
    assert_non_null(j);
    const char *file = json_string_value(json_object_get(j, "file"));
    assert_non_null(file);
    assert_string_not_equal(file, "a\xff"
                                  "b");
    assert_int_equal(json_integer_value(json_object_get(j, "bytes")), 3000);
    assert_true(json_real_value(json_object_get(j, "ms")) == 2.5);
    assert_int_equal(json_integer_value(json_object_get(j, "blksize")), 1468);
    assert_string_equal(json_string_value(json_object_get(j, "client")), "192.0.2.50");
    assert_null(json_object_get(j, "error"));
    json_decref(j);
    t.ok = false;
    bh_strlcpy(t.error, "file not found", sizeof(t.error));
    j = bh_bootwork_tftp_data(&t);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "file not found");
    json_decref(j);
}

static void test_wait_reason(void **state)
{
    (void)state;
    char r[512];
    struct bh_wait_facts f = {.action = "profile",
                              .profile = "bootherd-client",
                              .profile_exists = true,
                              .runs_agent = true,
                              .missing = NULL,
                              .last_seen = "2026-12-05T10:00:00.000Z"};
    assert_string_equal(bh_boot_wait_reason(&f, r, sizeof(r)), "agent-silent");
    assert_string_equal(r, "booted (last seen 2026-12-05T10:00:00.000Z), but its agent has not "
                           "asked for work since");
    f.last_seen = NULL;
    assert_string_equal(bh_boot_wait_reason(&f, r, sizeof(r)), "never-booted");
    assert_string_equal(r, "never booted: no network boot seen from it yet; wake it or switch it "
                           "on");
    f.missing = "client/vmlinuz";
    assert_string_equal(bh_boot_wait_reason(&f, r, sizeof(r)), "client-not-built");
    assert_string_equal(r, "client OS not built: client/vmlinuz (of profile 'bootherd-client') is "
                           "not in the boot root; run bootherd client build");
    f.runs_agent = false;
    f.profile = "memtest";
    assert_string_equal(bh_boot_wait_reason(&f, r, sizeof(r)), "other-profile");
    assert_string_equal(r, "boots another profile: 'memtest' does not start the client OS (its "
                           "cmdline passes no bootherd.ticket)");
    f.profile_exists = false;
    assert_string_equal(bh_boot_wait_reason(&f, r, sizeof(r)), "no-profile");
    assert_string_equal(r, "no boot profile: profile 'memtest' does not exist (bootherd client "
                           "build makes bootherd-client)");
    f.profile = "";
    assert_string_equal(bh_boot_wait_reason(&f, r, sizeof(r)), "no-profile");
    assert_string_equal(r, "no boot profile: none is set for the host, its group or the server");
    f.action = "local";
    assert_string_equal(bh_boot_wait_reason(&f, r, sizeof(r)), "local-boot");
    assert_string_equal(r, "boots from its local disk (boot action local), not into the client "
                           "OS");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loader_by_firmware, setup, teardown),
        cmocka_unit_test_setup_teardown(test_policy_narrow_view, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overrides_and_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipxe_scripts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_generated_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bootstrap, setup, teardown),
        cmocka_unit_test(test_bootproof),
        cmocka_unit_test(test_wait_reason),
        cmocka_unit_test(test_event_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
