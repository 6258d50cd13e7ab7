/*
 * testutil.h - helpers shared by the cmocka tests (include after cmocka.h).
 */
#ifndef BH_TESTS_TESTUTIL_H
#define BH_TESTS_TESTUTIL_H

#include <jansson.h>
#include <string.h>

/* Test JSON is written with single quotes; J() makes them double quotes. */
static inline json_t *J(const char *text)
{
    char buf[2048];
    size_t n = strlen(text);
    assert_true(n < sizeof(buf));
    for (size_t i = 0; i <= n; i++)
        buf[i] = text[i] == '\'' ? '"' : text[i];
    json_error_t je;
    json_t *v = json_loads(buf, JSON_DECODE_ANY, &je);
    if (!v)
        fail_msg("bad test JSON %s: %s", buf, je.text);
    return v;
}

#endif
