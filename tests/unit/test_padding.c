/*
 * test_padding.c — a padded batch with its attention mask is its sequences
 * alone: loss and every parameter gradient of a batch of right-padded rows
 * equal the sums over each row run unpadded at its own length, for a post-LN
 * encoder, a pre-LN decoder and an encoder with RoBERTa's position ids
 * (padded on the left too: its positions skip pads). Without the mask the
 * encoders differ (the check can fail); a causal decoder's right pads come
 * after every real token, so there the mask changes nothing.
 */
#include "tests/lib/check.h"

#include "kernels/kernels.h"
#include "src/config/config.h"
#include "src/model/model.h"

#include <string.h>

enum { T = 12, V = 41, B = 3 };
static const int LEN[B] = {12, 7, 3};

static void make(Model *m, int arch, int norm, int roberta) {
    Config cfg;
    config_defaults(&cfg);
    ModelConfig *c = &cfg.model;
    c->arch = arch, c->norm = norm, c->vocab_size = V, c->max_positions = 16, c->layers = 2;
    c->width = 16, c->heads = 4, c->ffn = 32, c->type_vocab_size = arch == ARCH_ENCODER ? 2 : 0;
    c->dropout = c->attn_dropout = 0, c->init_std = 0.3;
    c->positions = roberta ? POS_ROBERTA : POS_ABSOLUTE, c->position_pad_id = 1;
    model_layout(m, c, 1, 1);
    model_alloc_params(m);
    model_init_params(m, 7);
}

static double *grads(const Model *m) {
    size_t n = 0;
    for (int u = 0; u < m->nunits; u++) n += m->unit[u].numel;
    double *g = malloc(n * sizeof *g);
    for (int u = 0, k = 0; u < m->nunits; u++)
        for (size_t i = 0; i < m->unit[u].numel; i++) g[k++] = m->unit[u].grads[i];
    return g;
}

static double rel(const double *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* padded (with or without the mask) against unpadded rows; left: pads first */
static void compare(int arch, int norm, int roberta, int left, const char *name) {
    int causal = arch == ARCH_DECODER; /* right pads come after every real query: never seen */
    Model m;
    make(&m, arch, norm, roberta);
    int pad = roberta ? 1 : 0;
    int32_t tok[B * T], lab[B * T];
    uint8_t mask[B * T];
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int i = left ? t - (T - LEN[b]) : t, real = i >= 0 && i < LEN[b];
            tok[b * T + t] = real ? 2 + (b * 13 + i * 7) % (V - 2) : pad;
            lab[b * T + t] = real && (i % 3 == 1 || arch == ARCH_DECODER) ? (b + i * 5) % V : -1;
            mask[b * T + t] = (uint8_t)real;
        }
    size_t np = m.nparams;
    /* each row alone at its length */
    double lone = 0, *g1 = NULL;
    model_zero_grads(&m);
    for (int b = 0; b < B; b++) {
        int off = b * T + (left ? T - LEN[b] : 0);
        model_alloc_acts(&m, 1, LEN[b], LEN[b], 0, 0);
        Batch one = {1, LEN[b], tok + off, lab + off, NULL, NULL, NULL, 0, 0};
        lone += model_forward(&m, &one);
        model_backward(&m, &one, 1.0);
    }
    g1 = grads(&m);
    double loss[2];
    double *g[2];
    for (int k = 0; k < 2; k++) { /* with the mask, then without */
        model_zero_grads(&m);
        model_alloc_acts(&m, B, T, B * T, 0, 0);
        Batch all = {B, T, tok, lab, NULL, k == 0 ? mask : NULL, NULL, 0, 0};
        loss[k] = model_forward(&m, &all);
        model_backward(&m, &all, 1.0);
        g[k] = grads(&m);
    }
    double el = fabs(loss[0] - lone) / fabs(lone), eg = rel(g[0], g1, np);
    double ul = fabs(loss[1] - lone) / fabs(lone), ug = rel(g[1], g1, np);
    check(el < 1e-6 && eg < 1e-5 && (causal || ul > 1e-3 || ug > 1e-3), name,
          "loss rel %.1e, gradients rel %.1e; without the mask %.1e, %.1e", el, eg, ul, ug);
    free(g1), free(g[0]), free(g[1]);
    model_free(&m);
}

int main(void) {
    check_plan(4);
    compare(ARCH_ENCODER, NORM_POST, 0, 0,
            "post-LN encoder: a right-padded batch with its mask = its rows alone");
    compare(ARCH_DECODER, NORM_PRE, 0, 0,
            "pre-LN decoder: a right-padded batch with its mask = its rows alone");
    compare(ARCH_ENCODER, NORM_POST, 1, 0,
            "RoBERTa positions: a right-padded batch with its mask = its rows alone");
    compare(ARCH_ENCODER, NORM_POST, 1, 1,
            "RoBERTa positions: left padding too (positions skip pads)");
    return check_exit();
}
