/* libFuzzer driver: bootherd.conf parser. */
#include "daemon/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct bh_config c, before;
    struct bh_err e;
    bh_config_defaults(&c);
    before = c;
    if (bh_config_parse(&c, (const char *)data, size, "fuzz.conf", &e) != 0) {
        /* a rejected file must leave the settings untouched */
        if (memcmp(&c, &before, sizeof(c)) != 0)
            abort();
        if (e.msg[0] == '\0')
            abort();
    }
    return 0;
}
