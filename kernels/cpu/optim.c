/*
 * optim.c — the optimizer's element-wise arithmetic on fp32 shards: AdamW,
 * the squared norm of a gradient, clearing. Memory-bound: AdamW reads and
 * writes p, m, v and reads g — 28 bytes per element for ~10 FLOPs.
 */
#include "kernels/kernels.h"

#include <math.h>
#include <string.h>

void k_adamw(float *p, const float *g, float *m, float *v, size_t n, const KAdamW *a) {
    const float b1 = a->beta1, b2 = a->beta2, eps = a->eps, step = a->step, rbc2 = a->rbc2;
    const float keep = a->keep, gs = a->gscale;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * gs;
        float mi = b1 * m[i] + (1 - b1) * gi;
        float vi = b2 * v[i] + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * keep - step * mi / (sqrtf(vi) * rbc2 + eps);
    }
}

double k_sumsq(const float *x, size_t n) {
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

void k_zero(float *x, size_t n) {
    if (n) memset(x, 0, n * sizeof *x);
}
