/*
 * migrate.h - the parts of `bootherd migrate linbo` (cmd_migrate.c) that
 * other commands share: the report every step adds to (mreport.c), the
 * devices.csv import that `bootherd apply devices.csv` uses too
 * (devices.c: one mapping, not two), and the image step
 * (migrate_images.c).  Owned by the LINBO migration (issue 11, 1).
 */
#ifndef BH_CLI_MIGRATE_H
#define BH_CLI_MIGRATE_H

#include "cli.h"
#include "model/devcsv.h"

#include <jansson.h>
#include <stdbool.h>

/* ---- the report ------------------------------------------------------------ */

enum bh_mr_action {
    BH_MR_CREATED,
    BH_MR_CHANGED,
    BH_MR_UNCHANGED,
    BH_MR_SKIPPED,   /* left alone, with why */
    BH_MR_NOMEANING, /* LINBO has it, bootherd has no meaning for it yet */
    BH_MR_NACTIONS
};

struct bh_mreport {
    bool dry_run;
    json_t *items; /* [{action, kind, name, detail}] in the order done */
    int count[BH_MR_NACTIONS];
};

void bh_mreport_init(struct bh_mreport *r, bool dry_run);
void bh_mreport_free(struct bh_mreport *r);
/* One line of the report: what happened (or, in a dry run, would) to the
 * object kind/name, and why or from what. */
__attribute__((format(printf, 5, 6))) void bh_mreport_add(struct bh_mreport *r, enum bh_mr_action a,
                                                          const char *kind, const char *name,
                                                          const char *fmt, ...);
/* To stdout: one line per item and a summary, or with json one object
 * {dry_run, items, created, changed, unchanged, skipped, no_meaning}. */
void bh_mreport_print(const struct bh_mreport *r, bool json);

/* ---- devices.csv ----------------------------------------------------------- */

struct bh_devices {
    const char *fname; /* as the user named it, for messages */
    char *text;
    size_t len;
    struct bh_devcsv csv;
    json_t *plan; /* the server's dry-run answer */
};

/*
 * Read and check devices.csv, writing nothing: the lines (model/devcsv.c,
 * as the server reads them), that every group a line names exists in
 * bootherd or is in `planned` (an object whose keys are the groups the
 * caller will create first; NULL for none), and the server's dry run of
 * POST /api/v1/hosts/import (conflicts with stored hosts).  Each error is
 * printed to stderr as FILE:LINE: message.  0, 1 (the server failed) or 2
 * (the file is bad).  Free d with bh_devices_free in every case.
 */
int bh_devices_load(struct bh_cli *c, const char *fname, const json_t *planned,
                    struct bh_devices *d);
/* Import d (unless dry_run: the plan is the answer) with ?create=rooms,
 * and add a line per room and host to rep.  0, or 1 (printed). */
int bh_devices_commit(struct bh_cli *c, struct bh_devices *d, bool dry_run, struct bh_mreport *rep);
void bh_devices_free(struct bh_devices *d);
/* Does this look like a devices.csv (name ends in .csv, or the first line
 * that is not a comment has ';'-separated fields and no YAML "key:")? */
bool bh_devices_sniff(const char *fname, const char *text, size_t len);

/* ---- images ------------------------------------------------------------------ */

/* The images of a LINBO tree srv: SRV/images/NAME/NAME.qcow2 (+ .qdiff),
 * or the older SRV/NAME.qcow2.  names: an object whose keys are the image
 * names found (filled).  0, or 2 with the reason printed. */
int bh_migrate_images_scan(const char *srv, json_t *names, struct bh_mreport *rep);
/* Bring each image found over (see cmd_migrate.c); dry_run writes nothing. 0 or 1. */
int bh_migrate_images(struct bh_cli *c, const char *srv, const json_t *names, bool dry_run,
                      struct bh_mreport *rep);

/* The entries of dir but . and .., sorted; NULL (errno set) if it cannot
 * be read.  Free with bh_migrate_free_list. */
char **bh_migrate_list_dir(const char *dir, size_t *n);
void bh_migrate_free_list(char **v, size_t n);

#endif
