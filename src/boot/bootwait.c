/*
 * bootwait.c - see bootwait.h.  The profile a host boots is chosen as its
 * iPXE script chooses it (bh_boot_profile_choice); the client OS's files
 * are looked for in the boot root as the TFTP/HTTP file servers would.
 */
#include "bootwait.h"

#include "bootsvc.h"
#include "bootview.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *bh_boot_wait_reason(const struct bh_wait_facts *f, char *reason, size_t cap)
{
    if (f->action && !strcmp(f->action, "local")) {
        snprintf(reason, cap,
                 "boots from its local disk (boot action local), not into the client OS");
        return "local-boot";
    }
    if (!f->profile || !*f->profile) {
        snprintf(reason, cap, "no boot profile: none is set for the host, its group or the server");
        return "no-profile";
    }
    if (!f->profile_exists) {
        snprintf(reason, cap,
                 "no boot profile: profile '%s' does not exist (bootherd client build makes "
                 "bootherd-client)",
                 f->profile);
        return "no-profile";
    }
    if (!f->runs_agent) {
        snprintf(reason, cap,
                 "boots another profile: '%s' does not start the client OS (its cmdline passes "
                 "no bootherd.ticket)",
                 f->profile);
        return "other-profile";
    }
    if (f->missing) {
        snprintf(reason, cap,
                 "client OS not built: %s (of profile '%s') is not in the boot root; run "
                 "bootherd client build",
                 f->missing, f->profile);
        return "client-not-built";
    }
    if (!f->last_seen) {
        snprintf(reason, cap,
                 "never booted: no network boot seen from it yet; wake it or switch "
                 "it on");
        return "never-booted";
    }
    snprintf(reason, cap, "booted (last seen %s), but its agent has not asked for work since",
             f->last_seen);
    return "agent-silent";
}

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

/* a file the profile names is in the boot root (URLs are taken as there) */
static bool present(struct bh_boot *b, const char *file)
{
    if (!strncmp(file, "http://", 7) || !strncmp(file, "https://", 8))
        return true;
    while (*file == '/')
        file++;
    return *file && faccessat(bh_boot_root_fd(b), file, R_OK, 0) == 0;
}

const char *bh_boot_host_wait(struct bh_boot *b, const json_t *host, char *reason, size_t cap)
{
    char profile[64], action[16];
    const char *mac = sget(host, "mac");
    bh_boot_profile_choice(b, mac ? mac : "", host, profile, sizeof(profile), action,
                           sizeof(action));
    json_t *p = profile[0] ? bh_bootview_profile(bh_boot_view(b), profile) : NULL;
    struct bh_wait_facts f = {.action = action,
                              .profile = profile,
                              .profile_exists = p != NULL,
                              .last_seen = sget(host, "last_seen")};
    const char *cmdline = sget(p, "cmdline");
    f.runs_agent = cmdline && strstr(cmdline, "bootherd.ticket");
    const char *kernel = sget(p, "kernel");
    if (p && (!kernel || !present(b, kernel)))
        f.missing = kernel ? kernel : "(no kernel)";
    size_t i;
    const json_t *rd;
    json_array_foreach(json_object_get(p, "initrds"), i, rd)
    {
        const char *s = json_string_value(rd);
        if (!f.missing && s && !present(b, s))
            f.missing = s;
    }
    const char *code = bh_boot_wait_reason(&f, reason, cap);
    json_decref(p);
    return code;
}
