/*
 * test_cuda_kernels.c — every CUDA kernel against the CPU backend on fresh
 * random inputs with odd sizes (run by tests/gpu/run.sh on a GPU). The
 * measure is the relative error in norm, ‖gpu − cpu‖ / ‖cpu‖: below 1e-5 for
 * fp32, 1e-2 where the products take bf16 inputs; exact where both run the
 * same integer or rounding formula (dropout masks, bf16 conversions).
 * Without a usable device it prints the reason in one line and exits 2.
 */
#include "kernels/cuda/geometry.h"
#include "kernels/cuda/kcuda.h"
#include "kernels/kdev.h"
#include "kernels/kernels.h"
#include "mpi/comm.h"
#include "tests/lib/check.h"

#include <stdint.h>

static uint64_t seed = 20261207;

static float *rnd(size_t n, float scale) {
    float *x = malloc(n * sizeof(float) + 1);
    for (size_t i = 0; i < n; i++) x[i] = (float)(scale * k_rng_normal(seed, i));
    seed++;
    return x;
}
static void *dev(const void *h, size_t bytes) {
    void *d = kc_malloc(bytes ? bytes : 4);
    kc_to_device(d, h, bytes);
    return d;
}
static float *back(const float *d, size_t n) {
    float *h = malloc(n * sizeof(float) + 1);
    kc_to_host(h, d, n * sizeof(float));
    return h;
}
/* gpu result d (n floats on the device) against cpu result c */
static void cmp(const char *name, const float *d, const float *c, size_t n, double tol) {
    float *g = back(d, n);
    double e = rel_err_f(g, c, n);
    check(e <= tol, name, "n = %zu, relative error %.2e (tolerance %.0e)", n, e, tol);
    free(g);
}

static void t_matmul(int bf16) {
    int M = 37, K = 53, N = 29;
    float *x = rnd((size_t)M * K, 1), *w = rnd((size_t)N * K, 0.2f), *y = rnd((size_t)M * N, 1);
    float *dy = rnd((size_t)M * N, 1), *dx = rnd((size_t)M * K, 1), *dw = rnd((size_t)N * K, 1);
    float *X = dev(x, 4 * M * K), *W = dev(w, 4 * N * K), *Y = dev(y, 4 * M * N);
    float *DY = dev(dy, 4 * M * N), *DX = dev(dx, 4 * M * K), *DW = dev(dw, 4 * N * K);
    double tol = bf16 ? 1e-2 : 1e-5;
    /* the CPU reference multiplies bf16-rounded inputs where oneDNN can
     * (k_bf16_gemm_set keeps fp32 otherwise: within 1e-2 of bf16 either way) */
    k_bf16_gemm_set(bf16), kc_bf16_gemm_set(bf16);
    k_matmul_fwd(y, x, w, M, K, N), kc_matmul_fwd(Y, X, W, M, K, N);
    cmp(bf16 ? "matmul forward, bf16 inputs" : "matmul forward", Y, y, (size_t)M * N, tol);
    k_matmul_bwd(dx, dw, dy, x, w, M, K, N), kc_matmul_bwd(DX, DW, DY, X, W, M, K, N);
    cmp(bf16 ? "matmul backward dx, bf16 inputs" : "matmul backward dx", DX, dx, (size_t)M * K,
        tol);
    cmp(bf16 ? "matmul backward dW, bf16 inputs" : "matmul backward dW", DW, dw, (size_t)N * K,
        tol);
    k_bf16_gemm_set(0), kc_bf16_gemm_set(0);
}

