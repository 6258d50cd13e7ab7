#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int bh_err_set(struct bh_err *err, int code, const char *field, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->type = NULL;
    err->field[0] = '\0';
    if (field)
        snprintf(err->field, sizeof(err->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int bh_err_sett(struct bh_err *err, int code, const char *type, const char *field, const char *fmt,
                ...)
{
    if (!err)
        return code;
    err->code = code;
    err->type = type;
    err->field[0] = '\0';
    if (field)
        snprintf(err->field, sizeof(err->field), "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

int bh_err_type(struct bh_err *err, const char *type)
{
    if (!err)
        return BH_EINVAL;
    err->type = type;
    return err->code;
}

void bh_err_clear(struct bh_err *err)
{
    if (!err)
        return;
    err->code = BH_OK;
    err->type = NULL;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

const char *bh_err_name(int code)
{
    switch (code) {
    case BH_OK: return "ok";
    case BH_ENOMEM: return "out-of-memory";
    case BH_EINVAL: return "invalid";
    case BH_ENOTFOUND: return "not-found";
    case BH_ECONFLICT: return "conflict";
    case BH_EPRECOND: return "precondition-failed";
    case BH_ENOREF: return "missing-reference";
    case BH_EIO: return "io-error";
    case BH_ETOOBIG: return "too-big";
    case BH_EPERM: return "forbidden";
    case BH_EAUTH: return "unauthenticated";
    case BH_EBUSY: return "busy";
    case BH_EGONE: return "gone";
    case BH_EUNSUPP: return "unsupported";
    case BH_ESYS: return "system-error";
    }
    return "unknown";
}
