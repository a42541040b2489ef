/*
 * attention_window.c — sliding-window attention with global tokens: query i
 * sees the keys j with i − lo ≤ j ≤ i + hi (bidirectional: lo = hi = ⌊w/2⌋;
 * causal: lo = w − 1, hi = 0) and the first k tokens; those k see every key
 * (Longformer's global attention, e.g. [CLS]). No T×T matrix anywhere:
 *
 *   queries go in blocks of WQ rows; a block's keys are the span
 *   [i0 − lo, i0 + WQ − 1 + hi], W ≤ WQ + lo + hi wide, its scores one
 *   product (WQ × W × hs), its probabilities kept as [WQ, W]; the global
 *   keys outside a row's band are a second product [WQ, k]; the k global
 *   rows are a dense [k, T]. Per (sample, head): T·(W + k) + k·T values,
 *   O(T·w); forward 4·hs·(T·(W + k) + k·T) FLOPs and backward twice that,
 *   against 4·T²·hs and twice that for full attention.
 *
 * The math is attention.c's, row by row (softmax over a row's band and its
 * global keys together; dS = P ⊙ (dP − rowsum(P ⊙ dP))), with the same
 * relative bias (relb[h][T − 1 + j − i]) and the same dropout stream (element
 * (i, j) at index i·T + j): with w ≥ 2T and k = 0 it computes what the full
 * kernel does.
 */
#include "real.h"

enum { WQ = 64 }; /* query rows per block */

typedef struct {
    int T, k, lo, hi, bq, nblk, W;
} Geo;

static Geo geo(int T, int w, int k, int causal) {
    Geo g;
    g.T = T, g.k = k < T ? (k > 0 ? k : 0) : T;
    g.lo = causal ? w - 1 : w / 2;
    g.hi = causal ? 0 : w / 2;
    if (g.lo > T - 1) g.lo = T - 1;
    if (g.hi > T - 1) g.hi = T - 1;
    g.bq = T < WQ ? T : WQ;
    g.nblk = (T + g.bq - 1) / g.bq;
    g.W = g.bq + g.lo + g.hi < T ? g.bq + g.lo + g.hi : T;
    return g;
}

size_t KF(k_attention_window_probs)(int T, int w, int k, int causal) {
    Geo g = geo(T, w, k, causal);
    return (size_t)g.nblk * g.bq * (g.W + g.k) + (size_t)g.k * T;
}

size_t KF(k_attention_window_scratch)(int T, int w, int k, int causal) {
    Geo g = geo(T, w, k, causal);
    return 2 * ((size_t)g.bq * (g.W + g.k) + (size_t)g.k * T);
}

/* A block's key span [s0, s1) */
static void span(const Geo *g, int i0, int *s0, int *s1) {
    *s0 = i0 - g->lo > 0 ? i0 - g->lo : 0;
    *s1 = i0 + g->bq + g->hi < g->T ? i0 + g->bq + g->hi : g->T;
}

/* dst = dropout(src) for n rows of ld columns, row r at query i0 + r and
 * column c at key j0 + c (index (i0 + r)·T + j0 + c of the head's stream) */
static void drop_rows(kreal *dst, const kreal *src, int n, int ncol, int ld, int i0, int j0, int T,
                      double p, uint64_t seed) {
    kreal sc = (kreal)(1.0 / (1.0 - p));
#pragma omp parallel for schedule(static)
    for (int r = 0; r < n; r++)
        for (int c = 0; c < ncol; c++) {
            size_t at = (size_t)r * ld + c, idx = (size_t)(i0 + r) * T + (size_t)(j0 + c);
            dst[at] = k_rng_uniform(seed, idx) >= p ? src[at] * sc : 0;
        }
}

/* Softmax of one query row over its visible keys: the band part pb
 * (column c is key s0 + c, visible for jlo ≤ j ≤ jhi) and the global part
 * pg (key j visible for j < ng), the key mask and the bias applied; every
 * other entry of both parts becomes 0. */
