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

#include "kernels/kmath.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t KF(k_attention_scratch)(int T) {
    return 2 * (size_t)T * T;
}

/*
 * The products go in blocks of query rows: one OpenMP team takes the blocks
 * of every (sample, head), each block's products single-threaded (fp32, in
 * every precision: real.h). A head at T = 128 is products of 128 × 128 ×
 * 64, too small to split well, and a team per product cost more than the
 * product. Causal rows stop at their block's last key (the masked half of S
 * is neither computed nor multiplied). A row's values do not depend on
 * which thread took its block, nor on the thread count.
 */
/* Query rows per block: T/4 within [32, 128], a function of T alone (the
 * arithmetic of a row must not depend on the thread count). Each thread's
 * products are larger with larger blocks (T = 512, bidirectional: 128 rows
 * ran 1.3x faster than 32). The forward's items are blocks, the backward's
 * whole heads (B·NH of them): either keeps as many threads busy as a node
 * has cores. */
static int row_block(int T) {
    int rb = T / 4;
    rb = rb < 32 ? 32 : rb > 128 ? 128 : rb;
    return rb < T ? rb : T;
}

/* Each thread's rows: the forward's dropped rows (rb·T), the backward's dS
 * and P̃ rows (2·rb·T). In the scratch while the threads fit in it (T/rb
 * threads in the backward: 4 at T = 128), else in this workspace, grown
 * outside parallel regions and kept: like the BLAS's packing buffers, a
 * per-thread buffer the model's counted memory leaves out. */
static kreal *wspace;
static double *relws;       /* the backward's per-head relative-bias sums */
static size_t wcap, relcap; /* bytes */

/* buf, or a larger one when it holds fewer than `bytes` (kept between calls) */
static void *grown(void *buf, size_t *cap, size_t bytes, const char *what) {
    if (bytes <= *cap) return buf;
    free(buf);
    buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!buf) {
        fprintf(stderr, "zeropt: out of memory for attention's %s (%zu MB)\n", what, bytes >> 20);
        abort();
    }
    *cap = bytes;
    return buf;
}

static kreal *rows_for(kreal *scratch, int T, size_t need) {
    if (need <= KF(k_attention_scratch)(T)) return scratch;
    return wspace = grown(wspace, &wcap, need * sizeof(kreal), "per-thread rows");
}

/* d = dropout(x) for n values at stream indices i0 + j (km_dropout_keep's
 * test, in integers: in vector lanes, not a call per element) */
static void drop_row(kreal *d, const kreal *x, int n, uint64_t seed, uint64_t i0, uint64_t thr,
                     kreal scale) {
#pragma omp simd
    for (int j = 0; j < n; j++) d[j] = km_dropout_keep_bits(seed, i0 + j, thr) ? x[j] * scale : 0;
}

/* Rows [i0, i0 + n) of head (b, h): S = q kᵀ/√hs over the keys < kc (the
 * rest of the row is 0), P = softmax(S) into probs, y = P̃ v with P̃ the
 * dropped rows (in drop, rows T apart). */
