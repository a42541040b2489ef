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

/* At start: a BLAS that follows neither OpenMP's nor its own setting by
 * default (BLIS without BLIS_NUM_THREADS runs one thread) gets OpenMP's
 * thread count. */
void k_init_threads(void);
/* Threads used by the CPU backend (OpenMP and BLAS); 0 leaves the defaults. */
void k_set_threads(int n);
int k_get_threads(void);
/* ZEROPT_FAULT=leak (src/train/loop.c): a block of `bytes` that nothing
 * frees, allocated by the second thread of an OpenMP team (the sanitizer
 * build must report it: tests/mpi/test_leaks.sh) */
void k_leak_in_thread(size_t bytes);
/* 1 when the BLAS's threads are OpenMP's own (OpenBLAS's OpenMP build,
 * BLIS's openmp flavour), so one team of threads runs the products and the
 * element-wise kernels; 0 when the BLAS keeps a pool of its own (OpenBLAS's
 * pthreads build) or is unknown. src/main.c picks the wait policy by it. */
int k_blas_uses_openmp(void);
/* The threads' arrangement and OpenMP wait policy this process runs under,
 * in words for logs and benchmarks: "OpenMP, shared with the BLAS; wait:
 * spin 20000, then sleep (GOMP_SPINCOUNT)". */
void k_threads_desc(char *buf, size_t n);

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
/* Who computes the CPU kernels' single-precision products (cpu/gemm.c):
 * the BLAS the build links (the default), or oneDNN's sgemm (builds with
 * DNNL=1; 1.06x faster on AVX-512, opt-in until a heap corruption seen in
 * signal-stopped runs under it is explained: cpu/gemm.c). k_sgemm_init
 * applies ZEROPT_SGEMM=blas|onednn and returns NULL, or the problem in one
 * line; k_sgemm_set returns -1 for a provider the build lacks. */
typedef enum { K_SGEMM_BLAS, K_SGEMM_ONEDNN } KSgemm;
const char *k_sgemm_init(void);
int k_sgemm_set(KSgemm p);
KSgemm k_sgemm_get(void);
const char *k_sgemm_name(KSgemm p); /* "the BLAS", "oneDNN 2.6.3" */
/* cblas_sgemm's contract (row- or column-major, CblasTrans/CblasNoTrans),
 * through the chosen provider */
void k_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc);
/* The product on bf16 inputs (cpu/gemm_bf16.c, oneDNN's matmul: AMX tiles
 * where the CPU has them): k_sgemm's row-major contract with beta 0 or 1, A
 * and B rounded to bf16 (nearest even) on the way in, fp32 accumulation and
 * output — PyTorch autocast's linear layer. k_bf16_gemm_set(1) makes the
 * linear layers (k_matmul_fwd/bwd) use it; k_bf16_gemm_available: 0 in a
 * build without oneDNN (then k_sgemm_bf16 must not be called);
 * k_bf16_gemm_impl: oneDNN's implementation for a 512³ product
 * ("brg:avx512_core_amx_bf16"), NULL without oneDNN; k_bf16_gemm_panel
 * sets the conversion panels' size in elements (tests force small blocks). */
int k_bf16_gemm_available(void);
const char *k_bf16_gemm_impl(void);
void k_bf16_gemm_set(int on);
int k_bf16_gemm_on(void);
void k_bf16_gemm_panel(size_t elems);
void k_sgemm_bf16(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc);
/* Mirrors: fp32 memory that stands for a bf16 array (mixed precision's
 * parameter views, made from the bf16 copies). k_bf16_mirror_add(owner, f,
 * h, n) says f[i] is bf16 h[i] for i < n until k_bf16_mirror_drop(owner);
 * a k_sgemm_bf16 operand that lies inside one is read from h as it is
 * instead of rounded into a panel (the same bf16 values, so the same
 * product, without 6 bytes of conversion per element). It returns 1 when
 * the mirror is kept, so every bf16 product reads h for f and a caller
 * whose only readers of f are bf16 products may leave f unwritten; 0
 * when it is not (a device backend is active, the products have no bf16
 * instructions here and read f, or the table is full). */
