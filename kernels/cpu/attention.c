/*
 * attention.c — multi-head softmax attention (bidirectional with a key mask,
 * or causal), every product through BLAS gemm with strides into packed qkv.
 * Per (batch, head), hs = C/NH:
 *   forward   S = q kᵀ/√hs (masked)      2·T²·hs FLOPs
 *             P = softmax(S), P̃ = dropout(P)
 *             y = P̃ v                     2·T²·hs
 *   backward  dP̃ = dy vᵀ,  dv += P̃ᵀ dy   4·T²·hs
 *             dP = dP̃ ⊙ mask/(1-p)
 *             dS = P ⊙ (dP - rowsum(P ⊙ dP))
 *             dq += dS k/√hs,  dk += dSᵀ q/√hs   4·T²·hs
 * Masked entries have P = 0 exactly, so they carry no gradient. A query row
 * with no visible key gets P = 0 (output 0) instead of NaN.
 * A relative bias (ALiBi, T5 buckets) adds b_h(j − i) to S; its gradient is
 * the sum of dS along each diagonal, one diagonal per thread in double (T²
 * adds per head, deterministic for any thread count).
 */
#include "real.h"

size_t KF(k_attention_scratch)(int T) {
    return 2 * (size_t)T * T;
}

void KF(k_attention_fwd)(kreal *y, kreal *probs, kreal *scratch, const kreal *qkv,
                         const uint8_t *keymask, const kreal *relb, int B, int T, int C, int NH,
                         int causal, double p_drop, const uint64_t *seeds) {
    KD(attention_fwd, y, probs, NULL, qkv, keymask, relb, B, T, C, NH, causal, p_drop, seeds);
    int hs = C / NH, C3 = 3 * C;
    kreal scale = (kreal)(1.0 / sqrt((double)hs));
    for (int b = 0; b < B; b++) {
        const uint8_t *km = keymask ? keymask + (size_t)b * T : NULL;
        for (int h = 0; h < NH; h++) {
            const kreal *q = qkv + (size_t)b * T * C3 + h * hs;
            const kreal *k = q + C, *v = q + 2 * C;
            kreal *P = probs + ((size_t)b * NH + h) * T * T;
            const kreal *rb = relb ? relb + (size_t)h * (2 * T - 1) + (T - 1) : NULL;
            AGEMM(CblasNoTrans, CblasTrans, T, T, hs, scale, q, C3, k, C3, 0, P, T);
#pragma omp parallel for schedule(static)
            for (int i = 0; i < T; i++) {
                kreal *row = P + (size_t)i * T;
                int jmax = causal ? i + 1 : T;
                if (rb)
                    for (int j = 0; j < jmax; j++) row[j] += rb[j - i];
                kreal mx = -INFINITY;
                for (int j = 0; j < jmax; j++)
                    if (!km || km[j]) mx = row[j] > mx ? row[j] : mx;
                /* in vector lanes: libm's expf here was most of the forward at T = 512 */
                k_exp_shift(row, row, (size_t)jmax, mx);
                double sum = 0;
                for (int j = 0; j < T; j++) {
                    if (j >= jmax || (km && !km[j])) row[j] = 0;
                    sum += row[j];
                }
                kreal inv = sum > 0 ? (kreal)(1.0 / sum) : 0;
                for (int j = 0; j < T; j++) row[j] *= inv;
            }
            const kreal *Pv = P;
            if (p_drop > 0) {
                KF(k_dropout_fwd)(scratch, P, (size_t)T * T, p_drop, k_attn_head_seed(seeds, b, h));
                Pv = scratch;
            }
            AGEMM(CblasNoTrans, CblasNoTrans, T, hs, T, 1, Pv, T, v, C3, 0,
                  y + (size_t)b * T * C + h * hs, C);
        }
    }
}

