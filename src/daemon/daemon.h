/*
 * daemon.h - `bootherd init` and `bootherd serve`.
 */
#ifndef BH_DAEMON_DAEMON_H
#define BH_DAEMON_DAEMON_H

#include "core/datadir.h"
#include "core/err.h"
#include "core/tlscert.h"

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

struct bh_config;

int bh_cmd_init(int argc, char **argv);
/* `init --tls` (tls.c): make DIR/tls/cert.pem and key.pem unless they
 * exist (names: extra subjectAltNames besides this host's name, localhost,
 * 127.0.0.1 and ::1), turn TLS on in DIR/bootherd.conf unless it names a
 * certificate already, and print the pin.  Prints what it did. */
int bh_tls_init(const char *dir, const char *const *names, size_t nnames, struct bh_err *err);
/* serve: read [http] tls_cert and tls_key (paths relative to the working
 * directory) and check they belong together; logs a warning for a key
 * others can read and a certificate that ends within 30 days.  pem is
 * freed by the caller (bh_tls_pem_free). */
int bh_tls_load(const struct bh_config *c, struct bh_tls_pem *pem, struct bh_tls_info *info,
                struct bh_err *err);
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
/* `bootherd routes`: the API's route table, with the role each needs. */
int bh_cmd_routes(int argc, char **argv);
void bh_usage_routes(FILE *f);

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
