/*
 * positions.c — T5 buckets and ALiBi slopes as attention-score biases (see
 * positions.h).
 */
#include "positions.h"

#include <math.h>
#include <stdlib.h>

int pos_t5_bucket(int rel, int bidirectional, int buckets, int max_distance) {
    int base = 0, n;
    if (bidirectional) {
        buckets /= 2;
        base = rel > 0 ? buckets : 0;
        n = rel < 0 ? -rel : rel;
    } else {
        n = rel < 0 ? -rel : 0;
    }
    int exact = buckets / 2;
    if (n < exact) return base + n;
    /* log-spaced from exact to max_distance, in fp32 as HF computes it (a
     * double logarithm moves some offsets to the neighbouring bucket) */
    float f = logf((float)n / (float)exact) / (float)log((double)max_distance / exact) *
              (float)(buckets - exact);
    long big = exact + (long)f;
    return base + (int)(big < buckets - 1 ? big : buckets - 1);
}

static void slopes_pow2(int n, double *s) {
    double start = pow(2.0, -8.0 / n);
    for (int i = 0; i < n; i++) s[i] = pow(start, i + 1);
}

void pos_alibi_slopes(int heads, double *slopes) {
    int p = 1;
    while (p * 2 <= heads) p *= 2;
    slopes_pow2(p, slopes);
    if (p == heads) return;
    double extra[2 * p];
    slopes_pow2(2 * p, extra);
    for (int i = 0; i < heads - p; i++) slopes[p + i] = extra[2 * i];
}

void pos_relb_fill(const ModelConfig *c, const float *table, int T, float *relb) {
    int NH = c->heads, W = 2 * T - 1, bi = c->arch == ARCH_ENCODER;
    if (c->positions == POS_ALIBI) {
        double s[NH];
        pos_alibi_slopes(NH, s);
        for (int h = 0; h < NH; h++)
            for (int r = 1 - T; r < T; r++)
                relb[(size_t)h * W + T - 1 + r] = (float)(-s[h] * abs(r));
        return;
    }
    for (int r = 1 - T; r < T; r++) {
        int b = pos_t5_bucket(r, bi, c->t5_buckets, c->t5_max_distance);
        for (int h = 0; h < NH; h++) relb[(size_t)h * W + T - 1 + r] = table[(size_t)b * NH + h];
    }
}

void pos_relb_fold(const ModelConfig *c, const float *drelb, int T, float *dtable) {
    int NH = c->heads, W = 2 * T - 1, bi = c->arch == ARCH_ENCODER;
    for (int r = 1 - T; r < T; r++) {
        int b = pos_t5_bucket(r, bi, c->t5_buckets, c->t5_max_distance);
        for (int h = 0; h < NH; h++) dtable[(size_t)b * NH + h] += drelb[(size_t)h * W + T - 1 + r];
    }
}

void pos_dbias_fill(const ModelConfig *c, const float *table, int cap, float *dbias) {
    int NH = c->heads;
    double s[NH];
    if (c->positions == POS_ALIBI) pos_alibi_slopes(NH, s);
    for (int d = 0; d < cap; d++) {
        int b = c->positions == POS_T5
                    ? pos_t5_bucket(-d, c->arch == ARCH_ENCODER, c->t5_buckets, c->t5_max_distance)
                    : 0;
        for (int h = 0; h < NH; h++)
            dbias[(size_t)h * cap + d] =
                c->positions == POS_ALIBI ? (float)(-s[h] * d) : table[(size_t)b * NH + h];
    }
}
