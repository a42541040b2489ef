/*
 * test_kernels.c — every kernel's backward against central finite differences
 * computed in double (the _f64 instantiation of the same source), on random
 * inputs of odd sizes; and the fp32 instantiation against the double one.
 *
 * For a kernel y = f(x), the scalar probe is L = Σ w·y with fixed random w;
 * backward with dy = w must give dL/dx = (L(x+h) − L(x−h)) / 2h.
 */
#include "tests/lib/check.h"

#include "kernels/kernels.h"
#include "kernels/kmath.h"
#include "kernels/cpu/blas_api.h"
#include "kernels/kernels_f64.h"
#include "kernels/optim_math.h"

#include <stdint.h>
#include <string.h>

static double *rnd(size_t n, uint64_t seed, double scale) {
    double *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = scale * (2 * k_rng_uniform(seed, i) - 1);
    return p;
}
static double *zeros(size_t n) {
    return calloc(n, sizeof(double));
}
static float *to_f(const double *x, size_t n) {
    float *p = malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (float)x[i];
    return p;
}

/* the forward under test writes y from the current inputs */
typedef void (*fwd_t)(double *y);
static double probe(fwd_t f, double *y, const double *w, size_t ny) {
    f(y);
    double s = 0;
    for (size_t i = 0; i < ny; i++) s += w[i] * y[i];
    return s;
}

/* Central differences for every element of x; returns ‖g − fd‖/‖fd‖. */
static double fd_err(fwd_t f, double *x, size_t nx, const double *g, const double *w, size_t ny) {
    double *y = malloc(ny * sizeof *y), *fd = malloc(nx * sizeof *fd);
    const double h = 1e-6;
    for (size_t i = 0; i < nx; i++) {
        double x0 = x[i];
        x[i] = x0 + h;
        double lp = probe(f, y, w, ny);
        x[i] = x0 - h;
        double lm = probe(f, y, w, ny);
        x[i] = x0;
        fd[i] = (lp - lm) / (2 * h);
    }
    double e = rel_err_d(g, fd, nx);
    free(y);
    free(fd);
    return e;
}

/* Finite differences in double, h = 1e-6. Measured 2026-12-01: at most
 * 2.5e-09 relative error over every kernel's backward (fp32 against fp64:
 * 7.8e-08; exact sums in double: 2e-16): every tolerance below is at most
 * 10x the figure measured. */
#define TOL 2.5e-8
static void report(const char *name, double err) {
    check(err < TOL, name, "rel err %.2e", err);
}

/* ---- matmul + bias ------------------------------------------------------ */
enum { M = 7, K = 13, N = 11 };
static double *mx, *mw, *mb;
static void f_matmul(double *y) {
    k_matmul_fwd_f64(y, mx, mw, M, K, N);
    k_bias_fwd_f64(y, mb, M, N);
}
static void test_matmul(void) {
    mx = rnd(M * K, 1, 1), mw = rnd(N * K, 2, 1), mb = rnd(N, 3, 1);
    double *w = rnd(M * N, 4, 1), *dx = zeros(M * K), *dw = zeros(N * K), *db = zeros(N);
    k_matmul_bwd_f64(dx, dw, w, mx, mw, M, K, N);
    k_bias_bwd_f64(db, w, M, N);
    report("matmul dx", fd_err(f_matmul, mx, M * K, dx, w, M * N));
    report("matmul dW", fd_err(f_matmul, mw, N * K, dw, w, M * N));
    report("bias db", fd_err(f_matmul, mb, N, db, w, M * N));
    /* fp32 instantiation vs double */
    float *xf = to_f(mx, M * K), *wf = to_f(mw, N * K), *yf = malloc(M * N * sizeof(float));
    double *y = zeros(M * N);
    f_matmul(y);
    k_matmul_fwd(yf, xf, wf, M, K, N);
    float *bf = to_f(mb, N);
    k_bias_fwd(yf, bf, M, N);
    float *yd = to_f(y, M * N);
    double e = rel_err_f(yf, yd, M * N);
    check(e < 7.5e-7, "matmul fp32 vs fp64", "rel err %.2e", e);
    free(w), free(dx), free(dw), free(db), free(xf), free(wf), free(yf), free(y), free(bf),
        free(yd);
}

/* ---- residual add -------------------------------------------------------- */
static double *aa, *ab;
static void f_add(double *y) {
    k_add_fwd_f64(y, aa, ab, 19);
}
static void test_add(void) {
    aa = rnd(19, 5, 1), ab = rnd(19, 6, 1);
    double *w = rnd(19, 7, 1), *da = zeros(19), *db = zeros(19);
    k_accum_f64(da, w, 19);
    k_accum_f64(db, w, 19);
    report("residual add da", fd_err(f_add, aa, 19, da, w, 19));
    report("residual add db", fd_err(f_add, ab, 19, db, w, 19));
    free(w), free(da), free(db);
}

/* ---- embedding / gather -------------------------------------------------- */
enum { EV = 9, EC = 5, EN = 13 };
static double *et;
static int32_t eids[EN];
static void f_embed(double *y) {
    k_embedding_fwd_f64(y, eids, et, EN, EC, 0);
}
static void f_gather(double *y) {
    k_gather_rows_f64(y, et, eids, EN, EC);
}
static void test_embedding(void) {
    et = rnd(EV * EC, 8, 1);
    for (int i = 0; i < EN; i++) eids[i] = (int32_t)(k_rng_mix(i) % EV); /* repeats */
    double *w = rnd(EN * EC, 9, 1), *dt = zeros(EV * EC), *dt2 = zeros(EV * EC);
    k_embedding_bwd_f64(dt, w, eids, EN, EC);
    report("embedding dtable", fd_err(f_embed, et, EV * EC, dt, w, EN * EC));
    k_scatter_rows_bwd_f64(dt2, w, eids, EN, EC);
    report("gather rows dx", fd_err(f_gather, et, EV * EC, dt2, w, EN * EC));
    free(w), free(dt), free(dt2);
}

/* ---- layernorm ----------------------------------------------------------- */
enum { LN = 5, LC = 17 };
static double *lx, *lw, *lb, lmean[LN], lrstd[LN];
static void f_ln(double *y) {
    k_layernorm_fwd_f64(y, lmean, lrstd, lx, lw, lb, LN, LC, 1e-5);
}
static void test_layernorm(void) {
    lx = rnd(LN * LC, 10, 2), lw = rnd(LC, 11, 1), lb = rnd(LC, 12, 1);
    double *w = rnd(LN * LC, 13, 1), *y = zeros(LN * LC);
    double *dx = zeros(LN * LC), *dw = zeros(LC), *db = zeros(LC);
    f_ln(y);
    k_layernorm_bwd_f64(dx, dw, db, w, lx, lw, lmean, lrstd, LN, LC);
    report("layernorm dx", fd_err(f_ln, lx, LN * LC, dx, w, LN * LC));
    report("layernorm dw", fd_err(f_ln, lw, LC, dw, w, LN * LC));
    report("layernorm db", fd_err(f_ln, lb, LC, db, w, LN * LC));
    float *xf = to_f(lx, LN * LC), *wf = to_f(lw, LC), *bf = to_f(lb, LC), *yf = to_f(y, LN * LC);
    float *yd = to_f(y, LN * LC), mf[LN], sf[LN];
    k_layernorm_fwd(yf, mf, sf, xf, wf, bf, LN, LC, 1e-5);
    double e = rel_err_f(yf, yd, LN * LC);
    check(e < 7.5e-7, "layernorm fp32 vs fp64", "rel err %.2e", e);
    free(w), free(y), free(dx), free(dw), free(db), free(xf), free(wf), free(bf), free(yf),
        free(yd);
}

/* ---- gelu ---------------------------------------------------------------- */
enum { GN = 23 };
static double *gx;
static int gform;
static void f_gelu(double *y) {
    k_gelu_fwd_f64(y, gx, GN, gform);
}
/* fp32 against fp64 over [-9, 9], measured 2026-12-02, both forms vectorised
 * (vmath.h): erf 1.2e-06 relative on y where |y| > 1e-3, 1.3e-07 absolute on
 * y'; tanh (through σ(2u), no cancellation) 1.2e-06 and 1.8e-07 (libm's
 * tanhf gave 4.6e-05 and 5.5e-07: 1 + tanh cancels in the negative tail) */
