/*
 * kernels.h — the fp32 compute interface used by the model (see kernels_api.h
 * for the contract of every kernel). The CPU backend lives in kernels/cpu/.
 */
#ifndef ZEROPT_KERNELS_H
#define ZEROPT_KERNELS_H

#define kreal float
#define KF(name) name
#include "kernels_api.h"
#undef kreal
#undef KF

#include "mem.h"
#include "rng.h"

/* Threads used by the CPU backend (OpenMP and BLAS); 0 leaves the defaults. */
void k_set_threads(int n);
int k_get_threads(void);

/* The BLAS library and its kernels on this CPU (see cpu/blas.c). advice is
 * empty unless the library's core is clearly below what the CPU supports;
 * then it says so and names the fix. */
typedef struct {
    char library[160]; /* e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Zen MAX_THREADS=64" */
    char core[32];     /* the kernels that run: "Zen", "Prescott", "unknown" */
    char core_isa[16]; /* their vector level: SSE, AVX, AVX2, AVX-512 */
    char cpu_isa[16];  /* the CPU's */
    char advice[320];
    char fix[64]; /* the environment setting advice names ("OPENBLAS_CORETYPE=..."), or "" */
} KBlasInfo;
void k_blas_info(KBlasInfo *b);
/* sgemm FLOP/s of an n³ product on this process's threads: best of reps
 * timed calls after one warm-up. */
double k_gemm_rate(int n, int reps);

/* Optimizer arithmetic on fp32 shards (cpu/optim.c). */
typedef struct {
    float beta1, beta2, eps;
    float step;   /* lr / (1 − β1ᵗ) */
    float rbc2;   /* 1 / √(1 − β2ᵗ) */
    float keep;   /* 1 − lr·wd for tensors that decay, else 1 */
    float gscale; /* gradient scale (clipping) */
} KAdamW;
/* AdamW, PyTorch semantics, on n elements:
 *   g ← gscale·g ;  m ← β1 m + (1−β1) g ;  v ← β2 v + (1−β2) g²
 *   p ← p·keep − step · m / (√v · rbc2 + ε) */
void k_adamw(float *p, const float *g, float *m, float *v, size_t n, const KAdamW *a);
/* Σ x² in double */
double k_sumsq(const float *x, size_t n);
/* x = 0 */
void k_zero(float *x, size_t n);

#endif