static void fwd_rows(kreal *y, kreal *probs, kreal *drop, const kreal *qkv, const uint8_t *keymask,
                     const kreal *relb, int b, int h, int i0, int n, int T, int C, int NH,
                     int causal, double p_drop, const uint64_t *seeds) {
    int hs = C / NH, C3 = 3 * C, kc = causal ? i0 + n : T;
    kreal scale = (kreal)(1.0 / sqrt((double)hs));
    const uint8_t *km = keymask ? keymask + (size_t)b * T : NULL;
    const kreal *q = qkv + (size_t)b * T * C3 + h * hs;
    const kreal *k = q + C, *v = q + 2 * C;
    kreal *P = probs + ((size_t)b * NH + h) * T * T + (size_t)i0 * T;
    const kreal *rb = relb ? relb + (size_t)h * (2 * T - 1) + (T - 1) : NULL;
    uint64_t seed = k_attn_head_seed(seeds, b, h);
    kreal dsc = (kreal)(1.0 / (1.0 - p_drop));
    uint64_t thr = km_dropout_threshold(p_drop);
    AGEMM(CblasNoTrans, CblasTrans, n, kc, hs, scale, q + (size_t)i0 * C3, C3, k, C3, 0, P, T);
    for (int r = 0; r < n; r++) {
        int i = i0 + r, jmax = causal ? i + 1 : T;
        kreal *row = P + (size_t)r * T;
        if (rb)
            for (int j = 0; j < jmax; j++) row[j] += rb[j - i];
        /* every loop in vector lanes: at T = 512 the rows cost more than
         * the products when they ran one element at a time */
        kreal mx = -INFINITY;
        if (km) {
#pragma omp simd reduction(max : mx)
            for (int j = 0; j < jmax; j++) mx = km[j] && row[j] > mx ? row[j] : mx;
        } else {
#pragma omp simd reduction(max : mx)
            for (int j = 0; j < jmax; j++) mx = row[j] > mx ? row[j] : mx;
        }
        k_exp_shift(row, row, (size_t)jmax, mx);
        double sum = 0;
        if (km) {
#pragma omp simd reduction(+ : sum)
            for (int j = 0; j < jmax; j++) {
                row[j] = km[j] ? row[j] : 0;
                sum += row[j];
            }
        } else {
#pragma omp simd reduction(+ : sum)
            for (int j = 0; j < jmax; j++) sum += row[j];
        }
        kreal inv = sum > 0 ? (kreal)(1.0 / sum) : 0;
        for (int j = 0; j < jmax; j++) row[j] *= inv;
        for (int j = jmax; j < T; j++) row[j] = 0;
        if (p_drop > 0) /* element (i, j) draws at index i·T + j */
            drop_row(drop + (size_t)r * T, row, kc, seed, (uint64_t)i * T, thr, dsc);
    }
    AGEMM(CblasNoTrans, CblasNoTrans, n, hs, kc, 1, p_drop > 0 ? drop : P, T, v, C3, 0,
          y + ((size_t)b * T + i0) * C + h * hs, C);
}

void KF(k_attention_fwd)(kreal *y, kreal *probs, kreal *scratch, const kreal *qkv,
                         const uint8_t *keymask, const kreal *relb, int B, int T, int C, int NH,
                         int causal, double p_drop, const uint64_t *seeds) {
    KD(attention_fwd, y, probs, NULL, qkv, keymask, relb, B, T, C, NH, causal, p_drop, seeds);
    int rb = row_block(T), nb = (T + rb - 1) / rb;
    long items = (long)B * NH * nb;
    /* each thread drops its rows into its own rb·T */
    int nt = omp_get_max_threads();
    kreal *rows = p_drop > 0 ? rows_for(scratch, T, (size_t)nt * rb * T) : scratch;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (long it = 0; it < items; it++) {
        long bh = it / nb;
        int blk = nb - 1 - (int)(it % nb); /* causal: the longest rows first */
        int i0 = blk * rb, n = T - i0 < rb ? T - i0 : rb;
        kreal *drop = rows + (size_t)omp_get_thread_num() * rb * T;
        fwd_rows(y, probs, drop, qkv, keymask, relb, (int)(bh / NH), (int)(bh % NH), i0, n, T, C,
                 NH, causal, p_drop, seeds);
    }
}

/* Backward of one row block [i0, i0 + n) of head (b, h), keys < kc, its dS
 * in G and P̃ in D (rows T apart, the thread's own):
 *   dP̃ = dy vᵀ,  dS = P ⊙ (dP − rowsum(P ⊙ dP)) with dP = dP̃ ⊙ mask/(1−p)
 *   dq += dS k/√hs,  dk += dSᵀ q/√hs,  dv += P̃ᵀ dy   (keys < kc)
 * and the block's diagonal sums of dS into rel (double; NULL: no bias). */
