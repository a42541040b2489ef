/*
 * rng.h — counter-based random numbers: every draw is a pure function of
 * (seed, index), so results do not depend on thread or rank counts, and a
 * dropout mask can be regenerated in backward instead of stored.
 */
#ifndef ZEROPT_RNG_H
#define ZEROPT_RNG_H

#include "hd.h"

#include <math.h>
#include <stdint.h>

/* SplitMix64 finaliser: a bijective 64-bit mix. */
KM_HD static inline uint64_t k_rng_mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Derive a stream seed from a parent seed and a tag (layer, site, sample...). */
KM_HD static inline uint64_t k_rng_child(uint64_t seed, uint64_t tag) {
    return k_rng_mix(seed ^ k_rng_mix(tag + 0x632BE59BD9B4E019ull));
}

/* Uniform in [0,1) with 53 bits. */
KM_HD static inline double k_rng_uniform(uint64_t seed, uint64_t i) {
    return (double)(k_rng_mix(seed ^ (i * 0xD1B54A32D192ED03ull)) >> 11) * 0x1.0p-53;
}

/* Standard normal by Box–Muller on two independent draws. */
KM_HD static inline double k_rng_normal(uint64_t seed, uint64_t i) {
    double u1 = k_rng_uniform(seed, 2 * i), u2 = k_rng_uniform(seed, 2 * i + 1);
    if (u1 < 0x1.0p-60) u1 = 0x1.0p-60;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
