/*
 * kc_internal.cuh — what the CUDA backend's files share: the checked-call
 * macros, the streams and handles of the open device, and grid-stride loops.
 */
#ifndef ZEROPT_KC_INTERNAL_CUH
#define ZEROPT_KC_INTERNAL_CUH

#include "geometry.h"
#include "kcuda.h"

#include <cublasLt.h>
#include <cuda_runtime.h>

/* A failed call: one line naming it, the file and line, and the rank; then
 * the fatal handler (kc_set_fatal). */
void kc_fail(const char *call, const char *why, const char *file, int line);
#define KC_CHECK(call)                                                                             \
    do {                                                                                           \
        cudaError_t kc_e_ = (call);                                                                \
        if (kc_e_ != cudaSuccess) kc_fail(#call, cudaGetErrorString(kc_e_), __FILE__, __LINE__);   \
    } while (0)
#define KC_BLAS(call)                                                                              \
    do {                                                                                           \
        cublasStatus_t kc_s_ = (call);                                                             \
        if (kc_s_ != CUBLAS_STATUS_SUCCESS)                                                        \
            kc_fail(#call, cublasGetStatusString(kc_s_), __FILE__, __LINE__);                      \
    } while (0)
/* After a launch: configuration errors surface here, not at the next call. */
#define KC_LAUNCHED() KC_CHECK(cudaGetLastError())

cudaStream_t kc_s(void);
cublasLtHandle_t kc_lt(void);
#include <cublas_v2.h>
cublasHandle_t kc_blas(void);
/* Row-major products (C = α·op(A)·op(B) + β·C, ta/tb: transpose A/B) through
 * cuBLAS in fp32 compute, or with bf16 inputs when kc_bf16_gemm_set(1). */
void kc_gemm_rm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc);
void kc_gemm_rm_batched(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        long long sa, const float *B, int ldb, long long sb, float beta, float *C,
                        int ldc, long long sc, int batch);
/* out[c] += Σ_m f(m, c) for the column sums, deterministic: see geometry.h */
void kc_colsum_finish(float *out, const float *parts, unsigned nparts, int N);
void *kc_lt_workspace(void);

/* i over [0, n) in a grid-stride loop */
#define KC_FOR(i, n)                                                                               \
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < (n);                        \
         i += (size_t)gridDim.x * blockDim.x)

/* Sum over a block (every thread gets it), warps added in order; sh: one
 * double per warp (32 cover 1024 threads). */
__device__ static inline double kc_warp_sum(double v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ static inline double kc_block_sum(double v, double *sh) {
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = kc_warp_sum(v);
    __syncthreads(); /* sh may hold an earlier sum still being read */
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    double s = 0;
    for (int w = 0; w < nw; w++) s += sh[w]; /* in warp order: deterministic */
    return s;
}

/* Maximum over a block (every thread gets it); sh holds 32 floats. */
__device__ static inline float block_max(float v, float *sh) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads();
    if (lane == 0) sh[warp] = v;
    __syncthreads();
    float m = sh[0];
    for (int w = 1; w < nw; w++) m = fmaxf(m, sh[w]);
    return m;
}

#endif
