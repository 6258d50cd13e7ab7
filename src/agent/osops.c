/*
 * osops.c - the steps that work on an installed OS rather than on the raw
 * disk, with LINBO's meaning:
 *
 *   start:N         Linux (Kernel is a path in the OS): mount the Root
 *                   partition read-only, `kexec -l` its Kernel, Initrd and
 *                   Append ("root=Root" put first unless Append has one),
 *                   report done, `kexec -e`; should that return, boot
 *                   from the disk as below.  Kernel "auto" or empty
 *                   (Windows, or anything that boots by itself): ask the
 *                   server for one "boot from the local disk" (the next
 *                   iPXE script exits to the firmware), under UEFI also
 *                   `efibootmgr --bootnext` the first disk entry, reboot.
 *   postsync:N      mount Root read-write (at /mnt in the client OS, as
 *                   LINBO's scripts expect) and run the image's post-sync
 *                   script there with the host's variables; without a
 *                   script, write the host name into etc/hostname when the
 *                   OS has one.
 *   create_image:N  push Root as a new version of OS N's image: chunk and
 *                   hash here, send only the chunks the server lacks.
 *   shell:CMD       sh -c CMD; its output goes to the task (admins only:
 *                   the server refuses the job otherwise, and audits it).
 *
 * kexec, reboot and the bootnext entry happen only inside the client OS
 * (BOOTHERD_CLIENT_OS=1); elsewhere the step checks what it can and then
 * fails, saying what it would have run.
 */
#include "proc.h"
#include "steps.h"

#include "client/push.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/reboot.h>
#include <unistd.h>

#define SCRIPT_MAX (64 * 1024)

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

/* dir + "/" + path in the OS (a leading "/" is the OS's root) */
static int os_path(const char *dir, const char *path, char *out, size_t cap, const char *what,
                   struct bh_err *err)
{
    while (*path == '/')
        path++;
    if (strstr(path, ".."))
        return bh_err_set(err, BH_EINVAL, NULL, "%s '%s' leaves the partition", what, path);
    snprintf(out, cap, "%s/%s", dir, path);
    if (access(out, R_OK) == 0)
        return 0;
    return bh_err_set(err, BH_ENOTFOUND, NULL, "the OS has no %s /%s (%s)", what, path,
                      strerror(errno));
}

/* ---- start:N ------------------------------------------------------------ */

static int start_local(struct bh_agent *a, int n, struct bh_err *err);

static int start_kexec(struct bh_agent *a, const json_t *os, int n, const char *root,
                       struct bh_err *err)
{
    char dir[64], kernel[512], initrd[512] = "", cmdline[2048];
    const char *k = jstr(os, "kernel"), *i = jstr(os, "initrd"), *app = jstr(os, "append");
    int rc = bh_agent_mount(a, root, false, "/mnt", dir, sizeof(dir), err);
    if (rc)
        return rc;
    rc = os_path(dir, k, kernel, sizeof(kernel), "Kernel", err);
    if (!rc && i)
        rc = os_path(dir, i, initrd, sizeof(initrd), "Initrd", err);
    if (app && strstr(app, "root="))
        snprintf(cmdline, sizeof(cmdline), "%s", app);
    else
        snprintf(cmdline, sizeof(cmdline), "root=%s%s%s", root, app ? " " : "", app ? app : "");
    char initarg[530], cmdarg[2070];
    snprintf(initarg, sizeof(initarg), "--initrd=%s", initrd);
    snprintf(cmdarg, sizeof(cmdarg), "--command-line=%s", cmdline);
    if (!rc && !bh_agent_in_client_os())
        rc = bh_err_set(err, BH_EPERM, NULL,
                        "refusing to kexec: not running in the bootherd client OS (would load "
                        "/%s%s%s from %s with '%s')",
                        k + (*k == '/'), i ? " and " : "", i ? i : "", root, cmdline);
    if (!rc) {
        char *argv[] = {
            "kexec", "-l", kernel, initrd[0] ? initarg : cmdarg, initrd[0] ? cmdarg : NULL, NULL};
        struct bh_err e1, e2;
        bh_err_clear(&e1);
        bh_err_clear(&e2);
        rc = bh_exec(&(struct bh_exec){.argv = argv}, &e1);
        if (rc) { /* a locked-down kernel loads only through kexec_file_load */
            char *argv_s[] = {"kexec",
                              "-s",
                              "-l",
                              kernel,
                              initrd[0] ? initarg : cmdarg,
                              initrd[0] ? cmdarg : NULL,
                              NULL};
            rc = bh_exec(&(struct bh_exec){.argv = argv_s}, &e2);
            if (rc)
                bh_err_set(err, rc, NULL, "%s; without -s: %s", e2.msg, e1.msg);
        }
    }
    int urc = bh_agent_umount(dir, rc ? NULL : err);
    if (rc)
        return rc;
    if (urc)
        return urc;
    fprintf(stderr, "bootherd-agent: start: kexec %s with '%s'\n", k, cmdline);
    bh_agent_report(a, "done", NULL, NULL);
    a->step_reported = true;
    char *exec[] = {"kexec", "-e", NULL};
    struct bh_err e;
    bh_err_clear(&e);
    bh_exec(&(struct bh_exec){.argv = exec}, &e);
    /* still here: the kexec failed; the disk's own boot loader may do */
    fprintf(stderr, "bootherd-agent: kexec -e returned (%s); booting from the disk instead\n",
            e.msg);
    rc = start_local(a, n, err);
    if (rc && err)
        fprintf(stderr, "bootherd-agent: start: %s\n", err->msg);
    return rc ? rc : BH_ESYS;
}

