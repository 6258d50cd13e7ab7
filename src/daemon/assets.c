/*
 * assets.c - `bootherd assets install`: put the boot loaders Debian ships
 * into the boot root (iPXE from the ipxe package, GRUB network images made
 * with grub-mknetdir), and say clearly what is missing.
 */
#include "daemon.h"

#include "config.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define IPXE_DIR "/usr/lib/ipxe"
#define GRUB_DIR "/usr/lib/grub"

struct loader {
    const char *src;  /* under IPXE_DIR */
    const char *dst;  /* in the boot root */
    const char *what; /* who boots it */
    const char *pkg;  /* Debian package */
};

static const struct loader ipxe_files[] = {
    {IPXE_DIR "/undionly.kpxe", "undionly.kpxe", "BIOS PXE", "ipxe"},
    {IPXE_DIR "/ipxe.efi", "ipxe.efi", "UEFI x64 PXE and HTTP boot", "ipxe"},
    {IPXE_DIR "/snponly.efi", "snponly.efi", "UEFI x64 PXE (snponly)", "ipxe"},
    {IPXE_DIR "/arm64-efi/ipxe.efi", "ipxe-arm64.efi", "UEFI arm64", "an arm64 iPXE build"},
};

static int copy_file(const char *src, int rootfd, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -1;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), ".%s.tmp.%d", dst, (int)getpid());
    int out = openat(rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w <= 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc)
            break;
    }
    if (n < 0 || fsync(out) < 0)
        rc = -1;
    close(in);
    close(out);
    if (!rc && renameat(rootfd, tmp, rootfd, dst) < 0)
        rc = -1;
    if (rc)
        unlinkat(rootfd, tmp, 0);
    return rc;
}

/* grub-mknetdir for one platform; true if it worked */
static bool mknetdir(const char *root, const char *platform, const char *pkg, int *missing)
{
    char dir[PATH_MAX], net[PATH_MAX + 16];
    snprintf(dir, sizeof(dir), "%s/%s", GRUB_DIR, platform);
    if (access(dir, R_OK) != 0 || access("/usr/bin/grub-mknetdir", X_OK) != 0) {
        printf("  missing  GRUB %-10s  (install Debian package %s)\n", platform, pkg);
        (*missing)++;
        return false;
    }
    snprintf(net, sizeof(net), "--net-directory=%s", root);
    pid_t pid = fork();
    if (pid == 0) {
        int dn = open("/dev/null", O_WRONLY);
        if (dn >= 0) {
            dup2(dn, STDOUT_FILENO);
            dup2(dn, STDERR_FILENO);
        }
        execl("/usr/bin/grub-mknetdir", "grub-mknetdir", net, "--subdir=grub", "-d", dir,
              (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("  failed   GRUB %-10s  (grub-mknetdir %s --subdir=grub -d %s)\n", platform, net,
               dir);
        (*missing)++;
        return false;
    }
    printf("  ok       GRUB %-10s  -> %s/grub/%s\n", platform, root, platform);
    return true;
}

#define ASSETS_USAGE                                                                               \
    "usage: bootherd assets install [--data DIR] [--root DIR]\n"                                   \
    "Copy the iPXE and GRUB loaders of this machine's packages into the boot root.\n"

int bh_cmd_assets(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"root", required_argument, NULL, 'r'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = "./var", *root_opt = NULL;
    int c;
    optind = 1;
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("%s", ASSETS_USAGE);
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "install") != 0) {
        fprintf(stderr, "%s", ASSETS_USAGE);
        return 2;
    }
    while ((c = getopt_long(argc - 1, argv + 1, "d:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'r': root_opt = optarg; break;
        case 'h': printf("%s", ASSETS_USAGE); return 0;
        default: fprintf(stderr, "%s", ASSETS_USAGE); return 2;
        }
    }
    /* the boot root of this data directory, as `serve` would use it */
    struct bh_config cfg;
    struct bh_err e;
    char conf[PATH_MAX + 32], root[PATH_MAX * 2];
    bh_config_defaults(&cfg);
    snprintf(conf, sizeof(conf), "%s/bootherd.conf", data);
    if (access(conf, F_OK) == 0 && bh_config_load(&cfg, conf, &e)) {
        fprintf(stderr, "bootherd assets: %s\n", e.msg);
        return 2;
    }
    if (root_opt)
        bh_strlcpy(root, root_opt, sizeof(root));
    else if (cfg.boot.root[0] == '/')
        bh_strlcpy(root, cfg.boot.root, sizeof(root));
    else
        snprintf(root, sizeof(root), "%s/%s", data, cfg.boot.root);
    if (mkdir(root, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "bootherd assets: cannot create %s: %s\n", root, strerror(errno));
        return 1;
    }
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        fprintf(stderr, "bootherd assets: cannot open %s: %s\n", root, strerror(errno));
        return 1;
    }
    printf("boot root %s\n", root);
    int installed = 0, missing = 0;
    for (size_t i = 0; i < sizeof(ipxe_files) / sizeof(ipxe_files[0]); i++) {
        const struct loader *l = &ipxe_files[i];
        if (access(l->src, R_OK) != 0) {
            printf("  missing  %-16s for %s (install %s)\n", l->dst, l->what, l->pkg);
            missing++;
        } else if (copy_file(l->src, rootfd, l->dst) != 0) {
            printf("  failed   %-16s (%s)\n", l->dst, strerror(errno));
            missing++;
        } else {
            printf("  ok       %-16s for %s\n", l->dst, l->what);
            installed++;
        }
    }
    installed += mknetdir(root, "x86_64-efi", "grub-efi-amd64-bin", &missing);
    installed += mknetdir(root, "i386-pc", "grub-pc-bin", &missing);
    close(rootfd);
    printf("%d installed, %d missing\n", installed, missing);
    return installed ? 0 : 1;
}