#define GELU_TOL_Y 1e-5
#define GELU_TOL_D 1e-6
static void test_gelu(int form, const char *name) {
    gform = form;
    gx = rnd(GN, 14 + form, 4);
    double *w = rnd(GN, 16, 1), *dx = zeros(GN);
    k_gelu_bwd_f64(dx, w, gx, GN, form);
    report(name, fd_err(f_gelu, gx, GN, dx, w, GN));
    /* values: gelu(1) = 0.8413447 (erf), 0.8411920 (tanh) */
    double one = 1, y1;
    k_gelu_fwd_f64(&y1, &one, 1, form);
    double want = form == K_GELU_ERF ? 0.8413447460685429 : 0.8411919906082768;
    check(fabs(y1 - want) < 1e-14, form == K_GELU_ERF ? "gelu erf value" : "gelu tanh value",
          "gelu(1) = %.16f", y1);
    free(w), free(dx), free(gx);
    /* the fp32 kernel (vectorised, kernels/cpu/vmath.h, for erf) against the
     * double one over [-9, 9], an odd count so the scalar tail runs too */
    enum { M = 4099 };
    float xf[M], yf[M], df[M], gf[M];
    double xd[M], yd[M], dd[M], gd[M];
    for (int i = 0; i < M; i++) {
        xd[i] = -9 + 18.0 * i / (M - 1), xf[i] = (float)xd[i];
        xd[i] = xf[i], gd[i] = 1, gf[i] = 1, dd[i] = 0, df[i] = 0;
    }
    k_gelu_fwd(yf, xf, M, form), k_gelu_fwd_f64(yd, xd, M, form);
    k_gelu_bwd(df, gf, xf, M, form), k_gelu_bwd_f64(dd, gd, xd, M, form);
    double ry = 0, ad = 0;
    for (int i = 0; i < M; i++) {
        if (fabs(yd[i]) > 1e-3 && fabs(yf[i] - yd[i]) / fabs(yd[i]) > ry)
            ry = fabs(yf[i] - yd[i]) / fabs(yd[i]);
        if (fabs(df[i] - dd[i]) > ad) ad = fabs(df[i] - dd[i]);
    }
    char nm[64];
    snprintf(nm, sizeof nm, "gelu %s fp32 vs fp64 over [-9, 9]",
             form == K_GELU_ERF ? "erf" : "tanh");
    check(ry < GELU_TOL_Y && ad < GELU_TOL_D, nm,
          "worst relative error of y (|y| > 1e-3) %.1e, absolute of y' %.1e", ry, ad);
    /* far tails, in vector lanes (8 values, no scalar tail): finite and equal
     * to the double kernel's (the tanh form's backward once overflowed
     * below x = -10.7 and gave NaN) */
    float tx[16] = {-1e4f, -300,   -50, -20, -12, -11, -10.75f, -10.5f,
                    10.5f, 10.75f, 11,  12,  20,  50,  300,     1e4f};
    float ty[16], tdx[16] = {0}, tg[16];
    double txd[16], tyd[16], tdd[16] = {0}, tgd[16];
    for (int i = 0; i < 16; i++) tg[i] = 1, tgd[i] = 1, txd[i] = tx[i];
    k_gelu_fwd(ty, tx, 16, form), k_gelu_fwd_f64(tyd, txd, 16, form);
    k_gelu_bwd(tdx, tg, tx, 16, form), k_gelu_bwd_f64(tdd, tgd, txd, 16, form);
    int fin = 1;
    double tail = 0;
    for (int i = 0; i < 16; i++) {
        fin = fin && isfinite(ty[i]) && isfinite(tdx[i]);
        double e = fabs(tdx[i] - tdd[i]) + fabs(ty[i] - tyd[i]) / fmax(1, fabs(tyd[i]));
        if (e > tail) tail = e;
    }
    snprintf(nm, sizeof nm, "gelu %s fp32 finite and exact in the tails (|x| 10.5 .. 1e4)",
             form == K_GELU_ERF ? "erf" : "tanh");
    check(fin && tail < 1e-6, nm, "16 values, worst error %.1e", tail);
}

/* ---- dropout ------------------------------------------------------------- */
enum { DN = 1001 };
static double *dxin;
static void f_drop(double *y) {
    k_dropout_fwd_f64(y, dxin, DN, 0.3, 42);
}
static void test_dropout(void) {
    dxin = rnd(DN, 17, 1);
    double *w = rnd(DN, 18, 1), *dx = zeros(DN), *y = zeros(DN);
    k_dropout_bwd_f64(dx, w, DN, 0.3, 42);
    report("dropout dx", fd_err(f_drop, dxin, DN, dx, w, DN));
    f_drop(y);
    int kept = 0;
    for (int i = 0; i < DN; i++) kept += y[i] != 0;
    check(fabs(kept / (double)DN - 0.7) < 0.05, "dropout keep rate", "kept %d of %d", kept, DN);
    free(w), free(dx), free(y);
    /* the kernels' integer test (km_dropout_keep_bits) keeps exactly what
     * km_dropout_keep does: over rates and draws, and at p equal to a draw
     * (kept) and one ulp above it (dropped) */
    const double ps[] = {1e-9, 0.1, 0.15, 0.3, 1.0 / 3, 0.5, 0.9};
    long differ = 0, n = 0;
    for (int k = 0; k < 7; k++)
        for (uint64_t i = 0; i < 100000; i++, n++)
            differ += km_dropout_keep(77 + k, i, ps[k]) !=
                      km_dropout_keep_bits(77 + k, i, km_dropout_threshold(ps[k]));
    for (uint64_t i = 0; i < 1000; i++, n += 2) {
        double u = k_rng_uniform(5, i), up = nextafter(u, 1);
        differ += !km_dropout_keep_bits(5, i, km_dropout_threshold(u)) ||
                  km_dropout_keep_bits(5, i, km_dropout_threshold(up)) ||
                  !km_dropout_keep(5, i, u) || km_dropout_keep(5, i, up);
    }
    check(differ == 0, "dropout's integer keep test equals the uniform draw's", "%ld of %ld differ",
          differ, n);
    /* chosen rows (the MLM head's, model.c) draw the masks whole samples
     * get, forward and backward, bit for bit: B = 3 samples of T = 5 rows,
     * C = 37, rows from each sample, the first and the last included */
    enum { RB = 3, RT = 5, RC = 37, RN = RB * RT * RC };
    static const int32_t rows[] = {0, 3, 4, 6, 10, 12, 14};
    enum { RR = sizeof rows / sizeof *rows };
    static float xs[RN], yw[RN], dw[RN], yr[RR * RC], dr[RR * RC];
    uint64_t seeds[RB] = {11, 0x9e3779b97f4a7c15ull, 3};
    for (int i = 0; i < RN; i++) xs[i] = (float)(i % 17) - 8.0f, dw[i] = 0.5f;
    for (int i = 0; i < RR * RC; i++) dr[i] = 0.5f;
    for (int s0 = 0; s0 < RB; s0++) {
        size_t o = (size_t)s0 * RT * RC;
        k_dropout_fwd(yw + o, xs + o, RT * RC, 0.3, seeds[s0]);
        k_dropout_bwd(dw + o, xs + o, RT * RC, 0.3, seeds[s0]);
    }
    float xr[RR * RC];
    for (int r = 0; r < RR; r++) memcpy(xr + r * RC, xs + rows[r] * RC, sizeof(float) * RC);
    k_dropout_rows_fwd(yr, xr, rows, RR, RT, RC, 0.3, seeds);
    k_dropout_rows_bwd(dr, xr, rows, RR, RT, RC, 0.3, seeds);
    int same = 1, dropped = 0;
    for (int r = 0; r < RR; r++) {
        same &= !memcmp(yr + r * RC, yw + rows[r] * RC, sizeof(float) * RC) &&
                !memcmp(dr + r * RC, dw + rows[r] * RC, sizeof(float) * RC);
        for (int c = 0; c < RC; c++) dropped += yr[r * RC + c] == 0 && xr[r * RC + c] != 0;
    }
    check(same && dropped > 0, "dropout on chosen rows: the whole samples' masks, bit for bit",
          "%d of %d elements dropped", dropped, RR * RC);
}

