/*
 * devcsv.h - LINBO's devices.csv (linuxmuster.net's device list), read into
 * rows that bootherd can file as hosts.  Pure: bytes in, rows and errors
 * out; no store, no HTTP.  POST /api/v1/hosts/import uses it, and so will
 * `bootherd migrate linbo` (issue 11).
 *
 * The file: one device per line, fields separated by ';', no quoting.
 *
 *   field  LINBO's name        bootherd
 *    1     room                host.room (a room name)
 *    2     hostname            host.name
 *    3     group               host.group (the start.conf group); empty or
 *                              "nopxe": no group, and the device is not
 *                              network-booted
 *    4     mac                 host.mac (the host's identity)
 *    5     ip                  host.ip; "DHCP" (any case) or empty: none
 *    6     officeKey           ignored (license keys are not kept)
 *    7     windowsKey          ignored
 *    8     dhcpOptions         ignored
 *    9     sophomorixRole      label linbo/role (classroom-studentcomputer, ...)
 *   10     lmnReserved10       ignored
 *   11     pxeFlag             empty or 0: no PXE; 1 (LINBO), 2 (LINBO +
 *                              opsi, old), 3 (opsi, old), any digit > 0:
 *                              PXE; "ml" reads as 0, as linuxmuster-tools
 *                              reads it
 *   12-14  lmnReserved12..14   ignored
 *   15     sophomorixComment   host.description when not empty
 *   16     options             ignored
 *
 * Fields bootherd does not keep are counted per field (unkept) when not
 * empty.
 *
 * A line whose first character that is not blank is '#' is a comment;
 * lines that hold only blanks and ';' are empty.  A UTF-8 byte order mark
 * at the start, CRLF line ends, blanks around fields, and empty fields
 * after the 16th (spreadsheets write them) are accepted.  A device line
 * needs at least the first five fields.  Every bad field of every line is
 * reported (up to BH_DEVCSV_ERRORS_MAX), with its line and field number,
 * and so are a MAC, host name (ignoring case, as LINBO compares them) or
 * address that a line repeats from an earlier one.
 */
#ifndef BH_MODEL_DEVCSV_H
#define BH_MODEL_DEVCSV_H

#include "core/err.h"
#include "core/mac.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BH_DEVCSV_FIELDS     16    /* fields LINBO defines */
#define BH_DEVCSV_MIN_FIELDS 5     /* room;hostname;group;mac;ip */
#define BH_DEVCSV_ROWS_MAX   10000 /* device lines in one file */
#define BH_DEVCSV_LINE_MAX   4096  /* bytes of one line */
#define BH_DEVCSV_ERRORS_MAX 100   /* errors kept; more are only counted */
#define BH_DEVCSV_ROLE_LABEL "linbo/role"

/* the fields bootherd reads (1-based, as LINBO numbers them) */
enum bh_devcsv_col {
    BH_DEVCSV_ROOM = 1,
    BH_DEVCSV_HOSTNAME = 2,
    BH_DEVCSV_GROUP = 3,
    BH_DEVCSV_MAC = 4,
    BH_DEVCSV_IP = 5,
    BH_DEVCSV_ROLE = 9,
    BH_DEVCSV_PXE = 11,
    BH_DEVCSV_COMMENT = 15,
};

struct bh_devcsv_row {
    int line;                /* 1-based line of the file */
    char room[64];           /* a valid room name */
    char hostname[64];       /* a valid host name */
    char group[64];          /* a valid group name, or "" for none */
    char mac[BH_MAC_STRLEN]; /* canonical aa:bb:cc:dd:ee:ff */
    char ip[16];             /* dotted IPv4, or "" (DHCP) */
    char role[64];           /* sophomorixRole, or "" */
    char comment[1025];      /* sophomorixComment, or "" */
    int pxe_flag;            /* 0..9 */
    bool pxe;                /* LINBO boots it: pxe_flag > 0 and not group nopxe */
};

struct bh_devcsv_error {
    int line;       /* 1-based */
    int column;     /* the field, 1..; 0 when the whole line is at fault */
    char field[24]; /* LINBO's name of the field ("mac"), or "" */
    char msg[256];
};

struct bh_devcsv {
    struct bh_devcsv_row *rows;
    size_t nrows;
    struct bh_devcsv_error *errors;
    size_t nerrors;      /* kept, at most BH_DEVCSV_ERRORS_MAX */
    size_t errors_total; /* found, kept or not */
    size_t comments;     /* comment lines */
    /* per field (1-based): device lines where a field bootherd does not
     * keep (officeKey, windowsKey, dhcpOptions, lmnReserved*, options) is
     * not empty, so that a migration can say what it left behind */
    size_t unkept[BH_DEVCSV_FIELDS + 1];
};

/* LINBO's name of field col (1-based): "room", "pxeFlag", ...; "" past 16. */
const char *bh_devcsv_field_name(int col);

/*
 * Parse len bytes of text (need not be terminated).  0 when every line is
 * good (out->rows are the devices, in file order; there may be none);
 * BH_EINVAL when some are not: out->errors says where (rows holds the good
 * lines), err names the first (field "devices.csv:LINE:FIELD").
 * BH_ETOOBIG with more than BH_DEVCSV_ROWS_MAX devices; BH_ENOMEM.  Free out
 * with bh_devcsv_free in every case.
 */
int bh_devcsv_parse(const char *text, size_t len, struct bh_devcsv *out, struct bh_err *err);
void bh_devcsv_free(struct bh_devcsv *d);

/*
 * What a row makes of a host, for the store:
 *  - bh_devcsv_host_new: the document of a new host (to validate as a
 *    create): mac, name, room, group, ip, description, labels, boot, and
 *    state "known";
 *  - bh_devcsv_host_merge: given the host as it is (cur), the partial
 *    document to write (BH_UPD_PARTIAL | BH_UPD_SYSTEM): name, room,
 *    group and ip as the row says (absent ones cleared), the description
 *    when the row has one, the label linbo/role set or removed (other
 *    labels kept), boot.action "local" for a device LINBO does not boot
 *    (and removed again when the row boots it; other boot keys kept), and
 *    state "known" for a host that was new.
 * New references; NULL when out of memory.
 */
json_t *bh_devcsv_host_new(const struct bh_devcsv_row *r);
json_t *bh_devcsv_host_merge(const struct bh_devcsv_row *r, const json_t *cur);

#endif
