/*
 * validate.c - checking client documents against the kind tables.
 */
#include "model.h"

#include "core/mac.h"
#include "core/str.h"
#include "core/timeutil.h"

#include <ctype.h>
#include <string.h>

#define STR_MAX_DEFAULT 1024
#define LABELS_MAX      64
#define STRLIST_MAX     64

static bool alnum(char c)
{
    return isalnum((unsigned char)c) != 0;
}

/* 1..max chars of [A-Za-z0-9._-], beginning and ending with alnum */
static bool simple_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !alnum(s[0]) || !alnum(s[n - 1]))
        return false;
    return bh_str_charset(s, "._-");
}

bool bh_name_ok(const char *s)
{
    return simple_token(s, 63);
}

bool bh_label_key_ok(const char *k)
{
    const char *slash = strchr(k, '/');
    if (!slash)
        return simple_token(k, 63);
    size_t pn = (size_t)(slash - k);
    if (pn == 0 || pn > 253 || strchr(slash + 1, '/'))
        return false;
    char prefix[254];
    memcpy(prefix, k, pn);
    prefix[pn] = '\0';
    return bh_str_charset(prefix, ".-") && alnum(prefix[0]) && simple_token(slash + 1, 63);
}

bool bh_label_value_ok(const char *v)
{
    return *v == '\0' || simple_token(v, 63);
}

/* printable text: no control bytes except tab (and line ends in lines) */
static bool printable(const char *s, bool lines)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t' && !(lines && (*p == '\n' || *p == '\r'))) || *p == 0x7f)
            return false;
    return true;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

static int wrong_type(struct bh_err *err, const struct bh_field *f, const char *want,
                      const json_t *v)
{
    return bh_err_sett(err, BH_EINVAL, "wrong-type", f->name, "field '%s': expected %s, got %s",
                       f->name, want, type_name(v));
}

static int check_string(const struct bh_field *f, const char *s, struct bh_err *err)
{
    size_t max = f->max_len ? f->max_len : STR_MAX_DEFAULT;
    size_t n = strlen(s);
    if (n > max)
        return bh_err_set(err, BH_EINVAL, f->name, "field '%s': longer than %zu characters",
                          f->name, max);
    if (!printable(s, f->flags & BH_FF_TEXT))
        return bh_err_set(err, BH_EINVAL, f->name, "field '%s': contains control characters",
                          f->name);
    if (f->charset &&
        (n == 0 || !bh_str_charset(s, f->charset) || !alnum(s[0]) || !alnum(s[n - 1])))
        return bh_err_sett(err, BH_EINVAL, "invalid-value", f->name,
                           "field '%s': '%.64s' must be 1 to %zu letters, digits or '%s', "
                           "beginning and ending with a letter or digit",
                           f->name, s, max, f->charset);
    return 0;
}

static int check_labels(const struct bh_field *f, const json_t *v, struct bh_err *err)
{
    const char *k;
    const json_t *lv;
    if (!json_is_object(v))
        return wrong_type(err, f, "an object of label strings", v);
    if (json_object_size(v) > LABELS_MAX)
        return bh_err_set(err, BH_EINVAL, f->name, "field '%s': more than %d labels", f->name,
                          LABELS_MAX);
    json_object_foreach((json_t *)v, k, lv)
    {
        char path[BH_ERR_FIELD_MAX];
        snprintf(path, sizeof(path), "%s.%.64s", f->name, k);
        if (!bh_label_key_ok(k))
            return bh_err_set(err, BH_EINVAL, path,
                              "label key '%.64s': use [prefix/]name with letters, digits, "
                              "'.', '_' and '-' (name at most 63)",
                              k);
        if (!json_is_string(lv))
            return bh_err_set(err, BH_EINVAL, path, "label '%.64s': expected a string, got %s", k,
                              type_name(lv));
        if (!bh_label_value_ok(json_string_value(lv)))
            return bh_err_set(err, BH_EINVAL, path,
                              "label '%.64s': value '%.64s' must be empty or at most 63 "
                              "letters, digits, '.', '_' or '-'",
                              k, json_string_value(lv));
    }
    return 0;
}

