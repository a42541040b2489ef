/*
 * clm.c — causal language modelling: every position predicts the next token
 * (see objective.h).
 */
#include "objective.h"

#include <string.h>

void obj_clm(const Objective *o, const int32_t *window, int32_t *tokens, int32_t *labels) {
    memcpy(tokens, window, (size_t)o->T * sizeof *tokens);
    memcpy(labels, window + 1, (size_t)o->T * sizeof *labels);
}
