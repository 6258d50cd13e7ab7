/*
 * files.c - static files for network boot (kernels, initrds, iPXE, GRUB)
 * and the console's files: validators, one byte range, and sendfile
 * through libmicrohttpd, so a whole room fetching the same initrd costs
 * page cache, not memory.
 */
#include "server.h"

#include "browser.h"

#include "core/fsutil.h"
#include "core/log.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HTTP_DATE_FMT "%a, %d %b %Y %H:%M:%S GMT"

static void http_date(time_t t, char out[40])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 40, HTTP_DATE_FMT, &tm);
}

static bool parse_http_date(const char *s, time_t *t)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, HTTP_DATE_FMT, &tm);
    if (!end || *end)
        return false;
    *t = timegm(&tm);
    return true;
}

/* RFC 9110 14.1.2: one "bytes=a-b", "bytes=a-" or "bytes=-n".  Returns 1 if a
 * range applies, 0 to send everything (absent, several ranges, unparsable),
 * -1 if unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *spec = h + 6, *dash = strchr(spec, '-');
    if (!dash)
        return 0;
    int64_t a = -1, b = -1;
    if (dash > spec && bh_parse_i64n(spec, (size_t)(dash - spec), 0, INT64_MAX, &a))
        return 0;
    if (dash[1] && bh_parse_i64(dash + 1, 0, INT64_MAX, &b))
        return 0;
    if (a < 0 && b < 0)
        return 0;
    if (a < 0) { /* suffix: the last b bytes */
        if (b == 0)
            return -1;
        uint64_t n = (uint64_t)b < size ? (uint64_t)b : size;
        *off = size - n;
        *len = n;
        return size ? 1 : -1;
    }
    if ((uint64_t)a >= size)
        return -1;
    uint64_t last = b < 0 || (uint64_t)b >= size ? size - 1 : (uint64_t)b;
    if (b >= 0 && b < a)
        return 0; /* invalid: ignore the header */
    *off = (uint64_t)a;
    *len = last - (uint64_t)a + 1;
    return 1;
}

int bh_reply_file_ex(struct bh_req *r, int dirfd, const char *path, const struct bh_file_opts *o)
{
    int fd = bh_open_beneath(dirfd, path, O_RDONLY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        if (fd < 0 && errno != ENOENT)
            bh_log(BH_LOG_WARN, "file refused", "what=%s path=%s remote=%s err=%s",
                   o->what ? o->what : "file", path, bh_req_remote(r), strerror(errno));
        if (fd >= 0)
            close(fd);
        return BH_ENOTFOUND;
    }
    if (o->not_older && (st.st_mtim.tv_sec < o->not_older->tv_sec ||
                         (st.st_mtim.tv_sec == o->not_older->tv_sec &&
                          st.st_mtim.tv_nsec < o->not_older->tv_nsec))) {
        close(fd);
        return BH_ENOTFOUND; /* stale: e.g. a .gz left from an older build */
    }
    uint64_t size = (uint64_t)st.st_size;
    char etag[96], lm[40], cr[96];
    snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"", (uint64_t)st.st_ino,
             size,
             (uint64_t)((uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec));
    http_date(st.st_mtime, lm);
    bh_reply_header(r, "ETag", etag);
    bh_reply_header(r, "Last-Modified", lm);
    bh_reply_header(r, "Cache-Control", o->cache_control ? o->cache_control : "no-cache");
    bh_reply_header(r, "Accept-Ranges", "bytes");
    if (o->encoding)
        bh_reply_header(r, "Content-Encoding", o->encoding);

    const char *inm = bh_req_header(r, "If-None-Match");
    const char *ims = bh_req_header(r, "If-Modified-Since");
    time_t since;
    if ((inm && bh_etag_listed(inm, etag)) ||
        (!inm && ims && parse_http_date(ims, &since) && st.st_mtime <= since)) {
        close(fd);
        bh_reply_empty(r, 304);
        return 0;
    }
    uint64_t off = 0, len = size;
    const char *if_range = bh_req_header(r, "If-Range");
    int ranged = if_range && strcmp(if_range, etag) != 0
                     ? 0 /* the file changed: send all of it */
                     : parse_range(bh_req_header(r, "Range"), size, &off, &len);
    if (ranged < 0) {
        close(fd);
        snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
        bh_reply_header(r, "Content-Range", cr);
        bh_reply_problem(r, 416, "range-not-satisfiable", "Range not satisfiable",
                         "the range lies outside the file", NULL);
        return 0;
    }
    if (ranged) {
        snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, off, off + len - 1,
                 size);
        bh_reply_header(r, "Content-Range", cr);
    }
    bh_reply_fd(r, ranged ? 206 : 200, o->ctype ? o->ctype : "application/octet-stream", fd, off,
                len);
    return 0;
}

void bh_reply_file(struct bh_req *r, int dirfd, const char *path, const char *ctype)
{
    struct bh_file_opts o = {.ctype = ctype, .what = "boot file"};
    if (bh_reply_file_ex(r, dirfd, path, &o))
        bh_reply_problem(r, 404, "not-found", "Not found", "no such boot file", NULL);
}
