/*
 * gemm_bench.c — the products of one GPT-2-small training step (M = B·T
 * rows; the four linear layers of a block and the LM head; forward y = x·Wᵀ,
 * dx = dy·W, dW = dyᵀ·x) through each provider this build has: the BLAS's
 * sgemm, oneDNN's sgemm, and oneDNN's bf16 matmul (bf16 inputs, fp32
 * accumulation and output; operands converted beforehand, so its rate is
 * the product alone: the best a bf16 GEMM path could get). Median of reps
 * per product; one JSON object per product and provider, then one per
 * provider with the step's total (time-weighted rate).
 *   gemm_bench [threads] [M]      (make bench-gemm; default 2 threads, M 1024)
 */
#include "kernels/kernels.h"

#include "kernels/clock.h"
#include "kernels/cpu/blas_api.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ZEROPT_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

enum { REPS = 5 };

typedef struct {
    const char *layer;
    int N, K; /* W is N×K */
} Layer;

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *t, int n) {
    qsort(t, n, sizeof *t, cmp);
    return t[n / 2];
}

/* The three products of a layer as (transA, transB, rows, cols, inner). */
typedef struct {
    const char *name;
    int ta, tb;
} Product;
static const Product products[3] = {{"fwd", 0, 1}, {"dx", 0, 0}, {"dw", 1, 0}};

static void dims(int j, int M, const Layer *l, int *m, int *n, int *k) {
    *m = M, *n = l->N, *k = l->K;             /* y[M,N] = x[M,K]·Wᵀ */
    if (j == 1) *m = M, *n = l->K, *k = l->N; /* dx[M,K] = dy[M,N]·W[N,K] */
    if (j == 2) *m = l->N, *n = l->K, *k = M; /* dW[N,K] = dyᵀ·x */
}

/* Row-major A (m×k or k×m stored), B (k×n or n×k stored), C m×n. */
static double time_sgemm(KSgemm prov, int ta, int tb, int m, int n, int k, const float *A,
                         const float *B, float *C) {
    k_sgemm_set(prov);
    int lda = ta ? m : k, ldb = tb ? k : n;
    double t[REPS];
    for (int r = -1; r < REPS; r++) {
        double t0 = k_now();
        k_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n,
                k, 1, A, lda, B, ldb, 0, C, n);
        if (r >= 0) t[r] = k_now() - t0;
    }
    return median(t, REPS);
}

