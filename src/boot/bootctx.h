/*
 * bootctx.h - the narrow view of the boot services that the boot policy
 * (bootpolicy.c) and the script writer (bootscript.c) are given: what they
 * read and where they report, nothing else.  bootsvc.c makes one per call,
 * so the dependencies run one way, bootsvc -> bootpolicy, bootscript ->
 * bootview, bootwork, and neither of them sees `struct bh_boot`.
 */
#ifndef BH_BOOT_BOOTCTX_H
#define BH_BOOT_BOOTCTX_H

#include "boot.h"
#include "bootview.h"
#include "bootwork.h"

#include <stdbool.h>
#include <stdint.h>

/* What applies now: the config file, overlaid by the settings object. */
struct bh_boot_settings {
    enum bh_unknown_policy unknown_hosts;
    char default_profile[64];
    int64_t offline_after;
    bool snponly;
    char server_ip[16];
    char http_base[256];
};

/* Everything is borrowed for the call.  The policy and the scripts only read
 * view and settings; what must reach the store (an unknown MAC to register,
 * a "boot.script" event) goes to work, which queues it and returns. */
struct bh_bootctx {
    struct bh_bootview *view;         /* hosts, groups, profiles */
    struct bh_bootwork *work;         /* registrations, events, signs of life */
    struct bh_boot_settings settings; /* as they are now */
    int root_fd;                      /* the boot root: is a loader there? */
    int http_port;                    /* of the boot endpoints */
    /* Take mac's one-shot "boot from the local disk" (true once, then
     * false).  May be NULL: there is none. */
    bool (*take_local_once)(void *ud, const char *mac);
    void *ud;
};

#endif
