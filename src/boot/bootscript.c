/*
 * bootscript.c - what a machine boots, written for each boot loader: iPXE
 * scripts (menu, direct boot, exit to disk), GRUB and pxelinux configs, and
 * the Raspberry Pi's cmdline.txt and config.txt.
 *
 * One plan (host, group, merged boot settings, profile) is made per request
 * from the boot view and rendered for the loader that asked.
 */
#include "bootscript.h"

#include "core/log.h"
#include "core/mac.h"
#include "core/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MENU_TIMEOUT_DEFAULT 10 /* seconds */
#define MAX_INITRDS          16

struct plan {
    json_t *host, *group, *profile, *boot;
    const char *action; /* profile, menu, local */
    const char *mac;
    char profile_name[64];
};

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

static void plan_free(struct plan *p)
{
    json_decref(p->host);
    json_decref(p->group);
    json_decref(p->profile);
    json_decref(p->boot);
}

/* host's "boot" keys over the group's; "files" merged key by key */
static json_t *merge_boot(const json_t *group, const json_t *host)
{
    json_t *out = json_object();
    const json_t *gb = json_object_get(group, "boot"), *hb = json_object_get(host, "boot");
    if (json_is_object(gb))
        json_object_update(out, (json_t *)gb);
    if (json_is_object(hb)) {
        json_t *files = json_deep_copy(json_object_get(out, "files"));
        json_object_update(out, (json_t *)hb);
        if (json_is_object(files) && json_is_object(json_object_get(hb, "files"))) {
            json_object_update(files, json_object_get(hb, "files"));
            json_object_set(out, "files", files);
        }
        json_decref(files);
    }
    return out;
}

static void plan_make(const struct bh_bootctx *x, const char *mac, json_t *host, struct plan *p)
{
    struct bh_bootview *v = x->view;
    const struct bh_boot_settings *st = &x->settings;
    memset(p, 0, sizeof(*p));
    p->mac = mac;
    p->host = host;
    p->group = host ? bh_bootview_group(v, sget(host, "group")) : NULL;
    p->boot = merge_boot(p->group, p->host);
    p->action = sget(p->boot, "action") ? sget(p->boot, "action") : "profile";
    const char *name = sget(host, "profile");
    if (!name)
        name = sget(p->group, "default_profile");
    if (!name)
        name = st->default_profile;
    bh_strlcpy(p->profile_name, name ? name : "", sizeof(p->profile_name));
    p->profile = bh_bootview_profile(v, p->profile_name);
}

void bh_bootscript_choice(const struct bh_bootctx *x, const char *mac, const json_t *host,
                          char *profile, size_t pcap, char *action, size_t acap)
{
    struct plan p;
    plan_make(x, mac, json_incref((json_t *)host), &p);
    bh_strlcpy(profile, p.profile_name, pcap);
    bh_strlcpy(action, p.action, acap);
    plan_free(&p);
}

/* ---- templates ----------------------------------------------------------- */

/* Value of one {{variable}}; "" when unknown or unset. */
static const char *var(const struct plan *p, const struct bh_script_req *q, const char *name,
                       char *tmp, size_t cap)
{
    if (!strcmp(name, "mac"))
        return p->mac;
    if (!strcmp(name, "server"))
        return q->server ? q->server : "";
    if (!strcmp(name, "http_base"))
        return q->http_base ? q->http_base : "";
    if (!strcmp(name, "ticket")) { /* asked for once, and only by a script that uses it */
        struct bh_script_ticket *t = q->ticket;
        if (t && !t->state)
            t->state = t->get(t->ud, t->value, sizeof(t->value)) ? -1 : 1;
        return t && t->state > 0 ? t->value : "";
    }
    if (!strcmp(name, "profile.name"))
        return p->profile_name;
    if (!strcmp(name, "group.name"))
        return sget(p->group, "name") ? sget(p->group, "name") : "";
    if (!strncmp(name, "host.labels.", 12)) {
        const char *v = sget(json_object_get(p->host, "labels"), name + 12);
        return v ? v : "";
    }
    if (!strncmp(name, "host.", 5)) {
        const char *v = sget(p->host, name + 5);
        if (!v && !strcmp(name + 5, "mac"))
            v = p->mac;
        return v ? v : "";
    }
    snprintf(tmp, cap, "%s", "");
    return tmp;
}

/* Expand {{name}} in tpl; characters that would break a boot config line
 * (control bytes, quotes) are dropped from substituted values. */