/* ---- attention ----------------------------------------------------------- */
enum { AB = 2, AT = 7, AC = 9, AH = 3 };
static double *aqkv, aprobs[AB * AH * AT * AT], ascratch[2 * AT * AT];
static uint8_t amask[AB * AT];
static int acausal;
static double adrop;
static uint64_t aseeds[AB] = {11, 12};
static double *arelb; /* NULL, or a relative bias [AH][2AT−1] */
static void f_attn(double *y) {
    k_attention_fwd_f64(y, aprobs, ascratch, aqkv, acausal ? NULL : amask, arelb, AB, AT, AC, AH,
                        acausal, adrop, aseeds);
}
static void f_attn_causal_masked(double *y) {
    k_attention_fwd_f64(y, aprobs, ascratch, aqkv, amask, NULL, AB, AT, AC, AH, 1, 0, aseeds);
}
static void test_attention(int causal, double p, const char *name) {
    acausal = causal, adrop = p;
    for (int i = 0; i < AB * AT; i++) amask[i] = !(i % AT >= AT - 2 && i / AT == 1); /* pad */
    aqkv = rnd(AB * AT * 3 * AC, 19, 1);
    double *w = rnd(AB * AT * AC, 20, 1), *y = zeros(AB * AT * AC), *dq = zeros(AB * AT * 3 * AC);
    f_attn(y);
    k_attention_bwd_f64(dq, NULL, ascratch, w, aqkv, aprobs, AB, AT, AC, AH, causal, p, aseeds);
    report(name, fd_err(f_attn, aqkv, AB * AT * 3 * AC, dq, w, AB * AT * AC));
    if (!causal && p == 0) {
        /* masked keys get exactly zero probability; rows sum to one */
        double worst = 0, masked = 0;
        for (int b = 0; b < AB; b++)
            for (int h = 0; h < AH; h++)
                for (int i = 0; i < AT; i++) {
                    double s = 0;
                    for (int j = 0; j < AT; j++) {
                        double pij = aprobs[((b * AH + h) * AT + i) * AT + j];
                        s += pij;
                        if (!amask[b * AT + j]) masked += fabs(pij);
                    }
                    worst = fmax(worst, fabs(s - 1));
                }
        check(worst < 2e-15 && masked == 0, "attention mask and normalisation",
              "max |Σp−1| %.1e, masked mass %.1e", worst, masked);
        float *qf = to_f(aqkv, AB * AT * 3 * AC), *yf = malloc(AB * AT * AC * sizeof(float));
        float *pf = malloc(sizeof(float) * AB * AH * AT * AT),
              *sf = malloc(sizeof(float) * 2 * AT * AT);
        float *yd = to_f(y, AB * AT * AC);
        k_attention_fwd(yf, pf, sf, qf, amask, NULL, AB, AT, AC, AH, 0, 0, aseeds);
        double e = rel_err_f(yf, yd, AB * AT * AC);
        check(e < 7.5e-7, "attention fp32 vs fp64", "rel err %.2e", e);
        free(qf), free(yf), free(pf), free(sf), free(yd);
    }
    free(w), free(y), free(dq), free(aqkv);
}

/* fp32 against fp64 at a length where the softmax's exp runs in vector lanes
 * with a remainder (T = 45), padded bidirectional and causal: y and P.
 * Measured 2026-12-02: 1.7e-07 relative on y, 1.3e-07 on P (the same with
 * libm's expf: the vectorised exp adds nothing measurable) */
static void test_attention_long(void) {
    enum { B = 2, T = 45, C = 16, H = 2 };
    double worst_y = 0, worst_p = 0;
    uint8_t mask[B * T];
    for (int i = 0; i < B * T; i++) mask[i] = !(i / T == 1 && i % T >= T - 13);
    double *qkv = rnd(B * T * 3 * C, 31, 2), *y = zeros(B * T * C), *pr = zeros(B * H * T * T),
           *sc = zeros(2 * T * T);
    float *qf = to_f(qkv, B * T * 3 * C), *yf = malloc(sizeof(float) * B * T * C),
          *pf = malloc(sizeof(float) * B * H * T * T), *sf = malloc(sizeof(float) * 2 * T * T);
    for (int causal = 0; causal < 2; causal++) {
        k_attention_fwd_f64(y, pr, sc, qkv, causal ? NULL : mask, NULL, B, T, C, H, causal, 0,
                            aseeds);
        k_attention_fwd(yf, pf, sf, qf, causal ? NULL : mask, NULL, B, T, C, H, causal, 0, aseeds);
        float *yd = to_f(y, B * T * C), *pd = to_f(pr, B * H * T * T);
        worst_y = fmax(worst_y, rel_err_f(yf, yd, B * T * C));
        worst_p = fmax(worst_p, rel_err_f(pf, pd, B * H * T * T));
        free(yd), free(pd);
    }
    check(worst_y < 1.5e-6 && worst_p < 1.5e-6,
          "attention fp32 vs fp64 at T = 45, padded and causal", "rel err y %.2e, P %.2e", worst_y,
          worst_p);
    free(qkv), free(y), free(pr), free(sc), free(qf), free(yf), free(pf), free(sf);
}

/* The fp32 kernels take a head's rows in blocks, each block's products on
 * one thread, causal rows only up to their block's last key: over several
 * blocks and a partial one (T = 70), with dropout and a relative bias,
 * causal and padded bidirectional, forward and backward against fp64, and
 * bit-identical on 1, 2 and 5 threads (a row's values do not depend on which
 * thread took its block; 5 threads' rows no longer fit the scratch and go to
 * the kernels' own workspace). Measured 2026-12-07: 2.5e-07 relative at most. */
static void test_attention_blocks(void) {
    enum { B = 2, T = 70, C = 32, H = 2 };
    size_t nq = (size_t)B * T * 3 * C, ny = (size_t)B * T * C, nr = (size_t)H * (2 * T - 1);
    size_t np = (size_t)B * H * T * T;
    double *q = rnd(nq, 61, 1), *g = rnd(ny, 62, 1), *rb = rnd(nr, 63, 1), worst = 0;
    float *qf = to_f(q, nq), *gf = to_f(g, ny), *rbf = to_f(rb, nr);
    uint8_t mask[B * T];
    for (int i = 0; i < B * T; i++) mask[i] = !(i / T == 1 && i % T >= T - 9);
    int same = 1, threads = k_get_threads();
    for (int causal = 0; causal < 2; causal++) {
        const uint8_t *km = causal ? NULL : mask;
        double *y = zeros(ny), *pr = zeros(np), *sc = zeros(2 * T * T), *d = zeros(nq),
               *db = zeros(nr);
        k_attention_fwd_f64(y, pr, sc, q, km, rb, B, T, C, H, causal, 0.1, aseeds);
        k_attention_bwd_f64(d, db, sc, g, q, pr, B, T, C, H, causal, 0.1, aseeds);
        float *out[3][3];
        const int nthreads[3] = {1, 2, 5};
        for (int t = 0; t < 3; t++) {
            float *yf = calloc(ny, 4), *pf = calloc(np, 4), *sf = malloc(2 * T * T * 4);
            /* the scratch as a previous head leaves it: nothing may read it unwritten */
            for (int i = 0; i < 2 * T * T; i++) sf[i] = NAN;
            float *df = calloc(nq, 4), *dbf = calloc(nr, 4);
            k_set_threads(nthreads[t]);
            k_attention_fwd(yf, pf, sf, qf, km, rbf, B, T, C, H, causal, 0.1, aseeds);
            k_attention_bwd(df, dbf, sf, gf, qf, pf, B, T, C, H, causal, 0.1, aseeds);
            out[t][0] = yf, out[t][1] = df, out[t][2] = dbf;
            free(pf), free(sf);
        }
        k_set_threads(threads);
        float *yd = to_f(y, ny), *dd = to_f(d, nq), *bd = to_f(db, nr);
        double e[3] = {rel_err_f(out[1][0], yd, ny), rel_err_f(out[1][1], dd, nq),
                       rel_err_f(out[1][2], bd, nr)};
        for (int i = 0; i < 3; i++)
            worst = isnan(e[i]) ? INFINITY : fmax(worst, e[i]); /* a NaN fails */
        for (int t = 1; t < 3; t++)
            same &= !memcmp(out[0][0], out[t][0], ny * 4) &&
                    !memcmp(out[0][1], out[t][1], nq * 4) && !memcmp(out[0][2], out[t][2], nr * 4);
        for (int t = 0; t < 3; t++) free(out[t][0]), free(out[t][1]), free(out[t][2]);
        free(y), free(pr), free(sc), free(d), free(db), free(yd), free(dd), free(bd);
    }
    check(worst < 2.5e-6 && same,
          "attention in row blocks (T = 70, dropout, bias; causal and padded): fp32 vs fp64, "
          "1 thread = 2 = 5 threads bit for bit",
          "rel err %.2e, threads %s", worst, same ? "identical" : "DIFFER");
    free(q), free(g), free(rb), free(qf), free(gf), free(rbf);
}

/* A key/value cache [H][CAP][hs] holding the keys and values of T rows of
 * qkv [T][3C], as the decoder fills it */
static void fill_kv_cache(double *K, double *V, const double *qkv, int T, int C, int H, int CAP) {
    int hs = C / H;
    for (int t = 0; t < T; t++)
        for (int h = 0; h < H; h++)
            for (int e = 0; e < hs; e++) {
                K[(h * CAP + t) * hs + e] = qkv[t * 3 * C + C + h * hs + e];
                V[(h * CAP + t) * hs + e] = qkv[t * 3 * C + 2 * C + h * hs + e];
            }
}

/* The decoding kernel over a key/value cache equals causal attention on the
 * whole sequence, row for row (double; the cache filled in two appends). */
static void test_attention_cached(void) {
    enum { T = 13, C = 12, H = 3, hs = C / H, CAP = 16 };
    double *qkv = rnd(T * 3 * C, 41, 1), y[T * C], pr[H * T * T], sc[2 * T * T];
    k_attention_fwd_f64(y, pr, sc, qkv, NULL, NULL, 1, T, C, H, 1, 0, aseeds);
    double K[H * CAP * hs], Vv[H * CAP * hs], yc[T * C], s[CAP];
    fill_kv_cache(K, Vv, qkv, T, C, H, CAP);
    k_attention_cached_f64(yc, s, qkv, 3 * C, K, Vv, NULL, 5, 0, C, H, CAP, 0, 0);
    k_attention_cached_f64(yc + 5 * C, s, qkv + 5 * 3 * C, 3 * C, K, Vv, NULL, T - 5, 5, C, H, CAP,
                           0, 0);
    double worst = 0;
    for (int i = 0; i < T * C; i++) worst = fmax(worst, fabs(yc[i] - y[i]));
    check(worst < 1e-14, "cached attention (decoding) equals causal attention", "max |Δ| %.1e",
          worst);
    free(qkv);
}

