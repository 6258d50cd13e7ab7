/*
 * dhcp_proto.h - DHCPv4 packets: bytes in, structs out, and back.  No
 * sockets, no clock, no allocation: the I/O half (dhcp_io.c) and the tests
 * hand in buffers.
 *
 * RFC 951/2131 (BOOTP/DHCP header), RFC 2132 (options), RFC 3396 (long
 * options split in several instances), RFC 4578 (PXE options 93, 94, 97),
 * RFC 3004 (user class), RFC 3046 (relay agent information), PXE 2.1
 * (option 43 sub-options, boot server on port 4011).
 */
#ifndef BH_BOOT_DHCP_PROTO_H
#define BH_BOOT_DHCP_PROTO_H

#include "boot.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- wire constants ------------------------------------------------------ */

#define BH_DHCP_SERVER_PORT 67
#define BH_DHCP_CLIENT_PORT 68
#define BH_PXE_BOOT_PORT    4011 /* PXE 2.1: boot server discovery */

#define BH_BOOTP_REQUEST 1
#define BH_BOOTP_REPLY   2
#define BH_HTYPE_ETHER   1 /* RFC 1700 hardware type */
#define BH_HLEN_ETHER    6

#define BH_DHCP_FIXED_LEN   236        /* RFC 2131 figure 1, up to and excluding options */
#define BH_DHCP_COOKIE      0x63825363 /* RFC 2131 3: 99.130.83.99 */
#define BH_DHCP_HDR_LEN     240        /* fixed part + cookie */
#define BH_DHCP_SNAME_OFF   44
#define BH_DHCP_SNAME_LEN   64
#define BH_DHCP_FILE_OFF    108
#define BH_DHCP_FILE_LEN    128
#define BH_DHCP_MIN_MSG     576    /* RFC 2131 2: every client takes 576 bytes of IP */
#define BH_DHCP_IPUDP_LEN   28     /* IPv4 header without options + UDP header */
#define BH_DHCP_PKT_MAX     4096   /* larger requests are rejected as oversized */
#define BH_DHCP_BROADCAST_F 0x8000 /* RFC 2131 2: flags, broadcast bit */

/* RFC 2132 9.6 / RFC 2131 3: message types */
enum {
    BH_DHCPDISCOVER = 1,
    BH_DHCPOFFER = 2,
    BH_DHCPREQUEST = 3,
    BH_DHCPDECLINE = 4,
    BH_DHCPACK = 5,
    BH_DHCPNAK = 6,
    BH_DHCPRELEASE = 7,
    BH_DHCPINFORM = 8,
};

/* RFC 2132 option codes (and the RFCs that added the later ones) */
enum {
    BH_OPT_PAD = 0,
    BH_OPT_SUBNET_MASK = 1,
    BH_OPT_ROUTER = 3,
    BH_OPT_DNS = 6,
    BH_OPT_HOSTNAME = 12,
    BH_OPT_DOMAIN = 15,
    BH_OPT_VENDOR = 43,
    BH_OPT_REQUESTED_IP = 50,
    BH_OPT_LEASE_TIME = 51,
    BH_OPT_OVERLOAD = 52,
    BH_OPT_MSG_TYPE = 53,
    BH_OPT_SERVER_ID = 54,
    BH_OPT_PARAM_LIST = 55,
    BH_OPT_MESSAGE = 56,
    BH_OPT_MAX_MSG = 57,
    BH_OPT_T1 = 58,
    BH_OPT_T2 = 59,
    BH_OPT_VENDOR_CLASS = 60,
    BH_OPT_CLIENT_ID = 61,
    BH_OPT_TFTP_SERVER = 66,
    BH_OPT_BOOTFILE = 67,
    BH_OPT_USER_CLASS = 77,  /* RFC 3004 */
    BH_OPT_RELAY_AGENT = 82, /* RFC 3046 */
    BH_OPT_CLIENT_ARCH = 93, /* RFC 4578 2.1 */
    BH_OPT_CLIENT_NDI = 94,  /* RFC 4578 2.2 */
    BH_OPT_CLIENT_UUID = 97, /* RFC 4578 2.3 */
    BH_OPT_IPXE_ENCAP = 175, /* iPXE: its own encapsulated options */
    BH_OPT_END = 255,
};

/* PXE 2.1 option 43 sub-options */
#define BH_PXE_DISCOVERY_CONTROL 6
#define BH_PXE_BOOT_MENU         9
#define BH_PXE_MENU_PROMPT       10
#define BH_PXE_DC_USE_BOOTFILE   0x08 /* bit 3: boot file in the offer, download it at once */

/* ---- a parsed request ---------------------------------------------------- */

/* One option's value: RFC 3396 instances already concatenated.  off/len
 * index bh_dhcp_msg.optbuf. */
struct bh_dhcp_optval {
    uint16_t off, len;
    bool present;
};

struct bh_dhcp_msg {
    uint8_t op, htype, hlen, hops;
    uint32_t xid; /* as on the wire (network order), copied back verbatim */
    uint16_t secs, flags;
    struct in_addr ciaddr, yiaddr, siaddr, giaddr;
    uint8_t chaddr[16];
    uint8_t type; /* option 53; 0 = plain BOOTP (no option 53) */
    bool has_requested_ip, has_server_id;
    struct in_addr requested_ip, server_id;
    uint16_t max_msg; /* option 57, 0 if absent; values below 576 read as 576 */
    uint16_t arch;    /* first entry of option 93, BH_ARCH_NONE if absent */
    bool has_ndi;
    uint8_t ndi[3]; /* option 94: type, major, minor */
    bool has_uuid;
    uint8_t uuid[16]; /* option 97 after its type byte 0 */
    bool ipxe_encap;  /* option 175 present */
    uint8_t overload; /* option 52 (1 file, 2 sname, 3 both) */
    /* every option seen, by code (RFC 3396 concatenated); 0 and 255 unused */
    struct bh_dhcp_optval opt[256];
    uint8_t optbuf[BH_DHCP_PKT_MAX];
};

