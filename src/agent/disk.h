/*
 * disk.h - laying out and formatting the disk from a group's start.conf.
 */
#ifndef BH_AGENT_DISK_H
#define BH_AGENT_DISK_H

#include "core/buf.h"
#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* "/dev/sda1" -> "/dev/sda", 1 (also nvme0n1p2, loop0p2, mmcblk0p1). */
int bh_disk_split(const char *dev, char *disk, size_t cap, int *num);
/* The plan of the partition step, touching nothing: sfdisk's script for
 * config's partitions into *script (initialised by the caller; GPT or MBR,
 * see disk.c) and the disk they are on into disk.  0, or BH_EINVAL with
 * err saying which partition is wrong. */
int bh_disk_plan(const json_t *config, bool uefi, struct bh_buf *script, char *disk, size_t cap,
                 struct bh_err *err);
/* Write the partition table that bh_disk_plan plans.  0, or a BH_E* code
 * with err filled (what sfdisk printed when it failed). */
int bh_disk_partition(const json_t *config, bool uefi, struct bh_err *err);
/* The mkfs command line for an FSType (ext4, vfat, ntfs, swap) into argv
 * (at least 7 slots; it points into dev and lab, which must outlive it).
 * 0 (argv[0] is NULL when fs is NULL or empty: no file system wanted);
 * BH_EUNSUPP with err filled for an FSType this agent cannot make. */
int bh_disk_mkfs_argv(const char *dev, const char *fs, const char *lab, char **argv,
                      struct bh_err *err);
/* mkfs every partition with an FSType (n == 0), or partition n only. */
int bh_disk_format(const json_t *config, int n, struct bh_err *err);

#endif
