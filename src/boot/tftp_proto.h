/*
 * tftp_proto.h - the TFTP protocol without I/O: request parsing, option
 * negotiation, packet building, the sender's window state machine and
 * netascii encoding.  Bytes in, decisions out; no sockets, no clock, no
 * allocation, so every rule here is unit-tested and fuzzed.
 *
 *   RFC 1350  TFTP revision 2 (packets, lock-step transfer)
 *   RFC 1123  4.2.3.1 (no Sorcerer's Apprentice: never resend on a duplicate ACK)
 *   RFC 2347  option extension (OACK)      RFC 2348  blksize
 *   RFC 2349  timeout, tsize               RFC 7440  windowsize
 *
 * Block numbers are kept as 64-bit absolute counters (block 0 is the OACK,
 * data starts at 1); only the low 16 bits go on the wire, so past 65535 the
 * wire number rolls over to 0 as common servers and clients expect.
 */
#ifndef BH_BOOT_TFTP_PROTO_H
#define BH_BOOT_TFTP_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 1350 sec 5 and RFC 2347: opcodes */
enum {
    BH_TFTP_RRQ = 1,
    BH_TFTP_WRQ = 2,
    BH_TFTP_DATA = 3,
    BH_TFTP_ACK = 4,
    BH_TFTP_ERROR = 5,
    BH_TFTP_OACK = 6,
};

/* RFC 1350 appendix and RFC 2347: error codes */
enum {
    BH_TFTP_EUNDEF = 0,    /* not defined, see message */
    BH_TFTP_ENOTFOUND = 1, /* file not found */
    BH_TFTP_EACCESS = 2,   /* access violation */
    BH_TFTP_EFULL = 3,     /* disk full */
    BH_TFTP_EBADOP = 4,    /* illegal TFTP operation */
    BH_TFTP_EBADID = 5,    /* unknown transfer ID */
    BH_TFTP_EEXISTS = 6,   /* file already exists */
    BH_TFTP_ENOUSER = 7,   /* no such user */
    BH_TFTP_EOPTNEG = 8,   /* RFC 2347: option negotiation refused */
};

#define BH_TFTP_HDR             4     /* opcode + block number */
#define BH_TFTP_BLKSIZE_DEFAULT 512   /* RFC 1350 */
#define BH_TFTP_BLKSIZE_MIN     8     /* RFC 2348 */
#define BH_TFTP_BLKSIZE_MAX     65464 /* RFC 2348 */
#define BH_TFTP_TIMEOUT_MIN     1     /* RFC 2349, seconds */
#define BH_TFTP_TIMEOUT_MAX     255   /* RFC 2349, seconds */
#define BH_TFTP_WINDOW_MAX      64    /* our cap; RFC 7440 allows 65535 */
#define BH_TFTP_IPV4_UDP_HDR    28    /* IPv4 (20) + UDP (8) header bytes */
/* A request is at most this long; RFC 2347 limits it to 512 octets but we
 * accept more so long option lists from odd clients still parse. */
#define BH_TFTP_REQ_MAX 1024
/* Largest packet we build or accept: DATA at the largest blksize. */
#define BH_TFTP_PKT_MAX (BH_TFTP_HDR + BH_TFTP_BLKSIZE_MAX)

enum bh_tftp_mode { BH_TFTP_OCTET = 0, BH_TFTP_NETASCII };

/* Options present in a request with a usable value (bits of .opts). */
#define BH_TFTP_OPT_BLKSIZE 0x1u
#define BH_TFTP_OPT_TSIZE   0x2u
#define BH_TFTP_OPT_TIMEOUT 0x4u
#define BH_TFTP_OPT_WINDOW  0x8u

struct bh_tftp_req {
    uint16_t op;      /* BH_TFTP_RRQ or BH_TFTP_WRQ */
    const char *file; /* borrowed from the packet, NUL-terminated there */
    size_t file_len;  /* > 0 */
    enum bh_tftp_mode mode;
    unsigned opts;       /* BH_TFTP_OPT_* with a valid value */
    uint32_t blksize;    /* 8..65464 as asked (not yet clamped) */
    uint32_t timeout;    /* 1..255 seconds */
    uint32_t windowsize; /* 1..65535 as asked */
    uint64_t tsize;      /* as sent (0 on a RRQ, RFC 2349) */
};

