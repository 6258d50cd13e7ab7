/*
 * fsutil.h - opening files strictly inside a directory, making one.  Leaf
 * module.
 */
#ifndef BH_CORE_FSUTIL_H
#define BH_CORE_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Is this a relative path we are willing to look up: no NUL (by
 * construction), no control bytes, no backslashes, no empty, "." or ".."
 * components, at most max bytes?  One leading '/' is tolerated and skipped
 * by bh_open_beneath (firmware often asks for "/pxelinux.0"). */
bool bh_path_ok(const char *path, size_t max);

/* open(2) path relative to dirfd such that nothing outside the directory
 * is reached: not by "..", not by an absolute path, not through a symlink
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS).  Returns the fd or -1
 * with errno (EXDEV when the path tried to escape, EINVAL when bh_path_ok
 * refused it). */
int bh_open_beneath(int dirfd, const char *path, int flags);

/* The same kernel confinement without the bh_path_ok check: "." and empty
 * components resolve as open(2) does ("./a", "a//b").  For callers that
 * check names themselves to name their refusals (TFTP).  Tries again a few
 * times when openat2 reports EAGAIN (a racing rename).  Returns the fd or
 * -1 with errno (EXDEV on an escape, ENOSYS before Linux 5.6). */
int bh_openat_beneath(int dirfd, const char *path, int flags);

/* mkdir -p: path and each missing parent, with mode.  0, or -1 with errno
 * (ENAMETOOLONG past PATH_MAX); a directory already there is fine. */
int bh_mkdir_p(const char *path, unsigned mode);

#endif
