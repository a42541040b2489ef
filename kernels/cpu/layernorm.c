/*
 * layernorm.c — LayerNorm over the last dimension.
 *   forward:  x̂ = (x - μ)·r,  r = 1/√(σ² + ε),  y = x̂·w + b
 *   backward: dx̂ = dy·w
 *             dx += r·(dx̂ - mean(dx̂) - x̂·mean(dx̂·x̂))
 *             dw += Σ_n dy·x̂ ,  db += Σ_n dy
 * Row statistics accumulate in double. dw/db are summed per column block in
 * row order, so the result does not depend on the thread count. The _ld
 * forms take row strides (QK-LayerNorm normalises q and k inside qkv).
 */
#include "real.h"

void KF(k_layernorm_fwd)(kreal *y, kreal *mean, kreal *rstd, const kreal *x, const kreal *w,
                         const kreal *b, int N, int C, double eps) {
    KF(k_layernorm_fwd_ld)(y, C, mean, rstd, x, C, w, b, N, C, eps);
}

void KF(k_layernorm_bwd)(kreal *dx, kreal *dw, kreal *db, const kreal *dy, const kreal *x,
                         const kreal *w, const kreal *mean, const kreal *rstd, int N, int C) {
    KF(k_layernorm_bwd_ld)(dx, C, dw, db, dy, C, x, C, w, mean, rstd, N, C);
}

void KF(k_layernorm_fwd_ld)(kreal *y, int ldy, kreal *mean, kreal *rstd, const kreal *x, int ldx,
                            const kreal *w, const kreal *b, int N, int C, double eps) {
    KD(layernorm_fwd_ld, y, ldy, mean, rstd, x, ldx, w, b, N, C, eps);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const kreal *xr = x + (size_t)n * ldx;
        kreal *yr = y + (size_t)n * ldy;
        double s = 0; /* sums in vector lanes (xent.c says why) */
#pragma omp simd reduction(+ : s)
        for (int c = 0; c < C; c++) s += xr[c];
        double mu = s / C, v = 0;
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) v += (xr[c] - mu) * (xr[c] - mu);
        double r = 1.0 / sqrt(v / C + eps);
        kreal m = (kreal)mu, rs = (kreal)r;
        for (int c = 0; c < C; c++) yr[c] = (xr[c] - m) * rs * w[c] + b[c];
        mean[n] = m;
        rstd[n] = rs;
    }
}

void KF(k_layernorm_bwd_ld)(kreal *dx, int lddx, kreal *dw, kreal *db, const kreal *dy, int lddy,
                            const kreal *x, int ldx, const kreal *w, const kreal *mean,
                            const kreal *rstd, int N, int C) {
    KD(layernorm_bwd_ld, dx, lddx, dw, db, dy, lddy, x, ldx, w, mean, rstd, N, C);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const kreal *xr = x + (size_t)n * ldx, *gr = dy + (size_t)n * lddy;
        kreal *dr = dx + (size_t)n * lddx;
        kreal m = mean[n], r = rstd[n];
        double s1 = 0, s2 = 0; /* Σ dx̂, Σ dx̂·x̂ */
#pragma omp simd reduction(+ : s1, s2)
        for (int c = 0; c < C; c++) {
            kreal g = gr[c] * w[c];
            s1 += g;
            s2 += g * ((xr[c] - m) * r);
        }
        kreal a = (kreal)(s1 / C), bb = (kreal)(s2 / C);
        for (int c = 0; c < C; c++) {
            kreal xh = (xr[c] - m) * r;
            dr[c] += r * (gr[c] * w[c] - a - xh * bb);
        }
    }
    enum { CB = 64 };
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += CB) {
        int c1 = c0 + CB < C ? c0 + CB : C;
        double aw[CB] = {0}, ab[CB] = {0};
        for (int n = 0; n < N; n++) {
            const kreal *xr = x + (size_t)n * ldx, *gr = dy + (size_t)n * lddy;
            kreal m = mean[n], r = rstd[n];
            for (int c = c0; c < c1; c++) {
                aw[c - c0] += gr[c] * ((xr[c] - m) * r);
                ab[c - c0] += gr[c];
            }
        }
        for (int c = c0; c < c1; c++) {
            dw[c] += (kreal)aw[c - c0];
            db[c] += (kreal)ab[c - c0];
        }
    }
}
