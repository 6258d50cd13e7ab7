/*
 * selector.c - parse and evaluate label selectors.
 */
#include "selector.h"

#include <ctype.h>
#include <string.h>

struct cur {
    const char *s;
    size_t i, n;
};

static void skip_ws(struct cur *c)
{
    while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
        c->i++;
}

static bool word_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '.' || ch == '_' || ch == '-' || ch == '/';
}

/* read [A-Za-z0-9._/-]* into out (cap bytes); error if too long */
static int read_word(struct cur *c, char *out, size_t cap, struct bh_err *err)
{
    size_t st = c->i;
    while (c->i < c->n && word_char(c->s[c->i]))
        c->i++;
    size_t len = c->i - st;
    if (len >= cap)
        return bh_err_set(err, BH_EINVAL, "selector",
                          "selector: word at position %zu is longer than %zu characters", st + 1,
                          cap - 1);
    memcpy(out, c->s + st, len);
    out[len] = '\0';
    return 0;
}

static int expect(struct bh_err *err, const struct cur *c, const char *what)
{
    if (c->i >= c->n)
        return bh_err_set(err, BH_EINVAL, "selector", "selector: expected %s at end of input",
                          what);
    return bh_err_set(err, BH_EINVAL, "selector",
                      "selector: expected %s at position %zu, found '%c'", what, c->i + 1,
                      c->s[c->i]);
}

static bool keyword(struct cur *c, const char *kw)
{
    size_t n = strlen(kw);
    if (c->n - c->i < n || strncmp(c->s + c->i, kw, n) != 0)
        return false;
    if (c->i + n < c->n && word_char(c->s[c->i + n]))
        return false;
    c->i += n;
    return true;
}

static int parse_set(struct cur *c, struct bh_sel_term *t, struct bh_err *err)
{
    skip_ws(c);
    if (c->i >= c->n || c->s[c->i] != '(')
        return expect(err, c, "'('");
    c->i++;
    for (;;) {
        skip_ws(c);
        if (t->nvalues == BH_SEL_MAX_VALUES)
            return bh_err_set(err, BH_EINVAL, "selector", "selector: more than %d values in a set",
                              BH_SEL_MAX_VALUES);
        int rc = read_word(c, t->values[t->nvalues], BH_SEL_VAL_MAX, err);
        if (rc)
            return rc;
        if (!t->values[t->nvalues][0])
            return expect(err, c, "a value");
        t->nvalues++;
        skip_ws(c);
        if (c->i < c->n && c->s[c->i] == ',') {
            c->i++;
            continue;
        }
        if (c->i < c->n && c->s[c->i] == ')') {
            c->i++;
            return 0;
        }
        return expect(err, c, "',' or ')'");
    }
}

static int parse_term(struct cur *c, struct bh_sel_term *t, struct bh_err *err)
{
    int rc;
    memset(t, 0, sizeof(*t));
    skip_ws(c);
    if (c->i < c->n && c->s[c->i] == '!') {
        c->i++;
        skip_ws(c);
        if ((rc = read_word(c, t->key, sizeof(t->key), err)))
            return rc;
        if (!t->key[0])
            return expect(err, c, "a key after '!'");
        t->op = BH_SEL_ABSENT;
        return 0;
    }
    if ((rc = read_word(c, t->key, sizeof(t->key), err)))
        return rc;
    if (!t->key[0])
        return expect(err, c, "a key");
    skip_ws(c);
    if (c->i >= c->n || c->s[c->i] == ',') {
        t->op = BH_SEL_EXISTS;
        return 0;
    }
    if (c->s[c->i] == '=' || (c->s[c->i] == '!' && c->i + 1 < c->n && c->s[c->i + 1] == '=')) {
        t->op = c->s[c->i] == '=' ? BH_SEL_EQ : BH_SEL_NE;
        c->i += t->op == BH_SEL_NE ? 2 : 1;
        if (t->op == BH_SEL_EQ && c->i < c->n && c->s[c->i] == '=')
            c->i++;
        skip_ws(c);
        if ((rc = read_word(c, t->values[0], BH_SEL_VAL_MAX, err)))
            return rc;
        t->nvalues = 1; /* an empty value matches an empty label */
        return 0;
    }
    if (keyword(c, "in")) {
        t->op = BH_SEL_IN;
        return parse_set(c, t, err);
    }
    if (keyword(c, "notin")) {
        t->op = BH_SEL_NOTIN;
        return parse_set(c, t, err);
    }
    return expect(err, c, "'=', '!=', 'in', 'notin' or ','");
}

int bh_selector_parse(const char *text, struct bh_selector *sel, struct bh_err *err)
{
    struct cur c = {text, 0, strlen(text)};
    sel->n = 0;
    if (c.n > BH_SEL_TEXT_MAX)
        return bh_err_set(err, BH_EINVAL, "selector", "selector: longer than %d characters",
                          BH_SEL_TEXT_MAX);
    skip_ws(&c);
    if (c.i == c.n)
        return 0;
    for (;;) {
        if (sel->n == BH_SEL_MAX_TERMS)
            return bh_err_set(err, BH_EINVAL, "selector", "selector: more than %d terms",
                              BH_SEL_MAX_TERMS);
        int rc = parse_term(&c, &sel->terms[sel->n], err);
        if (rc)
            return rc;
        sel->n++;
        skip_ws(&c);
        if (c.i == c.n)
            return 0;
        if (c.s[c.i] != ',')
            return expect(err, &c, "','");
        c.i++;
    }
}

void bh_selector_resolve(struct bh_selector *sel, const struct bh_kind_desc *k)
{
    for (size_t i = 0; i < sel->n; i++) {
        const struct bh_field *f = bh_kind_field(k, sel->terms[i].key);
        sel->terms[i].field = f && (f->flags & BH_FF_FILTER) ? f : NULL;
    }
}

static bool in_set(const struct bh_sel_term *t, const char *v)
{
    for (size_t i = 0; i < t->nvalues; i++)
        if (strcmp(t->values[i], v) == 0)
            return true;
    return false;
}

bool bh_selector_match(const struct bh_selector *sel, const json_t *obj)
{
    for (size_t i = 0; i < sel->n; i++) {
        const struct bh_sel_term *t = &sel->terms[i];
        const json_t *v = t->field ? json_object_get(obj, t->field->name)
                                   : json_object_get(json_object_get(obj, "labels"), t->key);
        const char *s = json_string_value(v);
        bool present = s && (!t->field || *s);
        switch (t->op) {
        case BH_SEL_EXISTS:
            if (!present)
                return false;
            break;
        case BH_SEL_ABSENT:
            if (present)
                return false;
            break;
        case BH_SEL_EQ:
        case BH_SEL_IN:
            if (!present || !in_set(t, s))
                return false;
            break;
        case BH_SEL_NE:
        case BH_SEL_NOTIN:
            if (present && in_set(t, s))
                return false;
            break;
        }
    }
    return true;
}