static void t_elementwise(void) {
    size_t n = 100003;
    int M = 301, N = 77;
    float *a = rnd(n, 1), *b = rnd(n, 1), *y = rnd(n, 1), *A = dev(a, 4 * n), *Bv = dev(b, 4 * n);
    float *Y = dev(y, 4 * n);
    k_add_fwd(y, a, b, n), kc_add_fwd(Y, A, Bv, n);
    cmp("residual add", Y, y, n, 1e-6);
    k_accum(y, a, n), kc_accum(Y, A, n);
    k_axpy(y, -0.37, b, n), kc_axpy(Y, -0.37, Bv, n);
    cmp("accumulate and axpy", Y, y, n, 1e-6);
    for (int form = 0; form < 2; form++) {
        float *g = rnd(n, 1), *G = dev(g, 4 * n), *dx = rnd(n, 1), *DX = dev(dx, 4 * n);
        k_gelu_fwd(y, a, n, form), kc_gelu_fwd(Y, A, n, form);
        cmp(form ? "GELU forward, erf" : "GELU forward, tanh", Y, y, n, 1e-6);
        k_gelu_bwd(dx, g, a, n, form), kc_gelu_bwd(DX, G, A, n, form);
        cmp(form ? "GELU backward, erf" : "GELU backward, tanh", DX, dx, n, 1e-6);
    }
    k_dropout_fwd(y, a, n, 0.1, 99), kc_dropout_fwd(Y, A, n, 0.1, 99);
    k_dropout_bwd(y, b, n, 0.1, 98), kc_dropout_bwd(Y, Bv, n, 0.1, 98);
    cmp("dropout forward and backward (the same mask)", Y, y, n, 1e-7);
    float *bias = rnd(N, 1), *BIAS = dev(bias, 4 * N), *db = rnd(N, 1), *DB = dev(db, 4 * N);
    k_bias_fwd(y, bias, M, N), kc_bias_fwd(Y, BIAS, M, N);
    cmp("bias forward", Y, y, (size_t)M * N, 1e-6);
    k_bias_bwd(db, a, M, N), kc_bias_bwd(DB, A, M, N);
    cmp("bias backward (column sums)", DB, db, N, 1e-6);
    k_zero(y, n), kc_zero(Y, n);
    cmp("zero", Y, y, n, 0);
    double s1 = k_sumsq(a, n), s2 = kc_sumsq(A, n);
    check(fabs(s1 - s2) <= 1e-12 * s1, "squared norm", "cpu %.15g gpu %.15g", s1, s2);
}

static void t_embedding(void) {
    int N = 203, C = 45, V = 57;
    int32_t ids[203];
    for (int i = 0; i < N; i++) ids[i] = (int32_t)(k_rng_mix((uint64_t)i) % V); /* repeats */
    float *tab = rnd((size_t)V * C, 1), *y = rnd((size_t)N * C, 1), *dt = rnd((size_t)V * C, 1);
    float *T = dev(tab, 4 * V * C), *Y = dev(y, 4 * N * C), *DT = dev(dt, 4 * V * C);
    int32_t *I = dev(ids, sizeof ids);
    k_embedding_fwd(y, ids, tab, N, C, 0), kc_embedding_fwd(Y, I, T, N, C, 0);
    k_embedding_fwd(y, ids, tab, N, C, 1), kc_embedding_fwd(Y, I, T, N, C, 1);
    cmp("embedding forward (and accumulate)", Y, y, (size_t)N * C, 0);
    k_embedding_bwd(dt, y, ids, N, C), kc_embedding_bwd(DT, Y, I, N, C);
    cmp("embedding backward (repeated ids)", DT, dt, (size_t)V * C, 1e-6);
}

static void t_layernorm(void) {
    int N = 67, C = 83, ld = 2 * C + 5;
    float *x = rnd((size_t)N * ld, 2), *w = rnd(C, 1), *b = rnd(C, 1), *y = rnd((size_t)N * ld, 1);
    float *mean = rnd(N, 1), *rstd = rnd(N, 1), *dy = rnd((size_t)N * ld, 1);
    float *dx = rnd((size_t)N * ld, 1), *dw = rnd(C, 1), *db = rnd(C, 1);
    float *X = dev(x, 4 * N * ld), *W = dev(w, 4 * C), *Bb = dev(b, 4 * C), *Y = dev(y, 4 * N * ld);
    float *MEAN = dev(mean, 4 * N), *RSTD = dev(rstd, 4 * N), *DY = dev(dy, 4 * N * ld);
    float *DX = dev(dx, 4 * N * ld), *DW = dev(dw, 4 * C), *DB = dev(db, 4 * C);
    k_layernorm_fwd_ld(y, ld, mean, rstd, x, ld, w, b, N, C, 1e-5);
    kc_layernorm_fwd_ld(Y, ld, MEAN, RSTD, X, ld, W, Bb, N, C, 1e-5);
    cmp("LayerNorm forward (strided rows)", Y, y, (size_t)N * ld, 1e-6);
    cmp("LayerNorm rstd", RSTD, rstd, N, 1e-6);
    k_layernorm_bwd_ld(dx, ld, dw, db, dy, ld, x, ld, w, mean, rstd, N, C);
    kc_layernorm_bwd_ld(DX, ld, DW, DB, DY, ld, X, ld, W, MEAN, RSTD, N, C);
    cmp("LayerNorm backward dx", DX, dx, (size_t)N * ld, 1e-5);
    cmp("LayerNorm backward dw", DW, dw, C, 1e-5);
    cmp("LayerNorm backward db", DB, db, C, 1e-6);
}

