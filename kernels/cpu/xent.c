/*
 * xent.c — softmax cross-entropy over the vocabulary, in place.
 *   p = softmax(z),  loss = -log p[label],  dz = scale·(p - onehot(label))
 * Rows with a negative label (unlabelled positions) are skipped in forward
 * and get zero gradient. The log-sum-exp accumulates in double.
 */
#include "real.h"

#include <string.h>

double KF(k_xent_fwd)(kreal *losses, kreal *probs, const kreal *logits, const int32_t *labels,
                      int N, int V) {
    KD_RET(xent_fwd, losses, probs, logits, labels, N, V);
    double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
    for (int n = 0; n < N; n++) {
        if (labels[n] < 0) {
            if (losses) losses[n] = 0;
            continue;
        }
        const kreal *z = logits + (size_t)n * V;
        kreal *p = probs + (size_t)n * V;
        kreal zl = z[labels[n]]; /* read before p (maybe aliasing z) overwrites it */
        /* the max and the sum in vector lanes: one chain of dependent adds
         * over a row of V would bound the loop (the max is exact in any
         * order; the sum's order is fixed for a given build) */
        kreal mx = z[0];
#pragma omp simd reduction(max : mx)
        for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        k_exp_shift(p, z, (size_t)V, mx);
        double sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int v = 0; v < V; v++) sum += p[v];
        kreal inv = (kreal)(1.0 / sum);
        double loss = log(sum) - ((double)zl - (double)mx);
        for (int v = 0; v < V; v++) p[v] *= inv;
        if (losses) losses[n] = (kreal)loss;
        total += loss;
    }
    return total;
}

void KF(k_xent_bwd)(kreal *dlogits, const kreal *probs, const int32_t *labels, int N, int V,
                    double scale) {
    KD(xent_bwd, dlogits, probs, labels, N, V, scale);
    kreal s = (kreal)scale;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        kreal *d = dlogits + (size_t)n * V;
        const kreal *p = probs + (size_t)n * V;
        if (labels[n] < 0) {
            memset(d, 0, sizeof(kreal) * V);
            continue;
        }
        for (int v = 0; v < V; v++) d[v] = s * p[v];
        d[labels[n]] -= s;
    }
}