static int expand(const struct plan *p, const struct bh_script_req *q, const char *tpl,
                  struct bh_buf *out)
{
    int rc = 0;
    for (const char *s = tpl; *s && !rc;) {
        const char *open = strstr(s, "{{");
        const char *close = open ? strstr(open + 2, "}}") : NULL;
        if (!open || !close) {
            rc = bh_buf_adds(out, s);
            break;
        }
        rc = bh_buf_add(out, s, (size_t)(open - s));
        char name[96], tmp[8];
        size_t n = (size_t)(close - open - 2);
        if (n < sizeof(name)) {
            memcpy(name, open + 2, n);
            name[n] = '\0';
            /* tolerate {{ host.name }} */
            char *nm = name + strspn(name, " ");
            for (size_t k = strlen(nm); k && nm[k - 1] == ' '; k--)
                nm[k - 1] = '\0';
            const char *val = var(p, q, nm, tmp, sizeof(tmp));
            for (const char *v = val ? val : ""; *v && !rc; v++)
                if ((unsigned char)*v >= 0x20 && *v != '"' && *v != 0x7f)
                    rc = bh_buf_addc(out, *v);
        }
        s = close + 2;
    }
    return rc;
}

static bool is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "tftp://", 7);
}

/* iPXE fetches relative paths from our HTTP boot files, tagged with the MAC
 * so the fetch shows up on the host's timeline */
static int file_url(const struct plan *p, const struct bh_script_req *q, const char *path,
                    struct bh_buf *out)
{
    if (is_url(path))
        return bh_buf_adds(out, path);
    return bh_buf_printf(out, "%s/boot/files/%s?mac=%s", q->http_base,
                         path[0] == '/' ? path + 1 : path, p->mac);
}

/* ---- iPXE ---------------------------------------------------------------- */

static int ipxe_local(const struct bh_script_req *q, struct bh_buf *o)
{
    /* SeaBIOS and most BIOSes boot the disk with sanboot; EFI returns to the
     * firmware's boot order with exit */
    if (q->platform && !strcmp(q->platform, "pcbios"))
        return bh_buf_adds(o, "echo Booting from the local disk\n"
                              "sanboot --no-describe --drive 0x80 || exit\n");
    return bh_buf_adds(o, "echo Booting from the local disk\nexit\n");
}

/* kernel + initrds + boot, with `extra` appended to the command line */
static int ipxe_profile(const struct plan *p, const struct bh_script_req *q, const char *extra,
                        struct bh_buf *o)
{
    const char *kernel = sget(p->profile, "kernel");
    const json_t *initrds = json_object_get(p->profile, "initrds");
    const char *cmdline = sget(p->profile, "cmdline");
    if (!kernel)
        return bh_buf_printf(o, "echo bootherd: boot profile '%s' does not exist\nsleep 10\nexit\n",
                             p->profile_name);
    int rc = bh_buf_printf(o, "echo Booting %s\nkernel ", p->profile_name);
    if (!rc)
        rc = file_url(p, q, kernel, o);
    size_t n = json_array_size(initrds);
    if (n > MAX_INITRDS)
        n = MAX_INITRDS;
    /* UEFI kernels find their initrds by name (initrd=...); harmless on BIOS */
    for (size_t i = 0; i < n && !rc; i++)
        rc = bh_buf_printf(o, " initrd=initrd%zu", i);
    if (!rc && cmdline) {
        rc = bh_buf_addc(o, ' ');
        if (!rc)
            rc = expand(p, q, cmdline, o);
    }
    if (!rc && extra)
        rc = bh_buf_printf(o, " %s", extra);
    if (!rc)
        rc = bh_buf_addc(o, '\n');
    for (size_t i = 0; i < n && !rc; i++) {
        const char *path = json_string_value(json_array_get(initrds, i));
        if (!path)
            continue;
        rc = bh_buf_printf(o, "initrd --name initrd%zu ", i);
        if (!rc)
            rc = file_url(p, q, path, o);
        if (!rc)
            rc = bh_buf_addc(o, '\n');
    }
    if (!rc)
        rc = bh_buf_adds(o, "boot || goto failed\n");
    return rc;
}

