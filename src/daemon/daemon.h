/*
 * daemon.h - `bootherd init` and `bootherd serve`.
 */
#ifndef BH_DAEMON_DAEMON_H
#define BH_DAEMON_DAEMON_H

#include "core/err.h"

#include <stdbool.h>
#include <sys/types.h>

#define BH_DB_FILE    "bootherd.db"
#define BH_IMAGES_DIR "images" /* chunks and manifests (src/image) */
#define BH_TOKEN_FILE "admin.token"
#define BH_ADDR_FILE  "http.addr"

int bh_cmd_init(int argc, char **argv);
int bh_cmd_serve(int argc, char **argv);
/* `bootherd tftpd --root DIR --listen ADDR:PORT [...]`: the TFTP server
 * alone (same code as in serve), for labs and benchmarks. */
int bh_cmd_tftpd(int argc, char **argv);
/* `bootherd assets install [--data DIR] [--root DIR]`: iPXE and GRUB
 * network loaders from Debian's packages into the boot root. */
int bh_cmd_assets(int argc, char **argv);
/* `bootherd client build [--data DIR] ...`: the client OS (kernel +
 * initramfs) into the boot root and the bootherd-client profile. */
int bh_cmd_client(int argc, char **argv);
/* `bootherd dhcpd --config FILE`: the DHCP server alone, with a built-in
 * boot policy by architecture, for labs and benchmarks. */
int bh_cmd_dhcpd(int argc, char **argv);

/* Write data atomically: temp file, fsync, rename, fsync the directory. */
int bh_write_file_atomic(const char *path, const char *data, size_t len, int mode,
                         struct bh_err *err);
/* Leaving root, in three steps (all no-ops when not started as root):
 * look up the service user (`user`, default "bootherd"); hand it the data
 * directory and database files, before they are opened; after the
 * privileged ports are bound and the store is open, switch to it for good. */
struct bh_priv {
    bool active; /* started as root */
    uid_t uid;
    gid_t gid;
    char name[64];
};
int bh_priv_lookup(const char *user, struct bh_priv *p, struct bh_err *err);
/* dbs: the SQLite files of data_dir the service user needs (NULL-ended);
 * each is created empty if missing, and its -wal/-shm are given too. */
int bh_priv_hand_over(const struct bh_priv *p, const char *data_dir, const char *const *dbs,
                      struct bh_err *err);
int bh_priv_drop(const struct bh_priv *p, struct bh_err *err);

#endif
