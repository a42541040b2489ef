/*
 * elementwise.c — residual add, gradient accumulation, GELU and dropout.
 * All memory-bound: bytes, not FLOPs, set their speed.
 */
#include "real.h"

#include "kernels/kmath.h"

void KF(k_add_fwd)(kreal *y, const kreal *a, const kreal *b, size_t n) {
    KD(add_fwd, y, a, b, n);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void KF(k_accum)(kreal *y, const kreal *x, size_t n) {
    KD(accum, y, x, n);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

void KF(k_axpy)(kreal *y, double a, const kreal *x, size_t n) {
    KD(axpy, y, a, x, n);
    kreal s = (kreal)a;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) y[i] += s * x[i];
}

/*
 * tanh form: gelu(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³)))
 * erf form:  gelu(x) = ½x(1 + erf(x/√2))
 */
#define GELU_K 0.7978845608028654 /* √(2/π) */
#define INV_SQRT2 0.7071067811865476
#define INV_SQRT_2PI 0.3989422804014327

#ifndef KERNELS_F64
#include "vmath.h"

/* The vector bodies evaluate kmath.h's formulas KV_LEN lanes at a time; the
 * remainders call them as the CUDA kernels do. */

/* erf form, a vector at a time (vmath.h), the remainder through libm:
 *   y = ½x(1 + erf(x/√2)),  dx = dy·(½(1 + erf(x/√2)) + x·φ(x)) */
static void gelu_erf_fwd(float *y, const float *x, size_t n) {
    size_t nv = n / KV_LEN;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nv; b++) {
        kvf v = kv_load(x + b * KV_LEN);
        kv_store(y + b * KV_LEN, 0.5f * v * v_1perf(v * (float)INV_SQRT2));
    }
    for (size_t i = nv * KV_LEN; i < n; i++) y[i] = km_gelu_erf(x[i]);
}

static void gelu_erf_bwd(float *dx, const float *dy, const float *x, size_t n) {
    size_t nv = n / KV_LEN;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nv; b++) {
        kvf v = kv_load(x + b * KV_LEN), g = kv_load(dy + b * KV_LEN);
        kvf d =
            0.5f * v_1perf(v * (float)INV_SQRT2) + v * (float)INV_SQRT_2PI * v_exp(-0.5f * v * v);
        kv_store(dx + b * KV_LEN, g * d);
    }
    for (size_t i = nv * KV_LEN; i < n; i++) dx[i] = dy[i] * km_gelu_erf_grad(x[i]);
}

/* tanh form, a vector at a time: ½(1 + tanh u) = σ(2u) = 1/(1 + e), e = e^(−2u),
 * so with u = √(2/π)(x + 0.044715x³), s = σ(2u) and 1 − s = e·s (neither
 * cancels at any x; e·s is formed first, so nothing overflows either):
 *   y = x·s,  dx = dy·(s + 2x·(e·s)·s·u′),  u′ = √(2/π)(1 + 3·0.044715x²) */
static inline kvf gelu_tanh_e(kvf v) {
    return v_exp(-2.0f * (float)GELU_K * (v + 0.044715f * v * v * v));
}

static void gelu_tanh_fwd(float *y, const float *x, size_t n) {
    size_t nv = n / KV_LEN;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nv; b++) {
        kvf v = kv_load(x + b * KV_LEN);
        kv_store(y + b * KV_LEN, v / (1.0f + gelu_tanh_e(v)));
    }
    for (size_t i = nv * KV_LEN; i < n; i++) y[i] = km_gelu_tanh(x[i]);
}

static void gelu_tanh_bwd(float *dx, const float *dy, const float *x, size_t n) {
    size_t nv = n / KV_LEN;
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nv; b++) {
        kvf v = kv_load(x + b * KV_LEN), g = kv_load(dy + b * KV_LEN);
        kvf e = gelu_tanh_e(v), s = 1.0f / (1.0f + e), es = e * s; /* es = 1 − s ≤ 1 */
        kvf du = (float)GELU_K * (1.0f + (float)(3 * 0.044715) * v * v);
        /* es first: 2·v·e overflows where e = e^88 (x below about −10.7), and
         * inf·0 made NaN gradients in a long run */
        kv_store(dx + b * KV_LEN, g * (s + 2.0f * v * es * s * du));
    }
    for (size_t i = nv * KV_LEN; i < n; i++) dx[i] = dy[i] * km_gelu_tanh_grad(x[i]);
}
#endif

