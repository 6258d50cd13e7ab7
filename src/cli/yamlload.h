/*
 * yamlload.h - YAML text -> JSON value, remembering where each node was.
 *
 * Used by `bootherd apply -f fleet.yaml` so that a validation error on a
 * field can be reported as "fleet.yaml:12:7: hosts[3].room: ...".
 *
 * YAML 1.2 core schema (YAML 1.2.2 section 10.3.2) for plain scalars:
 *   null Null NULL ~ and the empty scalar    -> JSON null
 *   true True TRUE false False FALSE          -> JSON true/false
 *   [-+]?[0-9]+, 0o[0-7]+, 0x[0-9a-fA-F]+     -> JSON integer (int64; else error)
 *   [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? -> JSON real
 *   .inf .nan and floats that overflow        -> error (JSON has no inf/nan)
 * Everything else, and every quoted or block scalar, is a string: so
 * 00:11:22:33:44:55, yes, on and 1_000 stay strings.  Explicit tags
 * !!str !!int !!float !!bool !!null !!map !!seq force the type (the text must
 * fit it); the non-specific tag "!" means "string/mapping/sequence"; any
 * other tag is an error naming it.  "<<" merge keys are YAML 1.1 and are not
 * special: "<<" is an ordinary key.
 *
 * Mapping keys must be scalars (aliases as keys are refused too); a key is
 * its scalar text, so `1:` and `"1":` in one mapping are duplicates; keys
 * containing NUL are refused.  Exactly one document; an empty or
 * comment-only stream is JSON null.  Anchors and aliases are expanded by
 * copying, but the expanded document is capped at BH_YAML_MAX_NODES nodes,
 * BH_YAML_MAX_DEPTH nesting levels of sequences/mappings, and 4 x
 * BH_YAML_MAX_BYTES bytes of scalar and key text (billion-laughs safe).
 */
#ifndef BH_CLI_YAMLLOAD_H
#define BH_CLI_YAMLLOAD_H

#include "core/err.h"

#include <jansson.h>
#include <stddef.h>

#define BH_YAML_MAX_BYTES (16u * 1024 * 1024)
#define BH_YAML_MAX_NODES 200000
#define BH_YAML_MAX_DEPTH 64

struct bh_yaml_pos; /* opaque map: JSON path -> (line, column) */

/*
 * Parse len bytes of YAML (need not be NUL-terminated; text may be NULL if
 * len is 0); fname (may be NULL: "<input>") is only used in messages.
 * On success returns 0, *out is a new JSON value (caller json_decref()s it)
 * and, if pos is not NULL, *pos a new position map (caller frees it with
 * bh_yaml_pos_free).  On failure *out and *pos are NULL, nothing is leaked,
 * and the return is
 *   BH_EINVAL   syntax error, bad bytes (NUL, invalid UTF-8), duplicate or
 *               non-scalar key, second document, unknown alias, bad tag,
 *               number out of range, bad arguments;
 *   BH_ETOOBIG  input over BH_YAML_MAX_BYTES, or a node/depth/expansion cap;
 *   BH_ENOMEM   allocation failed.
 * err (may be NULL) gets field "FNAME:LINE:COL" and a msg starting with the
 * same, e.g. "fleet.yaml:4:3: duplicate key 'name'" (for BH_ENOMEM the
 * field is empty).  Lines and columns are
 * 1-based and count characters; for syntax errors they are libyaml's problem
 * mark, with its context and context mark in the message.
 */
int bh_yaml_load(const char *text, size_t len, const char *fname, json_t **out,
                 struct bh_yaml_pos **pos, struct bh_err *err);

/*
 * Position of the node at `path`, in the syntax used by validation errors:
 * "hosts[3].room", "groups[0].config.os[1].name", "" for the root.
 *
 * Path syntax, one segment per step down from the root:
 *   [N]        sequence index, decimal digits
 *   .key       mapping key made only of [A-Za-z0-9_-] (non-empty); the
 *              leading '.' is left out for the first segment ("hosts")
 *   ["key"]    any other mapping key (empty, dots, spaces, brackets,
 *              non-ASCII...): written between ["  "], with '"' and '\'
 *              escaped by a backslash and every other byte as is.
 * Writers must use .key whenever the key allows it and ["key"] otherwise;
 * this reader accepts ["key"] for any key.
 *
 * For a mapping entry the position is that of its value; nodes inside an
 * expanded alias have the alias's position.  Returns 0 and fills line/col
 * (either may be NULL), or BH_ENOTFOUND if pos or path is NULL or the map has
 * no root (empty stream).  If the exact path is unknown or malformed from
 * some segment on, the closest recorded ancestor is returned (and the return
 * is still 0): "hosts[3].nosuchfield" gives the position of hosts[3].
 * O(segments x log nodes).
 */
int bh_yaml_pos_lookup(const struct bh_yaml_pos *pos, const char *path, int *line, int *col);

/* Free a position map; NULL is a no-op. */
void bh_yaml_pos_free(struct bh_yaml_pos *pos);

#endif
