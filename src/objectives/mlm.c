/*
 * mlm.c — dynamic masked-LM masking, BERT's recipe (see objective.h).
 * Per window position t, three counter-based draws from the stream
 * (seed, step, k): draw 1 < mask_rate → predict this position; draw 2:
 * < 0.8 [MASK], < 0.9 a random token, else unchanged; draw 3 picks the
 * random token. Separators and [CLS] are never predicted.
 */
#include "objective.h"

#include "kernels/rng.h"

#include <string.h>

void obj_mlm(const Objective *o, const int32_t *window, int64_t k, int64_t step, int32_t *tokens,
             int32_t *labels) {
    int T = o->T;
    tokens[0] = o->cls;
    memcpy(tokens + 1, window, (size_t)(T - 2) * sizeof *tokens);
    tokens[T - 1] = o->sep;
    uint64_t ms = k_rng_child(k_rng_child(k_rng_child(o->seed, 0x3A5C), (uint64_t)step), k);
    for (int t = 0; t < T; t++) {
        labels[t] = LABEL_IGNORE;
        int tok = tokens[t];
        if (t == 0 || t == T - 1 || tok == o->sep || tok == o->cls) continue;
        if (k_rng_uniform(ms, 3 * (uint64_t)t) >= o->mask_rate) continue;
        labels[t] = tok;
        double r = k_rng_uniform(ms, 3 * (uint64_t)t + 1);
        if (r < 0.8)
            tokens[t] = o->mask;
        else if (r < 0.9)
            tokens[t] = (int32_t)(k_rng_uniform(ms, 3 * (uint64_t)t + 2) * o->vocab);
    }
}