static int ipxe_menu(const struct plan *p, const struct bh_script_req *q, struct bh_buf *o)
{
    const json_t *oses = json_object_get(json_object_get(p->group, "config"), "os");
    const char *title = sget(p->host, "name") ? sget(p->host, "name") : p->mac;
    int64_t timeout = json_integer_value(json_object_get(p->boot, "menu_timeout"));
    if (!json_object_get(p->boot, "menu_timeout"))
        timeout = MENU_TIMEOUT_DEFAULT;
    const char *def = sget(p->boot, "menu_default") ? sget(p->boot, "menu_default") : "profile";
    char defitem[32];
    if (!strncmp(def, "os:", 3))
        snprintf(defitem, sizeof(defitem), "os%s", def + 3);
    else
        bh_strlcpy(defitem, def, sizeof(defitem));
    int rc = bh_buf_printf(o, "menu bootherd: %s\n", title);
    size_t i, n = json_array_size(oses);
    json_t *os;
    if (!rc && n)
        rc = bh_buf_adds(o, "item --gap Operating systems\n");
    json_array_foreach(oses, i, os)
    {
        if (rc)
            break;
        const char *name = sget(os, "name");
        rc = bh_buf_printf(o, "item os%zu %zu: ", i + 1, i + 1);
        if (!rc)
            rc = expand(p, q, name ? name : "?", o);
        if (!rc)
            rc = bh_buf_addc(o, '\n');
    }
    if (!rc)
        rc = bh_buf_printf(o,
                           "item --gap Boot\nitem profile %s\nitem local Boot from the local "
                           "disk\nchoose --default %s --timeout %lld target || goto local\n"
                           "goto ${target}\n",
                           p->profile_name[0] ? p->profile_name : "(no profile)", defitem,
                           (long long)timeout * 1000);
    json_array_foreach(oses, i, os)
    {
        if (rc)
            break;
        char extra[48];
        snprintf(extra, sizeof(extra), "bootherd.action=start:%zu", i + 1);
        rc = bh_buf_printf(o, ":os%zu\n", i + 1);
        if (!rc)
            rc = ipxe_profile(p, q, extra, o);
    }
    if (!rc)
        rc = bh_buf_adds(o, ":profile\n");
    if (!rc)
        rc = ipxe_profile(p, q, NULL, o);
    if (!rc)
        rc = bh_buf_adds(o, ":local\n");
    if (!rc)
        rc = ipxe_local(q, o);
    return rc;
}

int bh_boot_bootstrap(const char *http_base, struct bh_buf *out)
{
    /* ${netX/mac}: the interface iPXE booted from (not always net0 on a
     * machine with several ports); the rest helps to register
     * the machine and to choose the loader */
    return bh_buf_printf(out,
                         "#!ipxe\n"
                         "# bootherd bootstrap: fetch this machine's own script\n"
                         "chain %s/boot/ipxe?mac=${netX/mac}&arch=${buildarch}&platform=${platform}"
                         "&uuid=${uuid}&serial=${serial} || goto failed\n"
                         ":failed\n"
                         "echo bootherd: cannot fetch the boot script; retrying in 10 seconds\n"
                         "sleep 10\n"
                         "chain %s/boot/boot.ipxe || exit\n",
                         http_base, http_base);
}

