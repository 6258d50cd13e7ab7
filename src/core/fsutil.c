#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

bool bh_path_ok(const char *path, size_t max)
{
    size_t n = strlen(path);
    if (n == 0 || n > max)
        return false;
    if (path[0] == '/') {
        path++;
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return false;
    }
    /* every component non-empty and neither "." nor ".." */
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, "/");
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        p += len;
        if (*p == '/')
            p++;
    }
    return n > 0;
}

/* openat2 answers EAGAIN when a rename or mount raced the lookup; a few
 * tries are enough in practice, and the caller sees EAGAIN after that. */
#define BENEATH_EAGAIN_RETRIES 3

int bh_openat_beneath(int dirfd, const char *path, int flags)
{
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)(flags | O_CLOEXEC | O_NOCTTY);
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd;
    for (int tries = 0;; tries++) {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd >= 0)
            break;
        if (errno == EINTR || (errno == EAGAIN && tries < BENEATH_EAGAIN_RETRIES))
            continue;
        break;
    }
    return (int)fd;
}

int bh_open_beneath(int dirfd, const char *path, int flags)
{
    if (!bh_path_ok(path, 4096)) {
        errno = EINVAL;
        return -1;
    }
    if (path[0] == '/')
        path++;
    return bh_openat_beneath(dirfd, path, flags);
}

int bh_mkdir_p(const char *path, unsigned mode)
{
    char tmp[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, path, n + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(tmp, (mode_t)mode) < 0 && errno != EEXIST ? -1 : 0;
}
