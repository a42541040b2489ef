/*
 * mlm.c — a masked-LM sample: [CLS] window [SEP], then masking (mask.c;
 * see objective.h).
 */
#include "objective.h"

#include <string.h>

int obj_mlm(Objective *o, const int32_t *window, int n, const int32_t *sal, int nsal, int64_t k,
            int64_t step, int32_t *tokens, int32_t *labels, MaskSpan *trace, int maxtrace,
            int *ntrace) {
    int real = n + 2; /* [CLS] window [SEP]; packed: n = T − 2 */
    tokens[0] = o->cls;
    memcpy(tokens + 1, window, (size_t)n * sizeof *tokens);
    tokens[n + 1] = o->sep;
    int nt = obj_mask(o, tokens, labels, real, sal, nsal, k, step, trace, maxtrace);
    if (ntrace) *ntrace = nt;
    return real;
}
