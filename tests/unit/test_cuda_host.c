/*
 * test_cuda_host.c — what the CUDA backend computes on the host, checked
 * without a GPU: the launch geometry and workspace sizes of
 * kernels/cuda/geometry.c, and the single-source formulas of kmath.h that
 * both backends evaluate (against double-precision references and finite
 * differences, and against the CPU kernels that call them).
 */
#include "kernels/cuda/geometry.h"
#include "kernels/kernels.h"
#include "kernels/kmath.h"
#include "kernels/optim_math.h"
#include "tests/lib/check.h"

static void geometry(void) {
    check(kc_grid_1d(0) == 0 && kc_grid_1d(1) == 1 && kc_grid_1d(KC_BLOCK) == 1 &&
              kc_grid_1d(KC_BLOCK + 1) == 2 && kc_grid_1d((size_t)1 << 40) == KC_MAX_GRID,
          "1-D grids: ceil(n / block), capped (the kernels stride beyond)", NULL);
    int ok = 1;
    for (int C = 1; C <= 70000; C += 7) {
        unsigned t = kc_row_threads(C);
        ok &= t % 32 == 0 && t >= 32 && t <= 1024 && (t == 1024 || t == 32 || t * 4 >= (unsigned)C);
    }
    check(ok, "row kernels: whole warps, 32..1024 threads, about four elements a thread", NULL);
    check(kc_attention_scratch_elems(37, 4) == 2 * 4 * 37 * 37,
          "attention scratch: 2·NH·T² floats (one sample's heads)", NULL);
    check(kc_colsum_parts(1) == 1 && kc_colsum_parts(KC_COLSUM_ROWS) == 1 &&
              kc_colsum_parts(KC_COLSUM_ROWS + 1) == 2 && kc_colsum_parts(0) == 1,
          "column sums: one partial per KC_COLSUM_ROWS rows", NULL);
    check(kc_sumsq_blocks(1) == 1 && kc_sumsq_blocks((size_t)1 << 30) == 1024 &&
              kc_sumsq_blocks(4 * KC_BLOCK + 1) == 2,
          "squared norm: a fixed number of blocks for n (deterministic)", NULL);
}