/* under UEFI: the first boot entry on a disk (not the network) boots next */
static void uefi_bootnext(void)
{
    char out[4096];
    struct bh_err e;
    bh_err_clear(&e);
    char *list[] = {"efibootmgr", "-v", NULL};
    if (bh_exec(&(struct bh_exec){.argv = list, .out = out, .out_cap = sizeof(out)}, &e)) {
        fprintf(stderr, "bootherd-agent: start: %s\n", e.msg);
        return;
    }
    for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (strncmp(line, "Boot", 4) || !strchr("0123456789ABCDEFabcdef", line[4]) ||
            !strstr(line, "HD(") || strstr(line, "MAC("))
            continue;
        char num[5];
        snprintf(num, sizeof(num), "%.4s", line + 4);
        char *set[] = {"efibootmgr", "--bootnext", num, NULL};
        if (bh_exec(&(struct bh_exec){.argv = set}, &e))
            fprintf(stderr, "bootherd-agent: start: %s\n", e.msg);
        else
            fprintf(stderr, "bootherd-agent: start: next boot is entry %s\n", num);
        return;
    }
    fprintf(stderr, "bootherd-agent: start: no disk entry among the UEFI boot entries\n");
}

static int start_local(struct bh_agent *a, int n, struct bh_err *err)
{
    if (!bh_agent_in_client_os())
        return bh_err_set(err, BH_EPERM, NULL,
                          "refusing to reboot into OS %d: not running in the bootherd client OS",
                          n);
    long status = 0;
    json_t *out = NULL;
    struct bh_err e;
    if (bh_cli_json(&a->api, "POST", "/api/v1/agent/boot-local", NULL, &status, &out, &e) ||
        status != 204) {
        const char *d = jstr(out, "detail");
        int rc =
            bh_err_set(err, BH_EIO, NULL, "the server did not arrange a boot from the disk: %s",
                       status ? (d ? d : "unexpected answer") : e.msg);
        json_decref(out);
        return rc;
    }
    json_decref(out);
    if (access("/sys/firmware/efi", F_OK) == 0)
        uefi_bootnext();
    bh_agent_report(a, "done", NULL, NULL);
    a->step_reported = true;
    sync();
    reboot(RB_AUTOBOOT);
    int e2 = errno;
    fprintf(stderr, "bootherd-agent: reboot: %s\n", strerror(e2));
    return bh_err_set(err, BH_ESYS, NULL, "reboot: %s", strerror(e2));
}

int bh_agent_start(struct bh_agent *a, const struct bh_step *s, struct bh_err *err)
{
    const json_t *os = bh_agent_os(a, s->os);
    const char *root = jstr(os, "root"), *k = jstr(os, "kernel");
    if (!os || !root)
        return bh_err_set(err, BH_ENOTFOUND, NULL, "the group has no OS entry %d with a Root",
                          s->os);
    if (k && strcasecmp(k, "auto"))
        return start_kexec(a, os, s->os, root, err);
    return start_local(a, s->os, err);
}

