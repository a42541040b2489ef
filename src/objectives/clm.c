/*
 * clm.c — causal language modelling: every position predicts the next token
 * (see objective.h).
 */
#include "objective.h"

#include <string.h>

int obj_clm(const Objective *o, const int32_t *window, int n, int32_t *tokens, int32_t *labels) {
    int T = o->T;
    if (n >= T + 1) { /* a full window (packed, or a document cut to fit) */
        memcpy(tokens, window, (size_t)T * sizeof *tokens);
        memcpy(labels, window + 1, (size_t)T * sizeof *labels);
        return T;
    }
    /* a whole document of n ≤ T tokens: it predicts its next tokens, then EOS */
    memcpy(tokens, window, (size_t)n * sizeof *tokens);
    if (n > 1) memcpy(labels, window + 1, (size_t)(n - 1) * sizeof *labels);
    if (n > 0) labels[n - 1] = o->sep;
    return n;
}