int bh_model_check_value(const struct bh_field *f, const json_t *v, json_t **norm,
                         struct bh_err *err)
{
    json_t *out = NULL;
    int rc;
    switch (f->type) {
    case BH_F_STR:
    case BH_F_REF:
        if (!json_is_string(v))
            return wrong_type(err, f, "a string", v);
        if (f->type == BH_F_REF && !bh_name_ok(json_string_value(v)))
            return bh_err_set(err, BH_EINVAL, f->name, "field '%s': '%.64s' is not a valid name",
                              f->name, json_string_value(v));
        if ((rc = check_string(f, json_string_value(v), err)))
            return rc;
        break;
    case BH_F_INT:
        if (!json_is_integer(v))
            return wrong_type(err, f, "an integer", v);
        if (f->min < f->max && (json_integer_value(v) < f->min || json_integer_value(v) > f->max))
            return bh_err_sett(err, BH_EINVAL, "invalid-value", f->name,
                               "field '%s': %lld is out of range (%lld to %lld)", f->name,
                               (long long)json_integer_value(v), (long long)f->min,
                               (long long)f->max);
        break;
    case BH_F_BOOL:
        if (!json_is_boolean(v))
            return wrong_type(err, f, "a boolean", v);
        break;
    case BH_F_MAC: {
        char mac[BH_MAC_STRLEN];
        uint8_t m[6];
        if (!json_is_string(v))
            return wrong_type(err, f, "a string", v);
        if (bh_mac_parse(json_string_value(v), m))
            return bh_err_set(err, BH_EINVAL, f->name,
                              "field '%s': '%.64s' is not a MAC address (expected like "
                              "00:11:22:33:44:55)",
                              f->name, json_string_value(v));
        bh_mac_format(m, mac);
        const char *why = bh_mac_not_host(m);
        if (why) /* a host's key names one machine */
            return bh_err_sett(err, BH_EINVAL, "invalid-value", f->name, "field '%s': %s %s",
                               f->name, mac, why);
        out = json_string(mac);
        break;
    }
    case BH_F_ENUM: {
        if (!json_is_string(v))
            return wrong_type(err, f, "a string", v);
        const char *s = json_string_value(v);
        size_t i;
        for (i = 0; f->enum_values[i]; i++)
            if (strcmp(s, f->enum_values[i]) == 0)
                break;
        if (!f->enum_values[i]) {
            char list[256] = "";
            size_t n = 0;
            for (size_t j = 0; f->enum_values[j] && n < sizeof(list); j++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s'%s'", j ? ", " : "",
                                      f->enum_values[j]);
            return bh_err_set(err, BH_EINVAL, f->name, "field '%s': '%.64s' is not one of %s",
                              f->name, s, list);
        }
        break;
    }
    case BH_F_TIME: {
        int64_t ms;
        char ts[BH_TIME_STRLEN];
        if (!json_is_string(v))
            return wrong_type(err, f, "a string", v);
        if (bh_time_parse(json_string_value(v), &ms))
            return bh_err_set(err, BH_EINVAL, f->name,
                              "field '%s': '%.64s' is not an RFC 3339 time like "
                              "2026-11-22T08:00:00Z",
                              f->name, json_string_value(v));
        bh_time_format(ms, ts);
        out = json_string(ts);
        break;
    }
    case BH_F_LABELS:
        if ((rc = check_labels(f, v, err)))
            return rc;
        break;
    case BH_F_OBJECT:
        if (!json_is_object(v))
            return wrong_type(err, f, "an object", v);
        break;
    case BH_F_STRLIST: {
        size_t i;
        json_t *e;
        if (!json_is_array(v))
            return wrong_type(err, f, "an array of strings", v);
        if (json_array_size(v) > STRLIST_MAX)
            return bh_err_set(err, BH_EINVAL, f->name, "field '%s': more than %d entries", f->name,
                              STRLIST_MAX);
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e))
                return bh_err_set(err, BH_EINVAL, f->name,
                                  "field '%s': entry %zu: expected a string, got %s", f->name, i,
                                  type_name(e));
            if ((rc = check_string(f, json_string_value(e), err)))
                return rc;
        }
        break;
    }
    }
    if (f->check) {
        struct bh_err sub;
        bh_err_clear(&sub);
        if ((rc = f->check(v, &sub))) {
            json_decref(out);
            if (sub.field[0])
                return bh_err_set(err, rc, sub.field, "%s", sub.msg);
            return bh_err_set(err, rc, f->name, "field '%s': %s", f->name, sub.msg);
        }
    }
    if (!out && f->normalize) {
        struct bh_err sub;
        bh_err_clear(&sub);
        if (!(out = f->normalize(v, &sub)))
            return bh_err_set(err, sub.code ? sub.code : BH_ENOMEM, f->name, "field '%s': %s",
                              f->name, sub.msg);
    }
    if (!out)
        out = json_deep_copy(v);
    if (!out)
        return bh_err_set(err, BH_ENOMEM, f->name, "out of memory");
    *norm = out;
    return 0;
}