/* causal attention with padded keys too (a right-padded decoder batch):
 * backward against finite differences, and masked keys get no mass */
static void test_attention_causal_padded(void) {
    acausal = 1, adrop = 0;
    for (int i = 0; i < AB * AT; i++) amask[i] = !(i % AT >= AT - 3 && i / AT == 0);
    aqkv = rnd(AB * AT * 3 * AC, 23, 1);
    double *w = rnd(AB * AT * AC, 24, 1), *y = zeros(AB * AT * AC), *dq = zeros(AB * AT * 3 * AC);
    k_attention_fwd_f64(y, aprobs, ascratch, aqkv, amask, NULL, AB, AT, AC, AH, 1, 0, aseeds);
    k_attention_bwd_f64(dq, NULL, ascratch, w, aqkv, aprobs, AB, AT, AC, AH, 1, 0, aseeds);
    double masked = 0;
    for (int b = 0; b < AB; b++)
        for (int h = 0; h < AH; h++)
            for (int i = 0; i < AT; i++)
                for (int j = 0; j < AT; j++)
                    if (j > i || !amask[b * AT + j])
                        masked += fabs(aprobs[((b * AH + h) * AT + i) * AT + j]);
    double e = fd_err(f_attn_causal_masked, aqkv, AB * AT * 3 * AC, dq, w, AB * AT * AC);
    check(e < 1e-6 && masked == 0,
          "causal attention with padded keys: backward vs finite differences",
          "rel err %.1e, masked mass %.1e", e, masked);
    free(w), free(y), free(dq), free(aqkv);
}

/* ---- relative positions -------------------------------------------------- */
/* attention with a relative score bias (T5, ALiBi): the gradients of qkv and
 * of the bias against finite differences, bidirectional+padded and causal */
static void test_attention_relb(int causal, const char *name) {
    acausal = causal, adrop = 0;
    for (int i = 0; i < AB * AT; i++) amask[i] = !(i % AT >= AT - 2 && i / AT == 1);
    aqkv = rnd(AB * AT * 3 * AC, 51, 1);
    arelb = rnd(AH * (2 * AT - 1), 52, 1.5);
    double *w = rnd(AB * AT * AC, 53, 1), *y = zeros(AB * AT * AC), *dq = zeros(AB * AT * 3 * AC);
    double *db = zeros(AH * (2 * AT - 1));
    f_attn(y);
    k_attention_bwd_f64(dq, db, ascratch, w, aqkv, aprobs, AB, AT, AC, AH, causal, 0, aseeds);
    double eq = fd_err(f_attn, aqkv, AB * AT * 3 * AC, dq, w, AB * AT * AC);
    double eb = fd_err(f_attn, arelb, AH * (2 * AT - 1), db, w, AB * AT * AC);
    /* causal: offsets after the query never reach a score, so no gradient */
    double ahead = 0;
    for (int h = 0; causal && h < AH; h++)
        for (int r = 1; r < AT; r++) ahead += fabs(db[h * (2 * AT - 1) + AT - 1 + r]);
    check(eq < TOL && eb < TOL && ahead == 0, name, "rel err dqkv %.2e, dbias %.2e, ahead %.1e", eq,
          eb, ahead);
    free(w), free(y), free(dq), free(db), free(arelb), free(aqkv);
    arelb = NULL;
}

/* The decoding kernel with a bias by distance equals causal attention with
 * the same bias by offset (two appends, as test_attention_cached) */
static void test_attention_cached_bias(void) {
    enum { T = 11, C = 12, H = 3, hs = C / H, CAP = 14 };
    double *qkv = rnd(T * 3 * C, 61, 1), *relb = rnd(H * (2 * T - 1), 62, 1);
    double y[T * C], pr[H * T * T], sc[2 * T * T], db[H * CAP];
    k_attention_fwd_f64(y, pr, sc, qkv, NULL, relb, 1, T, C, H, 1, 0, aseeds);
    for (int h = 0; h < H; h++)
        for (int d = 0; d < CAP; d++)
            db[h * CAP + d] = d < T ? relb[h * (2 * T - 1) + T - 1 - d] : 0;
    double K[H * CAP * hs], Vv[H * CAP * hs], yc[T * C], s[CAP];
    fill_kv_cache(K, Vv, qkv, T, C, H, CAP);
    k_attention_cached_f64(yc, s, qkv, 3 * C, K, Vv, db, 4, 0, C, H, CAP, 0, 0);
    k_attention_cached_f64(yc + 4 * C, s, qkv + 4 * 3 * C, 3 * C, K, Vv, db, T - 4, 4, C, H, CAP, 0,
                           0);
    double worst = 0;
    for (int i = 0; i < T * C; i++) worst = fmax(worst, fabs(yc[i] - y[i]));
    /* and with a window of 4 and 1 global token, as the windowed kernel */
    double *wp = zeros(H * k_attention_window_probs_f64(T, 4, 1, 1));
    double *ws = zeros(k_attention_window_scratch_f64(T, 4, 1, 1));
    k_attention_window_fwd_f64(y, wp, ws, qkv, NULL, relb, 1, T, C, H, 1, 4, 1, 0, aseeds);
    k_attention_cached_f64(yc, s, qkv, 3 * C, K, Vv, db, 6, 0, C, H, CAP, 4, 1);
    k_attention_cached_f64(yc + 6 * C, s, qkv + 6 * 3 * C, 3 * C, K, Vv, db, T - 6, 6, C, H, CAP, 4,
                           1);
    double wworst = 0;
    for (int i = 0; i < T * C; i++) wworst = fmax(wworst, fabs(yc[i] - y[i]));
    check(worst < 1e-14 && wworst < 1e-14,
          "cached attention with a distance bias (and a window) equals causal attention with it",
          "max |Δ| %.1e, windowed %.1e", worst, wworst);
    free(qkv), free(relb), free(wp), free(ws);
}

/* RoPE: linear, so its backward is exact against finite differences; values
 * untouched; q'·k' depends on the positions' difference only; fp32 = fp64 */
enum { RB = 2, RT = 5, RC = 12, RH = 2 };
static double *rq;
static int rpos0;
static void f_rope(double *y) {
    memcpy(y, rq, sizeof(double) * RB * RT * 3 * RC);
    k_rope_fwd_f64(y, RB, RT, rpos0, RC, RH, 10000.0);
}
static void test_rope(void) {
    size_t n = (size_t)RB * RT * 3 * RC;
    rq = rnd(n, 71, 1);
    rpos0 = 3;
    double *w = rnd(n, 72, 1), *g = malloc(n * sizeof(double)), *y = zeros(n);
    memcpy(g, w, n * sizeof(double));
    k_rope_bwd_f64(g, RB, RT, rpos0, RC, RH, 10000.0);
    double e = fd_err(f_rope, rq, n, g, w, n);
    f_rope(y);
    int vsame = 1;
    for (size_t r = 0; r < (size_t)RB * RT; r++)
        vsame &= !memcmp(y + r * 3 * RC + 2 * RC, rq + r * 3 * RC + 2 * RC, RC * sizeof(double));
    report("rope forward/backward vs finite differences", vsame ? e : 1);

    /* one q and one k placed at positions (p, p + 3) for several p: their
     * rotated dot products agree per head */
    enum { H = 4, hs = 16, C = H * hs };
    double *qk = rnd(3 * C, 73, 1), dots[6][H];
    float gap = 0;
    for (int p = 0; p < 6; p++) {
        double a[3 * C], b[3 * C];
        memcpy(a, qk, sizeof a), memcpy(b, qk, sizeof b);
        k_rope_fwd_f64(a, 1, 1, 17 * p, C, H, 10000.0);
        k_rope_fwd_f64(b, 1, 1, 17 * p + 3, C, H, 10000.0);
        for (int h = 0; h < H; h++) {
            double d = 0;
            for (int i = 0; i < hs; i++) d += a[h * hs + i] * b[C + h * hs + i];
            dots[p][h] = d;
            gap = fmaxf(gap, (float)fabs(d - dots[0][h]));
        }
    }
    float *qf = to_f(rq, n), *yd = to_f(y, n);
    k_rope_fwd(qf, RB, RT, rpos0, RC, RH, 10000.0);
    double ef = rel_err_f(qf, yd, n);
    check(gap < 1e-12 && ef < 2e-7, "rope: q·k depends on the offset only; fp32 vs fp64",
          "max spread %.1e, fp32 rel err %.1e", gap, ef);
    free(rq), free(w), free(g), free(y), free(qk), free(qf), free(yd);
}

/* ---- windowed attention -------------------------------------------------- */
/* a direct reference: query i sees keys within its band and the first k;
 * the first k see every key (causal: every earlier one) */
