/*
 * daemon.h - `bootherd init` and `bootherd serve`.
 */
#ifndef BH_DAEMON_DAEMON_H
#define BH_DAEMON_DAEMON_H

#include "core/err.h"

#define BH_DB_FILE    "bootherd.db"
#define BH_TOKEN_FILE "admin.token"
#define BH_ADDR_FILE  "http.addr"

int bh_cmd_init(int argc, char **argv);
int bh_cmd_serve(int argc, char **argv);

/* Write data atomically: temp file, fsync, rename, fsync the directory. */
int bh_write_file_atomic(const char *path, const char *data, size_t len, int mode,
                         struct bh_err *err);
/* As root: give the data dir to `user` (or bootherd/nobody when empty) and
 * switch to it for good.  Not root: nothing. */
int bh_drop_privileges(const char *user, const char *data_dir, struct bh_err *err);

#endif
