/*
 * startconf.h - LINBO start.conf <-> bootherd group configuration (JSON).
 *
 * A group's partition layout and OS entries are kept as a JSON object:
 *
 *   {
 *     "linbo":      { "group": "win10", "cache": "/dev/sda5", "server": "10.0.0.1",
 *                     "root_timeout": 600, "auto_partition": false, ... ,
 *                     "extra": { "SomeUnknownKey": "value" } },
 *     "partitions": [ { "dev": "/dev/sda1", "label": "efi", "size": "200M",
 *                       "id": "ef", "fstype": "vfat", "bootable": true }, ... ],
 *     "os":         [ { "name": "Windows 10", "base_image": "win10.qcow2",
 *                       "root": "/dev/sda3", "kernel": "auto", "autostart": false,
 *                       "default_action": "sync", ... }, ... ]
 *   }
 *
 * and, when the group was given a start.conf file, "text": that file, kept
 * so that it comes back with its comments (see bh_startconf_render).
 *
 * JSON keys are the start.conf keys in snake_case (RootTimeout ->
 * root_timeout; FSType is "fstype").  Keys bootherd does not know are kept verbatim, per
 * section, under "extra" so a LINBO file round-trips without loss.
 * See docs/startconf.md for the full key table.
 */
#ifndef BH_MODEL_STARTCONF_H
#define BH_MODEL_STARTCONF_H

#include "core/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define BH_STARTCONF_MAX (256 * 1024) /* hard cap on start.conf text */

/*
 * Parse start.conf text (len bytes, need not be NUL-terminated; text may be
 * NULL when len is 0).
 * On success returns 0, *out is a new JSON object in the form above (caller
 * decrefs; "partitions" and "os" always present, "linbo" only if the file has
 * that section) and *warnings (if not NULL) a new array of strings, possibly
 * empty, such as "line 12: unknown key 'Autostrat' in [OS] kept as-is"
 * (caller decrefs).  The result always passes bh_startconf_validate and
 * renders back to the same JSON.
 * On failure returns BH_EINVAL (or BH_ETOOBIG: text over BH_STARTCONF_MAX,
 * over 128 [Partition] / 64 [OS] sections or 64 unknown keys in a section;
 * or BH_ENOMEM), sets *out and *warnings to NULL, and fills err with field
 * "start.conf:LINE" and a message naming the line, section and key, e.g.
 * "start.conf:12: [OS] DefaultAction: expected start, sync or new, got 'boot'"
 * or "start.conf:7: [Partition] Dev: /dev/sda1 is already the Dev of
 * partition 1 (line 2)".  A key with no value ("Key =") is kept as "".
 */
int bh_startconf_parse(const char *text, size_t len, json_t **out, json_t **warnings,
                       struct bh_err *err);

/*
 * With a "text" member (the start.conf the group was given, kept beside the
 * parsed form): the text edited to say what the JSON says, comments and
 * layout kept (src/model/startconf_edit.c; docs/startconf.md "Comments").
 * Without one:
 * Render the JSON form back to start.conf text, sections in the order
 * [LINBO], [Partition]..., [OS]..., keys in a fixed canonical order and
 * spelling ("Key = value", bools as yes/no), unknown ("extra") keys last in
 * each section, a blank line between sections, no comments.  conf is
 * borrowed.  Returns a malloc'd NUL-terminated string the caller frees, or
 * NULL with err filled: BH_EINVAL as from bh_startconf_validate, BH_ETOOBIG
 * if the text would exceed BH_STARTCONF_MAX, or BH_ENOMEM.
 */
char *bh_startconf_render(const json_t *conf, struct bh_err *err);

/*
 * Validate the JSON form (as sent in a group's "config" field): only the
 * members "linbo" (object), "partitions" and "os" (arrays of objects), each
 * object with known keys of the right types and values in their stored form
 * (lower-case enums and ids), required keys present, and "extra" holding only
 * strings under keys that would read back as unknown keys.  conf is borrowed.
 * Returns 0, or BH_EINVAL with err->field a path like
 * "config.os[1].default_action" and a message starting with that path.
 */
int bh_startconf_validate(const json_t *conf, struct bh_err *err);

/*
 * Keep text (len bytes, the file conf was parsed from) as conf's "text", so
 * that render gives the admin's own file back.  A file that is not valid
 * UTF-8 (a Latin-1 comment) can not be a JSON string: then conf gets no
 * text and, if warnings is not NULL, the warning "line N: not valid UTF-8
 * (in a comment): the comments are not kept, start.conf is written back
 * without them".  Returns 0 or BH_ENOMEM.
 */
int bh_startconf_keep_text(json_t *conf, const char *text, size_t len, json_t *warnings);

/*
 * The config to store (new reference): conf itself, or with a "text" that
 * text edited to match the JSON (render), so the kept text never says
 * other than the JSON.  conf must have passed bh_startconf_validate.
 * NULL with err filled (BH_ENOMEM, BH_ETOOBIG).
 */
json_t *bh_startconf_normalize(const json_t *conf, struct bh_err *err);

/* Does the store hold an image of this name (the name BaseImage names)? */
typedef bool (*bh_startconf_image_fn)(void *ud, const char *name);

/*
 * What an admin should know about a (valid) config, appended to notes as
 * strings: cross-checks that are not errors (Cache or an OS's Root not
 * among the [Partition] Devs; a BaseImage naming no image, asked through
 * has_image when it is not NULL) and keys bootherd keeps but does not act
 * on (AutoPartition, AutoFormat, AutoInitCache, DownloadType,
 * KernelOptions, RestoreOpsiState, ForceOpsiSetup), e.g.
 * "[LINBO] AutoFormat = yes: not acted on (...)".  Returns 0 or BH_ENOMEM.
 */
int bh_startconf_notes(const json_t *conf, bh_startconf_image_fn has_image, void *ud,
                       json_t *notes);

/* The image an OS entry's BaseImage names: "win10.qcow2", "win10@stable"
 * and "win10" all name image win10; ref is what follows '@' ("latest"
 * when nothing does).  ref may be NULL.  False when base is empty or the
 * name does not fit. */
bool bh_startconf_image(const char *base, char *name, size_t ncap, char *ref, size_t rcap);
/* Does a group's config (start.conf as JSON) name image in an OS entry's
 * BaseImage?  What a group "uses": its hosts' agents may read the image,
 * and the console shows the group with the image. */
bool bh_startconf_uses_image(const json_t *config, const char *image);

#endif
