/*
 * net.h - address parsing and listening sockets.  Leaf module.
 */
#ifndef BH_CORE_NET_H
#define BH_CORE_NET_H

#include "err.h"

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

#endif
