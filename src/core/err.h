/*
 * err.h - the one error model of bootherd.
 *
 * Functions that can fail return 0 on success or a negative BH_E* code.
 * Where a caller needs to tell a user what went wrong, the function also
 * takes a `struct bh_err *` (may be NULL) which it fills with a precise,
 * human-readable message and, for input errors, the field or position that
 * was wrong.  There is no global error state.
 */
#ifndef BH_CORE_ERR_H
#define BH_CORE_ERR_H

#include <stddef.h>

enum {
    BH_OK = 0,
    BH_ENOMEM = -1,    /* allocation failed */
    BH_EINVAL = -2,    /* malformed input (syntax, type, range) */
    BH_ENOTFOUND = -3, /* the named thing does not exist */
    BH_ECONFLICT = -4, /* uniqueness violated or still referenced */
    BH_EPRECOND = -5,  /* a revision precondition (If-Match) failed */
    BH_ENOREF = -6,    /* a reference names a missing object */
    BH_EIO = -7,       /* I/O or storage failure */
    BH_ETOOBIG = -8,   /* input over a hard limit */
    BH_EPERM = -9,     /* not allowed */
    BH_EAUTH = -10,    /* not authenticated */
    BH_EBUSY = -11,    /* temporarily unavailable */
    BH_EGONE = -12,    /* existed once, no longer kept */
    BH_EUNSUPP = -13,  /* valid but not supported */
    BH_ESYS = -14,     /* a system call failed; see message */
};

#define BH_ERR_FIELD_MAX 128
#define BH_ERR_MSG_MAX   512

struct bh_err {
    int code;
    const char *type;             /* optional static slug, e.g. "unknown-field" */
    char field[BH_ERR_FIELD_MAX]; /* field, key or "line:col"; may be empty */
    char msg[BH_ERR_MSG_MAX];
};

/* Set code, field (may be NULL) and a printf-style message. Returns code so
 * that callers can write `return bh_err_set(err, BH_EINVAL, ...);`.
 * err may be NULL, in which case only the code is returned. */
int bh_err_set(struct bh_err *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Same as bh_err_set, also setting the slug `type` (a static string). */
int bh_err_sett(struct bh_err *err, int code, const char *type, const char *field, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));

/* Refine an error already set with a more specific slug (static string);
 * returns err->code. */
int bh_err_type(struct bh_err *err, const char *type);

/* Reset to BH_OK with empty strings. */
void bh_err_clear(struct bh_err *err);

/* Short constant name for a code, e.g. "not-found". */
const char *bh_err_name(int code);

#endif
