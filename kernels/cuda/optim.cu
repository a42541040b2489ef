/*
 * optim.cu — AdamW on fp32 master shards (kmath.h's km_adamw per element),
 * with fp32 states or bf16 states rounded stochastically (km_to_bf16_sr with
 * km_bf16_bits: the random bits of element i are a function of its index in
 * its unit, so a GPU shard rounds exactly as a CPU shard would).
 */
#include "kc_internal.cuh"

#include "kernels/kmath.h"
#include "kernels/optim_math.h"

__global__ static void adamw_k(float *p, const float *g, float *m, float *v, size_t n, float b1,
                               float b2, float eps, float step, float rbc2, float keep, float gs) {
    KC_FOR(i, n) p[i] = km_adamw(p[i], g[i], &m[i], &v[i], b1, b2, eps, step, rbc2, keep, gs);
}

void kc_adamw(float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
              float eps, float step, float rbc2, float keep, float gscale) {
    if (!n) return;
    adamw_k<<<kc_grid_1d(n), KC_BLOCK, 0, kc_s()>>>(p, g, m, v, n, beta1, beta2, eps, step, rbc2,
                                                    keep, gscale);
    KC_LAUNCHED();
}

__global__ static void adamw_bf16_k(float *p, const float *g, uint16_t *m, uint16_t *v, size_t n,
                                    float b1, float b2, float eps, float step, float rbc2,
                                    float keep, float gs, uint64_t ms, uint64_t vs, uint64_t i0) {
    KC_FOR(i, n) {
        float mi = km_from_bf16(m[i]), vi = km_from_bf16(v[i]);
        p[i] = km_adamw(p[i], g[i], &mi, &vi, b1, b2, eps, step, rbc2, keep, gs);
        m[i] = km_to_bf16_sr(mi, km_bf16_bits(ms, i0 + i));
        v[i] = km_to_bf16_sr(vi, km_bf16_bits(vs, i0 + i));
    }
}

void kc_adamw_bf16(float *p, const float *g, uint16_t *m, uint16_t *v, size_t n, float beta1,
                   float beta2, float eps, float step, float rbc2, float keep, float gscale,
                   uint64_t mseed, uint64_t vseed, uint64_t index0) {
    if (!n) return;
    adamw_bf16_k<<<kc_grid_1d(n), KC_BLOCK, 0, kc_s()>>>(p, g, m, v, n, beta1, beta2, eps, step,
                                                         rbc2, keep, gscale, mseed, vseed, index0);
    KC_LAUNCHED();
}