static void t_attention(int causal, int relbias, double p) {
    int B = 3, T = 37, C = 48, NH = 4;
    size_t nq = (size_t)B * T * 3 * C, ny = (size_t)B * T * C, np = (size_t)B * NH * T * T;
    float *qkv = rnd(nq, 1), *dy = rnd(ny, 1), *y = rnd(ny, 1), *probs = rnd(np, 1);
    float *dqkv = rnd(nq, 1), *relb = relbias ? rnd((size_t)NH * (2 * T - 1), 0.5f) : NULL;
    float *drelb = relbias ? rnd((size_t)NH * (2 * T - 1), 1) : NULL;
    float *scratch = malloc(sizeof(float) * k_attention_scratch(T));
    uint8_t mask[3 * 37];
    for (int i = 0; i < B * T; i++) mask[i] = causal || (i % T) < T - 3 * (i / T);
    uint64_t seeds[3] = {11, 12, 13};
    float *Q = dev(qkv, 4 * nq), *DY = dev(dy, 4 * ny), *Y = dev(y, 4 * ny),
          *P = dev(probs, 4 * np);
    float *DQ = dev(dqkv, 4 * nq), *RB = relb ? dev(relb, 4 * NH * (2 * T - 1)) : NULL;
    float *DRB = drelb ? dev(drelb, 4 * NH * (2 * T - 1)) : NULL;
    float *S = kc_malloc(4 * kc_attention_scratch_elems(T, NH));
    uint8_t *MK = dev(mask, sizeof mask);
    char name[128];
    k_attention_fwd(y, probs, scratch, qkv, causal ? NULL : mask, relb, B, T, C, NH, causal, p,
                    seeds);
    kc_attention_fwd(Y, P, S, Q, causal ? NULL : MK, RB, B, T, C, NH, causal, p, seeds);
    snprintf(name, sizeof name, "attention forward (%s%s, dropout %.1f)",
             causal ? "causal" : "key mask", relbias ? ", relative bias" : "", p);
    cmp(name, Y, y, ny, 1e-5);
    k_attention_bwd(dqkv, drelb, scratch, dy, qkv, probs, B, T, C, NH, causal, p, seeds);
    kc_attention_bwd(DQ, DRB, S, DY, Q, P, B, T, C, NH, causal, p, seeds);
    snprintf(name, sizeof name, "attention backward dqkv (%s%s, dropout %.1f)",
             causal ? "causal" : "key mask", relbias ? ", relative bias" : "", p);
    cmp(name, DQ, dqkv, nq, 1e-5);
    if (relbias)
        cmp("attention backward, relative-bias gradient", DRB, drelb, NH * (2 * T - 1), 1e-5);
}

static void t_rope_xent(void) {
    int B = 2, T = 19, C = 48, NH = 4, N = 41, V = 1001;
    size_t nq = (size_t)B * T * 3 * C;
    float *qkv = rnd(nq, 1), *Q = dev(qkv, 4 * nq);
    k_rope_fwd(qkv, B, T, 5, C, NH, 10000), kc_rope_fwd(Q, B, T, 5, C, NH, 10000);
    cmp("RoPE forward", Q, qkv, nq, 1e-6);
    k_rope_bwd(qkv, B, T, 5, C, NH, 10000), kc_rope_bwd(Q, B, T, 5, C, NH, 10000);
    cmp("RoPE backward", Q, qkv, nq, 1e-6);
    float *z = rnd((size_t)N * V, 3), *Z = dev(z, 4 * (size_t)N * V), *l = rnd(N, 1);
    float *L = dev(l, 4 * N);
    int32_t lab[41];
    for (int i = 0; i < N; i++) lab[i] = i % 5 == 0 ? -100 : (int32_t)(k_rng_mix(i + 7) % V);
    int32_t *LAB = dev(lab, sizeof lab);
    double s1 = k_xent_fwd(l, z, z, lab, N, V), s2 = kc_xent_fwd(L, Z, Z, LAB, N, V);
    check(fabs(s1 - s2) <= 1e-6 * fabs(s1), "cross-entropy loss sum", "cpu %.9g gpu %.9g", s1, s2);
    cmp("cross-entropy probabilities (in place)", Z, z, (size_t)N * V, 1e-5);
    k_xent_bwd(z, z, lab, N, V, 0.25), kc_xent_bwd(Z, Z, LAB, N, V, 0.25);
    cmp("cross-entropy gradient", Z, z, (size_t)N * V, 1e-5);
}

