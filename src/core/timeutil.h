/*
 * timeutil.h - clocks and RFC 3339 timestamps.  Leaf module.
 */
#ifndef BH_CORE_TIMEUTIL_H
#define BH_CORE_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#define BH_TIME_STRLEN 32

/* Monotonic clock in nanoseconds. */
uint64_t bh_mono_ns(void);
/* Wall clock, milliseconds since the epoch. */
int64_t bh_wall_ms(void);
/* Format ms since the epoch as "2026-11-22T10:00:00.123Z". */
void bh_time_format(int64_t ms, char out[BH_TIME_STRLEN]);
/* Parse an RFC 3339 timestamp (with 'Z' or a numeric offset, optional
 * fraction) into ms since the epoch.  BH_EINVAL if malformed. */
int bh_time_parse(const char *s, int64_t *ms);

#endif
