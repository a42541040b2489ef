/*
 * gemm.cu — the products: Linear layers through cuBLASLt (kc_matmul_fwd/bwd),
 * attention's strided-batched products through cuBLAS. Row-major operands
 * are handed over as their column-major transposes: C = op(A)·op(B) is
 * computed as Cᵀ = op(B)ᵀ·op(A)ᵀ with the operands swapped.
 *
 * Precision: fp32 compute (CUBLAS_COMPUTE_32F, no TF32), or, when the run
 * is bf16 (kc_bf16_gemm_set), CUBLAS_COMPUTE_32F_FAST_16BF: inputs rounded
 * to bf16, fp32 accumulation and output — the contract of the CPU's
 * k_sgemm_bf16. cuBLASLt's algorithm for a shape is chosen once by its
 * heuristic for the operands' real alignment and cached (KC_LT_CACHE shapes);
 * where it has none, cublasGemmEx computes the product.
 */
#include "kc_internal.cuh"

#include <string.h>

static int bf16_on;

void kc_bf16_gemm_set(int on) {
    bf16_on = on;
}

static cublasComputeType_t compute(void) {
    return bf16_on ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F;
}

/* ---- cuBLASLt, with the heuristic's choice cached per shape --------------- */

#define KC_LT_CACHE 128
typedef struct {
    int key[13];
    cublasLtMatmulAlgo_t algo;
    int used, ok; /* ok 0: no cuBLASLt algorithm for this shape (cublasGemmEx instead) */
} LtEntry;
static LtEntry cache[KC_LT_CACHE];
static unsigned cache_next;

/* The alignment of a pointer, up to 256 bytes: the heuristic must not pick
 * an algorithm that assumes more (k_alloc's blocks start 64 bytes into their
 * allocation, and a parameter view can start at any float). */
static uint32_t align_of(const void *p) {
    uintptr_t a = (uintptr_t)p;
    uint32_t b = 256;
    while (b > 4 && a % b) b /= 2;
    return b;
}

static void lt_matmul(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) { /* C = β·C: with β 0 or 1 (the only ones used), zero or nothing */
        if (beta == 0)
            for (int m = 0; m < M; m++) kc_memset0(C + (size_t)m * ldc, sizeof(float) * N);
        return;
    }
    /* column-major: C'[N×M] = op(B)'[N×K] · op(A)'[K×M] */
    cublasOperation_t oa = tb ? CUBLAS_OP_T : CUBLAS_OP_N, ob = ta ? CUBLAS_OP_T : CUBLAS_OP_N;
    int m = N, n = M, k = K;
    uint32_t al_a = align_of(B), al_b = align_of(A), al_c = align_of(C);
    int key[13] = {ta,  tb,      M,         N,         K,         lda,      ldb,
                   ldc, bf16_on, beta != 0, (int)al_a, (int)al_b, (int)al_c};
    LtEntry *e = NULL;
    for (int i = 0; i < KC_LT_CACHE && !e; i++)
        if (cache[i].used && !memcmp(cache[i].key, key, sizeof key)) e = &cache[i];
    if (e && !e->ok) {
        kc_gemm_rm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t la, lb, lc;
    KC_BLAS(cublasLtMatmulDescCreate(&op, compute(), CUDA_R_32F));
    KC_BLAS(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &oa, sizeof oa));
    KC_BLAS(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &ob, sizeof ob));
    KC_BLAS(cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, oa == CUBLAS_OP_N ? m : k,
                                       oa == CUBLAS_OP_N ? k : m, ldb));
    KC_BLAS(cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, ob == CUBLAS_OP_N ? k : n,
                                       ob == CUBLAS_OP_N ? n : k, lda));
    KC_BLAS(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32F, m, n, ldc));
    if (!e) {
        cublasLtMatmulPreference_t pref;
        size_t ws = KC_LT_WORKSPACE;
        cublasLtMatmulHeuristicResult_t h;
        int found = 0;
        KC_BLAS(cublasLtMatmulPreferenceCreate(&pref));
        KC_BLAS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                     &ws, sizeof ws));
        KC_BLAS(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al_a, sizeof al_a));
        KC_BLAS(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al_b, sizeof al_b));
        KC_BLAS(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al_c, sizeof al_c));
        KC_BLAS(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al_c, sizeof al_c));
        cublasStatus_t hs =
            cublasLtMatmulAlgoGetHeuristic(kc_lt(), op, la, lb, lc, lc, pref, 1, &h, &found);
        cublasLtMatmulPreferenceDestroy(pref);
        e = &cache[cache_next++ % KC_LT_CACHE];
        memcpy(e->key, key, sizeof key);
        e->used = 1, e->ok = hs == CUBLAS_STATUS_SUCCESS && found > 0;
        if (e->ok) e->algo = h.algo;
    }
    if (e->ok)
        KC_BLAS(cublasLtMatmul(kc_lt(), op, &alpha, B, la, A, lb, &beta, C, lc, C, lc, &e->algo,
                               kc_lt_workspace(), KC_LT_WORKSPACE, kc_s()));
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulDescDestroy(op);
    if (!e->ok) /* no cuBLASLt algorithm for this shape and alignment */
        kc_gemm_rm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* y[M,N] = x[M,K] · W[N,K]ᵀ */
void kc_matmul_fwd(float *y, const float *x, const float *w, int M, int K, int N) {
    lt_matmul(0, 1, M, N, K, 1.0f, x, K, w, K, 0.0f, y, N);
}

/* dx += dy · W ;  dW += dyᵀ · x */
void kc_matmul_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w, int M,
                   int K, int N) {
    if (dx) lt_matmul(0, 0, M, K, N, 1.0f, dy, N, w, K, 1.0f, dx, K);
    if (dw) lt_matmul(1, 0, N, K, M, 1.0f, dy, N, x, K, 1.0f, dw, K);
}

/* ---- cuBLAS (attention) --------------------------------------------------- */

void kc_gemm_rm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                const float *B, int ldb, float beta, float *C, int ldc) {
    KC_BLAS(cublasGemmEx(kc_blas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
                         N, M, K, &alpha, B, CUDA_R_32F, ldb, A, CUDA_R_32F, lda, &beta, C,
                         CUDA_R_32F, ldc, compute(), CUBLAS_GEMM_DEFAULT));
}

void kc_gemm_rm_batched(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                        long long sa, const float *B, int ldb, long long sb, float beta, float *C,
                        int ldc, long long sc, int batch) {
    KC_BLAS(cublasGemmStridedBatchedEx(kc_blas(), tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                       ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B,
                                       CUDA_R_32F, ldb, sb, A, CUDA_R_32F, lda, sa, &beta, C,
                                       CUDA_R_32F, ldc, sc, batch, compute(), CUBLAS_GEMM_DEFAULT));
}
