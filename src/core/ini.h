/*
 * ini.h - tokenizer for INI-style text (bootherd.conf, LINBO start.conf).
 *
 * Syntax: "[section]" lines, "key = value" lines, blank lines, and comment
 * lines starting with '#' or ';'.  With BH_INI_INLINE_COMMENTS, a '#' that
 * follows whitespace also ends the value (start.conf writes "Cache = /dev/sda4
 * # cache"); with BH_INI_INLINE_SEMICOLON as well, a ';' that follows
 * whitespace does too (bootherd.conf).  Values may be wrapped in double quotes to keep leading or
 * trailing spaces or a '#'.  Keys and values are trimmed.
 *
 * The tokenizer knows nothing of what keys mean: it calls back per section and
 * per key/value with the line number.  Callbacks return 0 or a BH_E* code
 * (having filled err) to stop.  On a syntax error err->field is "FILE:LINE"
 * and err->msg starts with the same.
 */
#ifndef BH_CORE_INI_H
#define BH_CORE_INI_H

#include "err.h"

#include <stddef.h>

#define BH_INI_INLINE_COMMENTS  0x1u
#define BH_INI_INLINE_SEMICOLON 0x2u /* with the above: a ';' after whitespace too */
#define BH_INI_LINE_MAX         4096
#define BH_INI_NAME_MAX         128

struct bh_ini_cb {
    int (*section)(void *ud, const char *name, int line, struct bh_err *err);
    int (*kv)(void *ud, const char *key, const char *value, int line, struct bh_err *err);
};

/* Parse len bytes of text (need not be NUL-terminated). `fname` is used only in
 * messages. Rejects NUL bytes, lines over BH_INI_LINE_MAX, a key/value line
 * before... nothing: keys before any section are passed with section "". */
int bh_ini_parse(const char *text, size_t len, const char *fname, unsigned flags,
                 const struct bh_ini_cb *cb, void *ud, struct bh_err *err);

/* Read a whole file (capped at max bytes) into a malloc'd NUL-terminated
 * buffer. BH_ETOOBIG, BH_ENOTFOUND or BH_ESYS with a message. */
int bh_read_file(const char *path, size_t max, char **out, size_t *len, struct bh_err *err);

#endif
