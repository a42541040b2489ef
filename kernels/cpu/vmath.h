/*
 * vmath.h — exp and erfc for 16, 8 or 4 floats at a time (GCC vector
 * extensions: AVX-512, AVX or SSE2, the widest the build allows), for element-wise
 * kernels whose libm calls would dominate them: GELU's erf ran at 1/17 of
 * this speed through libm, a fifth of a small model's step
 * (bench/NOTES.md). Float builds only; the double kernels keep libm.
 *
 *   v_exp(x)     2ⁿ·e^r with n = ⌊x·log₂e + ½⌋, r = x − n·ln 2 (ln 2 split in
 *                two), e^r by a degree-7 polynomial: relative error < 1e-7;
 *                0 below x = −70 (no subnormal results, nor their products)
 *   v_erfc(z)    z ≥ 0: t·exp(−z² + P(t)), t = 1/(1 + z/2), the Chebyshev
 *                fit of Numerical Recipes (erfcc): fractional error < 1.2e-7
 *   v_1perf(u)   1 + erf(u) without cancellation: erfc(−u) below 0, 2 − erfc(u)
 *                above
 *   v_exp_shift  exp(x − max) over a row: softmax numerators (attention's T²
 *                scores, the cross-entropy's vocabulary)
 */
#ifndef ZEROPT_CPU_VMATH_H
#define ZEROPT_CPU_VMATH_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* 16 lanes where the compiler may use AVX-512 (-march=native on such CPUs),
 * 8 with AVX, else 4 (SSE2, every x86-64): a wider vector than the build's
 * ISA would change the ABI. Lanes are independent, so every width gives the
 * same bits; 16 lanes ran GELU's erf forward and backward 1.35x faster than
 * 8 on the AMX Xeon (2026-12-07, 3.1 M elements, 2 threads) */
#if defined __AVX512F__
#define KV_BYTES 64
#elif defined __AVX__
#define KV_BYTES 32
#else
#define KV_BYTES 16
#endif
typedef float kvf __attribute__((vector_size(KV_BYTES)));
typedef int32_t kvi __attribute__((vector_size(KV_BYTES)));
#define KV_LEN (KV_BYTES / 4)

static inline kvf kv_load(const float *p) {
    kvf v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void kv_store(float *p, kvf v) {
    memcpy(p, &v, sizeof v);
}
/* m ? a : b, lane by lane (m from a comparison: all bits set or clear) */
static inline kvf kv_select(kvi m, kvf a, kvf b) {
    return (kvf)(((kvi)a & m) | ((kvi)b & ~m));
}

static inline kvf v_exp(kvf x) {
    const kvf zero = {0}, lo = zero - 87.0f, hi = zero + 88.0f, cut = zero - 70.0f;
    kvi tiny = x < cut; /* e^-70 = 4e-31: flushed to 0 (below, products make subnormals) */
    x = kv_select(x < lo, lo, x);
    x = kv_select(x > hi, hi, x);
    kvi n = __builtin_convertvector(x * 1.44269504088896341f + 128.5f, kvi) - 128;
    kvf nf = __builtin_convertvector(n, kvf);
    kvf r = x - nf * 0.693359375f - nf * -2.12194440e-4f;
    kvf p = r * 1.9875691500e-4f + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    return kv_select(tiny, zero, p * (kvf)((n + 127) << 23));
}

static inline kvf v_erfc(kvf z) {
    kvf t = 1.0f / (z * 0.5f + 1.0f);
    kvf p = t * 0.17087277f - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    return t * v_exp(p - z * z);
}

/* y[j] = exp(x[j] − mx) for j < n, y may be x (softmax numerators); a
 * numerator below e^-40 = 4e-18 (the row's largest is 1) is 0: it changes
 * no sum in fp32, and kept it makes subnormal products in the GEMMs that
 * follow (P·V, the gradients), which cost Intel cores a microcode assist each:
 * measured, a trained T = 128 model's step 2.6x slower (bench/NOTES.md) */
#define V_EXP_SHIFT_CUT (-40.0f)
static inline void v_exp_shift(float *y, const float *x, size_t n, float mx) {
    const kvf zero = {0}, cut = zero + V_EXP_SHIFT_CUT;
    size_t j = 0;
    for (; j + KV_LEN <= n; j += KV_LEN) {
        kvf d = kv_load(x + j) - mx;
        kv_store(y + j, kv_select(d < cut, zero, v_exp(d)));
    }
    for (; j < n; j++) y[j] = x[j] - mx < V_EXP_SHIFT_CUT ? 0.0f : expf(x[j] - mx);
}

static inline kvf v_1perf(kvf u) {
    const kvf zero = {0};
    kvf c = v_erfc((kvf)((kvi)u & 0x7fffffff));
    return kv_select(u < zero, c, 2.0f - c);
}

#endif