static void naive_window(double *y, const double *qkv, const uint8_t *mask, const double *relb,
                         int B, int T, int C, int H, int causal, int w, int k) {
    int hs = C / H, lo = causal ? w - 1 : w / 2, hi = causal ? 0 : w / 2;
    double *s = malloc(sizeof(double) * T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                const double *q = qkv + ((size_t)b * T + i) * 3 * C + h * hs;
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < T; j++) {
                    int see = i < k || j < k || (j >= i - lo && j <= i + hi);
                    if (causal && j > i) see = 0;
                    if (mask && !mask[b * T + j]) see = 0;
                    s[j] = -INFINITY;
                    if (!see) continue;
                    const double *kk = qkv + ((size_t)b * T + j) * 3 * C + C + h * hs;
                    double d = 0;
                    for (int e = 0; e < hs; e++) d += q[e] * kk[e];
                    s[j] =
                        d / sqrt((double)hs) + (relb ? relb[h * (2 * T - 1) + T - 1 + j - i] : 0);
                    mx = fmax(mx, s[j]);
                }
                for (int j = 0; j < T; j++) sum += s[j] > -INFINITY ? exp(s[j] - mx) : 0;
                for (int e = 0; e < hs; e++) {
                    double acc = 0;
                    for (int j = 0; j < T; j++)
                        if (s[j] > -INFINITY)
                            acc += exp(s[j] - mx) / sum *
                                   qkv[((size_t)b * T + j) * 3 * C + 2 * C + h * hs + e];
                    y[((size_t)b * T + i) * C + h * hs + e] = acc;
                }
            }
    free(s);
}

static int wB, wT, wC, wH, wcausal, ww, wk;
static double *wqkv, *wrelb, *wprobs, *wscratch, wp;
static uint8_t *wmask;
static uint64_t wseeds[2] = {5, 6};
static void f_window(double *y) {
    k_attention_window_fwd_f64(y, wprobs, wscratch, wqkv, wmask, wrelb, wB, wT, wC, wH, wcausal, ww,
                               wk, wp, wseeds);
}
/* forward against the direct reference; backward (dqkv, dbias) against
 * finite differences, with dropout */
static void test_window(int causal, int T, int w, int k, const char *name) {
    wB = 2, wT = T, wC = 8, wH = 2, wcausal = causal, ww = w, wk = k;
    size_t nq = (size_t)wB * T * 3 * wC, ny = (size_t)wB * T * wC, nr = (size_t)wH * (2 * T - 1);
    wqkv = rnd(nq, 81, 1), wrelb = rnd(nr, 82, 1);
    wmask = malloc((size_t)wB * T);
    for (int i = 0; i < wB * T; i++) wmask[i] = !(i / T == 1 && i % T >= T - 3);
    wprobs = zeros((size_t)wB * wH * k_attention_window_probs_f64(T, w, k, causal));
    wscratch = zeros(k_attention_window_scratch_f64(T, w, k, causal));
    double *y = zeros(ny), *yr = zeros(ny), *wt = rnd(ny, 83, 1), *dq = zeros(nq), *db = zeros(nr);
    wp = 0;
    f_window(y);
    naive_window(yr, wqkv, wmask, wrelb, wB, T, wC, wH, causal, w, k);
    double ef = rel_err_d(y, yr, ny);
    wp = 0.2;
    f_window(y);
    k_attention_window_bwd_f64(dq, db, wscratch, wt, wqkv, wprobs, wB, T, wC, wH, causal, w, k, wp,
                               wseeds);
    double eq = fd_err(f_window, wqkv, nq, dq, wt, ny),
           eb = fd_err(f_window, wrelb, nr, db, wt, ny);
    check(ef < 1e-14 && eq < TOL && eb < TOL, name,
          "forward vs direct %.1e; backward vs FD: dqkv %.1e, dbias %.1e", ef, eq, eb);
    free(wqkv), free(wrelb), free(wmask), free(wprobs), free(wscratch), free(y), free(yr), free(wt);
    free(dq), free(db);
}

/* w ≥ 2T, no global tokens: the full kernel's outputs and gradients, with
 * dropout and a bias, over several query blocks (T = 150) */
static void test_window_full(void) {
    enum { B = 2, T = 150, C = 8, H = 2 };
    size_t nq = (size_t)B * T * 3 * C, ny = (size_t)B * T * C, nr = (size_t)H * (2 * T - 1);
    double *qkv = rnd(nq, 91, 1), *rb = rnd(nr, 92, 1), *g = rnd(ny, 93, 1);
    uint8_t mask[B * T];
    for (int i = 0; i < B * T; i++) mask[i] = !(i / T == 0 && i % T >= T - 20);
    double worst = 0;
    for (int causal = 0; causal < 2; causal++) {
        double *y1 = zeros(ny), *y2 = zeros(ny), *d1 = zeros(nq), *d2 = zeros(nq);
        double *b1 = zeros(nr), *b2 = zeros(nr), *p1 = zeros((size_t)B * H * T * T);
        double *s1 = zeros(k_attention_scratch_f64(T));
        double *p2 = zeros((size_t)B * H * k_attention_window_probs_f64(T, 2 * T, 0, causal));
        double *s2 = zeros(k_attention_window_scratch_f64(T, 2 * T, 0, causal));
        const uint8_t *km = causal ? NULL : mask;
        k_attention_fwd_f64(y1, p1, s1, qkv, km, rb, B, T, C, H, causal, 0.15, aseeds);
        k_attention_bwd_f64(d1, b1, s1, g, qkv, p1, B, T, C, H, causal, 0.15, aseeds);
        k_attention_window_fwd_f64(y2, p2, s2, qkv, km, rb, B, T, C, H, causal, 2 * T, 0, 0.15,
                                   aseeds);
        k_attention_window_bwd_f64(d2, b2, s2, g, qkv, p2, B, T, C, H, causal, 2 * T, 0, 0.15,
                                   aseeds);
        worst = fmax(worst, rel_err_d(y2, y1, ny));
        worst = fmax(worst, rel_err_d(d2, d1, nq));
        worst = fmax(worst, rel_err_d(b2, b1, nr));
        free(y1), free(y2), free(d1), free(d2), free(b1), free(b2), free(p1), free(s1), free(p2);
        free(s2);
    }
    check(worst < 1e-13, "windowed attention with w >= 2T equals full attention (T = 150)",
          "worst rel err of y, dqkv, dbias %.1e", worst);
    free(qkv), free(rb), free(g);
}

/* ---- cross-entropy ------------------------------------------------------- */
enum { XN = 6, XV = 29 };
static double *xz, xprobs[XN * XV];
static int32_t xlab[XN] = {3, -1, 28, 0, -100, 17};
static void f_xent(double *y) {
    k_xent_fwd_f64(y, xprobs, xz, xlab, XN, XV);
}
static void test_xent(void) {
    xz = rnd(XN * XV, 21, 3);
    double *w = zeros(XN), *dz = zeros(XN * XV), loss[XN];
    for (int i = 0; i < XN; i++) w[i] = 1; /* L = Σ losses */
    double total = k_xent_fwd_f64(loss, xprobs, xz, xlab, XN, XV);
    k_xent_bwd_f64(dz, xprobs, xlab, XN, XV, 1.0);
    report("cross-entropy dlogits", fd_err(f_xent, xz, XN * XV, dz, w, XN));
    double s = 0;
    for (int i = 0; i < XN; i++) s += loss[i];
    check(fabs(s - total) < 1e-13 && loss[1] == 0 && loss[4] == 0, "cross-entropy ignores rows",
          "Σ %.6f total %.6f", s, total);
    /* in place: probs aliasing logits gives the same losses */
    double *z2 = malloc(sizeof(double) * XN * XV), loss2[XN];
    memcpy(z2, xz, sizeof(double) * XN * XV);
    double t2 = k_xent_fwd_f64(loss2, z2, z2, xlab, XN, XV);
    check(fabs(t2 - total) < 1e-13, "cross-entropy in place", "%.17g vs %.17g", t2, total);
    /* fp32 (exp in vector lanes, V = 29: whole blocks and a remainder) against
     * fp64; measured 2026-12-02: 7.0e-08 relative on the probabilities, 7.9e-09
     * on the total loss (tolerances 7e-7 and 7e-8). Unlabelled rows stay 0. */
    float *zf = to_f(xz, XN * XV), *pf = calloc(XN * XV, sizeof(float)), lf[XN];
    double tf = k_xent_fwd(lf, pf, zf, xlab, XN, XV);
    float *pd = to_f(xprobs, XN * XV);
    double ep = rel_err_f(pf, pd, XN * XV), el = fabs(tf - total) / total;
    check(ep < 7e-7 && el < 7e-8, "cross-entropy fp32 vs fp64", "rel err probs %.2e, loss %.2e", ep,
          el);
    free(zf), free(pf), free(pd);
    free(w), free(dz), free(z2), free(xz);
}

