/*
 * buf.h - growable byte buffer with a hard cap, and borrowed slices.
 *
 * Untrusted input only ever lands in a bh_buf: every append checks the cap
 * set at init and fails with BH_ETOOBIG instead of growing without bound.
 * On any failure the buffer keeps what it had (no partial append).
 * The contents are always NUL-terminated so they can be used as a C string.
 */
#ifndef BH_CORE_BUF_H
#define BH_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct bh_slice {
    const char *p; /* borrowed; not NUL-terminated in general */
    size_t n;
};

#define BH_SLICE_LIT(s) ((struct bh_slice){(s), sizeof(s) - 1})

struct bh_buf {
    char *p;    /* owned; NULL until the first append */
    size_t len; /* bytes used, excluding the terminating NUL */
    size_t cap; /* bytes allocated */
    size_t max; /* hard limit on len */
};

/* Start empty with a hard limit of `max` bytes. Allocates nothing. */
void bh_buf_init(struct bh_buf *b, size_t max);
/* Release memory; the buffer is empty and reusable afterwards. */
void bh_buf_free(struct bh_buf *b);
/* Forget the contents, keep the memory. */
void bh_buf_reset(struct bh_buf *b);
/* Append bytes; BH_ETOOBIG past the limit, BH_ENOMEM on allocation failure. */
int bh_buf_add(struct bh_buf *b, const void *p, size_t n);
int bh_buf_adds(struct bh_buf *b, const char *s);
int bh_buf_addc(struct bh_buf *b, char c);
int bh_buf_printf(struct bh_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int bh_buf_vprintf(struct bh_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Hand the memory to the caller (who frees it); the buffer becomes empty.
 * Returns an empty allocated string if nothing was added; NULL on ENOMEM. */
char *bh_buf_steal(struct bh_buf *b);

/* Slice helpers */
int bh_slice_eq(struct bh_slice a, const char *s);
int bh_slice_ieq(struct bh_slice a, const char *s);
struct bh_slice bh_slice_trim(struct bh_slice s);

#endif
