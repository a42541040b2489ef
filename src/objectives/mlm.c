/*
 * mlm.c — dynamic masked-LM masking, BERT's recipe (see objective.h).
 * Per window position t, three counter-based draws from the stream
 * (seed, step, k): draw 1 < mask_rate → predict this position; draw 2:
 * < 0.8 [MASK], < 0.9 a random token, else unchanged; draw 3 picks the
 * random token. Separators, [CLS] and pads are never predicted.
 */
#include "objective.h"

#include "kernels/rng.h"

#include <string.h>

int obj_mlm(const Objective *o, const int32_t *window, int n, int64_t k, int64_t step,
            int32_t *tokens, int32_t *labels) {
    int T = o->T, real = n + 2; /* [CLS] window [SEP]; packed: n = T − 2 */
    tokens[0] = o->cls;
    memcpy(tokens + 1, window, (size_t)n * sizeof *tokens);
    tokens[n + 1] = o->sep;
    uint64_t ms = k_rng_child(k_rng_child(k_rng_child(o->seed, 0x3A5C), (uint64_t)step), k);
    for (int t = 0; t < T; t++) {
        labels[t] = LABEL_IGNORE;
        if (t >= real) continue;
        int tok = tokens[t];
        if (t == 0 || t == real - 1 || tok == o->sep || tok == o->cls) continue;
        if (k_rng_uniform(ms, 3 * (uint64_t)t) >= o->mask_rate) continue;
        labels[t] = tok;
        double r = k_rng_uniform(ms, 3 * (uint64_t)t + 1);
        if (r < 0.8)
            tokens[t] = o->mask;
        else if (r < 0.9)
            tokens[t] = (int32_t)(k_rng_uniform(ms, 3 * (uint64_t)t + 2) * o->vocab);
    }
    return real;
}