/* Members the API adds to an object that are not fields: a GET, edit,
 * PUT back carries them, and REPLACE ignores them (startconf_notes: a
 * group's start.conf notes, api/resources.c). */
static bool output_only(const char *name)
{
    return strcmp(name, "rev") == 0 || strcmp(name, "startconf_notes") == 0;
}

int bh_model_validate(const struct bh_kind_desc *k, const json_t *in, enum bh_vmode mode,
                      json_t **out, struct bh_err *err)
{
    const char *name;
    json_t *v;
    int rc = 0;

    if (!json_is_object(in))
        return bh_err_set(err, BH_EINVAL, "", "the %s must be a JSON object, got %s", k->name,
                          type_name(in));
    json_t *res = json_object();
    if (!res)
        return bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
    json_object_foreach((json_t *)in, name, v)
    {
        const struct bh_field *f = bh_kind_field(k, name);
        if (!f || (f->flags & BH_FF_INTERNAL)) {
            if (output_only(name)) {
                if (mode == BH_V_REPLACE)
                    continue;
                rc = bh_err_sett(err, BH_EINVAL, "read-only-field", name, "field '%s' is read-only",
                                 name);
            } else {
                rc = bh_err_sett(err, BH_EINVAL, "unknown-field", name,
                                 "unknown field '%.64s' for a %s", name, k->name);
            }
            goto fail;
        }
        if (f->flags & BH_FF_RO) {
            if (mode == BH_V_REPLACE)
                continue; /* GET, edit, PUT back: server fields are ignored */
            rc = bh_err_sett(err, BH_EINVAL, "read-only-field", name, "field '%s' is read-only",
                             name);
            goto fail;
        }
        if (json_is_null(v)) {
            if (f->flags & BH_FF_REQUIRED) {
                rc = bh_err_sett(err, BH_EINVAL, "missing-field", name,
                                 "field '%s' is required and cannot be null", name);
                goto fail;
            }
            if (mode == BH_V_PATCH && json_object_set(res, name, v))
                goto nomem;
            continue;
        }
        if (mode == BH_V_PATCH) {
            /* types are checked after the patch is merged (nested merges) */
            if (json_object_set(res, name, v))
                goto nomem;
            continue;
        }
        json_t *norm;
        if ((rc = bh_model_check_value(f, v, &norm, err)))
            goto fail;
        if (json_object_set_new(res, name, norm))
            goto nomem;
    }
    if (mode == BH_V_PATCH)
        goto done;
    for (size_t i = 0; i < k->nfields; i++) {
        const struct bh_field *f = &k->fields[i];
        if (json_object_get(res, f->name))
            continue;
        if (f->flags & BH_FF_REQUIRED) {
            rc = bh_err_sett(err, BH_EINVAL, "missing-field", f->name,
                             "missing required field '%s'", f->name);
            goto fail;
        }
        /* PUT replaces the object: what it leaves out goes back to the default */
        if (f->defval) {
            json_t *d = json_loads(f->defval, JSON_DECODE_ANY, NULL);
            if (!d || json_object_set_new(res, f->name, d))
                goto nomem;
        }
    }
done:
    *out = res;
    return 0;
nomem:
    rc = bh_err_set(err, BH_ENOMEM, NULL, "out of memory");
fail:
    if (rc == BH_EINVAL && err && !err->type)
        err->type = "invalid-value";
    json_decref(res);
    return rc;
}

json_t *bh_model_writable(const struct bh_kind_desc *k, const json_t *obj)
{
    json_t *res = json_object();
    if (!res)
        return NULL;
    for (size_t i = 0; i < k->nfields; i++) {
        const struct bh_field *f = &k->fields[i];
        if (f->flags & (BH_FF_RO | BH_FF_INTERNAL))
            continue;
        json_t *v = json_object_get(obj, f->name);
        if (v && !json_is_null(v) && json_object_set_new(res, f->name, json_deep_copy(v))) {
            json_decref(res);
            return NULL;
        }
    }
    return res;
}

void bh_merge_patch(json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v)
    {
        if (json_is_null(v)) {
            json_object_del(target, k);
            continue;
        }
        json_t *cur = json_object_get(target, k);
        if (json_is_object(v) && json_is_object(cur)) {
            bh_merge_patch(cur, v);
            continue;
        }
        if (json_is_object(v)) {
            /* RFC 7396: patching a non-object starts from {} and drops nulls */
            json_t *fresh = json_object();
            if (!fresh)
                continue;
            bh_merge_patch(fresh, v);
            json_object_set_new(target, k, fresh);
            continue;
        }
        json_object_set_new(target, k, json_deep_copy(v));
    }
}
