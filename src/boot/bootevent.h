/*
 * bootevent.h - what DHCP and TFTP tell the rest of bootherd happened, as
 * plain structs.  The I/O halves (dhcp_io.c, tftp_io.c) fill them on the
 * loop thread and hand them over; the boot worker (bootwork.c) turns each
 * into a store event once, at the boundary.  Nothing in between packs them
 * into JSON and parses them back.
 *
 * Every field is a value or a capped buffer, so an event can be copied and
 * kept without pointing into a packet buffer.  Leaf of the boot module:
 * depends on boot.h and core only.
 */
#ifndef BH_BOOT_BOOTEVENT_H
#define BH_BOOT_BOOTEVENT_H

#include "boot.h"
#include "core/mac.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define BH_BOOTEV_TYPE_MAX 24 /* "dhcp.release" and the like, with room */

/* One DHCP reply sent (or a release or decline received) for a client. */
struct bh_dhcp_event {
    char type[BH_BOOTEV_TYPE_MAX]; /* "dhcp.offer" (proxy offers too), "dhcp.ack",
                                    * "dhcp.nak", "dhcp.release", "dhcp.decline",
                                    * "pxe.ack" */
    char mac[BH_MAC_STRLEN];
    enum bh_dhcp_mode mode;      /* full, or proxy (4011 counts as proxy) */
    struct in_addr ip;           /* the address handed out (yiaddr); 0 if none */
    char iface[IFNAMSIZ];        /* where the request arrived */
    struct in_addr relay;        /* giaddr; 0 if direct */
    enum bh_boot_kind boot;      /* the boot decision's kind */
    char file[BH_BOOT_FILE_MAX]; /* the boot file or URL; "" if none */
    char why[BH_BOOT_WHY_MAX];
    uint16_t arch;       /* option 93, BH_ARCH_NONE if absent */
    uint32_t lease_time; /* seconds; 0 when no lease goes with it */
};

#define BH_TFTP_EVENT_PATH_MAX  1024 /* = BH_TFTP_REQ_MAX: a request's name fits whole */
#define BH_TFTP_EVENT_ERROR_MAX 128  /* our error texts are short constants */

/* One TFTP transfer ended (also a refused request: ok false, blksize 0). */
struct bh_tftp_event {
    struct sockaddr_in client;
    char path[BH_TFTP_EVENT_PATH_MAX];   /* as requested: any bytes but NUL */
    bool ok;                             /* false: error, timeout or refused */
    int error_code;                      /* TFTP error sent (0 none) */
    char error[BH_TFTP_EVENT_ERROR_MAX]; /* text sent or logged; "" if none */
    uint64_t bytes;                      /* file bytes delivered */
    uint64_t nanos;                      /* request to final ACK */
    uint32_t retransmits;                /* DATA packets sent again */
    uint16_t blksize, windowsize;
};

#endif