void KF(k_attention_bwd)(kreal *dqkv, kreal *drelb, kreal *scratch, const kreal *dy,
                         const kreal *qkv, const kreal *probs, int B, int T, int C, int NH,
                         double p_drop, const uint64_t *seeds) {
    KD(attention_bwd, dqkv, drelb, NULL, dy, qkv, probs, B, T, C, NH, p_drop, seeds);
    int hs = C / NH, C3 = 3 * C;
    kreal scale = (kreal)(1.0 / sqrt((double)hs));
    kreal *Pd = scratch, *dP = scratch + (size_t)T * T;
    kreal dscale = (kreal)(1.0 / (1.0 - p_drop)); /* as k_dropout_bwd scales */
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const kreal *q = qkv + (size_t)b * T * C3 + h * hs;
            const kreal *k = q + C, *v = q + 2 * C;
            kreal *dq = dqkv + (size_t)b * T * C3 + h * hs;
            kreal *dk = dq + C, *dv = dq + 2 * C;
            const kreal *dyb = dy + (size_t)b * T * C + h * hs;
            const kreal *P = probs + ((size_t)b * NH + h) * T * T;
            const kreal *Pv = P;
            uint64_t hseed = k_attn_head_seed(seeds, b, h);
            if (p_drop > 0) {
                KF(k_dropout_fwd)(Pd, P, (size_t)T * T, p_drop, hseed);
                Pv = Pd;
            }
            /* dP̃ = dy vᵀ ; dv += P̃ᵀ dy */
            AGEMM(CblasNoTrans, CblasTrans, T, T, hs, 1, dyb, C, v, C3, 0, dP, T);
            AGEMM(CblasTrans, CblasNoTrans, T, hs, T, 1, Pv, T, dyb, C, 1, dv, C3);
#pragma omp parallel for schedule(static)
            for (int i = 0; i < T; i++) {
                const kreal *pr = P + (size_t)i * T;
                kreal *gr = dP + (size_t)i * T;
                if (p_drop > 0) {
                    /* dP = dP̃ ⊙ mask/(1-p), the mask read off P̃: it is 0 exactly
                     * where dropped or where P = 0, whose dS is 0 either way
                     * (bit-identical to regenerating the mask, one pass fewer) */
                    const kreal *pd = Pd + (size_t)i * T;
                    for (int j = 0; j < T; j++) gr[j] = pd[j] != 0 ? gr[j] * dscale : 0;
                }
                double s = 0;
                for (int j = 0; j < T; j++) s += pr[j] * gr[j];
                kreal ks = (kreal)s;
                for (int j = 0; j < T; j++) gr[j] = pr[j] * (gr[j] - ks);
            }
            if (drelb) { /* d b_h(d) += Σ_i dS[i, i + d] */
                kreal *db = drelb + (size_t)h * (2 * T - 1) + (T - 1);
#pragma omp parallel for schedule(static)
                for (int d = 1 - T; d < T; d++) {
                    double s = 0;
                    for (int i = d < 0 ? -d : 0, j = i + d; i < T && j < T; i++, j++)
                        s += dP[(size_t)i * T + j];
                    db[d] += (kreal)s;
                }
            }
            AGEMM(CblasNoTrans, CblasNoTrans, T, hs, T, scale, dP, T, k, C3, 1, dq, C3);
            AGEMM(CblasTrans, CblasNoTrans, T, hs, T, scale, dP, T, q, C3, 1, dk, C3);
        }
    }
}

void KF(k_attention_cached)(kreal *y, kreal *scratch, const kreal *q, int qstride, const kreal *K,
                            const kreal *V, const kreal *dbias, int n, int past, int C, int NH,
                            int cap, int window, int nglobal) {
    int hs = C / NH;
    kreal scale = (kreal)(1.0 / sqrt((double)hs));
    for (int i = 0; i < n; i++) {
        int t = past + i + 1; /* keys 0 … past + i */
        for (int h = 0; h < NH; h++) {
            const kreal *Kh = K + (size_t)h * cap * hs, *Vh = V + (size_t)h * cap * hs;
            /* s = q Khᵀ/√hs ; p = softmax(s) ; y = p Vh */
            k_gemm(CblasRowMajor, CblasNoTrans, CblasTrans, 1, t, hs, scale,
                   q + (size_t)i * qstride + h * hs, hs, Kh, hs, 0, scratch, t);
            if (dbias) /* key j is t − 1 − j positions back */
                for (int j = 0; j < t; j++) scratch[j] += dbias[(size_t)h * cap + (t - 1 - j)];
            int pos = t - 1, far = window > 0 && pos >= nglobal ? pos - window + 1 : 0;
            for (int j = nglobal; j < far; j++) scratch[j] = -INFINITY; /* outside the window */
            kreal mx = -INFINITY;
            for (int j = 0; j < t; j++) mx = scratch[j] > mx ? scratch[j] : mx;
            k_exp_shift(scratch, scratch, (size_t)t, mx);
            double sum = 0;
            for (int j = 0; j < t; j++) sum += scratch[j];
            k_gemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, hs, t, (kreal)(1.0 / sum), scratch,
                   t, Vh, hs, 0, y + (size_t)i * C + h * hs, hs);
        }
    }
}