/* Why a packet was rejected (never a crash: every byte is bounds-checked). */
enum bh_dhcp_parse_err {
    BH_DHCP_PARSE_OK = 0,
    BH_DHCP_ERR_SHORT,        /* shorter than the 240-byte header + cookie */
    BH_DHCP_ERR_OVERSIZED,    /* longer than BH_DHCP_PKT_MAX */
    BH_DHCP_ERR_COOKIE,       /* magic cookie missing */
    BH_DHCP_ERR_OPTION_LEN,   /* an option runs past the end of its field */
    BH_DHCP_ERR_OPTION_VALUE, /* an option with an impossible length or value */
    BH_DHCP_ERR_OVERLOAD,     /* option 52 outside the options field or bad value */
    BH_DHCP_ERR_NOT_REQUEST,  /* op is not BOOTREQUEST */
    BH_DHCP_ERR_HWTYPE,       /* not Ethernet (htype 1, hlen 6) */
    BH_DHCP_ERR_MSG_TYPE,     /* option 53 not a client message type */
};

/* Parse len bytes.  Fills *m (caller's memory, ~5 KiB) and returns
 * BH_DHCP_PARSE_OK, or the reason the packet is malformed; on error *m is
 * left partly filled and must not be used.  Plain BOOTP (no option 53)
 * parses OK with m->type 0: whether to answer it is the caller's business. */
enum bh_dhcp_parse_err bh_dhcp_parse(const uint8_t *pkt, size_t len, struct bh_dhcp_msg *m);
/* Short slug for a parse error, for logs and counters: "short", "cookie"... */
const char *bh_dhcp_parse_err_name(enum bh_dhcp_parse_err e);
/* "DISCOVER", "REQUEST", ... or "BOOTP"/"?" */
const char *bh_dhcp_type_name(uint8_t type);

/* An option's bytes (borrowed from m), or NULL with *len 0 when absent. */
const uint8_t *bh_dhcp_opt(const struct bh_dhcp_msg *m, uint8_t code, size_t *len);
/* Did the client list `code` in its parameter request list (55)? */
bool bh_dhcp_requested(const struct bh_dhcp_msg *m, uint8_t code);
/* The largest reply the client accepts, as a DHCP message (without IP/UDP):
 * option 57 minus 28, at least 576 - 28, at most cap. */
size_t bh_dhcp_reply_limit(const struct bh_dhcp_msg *m, size_t cap);

/* What DHCP knows about the client (boot.h): MAC, arch, vendor/user class,
 * UUID, hostname, and the pxe/http/ipxe/rpi flags.  iface, iface_addr,
 * giaddr and mode are the caller's to set (giaddr is copied here). */
void bh_dhcp_client_from_msg(const struct bh_dhcp_msg *m, struct bh_boot_client *c);
/* True for a Raspberry Pi OUI (b8:27:eb, dc:a6:32, e4:5f:01, 28:cd:c1,
 * d8:3a:dd, 2c:cf:67). */
bool bh_dhcp_is_rpi_mac(const uint8_t mac[6]);

/* ---- building replies ---------------------------------------------------- */

/* What goes into a reply.  The builder copies xid, flags, giaddr and chaddr
 * from the request and echoes options 82 (RFC 3046 2.2) and 97 (PXE). */
struct bh_dhcp_reply {
    uint8_t type;             /* BH_DHCPOFFER, BH_DHCPACK or BH_DHCPNAK */
    struct in_addr server_id; /* option 54: our address on the interface */
    struct in_addr ciaddr;    /* ACK to INFORM / renewal: the client's */
    struct in_addr yiaddr;    /* 0 in proxy answers and NAKs */
    /* address lease (full mode); lease_time 0 = no lease options (INFORM,
     * proxy) */
    uint32_t lease_time;
    struct in_addr mask, router;
    struct in_addr dns[BH_DHCP_MAX_DNS];
    int ndns;
    const char *domain;   /* NULL or "" = none */
    const char *hostname; /* option 12, NULL or "" = none */
    const char *message;  /* option 56 (NAK reason), NULL = none */
    /* boot part; kind NONE = no boot options */
    const struct bh_boot_decision *boot;
};

/* Build the reply to request m into out (cap bytes, at least 576), capped
 * by the client's maximum message size (57).  Options in order: 53, 54,
 * lease (51, 58, 59, 1, 3, 6, 15, 12), boot (60, 43, 66, 67, 97), 56, 82,
 * 255.  Options the client did not ask for in 55 are still sent when a
 * client needs them without asking (PXE ROMs read 43 and 60 whatever their
 * list says); 66 when requested (always for the Raspberry Pi), 67 when
 * requested, when the name did not fit the file field, or for UEFI HTTP
 * boot (which reads the URI there).  Returns the length, or BH_ETOOBIG if the mandatory part
 * does not fit (never in practice: < 400 bytes), BH_EINVAL for a bad type. */
int bh_dhcp_build(const struct bh_dhcp_msg *m, const struct bh_dhcp_reply *r, uint8_t *out,
                  size_t cap);

#endif
