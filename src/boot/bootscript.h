/*
 * bootscript.h - what a machine boots, written for each boot loader
 * (bootscript.c): iPXE scripts, GRUB and pxelinux configs, the Raspberry
 * Pi's cmdline.txt and config.txt.  Reads the boot view through the narrow
 * context of bootctx.h; never sees the boot services themselves.
 */
#ifndef BH_BOOT_BOOTSCRIPT_H
#define BH_BOOT_BOOTSCRIPT_H

#include "bootctx.h"
#include "bootproof.h"
#include "core/buf.h"

#include <jansson.h>
#include <stddef.h>

/* {{ticket}} of a script, made only if the script uses it: get(ud, out,
 * cap) fills out, or fails and the script has none.  state says what
 * happened (0: not asked, 1: made, -1: refused). */
struct bh_script_ticket {
    int (*get)(void *ud, char *out, size_t cap);
    void *ud;
    int state;
    char value[BH_BOOTPROOF_TICKET_MAX];
};

struct bh_script_req {
    const char *mac;                 /* aa:bb:cc:dd:ee:ff */
    const char *arch;                /* iPXE ${buildarch}: i386, x86_64, arm64; may be NULL */
    const char *platform;            /* iPXE ${platform}: pcbios, efi; may be NULL */
    const char *uuid;                /* may be NULL */
    const char *serial;              /* may be NULL */
    const char *http_base;           /* where this client reaches us, no trailing slash */
    const char *server;              /* our address as the client sees it */
    struct bh_script_ticket *ticket; /* {{ticket}}: the agent's boot ticket; may be NULL */
};

/* The iPXE script for a machine: a menu, a direct boot or exit to disk.
 * Registers an unknown MAC by policy and reports "boot.script".  Returns 0
 * and fills out (text), or an error (e.g. the profile is missing: the script
 * then still says so on the console). */
int bh_bootscript_ipxe(const struct bh_bootctx *x, const struct bh_script_req *q,
                       struct bh_buf *out, struct bh_err *err);
/* What the host's script boots (as bh_bootscript_ipxe decides it): the
 * profile's name ("" if none) and the action (profile, menu, local).  host
 * borrowed (NULL: an unknown machine). */
void bh_bootscript_choice(const struct bh_bootctx *x, const char *mac, const json_t *host,
                          char *profile, size_t pcap, char *action, size_t acap);
/* The bootstrap boot.ipxe that chains to the per-host script. */
int bh_boot_bootstrap(const char *http_base, struct bh_buf *out);
/* Generated TFTP files: pxelinux.cfg/01-<mac>, grub/grub.cfg-01-<mac>,
 * <serial>/cmdline.txt and <serial>/config.txt.  BH_ENOTFOUND if `path`
 * is not one of them; server is our "address:port" as the client sees it. */
int bh_bootscript_file(const struct bh_bootctx *x, const char *path, const char *server,
                       struct bh_buf *out);

#endif
