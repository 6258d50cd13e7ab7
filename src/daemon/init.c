/*
 * init.c - `bootherd init --data DIR`: data directory, database, first
 * admin token.  The token's plaintext goes to DIR/admin.token (0600) once;
 * the database keeps only its hash.  With --tls, also a self-signed
 * certificate and HTTPS on (tls.c); it works on a directory initialized
 * before, too.
 */
#include "daemon.h"

#include "api/api.h"
#include "config.h"
#include "core/fsutil.h"
#include "core/str.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_admin(struct bh_store *st, const char *dir, bool reset)
{
    const struct bh_kind_desc *k = bh_kind_get(BH_KIND_TOKEN);
    struct bh_actor a = {"bootherd init", NULL, NULL};
    struct bh_err e;
    json_t *old = NULL;
    if (bh_store_get(st, k, "admin", &old, &e) == 0) {
        json_decref(old);
        if (!reset) {
            printf("%s is already initialized; the admin token was written to %s/%s\n", dir, dir,
                   BH_TOKEN_FILE);
            return 0;
        }
        if (bh_store_delete(st, k, "admin", 0, &a, &e)) {
            fprintf(stderr, "bootherd init: %s\n", e.msg);
            return 1;
        }
    }
    char tid[BH_TOKEN_ID_LEN + 1], token[BH_TOKEN_STR_MAX], hash[65], path[PATH_MAX];
    if (bh_token_generate(tid, token, hash)) {
        fprintf(stderr, "bootherd init: no randomness available\n");
        return 1;
    }
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", "admin", "role", "admin",
                            "description", "first admin token, made by bootherd init", "id", tid,
                            "hash", hash, "created_by", "bootherd init");
    json_t *obj = NULL;
    int rc = doc ? bh_store_create(st, k, doc, &a, &obj, &e) : BH_ENOMEM;
    json_decref(doc);
    json_decref(obj);
    if (rc) {
        fprintf(stderr, "bootherd init: %s\n", rc == BH_ENOMEM ? "out of memory" : e.msg);
        return 1;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, BH_TOKEN_FILE);
    size_t n = strlen(token);
    token[n] = '\n';
    rc = bh_write_file_atomic(path, token, n + 1, 0600, &e);
    explicit_bzero(token, sizeof(token));
    if (rc) {
        fprintf(stderr, "bootherd init: %s\n", e.msg);
        return 1;
    }
    printf("initialized %s; admin token written to %s (mode 0600)\n", dir, path);
    return 0;
}

int bh_cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'}, {"reset-admin", no_argument, NULL, 'r'},
        {"tls", no_argument, NULL, 't'},        {"tls-name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    const char *dir = "./var";
    const char *names[BH_TLS_MAX_NAMES];
    size_t nnames = 0;
    bool reset = false, tls = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'r': reset = true; break;
        case 't': tls = true; break;
        case 'n':
            /* 4 names of this machine come first */
            if (nnames == BH_TLS_MAX_NAMES - 4 || !bh_tls_name_valid(optarg)) {
                fprintf(stderr, "bootherd init: --tls-name '%s': %s\n", optarg,
                        nnames == BH_TLS_MAX_NAMES - 4 ? "too many names"
                                                       : "not a DNS name or an IP address");
                return 2;
            }
            names[nnames++] = optarg;
            tls = true;
            break;
        case 'h':
            printf(
                "usage: bootherd init [--data DIR] [--reset-admin] [--tls [--tls-name NAME]...]\n"
                "Create the data directory, the database and the first admin token.\n"
                "--reset-admin replaces a lost admin token.\n"
                "--tls makes a self-signed certificate (DIR/tls/) for this host's name,\n"
                "  localhost, 127.0.0.1, ::1 and each --tls-name, turns HTTPS on in\n"
                "  DIR/bootherd.conf and prints the pin the CLI checks it by.\n");
            return 0;
        default: return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bootherd init: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (bh_mkdir_p(dir, 0750) < 0) {
        fprintf(stderr, "bootherd init: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char db[PATH_MAX];
    snprintf(db, sizeof(db), "%s/%s", dir, BH_DB_FILE);
    struct bh_store_config sc = {.path = db, .readers = 1};
    struct bh_store *st;
    struct bh_err e;
    if (bh_store_open(&sc, &st, &e)) {
        fprintf(stderr, "bootherd init: %s\n", e.msg);
        return 1;
    }
    int rc = make_admin(st, dir, reset);
    bh_store_close(st);
    if (!rc && tls && bh_tls_init(dir, names, nnames, &e)) {
        fprintf(stderr, "bootherd init: %s\n", e.msg);
        rc = 1;
    }
    return rc;
}
