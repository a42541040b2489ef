/*
 * elementwise.c — residual add, gradient accumulation, GELU and dropout.
 * All memory-bound: bytes, not FLOPs, set their speed.
 */
#include "real.h"

void KF(k_add_fwd)(kreal *y, const kreal *a, const kreal *b, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void KF(k_accum)(kreal *y, const kreal *x, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

/*
 * tanh form: gelu(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
 * erf form:  gelu(x) = ½x(1 + erf(x/√2))
 */
#define GELU_K 0.7978845608028654 /* √(2/π) */
#define INV_SQRT2 0.7071067811865476
#define INV_SQRT_2PI 0.3989422804014327

void KF(k_gelu_fwd)(kreal *y, const kreal *x, size_t n, int form) {
    if (form == K_GELU_TANH) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            kreal v = x[i];
            y[i] = (kreal)0.5 * v * (1 + k_tanh((kreal)GELU_K * (v + (kreal)0.044715 * v * v * v)));
        }
    } else {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            kreal v = x[i];
            y[i] = (kreal)0.5 * v * (1 + k_erf(v * (kreal)INV_SQRT2));
        }
    }
}

/* tanh: d/dx = ½(1+t) + ½x(1-t²)·√(2/π)(1 + 3·0.044715x²)
 * erf:  d/dx = Φ(x) + x·φ(x) */
void KF(k_gelu_bwd)(kreal *dx, const kreal *dy, const kreal *x, size_t n, int form) {
    if (form == K_GELU_TANH) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            kreal v = x[i];
            kreal u = (kreal)GELU_K * (v + (kreal)0.044715 * v * v * v);
            kreal t = k_tanh(u);
            kreal du = (kreal)GELU_K * (1 + (kreal)(3 * 0.044715) * v * v);
            dx[i] += dy[i] * ((kreal)0.5 * (1 + t) + (kreal)0.5 * v * (1 - t * t) * du);
        }
    } else {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            kreal v = x[i];
            kreal cdf = (kreal)0.5 * (1 + k_erf(v * (kreal)INV_SQRT2));
            kreal pdf = (kreal)INV_SQRT_2PI * k_exp((kreal)-0.5 * v * v);
            dx[i] += dy[i] * (cdf + v * pdf);
        }
    }
}

void KF(k_dropout_fwd)(kreal *y, const kreal *x, size_t n, double p, uint64_t seed) {
    kreal scale = (kreal)(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = k_rng_uniform(seed, i) >= p ? x[i] * scale : 0;
}

void KF(k_dropout_bwd)(kreal *dx, const kreal *dy, size_t n, double p, uint64_t seed) {
    kreal scale = (kreal)(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        if (k_rng_uniform(seed, i) >= p) dx[i] += dy[i] * scale;
}
