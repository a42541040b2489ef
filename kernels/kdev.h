/*
 * kdev.h — how the k_* kernels hand over to a device backend. A run with
 * [train] device = cuda installs the CUDA backend's table (k_device_use);
 * from then on every k_* kernel that the device implements forwards its
 * arguments to it, and k_alloc hands out CUDA managed memory, so buffers
 * keep one address that kernels on the device and code on the host (data
 * loading, MPI, HDF5 checkpoints, the kernels the device lacks) can both
 * use. NULL (the default, and always in a build without CUDA): the CPU
 * computes.
 *
 * Synchronous mode: each forwarded kernel is waited for before it returns,
 * so host code may read or write any buffer at any time — correct before
 * fast. The table's entries have the k_* contracts (kernels_api.h), on
 * device-accessible pointers; `seeds` of attention stays a host array.
 */
#ifndef ZEROPT_KDEV_H
#define ZEROPT_KDEV_H

#include <stddef.h>
#include <stdint.h>

/* An optimizer-state array as the device sees it (kernels.h's KState:
 * type 0 fp32, 1 bf16, 2 q8; is_signed picks q8's code, m's signed one or
 * v's unsigned one). */
typedef struct {
    int type;
    void *data;
    float *absmax;
    int is_signed;
    uint64_t seed, index0;
} KDevState;

typedef struct KDevOps {
    const char *name;
    void *(*alloc)(size_t bytes);        /* zeroed, device and host accessible */
    void (*free)(void *p, size_t bytes); /* bytes: as allocated */
    void (*sync)(void);
    void (*bf16_gemm_set)(int on);
    void (*matmul_fwd)(float *y, const float *x, const float *w, int M, int K, int N);
    void (*matmul_bwd)(float *dx, float *dw, const float *dy, const float *x, const float *w, int M,
                       int K, int N);
    void (*bias_fwd)(float *y, const float *b, int M, int N);
    void (*bias_bwd)(float *db, const float *dy, int M, int N);
    void (*add_fwd)(float *y, const float *a, const float *b, size_t n);
    void (*accum)(float *y, const float *x, size_t n);
    void (*axpy)(float *y, double a, const float *x, size_t n);
    void (*embedding_fwd)(float *y, const int32_t *ids, const float *table, int N, int C,
                          int accumulate);
    void (*embedding_bwd)(float *dtable, const float *dy, const int32_t *ids, int N, int C);
    void (*layernorm_fwd_ld)(float *y, int ldy, float *mean, float *rstd, const float *x, int ldx,
                             const float *w, const float *b, int N, int C, double eps);
    void (*layernorm_bwd_ld)(float *dx, int lddx, float *dw, float *db, const float *dy, int lddy,
                             const float *x, int ldx, const float *w, const float *mean,
                             const float *rstd, int N, int C);
    void (*gelu_fwd)(float *y, const float *x, size_t n, int form);
    void (*gelu_bwd)(float *dx, const float *dy, const float *x, size_t n, int form);
    void (*dropout_fwd)(float *y, const float *x, size_t n, double p, uint64_t seed);
    void (*dropout_bwd)(float *dx, const float *dy, size_t n, double p, uint64_t seed);
    void (*dropout_rows_fwd)(float *y, const float *x, const int32_t *rows, int R, int T, int C,
                             double p, const uint64_t *seeds);
    void (*dropout_rows_bwd)(float *dx, const float *dy, const int32_t *rows, int R, int T, int C,
                             double p, const uint64_t *seeds);
    /* scratch NULL: the backend's own workspace */
    void (*attention_fwd)(float *y, float *probs, float *scratch, const float *qkv,
                          const uint8_t *keymask, const float *relb, int B, int T, int C, int NH,
                          int causal, double p_drop, const uint64_t *seeds);
    void (*attention_bwd)(float *dqkv, float *drelb, float *scratch, const float *dy,
                          const float *qkv, const float *probs, int B, int T, int C, int NH,
                          int causal, double p_drop, const uint64_t *seeds);
    void (*rope_fwd)(float *qkv, int B, int T, int pos0, int C, int NH, double base);
    void (*rope_bwd)(float *dqkv, int B, int T, int pos0, int C, int NH, double base);
    double (*xent_fwd)(float *losses, float *probs, const float *logits, const int32_t *labels,
                       int N, int V);
    void (*xent_bwd)(float *dlogits, const float *probs, const int32_t *labels, int N, int V,
                     double scale);
    void (*adamw)(float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
                  float eps, float step, float rbc2, float keep, float gscale);
    /* AdamW on states of any type (update_p 1), or only the moments (0:
     * k_adam_moments; p, step, rbc2, keep unused) */
    void (*adam_state)(float *p, const float *g, KDevState m, KDevState v, size_t n, float beta1,
                       float beta2, float eps, float step, float rbc2, float keep, float gscale,
                       int update_p);
    double (*lamb_sumsq)(const float *p, KDevState m, KDevState v, size_t n, float c1, float rbc2,
                         float eps, float wd);
    void (*lamb_apply)(float *p, KDevState m, KDevState v, size_t n, float c1, float rbc2,
                       float eps, float wd, float rate);
    void (*bf16_to_f32)(float *x, const uint16_t *h, size_t n);
    void (*f32_to_bf16)(uint16_t *h, const float *x, size_t n);
    void (*bf16_add_f32)(uint16_t *h, const float *w, size_t n);
    void (*f32_add_bf16)(float *w, const uint16_t *h, size_t n);
    double (*sumsq)(const float *x, size_t n);
    double (*sumsq_bf16)(const uint16_t *h, size_t n);
    void (*zero)(float *x, size_t n);
    void (*copy)(float *y, const float *x, size_t n);
    void (*zero16)(uint16_t *h, size_t n);
    void (*bf16_in_place)(float *w, size_t n);
    void (*bf16_to_f32_off)(float *x, const uint16_t *h, size_t n, float off);
    void (*f32_to_bf16_off)(uint16_t *h, const float *x, size_t n, float off);
} KDevOps;

extern const KDevOps *k_dev;
/* The kernel forwarded last (for error lines: an asynchronous fault shows at
 * the synchronisation after it). */
extern const char *k_dev_last;
/* Install a backend (NULL: back to the CPU). Before the first k_alloc of a
 * run: blocks allocated under one backend are freed by it. */
void k_device_use(const KDevOps *ops);

/* The CPU as a device (cpu/loopback.c): the forwarding and allocation paths
 * of a device run, computed by the CPU kernels — for testing the plumbing. */
const KDevOps *k_loopback_ops(void);

/* The forwarding line at the top of a k_* kernel (float build only):
 * K_DEV(fn, args...) runs the device's fn and returns when a backend is
 * installed; K_DEV_RET for kernels that return a value. */
#define K_DEV(fn, ...)                                                                             \
    do {                                                                                           \
        if (k_dev) {                                                                               \
            k_dev_last = #fn;                                                                      \
            k_dev->fn(__VA_ARGS__);                                                                \
            k_dev->sync();                                                                         \
            return;                                                                                \
        }                                                                                          \
    } while (0)
#define K_DEV_RET(fn, ...)                                                                         \
    do {                                                                                           \
        if (k_dev) return k_dev_last = #fn, k_dev->fn(__VA_ARGS__); /* a value synchronises */     \
    } while (0)

#endif