/* ---- determinism of the fp32 kernels ------------------------------------- */
static void test_determinism(void) {
    enum { B = 3, T = 33, C = 24, H = 4 };
    size_t nq = (size_t)B * T * 3 * C, ny = (size_t)B * T * C;
    double *q = rnd(nq, 30, 1), *g = rnd(ny, 31, 1);
    float *qf = to_f(q, nq), *gf = to_f(g, ny);
    float *y = malloc(ny * 4), *p = malloc((size_t)B * H * T * T * 4), *s = malloc(2 * T * T * 4);
    float *d1 = calloc(nq, 4), *d2 = calloc(nq, 4);
    uint64_t seeds[B] = {1, 2, 3};
    size_t nr = (size_t)H * (2 * T - 1);
    double *rb = rnd(nr, 32, 1);
    float *rbf = to_f(rb, nr), *b1 = calloc(nr, 4), *b2 = calloc(nr, 4);
    k_attention_fwd(y, p, s, qf, NULL, rbf, B, T, C, H, 1, 0.1, seeds);
    k_attention_bwd(d1, b1, s, gf, qf, p, B, T, C, H, 1, 0.1, seeds);
    k_attention_fwd(y, p, s, qf, NULL, rbf, B, T, C, H, 1, 0.1, seeds);
    k_attention_bwd(d2, b2, s, gf, qf, p, B, T, C, H, 1, 0.1, seeds);
    check(memcmp(d1, d2, nq * 4) == 0 && memcmp(b1, b2, nr * 4) == 0,
          "attention backward bit-identical run to run (with a relative bias)", NULL);
    free(q), free(g), free(qf), free(gf), free(y), free(p), free(s), free(d1), free(d2);
    free(rb), free(rbf), free(b1), free(b2);
}

/* ---- optimizer-state encodings ------------------------------------------ */
static void test_state_codes(void) {
    /* bf16: nearest even, NaN stays NaN, Inf stays Inf */
    /* bf16 keeps 7 mantissa bits: its ulp at 1 is 2^-7 */
    float one_ulp = 1.0f + 1.0f / 128, tie_down = 1.0f + 1.0f / 256; /* halfway to 1 + ulp */
    float tie_up = 1.0f + 3.0f / 256, nan = NAN, inf = INFINITY;     /* halfway to 1 + 2 ulp */
    int bf = km_from_bf16(km_to_bf16(one_ulp)) == one_ulp &&
             km_from_bf16(km_to_bf16(tie_down)) == 1.0f &&
             km_from_bf16(km_to_bf16(tie_up)) == 1.0f + 2.0f / 128 &&
             isnan(km_from_bf16(km_to_bf16(nan))) && km_from_bf16(km_to_bf16(-inf)) == -inf;
    check(bf, "bf16 rounds to nearest even (ties both ways), keeps NaN and Inf", NULL);
    /* stochastic rounding: unbiased, bf16 values exact */
    double mean = 0;
    float xs = 1.0f + 0.3f / 128;
    for (uint32_t i = 0; i < 65536; i++) mean += km_from_bf16(km_to_bf16_sr(xs, i));
    mean /= 65536;
    int exact = km_from_bf16(km_to_bf16_sr(one_ulp, 0xffff)) == one_ulp &&
                km_from_bf16(km_to_bf16_sr(-3.0f, 0xffff)) == -3.0f;
    check(fabs(mean - xs) < 1e-7 && exact,
          "bf16 stochastic rounding: the mean over all 2^16 draws is x; bf16 values stay exact",
          "x = 1 + 0.3 ulp: mean %.9f, x %.9f", mean, xs);
    /* q8: the table search equals the binary search, at every code, halfway
     * between neighbours (±1 ulp) and on 2M log-uniform values of each sign */
    long bad = 0, n = 0;
    for (int sg = 0; sg < 2; sg++) {
        const float *c = k_q8_code(sg);
        for (int i = 0; i < 256; i++) {
            float mid = i < 255 ? (c[i] + c[i + 1]) / 2 : 1.0f;
            float ys[4] = {c[i], mid, nextafterf(mid, -2), nextafterf(mid, 2)};
            for (int k = 0; k < 4; k++, n++)
                bad += k_q8_quantize(ys[k], sg) != km_q8_index(c, ys[k]);
        }
        for (long i = 0; i < 2000000; i++, n++) {
            double e = -12 * k_rng_uniform(77 + sg, (uint64_t)i);
            float y = (float)pow(10, e) * (sg && (i & 1) ? -1 : 1);
            bad += k_q8_quantize(y, sg) != km_q8_index(c, y);
        }
    }
    check(bad == 0, "q8 table search equals the binary search", "%ld values, %ld differ", n, bad);
    /* q8 round trip: encoding decoded states gives back the same bytes, also
     * for a block whose extreme is negative (the signed code has no −1) */
    enum { N = 5000 };
    float *x = malloc(N * 4), *y = malloc(N * 4);
    uint8_t q1[N], q2[N];
    float a1[3], a2[3];
    for (int i = 0; i < N; i++)
        x[i] = (float)(0.3 * (2 * k_rng_uniform(5, (uint64_t)i) - 1) * (i % 97));
    x[100] = -40, x[2100] = 40, x[4100] = -50; /* negative extremes in blocks 0 and 2 */
    KState s1 = {KST_Q8, q1, a1, k_q8_code(1), 0, 0}, s2 = {KST_Q8, q2, a2, k_q8_code(1), 0, 0};
    k_state_set(&s1, N, x);
    k_state_get(&s1, N, 0, N, y);
    k_state_set(&s2, N, y);
    double err = 0;
    for (int i = 0; i < N; i++) err = fmax(err, fabs(y[i] - x[i]) / a1[i / K_Q8_BLOCK]);
    check(!memcmp(q1, q2, N) && !memcmp(a1, a2, sizeof a1) && err < 0.02,
          "q8 encode(decode(q)) = q; decode within 2% of the block's absmax",
          "3 blocks, worst error %.4f of absmax", err);
    free(x), free(y);
}

/* The bf16 array kernels of mixed precision against the scalar formulas,
 * and the squared norm against a double sum. */
static void test_bf16_arrays(void) {
    enum { N = 100003 }; /* above the threaded threshold, odd */
    float *x = malloc(N * 4), *w = malloc(N * 4), *y = malloc(N * 4);
    uint16_t *h = malloc(N * 2), *g = malloc(N * 2);
    for (int i = 0; i < N; i++) {
        x[i] = (float)(3 * (2 * k_rng_uniform(11, (uint64_t)i) - 1));
        w[i] = (float)(1e-3 * (2 * k_rng_uniform(12, (uint64_t)i) - 1));
    }
    k_f32_to_bf16(h, x, N);
    k_bf16_to_f32(y, h, N);
    long bad = 0;
    for (int i = 0; i < N; i++) bad += h[i] != km_to_bf16(x[i]) || y[i] != km_from_bf16(h[i]);
    memcpy(g, h, N * 2);
    k_bf16_add_f32(g, w, N); /* g = bf16(h + w) */
    for (int i = 0; i < N; i++) bad += g[i] != km_to_bf16(km_from_bf16(h[i]) + w[i]);
    memcpy(y, w, N * 4);
    k_f32_add_bf16(y, h, N); /* y = w + h */
    for (int i = 0; i < N; i++) bad += y[i] != w[i] + km_from_bf16(h[i]);
    uint16_t *s = malloc(N * 2);
    memcpy(s, h, N * 2);
    k_bf16_add_bf16(s, g, N); /* s = bf16(h + g) */
    for (int i = 0; i < N; i++) bad += s[i] != km_to_bf16(km_from_bf16(h[i]) + km_from_bf16(g[i]));
    double ref = 0;
    for (int i = 0; i < N; i++) ref += (double)km_from_bf16(h[i]) * km_from_bf16(h[i]);
    double got = k_sumsq_bf16(h, N);
    check(bad == 0 && fabs(got - ref) <= 1e-12 * ref,
          "bf16 arrays: conversions and fp32-sum accumulations equal the scalar formulas; "
          "the squared norm equals a double sum",
          "%d elements, %ld differ; sumsq %.17g vs %.17g", N, bad, got, ref);
    free(x), free(w), free(y), free(h), free(g), free(s);
}

/* A LayerNorm gain's bf16 copy kept as its distance from 1 (mpi/zero.c's
 * offsets): the formulas, threaded or not; gains within 2⁻⁸ of 1, which a
 * plain bf16 copy rounds to 1 or its neighbours, come back within 2⁻⁸ (bf16's rounding) of
 * their distance from 1 (plus fp32's 2⁻²⁴ at 1), and x − 1 is exact (Sterbenz), so the copy is the
 * nearest bf16 to that distance. */
