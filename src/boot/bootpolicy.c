/*
 * bootpolicy.c - which boot loader a DHCP client gets.
 *
 *   iPXE already running (user class iPXE)   -> the URL of boot.ipxe, which
 *                                                chains to the host's script
 *   UEFI HTTP boot (vendor class HTTPClient) -> http://.../boot/files/ipxe.efi
 *   Raspberry Pi boot ROM                    -> "Raspberry Pi Boot" + TFTP
 *   BIOS PXE                                 -> undionly.kpxe
 *   UEFI x64 PXE                             -> ipxe.efi (snponly.efi)
 *   UEFI arm64 PXE                           -> ipxe-arm64.efi, when present
 *   UEFI ia32 PXE                            -> ipxe-ia32.efi, when present
 *
 * A group's or host's boot.files overrides the file per firmware
 * (bios, efi32, efi64, arm64, http).  Unknown MACs follow unknown_hosts.
 */
#include "bootpolicy.h"

#include "core/log.h"
#include "core/str.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

/* boot.files[key] of the host, else of its group, copied into buf (the
 * group's string would go with our reference to the group); NULL if
 * neither says. */
static const char * override(const struct bh_bootctx *x, const json_t *host, const char *key,
                             char *buf, size_t cap)
{
    const char *f = sget(json_object_get(json_object_get(host, "boot"), "files"), key);
    json_t *g = NULL;
    if (!f && host) {
        g = bh_bootview_group(x->view, sget(host, "group"));
        f = sget(json_object_get(json_object_get(g, "boot"), "files"), key);
    }
    if (f)
        bh_strlcpy(buf, f, cap);
    json_decref(g);
    return f ? buf : NULL;
}

static bool in_root(const struct bh_bootctx *x, const char *file)
{
    if (!strncmp(file, "http://", 7) || !strncmp(file, "https://", 8))
        return true;
    return faccessat(x->root_fd, file[0] == '/' ? file + 1 : file, R_OK, 0) == 0;
}

static void set(struct bh_boot_decision *d, enum bh_boot_kind kind, const char *file,
                const char *why)
{
    d->kind = kind;
    bh_strlcpy(d->filename, file ? file : "", sizeof(d->filename));
    bh_strlcpy(d->why, why, sizeof(d->why));
}

/* What a new machine's DHCP request says of its firmware, for the console's
 * New devices (RFC 4578 option 93; PXE 2.1 vendor class): "bios", "uefi",
 * "rpi", or NULL when it does not say. */
static const char *firmware_of(const struct bh_boot_client *c)
{
    if (c->rpi)
        return "rpi";
    if (c->http)
        return "uefi"; /* UEFI HTTP boot */
    switch (c->arch) {
    case BH_ARCH_BIOS: return "bios";
    case BH_ARCH_NONE: return NULL;
    default: return "uefi"; /* EFI IA32, x64, byte code, ARM */
    }
}

