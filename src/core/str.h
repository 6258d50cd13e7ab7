/*
 * str.h - bounded, checked string helpers.  Leaf module: libc only.
 */
#ifndef BH_CORE_STR_H
#define BH_CORE_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Copy at most dstsz-1 bytes and always terminate. Returns strlen(src);
 * a return >= dstsz means the copy was truncated. */
size_t bh_strlcpy(char *dst, const char *src, size_t dstsz);

/* Parse a whole string as a base-10 integer in [min, max].  Leading/trailing
 * spaces, signs on unsigned parses, empty strings and trailing junk are all
 * errors (BH_EINVAL). */
int bh_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int bh_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Same for a (pointer, length) that need not be terminated. */
int bh_parse_i64n(const char *s, size_t n, int64_t min, int64_t max, int64_t *out);
/* Parse yes/no/true/false/on/off/1/0 (case-insensitive). */
int bh_parse_bool(const char *s, bool *out);
/* Parse a size with optional K/M/G/T suffix (powers of 1024); `unit` is the
 * multiplier for a bare number (1 for bytes, 1024 for LINBO's KiB). */
int bh_parse_size(const char *s, uint64_t unit, uint64_t *out);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void bh_hex(const unsigned char *p, size_t n, char *out);
/* Base64url without padding of n bytes into out (4*ceil(n/3)+1 bytes). */
size_t bh_b64url(const unsigned char *p, size_t n, char *out);
/* Standard base64 with padding (for the WebSocket handshake). */
size_t bh_b64(const unsigned char *p, size_t n, char *out);

/* Constant-time equality of two equal-length buffers. */
bool bh_ct_equal(const void *a, const void *b, size_t n);

/* Fill with cryptographically secure random bytes (getrandom). */
int bh_random(void *p, size_t n);

/* Return true if s is non-empty and only contains bytes from `allowed`
 * or alphanumerics. */
bool bh_str_charset(const char *s, const char *allowed);

bool bh_str_has_prefix(const char *s, const char *prefix);

/* ---- UTF-8 (RFC 3629: no overlongs, no surrogates, nothing past U+10FFFF) */

/* Length (1..4) of the well-formed UTF-8 sequence at s, of the n bytes
 * there, or 0 if none starts there. */
size_t bh_utf8_seqlen(const char *s, size_t n);
/* Are the n bytes at s well-formed UTF-8?  (A NUL byte is valid UTF-8;
 * callers that refuse it check for it.) */
bool bh_utf8_valid(const char *s, size_t n);
/* Make s valid UTF-8 in place: each byte that does not start a valid
 * sequence becomes '?' (what a tool printed, cut at any byte, into JSON). */
void bh_utf8_scrub(char *s);
/* Copy s into out (outsz bytes) as valid UTF-8, for text that came from
 * outside and goes into JSON: each byte that does not start a well-formed
 * sequence becomes U+FFFD.  A copy that does not fit is cut before the first
 * character that does not fit (never inside one).  out is always
 * terminated when outsz > 0.  Returns true if out holds s unchanged. */
bool bh_utf8_sanitize(const char *s, char *out, size_t outsz);

#endif
