/*
 * bench_model.c — this machine's sgemm rate and, in the same run, forward +
 * backward time of the model ladder, as tokens/s and as a fraction of the
 * sgemm rate. Prints one JSON object per line (bench/run.sh collects them).
 *
 * FLOPs: the headline uses the model-FLOPs convention 6·N + 12·L·C·T per
 * token (MFU). MLM evaluates its head only at the masked positions, so the
 * FLOPs with the head counted at those positions are also reported
 * ("exec_flops_per_token"; what the trainer's MFU uses).
 */
#include "kernels/kernels.h"
#include "src/config/config.h"
#include "src/model/model.h"

#include "kernels/clock.h"

#include "kernels/cpu/blas_api.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double sgemm_gflops(int n, int reps) {
    float *a = malloc(sizeof(float) * n * n), *b = malloc(sizeof(float) * n * n),
          *c = malloc(sizeof(float) * n * n);
    for (size_t i = 0; i < (size_t)n * n; i++) a[i] = b[i] = (float)(i % 7) * 0.1f;
    double t[16];
    k_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
    for (int r = 0; r < reps; r++) {
        double t0 = k_now();
        k_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        t[r] = k_now() - t0;
    }
    free(a), free(b), free(c);
    return 2.0 * n * n * n / median(t, reps) / 1e9;
}

static void bench(const char *name, int T, int B, int reps, double peak) {
    char path[256];
    snprintf(path, sizeof path, "configs/model/%s.ini", name);
    Config cfg;
    config_defaults(&cfg);
    config_load(&cfg, path);
    cfg.model.dropout = cfg.model.attn_dropout = 0;
    config_finish(&cfg, path);
    Model m;
    model_layout(&m, &cfg.model, 1, 16);
    model_alloc_params(&m);
    model_init_params(&m, 1);
    int N = B * T;
    int32_t *tok = malloc(N * 4), *lab = malloc(N * 4);
    uint8_t *mask = malloc(N);
    double frac = cfg.model.arch == ARCH_ENCODER ? 0.15 : 1.0;
    int rows = 0;
    for (int i = 0; i < N; i++) {
        tok[i] = (int32_t)(k_rng_mix(i) % cfg.model.vocab_size);
        int lbl = k_rng_uniform(7, i) < frac;
        lab[i] = lbl ? tok[i] : -100;
        rows += lbl;
        mask[i] = 1;
    }
    model_alloc_acts(&m, B, T, rows, 0, 0);
    Batch b = {B, T, tok, lab, NULL, mask, NULL, 1, 1};
    double t[8];
    for (int r = -1; r < reps; r++) {
        double t0 = k_now();
        model_zero_grads(&m);
        model_forward(&m, &b);
        model_backward(&m, &b, 1.0 / m.n_labels);
        if (r >= 0) t[r] = k_now() - t0;
    }
    double s = median(t, reps), tps = N / s;
    double mf = model_flops_per_token(&m, T, 1.0),
           ef = model_flops_per_token(&m, T, (double)rows / N);
    printf("{\"bench\":\"model_fwd_bwd\",\"config\":\"%s\",\"T\":%d,\"B\":%d,\"params\":%zu,"
           "\"step_s\":%.4f,\"tokens_per_s\":%.1f,\"model_flops_per_token\":%.4g,"
           "\"exec_flops_per_token\":%.4g,\"model_gflops\":%.2f,\"exec_gflops\":%.2f,"
           "\"frac_of_sgemm\":%.4f,\"exec_frac_of_sgemm\":%.4f,\"sgemm_gflops\":%.1f}\n",
           name, T, B, m.nparams, s, tps, mf, ef, tps * mf / 1e9, tps * ef / 1e9,
           tps * mf / 1e9 / peak, tps * ef / 1e9 / peak, peak);
    fflush(stdout);
    free(tok), free(lab), free(mask);
    model_free(&m);
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    k_set_threads(threads);
    const char *err = k_sgemm_init();
    if (err) {
        fprintf(stderr, "bench_model: %s\n", err);
        return 1;
    }
    double g1 = sgemm_gflops(1024, 7), g2 = sgemm_gflops(2048, 5);
    double peak = g1 > g2 ? g1 : g2;
    KBlasInfo bl;
    k_blas_info(&bl);
    if (bl.advice[0]) fprintf(stderr, "bench: note: %s\n", bl.advice);
    printf("{\"bench\":\"sgemm\",\"threads\":%d,\"gflops_1024\":%.1f,\"gflops_2048\":%.1f,"
           "\"sgemm\":\"%s\",\"blas\":\"%s\",\"blas_core\":\"%s\",\"core_isa\":\"%s\",\"cpu_isa\":"
           "\"%s\","
           "\"advice\":\"%s\"}\n",
           threads, g1, g2, k_sgemm_name(k_sgemm_get()), bl.library, bl.core, bl.core_isa,
           bl.cpu_isa, bl.advice);
    fflush(stdout);
    struct {
        const char *name;
        int T, B, reps;
    } runs[] = {{"tiny", 128, 32, 5}, {"tiny", 512, 8, 5},   {"mini", 128, 32, 5},
                {"mini", 512, 8, 5},  {"small", 128, 32, 3}, {"small", 512, 8, 3},
                {"base", 128, 16, 3}, {"base", 512, 4, 3}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        bench(runs[i].name, runs[i].T, runs[i].B, runs[i].reps, peak);
    return 0;
}
