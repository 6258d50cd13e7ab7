/*
 * log.h - levelled logfmt lines on stderr.
 *
 *   bh_log(BH_LOG_INFO, "listening", "addr=%s port=%d", addr, port);
 * prints
 *   ts=2026-11-22T10:00:00.123Z level=info msg=listening addr=127.0.0.1 port=8080
 *
 * Every %s value is quoted and escaped when it holds spaces, quotes, '=' or
 * control bytes, so a line always parses back.  One write(2) per line, so
 * lines from different threads never interleave.  Lines are capped at
 * BH_LOG_LINE_MAX bytes.
 */
#ifndef BH_CORE_LOG_H
#define BH_CORE_LOG_H

enum { BH_LOG_DEBUG = 0, BH_LOG_INFO = 1, BH_LOG_WARN = 2, BH_LOG_ERROR = 3 };

#define BH_LOG_LINE_MAX 4096

void bh_log_set_level(int level);
int bh_log_get_level(void);
/* "debug", "info", "warn" or "error" -> level; BH_EINVAL otherwise. */
int bh_log_parse_level(const char *s, int *level);
void bh_log(int level, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));

#define bh_debug(msg, ...) bh_log(BH_LOG_DEBUG, msg, __VA_ARGS__)
#define bh_info(msg, ...)  bh_log(BH_LOG_INFO, msg, __VA_ARGS__)
#define bh_warn(msg, ...)  bh_log(BH_LOG_WARN, msg, __VA_ARGS__)
#define bh_error(msg, ...) bh_log(BH_LOG_ERROR, msg, __VA_ARGS__)

#endif