/* Result of parsing something sent to the server port. */
enum {
    BH_TFTP_PARSE_OK = 0,
    BH_TFTP_PARSE_DROP = -1, /* not for us to answer (an ERROR packet, RFC 1350 sec 7) */
    /* otherwise: > 0, the TFTP error code to answer with */
};

/* Parse a RRQ/WRQ datagram of len bytes.  On BH_TFTP_PARSE_OK fills *r
 * (pointers into pkt).  Otherwise returns BH_TFTP_PARSE_DROP or the error
 * code to send, with *why set to a static message for the ERROR packet:
 *   error 4: too short or long, unknown opcode, a string without its NUL,
 *            empty filename, unknown mode ("mail" included);
 *   error 8: an option without a value, an option given twice.
 * Unknown options and values we cannot honour are ignored (RFC 2347: the
 * server leaves them out of the OACK); NUL padding after the last option is
 * accepted, as some PXE ROMs send it. */
int bh_tftp_parse_request(const uint8_t *pkt, size_t len, struct bh_tftp_req *r, const char **why);

/* Check a requested filename and point *out at the part to open below the
 * root (one leading '/' stripped: firmware sends "/pxelinux.0").  Returns 0,
 * or BH_TFTP_EACCESS with *why for control bytes, backslashes, or an empty
 * name.  '..' and absolute names are left for openat2(RESOLVE_BENEATH) to
 * refuse; this only rejects what no real boot file is called. */
int bh_tftp_check_path(const char *file, const char **out, const char **why);

/* What the server will do, after negotiation. */
struct bh_tftp_limits {
    uint32_t blksize_max;    /* configured, <= 65464 */
    uint32_t windowsize_max; /* configured, <= BH_TFTP_WINDOW_MAX */
    uint32_t mtu;            /* path MTU to the client; 0 = unknown */
};

struct bh_tftp_params {
    unsigned oack;       /* BH_TFTP_OPT_* to acknowledge; 0 = no OACK (RFC 1350 start) */
    uint16_t blksize;    /* negotiated, or 512 */
    uint16_t windowsize; /* negotiated, or 1 */
    uint8_t timeout;     /* seconds the client asked for, 0 = our own timer */
    uint64_t tsize;      /* file size, sent when BH_TFTP_OPT_TSIZE is in oack */
};

/* Negotiate the options of a RRQ against the limits.  size_known = false
 * (netascii, where the size on the wire is not known up front) leaves tsize
 * out of the OACK (RFC 2347 lets the server omit any option). */
void bh_tftp_negotiate(const struct bh_tftp_req *r, const struct bh_tftp_limits *lim,
                       bool size_known, uint64_t size, struct bh_tftp_params *p);

/* Packet builders.  Each writes into out[cap] and returns the length, or 0
 * if cap is too small. */
size_t bh_tftp_build_oack(uint8_t *out, size_t cap, const struct bh_tftp_params *p);
/* The message is truncated to fit; cap must be >= 5. */
size_t bh_tftp_build_error(uint8_t *out, size_t cap, uint16_t code, const char *msg);
/* The 4-byte DATA header for absolute block `block` (wire number rolls over). */
void bh_tftp_data_header(uint8_t out[BH_TFTP_HDR], uint64_t block);
/* Data bytes of block `block` in an octet file of `size` bytes. */
void bh_tftp_block_range(uint64_t size, uint16_t blksize, uint64_t block, uint64_t *off,
                         size_t *len);

/* Parse a datagram from the client of a transfer.  Returns BH_TFTP_ACK
 * with *block, BH_TFTP_ERROR with *code (the client gave up), or 0 for
 * anything else (ignored: RFC 1350 leaves stray packets unanswered). */
int bh_tftp_parse_reply(const uint8_t *pkt, size_t len, uint16_t *block, uint16_t *code);

/* ---- sender state machine (one transfer) ------------------------------- */

#define BH_TFTP_LAST_UNKNOWN UINT64_MAX

/* What to send now: the OACK, then DATA blocks [first, end). */
struct bh_tftp_span {
    bool oack;
    uint64_t first, end;
};

