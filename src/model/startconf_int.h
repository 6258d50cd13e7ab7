/*
 * startconf_int.h - what startconf.c shares with startconf_edit.c and
 * startconf_notes.c, and with nothing else (owner: the start.conf module).
 *
 * Section numbers are 0 [LINBO], 1 [Partition], 2 [OS].
 */
#ifndef BH_MODEL_STARTCONF_INT_H
#define BH_MODEL_STARTCONF_INT_H

#include "core/buf.h"
#include "model/startconf.h"

#define BH__SC_LINBO 0
#define BH__SC_PART  1
#define BH__SC_OS    2
#define BH__SC_COUNT 3

/* bh_startconf_parse, and *map (new reference, caller decrefs): the line of
 * every section header ("@") and of every key, in the shape of the JSON:
 * {"linbo": {"@": 3, "server": 4, "extra": {"Foo": 9}}, "partitions":
 * [{"@": 11, "dev": 12}], "os": [...]}.  No warnings. */
int bh__startconf_parse_map(const char *text, size_t len, json_t **out, json_t **map,
                            struct bh_err *err);

/* Render conf (already validated) without looking at its "text". */
char *bh__startconf_canonical(const json_t *conf, struct bh_err *err);

/* Render conf (validated) by editing text (len bytes): see startconf_edit.c. */
char *bh__startconf_edit(const json_t *conf, const char *text, size_t len, struct bh_err *err);

/* Append the canonical line "Key = value\n" of the key with JSON name
 * `name` (or, extra, the unknown key `name`) of section sec, value v. */
int bh__startconf_key_line(struct bh_buf *b, int sec, const char *name, bool extra,
                           const json_t *v);

/* Append "[Section]\n" and its keys, canonically. */
int bh__startconf_section(struct bh_buf *b, int sec, const json_t *obj);

/* "linbo", "partitions" or "os". */
const char *bh__startconf_json_name(int sec);

#endif
