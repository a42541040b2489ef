/*
 * test_infer.c — the key/value-cached decoder against the training forward:
 * the logits after each appended token (one at a time, or a prompt at once
 * then one at a time) equal those of model_forward over the whole prefix,
 * for pre-LN and post-LN decoders; an encoder is refused. The sampler:
 * greedy is the argmax, top-k 1 and a tiny top-p are greedy too, sampling
 * at temperature 1 draws tokens at their softmax frequencies, top-k and
 * top-p never draw outside their sets, and a draw is a function of the seed.
 */
#include "tests/lib/check.h"

#include "kernels/kernels.h"
#include "src/config/config.h"
#include "src/model/infer.h"
#include "src/model/model.h"

#include <string.h>

enum { T = 24, V = 37 };

static void make(Model *m, int norm, int arch) {
    Config cfg;
    config_defaults(&cfg);
    ModelConfig *c = &cfg.model;
    c->arch = arch, c->norm = norm, c->vocab_size = V, c->max_positions = 32, c->layers = 2;
    c->width = 16, c->heads = 4, c->ffn = 40, c->type_vocab_size = arch == ARCH_ENCODER ? 2 : 0;
    c->dropout = c->attn_dropout = 0, c->init_std = 0.2;
    model_layout(m, c, 1, 1);
    model_alloc_params(m);
    model_init_params(m, 42);
    for (int u = 0; u < m->nunits; u++) /* non-trivial norms and biases */
        for (size_t i = 0; i < m->unit[u].numel; i++)
            m->unit[u].params[i] += 0.05f * (float)((i * 2654435761u % 1000) / 500.0 - 1.0);
}

/* worst relative error of the cached logits against the full forward's, over
 * every position, appending the first `prompt` tokens at once */
static double cached_vs_full(Model *m, const int32_t *tok, int prompt) {
    int32_t lab[T];
    for (int i = 0; i < T; i++) lab[i] = -1;
    model_alloc_acts(m, 1, T, 1, 1, 0);
    Batch b = {1, T, tok, lab, NULL, NULL, NULL, 0, 0};
    model_forward(m, &b); /* causal: row t's logits depend on tokens ≤ t only */
    float *full = malloc(sizeof(float) * T * V);
    memcpy(full, m->logits, sizeof(float) * T * V);
    KvCache kv;
    char err[256];
    if (kv_init(&kv, m, T, prompt, err, sizeof err)) return 1e9;
    double worst = 0;
    const float *z = kv_append(&kv, tok, prompt);
    for (int t = prompt - 1; t < T; t++) {
        worst = fmax(worst, rel_err_f(z, full + (size_t)t * V, V));
        if (t + 1 < T) z = kv_append(&kv, tok + t + 1, 1);
    }
    kv_free(&kv);
    free(full);
    model_free_acts(m);
    return worst;
}

int main(void) {
    check_plan(8);
    int32_t tok[T];
    for (int i = 0; i < T; i++) tok[i] = (i * 7 + 3) % V;
    const char *name[2] = {"pre-LN", "post-LN"};
    for (int k = 0; k < 2; k++) {
        Model m;
        make(&m, k == 0 ? NORM_PRE : NORM_POST, ARCH_DECODER);
        double one = cached_vs_full(&m, tok, 1), chunk = cached_vs_full(&m, tok, 9);
        char what[128];
        snprintf(what, sizeof what,
                 "%s decoder: KV-cached logits equal the full forward's at every position",
                 name[k]);
        check(one < 2e-6 && chunk < 2e-6, what, "rel err %.1e (one by one), %.1e (prompt of 9)",
              one, chunk);
        model_free(&m);
    }
    Model enc;
    make(&enc, NORM_POST, ARCH_ENCODER);
    KvCache kv;
    char err[256] = "";
    check(kv_init(&kv, &enc, 8, 8, err, sizeof err) && strstr(err, "causal decoder"),
          "an encoder is refused for generation", "%s", err);
    model_free(&enc);

    /* the sampler on fixed logits */
    float z[8] = {0.1f, 2.0f, -1.0f, 1.5f, 0.7f, 1.9f, -3.0f, 0.0f};
    int order[8];
    Sampler g = {0, 0, 1, 1}, k1 = {1.0, 1, 1, 5}, p0 = {1.0, 0, 1e-6, 7};
    int greedy = 1;
    for (int d = 0; d < 200; d++)
        greedy &= sample_next(&g, z, 8, d, order) == 1 && sample_next(&k1, z, 8, d, order) == 1 &&
                  sample_next(&p0, z, 8, d, order) == 1;
    check(greedy, "greedy, top-k 1 and a tiny top-p all give the argmax", NULL);
    Sampler s = {1.0, 0, 1, 11};
    enum { N = 40000 };
    int cnt[8] = {0};
    for (int d = 0; d < N; d++) cnt[sample_next(&s, z, 8, d, order)]++;
    double zs = 0, worst = 0;
    for (int i = 0; i < 8; i++) zs += exp(z[i]);
    for (int i = 0; i < 8; i++) {
        double p = exp(z[i]) / zs, sd = sqrt(p * (1 - p) / N);
        worst = fmax(worst, fabs(cnt[i] / (double)N - p) / sd);
    }
    check(worst < 5, "temperature 1 draws each token at its softmax probability",
          "worst deviation %.1f σ over %d draws", worst, N);
    Sampler tk = {1.0, 3, 1, 12}, tp = {1.0, 0, 0.6, 13};
    int outside = 0, seen[8] = {0};
    /* top-3: ids 1, 5, 3; top-p 0.6: p = .32 (1), .29 (5): .61 ≥ .6 → {1, 5} */
    for (int d = 0; d < 5000; d++) {
        int a = sample_next(&tk, z, 8, d, order), b = sample_next(&tp, z, 8, d, order);
        outside += (a != 1 && a != 5 && a != 3) + (b != 1 && b != 5);
        seen[a]++;
    }
    check(!outside && seen[1] && seen[5] && seen[3], "top-k and top-p draw only inside their sets",
          "%d outside; top-3 drew 1:%d 5:%d 3:%d", outside, seen[1], seen[5], seen[3]);
    Sampler a = {0.8, 0, 0.95, 99}, b = {0.8, 0, 0.95, 99}, c = {0.8, 0, 0.95, 100};
    int same = 1, differ = 0;
    for (int d = 0; d < 100; d++) {
        int x = sample_next(&a, z, 8, d, order);
        same &= x == sample_next(&b, z, 8, d, order);
        differ += x != sample_next(&c, z, 8, d, order);
    }
    check(same && differ > 10, "a draw is a function of (seed, index): same seed same draws",
          "another seed differs in %d of 100", differ);
    /* ties go to the lower id, as torch.argmax does */
    float tie[4] = {1, 3, 3, 0};
    check(sample_next(&g, tie, 4, 0, order) == 1, "greedy ties go to the lower id", NULL);
    return check_exit();
}