static void formulas(void) {
    double worst = 0, worstd = 0;
    for (int form = 0; form < 2; form++)
        for (double x = -12; x <= 12; x += 0.01) {
            double ref = form ? 0.5 * x * (1 + erf(x / sqrt(2)))
                              : 0.5 * x * (1 + tanh(sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
            double e = fabs(km_gelu((float)x, form) - ref) / (1 + fabs(ref));
            worst = e > worst ? e : worst;
            double h = 1e-4, fp, fm;
            if (form)
                fp = 0.5 * (x + h) * (1 + erf((x + h) / sqrt(2))),
                fm = 0.5 * (x - h) * (1 + erf((x - h) / sqrt(2)));
            else
                fp = 0.5 * (x + h) *
                     (1 + tanh(sqrt(2 / M_PI) * ((x + h) + 0.044715 * pow(x + h, 3)))),
                fm = 0.5 * (x - h) *
                     (1 + tanh(sqrt(2 / M_PI) * ((x - h) + 0.044715 * pow(x - h, 3))));
            double d = fabs(km_gelu_grad((float)x, form) - (fp - fm) / (2 * h));
            worstd = d > worstd ? d : worstd;
        }
    check(worst < 1e-6, "km_gelu (both forms) against double", "worst relative %.1e", worst);
    check(worstd < 1e-5, "km_gelu_grad against central differences", "worst %.1e", worstd);
    /* the CPU kernel's vector body and tail against the formula */
    enum { N = 1003 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = (float)(6 * k_rng_normal(7, i));
    double e = 0;
    for (int form = 0; form < 2; form++) {
        k_gelu_fwd(y, x, N, form);
        for (int i = 0; i < N; i++)
            e = fmax(e, fabs(y[i] - km_gelu(x[i], form)) / (1 + fabs(y[i])));
    }
    check(e < 1e-6, "the CPU GELU kernel evaluates km_gelu", "worst %.1e", e);
    /* AdamW element against the double formula */
    double wm = 0;
    for (int i = 0; i < 1000; i++) {
        float p = (float)k_rng_normal(1, i), gr = (float)k_rng_normal(2, i);
        float m = 0.1f * (float)k_rng_normal(3, i), v = 0.01f * (float)k_rng_uniform(4, i);
        double md = 0.9 * m + 0.1 * (0.5 * gr), vd = 0.999 * v + 0.001 * (0.25 * gr * gr);
        double pd = p * (1 - 1e-4) - 0.01 * md / (sqrt(vd) * 31.6 + 1e-8);
        float pn = km_adamw(p, gr, &m, &v, 0.9f, 0.999f, 1e-8f, 0.01f, 31.6f, 1 - 1e-4f, 0.5f);
        wm = fmax(wm, fabs(pn - pd) / (1e-3 + fabs(pd)));
    }
    check(wm < 1e-5, "km_adamw against double", "worst relative %.1e", wm);
    /* stochastic rounding to bf16 is unbiased: the mean of many roundings */
    float v = 1.0f + 1.0f / 300;
    double s = 0;
    for (int i = 0; i < 100000; i++) s += km_from_bf16(km_to_bf16_sr(v, km_bf16_bits(9, i)));
    check(fabs(s / 100000 - v) < 2e-5, "km_to_bf16_sr with km_bf16_bits is unbiased",
          "mean %.7f of %.7f", s / 100000, v);
    /* dropout keeps 1 − p of the elements, the same ones the CPU kernel keeps */
    int kept = 0, same = 1;
    float ones[N], out[N];
    for (int i = 0; i < N; i++) ones[i] = 1;
    k_dropout_fwd(out, ones, N, 0.25, 42);
    for (int i = 0; i < N; i++) {
        kept += km_dropout_keep(42, i, 0.25);
        same &= (out[i] != 0) == km_dropout_keep(42, i, 0.25);
    }
    check(same && abs(kept - 752) < 60, "km_dropout_keep is the CPU kernel's mask", "%d of %d kept",
          kept, N);
    /* LayerNorm's dx element: the gradient of Σ dy·y for one row, numerically */
    enum { C = 13 };
    double xr[C], w[C], dy[C];
    for (int c = 0; c < C; c++)
        xr[c] = k_rng_normal(5, c), w[c] = 1 + 0.1 * c, dy[c] = k_rng_normal(6, c);
    double mu = 0, var = 0;
    for (int c = 0; c < C; c++) mu += xr[c] / C;
    for (int c = 0; c < C; c++) var += (xr[c] - mu) * (xr[c] - mu) / C;
    double r = 1 / sqrt(var + 1e-5), a = 0, bb = 0;
    for (int c = 0; c < C; c++) a += dy[c] * w[c] / C, bb += dy[c] * w[c] * (xr[c] - mu) * r / C;
    double wd = 0;
    for (int j = 0; j < C; j++) {
        double f[2];
        for (int sgn = 0; sgn < 2; sgn++) {
            double xs[C], m2 = 0, v2 = 0, out2 = 0;
            for (int c = 0; c < C; c++) xs[c] = xr[c] + (c == j ? (sgn ? 1e-5 : -1e-5) : 0);
            for (int c = 0; c < C; c++) m2 += xs[c] / C;
            for (int c = 0; c < C; c++) v2 += (xs[c] - m2) * (xs[c] - m2) / C;
            for (int c = 0; c < C; c++) out2 += dy[c] * w[c] * (xs[c] - m2) / sqrt(v2 + 1e-5);
            f[sgn] = out2;
        }
        double fd = (f[1] - f[0]) / 2e-5;
        double an = km_ln_dx((float)dy[j], (float)w[j], (float)((xr[j] - mu) * r), (float)a,
                             (float)bb, (float)r);
        wd = fmax(wd, fabs(an - fd));
    }
    check(wd < 1e-4, "km_ln_dx against central differences", "worst %.1e", wd);
}

int main(void) {
    check_plan(12);
    geometry();
    formulas();
    return check_exit();
}