#ifdef ZEROPT_DNNL
#define DN(x)                                                                                      \
    do {                                                                                           \
        dnnl_status_t s_ = (x);                                                                    \
        if (s_ != dnnl_success) {                                                                  \
            fprintf(stderr, "gemm_bench: %s: oneDNN status %d\n", #x, (int)s_);                    \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* oneDNN's matmul with bf16 inputs and fp32 output; strides express the
 * transposes. impl gets the implementation oneDNN chose. */
static double time_bf16(int ta, int tb, int m, int n, int k, uint16_t *A, uint16_t *B, float *C,
                        char *impl, size_t impl_size) {
    static dnnl_engine_t eng;
    static dnnl_stream_t st;
    if (!eng) {
        DN(dnnl_engine_create(&eng, dnnl_cpu, 0));
        DN(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    }
    dnnl_memory_desc_t ad, bd, cd;
    dnnl_dims_t adim = {m, k}, bdim = {k, n}, cdim = {m, n};
    dnnl_dims_t astr = {ta ? 1 : k, ta ? m : 1}, bstr = {tb ? 1 : n, tb ? k : 1}, cstr = {n, 1};
    DN(dnnl_memory_desc_init_by_strides(&ad, 2, adim, dnnl_bf16, astr));
    DN(dnnl_memory_desc_init_by_strides(&bd, 2, bdim, dnnl_bf16, bstr));
    DN(dnnl_memory_desc_init_by_strides(&cd, 2, cdim, dnnl_f32, cstr));
    dnnl_matmul_desc_t md;
    DN(dnnl_matmul_desc_init(&md, &ad, &bd, NULL, &cd));
    dnnl_primitive_desc_t pd;
    DN(dnnl_primitive_desc_create(&pd, &md, NULL, eng, NULL));
    const char *name;
    DN(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name));
    snprintf(impl, impl_size, "%s", name);
    dnnl_primitive_t p;
    DN(dnnl_primitive_create(&p, pd));
    dnnl_memory_t ma, mb, mc;
    DN(dnnl_memory_create(&ma, &ad, eng, A));
    DN(dnnl_memory_create(&mb, &bd, eng, B));
    DN(dnnl_memory_create(&mc, &cd, eng, C));
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
    double t[REPS];
    for (int r = -1; r < REPS; r++) {
        double t0 = k_now();
        DN(dnnl_primitive_execute(p, st, 3, args));
        DN(dnnl_stream_wait(st));
        if (r >= 0) t[r] = k_now() - t0;
    }
    dnnl_memory_destroy(ma), dnnl_memory_destroy(mb), dnnl_memory_destroy(mc);
    dnnl_primitive_destroy(p);
    dnnl_primitive_desc_destroy(pd);
    return median(t, REPS);
}
#endif

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, M = argc > 2 ? atoi(argv[2]) : 1024;
    k_set_threads(threads);
    const char *err = k_sgemm_init();
    if (err) {
        fprintf(stderr, "gemm_bench: %s\n", err);
        return 1;
    }
    KBlasInfo bl;
    k_blas_info(&bl);
    /* GPT-2 small: C = 768, 4C = 3072, V = 50257 */
    const Layer layers[] = {{"qkv", 2304, 768},
                            {"attn proj", 768, 768},
                            {"fc", 3072, 768},
                            {"fc proj", 768, 3072},
                            {"lm head", 50257, 768}};
    const int nl = sizeof layers / sizeof *layers;
    size_t most = 0;
    for (int i = 0; i < nl; i++) {
        size_t w = (size_t)layers[i].N * layers[i].K, a = (size_t)M * layers[i].K,
               b = (size_t)M * layers[i].N;
        if (w > most) most = w;
        if (a > most) most = a;
        if (b > most) most = b;
    }
    float *A = malloc(most * 4), *B = malloc(most * 4), *C = malloc(most * 4);
    uint16_t *Ah = malloc(most * 2), *Bh = malloc(most * 2);
    if (!A || !B || !C || !Ah || !Bh) {
        fprintf(stderr, "gemm_bench: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < most; i++) {
        A[i] = (float)(2 * k_rng_uniform(1, i) - 1);
        B[i] = (float)(2 * k_rng_uniform(2, i) - 1);
    }
    k_f32_to_bf16(Ah, A, most);
    k_f32_to_bf16(Bh, B, most);
    const char *prov[3] = {"blas", "onednn", "onednn-bf16"};
    double total_t[3] = {0}, total_f = 0;
    int have[3] = {1, !k_sgemm_set(K_SGEMM_ONEDNN), 0};
#ifdef ZEROPT_DNNL
    have[2] = 1;
#endif
    for (int i = 0; i < nl; i++)
        for (int j = 0; j < 3; j++) {
            int m, n, k;
            dims(j, M, &layers[i], &m, &n, &k);
            double flops = 2.0 * m * n * k;
            total_f += flops;
            for (int p = 0; p < 3; p++) {
                if (!have[p]) continue;
                char impl[128] = "";
                double t = 0;
                if (p < 2)
                    t = time_sgemm(p == 0 ? K_SGEMM_BLAS : K_SGEMM_ONEDNN, products[j].ta,
                                   products[j].tb, m, n, k, A, B, C);
#ifdef ZEROPT_DNNL
                else
                    t = time_bf16(products[j].ta, products[j].tb, m, n, k, Ah, Bh, C, impl,
                                  sizeof impl);
#endif
                total_t[p] += t;
                printf(
                    "{\"bench\":\"gemm\",\"provider\":\"%s\",\"layer\":\"%s\",\"product\":\"%s\","
                    "\"m\":%d,\"n\":%d,\"k\":%d,\"s\":%.6f,\"gflops\":%.1f,\"impl\":\"%s\"}\n",
                    prov[p], layers[i].layer, products[j].name, m, n, k, t, flops / t / 1e9, impl);
                fflush(stdout);
            }
        }
    for (int p = 0; p < 3; p++)
        if (have[p])
            printf("{\"bench\":\"gemm_total\",\"provider\":\"%s\",\"name\":\"%s\",\"threads\":%d,"
                   "\"M\":%d,\"s\":%.4f,\"gflops\":%.1f,\"blas\":\"%s\",\"blas_core\":\"%s\","
                   "\"cpu_isa\":\"%s\"}\n",
                   prov[p],
                   p == 0   ? k_sgemm_name(K_SGEMM_BLAS)
                   : p == 1 ? k_sgemm_name(K_SGEMM_ONEDNN)
                            : "oneDNN bf16 matmul",
                   threads, M, total_t[p], total_f / total_t[p] / 1e9, bl.library, bl.core,
                   bl.cpu_isa);
    free(A), free(B), free(C), free(Ah), free(Bh);
    return 0;
}
