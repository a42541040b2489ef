/*
 * matmul.c — Linear layers through BLAS gemm (forward and both backward
 * products), and the bias add. FLOPs: 2·M·K·N per product.
 */
#include "real.h"

#ifdef KERNELS_F64
#define GEMM(ta, tb, ...) k_gemm(CblasRowMajor, ta, tb, __VA_ARGS__)
#else /* bf16 inputs when the run asks for them (k_bf16_gemm_set) */
#define GEMM(ta, tb, ...)                                                                          \
    (k_bf16_gemm_on() ? k_sgemm_bf16(ta, tb, __VA_ARGS__)                                          \
                      : k_gemm(CblasRowMajor, ta, tb, __VA_ARGS__))
#endif

/* y = x · Wᵀ */
void KF(k_matmul_fwd)(kreal *y, const kreal *x, const kreal *w, int M, int K, int N) {
    KD(matmul_fwd, y, x, w, M, K, N);
    GEMM(CblasNoTrans, CblasTrans, M, N, K, 1, x, K, w, K, 0, y, N);
}

/* dx += dy · W ; dW += dyᵀ · x */
void KF(k_matmul_bwd)(kreal *dx, kreal *dw, const kreal *dy, const kreal *x, const kreal *w, int M,
                      int K, int N) {
    KD(matmul_bwd, dx, dw, dy, x, w, M, K, N);
    if (dx) GEMM(CblasNoTrans, CblasNoTrans, M, K, N, 1, dy, N, w, K, 1, dx, K);
    if (dw) GEMM(CblasTrans, CblasNoTrans, N, K, M, 1, dy, N, x, K, 1, dw, K);
}

void KF(k_bias_fwd)(kreal *y, const kreal *b, int M, int N) {
    KD(bias_fwd, y, b, M, N);
#pragma omp parallel for schedule(static)
    for (int m = 0; m < M; m++) {
        kreal *row = y + (size_t)m * N;
        for (int n = 0; n < N; n++) row[n] += b[n];
    }
}

/* Column blocks in parallel, rows in order inside: the sum order is fixed. */
void KF(k_bias_bwd)(kreal *db, const kreal *dy, int M, int N) {
    KD(bias_bwd, db, dy, M, N);
    enum { CB = 64 };
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < N; c0 += CB) {
        int c1 = c0 + CB < N ? c0 + CB : N;
        double acc[CB] = {0};
        for (int m = 0; m < M; m++) {
            const kreal *row = dy + (size_t)m * N;
            for (int c = c0; c < c1; c++) acc[c - c0] += row[c];
        }
        for (int c = c0; c < c1; c++) db[c] += (kreal)acc[c - c0];
    }
}