static void row_softmax(kreal *pb, int W, int s0, int jlo, int jhi, kreal *pg, int k, int ng, int i,
                        const uint8_t *km, const kreal *rb) {
    kreal mx = -INFINITY;
    for (int j = jlo; j <= jhi; j++) {
        kreal *x = pb + (j - s0);
        if (rb) *x += rb[j - i];
        if (!km || km[j]) mx = *x > mx ? *x : mx;
    }
    for (int j = 0; j < ng; j++) {
        if (rb) pg[j] += rb[j - i];
        if (!km || km[j]) mx = pg[j] > mx ? pg[j] : mx;
    }
    if (jhi >= jlo) k_exp_shift(pb + (jlo - s0), pb + (jlo - s0), (size_t)(jhi - jlo + 1), mx);
    if (ng) k_exp_shift(pg, pg, (size_t)ng, mx);
    double sum = 0;
    for (int c = 0; c < W; c++) {
        int j = s0 + c;
        if (j < jlo || j > jhi || (km && !km[j])) pb[c] = 0;
        sum += pb[c];
    }
    for (int j = 0; j < k; j++) {
        if (j >= ng || (km && !km[j])) pg[j] = 0;
        sum += pg[j];
    }
    kreal inv = sum > 0 ? (kreal)(1.0 / sum) : 0;
    for (int c = 0; c < W; c++) pb[c] *= inv;
    for (int j = 0; j < k; j++) pg[j] *= inv;
}

/* dS = P ⊙ (dP − rowsum(P ⊙ dP)) over n values; dP first masked as the
 * forward's dropout was (pd, the dropped copy, is 0 exactly where dropped) */
static void row_dsoftmax(kreal *gb, const kreal *pb, const kreal *pdb, int nb, kreal *gg,
                         const kreal *pg, const kreal *pdg, int ng, double p) {
    kreal dscale = (kreal)(1.0 / (1.0 - p));
    if (p > 0) {
        for (int c = 0; c < nb; c++) gb[c] = pdb[c] != 0 ? gb[c] * dscale : 0;
        for (int c = 0; c < ng; c++) gg[c] = pdg[c] != 0 ? gg[c] * dscale : 0;
    }
    double s = 0;
    for (int c = 0; c < nb; c++) s += pb[c] * gb[c];
    for (int c = 0; c < ng; c++) s += pg[c] * gg[c];
    kreal ks = (kreal)s;
    for (int c = 0; c < nb; c++) gb[c] = pb[c] * (gb[c] - ks);
    for (int c = 0; c < ng; c++) gg[c] = pg[c] * (gg[c] - ks);
}

