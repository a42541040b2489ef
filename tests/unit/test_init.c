/*
 * test_init.c — [model] init, by the statistics of the tensors it draws: the
 * sample std of each weight matrix against the scheme's formula (within 3 %:
 * the matrices hold 4,096–65,536 values, a sample std's relative error is
 * about 1/√(2n) ≤ 1.1 %), DeepNet's β on the value rows of qkv but not the
 * query and key rows, depth-scaled truncation at 3σ and its shrinking output
 * projections, and that every scheme draws the same values whatever the
 * rank count (the layout's padding) — init depends on (seed, name, index).
 */
#include "tests/lib/check.h"

#include "src/config/config.h"
#include "src/model/model.h"

static double sd(const float *p, size_t n, double *maxabs) {
    double s = 0, q = 0;
    *maxabs = 0;
    for (size_t i = 0; i < n; i++) {
        s += p[i], q += (double)p[i] * p[i];
        if (fabs(p[i]) > *maxabs) *maxabs = fabs(p[i]);
    }
    double m = s / n;
    return sqrt(q / n - m * m);
}

static Model build(int init, int norm, int ranks) {
    Config cfg;
    config_defaults(&cfg);
    ModelConfig *c = &cfg.model;
    c->arch = ARCH_DECODER, c->norm = norm, c->vocab_size = 300, c->max_positions = 64;
    c->layers = 8, c->width = 64, c->heads = 2, c->ffn = 256, c->init = init;
    c->type_vocab_size = 0;
    Model m;
    model_layout(&m, c, ranks, 16);
    model_alloc_params(&m);
    model_init_params(&m, 1234);
    return m;
}

/* |sample std / want − 1| of a tensor, or of rows [r0, r1) of it */
static double off(const Model *m, const char *name, int r0, int r1, double want, double *maxabs) {
    const ParamView *v = model_find(m, name);
    if (!v) return 1;
    int cols = v->ndim == 2 ? v->shape[1] : 1;
    if (r1 <= 0) r0 = 0, r1 = v->shape[0];
    double s = sd(model_param(m, v) + (size_t)r0 * cols, (size_t)(r1 - r0) * cols, maxabs);
    return fabs(s / want - 1);
}

int main(void) {
    check_plan(5);
    const int L = 8, C = 64, F = 256;
    double mx, worst;

    /* normal and scaled */
    Model n = build(INIT_NORMAL, NORM_PRE, 1), s = build(INIT_SCALED, NORM_PRE, 1);
    worst = fmax(off(&n, "blocks.03.attn.proj.weight", 0, 0, 0.02, &mx),
                 off(&n, "blocks.03.mlp.fc.weight", 0, 0, 0.02, &mx));
    worst = fmax(worst, off(&s, "blocks.03.attn.proj.weight", 0, 0, 0.02 / sqrt(2.0 * L), &mx));
    worst = fmax(worst, off(&s, "blocks.05.mlp.proj.weight", 0, 0, 0.02 / sqrt(2.0 * L), &mx));
    worst = fmax(worst, off(&s, "blocks.05.mlp.fc.weight", 0, 0, 0.02, &mx));
    check(worst < 0.03, "init = normal: N(0, 0.02); scaled: output projections 0.02/sqrt(2L)",
          "worst relative std error %.3f", worst);

    /* depth: 1/√fan_in, output projections 1/√(2·fan_in·(l+1)), ±3σ */
    Model d = build(INIT_DEPTH, NORM_POST, 1);
    double trunc = 0;
    worst = 0;
    for (int l = 0; l < L; l += 7) {
        char nm[64];
        snprintf(nm, sizeof nm, "blocks.%02d.attn.qkv.weight", l);
        double w = 1 / sqrt((double)C);
        worst = fmax(worst, off(&d, nm, 0, 0, w * 0.986, &mx)); /* ±3σ truncation: σ·0.986 */
        trunc = fmax(trunc, mx / w);
        snprintf(nm, sizeof nm, "blocks.%02d.attn.proj.weight", l);
        w = 1 / sqrt(2.0 * C * (l + 1));
        worst = fmax(worst, off(&d, nm, 0, 0, w * 0.986, &mx));
        trunc = fmax(trunc, mx / w);
        snprintf(nm, sizeof nm, "blocks.%02d.mlp.proj.weight", l);
        w = 1 / sqrt(2.0 * F * (l + 1));
        worst = fmax(worst, off(&d, nm, 0, 0, w * 0.986, &mx));
        trunc = fmax(trunc, mx / w);
    }
    check(worst < 0.03 && trunc <= 3.0,
          "init = depth: 1/sqrt(fan_in), output projections 1/sqrt(2 fan_in (l+1)), within 3 sigma",
          "worst relative std error %.3f (blocks 0 and 7), largest |w| %.2f sigma", worst, trunc);

    /* deepnorm: Xavier; β on FFN, value rows, output projection */
    Model dn = build(INIT_DEEPNORM, NORM_POST, 1);
    double beta = pow(8.0 * L, -0.25), xq = sqrt(1.0 / C);
    worst = off(&dn, "blocks.02.attn.qkv.weight", 0, 2 * C, xq, &mx); /* q, k */
    worst = fmax(worst, off(&dn, "blocks.02.attn.qkv.weight", 2 * C, 3 * C, xq * beta, &mx));
    worst = fmax(worst, off(&dn, "blocks.02.attn.proj.weight", 0, 0, xq * beta, &mx));
    worst = fmax(worst, off(&dn, "blocks.02.mlp.fc.weight", 0, 0, sqrt(2.0 / (C + F)) * beta, &mx));
    worst =
        fmax(worst, off(&dn, "blocks.02.mlp.proj.weight", 0, 0, sqrt(2.0 / (C + F)) * beta, &mx));
    double alpha = model_res_alpha(&dn.c);
    check(worst < 0.03 && fabs(alpha - pow(2.0 * L, 0.25)) < 1e-12,
          "init = deepnorm: Xavier q, k; beta = (8L)^(-1/4) on v, out, FFN; alpha = (2L)^(1/4)",
          "worst relative std error %.3f; beta %.4f, alpha %.4f", worst, beta, alpha);

    /* the same values whatever the padding for the rank count */
    int same = 1;
    for (int init = INIT_NORMAL; init <= INIT_DEEPNORM; init++) {
        Model a = build(init, NORM_POST, 1), b = build(init, NORM_POST, 7);
        for (int i = 0; i < a.nviews; i++)
            same &= !memcmp(model_param(&a, &a.view[i]), model_param(&b, &b.view[i]),
                            a.view[i].numel * sizeof(float));
        model_free(&a), model_free(&b);
    }
    check(same, "every init draws the same values at 1 and 7 ranks", NULL);

    /* the schemes differ where they should: deepnorm's q rows are not its v rows */
    double m1, m2;
    const ParamView *v = model_find(&dn, "blocks.00.attn.qkv.weight");
    double sq = sd(model_param(&dn, v), (size_t)C * C, &m1);
    double sv = sd(model_param(&dn, v) + (size_t)2 * C * C, (size_t)C * C, &m2);
    check(fabs(sv / sq - beta) < 0.05 * beta, "deepnorm: value rows are beta times the query rows",
          "ratio %.4f, beta %.4f", sv / sq, beta);
    model_free(&n), model_free(&s), model_free(&d), model_free(&dn);
    return check_exit();
}