/* ---- postsync:N --------------------------------------------------------- */

/* the image's script into *script (NULL when it has none) */
static int fetch_script(struct bh_agent *a, const char *image, char **script, struct bh_err *err)
{
    char path[512], esc[256];
    bh_cli_escape(image, esc, sizeof(esc));
    snprintf(path, sizeof(path), "/api/v1/images/%s/postsync", esc);
    struct bh_resp r = {0};
    struct bh_err e;
    *script = NULL;
    if (bh_cli_request(&a->api, "GET", path, NULL, NULL, 0, NULL, &r, &e))
        return bh_err_set(err, BH_EIO, NULL, "fetching the post-sync script of %s: %s", image,
                          e.msg);
    int rc = 0;
    if (r.status == 200 && r.len <= SCRIPT_MAX) {
        *script = strndup(r.body ? r.body : "", r.len);
        if (!*script)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "the post-sync script of %s: out of memory",
                            image);
    } else if (r.status != 204) {
        rc = bh_err_set(err, BH_EIO, NULL, "fetching the post-sync script of %s: HTTP %ld", image,
                        r.status);
    }
    bh_resp_free(&r);
    return rc;
}

/* without a script: the host's name into etc/hostname, when the OS has one */
static int set_hostname(const char *dir, const char *name, struct bh_err *err)
{
    char path[256], tmp[272];
    snprintf(path, sizeof(path), "%s/etc/hostname", dir);
    if (access(path, F_OK) != 0)
        return 0;
    snprintf(tmp, sizeof(tmp), "%s.bootherd", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fprintf(f, "%s\n", name) < 0 || fflush(f) || fsync(fileno(f))) {
        int rc = bh_err_set(err, BH_ESYS, NULL, "writing %s: %s", path, strerror(errno));
        if (f)
            fclose(f);
        unlink(tmp);
        return rc;
    }
    fclose(f);
    if (rename(tmp, path)) {
        int rc = bh_err_set(err, BH_ESYS, NULL, "writing %s: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    fprintf(stderr, "bootherd-agent: postsync: etc/hostname is %s\n", name);
    return 0;
}

int bh_agent_postsync(struct bh_agent *a, const struct bh_step *s, struct bh_err *err)
{
    const json_t *os = bh_agent_os(a, s->os);
    const char *root = jstr(os, "root");
    char image[256], ref[64];
    int rc = bh_agent_os_image(os, s->os, image, sizeof(image), ref, sizeof(ref), err);
    if (rc)
        return rc;
    char *script = NULL;
    if ((rc = fetch_script(a, image, &script, err)))
        return rc;
    char dir[64];
    if ((rc = bh_agent_mount(a, root, true, "/mnt", dir, sizeof(dir), err))) {
        free(script);
        return rc;
    }
    const char *name = jstr(a->host, "name") ? jstr(a->host, "name") : a->mac;
    const char *room = jstr(a->host, "room") ? jstr(a->host, "room") : "";
    const char *group = jstr(a->host, "group") ? jstr(a->host, "group") : "";
    if (script) {
        /* bootherd's names, and LINBO's for the scripts admins bring along */
        char v[12][320];
        snprintf(v[0], sizeof(v[0]), "BH_ROOT=%s", dir);
        snprintf(v[1], sizeof(v[1]), "BH_HOSTNAME=%s", name);
        snprintf(v[2], sizeof(v[2]), "BH_ROOM=%s", room);
        snprintf(v[3], sizeof(v[3]), "BH_GROUP=%s", group);
        snprintf(v[4], sizeof(v[4]), "BH_MAC=%s", a->mac);
        snprintf(v[5], sizeof(v[5]), "BH_OS=%d", s->os);
        snprintf(v[6], sizeof(v[6]), "BH_IMAGE=%s", image);
        snprintf(v[7], sizeof(v[7]), "BH_SERVER=%s", a->api.url);
        snprintf(v[8], sizeof(v[8]), "HOSTNAME=%s", name);
        snprintf(v[9], sizeof(v[9]), "RAUM=%s", room);
        snprintf(v[10], sizeof(v[10]), "HOSTGROUP=%s", group);
        snprintf(v[11], sizeof(v[11]), "BH_DEVICE=%s", root);
        const char *env[13];
        for (int i = 0; i < 12; i++)
            env[i] = v[i];
        env[12] = NULL;
        char *argv[] = {"sh", "-c", script, "postsync", NULL};
        char out[2048] = "";
        struct bh_err e;
        bh_err_clear(&e);
        rc = bh_exec(
            &(struct bh_exec){
                .argv = argv, .env = env, .cwd = dir, .out = out, .out_cap = sizeof(out)},
            &e);
        if (out[0])
            fprintf(stderr, "bootherd-agent: postsync %s:\n%s\n", image, out);
        if (rc)
            bh_err_set(err, rc, NULL, "the post-sync script of %s on %s: %s", image, root, e.msg);
    } else {
        rc = set_hostname(dir, name, err);
    }
    free(script);
    int urc = bh_agent_umount(dir, rc ? NULL : err);
    return rc ? rc : urc;
}

/* ---- create_image:N ----------------------------------------------------- */

static void push_progress(void *ud, const char *phase, uint64_t done, uint64_t total)
{
    bh_agent_progress(ud, phase, done, total, 0);
}

static bool mounted(const char *dev)
{
    FILE *f = fopen("/proc/mounts", "r");
    char line[1024];
    bool m = false;
    size_t n = strlen(dev);
    while (f && !m && fgets(line, sizeof(line), f))
        m = !strncmp(line, dev, n) && line[n] == ' ';
    if (f)
        fclose(f);
    return m;
}

int bh_agent_capture(struct bh_agent *a, const struct bh_step *s, struct bh_err *err)
{
    const json_t *os = bh_agent_os(a, s->os);
    const char *root = jstr(os, "root");
    char image[256], ref[64];
    int rc = bh_agent_os_image(os, s->os, image, sizeof(image), ref, sizeof(ref), err);
    if (rc)
        return rc;
    if (mounted(root))
        return bh_err_set(err, BH_EBUSY, NULL,
                          "%s is mounted: a capture needs the file system at rest", root);
    int fd = open(root, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bh_err_set(err, BH_ESYS, NULL, "%s: %s", root, strerror(errno));
    uint64_t size = 0;
    struct bh_err e;
    bh_err_clear(&e);
    struct bh_push_opts o = {.name = image, .note = s->arg, .progress = push_progress, .ud = a};
    struct bh_push_stats st;
    json_t *ver = NULL;
    rc = bh_push_source_size(fd, &size, &e);
    if (!rc)
        rc = bh_cli_push(&a->api, fd, size, &o, &st, &ver, &e);
    close(fd);
    if (rc)
        return bh_err_set(err, rc < 0 ? rc : BH_EIO, NULL, "create_image:%d: %s from %s: %s", s->os,
                          image, root, e.msg);
    /* a candidate waits for an operator's promote (or the image auto-promotes) */
    const char *state = json_string_value(json_object_get(ver, "state"));
    fprintf(stderr,
            "bootherd-agent: %s version %lld (%s) from %s: %llu chunks, sent %llu (%llu bytes) in "
            "%.1f s\n",
            image, (long long)st.version, state ? state : "?", root, (unsigned long long)st.chunks,
            (unsigned long long)st.sent_chunks, (unsigned long long)st.sent_bytes, st.seconds);
    json_t *p = json_pack("{s:s, s:I, s:s?, s:I, s:I, s:I, s:I}", "phase", "captured", "version",
                          (json_int_t)st.version, "state", state, "done", (json_int_t)size, "total",
                          (json_int_t)size, "sent_chunks", (json_int_t)st.sent_chunks, "sent_bytes",
                          (json_int_t)st.sent_bytes);
    bh_agent_report(a, "running", p, NULL);
    json_decref(p);
    json_decref(ver);
    return 0;
}

/* ---- shell:CMD ---------------------------------------------------------- */

int bh_agent_shell(struct bh_agent *a, const struct bh_step *s, struct bh_err *err)
{
    char out[3072] = "";
    char *argv[] = {"sh", "-c", (char *)s->arg, NULL};
    int rc = bh_exec(&(struct bh_exec){.argv = argv, .out = out, .out_cap = sizeof(out)}, err);
    /* the task's "status" is 0 or 1 (failed), as the server and operators see it */
    json_t *p =
        json_pack("{s:s, s:s, s:i}", "phase", "output", "output", out, "status", rc ? 1 : 0);
    bh_agent_report(a, "running", p, NULL);
    json_decref(p);
    return rc;
}
