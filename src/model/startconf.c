/*
 * startconf.c - LINBO start.conf <-> JSON group configuration.
 *
 * One table of key descriptors per section drives all three directions:
 * parse (text -> JSON), render (JSON -> text) and validate (JSON from the
 * API).  A key's rules live in one place, check_text(), so the three can not
 * drift apart.  The invariant the fuzzer checks is
 *
 *     parse(render(x)) == x   for every x that parse produced,
 *
 * which is why render refuses anything parse could never have produced (see
 * value_form()) and why parse rejects files whose rewrite would exceed the cap.
 *
 * Rendering a config that keeps its file's text ("text") edits that text
 * instead (startconf_edit.c); the notes and cross-checks that are not
 * errors are in startconf_notes.c.  Owner: the start.conf module.
 */
#include "model/startconf.h"
#include "model/startconf_int.h"

#include "core/buf.h"
#include "core/ini.h"
#include "core/str.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SC_FILE      "start.conf"
#define SC_VALUE_MAX 2048 /* bytes in one value; keeps rewritten lines < BH_INI_LINE_MAX */
#define SC_PATH_MAX  128  /* bytes in a device path or cache share */
#define SC_EXTRA_MAX 64   /* unknown keys kept per section */
#define SC_PARTS_MAX 128  /* [Partition] sections (GPT's default entry count) */
#define SC_OS_MAX    64   /* [OS] sections */
#define SC_KEYS_MAX  24   /* known keys in the largest section table */
#define SC_SHOW_MAX  48   /* bytes of a bad value quoted back in a message */
#define SC_INT_MAX   INT32_MAX

_Static_assert(SC_VALUE_MAX + BH_INI_NAME_MAX + 8 < BH_INI_LINE_MAX, "rewritten lines must fit");

enum ktype {
    T_STR,   /* any text */
    T_DEV,   /* /dev/... device path */
    T_CACHE, /* device path or //server/share (LINBO remote cache) */
    T_HOST,  /* IPv4 address or host name */
    T_INT,   /* integer 0..SC_INT_MAX, JSON integer */
    T_BOOL,  /* yes/no, JSON true/false */
    T_ENUM,  /* one of values[], case-insensitive, stored lower case */
    T_SIZE,  /* LINBO size (KiB unless suffixed), kept as written; empty = rest */
    T_HEXID, /* partition type code, 1-4 hex digits, stored lower case */
    T_OPSI,  /* comma-separated opsi product ids, stored lower case */
};

#define KF_REQUIRED 0x1u /* must be present and non-empty */

struct key {
    const char *name; /* canonical start.conf spelling */
    const char *json; /* snake_case JSON name */
    enum ktype type;
    unsigned flags;
    const char *const *values; /* T_ENUM only; NULL-terminated */
};

static const char *const v_download[] = {"rsync", "multicast", "torrent", NULL};
static const char *const v_system[] = {"bios", "bios64", "efi32", "efi64", NULL};
static const char *const v_action[] = {"start", "sync", "new", NULL};
static const char *const v_fstype[] = {"vfat", "fat32", "ntfs", "ext2", "ext3",
                                       "ext4", "btrfs", "xfs",  "swap", NULL};

/* Table order is the canonical order keys are rendered in. */
static const struct key linbo_keys[] = {
    {"Server", "server", T_HOST, 0, NULL},
    {"Group", "group", T_STR, 0, NULL},
    {"Cache", "cache", T_CACHE, 0, NULL},
    {"RootTimeout", "root_timeout", T_INT, 0, NULL},
    {"AutoPartition", "auto_partition", T_BOOL, 0, NULL},
    {"AutoFormat", "auto_format", T_BOOL, 0, NULL},
    {"AutoInitCache", "auto_init_cache", T_BOOL, 0, NULL},
    {"DownloadType", "download_type", T_ENUM, 0, v_download},
    {"GuiDisabled", "gui_disabled", T_BOOL, 0, NULL},
    {"UseMinimalLayout", "use_minimal_layout", T_BOOL, 0, NULL},
    {"Locale", "locale", T_STR, 0, NULL},
    {"SystemType", "system_type", T_ENUM, 0, v_system},
    {"KernelOptions", "kernel_options", T_STR, 0, NULL},
    {"BackgroundColor", "background_color", T_STR, 0, NULL},
    {"BackgroundFontColor", "background_font_color", T_STR, 0, NULL},
    {"ConsoleFontColorStdout", "console_font_color_stdout", T_STR, 0, NULL},
    {"ConsoleFontColorStderr", "console_font_color_stderr", T_STR, 0, NULL},
};

static const struct key part_keys[] = {
    {"Dev", "dev", T_DEV, KF_REQUIRED, NULL},  {"Label", "label", T_STR, 0, NULL},
    {"Size", "size", T_SIZE, 0, NULL},         {"Id", "id", T_HEXID, 0, NULL},
    {"FSType", "fstype", T_ENUM, 0, v_fstype}, {"Bootable", "bootable", T_BOOL, 0, NULL},
};