static void test_bf16_offset(void) {
    enum { N = 100003 };
    float *x = malloc(N * 4), *y = malloc(N * 4), *z = malloc(N * 4);
    uint16_t *h = malloc(N * 2);
    for (int i = 0; i < N; i++) x[i] = (float)(1 + 4e-3 * (2 * k_rng_uniform(13, (uint64_t)i) - 1));
    long bad = 0;
    double worst = 0, plain = 0;
    const int sizes[2] = {7, N}; /* one thread, then the team */
    for (int k = 0; k < 2; k++) {
        int n = sizes[k];
        k_f32_to_bf16_off(h, x, n, 1.0f);
        k_bf16_to_f32_off(y, h, n, 1.0f);
        k_f32_to_bf16(h, x, n);
        k_bf16_to_f32(z, h, n);
        for (int i = 0; i < n; i++) {
            double d = fabs((double)x[i] - 1);
            bad += y[i] != km_from_bf16(km_to_bf16(x[i] - 1.0f)) + 1.0f ||
                   (double)(x[i] - 1.0f) != (double)x[i] - 1;
            if (d < 1.0 / 1024) continue; /* where fp32's own step at 1 (2^-24) is small */
            worst = fmax(worst, fabs((double)y[i] - x[i]) / d);
            plain = fmax(plain, fabs((double)z[i] - x[i]) / d);
        }
    }
    check(bad == 0 && worst <= 1.0 / 256 + 1.0 / 16384 && plain > 0.4,
          "bf16 copies as the distance from 1: gains near 1 kept to 2^-8 of that distance",
          "%ld differ; worst error %.3g of the distance (a plain bf16 copy: %.3g)", bad, worst,
          plain);
    free(x), free(y), free(z), free(h);
}

/* k_sgemm through each provider the build has: every transpose pair, a
 * leading dimension wider than the matrix, beta 0 and 1, against a double
 * product (largest error measured 1.6e-06 through OpenBLAS Cooperlake, 1.8e-06
 * through oneDNN 2.6.3: limit 1e-5); the same call twice gives the same
 * bits. */
static void test_sgemm_providers(void) {
    enum { M = 37, N = 29, K = 45, LD = 53 };
    float *a = malloc(sizeof(float) * K * LD), *b = malloc(sizeof(float) * K * LD),
          *c0 = malloc(sizeof(float) * M * LD), *c = malloc(sizeof(float) * M * LD),
          *c2 = malloc(sizeof(float) * M * LD);
    for (int i = 0; i < K * LD; i++) {
        a[i] = (float)(2 * k_rng_uniform(21, (uint64_t)i) - 1);
        b[i] = (float)(2 * k_rng_uniform(22, (uint64_t)i) - 1);
    }
    for (int i = 0; i < M * LD; i++) c0[i] = (float)(2 * k_rng_uniform(23, (uint64_t)i) - 1);
    KSgemm was = k_sgemm_get();
    for (int p = K_SGEMM_BLAS; p <= K_SGEMM_ONEDNN; p++) {
        char name[128];
        snprintf(name, sizeof name,
                 "k_sgemm through %s: 4 transposes x beta 0/1 equal a double "
                 "product, and repeat bit for bit",
                 p == K_SGEMM_BLAS ? "the BLAS" : "oneDNN");
        if (k_sgemm_set((KSgemm)p)) {
#ifdef ZEROPT_DNNL
            check(0, name, "k_sgemm_set refused a provider this build has");
#else
            check(1, name, "a build without oneDNN refuses it (k_sgemm_set -1)");
#endif
            continue;
        }
        double worst = 0;
        int same = 1;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int beta = 0; beta < 2; beta++) {
                    /* A is M×K (or K×M stored), B is K×N (or N×K stored), rows LD apart */
                    memcpy(c, c0, sizeof(float) * M * LD);
                    k_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                            tb ? CblasTrans : CblasNoTrans, M, N, K, 0.75f, a, LD, b, LD,
                            (float)beta, c, LD);
                    memcpy(c2, c0, sizeof(float) * M * LD);
                    k_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                            tb ? CblasTrans : CblasNoTrans, M, N, K, 0.75f, a, LD, b, LD,
                            (float)beta, c2, LD);
                    same &= !memcmp(c, c2, sizeof(float) * M * LD);
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++) {
                            double r = beta * (double)c0[i * LD + j];
                            for (int k = 0; k < K; k++)
                                r += 0.75 * (double)(ta ? a[k * LD + i] : a[i * LD + k]) *
                                     (tb ? b[j * LD + k] : b[k * LD + j]);
                            double e = fabs(c[i * LD + j] - r);
                            if (e > worst) worst = e;
                        }
                    for (int i = 0; i < M; i++) /* columns past N are not touched */
                        for (int j = N; j < LD; j++) same &= c[i * LD + j] == c0[i * LD + j];
                }
        check(worst < 1e-5 && same, name, "largest error %.2e (limit 1e-5)%s", worst,
              same ? "" : "; a repeat or the padding differs");
    }
    k_sgemm_set(was);
    free(a), free(b), free(c0), free(c), free(c2);
}

#ifdef ZEROPT_DNNL
/* k_sgemm_bf16 on operands that mirror bf16 arrays (k_bf16_mirror_add: how
 * ZeRO hands the weights' bf16 copies to the products): the same bits as
 * the converted panels, for every transpose pair, beta 0 and 1, in one block
 * and in blocks (a wide leading dimension read in place). The mirror is
 * really read: one that holds 2·b gives exactly twice the product; one that
 * holds only part of the operand, or one dropped, is not read. */
static void test_sgemm_bf16_mirrors(const float *a, const float *b, const float *c0, float *c,
                                    float *c2, int M, int N, int K, int LD) {
    size_t n = (size_t)K * LD;
    float *af = malloc(n * sizeof(float)), *bf = malloc(n * sizeof(float));
    uint16_t *a16 = malloc(n * 2), *b16 = malloc(n * 2), *b2 = malloc(n * 2);
    for (size_t i = 0; i < n; i++) {
        a16[i] = km_to_bf16(a[i]), b16[i] = km_to_bf16(b[i]), b2[i] = km_to_bf16(2 * b[i]);
        af[i] = km_from_bf16(a16[i]), bf[i] = km_from_bf16(b16[i]);
    }
    int same = 1, twice = 1, partial = 1, dropped = 1;
    for (int blocks = 0; blocks < 2; blocks++) {
        k_bf16_gemm_panel(blocks ? 256 : (size_t)4 << 20);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int beta = 0; beta < 2; beta++) {
                    int TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
                    size_t bytes = sizeof(float) * M * LD;
                    memcpy(c, c0, bytes); /* packed */
                    k_sgemm_bf16(TA, TB, M, N, K, 0.75f, af, LD, bf, LD, (float)beta, c, LD);
                    k_bf16_mirror_add(1, af, a16, n);
                    k_bf16_mirror_add(2, bf, b16, n);
                    memcpy(c2, c0, bytes);
                    k_sgemm_bf16(TA, TB, M, N, K, 0.75f, af, LD, bf, LD, (float)beta, c2, LD);
                    same &= !memcmp(c, c2, bytes);
                    k_bf16_mirror_drop(2);
                    k_bf16_mirror_add(2, bf, b2, n);
                    memset(c2, 0, bytes);
                    k_sgemm_bf16(TA, TB, M, N, K, 0.75f, af, LD, bf, LD, 0, c2, LD);
                    k_bf16_mirror_drop(1), k_bf16_mirror_drop(2);
                    float *ref = malloc(bytes);
                    memset(ref, 0, bytes);
                    k_sgemm_bf16(TA, TB, M, N, K, 0.75f, af, LD, bf, LD, 0, ref, LD);
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++) twice &= c2[i * LD + j] == 2 * ref[i * LD + j];
                    k_bf16_mirror_add(2, bf, b2, n / 2); /* half of B: packed */
                    memset(c2, 0, bytes);
                    k_sgemm_bf16(TA, TB, M, N, K, 0.75f, af, LD, bf, LD, 0, c2, LD);
                    partial &= !memcmp(c2, ref, bytes);
                    k_bf16_mirror_drop(2);
                    memset(c2, 0, bytes);
                    k_sgemm_bf16(TA, TB, M, N, K, 0.75f, af, LD, bf, LD, 0, c2, LD);
                    dropped &= !memcmp(c2, ref, bytes);
                    free(ref);
                }
    }
    k_bf16_gemm_panel((size_t)4 << 20);
    check(same, "k_sgemm_bf16 on mirrored operands",
          "the bf16 arrays read in place give the converted panels' bits (4 transposes x beta "
          "0/1, one block and blocks)%s",
          same ? "" : ": they differ");
    check(twice && partial && dropped,
          "k_sgemm_bf16 reads a mirror only when it holds the whole operand",
          "a mirror of 2b: %s; half of B mirrored: %s; after the drop: %s",
          twice ? "twice the product" : "NOT twice", partial ? "packed" : "READ",
          dropped ? "packed" : "READ");
    free(af), free(bf), free(a16), free(b16), free(b2);
}
#endif

/* k_embedding_fwd reads a mirrored table from its bf16 copy (the token
 * embedding's view is left unwritten): here the fp32 table is NaN; set and
 * accumulate; once dropped (or never kept: no bf16 instructions, a build
 * without oneDNN) it reads the table */
