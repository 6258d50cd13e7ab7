/*
 * priv.c - leaving root after the ports are bound, and atomic file writes.
 */
#include "daemon.h"

#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

int bh_write_file_atomic(const char *path, const char *data, size_t len, int mode,
                         struct bh_err *err)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= sizeof(tmp))
        return bh_err_set(err, BH_EINVAL, path, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return bh_err_set(err, BH_ESYS, path, "%s: %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fchmod(fd, (mode_t)mode) < 0 || fsync(fd) < 0)
        goto fail;
    close(fd);
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return bh_err_set(err, BH_ESYS, path, "rename %s: %s", path, strerror(e));
    }
    snprintf(dir, sizeof(dir), "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
fail : {
    int e = errno;
    close(fd);
    unlink(tmp);
    return bh_err_set(err, BH_ESYS, path, "write %s: %s", path, strerror(e));
}
}

static uid_t g_uid;
static gid_t g_gid;

static int chown_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    if (lchown(p, g_uid, g_gid) < 0)
        bh_log(BH_LOG_WARN, "chown failed", "path=%s err=%s", p, strerror(errno));
    return 0;
}

int bh_drop_privileges(const char *user, const char *data_dir, struct bh_err *err)
{
    if (geteuid() != 0)
        return 0;
    const struct passwd *pw = NULL;
    if (user && *user) {
        pw = getpwnam(user);
        if (!pw)
            return bh_err_set(err, BH_EINVAL, "user", "no such user '%s' (server.user)", user);
    } else {
        pw = getpwnam("bootherd");
        if (!pw)
            pw = getpwnam("nobody");
        if (!pw)
            return bh_err_set(err, BH_EINVAL, "user",
                              "running as root and neither user 'bootherd' nor 'nobody' exists; "
                              "set server.user");
    }
    if (pw->pw_uid == 0)
        return bh_err_set(err, BH_EINVAL, "user", "server.user must not be root");
    g_uid = pw->pw_uid;
    g_gid = pw->pw_gid;
    char name[64];
    snprintf(name, sizeof(name), "%s", pw->pw_name);
    /* the daemon must own its state to write it after dropping root */
    if (nftw(data_dir, chown_one, 16, FTW_PHYS) < 0)
        return bh_err_set(err, BH_ESYS, data_dir, "cannot hand %s to %s: %s", data_dir, name,
                          strerror(errno));
    if (setgroups(0, NULL) < 0 || setresgid(g_gid, g_gid, g_gid) < 0 ||
        setresuid(g_uid, g_uid, g_uid) < 0)
        return bh_err_set(err, BH_ESYS, "user", "cannot switch to user %s: %s", name,
                          strerror(errno));
    if (setuid(0) == 0) /* must be impossible now */
        return bh_err_set(err, BH_ESYS, "user", "privileges were not dropped");
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    bh_log(BH_LOG_INFO, "dropped privileges", "user=%s uid=%u", name, (unsigned)g_uid);
    return 0;
}