void KF(k_gelu_fwd)(kreal *y, const kreal *x, size_t n, int form) {
    KD(gelu_fwd, y, x, n, form);
#ifndef KERNELS_F64
    if (form == K_GELU_ERF)
        gelu_erf_fwd(y, x, n);
    else
        gelu_tanh_fwd(y, x, n);
#else
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
#endif
}

/* tanh: d/dx = ½(1+t) + ½x(1-t²)·√(2/π)(1 + 3·0.044715x²)
 * erf:  d/dx = Φ(x) + x·φ(x) */
void KF(k_gelu_bwd)(kreal *dx, const kreal *dy, const kreal *x, size_t n, int form) {
    KD(gelu_bwd, dx, dy, x, n, form);
#ifndef KERNELS_F64
    if (form == K_GELU_ERF)
        gelu_erf_bwd(dx, dy, x, n);
    else
        gelu_tanh_bwd(dx, dy, x, n);
#else
    if (form == K_GELU_TANH) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            kreal v = x[i];
            kreal u = (kreal)GELU_K * (v + (kreal)0.044715 * v * v * v);
            kreal t = k_tanh(u);
            kreal du = (kreal)GELU_K * (1 + (kreal)(3 * 0.044715) * v * v);
            dx[i] = dy[i] * ((kreal)0.5 * (1 + t) + (kreal)0.5 * v * (1 - t * t) * du);
        }
    } else {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            kreal v = x[i];
            kreal cdf = (kreal)0.5 * (1 + k_erf(v * (kreal)INV_SQRT2));
            kreal pdf = (kreal)INV_SQRT_2PI * k_exp((kreal)-0.5 * v * v);
            dx[i] = dy[i] * (cdf + v * pdf);
        }
    }
#endif
}

void KF(k_dropout_fwd)(kreal *y, const kreal *x, size_t n, double p, uint64_t seed) {
    KD(dropout_fwd, y, x, n, p, seed);
    kreal scale = (kreal)(1.0 / (1.0 - p));
    uint64_t thr = km_dropout_threshold(p); /* km_dropout_keep in integers: vector lanes */
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) y[i] = km_dropout_keep_bits(seed, i, thr) ? x[i] * scale : 0;
}

void KF(k_dropout_bwd)(kreal *dx, const kreal *dy, size_t n, double p, uint64_t seed) {
    KD(dropout_bwd, dx, dy, n, p, seed);
    kreal scale = (kreal)(1.0 / (1.0 - p));
    uint64_t thr = km_dropout_threshold(p);
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) dx[i] += km_dropout_keep_bits(seed, i, thr) ? dy[i] * scale : 0;
}

/* row r: sample rows[r] / T's stream from element (rows[r] % T)·C on;
 * written (forward) or added (backward) */
static void KF(dropout_rows)(kreal *y, const kreal *x, const int32_t *rows, int R, int T, int C,
                             double p, const uint64_t *seeds, int accumulate) {
    kreal scale = (kreal)(1.0 / (1.0 - p));
    uint64_t thr = km_dropout_threshold(p);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < R; r++) {
        uint64_t seed = seeds[rows[r] / T], i0 = (uint64_t)(rows[r] % T) * (uint64_t)C;
        kreal *yr = y + (size_t)r * C;
        const kreal *xr = x + (size_t)r * C;
        for (int c = 0; c < C; c++) {
            kreal v = km_dropout_keep_bits(seed, i0 + (uint64_t)c, thr) ? xr[c] * scale : 0;
            yr[c] = accumulate ? yr[c] + v : v;
        }
    }
}

void KF(k_dropout_rows_fwd)(kreal *y, const kreal *x, const int32_t *rows, int R, int T, int C,
                            double p, const uint64_t *seeds) {
    KD(dropout_rows_fwd, y, x, rows, R, T, C, p, seeds);
    KF(dropout_rows)(y, x, rows, R, T, C, p, seeds, 0);
}

void KF(k_dropout_rows_bwd)(kreal *dx, const kreal *dy, const int32_t *rows, int R, int T, int C,
                            double p, const uint64_t *seeds) {
    KD(dropout_rows_bwd, dx, dy, rows, R, T, C, p, seeds);
    KF(dropout_rows)(dx, dy, rows, R, T, C, p, seeds, 1);
}
