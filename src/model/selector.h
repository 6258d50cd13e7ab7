/*
 * selector.h - label selectors: "role=kiosk,arch!=arm64,floor in (1,2),!broken".
 *
 * Terms are joined by ',' and all must hold.  Forms:
 *   key=value  key==value  key!=value  key in (v1,v2)  key notin (v1,v2)
 *   key        (key exists)   !key   (key absent)
 * A key that names a filterable field of the kind (arch, state, room, ...)
 * tests that field; any other key tests the object's labels.  A != or notin
 * term also holds when the key is absent (as in Kubernetes).
 */
#ifndef BH_MODEL_SELECTOR_H
#define BH_MODEL_SELECTOR_H

#include "model.h"

#define BH_SEL_MAX_TERMS  16
#define BH_SEL_MAX_VALUES 8
#define BH_SEL_KEY_MAX    320
#define BH_SEL_VAL_MAX    64
#define BH_SEL_TEXT_MAX   2048

enum bh_sel_op { BH_SEL_EQ, BH_SEL_NE, BH_SEL_IN, BH_SEL_NOTIN, BH_SEL_EXISTS, BH_SEL_ABSENT };

struct bh_sel_term {
    char key[BH_SEL_KEY_MAX];
    enum bh_sel_op op;
    size_t nvalues;
    char values[BH_SEL_MAX_VALUES][BH_SEL_VAL_MAX];
    const struct bh_field *field; /* set by bh_selector_resolve; NULL = label */
};

struct bh_selector {
    size_t n;
    struct bh_sel_term terms[BH_SEL_MAX_TERMS];
};

/* Parse; BH_EINVAL with a message naming the position and what was expected. */
int bh_selector_parse(const char *text, struct bh_selector *sel, struct bh_err *err);
/* Bind keys to filterable fields of kind k where they match. */
void bh_selector_resolve(struct bh_selector *sel, const struct bh_kind_desc *k);
/* Does obj (an API object with "labels") satisfy the selector? */
bool bh_selector_match(const struct bh_selector *sel, const json_t *obj);

#endif