enum bh_tftp_act {
    BH_TFTP_ACT_NONE = 0, /* nothing to send (duplicate, stale or bogus ACK) */
    BH_TFTP_ACT_SEND,     /* send the span and restart the timer */
    BH_TFTP_ACT_DONE,     /* the final block is acknowledged */
    BH_TFTP_ACT_FAIL,     /* out of retries */
};

struct bh_tftp_tx {
    uint64_t base;   /* lowest unacknowledged block (0 = the OACK) */
    uint64_t next;   /* one past the highest block sent (the OACK is block 0) */
    uint64_t last;   /* final block, or BH_TFTP_LAST_UNKNOWN */
    uint16_t window; /* RFC 7440 windowsize, >= 1 */
    bool slide;      /* client ACKs every block: no go-back on a partial ACK */
    bool done;
    uint32_t tries; /* timeouts in a row without progress */
    uint32_t max_tries;
    uint32_t retransmits;  /* DATA blocks sent more than once */
    uint32_t partial_run;  /* consecutive partial ACKs advancing by one */
    uint64_t last_partial; /* block of the previous partial ACK */
};

/* Start a transfer.  last = final block if known (octet: size/blksize + 1),
 * else BH_TFTP_LAST_UNKNOWN until bh_tftp_tx_set_last.  With oack, block 0
 * is the OACK and must be acknowledged first (RFC 2347). */
void bh_tftp_tx_init(struct bh_tftp_tx *tx, uint16_t window, uint64_t last, bool oack,
                     uint32_t max_tries);
/* The spans returned below say what to send; the caller reports each DATA
 * block it actually put on the wire with bh_tftp_tx_sent (a send that would
 * block may stop short; the timer or the next ACK picks up from there). */

/* The first thing to send (the OACK, or the first window). */
enum bh_tftp_act bh_tftp_tx_begin(struct bh_tftp_tx *tx, struct bh_tftp_span *s);
/* An ACK with wire block number `wire` arrived. */
enum bh_tftp_act bh_tftp_tx_on_ack(struct bh_tftp_tx *tx, uint16_t wire, struct bh_tftp_span *s);
/* The retransmit timer fired: resend the window from the oldest
 * unacknowledged block, or give up after max_tries timeouts in a row. */
enum bh_tftp_act bh_tftp_tx_on_timeout(struct bh_tftp_tx *tx, struct bh_tftp_span *s);
/* DATA block `block` went out (again, if it had been sent before). */
void bh_tftp_tx_sent(struct bh_tftp_tx *tx, uint64_t block);
/* The data source ended: `block` is the final one (short or empty). */
void bh_tftp_tx_set_last(struct bh_tftp_tx *tx, uint64_t block);
/* Retransmit timeout for the current try: base_ms doubled per timeout in a
 * row, capped at BH_TFTP_BACKOFF_MAX_MS. */
#define BH_TFTP_BACKOFF_MAX_MS 16000u
uint64_t bh_tftp_tx_timeout_ms(const struct bh_tftp_tx *tx, uint64_t base_ms);

/* ---- netascii (RFC 764 as used by RFC 1350): LF -> CR LF, CR -> CR NUL --- */

/* Position in the source of the next byte to encode.  A CR LF or CR NUL
 * pair may straddle two blocks: then the CR ends one block and `pend` holds
 * the byte that starts the next. */
struct bh_tftp_ascii {
    uint64_t off; /* source offset */
    bool has_pend;
    uint8_t pend; /* '\n' or '\0' */
};

/* Encode src[0..n) (the source bytes from st->off on; n may be short only
 * at the end of the source) into out[cap].  Returns the bytes produced (cap,
 * or fewer only at the end) and advances *st.  Never needs more than cap
 * source bytes for one call. */
size_t bh_tftp_ascii_encode(struct bh_tftp_ascii *st, const uint8_t *src, size_t n, uint8_t *out,
                            size_t cap);

/* The reverse, for tests and clients: decode in[0..n) into out (room for
 * n + 1 bytes).  *cr carries a CR that ended the previous chunk; at the end
 * of the stream a held CR is the caller's to emit.  Returns the bytes
 * written.  A CR followed by anything but LF or NUL is kept as is. */
size_t bh_tftp_ascii_decode(bool *cr, const uint8_t *in, size_t n, uint8_t *out);

#endif
