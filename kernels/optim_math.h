/*
 * optim_math.h — the per-element formulas of optimizer state storage, as
 * static inline functions any backend compiles (KM_HD: the CPU kernels in
 * cpu/optim.c and the CUDA ones in cuda/optim.cu), so every backend rounds
 * and quantizes alike.
 *
 *   bf16     the upper 16 bits of an fp32, rounded to nearest even; NaN stays
 *            NaN (a quiet one), ±Inf stays ±Inf. Optimizer states round
 *            stochastically instead (km_to_bf16_sr): with β2 = 0.999 an update
 *            of v is 0.1 % of it, under half a bf16 step (0.4 %), so nearest
 *            rounding would keep v from ever decaying
 *   q8       one byte per element: the index of the nearest of 256 increasing
 *            code values to x / absmax (ties to the lower index), absmax the
 *            largest |x| of the element's block; decoded as code[q] · absmax
 */
#ifndef ZEROPT_OPTIM_MATH_H
#define ZEROPT_OPTIM_MATH_H

#include "hd.h"

#include <stdint.h>
#include <string.h>

KM_HD static inline uint16_t km_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest, ties to even */
    return (uint16_t)(u >> 16);
}

/* Stochastic rounding: r uniform in [0, 2^16) is added below the kept bits,
 * so x rounds up with probability (its distance from the lower bf16) / step
 * and E[result] = x; values that are bf16 already stay exact. */
KM_HD static inline uint16_t km_to_bf16_sr(float x, uint32_t r) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u) return km_to_bf16(x);
    u += r & 0xffffu;
    return (uint16_t)(u >> 16);
}

KM_HD static inline float km_from_bf16(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* The index of the code value nearest to y (code: 256 increasing values). */
KM_HD static inline uint8_t km_q8_index(const float *code, float y) {
    int lo = 0, hi = 255;
    if (!(y > code[0])) return 0; /* also NaN: the caller's absmax is then NaN too */
    if (y >= code[255]) return 255;
    while (hi - lo > 1) { /* code[lo] < y <= code[hi] */
        int mid = (lo + hi) / 2;
        if (code[mid] < y)
            lo = mid;
        else
            hi = mid;
    }
    return (uint8_t)(y - code[lo] <= code[hi] - y ? lo : hi);
}

#endif