int bh_bootscript_ipxe(const struct bh_bootctx *x, const struct bh_script_req *q,
                       struct bh_buf *out, struct bh_err *err)
{
    struct bh_bootview *v = x->view;
    const struct bh_boot_settings *st = &x->settings;
    json_t *host = bh_bootview_host(v, q->mac);
    if (!host && st->unknown_hosts == BH_UNKNOWN_IGNORE) {
        bh_log(BH_LOG_INFO, "unknown host ignored", "mac=%s", q->mac);
        return bh_buf_printf(out, "#!ipxe\necho bootherd does not boot %s (unknown)\nexit\n",
                             q->mac);
    }
    if (!host && st->unknown_hosts == BH_UNKNOWN_REGISTER) {
        json_t *doc = json_pack("{s:s, s:s}", "mac", q->mac, "state", "new");
        if (doc && q->arch &&
            (!strcmp(q->arch, "x86_64") || !strcmp(q->arch, "i386") || !strcmp(q->arch, "arm64")))
            json_object_set_new(doc, "arch", json_string(q->arch));
        /* iPXE's ${platform}: the firmware, for the console's New devices */
        const char *fw = !q->platform                     ? NULL
                         : !strcmp(q->platform, "pcbios") ? "bios"
                         : !strcmp(q->platform, "efi")    ? "uefi"
                                                          : NULL;
        if (doc && fw)
            json_object_set_new(doc, "hardware",
                                json_pack("{s:s, s:s}", "source", "ipxe", "firmware", fw));
        bh_bootwork_register(x->work, doc);
    }
    struct plan p;
    plan_make(x, q->mac, host, &p);
    if (host && x->take_local_once && x->take_local_once(x->ud, q->mac))
        p.action = "local";
    int rc = bh_buf_printf(out, "#!ipxe\n# bootherd: %s %s, action %s\n", q->mac,
                           sget(host, "name") ? sget(host, "name") : "(unknown host)", p.action);
    if (!rc && !strcmp(p.action, "local"))
        rc = ipxe_local(q, out);
    else if (!rc && !strcmp(p.action, "menu"))
        rc = ipxe_menu(&p, q, out);
    else if (!rc)
        rc = ipxe_profile(&p, q, NULL, out);
    if (!rc)
        rc = bh_buf_adds(out, ":failed\necho bootherd: boot failed\nsleep 10\nexit\n");
    bool missing = strcmp(p.action, "local") && !p.profile;
    json_t *data = json_pack("{s:s, s:s, s:s?, s:s?, s:b}", "action", p.action, "profile",
                             p.profile_name, "arch", q->arch, "platform", q->platform, "ticket",
                             q->ticket && q->ticket->state > 0);
    bh_bootwork_event(x->work, q->mac, "boot.script", data);
    if (host)
        bh_bootwork_seen(x->work, q->mac, "booting");
    plan_free(&p);
    if (rc)
        return bh_err_set(err, BH_ENOMEM, NULL, "boot script too large");
    if (missing)
        bh_log(BH_LOG_WARN, "boot profile missing", "mac=%s profile=%s", q->mac,
               p.profile_name[0] ? p.profile_name : "(none)");
    return 0;
}

/* ---- GRUB, pxelinux, Raspberry Pi ---------------------------------------- */

/* a path GRUB loads over the network it booted from; URLs as (http,host) */
static int grub_path(const char *path, struct bh_buf *o)
{
    if (!strncmp(path, "http://", 7)) {
        const char *slash = strchr(path + 7, '/');
        size_t hn = slash ? (size_t)(slash - path - 7) : strlen(path + 7);
        return bh_buf_printf(o, "(http,%.*s)%s", (int)hn, path + 7, slash ? slash : "/");
    }
    return bh_buf_printf(o, "%s%s", path[0] == '/' ? "" : "/", path);
}

static int render_grub(const struct plan *p, const struct bh_script_req *q, struct bh_buf *o)
{
    int rc = bh_buf_printf(o, "# bootherd: %s\nset timeout=0\n", p->mac);
    if (!rc && !strcmp(p->action, "local"))
        return bh_buf_adds(o, "exit\n");
    const char *kernel = sget(p->profile, "kernel");
    if (!rc && !kernel)
        return bh_buf_printf(o, "echo \"bootherd: boot profile '%s' does not exist\"\nsleep 10\n",
                             p->profile_name);
    if (!rc)
        rc = bh_buf_printf(o, "menuentry \"%s\" {\n  linux ", p->profile_name);
    if (!rc)
        rc = grub_path(kernel, o);
    if (!rc && sget(p->profile, "cmdline")) {
        rc = bh_buf_addc(o, ' ');
        if (!rc)
            rc = expand(p, q, sget(p->profile, "cmdline"), o);
    }
    size_t i;
    json_t *ird;
    if (!rc && json_array_size(json_object_get(p->profile, "initrds")))
        rc = bh_buf_adds(o, "\n  initrd");
    json_array_foreach(json_object_get(p->profile, "initrds"), i, ird)
    {
        if (rc || !json_is_string(ird))
            continue;
        rc = bh_buf_addc(o, ' ');
        if (!rc)
            rc = grub_path(json_string_value(ird), o);
    }
    if (!rc)
        rc = bh_buf_adds(o, "\n}\n");
    return rc;
}