static const struct key os_keys[] = {
    {"Name", "name", T_STR, KF_REQUIRED, NULL},
    {"Version", "version", T_STR, 0, NULL},
    {"Description", "description", T_STR, 0, NULL},
    {"IconName", "icon_name", T_STR, 0, NULL},
    {"Image", "image", T_STR, 0, NULL},
    {"BaseImage", "base_image", T_STR, 0, NULL},
    {"Boot", "boot", T_DEV, 0, NULL},
    {"Root", "root", T_DEV, 0, NULL},
    {"Kernel", "kernel", T_STR, 0, NULL},
    {"Initrd", "initrd", T_STR, 0, NULL},
    {"Append", "append", T_STR, 0, NULL},
    {"StartEnabled", "start_enabled", T_BOOL, 0, NULL},
    {"SyncEnabled", "sync_enabled", T_BOOL, 0, NULL},
    {"NewEnabled", "new_enabled", T_BOOL, 0, NULL},
    {"Autostart", "autostart", T_BOOL, 0, NULL},
    {"AutostartTimeout", "autostart_timeout", T_INT, 0, NULL},
    {"DefaultAction", "default_action", T_ENUM, 0, v_action},
    {"RestoreOpsiState", "restore_opsi_state", T_BOOL, 0, NULL},
    {"ForceOpsiSetup", "force_opsi_setup", T_OPSI, 0, NULL},
    {"Hidden", "hidden", T_BOOL, 0, NULL},
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

struct section {
    const char *name; /* canonical spelling, without brackets */
    const char *json; /* top-level JSON member */
    const struct key *keys;
    size_t nkeys;
    size_t max; /* 0: a single object (LINBO); else an array of at most max */
};

enum { SEC_LINBO, SEC_PART, SEC_OS, SEC__COUNT };

static const struct section sections[SEC__COUNT] = {
    {"LINBO", "linbo", linbo_keys, NKEYS(linbo_keys), 0},
    {"Partition", "partitions", part_keys, NKEYS(part_keys), SC_PARTS_MAX},
    {"OS", "os", os_keys, NKEYS(os_keys), SC_OS_MAX},
};

_Static_assert(NKEYS(linbo_keys) <= SC_KEYS_MAX && NKEYS(part_keys) <= SC_KEYS_MAX &&
                   NKEYS(os_keys) <= SC_KEYS_MAX,
               "raise SC_KEYS_MAX");

/* ---------------------------------------------------------------- values */

/* Copy at most SC_SHOW_MAX bytes of s for an error message, replacing
 * anything that is not printable ASCII or valid UTF-8 by '?', so messages
 * are always safe to put into JSON or a terminal. */
static const char *show(const char *s, char *out, size_t outsz)
{
    size_t n = strlen(s), o = 0, i = 0;
    while (i < n && o + 4 < outsz && i < SC_SHOW_MAX) {
        const unsigned char *p = (const unsigned char *)s + i;
        size_t l = bh_utf8_seqlen((const char *)p, n - i);
        if (l == 0 || (l == 1 && (p[0] < 0x20 || p[0] == 0x7f))) {
            out[o++] = '?';
            i++;
        } else {
            memcpy(out + o, p, l);
            o += l;
            i += l;
        }
    }
    if (i < n && o + 4 <= outsz) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* Rules every value obeys whatever its key: bounded, UTF-8, one line. */
static const char *check_common(const char *s, size_t n)
{
    if (strlen(s) != n)
        return "contains a NUL byte";
    if (n > SC_VALUE_MAX)
        return "value longer than 2048 bytes";
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)s + i;
        size_t l = bh_utf8_seqlen((const char *)p, n - i);
        if (l == 0)
            return "not valid UTF-8 (convert the file to UTF-8)";
        if (l == 1 && ((p[0] < 0x20 && p[0] != '\t') || p[0] == 0x7f))
            return "contains a control character";
        i += l;
    }
    return NULL;
}

/* Each '/'-separated component non-empty and neither "." nor "..". */
static bool components_ok(const char *p)
{
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!e)
            return true;
        p = e + 1;
    }
}

static bool dev_ok(const char *s)
{
    return strlen(s) <= SC_PATH_MAX && bh_str_has_prefix(s, "/dev/") &&
           bh_str_charset(s, "/_.:+-") && components_ok(s + 5);
}

/* RFC 1123 host name; if it is all digits and dots, a dotted-quad IPv4. */
static bool host_ok(const char *s, size_t n)
{
    bool digits = true, octets = true;
    int labels = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0, j; i <= n; i = j + 1, labels++) {
        for (j = i; j < n && s[j] != '.'; j++)
            if (!isalnum((unsigned char)s[j]) && s[j] != '-')
                return false;
        int64_t v;
        if (j == i || j - i > 63 || s[i] == '-' || s[j - 1] == '-')
            return false;
        digits = digits && strspn(s + i, "0123456789") >= j - i;
        octets = octets && j - i <= 3 && bh_parse_i64n(s + i, j - i, 0, 255, &v) == 0;
    }
    return !digits || (labels == 4 && octets);
}

