/*
 * fuzz_startconf.c - libFuzzer driver for the LINBO start.conf module.
 *
 * Text input: if it parses, render it, parse the rendering and require the
 * same JSON; render that again and require the same text.
 * Then the kept-text path (src/model/startconf_edit.c): with the input kept
 * as "text", render must give the input back byte for byte; with one value
 * changed (or a section added), parsing the edited text must give exactly
 * the changed JSON.
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

/* The edited text must mean exactly conf (without its "text"). */
static void edited_means(json_t *conf, const char *what)
{
    struct bh_err err = {0};
    json_t *got = NULL;
    if (bh_startconf_validate(conf, &err) != 0)
        return; /* e.g. the added Dev was there already */
    char *t = bh_startconf_render(conf, &err);
    if (!t) {
        if (err.code != BH_ETOOBIG)
            die("render with kept text failed", err.msg);
        return;
    }
    if (bh_startconf_parse(t, strlen(t), &got, NULL, &err) != 0)
        die(what, err.msg);
    json_t *want = json_deep_copy(conf);
    json_object_del(want, "text");
    if (!json_equal(want, got))
        die(what, t);
    json_decref(want);
    json_decref(got);
    free(t);
}

/* parse(text) = a: kept as text, back byte for byte; edits mean what they say. */
static void kept_text(const char *text, size_t size, const json_t *a)
{
    struct bh_err err = {0};
    json_t *c = json_deep_copy(a);
    if (!c || bh_startconf_keep_text(c, text, size, NULL) != 0)
        die("keep_text failed", NULL);
    if (json_object_get(c, "text")) {
        char *t = bh_startconf_render(c, &err);
        if (!t || strlen(t) != size || memcmp(t, text, size) != 0)
            die("kept text not given back byte for byte", t);
        free(t);
    }
    json_t *os = json_object_get(c, "os"), *l = json_object_get(c, "linbo");
    if (json_array_size(os))
        json_object_set_new(json_array_get(os, 0), "name", json_string("edited #1"));
    else if (l)
        json_object_set_new(l, "group", json_string(""));
    edited_means(c, "edited value: parse(render) != JSON");
    json_t *p0 = json_array_get(json_object_get(c, "partitions"), 0);
    if (p0) { /* an unknown key added (or changed) */
        json_t *x = json_object_get(p0, "extra");
        if (!x)
            json_object_set_new(p0, "extra", x = json_object());
        json_object_set_new(x, "FuzzKey", json_string("v"));
        edited_means(c, "added unknown key: parse(render) != JSON");
    }
    json_array_append_new(json_object_get(c, "partitions"),
                          json_pack("{s:s, s:b}", "dev", "/dev/fuzz1", "bootable", 1));
    json_object_del(c, "linbo");
    edited_means(c, "added/removed sections: parse(render) != JSON");
    json_decref(c);
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
    kept_text(text, size, a);
    json_decref(a);
    json_decref(b);
    json_decref(w);
}

/* parse always yields both arrays, never an empty "extra"; bring x to that. */
static void normalise(json_t *conf)
{
    json_object_del(conf, "text"); /* kept text: what render edits, not what it means */
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
