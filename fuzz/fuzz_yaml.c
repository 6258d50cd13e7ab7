/*
 * fuzz_yaml.c - libFuzzer driver for src/cli/yamlload.c.
 *
 * Loads the input; on success serialises the result (walking every node)
 * and resolves a few fixed paths plus one taken from the input itself, so
 * the path parser of bh_yaml_pos_lookup is fuzzed too.  Any crash, leak,
 * sanitizer report, BH_ENOMEM, or an error without a "FNAME:LINE:COL" field
 * is a bug.
 */
#include "cli/yamlload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_FROM_INPUT 128

static const char *const fixed_paths[] = {
    "",
    "hosts",
    "hosts[0].room",
    "hosts[3].nosuchfield",
    "groups[0].config.os[1].name",
    "[0]",
    "[\"a.b\"][\"c\\\"d\"][2]",
    "a.b.c.d.e.f.g",
    "[18446744073709551615]",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = NULL;
    struct bh_yaml_pos *pos = NULL;
    struct bh_err err = {0};
    int rc = bh_yaml_load((const char *)data, size, "fuzz.yaml", &v, &pos, &err);
    if (rc) {
        /* BH_ENOMEM cannot really happen here: seeing it means a scalar was
         * refused by jansson (e.g. invalid UTF-8 slipped through libyaml) */
        if (rc == BH_ENOMEM || v || pos || err.code != rc ||
            strncmp(err.field, "fuzz.yaml:", 10) != 0)
            abort();
        return 0;
    }
    if (!v || !pos)
        abort();
    char *dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    free(dump);

    int line = 0, col = 0;
    for (size_t i = 0; i < sizeof(fixed_paths) / sizeof(fixed_paths[0]); i++) {
        if (bh_yaml_pos_lookup(pos, fixed_paths[i], &line, &col) == 0 && (line < 1 || col < 1))
            abort();
    }
    /* the first line of the input, up to PATH_MAX_FROM_INPUT bytes, as a path */
    char path[PATH_MAX_FROM_INPUT + 1];
    size_t n = 0;
    while (n < size && n < PATH_MAX_FROM_INPUT && data[n] != '\n' && data[n] != '\0') {
        path[n] = (char)data[n];
        n++;
    }
    path[n] = '\0';
    if (bh_yaml_pos_lookup(pos, path, &line, &col) == 0 && (line < 1 || col < 1))
        abort();

    json_decref(v);
    bh_yaml_pos_free(pos);
    return 0;
}