int k_bf16_mirror_add(int owner, const float *f, const uint16_t *h, size_t n);
void k_bf16_mirror_drop(int owner);
/* The bf16 elements a kept mirror holds for f[0..n), or NULL. Readers other
 * than the products that honour mirrors: k_embedding_fwd (the token
 * embedding, whose view may be left unwritten too). */
const uint16_t *k_bf16_mirror_find(const float *f, size_t n);
/* FLOP/s of an n³ product through k_sgemm on this process's threads: best of reps
 * timed calls after one warm-up. */
double k_gemm_rate(int n, int reps);

/* Optimizer arithmetic on shards (cpu/optim.c; formulas in optim_math.h). */
typedef struct {
    float beta1, beta2, eps;
    float step;   /* lr / (1 − β1ᵗ) */
    float rbc2;   /* 1 / √(1 − β2ᵗ) */
    float keep;   /* 1 − lr·wd for tensors that decay, else 1 */
    float gscale; /* gradient scale (clipping) */
} KAdamW;

/* An optimizer-state array of n elements in one of three encodings: fp32,
 * bf16, or q8 — one byte per element, block-wise dynamic quantization with
 * one fp32 absmax per block of K_Q8_BLOCK elements counted from element 0
 * (the last block may be shorter). Kernels that update a state decode a
 * block, compute in fp32 and encode it again (q8: with the block's new
 * absmax). */
#define K_Q8_BLOCK 2048
typedef enum { KST_F32, KST_BF16, KST_Q8 } KStateType;
typedef struct {
    KStateType type;
    void *data;        /* float, uint16_t or uint8_t [n] */
    float *absmax;     /* q8: [⌈n / K_Q8_BLOCK⌉] */
    const float *code; /* q8: 256 increasing values (k_q8_code) */
    /* bf16: updates round stochastically, element i with the random bits of
     * k_rng_mix(seed ^ (index0 + i)·K) (K the multiplier of k_rng_uniform) —
     * a function of the element's index in its unit, not of the layout */
    uint64_t seed, index0;
} KState;
/* The dynamic quantization maps of bitsandbytes (Dettmers et al., 8-bit
 * optimizers): signed for m (7 decades of ±10⁻⁶..1, 1, 2, .., 64 linear
 * steps per decade, plus 0 and 1), unsigned for v (2, 4, .., 128 steps per
 * decade, plus 0 and 1). Values computed in double, rounded once to fp32. */
const float *k_q8_code(int is_signed);
/* The code index the q8 encoder gives y = x / absmax (km_q8_index's result,
 * by a faster search); k_q8_code must have been called once. */
uint8_t k_q8_quantize(float y, int is_signed);
size_t k_q8_blocks(size_t n);
/* Decode elements [lo, hi) of s into dst; encode all n elements from src
 * (values that are a decoding of s's encoding give that encoding back). */
void k_state_get(const KState *s, size_t n, size_t lo, size_t hi, float *dst);
void k_state_set(const KState *s, size_t n, const float *src);

/* AdamW, PyTorch semantics, on n elements:
 *   g ← gscale·g ;  m ← β1 m + (1−β1) g ;  v ← β2 v + (1−β2) g²
 *   p ← p·keep − step · m / (√v · rbc2 + ε)
 * k_adamw on fp32 states; k_adamw_state on any (the step uses the new m, v
 * before they are encoded, as bitsandbytes' 8-bit Adam does). */
void k_adamw(float *p, const float *g, float *m, float *v, size_t n, const KAdamW *a);
void k_adamw_state(float *p, const float *g, const KState *m, const KState *v, size_t n,
                   const KAdamW *a);

/* LAMB (You et al. 2019) in three passes over a tensor's part:
 *   k_adam_moments    m ← β1 m + (1−β1) g ;  v ← β2 v + (1−β2) g²  (g = gscale·g)
 *   k_lamb_sumsq      Σ u² of u = m·c1 / (√v·rbc2 + ε) + wd·p, from the stored m, v
 *   k_lamb_apply      p ← p − rate · u   (rate = lr · trust ratio) */
typedef struct {
    float c1;   /* 1 / (1 − β1ᵗ) */
    float rbc2; /* 1 / √(1 − β2ᵗ) */
    float eps;
    float wd; /* weight decay of this tensor (0: none) */
} KLamb;
void k_adam_moments(const float *g, const KState *m, const KState *v, size_t n, float beta1,
                    float beta2, float gscale);