void KF(k_attention_window_fwd)(kreal *y, kreal *probs, kreal *scratch, const kreal *qkv,
                                const uint8_t *keymask, const kreal *relb, int B, int T, int C,
                                int NH, int causal, int w, int nglobal, double p_drop,
                                const uint64_t *seeds) {
    Geo g = geo(T, w, nglobal, causal);
    int hs = C / NH, C3 = 3 * C, k = g.k, W = g.W;
    kreal scale = (kreal)(1.0 / sqrt((double)hs));
    size_t per = KF(k_attention_window_probs)(T, w, nglobal, causal);
    kreal *db = scratch, *dg = scratch + (size_t)g.bq * W, *dr = dg + (size_t)g.bq * k;
    for (int b = 0; b < B; b++) {
        const uint8_t *km = keymask ? keymask + (size_t)b * T : NULL;
        for (int h = 0; h < NH; h++) {
            const kreal *q = qkv + (size_t)b * T * C3 + h * hs, *kk = q + C, *v = q + 2 * C;
            const kreal *rb = relb ? relb + (size_t)h * (2 * T - 1) + (T - 1) : NULL;
            kreal *base = probs + ((size_t)b * NH + h) * per, *yb = y + (size_t)b * T * C + h * hs;
            kreal *R = base + (size_t)g.nblk * g.bq * (W + k);
            uint64_t seed = k_attn_head_seed(seeds, b, h);
            for (int blk = 0; blk < g.nblk; blk++) {
                int i0 = blk * g.bq, n = T - i0 < g.bq ? T - i0 : g.bq, s0, s1;
                span(&g, i0, &s0, &s1);
                int sw = s1 - s0;
                kreal *Pb = base + (size_t)blk * g.bq * W;
                kreal *Pg = base + (size_t)g.nblk * g.bq * W + (size_t)blk * g.bq * k;
                AGEMM(CblasNoTrans, CblasTrans, n, sw, hs, scale, q + (size_t)i0 * C3, C3,
                      kk + (size_t)s0 * C3, C3, 0, Pb, W);
                if (k)
                    AGEMM(CblasNoTrans, CblasTrans, n, k, hs, scale, q + (size_t)i0 * C3, C3, kk,
                          C3, 0, Pg, k);
#pragma omp parallel for schedule(static)
                for (int r = 0; r < n; r++) {
                    int i = i0 + r;
                    kreal *pb = Pb + (size_t)r * W, *pg = Pg + (size_t)r * k;
                    if (i < k) { /* a global row: the dense pass below */
                        for (int c = 0; c < W; c++) pb[c] = 0;
                        for (int c = 0; c < k; c++) pg[c] = 0;
                        continue;
                    }
                    int jlo = i - g.lo > 0 ? i - g.lo : 0, jhi = i + g.hi < T ? i + g.hi : T - 1;
                    row_softmax(pb, W, s0, jlo, jhi, pg, k, k < jlo ? k : jlo, i, km, rb);
                }
                const kreal *Pbv = Pb, *Pgv = Pg;
                if (p_drop > 0) {
                    drop_rows(db, Pb, n, W, W, i0, s0, T, p_drop, seed);
                    drop_rows(dg, Pg, n, k, k, i0, 0, T, p_drop, seed);
                    Pbv = db, Pgv = dg;
                }
                AGEMM(CblasNoTrans, CblasNoTrans, n, hs, sw, 1, Pbv, W, v + (size_t)s0 * C3, C3, 0,
                      yb + (size_t)i0 * C, C);
                if (k)
                    AGEMM(CblasNoTrans, CblasNoTrans, n, hs, k, 1, Pgv, k, v, C3, 1,
                          yb + (size_t)i0 * C, C);
            }
            if (!k) continue;
            /* the global rows: every key (causal: every earlier one) */
            AGEMM(CblasNoTrans, CblasTrans, k, T, hs, scale, q, C3, kk, C3, 0, R, T);
#pragma omp parallel for schedule(static)
            for (int i = 0; i < k; i++)
                row_softmax(R + (size_t)i * T, T, 0, 0, causal ? i : T - 1, NULL, 0, 0, i, km, rb);
            const kreal *Rv = R;
            if (p_drop > 0) {
                drop_rows(dr, R, k, T, T, 0, 0, T, p_drop, seed);
                Rv = dr;
            }
            AGEMM(CblasNoTrans, CblasNoTrans, k, hs, T, 1, Rv, T, v, C3, 0, yb, C);
        }
    }
}