static void t_optim(void) {
    size_t n = 5003;
    float *p = rnd(n, 1), *g = rnd(n, 1), *m = rnd(n, 0.1f), *v = rnd(n, 0.1f);
    for (size_t i = 0; i < n; i++) v[i] = v[i] * v[i];
    float *P = dev(p, 4 * n), *G = dev(g, 4 * n), *Mm = dev(m, 4 * n), *Vv = dev(v, 4 * n);
    KAdamW a = {0.9f, 0.999f, 1e-8f, 1e-3f / 0.1f, 1.0f / sqrtf(1 - 0.999f), 1 - 1e-5f, 0.5f};
    k_adamw(p, g, m, v, n, &a);
    kc_adamw(P, G, Mm, Vv, n, a.beta1, a.beta2, a.eps, a.step, a.rbc2, a.keep, a.gscale);
    cmp("AdamW parameters (fp32 states)", P, p, n, 1e-6);
    cmp("AdamW second moment", Vv, v, n, 1e-6);
    uint16_t *mh = malloc(2 * n), *vh = malloc(2 * n);
    k_f32_to_bf16(mh, m, n), k_f32_to_bf16(vh, v, n);
    uint16_t *MH = dev(mh, 2 * n), *VH = dev(vh, 2 * n);
    KState ms = {KST_BF16, mh, NULL, NULL, 5, 1000}, vs = {KST_BF16, vh, NULL, NULL, 6, 1000};
    k_adamw_state(p, g, &ms, &vs, n, &a);
    kc_adamw_bf16(P, G, MH, VH, n, a.beta1, a.beta2, a.eps, a.step, a.rbc2, a.keep, a.gscale, 5, 6,
                  1000);
    uint16_t *mg = malloc(2 * n), *vg = malloc(2 * n);
    kc_to_host(mg, MH, 2 * n);
    kc_to_host(vg, VH, 2 * n);
    check(!memcmp(mg, mh, 2 * n) && !memcmp(vg, vh, 2 * n),
          "AdamW bf16 states: the same stochastic rounding (m and v)", NULL);
    cmp("AdamW parameters (bf16 states)", P, p, n, 1e-6);
    kc_to_device(P, p, 4 * n); /* the same input on both sides */
    kc_f32_to_bf16(MH, P, n), k_f32_to_bf16(mh, p, n);
    kc_to_host(mg, MH, 2 * n);
    check(!memcmp(mg, mh, 2 * n), "fp32 to bf16 (nearest even)", NULL);
    kc_copy(P, G, n), kc_bf16_in_place(P, n), k_bf16_in_place(g, n);
    kc_to_host(mg, P, 2 * n);
    check(!memcmp(mg, g, 2 * n), "copy, then fp32 to bf16 in place (the same words)", NULL);
    kc_to_device(P, p, 4 * n);
    kc_f32_to_bf16_off(MH, P, n, 1.0f), k_f32_to_bf16_off(mh, p, n, 1.0f);
    kc_to_host(mg, MH, 2 * n);
    check(!memcmp(mg, mh, 2 * n), "fp32 to bf16 as the distance from 1 (a LayerNorm gain's copy)",
          NULL);
    kc_bf16_to_f32_off(P, MH, n, 1.0f), k_bf16_to_f32_off(p, mh, n, 1.0f);
    float *pg = malloc(4 * n);
    kc_to_host(pg, P, 4 * n);
    check(!memcmp(pg, p, 4 * n), "bf16 plus 1 to fp32 (the same words)", NULL);
    free(pg);
    double s1 = k_sumsq_bf16(mh, n), s2 = kc_sumsq_bf16(MH, n);
    check(fabs(s1 - s2) <= 1e-12 * s1, "bf16 squared norm", "cpu %.15g gpu %.15g", s1, s2);
}

