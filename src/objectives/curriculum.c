/*
 * curriculum.c — sequence-length warm-up ([curriculum]; see objective.h).
 *
 * Step s trains on sequences of length
 *   T_s = max(start, ⌊(start + (T − start)·s / steps) / m⌋·m)   for s < steps,
 *   T_s = T                                                  after,
 * so the early, unstable steps see short sequences (Li et al., the
 * stability-efficiency dilemma, DeepSpeed's seqlen warm-up: truncation). The
 * run keeps the token budget of T-length steps: it ends at the first step
 * whose tokens reach steps_T × B × T, and the learning-rate schedule reads
 * the tokens seen, in T-length steps (fractional), as its step.
 */
#include "objective.h"

#include <math.h>

int obj_seq_len(const CurriculumConfig *cu, int T, long s) {
    if (cu->seq_start <= 0 || s >= cu->seq_steps) return T;
    long len = cu->seq_start + (long)((double)(T - cu->seq_start) * (double)s / cu->seq_steps);
    len = len / cu->seq_multiple * cu->seq_multiple;
    if (len < cu->seq_start) len = cu->seq_start;
    return len > T ? T : (int)len;
}

double obj_seq_tokens(const CurriculumConfig *cu, int T, int batch, long s) {
    double tok = 0;
    long warm = cu->seq_start > 0 ? (s < cu->seq_steps ? s : cu->seq_steps) : 0;
    for (long i = 0; i < warm; i++) tok += obj_seq_len(cu, T, i);
    return ((double)(s - warm) * T + tok) * batch;
}

long obj_seq_total_steps(const CurriculumConfig *cu, int T, long steps) {
    if (cu->seq_start <= 0) return steps;
    double deficit = (double)cu->seq_steps * T - obj_seq_tokens(cu, T, 1, cu->seq_steps);
    long s = steps + (long)ceil(deficit / T); /* the tokens the short steps did not take */
    if (s >= cu->seq_steps) return s;
    for (s = steps; obj_seq_tokens(cu, T, 1, s) < (double)steps * T; s++) /* a warm-up longer */
        ;                                                                 /* than the run */
    return s;
}