static void bwd_rows(kreal *dqkv, double *rel, kreal *G, kreal *D, const kreal *dy,
                     const kreal *qkv, const kreal *probs, int b, int h, int i0, int n, int T,
                     int C, int NH, int causal, double p_drop, const uint64_t *seeds) {
    int hs = C / NH, C3 = 3 * C, kc = causal ? i0 + n : T;
    kreal scale = (kreal)(1.0 / sqrt((double)hs));
    const kreal *q = qkv + ((size_t)b * T + i0) * C3 + h * hs;
    const kreal *k = qkv + (size_t)b * T * C3 + h * hs + C, *v = k + C;
    kreal *dq = dqkv + ((size_t)b * T + i0) * C3 + h * hs;
    kreal *dk = dqkv + (size_t)b * T * C3 + h * hs + C, *dv = dk + C;
    const kreal *dyb = dy + ((size_t)b * T + i0) * C + h * hs;
    const kreal *P = probs + ((size_t)b * NH + h) * T * T + (size_t)i0 * T;
    uint64_t seed = k_attn_head_seed(seeds, b, h);
    kreal dscale = (kreal)(1.0 / (1.0 - p_drop)); /* as k_dropout_bwd scales */
    uint64_t thr = km_dropout_threshold(p_drop);
    AGEMM(CblasNoTrans, CblasTrans, n, kc, hs, 1, dyb, C, v, C3, 0, G, T);
    for (int r = 0; r < n; r++) {
        const kreal *pr = P + (size_t)r * T;
        kreal *gr = G + (size_t)r * T;
        if (p_drop > 0) {
            /* P̃ for dv; dP = dP̃ ⊙ mask/(1-p), the mask read off P̃: it is 0
             * exactly where dropped or where P = 0, whose dS is 0 either way */
            kreal *pd = D + (size_t)r * T;
            drop_row(pd, pr, kc, seed, (uint64_t)(i0 + r) * T, thr, dscale);
#pragma omp simd
            for (int j = 0; j < kc; j++) gr[j] = pd[j] != 0 ? gr[j] * dscale : 0;
        }
        double s = 0;
#pragma omp simd reduction(+ : s)
        for (int j = 0; j < kc; j++) s += pr[j] * gr[j];
        kreal ks = (kreal)s;
        for (int j = 0; j < kc; j++) gr[j] = pr[j] * (gr[j] - ks);
        /* d b_h(j − i) += dS[i, j]; causal rows see keys ≤ i only (the
         * diagonals above the main one are 0 in the math) */
        if (rel)
            for (int j = 0, i = i0 + r, je = causal ? i + 1 : T; j < je; j++)
                rel[T - 1 + j - i] += gr[j];
    }
    AGEMM(CblasNoTrans, CblasNoTrans, n, hs, kc, scale, G, T, k, C3, 1, dq, C3);
    AGEMM(CblasTrans, CblasNoTrans, kc, hs, n, scale, G, T, q, C3, 1, dk, C3);
    AGEMM(CblasTrans, CblasNoTrans, kc, hs, n, 1, p_drop > 0 ? D : P, T, dyb, C, 1, dv, C3);
}

void KF(k_attention_bwd)(kreal *dqkv, kreal *drelb, kreal *scratch, const kreal *dy,
                         const kreal *qkv, const kreal *probs, int B, int T, int C, int NH,
                         int causal, double p_drop, const uint64_t *seeds) {
    KD(attention_bwd, dqkv, drelb, NULL, dy, qkv, probs, B, T, C, NH, causal, p_drop, seeds);
    int rb = row_block(T), nb = (T + rb - 1) / rb, nt = omp_get_max_threads();
    long heads = (long)B * NH;
    /* a thread takes whole heads, its blocks in order: a head's dq, dk, dv
     * and bias sums are one thread's, added in the same order for any
     * thread count, and heads of other threads touch other columns */
    kreal *rows = rows_for(scratch, T, (size_t)nt * 2 * rb * T);
    size_t nrel = (size_t)(2 * T - 1);
    if (drelb) relws = grown(relws, &relcap, (size_t)heads * nrel * sizeof *relws, "bias sums");
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (long bh = 0; bh < heads; bh++) {
        kreal *G = rows + (size_t)omp_get_thread_num() * 2 * rb * T, *D = G + (size_t)rb * T;
        double *rel = drelb ? relws + (size_t)bh * nrel : NULL;
        if (rel) memset(rel, 0, nrel * sizeof *rel);
        for (int blk = 0; blk < nb; blk++) {
            int i0 = blk * rb, n = T - i0 < rb ? T - i0 : rb;
            bwd_rows(dqkv, rel, G, D, dy, qkv, probs, (int)(bh / NH), (int)(bh % NH), i0, n, T, C,
                     NH, causal, p_drop, seeds);
        }
    }
    /* the bias gradient: each sample's sums added in sample order, as one
     * team adding them head after head would */
    for (long bh = 0; drelb && bh < heads; bh++) {
        kreal *db = drelb + (size_t)(bh % NH) * nrel;
        const double *rel = relws + (size_t)bh * nrel;
        for (size_t d = 0; d < nrel; d++) db[d] += (kreal)rel[d];
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