/* LINBO's remote cache: //server/share[/dir...] */
static bool share_ok(const char *s)
{
    if (strlen(s) > SC_PATH_MAX || !bh_str_has_prefix(s, "//"))
        return false;
    const char *host = s + 2, *slash = strchr(host, '/');
    return slash && host_ok(host, (size_t)(slash - host)) && bh_str_charset(slash + 1, "/_.$-") &&
           components_ok(slash + 1);
}

/* A value checked against its key: the canonical text to store or render,
 * and for T_BOOL/T_INT the typed value. */
struct tval {
    const char *text; /* s itself, a table string, or buf */
    char buf[SC_VALUE_MAX + 1];
    bool b;
    json_int_t i;
};

/* An empty value ("Key =") is kept as the empty string for every key but
 * the required ones: LINBO's own files write "ForceOpsiSetup =" and
 * "Boot =", and an admin expects them back as written. */
static bool empty_ok(const struct key *k)
{
    return !(k->flags & KF_REQUIRED);
}

/* opsi product ids: opsi's own rule is 1 to 128 of [a-z0-9._-]; LINBO
 * lower-cases the value and reads it up to the first blank, so blanks are
 * refused rather than silently cut off. */
#define SC_OPSI_ID_MAX 128
static bool opsi_list_ok(const char *s, char *lower)
{
    size_t n = 0, i = 0;
    for (;; i++) {
        char c = s[i];
        if (c == ',' || c == '\0') {
            if (n == 0 || n > SC_OPSI_ID_MAX)
                return false;
            n = 0;
        } else if (isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.') {
            n++;
        } else {
            return false;
        }
        lower[i] = (char)tolower((unsigned char)c);
        if (c == '\0')
            return true;
    }
}

/* Check s (already through check_common) against k's rules.  On success
 * fills tv and returns 0; otherwise returns BH_EINVAL with `why` saying what
 * was expected.  Shared by parse and validate so both accept the same. */
static int check_text(const struct key *k, const char *s, struct tval *tv, char *why, size_t wsz)
{
    const char *expect = "";
    char list[128];
    size_t n = strlen(s);
    bool ok = false;
    int64_t i64;
    uint64_t u64;
    tv->text = s;
    if (!*s) {
        if (empty_ok(k))
            return 0;
        snprintf(why, wsz, "must not be empty");
        return BH_EINVAL;
    }
    switch (k->type) {
    case T_STR: ok = true; break;
    case T_DEV:
        ok = dev_ok(s);
        expect = "a device path such as /dev/sda1";
        break;
    case T_CACHE:
        ok = dev_ok(s) || share_ok(s);
        expect = "a device path such as /dev/sda5 or //server/share";
        break;
    case T_HOST:
        ok = host_ok(s, n);
        expect = "an IPv4 address or host name";
        break;
    case T_INT:
        ok = bh_parse_i64(s, 0, SC_INT_MAX, &i64) == 0;
        if (ok) {
            tv->i = (json_int_t)i64;
            snprintf(tv->buf, sizeof(tv->buf), "%lld", (long long)i64);
            tv->text = tv->buf;
        }
        expect = "a whole number of seconds from 0 to 2147483647";
        break;
    case T_BOOL:
        ok = bh_parse_bool(s, &tv->b) == 0;
        if (ok)
            tv->text = tv->b ? "yes" : "no";
        expect = "yes or no";
        break;
    case T_SIZE:
        ok = !*s || (bh_parse_size(s, 1024, &u64) == 0 && u64 > 0);
        expect = "a size in KiB or with a K, M, G or T suffix, or empty for the rest of the disk";
        break;
    case T_HEXID:
        ok = n >= 1 && n <= 4 && strspn(s, "0123456789abcdefABCDEF") == n;
        for (size_t i = 0; ok && i <= n; i++)
            tv->buf[i] = (char)tolower((unsigned char)s[i]);
        if (ok)
            tv->text = tv->buf;
        expect = "a partition type code of 1 to 4 hex digits such as 83, 7, ef or 0c01";
        break;
    case T_OPSI:
        ok = n < sizeof(tv->buf) && opsi_list_ok(s, tv->buf);
        if (ok)
            tv->text = tv->buf;
        expect = "opsi product ids separated by commas, without blanks (letters, digits, '-', '_' "
                 "and '.'), such as win10-opsi or firefox,7zip";
        break;
    case T_ENUM: {
        size_t nv = 0, off = 0;
        for (; k->values[nv]; nv++) {
            if (!ok && strcasecmp(s, k->values[nv]) == 0) {
                ok = true;
                tv->text = k->values[nv];
            }
        }
        for (size_t i = 0; i < nv && off < sizeof(list); i++)
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
                                    i == 0        ? ""
                                    : i + 1 == nv ? " or "
                                                  : ", ",
                                    *k->values[i] ? k->values[i] : "(empty)");
        expect = list;
        break;
    }
    }
    if (ok)
        return 0;
    snprintf(why, wsz, "expected %s", expect);
    return BH_EINVAL;
}

