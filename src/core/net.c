#include "net.h"

#include "mac.h"
#include "str.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int bh_net_parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len,
                          struct bh_err *err)
{
    char host[BH_ADDR_STRLEN];
    const char *port;
    memset(ss, 0, sizeof(*ss));
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
            goto bad;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof(host))
            goto bad;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port = colon + 1;
    }
    int64_t p;
    if (bh_parse_i64(port, 0, 65535, &p))
        goto bad;
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (host[0] == '\0') {
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons((uint16_t)p);
        *len = sizeof(*a6);
    } else if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)p);
        *len = sizeof(*a4);
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)p);
        *len = sizeof(*a6);
    } else {
        goto bad;
    }
    return 0;
bad:
    return bh_err_set(err, BH_EINVAL, s,
                      "'%s' is not an address:port like 127.0.0.1:8080, [::1]:8080 or :8080", s);
}

int bh_net_listen_tcp(const char *hostport, int backlog, int *fd, struct bh_err *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int rc = bh_net_parse_hostport(hostport, &ss, &len, err);
    if (rc)
        return rc;
    int s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return bh_err_set(err, BH_ESYS, hostport, "socket: %s", strerror(errno));
    int one = 1, zero = 0;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6) /* ":8080" serves IPv4 too */
        setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    if (bind(s, (struct sockaddr *)&ss, len) < 0 || listen(s, backlog) < 0) {
        int e = errno;
        close(s);
        return bh_err_set(err, BH_ESYS, hostport, "cannot listen on %s: %s", hostport, strerror(e));
    }
    *fd = s;
    return 0;
}

void bh_net_format(const struct sockaddr *sa, char out[BH_ADDR_STRLEN])
{
    char host[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(out, BH_ADDR_STRLEN, "%s:%u", host, ntohs(a->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(out, BH_ADDR_STRLEN, "[%s]:%u", host, ntohs(a->sin6_port));
    } else {
        snprintf(out, BH_ADDR_STRLEN, "?");
    }
}

int bh_net_local_addr(int fd, char out[BH_ADDR_STRLEN])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return BH_ESYS;
    bh_net_format((struct sockaddr *)&ss, out);
    return 0;
}

/* ---- the kernel's IPv4 neighbour table ------------------------------------ */

#define ATF_COM_FLAG 0x2 /* <net/if_arp.h>: the entry is complete */

/* the next whitespace-separated field of [*p, end) into out; false if none
 * or longer than cap-1 */
static bool next_field(const char **p, const char *end, char *out, size_t cap)
{
    const char *q = *p;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    const char *s = q;
    while (q < end && *q != ' ' && *q != '\t' && *q != '\n')
        q++;
    *p = q;
    if (q == s || (size_t)(q - s) >= cap)
        return false;
    memcpy(out, s, (size_t)(q - s));
    out[q - s] = '\0';
    return true;
}

int bh_net_arp_find(const char *text, size_t len, const char *ip, char mac[BH_MAC_STRLEN])
{
    const char *p = text, *end = text + len;
    const char *nl = memchr(p, '\n', len); /* the header line */
    p = nl ? nl + 1 : end;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl ? nl : end;
        char addr[48], type[16], flags[16], hw[48];
        const char *q = p;
        if (next_field(&q, eol, addr, sizeof(addr)) && next_field(&q, eol, type, sizeof(type)) &&
            next_field(&q, eol, flags, sizeof(flags)) && next_field(&q, eol, hw, sizeof(hw)) &&
            strcmp(addr, ip) == 0) {
            /* flags: "0x" and hex digits; only the lowest one matters here */
            size_t fl = strlen(flags);
            const char *digit = strchr("0123456789abcdef", flags[fl - 1] | 0x20);
            unsigned f = digit && fl > 2 && !strncmp(flags, "0x", 2)
                             ? (unsigned)(digit - "0123456789abcdef")
                             : 0;
            if ((f & ATF_COM_FLAG) && bh_mac_normalize(hw, mac) == 0)
                return 0;
        }
        p = nl ? nl + 1 : end;
    }
    return BH_ENOTFOUND;
}

int bh_net_neighbour(const char *ip, char mac[BH_MAC_STRLEN])
{
    int fd = open(BH_NET_ARP_FILE, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return BH_ESYS;
    char *buf = malloc(BH_NET_ARP_MAX);
    size_t len = 0;
    ssize_t n = 0;
    while (buf && len < BH_NET_ARP_MAX &&
           ((n = read(fd, buf + len, BH_NET_ARP_MAX - len)) > 0 || (n < 0 && errno == EINTR)))
        if (n > 0)
            len += (size_t)n;
    close(fd);
    int rc = !buf || n < 0 ? BH_ESYS : bh_net_arp_find(buf, len, ip, mac);
    free(buf);
    return rc;
}
