/*
 * fuzz_startconf.c - libFuzzer driver for the LINBO start.conf module.
 *
 * Text input: if it parses, render it, parse the rendering and require the
 * same JSON; render that again and require the same text.
 * Input starting with '{': treat it as the API's JSON form; if it validates,
 * render it and require that parsing the text gives the same JSON back.
 * Any mismatch aborts so libFuzzer keeps the input.
 */
#include "model/startconf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_startconf: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* Text -> JSON -> text -> JSON: both JSON values equal, both texts equal. */
static void text_roundtrip(const char *text, size_t size)
{
    struct bh_err err = {0};
    json_t *a = NULL, *b = NULL, *w = NULL;
    if (bh_startconf_parse(text, size, &a, &w, &err) != 0) {
        if (a || w)
            die("failed parse left output", NULL);
        if (err.code == 0 || err.msg[0] == '\0')
            die("failed parse without a message", NULL);
        return;
    }
    if (!json_is_array(w))
        die("warnings not an array", NULL);
    if (bh_startconf_validate(a, &err) != 0)
        die("parse output does not validate", err.msg);
    char *t1 = bh_startconf_render(a, &err);
    if (!t1)
        die("render of parse output failed", err.msg);
    if (bh_startconf_parse(t1, strlen(t1), &b, NULL, &err) != 0)
        die("rendered text does not parse", err.msg);
    if (!json_equal(a, b))
        die("parse(render(x)) != x", t1);
    char *t2 = bh_startconf_render(b, &err);
    if (!t2 || strcmp(t1, t2) != 0)
        die("render is not stable", t1);
    free(t1);
    free(t2);
    json_decref(a);
    json_decref(b);
    json_decref(w);
}

/* parse always yields both arrays, never an empty "extra"; bring x to that. */
static void normalise(json_t *conf)
{
    static const char *const lists[] = {"partitions", "os"};
    for (size_t i = 0; i < 2; i++)
        if (!json_object_get(conf, lists[i]))
            json_object_set_new(conf, lists[i], json_array());
    json_t *linbo = json_object_get(conf, "linbo");
    if (linbo && json_object_size(json_object_get(linbo, "extra")) == 0)
        json_object_del(linbo, "extra");
    for (size_t i = 0; i < 2; i++) {
        json_t *arr = json_object_get(conf, lists[i]);
        for (size_t j = 0; j < json_array_size(arr); j++) {
            json_t *o = json_array_get(arr, j);
            if (json_object_size(json_object_get(o, "extra")) == 0)
                json_object_del(o, "extra");
        }
    }
}

/* JSON -> validate -> text -> JSON: equal to the input (normalised). */
static void json_roundtrip(const char *text, size_t size)
{
    struct bh_err err = {0};
    json_t *x = json_loadb(text, size, 0, NULL), *y = NULL;
    if (!x)
        return;
    if (bh_startconf_validate(x, &err) != 0) {
        if (bh_startconf_render(x, &err) != NULL)
            die("render accepted what validate refused", NULL);
        json_decref(x);
        return;
    }
    char *t = bh_startconf_render(x, &err);
    if (!t) {
        if (err.code != BH_ETOOBIG)
            die("render of valid JSON failed", err.msg);
        json_decref(x);
        return;
    }
    if (bh_startconf_parse(t, strlen(t), &y, NULL, &err) != 0)
        die("rendered valid JSON does not parse", err.msg);
    normalise(x);
    if (!json_equal(x, y))
        die("parse(render(json)) != json", t);
    free(t);
    json_decref(x);
    json_decref(y);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    if (size > 0 && text[0] == '{')
        json_roundtrip(text, size);
    else
        text_roundtrip(text, size);
    return 0;
}
