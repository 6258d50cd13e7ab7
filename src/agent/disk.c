/*
 * disk.c - the partition and format steps, from the group's start.conf
 * (as JSON: config.partitions[] with dev, size, id, fstype, label,
 * bootable; config.linbo.system_type).
 *
 *   partition  one table for the disk the partitions live on: GPT for
 *              efi32/efi64 (or, without a SystemType, when the client
 *              booted by UEFI), MBR (dos) otherwise; sizes in LINBO's way
 *              (a bare number is KiB; K/M/G/T suffixes; empty = the rest);
 *              Id codes become GPT type GUIDs under GPT
 *   format     mkfs.ext4 / mkfs.vfat / mkfs.ntfs / mkswap by FSType, with
 *              the partition's label; every partition, or partition N
 *
 * The tools are the client OS's (util-linux sfdisk, e2fsprogs, dosfstools,
 * ntfs-3g), run without a shell; what they print on failure is in the
 * error the operator sees.
 */
#include "disk.h"
#include "proc.h"

#include "core/buf.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* /dev/sda1 -> /dev/sda, 1; /dev/nvme0n1p2 and /dev/loop0p2 -> .., 2 */
int bh_disk_split(const char *dev, char *disk, size_t cap, int *num)
{
    size_t n = strlen(dev), d = n;
    while (d && dev[d - 1] >= '0' && dev[d - 1] <= '9')
        d--;
    if (d == n || d == 0 || n - d > 3)
        return BH_EINVAL;
    int64_t v;
    if (bh_parse_i64(dev + d, 1, 999, &v))
        return BH_EINVAL;
    *num = (int)v;
    size_t keep = d;
    if (keep >= 2 && dev[keep - 1] == 'p' && dev[keep - 2] >= '0' && dev[keep - 2] <= '9')
        keep--;
    if (keep >= cap)
        return BH_EINVAL;
    memcpy(disk, dev, keep);
    disk[keep] = '\0';
    return *num > 0 ? 0 : BH_EINVAL;
}

/* LINBO size text -> bytes; "" -> 0 (the rest of the disk) */
static int size_bytes(const char *s, uint64_t *out)
{
    if (!s || !*s) {
        *out = 0;
        return 0;
    }
    uint64_t v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        if (v > UINT64_MAX / 10)
            return BH_EINVAL;
        v = v * 10 + (uint64_t)(*p++ - '0');
    }
    if (p == s)
        return BH_EINVAL;
    int shift = 10; /* a bare number is KiB */
    if (*p == 'K' || *p == 'k')
        shift = 10;
    else if (*p == 'M' || *p == 'm')
        shift = 20;
    else if (*p == 'G' || *p == 'g')
        shift = 30;
    else if (*p == 'T' || *p == 't')
        shift = 40;
    else if (*p)
        return BH_EINVAL;
    if (v > (UINT64_MAX >> shift))
        return BH_EINVAL;
    *out = v << shift;
    return 0;
}

/* an MBR type code (start.conf Id) as a GPT type GUID */
static const char *gpt_type(const char *id)
{
    static const struct {
        const char *id, *guid;
    } map[] = {
        {"83", "0FC63DAF-8483-4772-8E79-3D69D8477DE4"},   /* Linux filesystem */
        {"82", "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F"},   /* Linux swap */
        {"8e", "E6D6D379-F507-44C2-A23C-238F2A3DF928"},   /* Linux LVM */
        {"ef", "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"},   /* EFI System */
        {"7", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"},    /* Microsoft basic data */
        {"c", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"},    /* FAT32 (LBA) as basic data */
        {"b", "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"},    /* FAT32 as basic data */
        {"0c01", "E3C9E316-0B5C-4DB8-817D-F92DF00215AE"}, /* Microsoft reserved */
        {"27", "DE94BBA4-06D1-4D40-A16A-BFD50179D6AC"},   /* Windows recovery */
    };
    char low[8];
    size_t i = 0;
    for (; id[i] && i < sizeof(low) - 1; i++)
        low[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] + 32 : id[i]);
    low[i] = '\0';
    const char *p = low;
    while (p[0] == '0' && p[1]) /* "07" is "7" */
        p++;
    for (size_t k = 0; k < sizeof(map) / sizeof(map[0]); k++)
        if (!strcmp(map[k].id, p) || !strcmp(map[k].id, low))
            return map[k].guid;
    return NULL;
}

static bool is_gpt(const json_t *config, bool uefi)
{
    const char *st =
        json_string_value(json_object_get(json_object_get(config, "linbo"), "system_type"));
    if (st && *st)
        return !strncmp(st, "efi", 3);
    return uefi;
}

int bh_disk_plan(const json_t *config, bool uefi, struct bh_buf *sc, char *disk, size_t cap,
                 struct bh_err *err)
{
    const json_t *parts = json_object_get(config, "partitions");
    if (!json_array_size(parts))
        return bh_err_set(err, BH_EINVAL, NULL, "the group's start.conf has no [Partition]");
    bool gpt = is_gpt(config, uefi);
    if (!cap)
        return bh_err_set(err, BH_EINVAL, NULL, "no room for the disk's name");
    disk[0] = '\0';
    bh_buf_printf(sc, "label: %s\n", gpt ? "gpt" : "dos");
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        const char *dev = json_string_value(json_object_get(p, "dev"));
        const char *id = json_string_value(json_object_get(p, "id"));
        const char *size = json_string_value(json_object_get(p, "size"));
        const char *label = json_string_value(json_object_get(p, "label"));
        char d[128];
        int num;
        uint64_t bytes;
        if (!dev || bh_disk_split(dev, d, sizeof(d), &num))
            return bh_err_set(err, BH_EINVAL, NULL, "partition %zu: cannot tell the disk of '%s'",
                              i + 1, dev ? dev : "");
        if (!disk[0])
            bh_strlcpy(disk, d, cap);
        if (strcmp(disk, d))
            return bh_err_set(err, BH_EINVAL, NULL,
                              "partitions on two disks (%s, %s): one disk per layout", disk, d);
        if (num != (int)i + 1)
            return bh_err_set(err, BH_EINVAL, NULL,
                              "%s: partitions must be numbered 1, 2, 3... in start.conf order "
                              "(this is number %d, expected %zu)",
                              dev, num, i + 1);
        if (size_bytes(size, &bytes))
            return bh_err_set(err, BH_EINVAL, NULL, "%s: bad size '%s'", dev, size);
        if (!bytes && i + 1 != json_array_size(parts))
            return bh_err_set(err, BH_EINVAL, NULL,
                              "%s: only the last partition may take the rest of the disk", dev);
        const char *type = id && *id ? id : "83";
        if (gpt && !(type = gpt_type(type)))
            return bh_err_set(err, BH_EINVAL, NULL, "%s: no GPT type for Id %s", dev, id);
        if (bytes)
            bh_buf_printf(sc, "size=%llu, ", (unsigned long long)(bytes / 512));
        bh_buf_printf(sc, "type=%s", type);
        if (!gpt && json_is_true(json_object_get(p, "bootable")))
            bh_buf_printf(sc, ", bootable");
        if (gpt && label && *label && !strpbrk(label, "\",\n"))
            bh_buf_printf(sc, ", name=\"%s\"", label);
        bh_buf_printf(sc, "\n");
    }
    return 0;
}

