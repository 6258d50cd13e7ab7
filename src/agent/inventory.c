/*
 * inventory.c - what the agent tells the server about the machine at
 * hello, read from sysfs and procfs only (no tool needed):
 *
 *   dmi        vendor, product, serial, UUID, BIOS version
 *   cpu        model, cores; memory in bytes
 *   disks      name, model, serial, size, rotational (not loop, ram, zram,
 *              dm or optical)
 *   nics       name, MAC, driver, link speed (Mbit/s, when up)
 *   firmware   bios or uefi, and under UEFI the Secure Boot state
 */
#include "agent.h"

#include "core/str.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the first line of a small sysfs file, trimmed; "" when unreadable */
static const char *line_of(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(buf, (int)cap, f))
            buf[0] = '\0';
        fclose(f);
    }
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return buf;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v && *v)
        json_object_set_new(o, k, json_string(v));
}

static json_t *dmi(void)
{
    static const char *const keys[] = {"sys_vendor",   "product_name", "product_serial",
                                       "product_uuid", "bios_version", "board_name"};
    json_t *d = json_object();
    char p[128], v[256];
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        snprintf(p, sizeof(p), "/sys/class/dmi/id/%s", keys[i]);
        set_str(d, keys[i], line_of(p, v, sizeof(v)));
    }
    return d;
}

static const char *cpu_model(char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "model name", 10))
            continue;
        const char *c = strchr(line, ':');
        if (c) {
            bh_strlcpy(buf, c + 2, cap);
            buf[strcspn(buf, "\n")] = '\0';
        }
        break;
    }
    if (f)
        fclose(f);
    return buf;
}

static bool skip_disk(const char *n)
{
    static const char *const pre[] = {"loop", "ram", "zram", "dm-", "sr", "fd", "md", "nbd"};
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (!strncmp(n, pre[i], strlen(pre[i])))
            return true;
    return false;
}

static json_t *disks(void)
{
    json_t *a = json_array();
    DIR *d = opendir("/sys/block");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || skip_disk(e->d_name))
            continue;
        char p[300], v[256];
        json_t *o = json_object();
        char dev[280];
        snprintf(dev, sizeof(dev), "/dev/%s", e->d_name);
        json_object_set_new(o, "name", json_string(dev));
        snprintf(p, sizeof(p), "/sys/block/%s/size", e->d_name);
        int64_t sectors = 0;
        bh_parse_i64(line_of(p, v, sizeof(v)), 0, INT64_MAX / 512, &sectors);
        json_object_set_new(o, "size", json_integer(sectors * 512));
        snprintf(p, sizeof(p), "/sys/block/%s/device/model", e->d_name);
        set_str(o, "model", line_of(p, v, sizeof(v)));
        snprintf(p, sizeof(p), "/sys/block/%s/device/serial", e->d_name);
        if (!*line_of(p, v, sizeof(v)))
            snprintf(p, sizeof(p), "/sys/block/%s/serial", e->d_name); /* virtio-blk */
        set_str(o, "serial", line_of(p, v, sizeof(v)));
        snprintf(p, sizeof(p), "/sys/block/%s/queue/rotational", e->d_name);
        json_object_set_new(o, "rotational", json_boolean(!strcmp(line_of(p, v, sizeof(v)), "1")));
        json_array_append_new(a, o);
    }
    if (d)
        closedir(d);
    return a;
}

static json_t *nics(void)
{
    json_t *a = json_array();
    DIR *d = opendir("/sys/class/net");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "lo"))
            continue;
        char p[300], v[256], link[512];
        snprintf(p, sizeof(p), "/sys/class/net/%s/device", e->d_name);
        if (access(p, F_OK)) /* bridges, tunnels: not a NIC */
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(e->d_name));
        snprintf(p, sizeof(p), "/sys/class/net/%s/address", e->d_name);
        set_str(o, "mac", line_of(p, v, sizeof(v)));
        snprintf(p, sizeof(p), "/sys/class/net/%s/device/driver", e->d_name);
        ssize_t n = readlink(p, link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            const char *slash = strrchr(link, '/');
            set_str(o, "driver", slash ? slash + 1 : link);
        }
        snprintf(p, sizeof(p), "/sys/class/net/%s/speed", e->d_name);
        int64_t speed = 0; /* -1 when the link is down: not parsed, left 0 */
        bh_parse_i64(line_of(p, v, sizeof(v)), 0, 1000000000, &speed);
        if (speed > 0)
            json_object_set_new(o, "speed_mbps", json_integer(speed));
        json_array_append_new(a, o);
    }
    if (d)
        closedir(d);
    return a;
}

/* Secure Boot: the last byte of the SecureBoot EFI variable (after the
 * four attribute bytes) */
static const char *secure_boot(void)
{
    FILE *f =
        fopen("/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c", "rb");
    if (!f)
        return "unknown";
    unsigned char b[5];
    size_t n = fread(b, 1, sizeof(b), f);
    fclose(f);
    return n == 5 ? (b[4] ? "enabled" : "disabled") : "unknown";
}

json_t *bh_agent_inventory(void)
{
    json_t *inv = json_object();
    char v[256];
    json_object_set_new(inv, "dmi", dmi());
    bool uefi = access("/sys/firmware/efi", F_OK) == 0;
    json_object_set_new(inv, "firmware", json_string(uefi ? "uefi" : "bios"));
    if (uefi)
        json_object_set_new(inv, "secure_boot", json_string(secure_boot()));
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    json_object_set_new(inv, "cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    set_str(inv, "cpu_model", cpu_model(v, sizeof(v)));
    json_object_set_new(inv, "memory", json_integer((json_int_t)pages * psz));
    json_object_set_new(inv, "disks", disks());
    json_object_set_new(inv, "nics", nics());
    json_object_set_new(inv, "agent", json_string(BH_VERSION));
    return inv;
}
