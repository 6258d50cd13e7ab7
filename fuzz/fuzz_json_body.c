/*
 * libFuzzer driver: request bodies as the API sees them - JSON parsing with
 * the server's flags, then validation against every kind in every mode, and
 * merge patches.  A validated document must validate again unchanged.
 */
#include "model/model.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!in)
        return 0;
    for (int k = 0; k < BH_KIND__COUNT; k++) {
        const struct bh_kind_desc *kd = bh_kind_get((enum bh_kind)k);
        for (int m = BH_V_CREATE; m <= BH_V_PATCH; m++) {
            json_t *out = NULL, *again = NULL;
            struct bh_err e;
            if (bh_model_validate(kd, in, (enum bh_vmode)m, &out, &e) != 0) {
                if (e.msg[0] == '\0')
                    abort();
                continue;
            }
            if (m != BH_V_PATCH) {
                if (bh_model_validate(kd, out, BH_V_REPLACE, &again, &e) != 0)
                    abort(); /* normalised output must be accepted */
                json_decref(again);
            } else {
                json_t *base = json_object();
                bh_merge_patch(base, out);
                json_decref(base);
            }
            json_decref(out);
        }
    }
    json_decref(in);
    return 0;
}
