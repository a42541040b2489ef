/*
 * optim.cu — the optimizer on fp32 master shards, per element the formulas
 * of kmath.h and optim_math.h:
 *   kc_adamw        AdamW on fp32 states
 *   kc_adamw_bf16   AdamW on bf16 states, rounded stochastically (the random
 *                   bits of element i depend on its index in its unit, so a
 *                   GPU shard rounds exactly as a CPU shard would)
 *   kc_adam_state   AdamW, or its moments only, on states of any type: one
 *                   block per K_Q8_BLOCK elements, so 8-bit states get their
 *                   block's new absmax (bitsandbytes' scheme, cpu/optim.c)
 *   kc_lamb_*       LAMB's sum of squared directions and its update
 */
#include "kc_internal.cuh"

#include "kernels/kmath.h"
#include "kernels/optim_math.h"

extern "C" {
#include "kernels/kernels.h" /* K_Q8_BLOCK, k_q8_code */
}

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

/* ---- states of any type --------------------------------------------------- */

#define QB K_Q8_BLOCK
#define QT 256 /* threads of a state block: QB / QT elements each */
#define QE (QB / QT)

__constant__ float c_code[2][256]; /* q8 codes: [0] unsigned (v), [1] signed (m) */
static int codes_loaded;

static void load_codes(void) {
    if (codes_loaded) return;
    KC_CHECK(cudaMemcpyToSymbol(c_code, k_q8_code(0), 256 * sizeof(float), 0));
    KC_CHECK(cudaMemcpyToSymbol(c_code, k_q8_code(1), 256 * sizeof(float), 256 * sizeof(float)));
    codes_loaded = 1;
}

__device__ static inline float st_load(const KDevState &s, size_t i, size_t blk) {
    if (s.type == 1) return km_from_bf16(((const uint16_t *)s.data)[i]);
    if (s.type == 2) return c_code[s.is_signed][((const uint8_t *)s.data)[i]] * s.absmax[blk];
    return ((const float *)s.data)[i];
}

/* a: the block's new absmax (q8 only) */
__device__ static inline void st_store(const KDevState &s, size_t i, float x, float a) {
    if (s.type == 1)
        ((uint16_t *)s.data)[i] = km_to_bf16_sr(x, km_bf16_bits(s.seed, s.index0 + i));
    else if (s.type == 2)
        ((uint8_t *)s.data)[i] = km_q8_index(c_code[s.is_signed], a > 0 ? x / a : 0.0f);
    else
        ((float *)s.data)[i] = x;
}

__global__ static void __launch_bounds__(QT)
    adam_state_k(float *p, const float *g, KDevState m, KDevState v, size_t n, float b1, float b2,
                 float eps, float step, float rbc2, float keep, float gs, int upd) {
    __shared__ float sh[32];
    size_t blk = blockIdx.x, off = blk * QB;
    float mv[QE], vv[QE], am = 0, av = 0;
    for (int j = 0; j < QE; j++) {
        size_t i = off + threadIdx.x + (size_t)j * QT;
        if (i >= n) continue;
        float mi = st_load(m, i, blk), vi = st_load(v, i, blk);
        if (upd) {
            p[i] = km_adamw(p[i], g[i], &mi, &vi, b1, b2, eps, step, rbc2, keep, gs);
        } else {
            float gi = g[i] * gs;
            mi = b1 * mi + (1 - b1) * gi;
            vi = b2 * vi + (1 - b2) * gi * gi;
        }
        mv[j] = mi, vv[j] = vi;
        if (fabsf(mi) > am) am = fabsf(mi); /* NaN never raises it, as on the CPU */
        if (fabsf(vi) > av) av = fabsf(vi);
    }
    if (m.type == 2) am = block_max(am, sh);
    if (v.type == 2) av = block_max(av, sh);
    for (int j = 0; j < QE; j++) {
        size_t i = off + threadIdx.x + (size_t)j * QT;
        if (i >= n) continue;
        st_store(m, i, mv[j], am);
        st_store(v, i, vv[j], av);
    }
    if (threadIdx.x == 0) {
        if (m.type == 2) m.absmax[blk] = am;
        if (v.type == 2) v.absmax[blk] = av;
    }
}

void kc_adam_state(float *p, const float *g, KDevState m, KDevState v, size_t n, float beta1,
                   float beta2, float eps, float step, float rbc2, float keep, float gscale,
                   int update_p) {
    if (!n) return;
    load_codes();
    size_t nb = (n + QB - 1) / QB;
    adam_state_k<<<(unsigned)nb, QT, 0, kc_s()>>>(p, g, m, v, n, beta1, beta2, eps, step, rbc2,
                                                  keep, gscale, update_p);
    KC_LAUNCHED();
}

/* LAMB: Σ u² per state block into part[blk] (double), then summed in block
 * order by one thread; the update reads the same u. */
__global__ static void __launch_bounds__(QT)
    lamb_sum_k(double *part, const float *p, KDevState m, KDevState v, size_t n, float c1,
               float rbc2, float eps, float wd) {
    __shared__ double sh[32];
    size_t blk = blockIdx.x, off = blk * QB;
    double s = 0;
    for (int j = 0; j < QE; j++) {
        size_t i = off + threadIdx.x + (size_t)j * QT;
        if (i >= n) continue;
        float u = km_lamb_u(p[i], st_load(m, i, blk), st_load(v, i, blk), c1, rbc2, eps, wd);
        s += (double)u * u;
    }
    s = kc_block_sum(s, sh);
    if (threadIdx.x == 0) part[blk] = s;
}

__global__ static void sum_parts_k(double *part, size_t nb) {
    double s = 0;
    for (size_t b = 0; b < nb; b++) s += part[b];
    part[nb] = s;
}

double kc_lamb_sumsq(const float *p, KDevState m, KDevState v, size_t n, float c1, float rbc2,
                     float eps, float wd) {
    if (!n) return 0;
    load_codes();
    size_t nb = (n + QB - 1) / QB;
    double *part = (double *)kc_scratch(sizeof(double) * (nb + 1)), out = 0;
    lamb_sum_k<<<(unsigned)nb, QT, 0, kc_s()>>>(part, p, m, v, n, c1, rbc2, eps, wd);
    KC_LAUNCHED();
    sum_parts_k<<<1, 1, 0, kc_s()>>>(part, nb);
    KC_LAUNCHED();
    kc_to_host(&out, part + nb, sizeof out);
    return out;
}

__global__ static void lamb_apply_k(float *p, KDevState m, KDevState v, size_t n, float c1,
                                    float rbc2, float eps, float wd, float rate) {
    KC_FOR(i, n) {
        size_t blk = i / QB;
        p[i] -= rate * km_lamb_u(p[i], st_load(m, i, blk), st_load(v, i, blk), c1, rbc2, eps, wd);
    }
}

void kc_lamb_apply(float *p, KDevState m, KDevState v, size_t n, float c1, float rbc2, float eps,
                   float wd, float rate) {
    if (!n) return;
    load_codes();
    lamb_apply_k<<<kc_grid_1d(n), KC_BLOCK, 0, kc_s()>>>(p, m, v, n, c1, rbc2, eps, wd, rate);
    KC_LAUNCHED();
}