/* ------------------------------------------------------- writing values */

struct probe {
    const char *want;
    int calls;
    bool same;
};

static int probe_kv(void *ud, const char *k, const char *v, int line, struct bh_err *err)
{
    struct probe *p = ud;
    (void)k, (void)line, (void)err;
    p->calls++;
    p->same = strcmp(v, p->want) == 0;
    return 0;
}

/* How v must be written for the tokenizer to give it back:
 *   0  Key = v        the usual form
 *   1  Key = "v"      leading/trailing blanks, " #" or surrounding quotes
 *   2  Key =v         v starts with '#' and also holds quotes: after a blank
 *                     the '#' would start a comment
 *  -1  not at all     (e.g. `" #x"y`; parse never produces such a value)
 * Asks the real tokenizer rather than restating its rules. */
static int value_form(const char *v)
{
    static const char *const forms[] = {"k = ", "k = \"", "k ="};
    char line[SC_VALUE_MAX + 16];
    const struct bh_ini_cb cb = {NULL, probe_kv};
    size_t n = strlen(v);
    if (n > SC_VALUE_MAX)
        return -1;
    for (int f = 0; f < 3; f++) {
        size_t pre = strlen(forms[f]);
        memcpy(line, forms[f], pre);
        memcpy(line + pre, v, n);
        size_t len = pre + n;
        if (f == 1)
            line[len++] = '"';
        struct probe p = {v, 0, false};
        if (bh_ini_parse(line, len, SC_FILE, BH_INI_INLINE_COMMENTS, &cb, &p, NULL) == 0 &&
            p.calls == 1 && p.same)
            return f;
    }
    return -1;
}

/* An unknown key that a re-parse would give back unchanged and unknown. */
static const char *extra_key_problem(const struct section *sec, const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n >= BH_INI_NAME_MAX)
        return "key must be 1 to 127 characters";
    if (k[0] == '#' || k[0] == ';')
        return "key must not start with '#' or ';'";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 0x21 || c > 0x7e || c == '[' || c == ']' || c == '=')
            return "key must be printable ASCII without spaces, '[', ']' or '='";
    }
    for (size_t i = 0; i < sec->nkeys; i++)
        if (strcasecmp(k, sec->keys[i].name) == 0)
            return "key is a known start.conf key; use its JSON name instead";
    return NULL;
}

/* ----------------------------------------------------------------- parse */

struct pstate {
    json_t *root;     /* owned */
    json_t *warnings; /* owned */
    int cur;          /* current section index, -1 before the first */
    json_t *obj;      /* current section object; borrowed from root */
    int sec_line;
    int linbo_line;
    int key_line[SC_KEYS_MAX]; /* where each known key was set; 0 = not yet */
    size_t nextra;
    int dev_line[SC_PARTS_MAX]; /* line of each [Partition]'s Dev */
    json_t *map;                /* owned, optional: the line of every section and key */
    json_t *mobj;               /* current section's part of map; borrowed */
};

/* map: {"linbo": {"@": LINE, "server": LINE, "extra": {"Foo": LINE}},
 *       "partitions": [{"@": LINE, ...}], "os": [...]} */
static int mark(struct pstate *st, const char *name, bool extra, int line)
{
    json_t *o = st->mobj;
    if (extra) {
        o = json_object_get(st->mobj, "extra");
        if (!o && json_object_set_new(st->mobj, "extra", o = json_object()))
            return BH_ENOMEM;
    }
    return o && json_object_set_new(o, name, json_integer(line)) == 0 ? 0 : BH_ENOMEM;
}