int bh_disk_partition(const json_t *config, bool uefi, struct bh_err *err)
{
    char disk[128];
    struct bh_buf sc;
    bh_buf_init(&sc, 64 * 1024);
    int rc = bh_disk_plan(config, uefi, &sc, disk, sizeof(disk), err);
    if (!rc) {
        char *argv[] = {"sfdisk", "--quiet", "--wipe", "always", "--wipe-partitions",
                        "always", disk,      NULL};
        rc = bh_exec(&(struct bh_exec){.argv = argv, .input = sc.p}, err);
    }
    if (!rc) { /* the kernel's view of the new table (sfdisk asks too; loop devices need it) */
        char *argv[] = {"blockdev", "--rereadpt", disk, NULL};
        bh_exec(&(struct bh_exec){.argv = argv}, NULL);
    }
    bh_buf_free(&sc);
    return rc;
}

/* a new partition's device node appears a moment after the table is
 * written (devtmpfs, udev): wait for it, up to 10 s */
static bool wait_node(const char *dev)
{
    for (int i = 0; i < 100; i++) {
        if (access(dev, F_OK) == 0)
            return true;
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return false;
}

int bh_disk_mkfs_argv(const char *dev, const char *fs, const char *lab, char **argv,
                      struct bh_err *err)
{
    argv[0] = NULL;
    if (!fs || !*fs)
        return 0;
    char *d = (char *)dev, *l = (char *)lab;
    char *const ext4[] = {"mkfs.ext4", "-F", "-q", "-L", l, d, NULL};
    char *const vfat[] = {"mkfs.vfat", "-n", l, d, NULL};
    char *const vfat_nl[] = {"mkfs.vfat", d, NULL};
    char *const ntfs[] = {"mkfs.ntfs", "-Q", "-F", "-L", l, d, NULL};
    char *const swap[] = {"mkswap", "-L", l, d, NULL};
    char *const *src = !strcmp(fs, "ext4")   ? ext4
                       : !strcmp(fs, "vfat") ? (lab[0] ? vfat : vfat_nl)
                       : !strcmp(fs, "ntfs") ? ntfs
                       : !strcmp(fs, "swap") ? swap
                                             : NULL;
    if (!src)
        return bh_err_set(err, BH_EUNSUPP, NULL, "%s: this agent cannot make a '%s' file system",
                          dev, fs);
    size_t k = 0;
    for (; src[k]; k++)
        argv[k] = src[k];
    argv[k] = NULL;
    return 0;
}

int bh_disk_format(const json_t *config, int n, struct bh_err *err)
{
    const json_t *parts = json_object_get(config, "partitions");
    if (n > 0 && (size_t)n > json_array_size(parts))
        return bh_err_set(err, BH_EINVAL, NULL, "the group's start.conf has no partition %d", n);
    size_t i;
    json_t *p;
    json_array_foreach(parts, i, p)
    {
        if (n > 0 && (size_t)n != i + 1)
            continue;
        const char *dev = json_string_value(json_object_get(p, "dev"));
        const char *fs = json_string_value(json_object_get(p, "fstype"));
        const char *label = json_string_value(json_object_get(p, "label"));
        char lab[64];
        bh_strlcpy(lab, label ? label : "", sizeof(lab));
        if (!dev)
            continue; /* no file system wanted */
        char *argv[8];
        int rc = bh_disk_mkfs_argv(dev, fs, lab, argv, err);
        if (rc)
            return rc;
        if (!argv[0])
            continue; /* no file system wanted */
        if (!wait_node(dev))
            return bh_err_set(err, BH_ENOTFOUND, NULL,
                              "%s does not exist (was the disk partitioned?)", dev);
        if ((rc = bh_exec(&(struct bh_exec){.argv = argv}, err)))
            return rc;
    }
    return 0;
}