void bh_bootpolicy_decide(const struct bh_bootctx *x, const struct bh_boot_client *c,
                          struct bh_boot_decision *d)
{
    const struct bh_boot_settings *st = &x->settings;
    memset(d, 0, sizeof(*d));
    json_t *host = bh_bootview_host(x->view, c->mac_str);
    if (!host) {
        if (st->unknown_hosts == BH_UNKNOWN_IGNORE) {
            set(d, BH_BOOT_NONE, NULL, "unknown host, ignored");
            return;
        }
        if (st->unknown_hosts == BH_UNKNOWN_REGISTER && (c->pxe || c->http || c->ipxe || c->rpi)) {
            json_t *doc = json_pack("{s:s, s:s}", "mac", c->mac_str, "state", "new");
            const char *arch = c->arch == BH_ARCH_EFI_X64 || c->arch == BH_ARCH_EFI_BC ||
                                       c->arch == BH_ARCH_HTTP_X64
                                   ? "x86_64"
                               : c->arch == BH_ARCH_EFI_ARM64 || c->arch == BH_ARCH_HTTP_ARM64
                                   ? "arm64"
                               : c->arch == BH_ARCH_EFI_IA32 ? "i386"
                                                             : NULL;
            if (doc && arch)
                json_object_set_new(doc, "arch", json_string(arch));
            if (doc && c->uuid_str[0])
                json_object_set_new(doc, "uuid", json_string(c->uuid_str));
            if (doc && c->hostname[0])
                json_object_set_new(doc, "description", json_string(c->hostname));
            /* what the request says of the firmware, until the agent's
             * inventory (which has firmware too) replaces it */
            const char *fw = firmware_of(c);
            if (doc && (fw || c->arch != BH_ARCH_NONE)) {
                json_t *hw = json_pack("{s:s}", "source", "dhcp");
                if (hw && fw)
                    json_object_set_new(hw, "firmware", json_string(fw));
                if (hw && c->arch != BH_ARCH_NONE)
                    json_object_set_new(hw, "client_arch", json_integer(c->arch));
                json_object_set_new(doc, "hardware", hw);
            }
            bh_bootwork_register(x->work, doc);
        }
    }
    if (st->server_ip[0])
        inet_pton(AF_INET, st->server_ip, &d->next_server);
    else
        d->next_server = c->iface_addr;
    char ip[INET_ADDRSTRLEN], base[300];
    inet_ntop(AF_INET, &d->next_server, ip, sizeof(ip));
    if (st->http_base[0])
        bh_strlcpy(base, st->http_base, sizeof(base));
    else
        snprintf(base, sizeof(base), "http://%s:%d", ip, x->http_port);

    char file[600], own[BH_BOOT_FILE_MAX];
    const char *f;
    if (c->ipxe) {
        snprintf(file, sizeof(file), "%s/boot/boot.ipxe", base);
        set(d, BH_BOOT_SCRIPT, file, "ipxe");
    } else if (c->http) {
        bool arm = c->arch == BH_ARCH_HTTP_ARM64;
        f = override(x, host, "http", own, sizeof(own));
        if (f)
            bh_strlcpy(file, f, sizeof(file));
        else
            snprintf(file, sizeof(file), "%s/boot/files/%s", base,
                     arm ? "ipxe-arm64.efi" : "ipxe.efi");
        set(d, BH_BOOT_HTTP, file, arm ? "uefi-http-arm64" : "uefi-http");
    } else if (c->rpi) {
        set(d, BH_BOOT_RPI, NULL, "raspberry-pi");
    } else if (!c->pxe) {
        set(d, BH_BOOT_NONE, NULL, "not a network boot client");
    } else if (c->arch == BH_ARCH_BIOS || c->arch == BH_ARCH_NONE) {
        f = override(x, host, "bios", own, sizeof(own));
        set(d, BH_BOOT_TFTP, f ? f : "undionly.kpxe", "bios");
    } else if (c->arch == BH_ARCH_EFI_X64 || c->arch == BH_ARCH_EFI_BC) {
        f = override(x, host, "efi64", own, sizeof(own));
        set(d, BH_BOOT_TFTP, f ? f : st->snponly ? "snponly.efi" : "ipxe.efi", "uefi-x64");
    } else if (c->arch == BH_ARCH_EFI_ARM64) {
        f = override(x, host, "arm64", own, sizeof(own));
        set(d, BH_BOOT_TFTP, f ? f : "ipxe-arm64.efi", "uefi-arm64");
    } else if (c->arch == BH_ARCH_EFI_IA32) {
        f = override(x, host, "efi32", own, sizeof(own));
        set(d, BH_BOOT_TFTP, f ? f : "ipxe-ia32.efi", "uefi-ia32");
    } else {
        snprintf(file, sizeof(file), "unsupported architecture %u", c->arch);
        set(d, BH_BOOT_NONE, NULL, file);
    }
    /* a loader we do not have would only make the firmware wait and fail */
    if (d->kind == BH_BOOT_TFTP && !in_root(x, d->filename)) {
        bh_log(BH_LOG_WARN, "boot file missing from the boot root", "mac=%s file=%s hint=%s",
               c->mac_str, d->filename, "run: bootherd assets install");
        snprintf(file, sizeof(file), "%s not in the boot root", d->filename);
        set(d, BH_BOOT_NONE, NULL, file);
    }
    json_decref(host);
}