static void test_embedding_mirror(void) {
    enum { V = 5, EC = 8, EN = 6 };
    float tab[V * EC], y1[EN * EC], y2[EN * EC];
    uint16_t t16[V * EC];
    int32_t ids[EN] = {4, 0, 3, 3, 1, 4};
    for (int i = 0; i < V * EC; i++) t16[i] = km_to_bf16(0.37f * i - 3), tab[i] = NAN;
    int kept = k_bf16_mirror_add(3, tab, t16, V * EC), good = 1;
    k_embedding_fwd(y1, ids, tab, EN, EC, 0);
    for (int i = 0; i < EN * EC; i++) y2[i] = 0.5f;
    k_embedding_fwd(y2, ids, tab, EN, EC, 1);
    k_bf16_mirror_drop(3);
    for (int n = 0; n < EN; n++)
        for (int c = 0; c < EC; c++) {
            float want = km_from_bf16(t16[ids[n] * EC + c]);
            good &= kept ? y1[n * EC + c] == want && y2[n * EC + c] == 0.5f + want
                         : isnan(y1[n * EC + c]) && isnan(y2[n * EC + c]);
        }
    for (int i = 0; i < V * EC; i++) tab[i] = 1.0f;
    k_embedding_fwd(y1, ids, tab, EN, EC, 0);
    for (int i = 0; i < EN * EC; i++) good &= y1[i] == 1.0f;
    check(good, "k_embedding_fwd reads a mirrored table from its bf16 copy, and only while kept",
          "%s",
          kept ? "set and accumulate from the copy; the table after the drop"
               : "no mirror kept here (no bf16 instructions): the table, as it must");
}

/* k_sgemm_bf16: every transpose pair, beta 0 and 1, alpha, wide leading
 * dimensions, against a double product of the bf16-rounded inputs — in one
 * block, and with panels so small that the inner dimension, the rows and
 * the columns are all split (sums across inner blocks go through C); each
 * call twice gives the same bits, and the unrounded fp32 product is far
 * (the inputs really are rounded). Then the linear layer follows the switch
 * (k_bf16_gemm_set). Largest error measured 6.5e-07 through AMX (limit 1e-5). */
static void test_sgemm_bf16(void) {
#ifndef ZEROPT_DNNL
    check(!k_bf16_gemm_available() && !k_bf16_gemm_impl(), "k_sgemm_bf16: one block",
          "a build without oneDNN has none");
    check(1, "k_sgemm_bf16: blocks", "a build without oneDNN has none");
    check(1, "k_matmul_fwd/bwd follow k_bf16_gemm_set", "a build without oneDNN has none");
    check(1, "k_sgemm_bf16 on mirrored operands", "a build without oneDNN has none");
    check(1, "k_sgemm_bf16 reads a mirror only when it holds the whole operand",
          "a build without oneDNN has none");
#else
    enum { M = 37, N = 29, K = 45, LD = 53 };
    float *a = malloc(sizeof(float) * K * LD), *b = malloc(sizeof(float) * K * LD),
          *c0 = malloc(sizeof(float) * M * LD), *c = malloc(sizeof(float) * M * LD),
          *c2 = malloc(sizeof(float) * M * LD);
    for (int i = 0; i < K * LD; i++) {
        a[i] = (float)(2 * k_rng_uniform(31, (uint64_t)i) - 1);
        b[i] = (float)(2 * k_rng_uniform(32, (uint64_t)i) - 1);
    }
    for (int i = 0; i < M * LD; i++) c0[i] = (float)(2 * k_rng_uniform(33, (uint64_t)i) - 1);
#define R16(x) ((double)km_from_bf16(km_to_bf16(x)))
    for (int blocks = 0; blocks < 2; blocks++) {
        k_bf16_gemm_panel(blocks ? 256 : (size_t)4 << 20);
        double worst = 0, far = 1e30;
        int same = 1;
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int beta = 0; beta < 2; beta++) {
                    float alpha = beta ? 1.0f : 0.75f;
                    memcpy(c, c0, sizeof(float) * M * LD);
                    k_sgemm_bf16(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                                 N, K, alpha, a, LD, b, LD, (float)beta, c, LD);
                    memcpy(c2, c0, sizeof(float) * M * LD);
                    k_sgemm_bf16(ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                                 N, K, alpha, a, LD, b, LD, (float)beta, c2, LD);
                    same &= !memcmp(c, c2, sizeof(float) * M * LD);
                    double dist = 0;
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++) {
                            double r = beta * (double)c0[i * LD + j], r32 = r;
                            for (int k = 0; k < K; k++) {
                                float x = ta ? a[k * LD + i] : a[i * LD + k],
                                      y = tb ? b[j * LD + k] : b[k * LD + j];
                                r += alpha * R16(x) * R16(y);
                                r32 += alpha * (double)x * y;
                            }
                            double e = fabs(c[i * LD + j] - r), d = fabs(c[i * LD + j] - r32);
                            if (e > worst) worst = e;
                            if (d > dist) dist = d;
                        }
                    if (dist < far) far = dist;
                    for (int i = 0; i < M; i++) /* columns past N are not touched */
                        for (int j = N; j < LD; j++) same &= c[i * LD + j] == c0[i * LD + j];
                }
        check(worst < 1e-5 && same && far > 1e-3,
              blocks ? "k_sgemm_bf16 in blocks (inner dimension, rows and columns split): equals "
                       "a double product of bf16-rounded inputs, repeats bit for bit"
                     : "k_sgemm_bf16 in one block: 4 transposes x beta 0/1 equal a double "
                       "product of bf16-rounded inputs, repeat bit for bit",
              "largest error %.2e (limit 1e-5); the unrounded product is %.1e away; %s%s", worst,
              far, k_bf16_gemm_impl(), same ? "" : "; a repeat or the padding differs");
    }
    k_bf16_gemm_panel((size_t)4 << 20);
    /* the linear layer: y = x·Wᵀ, dx += dy·W, dW += dyᵀ·x through the switch */
    float *y = calloc(M * N, sizeof(float)), *y2 = calloc(M * N, sizeof(float));
    float *dx = calloc(M * K, sizeof(float)), *dx2 = calloc(M * K, sizeof(float));
    float *dw = calloc(N * K, sizeof(float)), *dw2 = calloc(N * K, sizeof(float));
    k_bf16_gemm_set(1);
    k_matmul_fwd(y, a, b, M, K, N);
    k_matmul_bwd(dx, dw, c0, a, b, M, K, N);
    k_bf16_gemm_set(0);
    k_sgemm_bf16(CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, y2, N);
    k_sgemm_bf16(CblasNoTrans, CblasNoTrans, M, K, N, 1, c0, N, b, K, 1, dx2, K);
    k_sgemm_bf16(CblasTrans, CblasNoTrans, N, K, M, 1, c0, N, a, K, 1, dw2, K);
    int on = !memcmp(y, y2, sizeof(float) * M * N) && !memcmp(dx, dx2, sizeof(float) * M * K) &&
             !memcmp(dw, dw2, sizeof(float) * N * K);
    k_matmul_fwd(y, a, b, M, K, N);
    int off = memcmp(y, y2, sizeof(float) * M * N) != 0;
    check(on && off && !k_bf16_gemm_on(), "k_matmul_fwd/bwd follow k_bf16_gemm_set",
          "on: %s; off: %s", on ? "the bf16 product's bits" : "differs from k_sgemm_bf16",
          off ? "the fp32 product" : "still the bf16 product");
    free(y), free(y2), free(dx), free(dx2), free(dw), free(dw2);
    test_sgemm_bf16_mirrors(a, b, c0, c, c2, M, N, K, LD);
    free(a), free(b), free(c0), free(c), free(c2);
#endif
}

int main(void) {
    check_plan(61);
    test_sgemm_providers();
    test_sgemm_bf16();
    test_embedding_mirror();
    test_bf16_arrays();
    test_bf16_offset();
    test_matmul();
    test_add();
    test_embedding();
    test_layernorm();
    test_gelu(K_GELU_TANH, "gelu tanh dx");
    test_gelu(K_GELU_ERF, "gelu erf dx");
    test_dropout();
    test_attention(0, 0, "attention bidirectional+padding dqkv");
    test_attention(1, 0, "attention causal dqkv");
    test_attention(0, 0.2, "attention with dropout dqkv");
    test_attention_long();
    test_attention_blocks();
    test_attention_cached();
    test_attention_causal_padded();
    test_attention_relb(0, "attention with a relative bias, bidirectional+padding: dqkv, dbias");
    test_attention_relb(1, "attention with a relative bias, causal: dqkv, dbias");
    test_attention_cached_bias();
    test_rope();
    test_window(0, 9, 4, 2, "windowed attention, bidirectional+padding, w = 4, 2 global tokens");
    test_window(1, 9, 3, 1, "windowed attention, causal, w = 3, 1 global token");
    test_window(0, 70, 6, 1, "windowed attention over two query blocks (T = 70, w = 6)");
    test_window_full();
    test_xent();
    test_determinism();
    test_state_codes();
    return check_exit();
}