static int render_pxelinux(const struct plan *p, const struct bh_script_req *q, struct bh_buf *o)
{
    int rc = bh_buf_printf(o, "# bootherd: %s\nDEFAULT bootherd\nLABEL bootherd\n", p->mac);
    if (!rc && (!strcmp(p->action, "local") || !sget(p->profile, "kernel")))
        return bh_buf_adds(o, "  LOCALBOOT 0\n");
    if (!rc)
        rc = bh_buf_printf(o, "  KERNEL %s\n", sget(p->profile, "kernel"));
    size_t i;
    json_t *ird;
    json_array_foreach(json_object_get(p->profile, "initrds"), i, ird)
    {
        if (!rc && json_is_string(ird))
            rc = bh_buf_printf(o, "%s%s", i ? "," : "  INITRD ", json_string_value(ird));
    }
    if (!rc && json_array_size(json_object_get(p->profile, "initrds")))
        rc = bh_buf_addc(o, '\n');
    if (!rc && sget(p->profile, "cmdline")) {
        rc = bh_buf_adds(o, "  APPEND ");
        if (!rc)
            rc = expand(p, q, sget(p->profile, "cmdline"), o);
        if (!rc)
            rc = bh_buf_addc(o, '\n');
    }
    return rc;
}

static int render_rpi_config(const struct plan *p, struct bh_buf *o)
{
    const char *kernel = sget(p->profile, "kernel");
    int rc = bh_buf_printf(o, "# bootherd: %s\n[all]\narm_64bit=1\n", p->mac);
    if (!rc && kernel)
        rc = bh_buf_printf(o, "kernel=%s\n", kernel);
    const char *ird = json_string_value(json_array_get(json_object_get(p->profile, "initrds"), 0));
    if (!rc && ird)
        rc = bh_buf_printf(o, "initramfs %s followkernel\n", ird);
    return rc;
}

static int render_rpi_cmdline(const struct plan *p, const struct bh_script_req *q, struct bh_buf *o)
{
    int rc = sget(p->profile, "cmdline") ? expand(p, q, sget(p->profile, "cmdline"), o) : 0;
    return rc ? rc : bh_buf_addc(o, '\n');
}

/* "01-aa-bb-cc-dd-ee-ff" -> MAC, the way PXELINUX and GRUB name per-MAC files */
static bool mac_from_file(const char *s, char mac[BH_MAC_STRLEN])
{
    return strlen(s) == 20 && !strncmp(s, "01-", 3) && bh_mac_normalize(s + 3, mac) == 0;
}

int bh_bootscript_file(const struct bh_bootctx *x, const char *path, const char *server,
                       struct bh_buf *out)
{
    struct bh_bootview *v = x->view;
    char mac[BH_MAC_STRLEN];
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    json_t *host = NULL;
    enum { PXELINUX, GRUB, RPI_CONFIG, RPI_CMDLINE } what;
    if (!strncmp(path, "pxelinux.cfg/", 13) && mac_from_file(path + 13, mac)) {
        what = PXELINUX;
        host = bh_bootview_host(v, mac);
    } else if (!strncmp(base, "grub.cfg-", 9) && mac_from_file(base + 9, mac)) {
        what = GRUB;
        host = bh_bootview_host(v, mac);
    } else if (base != path && (!strcmp(base, "config.txt") || !strcmp(base, "cmdline.txt"))) {
        char serial[129];
        size_t n = (size_t)(base - path - 1);
        if (n >= sizeof(serial) || memchr(path, '/', n))
            return BH_ENOTFOUND;
        memcpy(serial, path, n);
        serial[n] = '\0';
        host = bh_bootview_host_by_serial(v, serial);
        if (!host)
            return BH_ENOTFOUND;
        bh_strlcpy(mac, json_string_value(json_object_get(host, "mac")), sizeof(mac));
        what = base[1] == 'o' ? RPI_CONFIG : RPI_CMDLINE;
    } else {
        return BH_ENOTFOUND;
    }
    const struct bh_boot_settings *st = &x->settings;
    if (!host && st->unknown_hosts == BH_UNKNOWN_IGNORE)
        return BH_ENOTFOUND;
    char http_base[300];
    if (st->http_base[0])
        bh_strlcpy(http_base, st->http_base, sizeof(http_base));
    else
        snprintf(http_base, sizeof(http_base), "http://%s", server);
    struct bh_script_req q = {.mac = mac, .http_base = http_base, .server = server};
    struct plan p;
    plan_make(x, mac, host, &p);
    int rc = what == PXELINUX     ? render_pxelinux(&p, &q, out)
             : what == GRUB       ? render_grub(&p, &q, out)
             : what == RPI_CONFIG ? render_rpi_config(&p, out)
                                  : render_rpi_cmdline(&p, &q, out);
    plan_free(&p);
    return rc ? BH_ENOMEM : 0;
}
