/*
 * contrastive.c — InfoNCE over in-batch pairs (NT-Xent, SimCLR's form):
 *   z_i = e_i / |e_i| (cosine) or e_i,   s_ij = z_i·z_j / τ   (j ≠ i)
 *   ℓ_i = log Σ_{j≠i} exp(s_ij) − s_{i,p(i)},   L = (1/n) Σ_i ℓ_i
 *   G_ij = ∂L/∂s_ij = (softmax_j(s_i·)_j − [j = p(i)]) / n,  G_ii = 0
 *   ∂L/∂z_k = Σ_j (G_kj + G_jk) z_j / τ       (s is symmetric in i, j)
 *   cosine: ∂L/∂e_k = (∂L/∂z_k − (∂L/∂z_k·z_k) z_k) / |e_k|
 * Two passes over the pairs (n²·C each) instead of an n×n matrix: the row
 * log-sum-exps first (online), then each wanted row's gradient recomputes its row and
 * column of G from them. Sums in double.
 */
#include "real.h"

#include <stdlib.h>

static double dot(const kreal *a, const kreal *b, int C) {
    double s = 0;
    for (int c = 0; c < C; c++) s += (double)a[c] * b[c];
    return s;
}

double KF(k_infonce)(const kreal *E, int n, int C, double tau, int cosine, double scale, int r0,
                     int r1, kreal *dE) {
    double *inv = malloc((size_t)n * sizeof *inv), *lse = malloc((size_t)n * sizeof *lse);
    double *z = malloc((size_t)n * C * sizeof *z); /* the normalised rows, in double */
    if (!inv || !lse || !z) abort();
    for (int i = 0; i < n; i++) {
        double nn = cosine ? sqrt(dot(E + (size_t)i * C, E + (size_t)i * C, C)) : 1;
        inv[i] = cosine ? 1.0 / (nn > 1e-12 ? nn : 1e-12) : 1;
        for (int c = 0; c < C; c++) z[(size_t)i * C + c] = E[(size_t)i * C + c] * inv[i];
    }
    double loss = 0;
#pragma omp parallel for schedule(static) reduction(+ : loss)
    for (int i = 0; i < n; i++) {
        const double *zi = z + (size_t)i * C;
        double mx = -INFINITY, sum = 0, pos = 0;
        for (int j = 0; j < n; j++) { /* online log-sum-exp: Σ exp(s − mx), mx rising */
            if (j == i) continue;
            const double *zj = z + (size_t)j * C;
            double s = 0;
            for (int c = 0; c < C; c++) s += zi[c] * zj[c];
            s /= tau;
            if (j == (i ^ 1)) pos = s;
            if (s > mx)
                sum = sum * exp(mx - s) + 1, mx = s;
            else
                sum += exp(s - mx);
        }
        lse[i] = mx + log(sum);
        loss += lse[i] - pos;
    }
    loss /= n;
    if (dE) {
#pragma omp parallel for schedule(static)
        for (int k = r0; k < r1; k++) {
            const double *zk = z + (size_t)k * C;
            double *g = calloc((size_t)C, sizeof *g);
            if (!g) abort();
            for (int j = 0; j < n; j++) {
                if (j == k) continue;
                const double *zj = z + (size_t)j * C;
                double s = 0;
                for (int c = 0; c < C; c++) s += zk[c] * zj[c];
                s /= tau;
                /* G_kj + G_jk: row k's softmax and row j's, at the same s */
                double w = exp(s - lse[k]) + exp(s - lse[j]) - 2.0 * (j == (k ^ 1));
                w /= (double)n * tau;
                for (int c = 0; c < C; c++) g[c] += w * zj[c];
            }
            double gz = 0;
            for (int c = 0; c < C; c++) gz += g[c] * zk[c];
            kreal *d = dE + (size_t)(k - r0) * C;
            for (int c = 0; c < C; c++)
                d[c] = (kreal)(scale * (cosine ? (g[c] - gz * zk[c]) * inv[k] : g[c]));
            free(g);
        }
    }
    free(inv), free(lse), free(z);
    return loss;
}
