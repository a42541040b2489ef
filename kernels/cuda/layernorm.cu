/*
 * layernorm.cu — LayerNorm over rows with strides (kernels_api.h), one block
 * a row (kc_row_threads(C) threads), statistics in double as on the CPU:
 *   forward   μ, σ² of the row;  r = 1/√(σ² + ε);  y = (x − μ)·r·w + b
 *   backward  dx += r·(dy·w − mean(dy·w) − x̂·mean(dy·w·x̂))   (km_ln_dx)
 *             dw += Σ_n dy·x̂,  db += Σ_n dy   two-stage column sums
 */
#include "kc_internal.cuh"

#include "kernels/kmath.h"

__global__ static void __launch_bounds__(1024)
    ln_fwd_k(float *y, int ldy, float *mean, float *rstd, const float *x, int ldx, const float *w,
             const float *b, int C, double eps) {
    __shared__ double sh[32];
    const float *xr = x + (size_t)blockIdx.x * ldx;
    float *yr = y + (size_t)blockIdx.x * ldy;
    double s = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) s += xr[c];
    double mu = kc_block_sum(s, sh) / C, v = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) v += (xr[c] - mu) * (xr[c] - mu);
    double r = 1.0 / sqrt(kc_block_sum(v, sh) / C + eps);
    float m = (float)mu, rs = (float)r;
    for (int c = threadIdx.x; c < C; c += blockDim.x) yr[c] = (xr[c] - m) * rs * w[c] + b[c];
    if (threadIdx.x == 0) mean[blockIdx.x] = m, rstd[blockIdx.x] = rs;
}

void kc_layernorm_fwd_ld(float *y, int ldy, float *mean, float *rstd, const float *x, int ldx,
                         const float *w, const float *b, int N, int C, double eps) {
    if (N <= 0) return;
    ln_fwd_k<<<N, kc_row_threads(C), 0, kc_s()>>>(y, ldy, mean, rstd, x, ldx, w, b, C, eps);
    KC_LAUNCHED();
}

__global__ static void __launch_bounds__(1024)
    ln_bwd_dx_k(float *dx, int lddx, const float *dy, int lddy, const float *x, int ldx,
                const float *w, const float *mean, const float *rstd, int C) {
    __shared__ double sh[32];
    size_t n = blockIdx.x;
    const float *xr = x + n * ldx, *gr = dy + n * lddy;
    float *dr = dx + n * lddx;
    float m = mean[n], r = rstd[n];
    double s1 = 0, s2 = 0;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float g = gr[c] * w[c];
        s1 += g;
        s2 += g * ((xr[c] - m) * r);
    }
    float a = (float)(kc_block_sum(s1, sh) / C), bb = (float)(kc_block_sum(s2, sh) / C);
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        dr[c] += km_ln_dx(gr[c], w[c], (xr[c] - m) * r, a, bb, r);
}

/* partials of Σ dy·x̂ and Σ dy over KC_COLSUM_ROWS rows */
__global__ static void ln_bwd_parts_k(float *pw, float *pb, const float *dy, int lddy,
                                      const float *x, int ldx, const float *mean, const float *rstd,
                                      int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, p = blockIdx.y;
    if (c >= C) return;
    int r1 = min(N, (p + 1) * KC_COLSUM_ROWS);
    double aw = 0, ab = 0;
    for (int n = p * KC_COLSUM_ROWS; n < r1; n++) {
        float g = dy[(size_t)n * lddy + c];
        aw += g * ((x[(size_t)n * ldx + c] - mean[n]) * rstd[n]);
        ab += g;
    }
    pw[(size_t)p * C + c] = (float)aw;
    pb[(size_t)p * C + c] = (float)ab;
}

void kc_layernorm_bwd_ld(float *dx, int lddx, float *dw, float *db, const float *dy, int lddy,
                         const float *x, int ldx, const float *w, const float *mean,
                         const float *rstd, int N, int C) {
    if (N <= 0) return;
    ln_bwd_dx_k<<<N, kc_row_threads(C), 0, kc_s()>>>(dx, lddx, dy, lddy, x, ldx, w, mean, rstd, C);
    KC_LAUNCHED();
    unsigned np = kc_colsum_parts(N);
    float *pw = (float *)kc_scratch(2 * sizeof(float) * np * (size_t)C), *pb = pw + np * (size_t)C;
    dim3 g((C + KC_BLOCK - 1) / KC_BLOCK, np);
    ln_bwd_parts_k<<<g, KC_BLOCK, 0, kc_s()>>>(pw, pb, dy, lddy, x, ldx, mean, rstd, N, C);
    KC_LAUNCHED();
    kc_colsum_finish(dw, pw, np, C);
    kc_colsum_finish(db, pb, np, C);
}
