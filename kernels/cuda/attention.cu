/*
 * attention.cu — multi-head attention on packed qkv (kernels_api.h's
 * contract), one sample at a time with its NH heads as strided-batched
 * cuBLAS products (head h's q, k, v start hs columns apart in each row):
 *   forward   S = q kᵀ/√hs  → P = softmax(S + bias, masked) → y = dropout(P) v
 *   backward  dP̃ = dy vᵀ, dv += P̃ᵀ dy;  dS = P ⊙ (dP − rowsum(P ⊙ dP));
 *             dq += dS k/√hs, dk += dSᵀ q/√hs;  d bias(d) += Σ_i dS[i, i+d]
 * The softmax and its backward run one block per (row, head); sums in
 * double, as on the CPU. P is kept [B, NH, T, T] as the interface says (a
 * fused flash kernel that keeps none is the next step, when measured).
 * seeds is a host array (B values); keymask and relb are device arrays.
 */
#include "kc_internal.cuh"

#include "kernels/kmath.h"

#include <math.h>

/* the CPU's k_attn_head_seed (cpu/real.h): one dropout stream per (b, h) */
static uint64_t head_seed(const uint64_t *seeds, int b, int h) {
    return k_rng_child(seeds ? seeds[b] : 0, 0xA77E0000u + (uint64_t)h);
}

/* row i of head h (blockIdx.x = i, blockIdx.y = h) of one sample's scores */
__global__ static void __launch_bounds__(1024)
    softmax_k(float *P, const uint8_t *km, const float *relb, int T, int causal) {
    __shared__ double sh[32];
    __shared__ float shf[32];
    int i = blockIdx.x, h = blockIdx.y, jmax = causal ? i + 1 : T;
    float *row = P + ((size_t)h * T + i) * T;
    const float *rb = relb ? relb + (size_t)h * (2 * T - 1) + (T - 1) : NULL;
    float mx = -INFINITY;
    for (int j = threadIdx.x; j < jmax; j += blockDim.x) {
        if (rb) row[j] += rb[j - i];
        if (!km || km[j]) mx = fmaxf(mx, row[j]);
    }
    mx = block_max(mx, shf);
    double s = 0;
    for (int j = threadIdx.x; j < T; j += blockDim.x) {
        float e = j < jmax && (!km || km[j]) ? expf(row[j] - mx) : 0.0f;
        row[j] = e;
        s += e;
    }
    double sum = kc_block_sum(s, sh);
    float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
    for (int j = threadIdx.x; j < T; j += blockDim.x) row[j] *= inv;
}

void kc_attention_fwd(float *y, float *probs, float *scratch, const float *qkv,
                      const uint8_t *keymask, const float *relb, int B, int T, int C, int NH,
                      int causal, double p_drop, const uint64_t *seeds) {
    int hs = C / NH, C3 = 3 * C;
    float scale = (float)(1.0 / sqrt((double)hs));
    long long TT = (long long)T * T;
    if (!scratch && p_drop > 0)
        scratch = (float *)kc_attn_workspace(sizeof(float) * kc_attention_scratch_elems(T, NH));
    for (int b = 0; b < B; b++) {
        const float *q = qkv + (size_t)b * T * C3, *k = q + C, *v = q + 2 * C;
        float *P = probs + (size_t)b * NH * TT;
        kc_gemm_rm_batched(0, 1, T, T, hs, scale, q, C3, hs, k, C3, hs, 0.0f, P, T, TT, NH);
        softmax_k<<<dim3(T, NH), kc_row_threads(T), 0, kc_s()>>>(
            P, keymask ? keymask + (size_t)b * T : NULL, relb, T, causal);
        KC_LAUNCHED();
        const float *Pv = P;
        if (p_drop > 0) {
            for (int h = 0; h < NH; h++)
                kc_dropout_fwd(scratch + h * TT, P + h * TT, (size_t)TT, p_drop,
                               head_seed(seeds, b, h));
            Pv = scratch;
        }
        kc_gemm_rm_batched(0, 0, T, hs, T, 1.0f, Pv, T, TT, v, C3, hs, 0.0f, y + (size_t)b * T * C,
                           C, hs, NH);
    }
}