/* AdamW and LAMB on 8-bit states (blocks of K_Q8_BLOCK, one absmax each):
 * the same bytes, absmax and parameters as the CPU's, n not a multiple of
 * the block. */
static void t_q8(void) {
    size_t n = 3 * K_Q8_BLOCK + 777, nb = k_q8_blocks(n);
    float *p = rnd(n, 1), *g = rnd(n, 1), *m0 = rnd(n, 0.1f), *v0 = rnd(n, 0.1f);
    for (size_t i = 0; i < n; i++) v0[i] = v0[i] * v0[i];
    uint8_t *mq = malloc(n), *vq = malloc(n), *mg = malloc(n), *vg = malloc(n);
    float *ma = malloc(4 * nb), *va = malloc(4 * nb), *mag = malloc(4 * nb), *vag = malloc(4 * nb);
    KState M = {KST_Q8, mq, ma, k_q8_code(1), 0, 0}, V = {KST_Q8, vq, va, k_q8_code(0), 0, 0};
    k_state_set(&M, n, m0), k_state_set(&V, n, v0);
    float *P = dev(p, 4 * n), *G = dev(g, 4 * n);
    KDevState DM = {2, dev(mq, n), dev(ma, 4 * nb), 1, 0, 0},
              DV = {2, dev(vq, n), dev(va, 4 * nb), 0, 0, 0};
    KAdamW a = {0.9f, 0.999f, 1e-8f, 1e-3f / 0.1f, 1.0f / sqrtf(1 - 0.999f), 1 - 1e-5f, 0.5f};
    k_adamw_state(p, g, &M, &V, n, &a);
    kc_adam_state(P, G, DM, DV, n, a.beta1, a.beta2, a.eps, a.step, a.rbc2, a.keep, a.gscale, 1);
    kc_to_host(mg, DM.data, n), kc_to_host(vg, DV.data, n);
    kc_to_host(mag, DM.absmax, 4 * nb), kc_to_host(vag, DV.absmax, 4 * nb);
    float *pg = back(P, n);
    int same = !memcmp(mg, mq, n) && !memcmp(vg, vq, n) && !memcmp(mag, ma, 4 * nb) &&
               !memcmp(vag, va, 4 * nb);
    double e = rel_err_f(pg, p, n);
    check(same && e < 1e-6, "AdamW on 8-bit states: the same bytes and absmax, the same parameters",
          "parameters %.2e", e);
    KLamb l = {1 / 0.1f, 1.0f / sqrtf(1 - 0.999f), 1e-6f, 0.01f};
    k_adam_moments(g, &M, &V, n, 0.9f, 0.999f, 0.5f);
    kc_adam_state(NULL, G, DM, DV, n, 0.9f, 0.999f, 0, 0, 1, 1, 0.5f, 0);
    double s1 = k_lamb_sumsq(p, &M, &V, n, &l),
           s2 = kc_lamb_sumsq(P, DM, DV, n, l.c1, l.rbc2, l.eps, l.wd);
    k_lamb_apply(p, &M, &V, n, &l, 1e-3f);
    kc_lamb_apply(P, DM, DV, n, l.c1, l.rbc2, l.eps, l.wd, 1e-3f);
    kc_to_host(pg, P, 4 * n);
    e = rel_err_f(pg, p, n);
    check(fabs(s1 - s2) <= 1e-9 * s1 && e < 1e-6, "LAMB on 8-bit states: moments, Σu², update",
          "Σu² %.12g vs %.12g, parameters %.2e", s2, s1, e);
}

/* The trainer's way in: k_* kernels forwarded through the device table
 * (kc_ops) on k_alloc's managed blocks, with operands at 4-byte offsets (a
 * parameter view can start at any float), attention given no scratch (the
 * backend's workspace), T = 129 and V = 5003 (row kernels of more than one
 * warp, up to 1024 threads). CPU references first, with no table. */