__attribute__((format(printf, 4, 5))) static int perr(struct bh_err *err, int code, int line,
                                                      const char *fmt, ...)
{
    char field[32], msg[BH_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(field, sizeof(field), SC_FILE ":%d", line);
    return bh_err_set(err, code, field, SC_FILE ":%d: %s", line, msg);
}

/* The same Dev twice would make LINBO (and bootherd's partition step)
 * create one partition twice: the table can not be written. */
static int dev_twice(struct pstate *st, const char *dev, int line, struct bh_err *err)
{
    json_t *parts = json_object_get(st->root, "partitions");
    size_t n = json_array_size(parts);
    for (size_t i = 0; i + 1 < n; i++) {
        const char *d = json_string_value(json_object_get(json_array_get(parts, i), "dev"));
        if (d && strcmp(d, dev) == 0)
            return perr(err, BH_EINVAL, line,
                        "[Partition] Dev: %s is already the Dev of partition %zu (line %d)", dev,
                        i + 1, st->dev_line[i]);
    }
    if (n > 0 && n <= SC_PARTS_MAX)
        st->dev_line[n - 1] = line;
    return 0;
}

static int warn(struct pstate *st, struct bh_err *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int warn(struct pstate *st, struct bh_err *err, const char *fmt, ...)
{
    char msg[BH_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (json_array_append_new(st->warnings, json_string(msg)))
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    return 0;
}

static int finish_section(struct pstate *st, struct bh_err *err)
{
    if (st->cur < 0)
        return 0;
    const struct section *sec = &sections[st->cur];
    for (size_t i = 0; i < sec->nkeys; i++)
        if ((sec->keys[i].flags & KF_REQUIRED) && !st->key_line[i])
            return perr(err, BH_EINVAL, st->sec_line, "[%s] %s: required key missing", sec->name,
                        sec->keys[i].name);
    return 0;
}

static int on_section(void *ud, const char *name, int line, struct bh_err *err)
{
    struct pstate *st = ud;
    char tmp[SC_SHOW_MAX + 8];
    int rc = finish_section(st, err), idx = -1;
    if (rc)
        return rc;
    for (int i = 0; i < SEC__COUNT; i++)
        if (strcasecmp(name, sections[i].name) == 0)
            idx = i;
    if (idx < 0)
        return perr(err, BH_EINVAL, line,
                    "unknown section [%s] (expected [LINBO], [Partition] or [OS])",
                    show(name, tmp, sizeof(tmp)));
    const struct section *sec = &sections[idx];
    json_t *obj = json_object();
    if (!obj)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (sec->max == 0) {
        if (st->linbo_line) {
            json_decref(obj);
            return perr(err, BH_EINVAL, line, "[LINBO] repeated (first at line %d)",
                        st->linbo_line);
        }
        st->linbo_line = line;
        rc = json_object_set_new(st->root, sec->json, obj);
    } else {
        json_t *arr = json_object_get(st->root, sec->json);
        if (json_array_size(arr) >= sec->max) {
            json_decref(obj);
            return perr(err, BH_ETOOBIG, line, "more than %zu [%s] sections", sec->max, sec->name);
        }
        rc = json_array_append_new(arr, obj);
    }
    if (rc)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (st->map) {
        json_t *m = json_pack("{s:i}", "@", line);
        json_t *where = sec->max ? json_object_get(st->map, sec->json) : NULL;
        if (!m || (sec->max ? json_array_append_new(where, m)
                            : json_object_set_new(st->map, sec->json, m)))
            return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        st->mobj = m;
    }
    st->cur = idx;
    st->obj = obj;
    st->sec_line = line;
    st->nextra = 0;
    memset(st->key_line, 0, sizeof(st->key_line));
    return 0;
}

static int add_extra(struct pstate *st, const struct section *sec, const char *key,
                     const char *value, int line, struct bh_err *err)
{
    char tmp[SC_SHOW_MAX + 8];
    const char *why = extra_key_problem(sec, key);
    if (why)
        return perr(err, BH_EINVAL, line, "[%s] '%s': %s", sec->name, show(key, tmp, sizeof(tmp)),
                    why);
    json_t *extra = json_object_get(st->obj, "extra");
    const char *k;
    json_t *v;
    json_object_foreach(extra, k, v)
    {
        if (strcasecmp(k, key) == 0)
            return perr(err, BH_EINVAL, line, "[%s] %s: repeated key", sec->name, key);
    }
    if (st->nextra >= SC_EXTRA_MAX)
        return perr(err, BH_ETOOBIG, line, "[%s]: more than %d unknown keys", sec->name,
                    SC_EXTRA_MAX);
    if (!extra) {
        extra = json_object();
        if (!extra || json_object_set_new(st->obj, "extra", extra))
            return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    if (json_object_set_new(extra, key, json_string(value)))
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    st->nextra++;
    if (st->map && mark(st, key, true, line))
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    return warn(st, err, "line %d: unknown key '%s' in [%s] kept as-is", line, key, sec->name);
}

static int on_kv(void *ud, const char *key, const char *value, int line, struct bh_err *err)
{
    struct pstate *st = ud;
    char tmp[SC_SHOW_MAX + 8], why[160];
    if (st->cur < 0)
        return perr(err, BH_EINVAL, line, "key '%s' before the first section",
                    show(key, tmp, sizeof(tmp)));
    const struct section *sec = &sections[st->cur];
    const struct key *k = NULL;
    size_t ki = 0;
    for (; ki < sec->nkeys; ki++) {
        if (strcasecmp(key, sec->keys[ki].name) == 0) {
            k = &sec->keys[ki];
            break;
        }
    }
    const char *kname = k ? k->name : show(key, tmp, sizeof(tmp));
    const char *bad = check_common(value, strlen(value));
    if (bad)
        return perr(err, BH_EINVAL, line, "[%s] %s: %s", sec->name, kname, bad);
    if (!k)
        return add_extra(st, sec, key, value, line, err);
    if (st->key_line[ki])
        return perr(err, BH_EINVAL, line, "[%s] %s: repeated (first set at line %d)", sec->name,
                    k->name, st->key_line[ki]);
    st->key_line[ki] = line;
    /* LINBO's own examples leave some keys empty ("ForceOpsiSetup =",
     * "Boot ="): kept as "" (any type), so the file comes back as written. */
    if (!*value && (k->flags & KF_REQUIRED))
        return perr(err, BH_EINVAL, line, "[%s] %s: must not be empty", sec->name, k->name);
    struct tval tv;
    if (check_text(k, value, &tv, why, sizeof(why)))
        return perr(err, BH_EINVAL, line, "[%s] %s: %s, got '%s'", sec->name, k->name, why,
                    show(value, tmp, sizeof(tmp)));
    if (st->map && mark(st, k->json, false, line))
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    if (sec == &sections[SEC_PART] && k->type == T_DEV) {
        int rc = dev_twice(st, value, line, err);
        if (rc)
            return rc;
    }
    json_t *j = !*value             ? json_string("")
                : k->type == T_BOOL ? json_boolean(tv.b)
                : k->type == T_INT  ? json_integer(tv.i)
                                    : json_string(tv.text);
    if (!j || json_object_set_new(st->obj, k->json, j))
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    return 0;
}

static int parse(const char *text, size_t len, json_t **out, json_t **warnings, json_t **map,
                 struct bh_err *err)
{
    struct pstate st = {.cur = -1};
    int rc;
    *out = NULL;
    if (warnings)
        *warnings = NULL;
    if (map)
        *map = NULL;
    if (len > BH_STARTCONF_MAX)
        return bh_err_set(err, BH_ETOOBIG, SC_FILE, SC_FILE ": larger than %d bytes",
                          BH_STARTCONF_MAX);
    st.root = json_object();
    st.warnings = json_array();
    if (map)
        st.map = json_pack("{s:[],s:[]}", "partitions", "os");
    if (!st.root || !st.warnings || (map && !st.map) ||
        json_object_set_new(st.root, "partitions", json_array()) ||
        json_object_set_new(st.root, "os", json_array())) {
        rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        goto fail;
    }
    const struct bh_ini_cb cb = {on_section, on_kv};
    rc = bh_ini_parse(text ? text : "", len, SC_FILE, BH_INI_INLINE_COMMENTS, &cb, &st, err);
    if (!rc)
        rc = finish_section(&st, err);
    if (!rc && st.linbo_line) {
        /* put "linbo" first, as in the file, for people reading the JSON */
        json_t *ordered =
            json_pack("{s:O,s:O,s:O}", "linbo", json_object_get(st.root, "linbo"), "partitions",
                      json_object_get(st.root, "partitions"), "os", json_object_get(st.root, "os"));
        if (!ordered)
            rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
        json_decref(st.root);
        st.root = ordered;
    }
    /* A rewritten line is at most 4 bytes longer (blanks around '=', quotes,
     * "1" -> "yes"), and the caps allow at most 193 sections of 84 keys, so
     * rewriting adds under 70 KiB.  Only a file over half the cap can outgrow
     * it; render those once so that render(parse(t)) always parses again. */
    if (!rc && len > BH_STARTCONF_MAX / 2) {
        char *t = bh_startconf_render(st.root, err);
        if (!t)
            rc = err ? err->code : BH_ETOOBIG;
        free(t);
    }
    if (rc)
        goto fail;
    *out = st.root;
    if (warnings)
        *warnings = st.warnings;
    else
        json_decref(st.warnings);
    if (map)
        *map = st.map;
    return 0;
fail:
    json_decref(st.root);
    json_decref(st.warnings);
    json_decref(st.map);
    return rc;
}

int bh_startconf_parse(const char *text, size_t len, json_t **out, json_t **warnings,
                       struct bh_err *err)
{
    return parse(text, len, out, warnings, NULL, err);
}

int bh__startconf_parse_map(const char *text, size_t len, json_t **out, json_t **map,
                            struct bh_err *err)
{
    return parse(text, len, out, NULL, map, err);
}

/* -------------------------------------------------------------- validate */

__attribute__((format(printf, 3, 4))) static int verr(struct bh_err *err, const char *path,
                                                      const char *fmt, ...)
{
    char msg[BH_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return bh_err_set(err, BH_EINVAL, path, "%s: %s", path, msg);
}

/* path = base.name or base.name[index] (index >= 0) for err->field; a path
 * too long for the field (a long "extra" key) ends in "...". */
static void join_path(char path[BH_ERR_FIELD_MAX], const char *base, const char *name, long index)
{
    int n = index < 0 ? snprintf(path, BH_ERR_FIELD_MAX, "%s.%s", base, name)
                      : snprintf(path, BH_ERR_FIELD_MAX, "%s.%s[%ld]", base, name, index);
    if (n < 0 || n >= BH_ERR_FIELD_MAX)
        memcpy(path + BH_ERR_FIELD_MAX - 4, "...", 4);
}

/* A string value from JSON: common rules, and writable to start.conf. */
static int check_json_string(const json_t *v, const char *path, struct bh_err *err)
{
    if (!json_is_string(v))
        return verr(err, path, "expected a string");
    const char *s = json_string_value(v), *bad = check_common(s, json_string_length(v));
    if (bad)
        return verr(err, path, "%s", bad);
    if (value_form(s) < 0)
        return verr(err, path, "cannot be written to start.conf (quotes combined with ' #')");
    return 0;
}

static int validate_value(const struct key *k, const json_t *v, const char *path,
                          struct bh_err *err)
{
    char why[160];
    struct tval tv;
    if (json_is_string(v) && json_string_length(v) == 0 && empty_ok(k))
        return 0; /* "Key =" in the file */
    if (k->type == T_BOOL)
        return json_is_boolean(v) ? 0 : verr(err, path, "expected true or false (or \"\")");
    if (k->type == T_INT) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > SC_INT_MAX)
            return verr(err, path, "expected an integer from 0 to %d", SC_INT_MAX);
        return 0;
    }
    int rc = check_json_string(v, path, err);
    if (rc)
        return rc;
    const char *s = json_string_value(v);
    if (check_text(k, s, &tv, why, sizeof(why)))
        return verr(err, path, "%s", why);
    if (strcmp(tv.text, s) != 0)
        return verr(err, path, "expected lower case '%s'", tv.text);
    return 0;
}

static int validate_extra(const struct section *sec, const json_t *extra, const char *base,
                          struct bh_err *err)
{
    char path[BH_ERR_FIELD_MAX];
    const char *k, *k2;
    json_t *v, *v2;
    if (!json_is_object(extra))
        return verr(err, base, "expected an object of strings");
    if (json_object_size(extra) > SC_EXTRA_MAX)
        return verr(err, base, "more than %d unknown keys", SC_EXTRA_MAX);
    json_object_foreach((json_t *)extra, k, v)
    {
        join_path(path, base, k, -1);
        const char *why = extra_key_problem(sec, k);
        if (why)
            return verr(err, path, "%s", why);
        json_object_foreach((json_t *)extra, k2, v2)
        {
            if (k2 != k && strcasecmp(k, k2) == 0)
                return verr(err, path, "same key as '%s' (start.conf keys ignore case)", k2);
        }
        int rc = check_json_string(v, path, err);
        if (rc)
            return rc;
    }
    return 0;
}

static int validate_section(const struct section *sec, const json_t *obj, const char *base,
                            struct bh_err *err)
{
    char path[BH_ERR_FIELD_MAX];
    const char *name;
    json_t *v;
    if (!json_is_object(obj))
        return verr(err, base, "expected an object");
    json_object_foreach((json_t *)obj, name, v)
    {
        int rc;
        join_path(path, base, name, -1);
        if (strcmp(name, "extra") == 0) {
            rc = validate_extra(sec, v, path, err);
        } else {
            const struct key *k = NULL;
            for (size_t i = 0; i < sec->nkeys && !k; i++)
                if (strcmp(name, sec->keys[i].json) == 0)
                    k = &sec->keys[i];
            if (!k)
                return verr(err, path, "unknown key for [%s]; others go in extra", sec->name);
            rc = validate_value(k, v, path, err);
        }
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < sec->nkeys; i++) {
        if ((sec->keys[i].flags & KF_REQUIRED) && !json_object_get(obj, sec->keys[i].json)) {
            join_path(path, base, sec->keys[i].json, -1);
            return verr(err, path, "required");
        }
    }
    return 0;
}

int bh_startconf_validate(const json_t *conf, struct bh_err *err)
{
    char path[BH_ERR_FIELD_MAX];
    const char *name;
    json_t *v;
    if (!json_is_object(conf))
        return verr(err, "config", "expected an object with linbo, partitions and os");
    json_object_foreach((json_t *)conf, name, v)
    {
        const struct section *sec = NULL;
        for (int i = 0; i < SEC__COUNT && !sec; i++)
            if (strcmp(name, sections[i].json) == 0)
                sec = &sections[i];
        join_path(path, "config", name, -1);
        if (!sec && strcmp(name, "text") == 0) {
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
                return verr(err, path, "expected the text of a start.conf (a string)");
            if (json_string_length(v) > BH_STARTCONF_MAX)
                return verr(err, path, "longer than %d bytes", BH_STARTCONF_MAX);
            continue;
        }
        if (!sec)
            return verr(err, path, "unknown member (expected linbo, partitions, os or text)");
        if (sec->max == 0) {
            int rc = validate_section(sec, v, path, err);
            if (rc)
                return rc;
            continue;
        }
        if (!json_is_array(v))
            return verr(err, path, "expected an array of objects");
        if (json_array_size(v) > sec->max)
            return verr(err, path, "more than %zu entries", sec->max);
        for (size_t i = 0; i < json_array_size(v); i++) {
            join_path(path, "config", name, (long)i);
            int rc = validate_section(sec, json_array_get(v, i), path, err);
            if (rc)
                return rc;
            const char *dev = json_string_value(json_object_get(json_array_get(v, i), "dev"));
            for (size_t j = 0; sec == &sections[SEC_PART] && dev && j < i; j++) {
                const char *d = json_string_value(json_object_get(json_array_get(v, j), "dev"));
                if (d && strcmp(d, dev) == 0) {
                    join_path(path, "config", "partitions", (long)i);
                    snprintf(path + strlen(path), sizeof(path) - strlen(path), ".dev");
                    return verr(err, path, "%s is already the dev of partitions[%zu]", dev, j);
                }
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- render */

static int put_line(struct bh_buf *b, const char *key, const char *value)
{
    if (!*value)
        return bh_buf_printf(b, "%s =\n", key);
    /* validate() has already made sure one of the forms works */
    switch (value_form(value)) {
    case 0: return bh_buf_printf(b, "%s = %s\n", key, value);
    case 1: return bh_buf_printf(b, "%s = \"%s\"\n", key, value);
    default: return bh_buf_printf(b, "%s =%s\n", key, value);
    }
}

static int put_key(struct bh_buf *b, const struct key *k, const json_t *v)
{
    if (json_is_string(v))
        return put_line(b, k->name, json_string_value(v));
    if (k->type == T_BOOL)
        return put_line(b, k->name, json_is_true(v) ? "yes" : "no");
    return bh_buf_printf(b, "%s = %" JSON_INTEGER_FORMAT "\n", k->name, json_integer_value(v));
}

static int render_section(struct bh_buf *b, const struct section *sec, const json_t *obj)
{
    const char *name;
    json_t *v;
    int rc = bh_buf_printf(b, "%s[%s]\n", b->len ? "\n" : "", sec->name);
    for (size_t i = 0; !rc && i < sec->nkeys; i++) {
        const struct key *k = &sec->keys[i];
        v = json_object_get(obj, k->json);
        if (v)
            rc = put_key(b, k, v);
    }
    json_object_foreach((json_t *)json_object_get(obj, "extra"), name, v)
    {
        if (rc)
            break;
        rc = put_line(b, name, json_string_value(v));
    }
    return rc;
}

int bh__startconf_key_line(struct bh_buf *b, int sec, const char *name, bool extra, const json_t *v)
{
    if (extra)
        return put_line(b, name, json_string_value(v));
    for (size_t i = 0; i < sections[sec].nkeys; i++)
        if (strcmp(sections[sec].keys[i].json, name) == 0)
            return put_key(b, &sections[sec].keys[i], v);
    return BH_EINVAL;
}

int bh__startconf_section(struct bh_buf *b, int sec, const json_t *obj)
{
    struct bh_buf one;
    bh_buf_init(&one, BH_STARTCONF_MAX);
    int rc = render_section(&one, &sections[sec], obj);
    if (!rc)
        rc = bh_buf_add(b, one.p, one.len);
    bh_buf_free(&one);
    return rc;
}

const char *bh__startconf_json_name(int sec)
{
    return sections[sec].json;
}

char *bh_startconf_render(const json_t *conf, struct bh_err *err)
{
    int rc = bh_startconf_validate(conf, err);
    if (rc)
        return NULL;
    const json_t *text = json_object_get(conf, "text");
    if (text)
        return bh__startconf_edit(conf, json_string_value(text), json_string_length(text), err);
    return bh__startconf_canonical(conf, err);
}

char *bh__startconf_canonical(const json_t *conf, struct bh_err *err)
{
    struct bh_buf b;
    int rc = 0;
    bh_buf_init(&b, BH_STARTCONF_MAX);
    for (int s = 0; !rc && s < SEC__COUNT; s++) {
        const struct section *sec = &sections[s];
        const json_t *v = json_object_get(conf, sec->json);
        if (!v)
            continue;
        if (sec->max == 0)
            rc = render_section(&b, sec, v);
        for (size_t i = 0; !rc && sec->max && i < json_array_size(v); i++)
            rc = render_section(&b, sec, json_array_get(v, i));
    }
    /* an empty add terminates a buffer nothing was written to; bh_buf_steal
     * alone leaves that allocation unterminated */
    if (!rc)
        rc = bh_buf_add(&b, "", 0);
    char *out = rc ? NULL : bh_buf_steal(&b);
    bh_buf_free(&b);
    if (!out) {
        if (rc == BH_ETOOBIG)
            bh_err_set(err, rc, SC_FILE, SC_FILE ": rendered text larger than %d bytes",
                       BH_STARTCONF_MAX);
        else
            bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    }
    return out;
}
