/*
 * bf16.c — arrays of bf16 (mixed precision, DESIGN.md "Precision"): the
 * conversions between the bf16 copies ZeRO keeps and the fp32 the CPU
 * kernels compute in, the accumulations that add in fp32 and round once,
 * and the squared norm. Rounding is km_to_bf16's (nearest, ties to even).
 * All memory-bound: 6 bytes per element for a conversion, 8 for an
 * accumulation; threads take fixed ranges.
 */
#include "kernels/kdev.h"
#include "kernels/kernels.h"
#include "kernels/optim_math.h"

#include <omp.h>
#include <string.h>

/* below this many elements one thread is faster than waking the team */
#define PAR_MIN 32768

void k_bf16_to_f32(float *x, const uint16_t *h, size_t n) {
    K_DEV(bf16_to_f32, x, h, n);
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] = km_from_bf16(h[i]);
}

void k_f32_to_bf16(uint16_t *h, const float *x, size_t n) {
    K_DEV(f32_to_bf16, h, x, n);
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) h[i] = km_to_bf16(x[i]);
}

void k_bf16_to_f32_off(float *x, const uint16_t *h, size_t n, float off) {
    K_DEV(bf16_to_f32_off, x, h, n, off);
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) x[i] = km_from_bf16(h[i]) + off;
}

void k_f32_to_bf16_off(uint16_t *h, const float *x, size_t n, float off) {
    K_DEV(f32_to_bf16_off, h, x, n, off);
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) h[i] = km_to_bf16(x[i] - off);
}

void k_bf16_add_f32(uint16_t *h, const float *w, size_t n) {
    K_DEV(bf16_add_f32, h, w, n);
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) h[i] = km_to_bf16(km_from_bf16(h[i]) + w[i]);
}

void k_f32_add_bf16(float *w, const uint16_t *h, size_t n) {
    K_DEV(f32_add_bf16, w, h, n);
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
    for (size_t i = 0; i < n; i++) w[i] += km_from_bf16(h[i]);
}

void k_bf16_add_bf16(uint16_t *h, const uint16_t *in, size_t n) {
    for (size_t i = 0; i < n; i++) h[i] = km_to_bf16(km_from_bf16(h[i]) + km_from_bf16(in[i]));
}

void k_zero16(uint16_t *h, size_t n) {
    K_DEV(zero16, h, n);
    if (n) memset(h, 0, n * sizeof *h);
}

/* Front to back (element i's bf16 goes at or before its own bytes), one
 * thread: threads would overwrite what others still read. */
uint16_t *k_bf16_in_place(float *w, size_t n) {
    uint16_t *h = (uint16_t *)w;
    if (k_dev) {
        k_dev_last = "bf16_in_place";
        k_dev->bf16_in_place(w, n);
        k_dev->sync();
        return h;
    }
    for (size_t i = 0; i < n; i++) {
        float x = w[i];
        h[i] = km_to_bf16(x);
    }
    return h;
}

double k_sumsq_bf16(const uint16_t *h, size_t n) {
    K_DEV_RET(sumsq_bf16, h, n);
    /* each thread a fixed range, the partial sums added in thread order (as
     * k_sumsq: deterministic for a given thread count) */
    enum { MAXT = 256 };
    double part[MAXT] = {0};
    int nt = 1;
#pragma omp parallel num_threads(omp_get_max_threads() < MAXT ? omp_get_max_threads() : MAXT)
    {
        int t = omp_get_thread_num(), T = omp_get_num_threads();
        if (t == 0) nt = T;
        double s = 0;
        size_t lo = n * t / T, hi = n * (t + 1) / T;
        /* in vector lanes (as k_sumsq: cpu/optim.c) */
#pragma omp simd reduction(+ : s)
        for (size_t i = lo; i < hi; i++) {
            double x = km_from_bf16(h[i]);
            s += x * x;
        }
        part[t] = s;
    }
    double s = 0;
    for (int t = 0; t < nt; t++) s += part[t];
    return s;
}