static void t_dispatch(void) {
    int M = 65, K = 97, N = 43, B = 2, T = 129, C = 48, NH = 4, R = 33, V = 5003;
    size_t nq = (size_t)B * T * 3 * C, ny = (size_t)B * T * C, np = (size_t)B * NH * T * T;
    float *x = rnd((size_t)M * K + 1, 1), *w = rnd((size_t)N * K + 1, 0.2f);
    float *y = calloc((size_t)M * N + 1, 4), *qkv = rnd(nq, 1), *ya = calloc(ny, 4);
    float *pr = calloc(np, 4), *sc = malloc(4 * k_attention_scratch(T)), *z = rnd((size_t)R * V, 3);
    int32_t lab[33];
    for (int i = 0; i < R; i++) lab[i] = (int32_t)(k_rng_mix(i + 99) % V);
    uint64_t seeds[2] = {5, 6};
    k_matmul_fwd(y + 1, x + 1, w + 1, M, K, N);
    k_attention_fwd(ya, pr, sc, qkv, NULL, NULL, B, T, C, NH, 1, 0.1, seeds);
    float *zc = malloc(4 * (size_t)R * V);
    memcpy(zc, z, 4 * (size_t)R * V);
    double l1 = k_xent_fwd(NULL, zc, zc, lab, R, V);
    k_device_use(kc_ops());
    float *X = k_alloc(4 * ((size_t)M * K + 1), MEM_ACTS),
          *W = k_alloc(4 * ((size_t)N * K + 1), MEM_PARAMS);
    float *Y = k_alloc(4 * ((size_t)M * N + 1), MEM_ACTS), *Q = k_alloc(4 * nq, MEM_ACTS);
    float *YA = k_alloc(4 * ny, MEM_ACTS), *PR = k_alloc(4 * np, MEM_ACTS);
    float *Z = k_alloc(4 * (size_t)R * V, MEM_ACTS);
    int32_t *LAB = k_alloc(sizeof lab, MEM_DATA);
    memcpy(X, x, 4 * ((size_t)M * K + 1)), memcpy(W, w, 4 * ((size_t)N * K + 1));
    memcpy(Q, qkv, 4 * nq), memcpy(Z, z, 4 * (size_t)R * V), memcpy(LAB, lab, sizeof lab);
    k_matmul_fwd(Y + 1, X + 1, W + 1, M, K, N);
    k_attention_fwd(YA, PR, NULL, Q, NULL, NULL, B, T, C, NH, 1, 0.1, seeds);
    double l2 = k_xent_fwd(NULL, Z, Z, LAB, R, V);
    double e1 = rel_err_f(Y + 1, y + 1, (size_t)M * N), e2 = rel_err_f(YA, ya, ny);
    double e3 = rel_err_f(Z, zc, (size_t)R * V);
    check(e1 < 1e-5, "through the device table: matmul on managed memory at 4-byte offsets",
          "relative error %.2e", e1);
    check(e2 < 1e-5, "through the device table: causal attention, T = 129, dropout, no scratch",
          "relative error %.2e", e2);
    check(e3 < 1e-5 && fabs(l1 - l2) <= 1e-6 * fabs(l1),
          "through the device table: cross-entropy over V = 5003 in place",
          "probabilities %.2e, loss %.9g vs %.9g", e3, l2, l1);
    k_free(X), k_free(W), k_free(Y), k_free(Q), k_free(YA), k_free(PR), k_free(Z), k_free(LAB);
    k_device_use(NULL);
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    char err[512];
    if (kc_open(0, err, sizeof err)) {
        fprintf(stderr, "test_cuda_kernels: %s\n", err);
        comm_finalize();
        return 2;
    }
    printf("# device %d: %s\n", kc_device(), kc_device_name());
    check_plan(53);
    t_matmul(0);
    t_matmul(1);
    t_elementwise();
    t_embedding();
    t_layernorm();
    t_attention(0, 0, 0);
    t_attention(1, 1, 0);
    t_attention(0, 1, 0.1);
    t_attention(1, 0, 0.1);
    t_rope_xent();
    t_optim();
    t_q8();
    t_dispatch();
    kc_close();
    int rc = check_exit();
    comm_finalize();
    return rc;
}
