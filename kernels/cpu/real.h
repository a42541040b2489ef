/*
 * real.h — selects the element type for one compilation of a CPU kernel file.
 * The Makefile compiles each CPU kernel file twice: as float (default) and
 * with -DKERNELS_F64 as double, giving the _f64 symbols the tests use.
 */
#ifndef ZEROPT_CPU_REAL_H
#define ZEROPT_CPU_REAL_H

#include "blas_api.h"
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#ifdef KERNELS_F64
#include "kernels/kernels_f64.h"
#define kreal double
#define KF(name) name##_f64
#define k_gemm cblas_dgemm
#define k_exp exp
#define k_tanh tanh
#define k_erf erf
#else
#include "kernels/kernels.h"
#define kreal float
#define KF(name) name
#define k_gemm k_sgemm
#define k_exp expf
#define k_tanh tanhf
#define k_erf erff
#endif

#include "kernels/rng.h"

/* A float kernel's first line hands over to the installed device backend
 * (kernels/kdev.h); the double build has none. */
#ifdef KERNELS_F64
#define KD(fn, ...) ((void)0)
#define KD_RET(fn, ...) ((void)0)
#else
#include "kernels/kdev.h"
#define KD K_DEV
#define KD_RET K_DEV_RET
#endif

/* The attention kernels' products, fp32 in every precision (row-major
 * k_gemm): they are many small products, a team of threads takes them one
 * per thread (attention.c), and on bf16 inputs (oneDNN, one call at a time,
 * per-call costs) they ran 2-3x slower at T = 128 (docs/precision.md) */
#define AGEMM(ta, tb, ...) k_gemm(CblasRowMajor, ta, tb, __VA_ARGS__)

#ifndef KERNELS_F64
#include "vmath.h"
#endif

/* The dropout stream of attention probabilities for (sample b, head h);
 * element (i, j) of a head's T×T probabilities draws at index i·T + j, in
 * the full kernel and the windowed one alike */
static inline uint64_t k_attn_head_seed(const uint64_t *seeds, int b, int h) {
    return k_rng_child(seeds ? seeds[b] : 0, 0xA77E0000u + (uint64_t)h);
}

/* y[j] = exp(x[j] − mx) for j < n, y may be x: in vector lanes in the float
 * build (vmath.h), libm in the double one */
static inline void k_exp_shift(kreal *y, const kreal *x, size_t n, kreal mx) {
#ifndef KERNELS_F64
    v_exp_shift(y, x, n, mx);
#else
    for (size_t j = 0; j < n; j++) y[j] = exp(x[j] - mx);
#endif
}

#endif
