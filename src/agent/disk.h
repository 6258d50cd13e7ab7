/*
 * disk.h - laying out and formatting the disk from a group's start.conf.
 */
#ifndef BH_AGENT_DISK_H
#define BH_AGENT_DISK_H

#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* "/dev/sda1" -> "/dev/sda", 1 (also nvme0n1p2, loop0p2, mmcblk0p1). */
int bh_disk_split(const char *dev, char *disk, size_t cap, int *num);
/* Write the partition table of config's partitions (GPT or MBR, see
 * disk.c).  0, or 1 with why filled. */
int bh_disk_partition(const json_t *config, bool uefi, char *why, size_t cap);
/* mkfs every partition with an FSType (n == 0), or partition n only. */
int bh_disk_format(const json_t *config, int n, char *why, size_t cap);

#endif