/* dS of row i, head h, in place over dP: the dropout mask read off P̃ */
__global__ static void __launch_bounds__(1024)
    softmax_bwd_k(float *dP, const float *P, const float *Pd, int T, float dscale) {
    __shared__ double sh[32];
    int i = blockIdx.x, h = blockIdx.y;
    size_t o = ((size_t)h * T + i) * T;
    const float *pr = P + o;
    float *gr = dP + o;
    double s = 0;
    for (int j = threadIdx.x; j < T; j += blockDim.x) {
        if (Pd) gr[j] = Pd[o + j] != 0 ? gr[j] * dscale : 0.0f;
        s += pr[j] * gr[j];
    }
    float ks = (float)kc_block_sum(s, sh);
    for (int j = threadIdx.x; j < T; j += blockDim.x) gr[j] = pr[j] * (gr[j] - ks);
}

/* d bias_h(d) += Σ_i dS[i, i + d], one thread a diagonal, in i order */
__global__ static void relb_bwd_k(float *drelb, const float *dS, int T, int NH) {
    int e = blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= NH * (2 * T - 1)) return;
    int h = e / (2 * T - 1), d = e % (2 * T - 1) - (T - 1);
    const float *S = dS + (size_t)h * T * T;
    double s = 0;
    for (int i = d < 0 ? -d : 0, j = i + d; i < T && j < T; i++, j++) s += S[(size_t)i * T + j];
    drelb[e] += (float)s;
}

void kc_attention_bwd(float *dqkv, float *drelb, float *scratch, const float *dy, const float *qkv,
                      const float *probs, int B, int T, int C, int NH, int causal, double p_drop,
                      const uint64_t *seeds) {
    (void)causal; /* full T × T products: a causal row's later keys have P = 0 */
    int hs = C / NH, C3 = 3 * C;
    float scale = (float)(1.0 / sqrt((double)hs));
    long long TT = (long long)T * T;
    if (!scratch)
        scratch = (float *)kc_attn_workspace(sizeof(float) * kc_attention_scratch_elems(T, NH));
    float *Pd = scratch, *dP = scratch + NH * TT;
    for (int b = 0; b < B; b++) {
        const float *q = qkv + (size_t)b * T * C3, *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + (size_t)b * T * C3, *dk = dq + C, *dv = dq + 2 * C;
        const float *dyb = dy + (size_t)b * T * C, *P = probs + (size_t)b * NH * TT, *Pv = P;
        if (p_drop > 0) {
            for (int h = 0; h < NH; h++)
                kc_dropout_fwd(Pd + h * TT, P + h * TT, (size_t)TT, p_drop, head_seed(seeds, b, h));
            Pv = Pd;
        }
        kc_gemm_rm_batched(0, 1, T, T, hs, 1.0f, dyb, C, hs, v, C3, hs, 0.0f, dP, T, TT, NH);
        kc_gemm_rm_batched(1, 0, T, hs, T, 1.0f, Pv, T, TT, dyb, C, hs, 1.0f, dv, C3, hs, NH);
        softmax_bwd_k<<<dim3(T, NH), kc_row_threads(T), 0, kc_s()>>>(
            dP, P, p_drop > 0 ? Pd : NULL, T, (float)(1.0 / (1.0 - p_drop)));
        KC_LAUNCHED();
        if (drelb) {
            int n = NH * (2 * T - 1);
            relb_bwd_k<<<(n + 127) / 128, 128, 0, kc_s()>>>(drelb, dP, T, NH);
            KC_LAUNCHED();
        }
        kc_gemm_rm_batched(0, 0, T, hs, T, scale, dP, T, TT, k, C3, hs, 1.0f, dq, C3, hs, NH);
        kc_gemm_rm_batched(1, 0, T, hs, T, scale, dP, T, TT, q, C3, hs, 1.0f, dk, C3, hs, NH);
    }
}
