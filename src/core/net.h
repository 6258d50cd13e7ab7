/*
 * net.h - address parsing and listening sockets.  Leaf module.
 */
#ifndef BH_CORE_NET_H
#define BH_CORE_NET_H

#include "err.h"
#include "mac.h"

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

#define BH_ADDR_STRLEN 64

/* "127.0.0.1:8080", "[::1]:8080", ":8080" (all addresses), "0.0.0.0:0". */
int bh_net_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len,
                          struct bh_err *err);
/* Bind and listen (SO_REUSEADDR, CLOEXEC); returns the fd in *fd. */
int bh_net_listen_tcp(const char *hostport, int backlog, int *fd, struct bh_err *err);
/* "127.0.0.1:8080" / "[::1]:8080" of a socket's local address. */
int bh_net_local_addr(int fd, char out[BH_ADDR_STRLEN]);
void bh_net_format(const struct sockaddr *sa, char out[BH_ADDR_STRLEN]);

/* ---- the kernel's IPv4 neighbour table ------------------------------------ */

#define BH_NET_ARP_FILE "/proc/net/arp"
#define BH_NET_ARP_MAX  (1024 * 1024) /* read at most this much of it */

/* Look IPv4 address ip up in text shaped like /proc/net/arp (a header line,
 * then "IP HW-type Flags HW-address Mask Device" per entry).  0 and mac
 * (aa:bb:cc:dd:ee:ff) filled when a complete entry (flag ATF_COM) names it;
 * BH_ENOTFOUND when there is none (no entry, or one still resolving).
 * Pure: no I/O. */
int bh_net_arp_find(const char *text, size_t len, const char *ip, char mac[BH_MAC_STRLEN]);
/* The same, read from this network namespace's /proc/net/arp (readable
 * without privileges).  BH_ESYS when it cannot be read. */
int bh_net_neighbour(const char *ip, char mac[BH_MAC_STRLEN]);

#endif
