/*
 * bootcfg.c - defaults of the boot settings, and small shared helpers.
 */
#include "boot.h"

#include "core/str.h"

#include <stdio.h>
#include <string.h>

void bh_boot_config_defaults(struct bh_boot_config *c)
{
    memset(c, 0, sizeof(*c));
    bh_strlcpy(c->root, "boot", sizeof(c->root));
    c->unknown_hosts = BH_UNKNOWN_REGISTER;
    c->offline_after = 600;
    c->ticket_window = BH_TICKET_WINDOW_DEFAULT;
    bh_strlcpy(c->default_profile, "bootherd-client", sizeof(c->default_profile));
    c->mode = BH_DHCP_PROXY;
    c->lease_time = 3600;
    c->commit_ms = 5;
    c->tftp_max_transfers = 1000;
    c->tftp_timeout_ms = 1000;
    c->tftp_retries = 6;
    c->tftp_blksize_max = 65464;
    c->tftp_windowsize_max = 64;
}

void bh_uuid_format(const uint8_t u[16], char out[37])
{
    /* time_low, time_mid and time_hi are little-endian on the wire, as
     * SMBIOS 2.6+ and the PXE client identifier store them (dmidecode shows
     * the same text) */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[3],
             u[2], u[1], u[0], u[5], u[4], u[7], u[6], u[8], u[9], u[10], u[11], u[12], u[13],
             u[14], u[15]);
}
