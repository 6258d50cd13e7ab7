/*
 * browser.h - reading the request headers a browser sends: Cookie, Origin,
 * Accept-Encoding and If-None-Match.  Pure: text in, a verdict out; no I/O,
 * no allocation, nothing of ours but this header (the fuzzer and the unit
 * tests call it directly).
 *
 * Every function reads at most the bytes it is given and never writes to
 * them; what it hands back points into the caller's buffer (borrowed).
 */
#ifndef BH_HTTP_BROWSER_H
#define BH_HTTP_BROWSER_H

#include <stdbool.h>
#include <stddef.h>

/* A Cookie header longer than this is not read at all (browsers send up to
 * about 8 KiB; the head parser caps the whole head at 64 KiB). */
#define BH_COOKIE_HEADER_MAX 16384

/* The value of the cookie called `name` in the Cookie header hdr[0..len)
 * (RFC 6265 4.2.1 and 5.4: "a=1; b=2").  A browser may send several cookies
 * with one name (set for different paths or a parent domain): `skip` passes
 * over that many earlier ones.  Names compare exactly (RFC 6265 5.4).
 * Whitespace around a pair and around '=' is ignored; a value in double
 * quotes loses them (RFC 6265 4.1.1); pairs without '=' are passed over.
 * Stops at a NUL byte or at len, whichever comes first.  Returns true and
 * sets *val / *vlen (borrowed from hdr, not NUL-terminated) if found. */
bool bh_cookie_find(const char *hdr, size_t len, const char *name, size_t skip, const char **val,
                    size_t *vlen);

/* Is the Origin header (RFC 6454 7) the same scheme, host and port as the
 * request's Host header (RFC 9110 7.2)?  The scheme is https when secure,
 * else http; a port that is the scheme's default may be left out on either
 * side; hosts compare case-insensitively.  "null", an absent Origin or
 * Host, or anything malformed: false. */
bool bh_origin_same(const char *origin, const char *host, bool secure);

/* Does Accept-Encoding (RFC 9110 12.5.3) accept gzip?  True when gzip (or
 * x-gzip) is listed with a q above 0, or, when it is not listed, "*" is.
 * A malformed member counts as not listed.  NULL: false. */
bool bh_accepts_gzip(const char *ae);

/* Does If-None-Match (RFC 9110 13.1.2) hold for a resource with the entity
 * tag etag ("\"...\"")?  "*" matches any; otherwise a comma-separated list
 * compared weakly (W/ ignored on both sides).  NULL: false. */
bool bh_etag_listed(const char *inm, const char *etag);

#endif
