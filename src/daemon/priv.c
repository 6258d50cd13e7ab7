/*
 * priv.c - leaving root after the ports are bound, and atomic file writes.
 */
#include "daemon.h"

#include "core/log.h"
#include "core/str.h"

#include <errno.h>
#include <fcntl.h>
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
    unsigned char rnd[6];
    char hex[13];
    if (bh_random(rnd, sizeof(rnd)))
        return bh_err_set(err, BH_ESYS, path, "no randomness");
    bh_hex(rnd, sizeof(rnd), hex);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%s", path, hex) >= sizeof(tmp))
        return bh_err_set(err, BH_EINVAL, path, "path too long: %s", path);
    /* a fresh name, never following a link someone planted */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
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

/* Give one entry of the data directory to the service user: opened without
 * following links, and only if it is what it should be (a directory, or a
 * regular file with a single link - not a hard link planted to something
 * else). */
static int give(int dirfd, const char *name, bool want_dir, bool create, uid_t uid, gid_t gid,
                struct bh_err *err)
{
    int fd = openat(dirfd, name,
                    (create ? O_RDWR | O_CREAT : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
                        (want_dir ? O_DIRECTORY : 0),
                    0640);
    if (fd < 0)
        return errno == ENOENT ? 0
                               : bh_err_set(err, BH_ESYS, name, "%s: %s", name, strerror(errno));
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) < 0)
        rc = bh_err_set(err, BH_ESYS, name, "%s: %s", name, strerror(errno));
    else if (want_dir ? !S_ISDIR(st.st_mode) : (!S_ISREG(st.st_mode) || st.st_nlink != 1))
        rc = bh_err_set(err, BH_EPERM, name, "refusing to chown %s: not a plain %s", name,
                        want_dir ? "directory" : "file");
    else if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
        rc = bh_err_set(err, BH_ESYS, name, "chown %s: %s", name, strerror(errno));
    close(fd);
    return rc;
}

int bh_priv_lookup(const char *user, struct bh_priv *p, struct bh_err *err)
{
    memset(p, 0, sizeof(*p));
    if (geteuid() != 0)
        return 0; /* nothing to leave */
    const char *name = user && *user ? user : "bootherd";
    const struct passwd *pw = getpwnam(name);
    if (!pw)
        return bh_err_set(err, BH_EINVAL, "user",
                          "running as root needs a service user: no user '%s' exists (create "
                          "it with: useradd --system --no-create-home --shell /usr/sbin/nologin "
                          "%s; scripts/deps.sh does), or set [server] user",
                          name, name);
    if (pw->pw_uid == 0)
        return bh_err_set(err, BH_EINVAL, "user", "server.user must not be root");
    p->active = true;
    p->uid = pw->pw_uid;
    p->gid = pw->pw_gid;
    snprintf(p->name, sizeof(p->name), "%s", pw->pw_name);
    return 0;
}

int bh_priv_hand_over(const struct bh_priv *p, const char *data_dir, const char *const *dbs,
                      struct bh_err *err)
{
    if (!p->active)
        return 0;
    /* The service user needs the directory (SQLite creates its -wal/-shm
     * files there, owned like the database; as root it chowns them to the
     * database's owner) and the database files; admin.token stays root's.
     * This runs before the databases are opened: closing any descriptor of
     * a file drops the POSIX locks SQLite holds on it in this process. */
    int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return bh_err_set(err, BH_ESYS, data_dir, "%s: %s", data_dir, strerror(errno));
    int rc = give(dfd, ".", true, false, p->uid, p->gid, err);
    for (size_t i = 0; !rc && dbs[i]; i++) {
        char side[256];
        rc = give(dfd, dbs[i], false, true, p->uid, p->gid, err);
        snprintf(side, sizeof(side), "%s-wal", dbs[i]);
        if (!rc)
            rc = give(dfd, side, false, false, p->uid, p->gid, err);
        snprintf(side, sizeof(side), "%s-shm", dbs[i]);
        if (!rc)
            rc = give(dfd, side, false, false, p->uid, p->gid, err);
    }
    close(dfd);
    return rc;
}

int bh_priv_drop(const struct bh_priv *p, struct bh_err *err)
{
    if (!p->active)
        return 0;
    if (setgroups(0, NULL) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
        setresuid(p->uid, p->uid, p->uid) < 0)
        return bh_err_set(err, BH_ESYS, "user", "cannot switch to user %s: %s", p->name,
                          strerror(errno));
    if (setuid(0) == 0) /* must be impossible now */
        return bh_err_set(err, BH_ESYS, "user", "privileges were not dropped");
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    bh_log(BH_LOG_INFO, "dropped privileges", "user=%s uid=%u", p->name, (unsigned)p->uid);
    return 0;
}
