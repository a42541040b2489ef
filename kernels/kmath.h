/*
 * kmath.h — the element-wise formulas of the fp32 kernels, written once for
 * both backends (KM_HD): the CPU kernels' scalar paths call them, the CUDA
 * kernels (kernels/cuda/) call them per thread, so a CPU test of a kernel is
 * a test of the formula the GPU evaluates. The files here own the math;
 * cpu/ and cuda/ own only how the work is split (threads and vector lanes,
 * or grids, warps and shared-memory reductions).
 *
 *   GELU, tanh form   y = ½x(1 + tanh u),  u = √(2/π)(x + 0.044715x³)
 *                     y′ = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
 *   GELU, erf form    y = ½x(1 + erf(x/√2)),  y′ = Φ(x) + x·φ(x)
 *   dropout           element i kept when U(seed, i) ≥ p, scaled by 1/(1 − p)
 *   AdamW             g ← s·g;  m ← β1m + (1 − β1)g;  v ← β2v + (1 − β2)g²
 *                     p ← p·keep − step·m / (√v·rbc2 + ε)
 *   LAMB direction    u = m·c1 / (√v·rbc2 + ε) + wd·p
 *   LayerNorm dx      dx = r·(dy·w − mean(dy·w) − x̂·mean(dy·w·x̂))
 *   softmax-xent dz   dz = s·(p − onehot)
 *   RoPE pair         (a, c) ← (a cos θ − c sin θ, c cos θ + a sin θ)
 */
#ifndef ZEROPT_KMATH_H
#define ZEROPT_KMATH_H

#include "hd.h"
#include "rng.h"

#include <math.h>
#include <stdint.h>

#define KM_GELU_K 0.7978845608028654f    /* √(2/π) */
#define KM_INV_SQRT2 0.7071067811865476f /* 1/√2 */
#define KM_INV_SQRT_2PI 0.3989422804014327f

KM_HD static inline float km_gelu_tanh(float x) {
    return 0.5f * x * (1 + tanhf(KM_GELU_K * (x + 0.044715f * x * x * x)));
}

KM_HD static inline float km_gelu_tanh_grad(float x) {
    float t = tanhf(KM_GELU_K * (x + 0.044715f * x * x * x));
    float du = KM_GELU_K * (1 + (float)(3 * 0.044715) * x * x);
    return 0.5f * (1 + t) + 0.5f * x * (1 - t * t) * du;
}

KM_HD static inline float km_gelu_erf(float x) {
    return 0.5f * x * (1 + erff(x * KM_INV_SQRT2));
}

KM_HD static inline float km_gelu_erf_grad(float x) {
    return 0.5f * (1 + erff(x * KM_INV_SQRT2)) + x * KM_INV_SQRT_2PI * expf(-0.5f * x * x);
}

/* form: K_GELU_TANH (0) or K_GELU_ERF (1) */
KM_HD static inline float km_gelu(float x, int form) {
    return form ? km_gelu_erf(x) : km_gelu_tanh(x);
}

KM_HD static inline float km_gelu_grad(float x, int form) {
    return form ? km_gelu_erf_grad(x) : km_gelu_tanh_grad(x);
}

KM_HD static inline int km_dropout_keep(uint64_t seed, uint64_t i, double p) {
    return k_rng_uniform(seed, i) >= p;
}

/* The same test in integers, for loops in vector lanes: u = bits·2^-53 ≥ p
 * exactly when the draw's 53 bits reach thr = ⌈p·2^53⌉ (p·2^53 is exact) */
KM_HD static inline uint64_t km_dropout_threshold(double p) {
    return (uint64_t)ceil(p * 0x1p53);
}

KM_HD static inline int km_dropout_keep_bits(uint64_t seed, uint64_t i, uint64_t thr) {
    return (k_rng_mix(seed ^ (i * 0xD1B54A32D192ED03ull)) >> 11) >= thr;
}

/* The 16 random bits of element i's stochastic rounding to bf16. */
KM_HD static inline uint32_t km_bf16_bits(uint64_t seed, uint64_t i) {
    return (uint32_t)(k_rng_mix(seed ^ (i * 0xD1B54A32D192ED03ull)) >> 48);
}

/* One element of AdamW; m, v updated in place, the new parameter returned. */
KM_HD static inline float km_adamw(float p, float g, float *m, float *v, float b1, float b2,
                                   float eps, float step, float rbc2, float keep, float gs) {
    float gi = g * gs;
    float mi = b1 * *m + (1 - b1) * gi;
    float vi = b2 * *v + (1 - b2) * gi * gi;
    *m = mi;
    *v = vi;
    return p * keep - step * mi / (sqrtf(vi) * rbc2 + eps);
}

KM_HD static inline float km_lamb_u(float p, float m, float v, float c1, float rbc2, float eps,
                                    float wd) {
    return m * c1 / (sqrtf(v) * rbc2 + eps) + wd * p;
}

/* LayerNorm's input gradient for one element: g = dy, xh = x̂, a = mean(dy·w),
 * bb = mean(dy·w·x̂) over the row, r its 1/σ */
KM_HD static inline float km_ln_dx(float g, float w, float xh, float a, float bb, float r) {
    return r * (g * w - a - xh * bb);
}

/* Softmax cross-entropy's logit gradient for one element. */
KM_HD static inline float km_xent_grad(float p, int is_label, float s) {
    return is_label ? s * p - s : s * p;
}

/* One RoPE pair rotated by the angle whose cosine and sine are cs, sn. */
KM_HD static inline void km_rope_pair(float *a, float *c, float cs, float sn) {
    float x = *a, y = *c;
    *a = x * cs - y * sn;
    *c = y * cs + x * sn;
}

#endif
