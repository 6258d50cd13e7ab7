/*
 * console.h - pure rules behind the console's API additions (issue 10):
 * the name pattern that names many new hosts at once, and the time left of
 * a step from the progress its agent reported.
 *
 * A name pattern is literal text with exactly one numeric range {A..B}:
 * "r101-pc{01..30}" gives r101-pc01, r101-pc02, ... r101-pc30.  A and B are
 * 1 to 9 decimal digits, A <= B; the numbers are zero-padded to the number
 * of digits A is written with ({1..12} gives 1..12, {001..120} gives
 * 001..120).  There is no other syntax: no escapes, no second range.
 * Whether a name is a valid host name is the host kind's business (the
 * field table), not the pattern's.
 *
 * Depends on core and jansson only; no I/O.
 */
#ifndef BH_MODEL_CONSOLE_H
#define BH_MODEL_CONSOLE_H

#include "core/err.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define BH_PATTERN_MAX    128 /* bytes of a pattern */
#define BH_PATTERN_DIGITS 9   /* digits of A and of B */
#define BH_PATTERN_NAME   128 /* a name the pattern makes, with its NUL, at most */

struct bh_name_pattern {
    char prefix[BH_PATTERN_MAX];
    char suffix[BH_PATTERN_MAX];
    int64_t first, last; /* the range, first <= last */
    int width;           /* digits each number is padded to */
};

/* Parse text (NUL-terminated, borrowed).  BH_EINVAL with err->field
 * "pattern" and a message that says what is wrong and what is accepted. */
int bh_name_pattern_parse(const char *text, struct bh_name_pattern *p, struct bh_err *err);
/* How many names the range gives. */
int64_t bh_name_pattern_count(const struct bh_name_pattern *p);
/* The name of number first + i into out (cap bytes).  BH_EINVAL if i is
 * outside the range, BH_ETOOBIG if the name does not fit out. */
int bh_name_pattern_name(const struct bh_name_pattern *p, int64_t i, char *out, size_t cap);
/* The first n names of text as a new JSON array of strings in *names.
 * BH_EINVAL (field "pattern") for a bad pattern or when its range gives
 * fewer than n names; the message then says how many it gives. */
int bh_name_pattern_expand(const char *text, size_t n, json_t **names, struct bh_err *err);

/* Seconds a running step still needs at the rate its agent last reported:
 * ceil((total - done) / rate), from progress {done, total, rate} (numbers,
 * 0 <= done <= total, rate > 0).  -1 when that is not known: no progress,
 * a field missing or of the wrong type, a rate of 0. */
int64_t bh_progress_eta_s(const json_t *progress);

#endif
