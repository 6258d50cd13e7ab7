/* libFuzzer driver: MAC address parsing; normalisation is idempotent. */
#include "core/mac.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[64], a[BH_MAC_STRLEN], b[BH_MAC_STRLEN];
    if (size >= sizeof(in))
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    if (bh_mac_normalize(in, a) == 0) {
        if (bh_mac_normalize(a, b) != 0 || strcmp(a, b) != 0)
            abort();
    }
    return 0;
}
