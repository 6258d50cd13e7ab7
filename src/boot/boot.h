/*
 * boot.h - what the boot services share: the settings of [boot], [dhcp],
 * [subnet] and [tftp], what DHCP learns about a client, and the boot
 * decision the policy (bootpolicy.c) makes for it.
 *
 * Leaf of the boot module: depends on core only.
 */
#ifndef BH_BOOT_BOOT_H
#define BH_BOOT_BOOT_H

#include "core/err.h"
#include "core/mac.h"

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- settings ------------------------------------------------------------ */

enum bh_dhcp_mode { BH_DHCP_OFF = 0, BH_DHCP_PROXY, BH_DHCP_FULL };
enum bh_unknown_policy { BH_UNKNOWN_REGISTER = 0, BH_UNKNOWN_IGNORE, BH_UNKNOWN_BOOT_DEFAULT };

#define BH_DHCP_MAX_IFACES  16
#define BH_DHCP_MAX_SUBNETS 32
#define BH_DHCP_MAX_DNS     3

struct bh_dhcp_iface {
    char name[IFNAMSIZ];
    enum bh_dhcp_mode mode;
};

/* One [subnet] section (full mode): addresses handed out on a segment,
 * directly attached (interface) or behind a relay (matched by giaddr). */
struct bh_dhcp_subnet {
    struct in_addr net, mask;
    struct in_addr range_start, range_end; /* inclusive; 0 = reservations only */
    struct in_addr router;                 /* 0 = none */
    struct in_addr dns[BH_DHCP_MAX_DNS];
    int ndns;
    char domain[64];
    uint32_t lease_time; /* seconds; 0 = [dhcp] lease_time */
    char iface[IFNAMSIZ];
};

#define BH_TICKET_WINDOW_DEFAULT 300 /* seconds: PXE ROM to iPXE script takes well under this */

struct bh_boot_config {
    /* [boot] */
    char root[PATH_MAX]; /* boot files for TFTP and HTTP; relative = in the data dir */
    char server_ip[16];  /* address clients are told to use; "" = the receiving interface's */
    char http_base[256]; /* base URL of the HTTP boot endpoints; "" = http://<server_ip>:<port> */
    enum bh_unknown_policy unknown_hosts;
    int64_t offline_after;    /* seconds without a sign of life before a host is offline */
    char default_profile[64]; /* boot profile for hosts without one */
    bool snponly;             /* UEFI x64: snponly.efi instead of ipxe.efi */
    int64_t ticket_window;    /* seconds a DHCP exchange proves a boot (bootproof.h) */
    bool ticket_neighbour;    /* a neighbour-table entry alone proves it too */
    bool ticket_relayed;      /* an exchange through a DHCP relay proves it without one */
    /* [dhcp] */
    enum bh_dhcp_mode mode; /* for interfaces listed without a mode */
    struct bh_dhcp_iface ifaces[BH_DHCP_MAX_IFACES];
    int nifaces;        /* 0 = DHCP off */
    int64_t lease_time; /* default lease, seconds */
    int64_t commit_ms;  /* group commit window for leases */
    /* [subnet], repeated */
    struct bh_dhcp_subnet subnets[BH_DHCP_MAX_SUBNETS];
    int nsubnets;
    /* [tftp] */
    char tftp_listen[64]; /* "" = TFTP off; e.g. "0.0.0.0:69" or "192.0.2.1:69" */
    int64_t tftp_max_transfers;
    int64_t tftp_timeout_ms; /* first retransmit timeout; doubles per retry */
    int64_t tftp_retries;
    int64_t tftp_blksize_max;    /* <= 65464 (RFC 2348), also clamped to the path MTU */
    int64_t tftp_windowsize_max; /* <= 64 (RFC 7440 allows 65535; we cap) */
};

void bh_boot_config_defaults(struct bh_boot_config *c);

/* ---- a DHCP client, as the boot policy sees it --------------------------- */

/* RFC 4578 option 93 values we act on (IANA processor architecture types) */
#define BH_ARCH_BIOS       0x0000
#define BH_ARCH_EFI_IA32   0x0006
#define BH_ARCH_EFI_X64    0x0007
#define BH_ARCH_EFI_BC     0x0009 /* EFI byte code: x64 firmware in practice */
#define BH_ARCH_EFI_ARM32  0x000a
#define BH_ARCH_EFI_ARM64  0x000b
#define BH_ARCH_HTTP_X64   0x0010 /* UEFI HTTP boot, x64 */
#define BH_ARCH_HTTP_ARM64 0x0013
#define BH_ARCH_NONE       0xffff /* option 93 absent */

struct bh_boot_client {
    uint8_t mac[6];
    char mac_str[BH_MAC_STRLEN]; /* aa:bb:cc:dd:ee:ff */
    uint16_t arch;               /* option 93, BH_ARCH_NONE if absent */
    bool pxe;                    /* vendor class (60) starts with "PXEClient" */
    bool http;                   /* vendor class starts with "HTTPClient" */
    bool ipxe;                   /* user class (77) "iPXE" or option 175 present */
    bool rpi;                    /* Raspberry Pi boot ROM */
    char vendor_class[128];
    char user_class[64];
    bool has_uuid;
    uint8_t uuid[16];          /* option 97, raw GUID bytes */
    char uuid_str[37];         /* canonical lower-case text, "" if none */
    char hostname[64];         /* option 12, if sent */
    char iface[IFNAMSIZ];      /* where the request arrived */
    struct in_addr iface_addr; /* our address on that interface */
    struct in_addr giaddr;     /* relay, 0 if direct */
    enum bh_dhcp_mode mode;    /* mode of the interface / subnet it came through */
};

/* ---- the boot decision --------------------------------------------------- */

enum bh_boot_kind {
    BH_BOOT_NONE = 0, /* do not answer (unknown + ignore, or not a boot client) */
    BH_BOOT_TFTP,     /* boot file over TFTP from next_server */
    BH_BOOT_HTTP,     /* UEFI HTTP boot: filename is a URL, echo vendor class */
    BH_BOOT_SCRIPT,   /* iPXE already running: filename is the URL of its script */
    BH_BOOT_RPI,      /* Raspberry Pi: option 43 "Raspberry Pi Boot" + TFTP server */
};

#define BH_BOOT_FILE_MAX 256 /* boot file name or URL, with its NUL */
#define BH_BOOT_WHY_MAX  64

struct bh_boot_decision {
    enum bh_boot_kind kind;
    char filename[BH_BOOT_FILE_MAX]; /* TFTP path or URL */
    struct in_addr next_server;      /* TFTP server (siaddr, option 66) */
    char why[BH_BOOT_WHY_MAX];       /* short reason, for events and logs: "bios", "efi64", ... */
};

/* Canonical text of a GUID from option 97 / SMBIOS (first three fields
 * little-endian, as firmware sends them). out must hold 37 bytes. */
void bh_uuid_format(const uint8_t u[16], char out[37]);

#endif