double k_lamb_sumsq(const float *p, const KState *m, const KState *v, size_t n, const KLamb *l);
void k_lamb_apply(float *p, const KState *m, const KState *v, size_t n, const KLamb *l, float rate);

/* Adafactor (Shazeer & Stern 2018, as torch.optim.Adafactor) on a part of a
 * tensor: n elements from flat index `first` of a tensor of rows of C
 * elements (C = 0: a vector, unfactored).
 *   k_rowcol_sq       row[(first+i)/C] += g², col[(first+i)%C] += g²  (double)
 *   k_lerp_sq         v ← v + w·(gscale²·g² − v)      (vectors)
 *   k_adafactor_sumsq Σ u² of u = gscale·g / √max(ṽ, eps1²), where
 *                     ṽ = row[r]·col[c] / rdiv (matrices) or v (vectors)
 *   k_adafactor_apply p ← p·keep − rate·u, or with momentum (m not NULL):
 *                     m ← β1·m + (1 − β1)·rate·u ;  p ← p·keep − m
 *                     (m in any state encoding, a block at a time as AdamW's:
 *                     the step takes the new m before it is encoded) */
typedef struct {
    const float *row, *col; /* matrices: the tensor's factored second moment */
    const float *v;         /* vectors: the part's second moment */
    float rdiv;             /* max(mean(row), eps1) */
    float eps1sq, gscale;
    size_t first, C;
    const KState *m; /* the part's momentum (NULL: none, torch's Adafactor) */
    float beta1;     /* its decay */
} KAdafactor;
void k_rowcol_sq(const float *g, size_t n, size_t first, size_t C, double *row, double *col);
void k_lerp_sq(float *v, const float *g, size_t n, float w, float gscale);
/* p += w · (p0 − p): a decoupled pull towards p0 (L2-SP) */
void k_pull(float *p, const float *p0, size_t n, float w);
double k_adafactor_sumsq(const float *g, size_t n, const KAdafactor *a);
void k_adafactor_apply(float *p, const float *g, size_t n, const KAdafactor *a, float keep,
                       float rate);

/* bf16 arrays (cpu/bf16.c; rounding to nearest even, optim_math.h):
 *   k_bf16_to_f32    x = h                 k_f32_to_bf16    h = bf16(x)
 *   k_bf16_to_f32_off x = h + off          k_f32_to_bf16_off h = bf16(x − off)
 *                    (a copy kept as the distance from off: LayerNorm gains
 *                    near 1, whose bf16 step there, 2⁻⁸, is coarser than
 *                    their updates; x − off is exact for x in [off/2, 2·off])
 *   k_bf16_add_f32   h = bf16(h + w)       k_f32_add_bf16   w += h
 *   k_bf16_add_bf16  h = bf16(h + in)      (the sum of bf16 reductions)
 *   k_sumsq_bf16     Σ h² in double, deterministic for a thread count */
void k_bf16_to_f32(float *x, const uint16_t *h, size_t n);
void k_f32_to_bf16(uint16_t *h, const float *x, size_t n);
void k_bf16_to_f32_off(float *x, const uint16_t *h, size_t n, float off);
void k_f32_to_bf16_off(uint16_t *h, const float *x, size_t n, float off);
void k_bf16_add_f32(uint16_t *h, const float *w, size_t n);
void k_f32_add_bf16(float *w, const uint16_t *h, size_t n);
void k_bf16_add_bf16(uint16_t *h, const uint16_t *in, size_t n);
double k_sumsq_bf16(const uint16_t *h, size_t n);

/* Σ x² in double */
double k_sumsq(const float *x, size_t n);
/* x = 0 */
void k_zero(float *x, size_t n);
/* y = x (n floats; the arrays do not overlap) */
void k_copy(float *y, const float *x, size_t n);
/* h = 0 (n bf16 words) */
void k_zero16(uint16_t *h, size_t n);
/* w's n fp32 values rounded to bf16 (nearest even) in place, at the front
 * of the same bytes; returns w as bf16 */
uint16_t *k_bf16_in_place(float *w, size_t n);

#endif