void KF(k_attention_window_bwd)(kreal *dqkv, kreal *drelb, kreal *scratch, const kreal *dy,
                                const kreal *qkv, const kreal *probs, int B, int T, int C, int NH,
                                int causal, int w, int nglobal, double p_drop,
                                const uint64_t *seeds) {
    Geo g = geo(T, w, nglobal, causal);
    int hs = C / NH, C3 = 3 * C, k = g.k, W = g.W;
    kreal scale = (kreal)(1.0 / sqrt((double)hs));
    size_t per = KF(k_attention_window_probs)(T, w, nglobal, causal),
           blk_n = (size_t)g.bq * (W + k);
    /* scratch: dP of a block (band, global) and of the global rows, then the
     * dropped copies of the same */
    kreal *gB = scratch, *gG = gB + (size_t)g.bq * W, *gR = gB + blk_n;
    kreal *dB = gR + (size_t)k * T, *dG = dB + (size_t)g.bq * W, *dR = dB + blk_n;
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < NH; h++) {
            const kreal *q = qkv + (size_t)b * T * C3 + h * hs, *kk = q + C, *v = q + 2 * C;
            kreal *dq = dqkv + (size_t)b * T * C3 + h * hs, *dk = dq + C, *dv = dq + 2 * C;
            const kreal *dyb = dy + (size_t)b * T * C + h * hs;
            const kreal *base = probs + ((size_t)b * NH + h) * per;
            const kreal *R = base + (size_t)g.nblk * g.bq * (W + k);
            kreal *rd = drelb ? drelb + (size_t)h * (2 * T - 1) + (T - 1) : NULL;
            uint64_t seed = k_attn_head_seed(seeds, b, h);
            for (int blk = 0; blk < g.nblk; blk++) {
                int i0 = blk * g.bq, n = T - i0 < g.bq ? T - i0 : g.bq, s0, s1;
                span(&g, i0, &s0, &s1);
                int sw = s1 - s0;
                const kreal *Pb = base + (size_t)blk * g.bq * W;
                const kreal *Pg = base + (size_t)g.nblk * g.bq * W + (size_t)blk * g.bq * k;
                const kreal *Pbv = Pb, *Pgv = Pg;
                if (p_drop > 0) {
                    drop_rows(dB, Pb, n, W, W, i0, s0, T, p_drop, seed);
                    drop_rows(dG, Pg, n, k, k, i0, 0, T, p_drop, seed);
                    Pbv = dB, Pgv = dG;
                }
                const kreal *dyi = dyb + (size_t)i0 * C, *qi = q + (size_t)i0 * C3;
                /* dP̃ = dy vᵀ ; dv += P̃ᵀ dy (band keys, then global keys) */
                AGEMM(CblasNoTrans, CblasTrans, n, sw, hs, 1, dyi, C, v + (size_t)s0 * C3, C3, 0,
                      gB, W);
                AGEMM(CblasTrans, CblasNoTrans, sw, hs, n, 1, Pbv, W, dyi, C, 1,
                      dv + (size_t)s0 * C3, C3);
                if (k) {
                    AGEMM(CblasNoTrans, CblasTrans, n, k, hs, 1, dyi, C, v, C3, 0, gG, k);
                    AGEMM(CblasTrans, CblasNoTrans, k, hs, n, 1, Pgv, k, dyi, C, 1, dv, C3);
                }
#pragma omp parallel for schedule(static)
                for (int r = 0; r < n; r++)
                    row_dsoftmax(gB + (size_t)r * W, Pb + (size_t)r * W, Pbv + (size_t)r * W, sw,
                                 gG + (size_t)r * k, Pg + (size_t)r * k, Pgv + (size_t)r * k, k,
                                 p_drop);
                if (rd) /* d b(j − i) += dS[i, j]; rows in order (deterministic) */
                    for (int r = 0; r < n; r++) {
                        int i = i0 + r;
                        for (int c = 0; c < sw; c++) rd[s0 + c - i] += gB[(size_t)r * W + c];
                        for (int j = 0; j < k; j++) rd[j - i] += gG[(size_t)r * k + j];
                    }
                /* dq += dS k/√hs ; dk += dSᵀ q/√hs */
                AGEMM(CblasNoTrans, CblasNoTrans, n, hs, sw, scale, gB, W, kk + (size_t)s0 * C3, C3,
                      1, dq + (size_t)i0 * C3, C3);
                AGEMM(CblasTrans, CblasNoTrans, sw, hs, n, scale, gB, W, qi, C3, 1,
                      dk + (size_t)s0 * C3, C3);
                if (k) {
                    AGEMM(CblasNoTrans, CblasNoTrans, n, hs, k, scale, gG, k, kk, C3, 1,
                          dq + (size_t)i0 * C3, C3);
                    AGEMM(CblasTrans, CblasNoTrans, k, hs, n, scale, gG, k, qi, C3, 1, dk, C3);
                }
            }
            if (!k) continue;
            const kreal *Rv = R;
            if (p_drop > 0) {
                drop_rows(dR, R, k, T, T, 0, 0, T, p_drop, seed);
                Rv = dR;
            }
            AGEMM(CblasNoTrans, CblasTrans, k, T, hs, 1, dyb, C, v, C3, 0, gR, T);
            AGEMM(CblasTrans, CblasNoTrans, T, hs, k, 1, Rv, T, dyb, C, 1, dv, C3);
#pragma omp parallel for schedule(static)
            for (int i = 0; i < k; i++)
                row_dsoftmax(gR + (size_t)i * T, R + (size_t)i * T, Rv + (size_t)i * T, T, NULL,
                             NULL, NULL, 0, p_drop);
            if (rd)
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < T; j++) rd[j - i] += gR[(size_t)i * T + j];
            AGEMM(CblasNoTrans, CblasNoTrans, k, hs, T, scale, gR, T, kk, C3, 1, dq, C3);
            AGEMM(CblasTrans, CblasNoTrans, T, hs, k, scale, gR, T, q, C3, 1, dk, C3);
        }
    }
}
