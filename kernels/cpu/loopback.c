/*
 * loopback.c — a device backend that is the CPU ([train] device =
 * loopback): every kernel the CUDA backend takes over goes through the
 * device table (kdev.h) and back to the CPU kernel, and k_alloc's blocks
 * come from the backend's allocator. A run on it exercises the device
 * plumbing — which kernels forward, with which arguments, the allocator
 * switch, the optimizer states of every type — on machines without a GPU,
 * and must train exactly as device = cpu does (tests/mpi/test_device.sh).
 */
#include "kernels/kdev.h"
#include "kernels/kernels.h"

#include <stdlib.h>
#include <string.h>

/* call the CPU kernel with the table uninstalled, then put it back */
#define CPU(call)                                                                                  \
    do {                                                                                           \
        const KDevOps *saved_ = k_dev;                                                             \
        k_dev = NULL;                                                                              \
        call;                                                                                      \
        k_dev = saved_;                                                                            \
    } while (0)

static void *lb_alloc(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 256, bytes)) return NULL;
    memset(p, 0, bytes);
    return p;
}
static void lb_free(void *p, size_t bytes) {
    (void)bytes;
    free(p);
}
static void lb_sync(void) {}
static void lb_bf16_gemm_set(int on) {
    (void)on; /* k_bf16_gemm_set keeps the host's mode: the same products */
}
static void lb_matmul_fwd(float *y, const float *x, const float *w, int M, int K, int N) {
    CPU(k_matmul_fwd(y, x, w, M, K, N));
}
static void lb_matmul_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w,
                          int M, int K, int N) {
    CPU(k_matmul_bwd(dx, dw, dy, x, w, M, K, N));
}
static void lb_bias_fwd(float *y, const float *b, int M, int N) {
    CPU(k_bias_fwd(y, b, M, N));
}
static void lb_bias_bwd(float *db, const float *dy, int M, int N) {
    CPU(k_bias_bwd(db, dy, M, N));
}
static void lb_add_fwd(float *y, const float *a, const float *b, size_t n) {
    CPU(k_add_fwd(y, a, b, n));
}
static void lb_accum(float *y, const float *x, size_t n) {
    CPU(k_accum(y, x, n));
}
static void lb_axpy(float *y, double a, const float *x, size_t n) {
    CPU(k_axpy(y, a, x, n));
}
static void lb_embedding_fwd(float *y, const int32_t *ids, const float *t, int N, int C, int acc) {
    CPU(k_embedding_fwd(y, ids, t, N, C, acc));
}
static void lb_embedding_bwd(float *dt, const float *dy, const int32_t *ids, int N, int C) {
    CPU(k_embedding_bwd(dt, dy, ids, N, C));
}
static void lb_layernorm_fwd_ld(float *y, int ldy, float *mean, float *rstd, const float *x,
                                int ldx, const float *w, const float *b, int N, int C, double eps) {
    CPU(k_layernorm_fwd_ld(y, ldy, mean, rstd, x, ldx, w, b, N, C, eps));
}
static void lb_layernorm_bwd_ld(float *dx, int lddx, float *dw, float *db, const float *dy,
                                int lddy, const float *x, int ldx, const float *w,
                                const float *mean, const float *rstd, int N, int C) {
    CPU(k_layernorm_bwd_ld(dx, lddx, dw, db, dy, lddy, x, ldx, w, mean, rstd, N, C));
}
static void lb_gelu_fwd(float *y, const float *x, size_t n, int form) {
    CPU(k_gelu_fwd(y, x, n, form));
}
static void lb_gelu_bwd(float *dx, const float *dy, const float *x, size_t n, int form) {
    CPU(k_gelu_bwd(dx, dy, x, n, form));
}
static void lb_dropout_fwd(float *y, const float *x, size_t n, double p, uint64_t seed) {
    CPU(k_dropout_fwd(y, x, n, p, seed));
}
static void lb_dropout_bwd(float *dx, const float *dy, size_t n, double p, uint64_t seed) {
    CPU(k_dropout_bwd(dx, dy, n, p, seed));
}
static void lb_dropout_rows_fwd(float *y, const float *x, const int32_t *rows, int R, int T, int C,
                                double p, const uint64_t *seeds) {
    CPU(k_dropout_rows_fwd(y, x, rows, R, T, C, p, seeds));
}
static void lb_dropout_rows_bwd(float *dx, const float *dy, const int32_t *rows, int R, int T,
                                int C, double p, const uint64_t *seeds) {
    CPU(k_dropout_rows_bwd(dx, dy, rows, R, T, C, p, seeds));
}
/* the device is given no scratch (it owns its workspace): so is this one */
static void lb_attention_fwd(float *y, float *probs, float *scratch, const float *qkv,
                             const uint8_t *keymask, const float *relb, int B, int T, int C, int NH,
                             int causal, double p_drop, const uint64_t *seeds) {
    float *s = scratch ? scratch : malloc(sizeof(float) * k_attention_scratch(T));
    CPU(k_attention_fwd(y, probs, s, qkv, keymask, relb, B, T, C, NH, causal, p_drop, seeds));
    if (s != scratch) free(s);
}
static void lb_attention_bwd(float *dqkv, float *drelb, float *scratch, const float *dy,
                             const float *qkv, const float *probs, int B, int T, int C, int NH,
                             int causal, double p_drop, const uint64_t *seeds) {
    float *s = scratch ? scratch : malloc(sizeof(float) * k_attention_scratch(T));
    CPU(k_attention_bwd(dqkv, drelb, s, dy, qkv, probs, B, T, C, NH, causal, p_drop, seeds));
    if (s != scratch) free(s);
}
static void lb_rope_fwd(float *qkv, int B, int T, int pos0, int C, int NH, double base) {
    CPU(k_rope_fwd(qkv, B, T, pos0, C, NH, base));
}
static void lb_rope_bwd(float *dqkv, int B, int T, int pos0, int C, int NH, double base) {
    CPU(k_rope_bwd(dqkv, B, T, pos0, C, NH, base));
}
static double lb_xent_fwd(float *losses, float *probs, const float *logits, const int32_t *labels,
                          int N, int V) {
    double r = 0;
    CPU(r = k_xent_fwd(losses, probs, logits, labels, N, V));
    return r;
}
static void lb_xent_bwd(float *dz, const float *p, const int32_t *labels, int N, int V, double s) {
    CPU(k_xent_bwd(dz, p, labels, N, V, s));
}
static void lb_adamw(float *p, const float *g, float *m, float *v, size_t n, float b1, float b2,
                     float eps, float step, float rbc2, float keep, float gs) {
    KAdamW a = {b1, b2, eps, step, rbc2, keep, gs};
    CPU(k_adamw(p, g, m, v, n, &a));
}
/* KState back from the table's form */
static KState host_state(KDevState d) {
    KState s = {(KStateType)d.type,
                d.data,
                d.absmax,
                d.type == KST_Q8 ? k_q8_code(d.is_signed) : NULL,
                d.seed,
                d.index0};
    return s;
}
static void lb_adam_state(float *p, const float *g, KDevState m, KDevState v, size_t n, float b1,
                          float b2, float eps, float step, float rbc2, float keep, float gs,
                          int update_p) {
    KAdamW a = {b1, b2, eps, step, rbc2, keep, gs};
    KState M = host_state(m), V = host_state(v);
    if (update_p)
        CPU(k_adamw_state(p, g, &M, &V, n, &a));
    else
        CPU(k_adam_moments(g, &M, &V, n, b1, b2, gs));
}
static double lb_lamb_sumsq(const float *p, KDevState m, KDevState v, size_t n, float c1,
                            float rbc2, float eps, float wd) {
    KLamb l = {c1, rbc2, eps, wd};
    KState M = host_state(m), V = host_state(v);
    double r = 0;
    CPU(r = k_lamb_sumsq(p, &M, &V, n, &l));
    return r;
}
static void lb_lamb_apply(float *p, KDevState m, KDevState v, size_t n, float c1, float rbc2,
                          float eps, float wd, float rate) {
    KLamb l = {c1, rbc2, eps, wd};
    KState M = host_state(m), V = host_state(v);
    CPU(k_lamb_apply(p, &M, &V, n, &l, rate));
}
static void lb_bf16_to_f32(float *x, const uint16_t *h, size_t n) {
    CPU(k_bf16_to_f32(x, h, n));
}
static void lb_f32_to_bf16(uint16_t *h, const float *x, size_t n) {
    CPU(k_f32_to_bf16(h, x, n));
}
static void lb_bf16_to_f32_off(float *x, const uint16_t *h, size_t n, float off) {
    CPU(k_bf16_to_f32_off(x, h, n, off));
}
static void lb_f32_to_bf16_off(uint16_t *h, const float *x, size_t n, float off) {
    CPU(k_f32_to_bf16_off(h, x, n, off));
}
static void lb_bf16_add_f32(uint16_t *h, const float *w, size_t n) {
    CPU(k_bf16_add_f32(h, w, n));
}
static void lb_f32_add_bf16(float *w, const uint16_t *h, size_t n) {
    CPU(k_f32_add_bf16(w, h, n));
}
static double lb_sumsq(const float *x, size_t n) {
    double r = 0;
    CPU(r = k_sumsq(x, n));
    return r;
}
static double lb_sumsq_bf16(const uint16_t *h, size_t n) {
    double r = 0;
    CPU(r = k_sumsq_bf16(h, n));
    return r;
}
static void lb_zero(float *x, size_t n) {
    CPU(k_zero(x, n));
}

static void lb_copy(float *y, const float *x, size_t n) {
    CPU(k_copy(y, x, n));
}
static void lb_zero16(uint16_t *h, size_t n) {
    CPU(k_zero16(h, n));
}
static void lb_bf16_in_place(float *w, size_t n) {
    CPU(k_bf16_in_place(w, n));
}

static const KDevOps loopback = {
    "loopback",
    lb_alloc,
    lb_free,
    lb_sync,
    lb_bf16_gemm_set,
    lb_matmul_fwd,
    lb_matmul_bwd,
    lb_bias_fwd,
    lb_bias_bwd,
    lb_add_fwd,
    lb_accum,
    lb_axpy,
    lb_embedding_fwd,
    lb_embedding_bwd,
    lb_layernorm_fwd_ld,
    lb_layernorm_bwd_ld,
    lb_gelu_fwd,
    lb_gelu_bwd,
    lb_dropout_fwd,
    lb_dropout_bwd,
    lb_dropout_rows_fwd,
    lb_dropout_rows_bwd,
    lb_attention_fwd,
    lb_attention_bwd,
    lb_rope_fwd,
    lb_rope_bwd,
    lb_xent_fwd,
    lb_xent_bwd,
    lb_adamw,
    lb_adam_state,
    lb_lamb_sumsq,
    lb_lamb_apply,
    lb_bf16_to_f32,
    lb_f32_to_bf16,
    lb_bf16_add_f32,
    lb_f32_add_bf16,
    lb_sumsq,
    lb_sumsq_bf16,
    lb_zero,
    lb_copy,
    lb_zero16,
    lb_bf16_in_place,
    lb_bf16_to_f32_off,
    lb_f32_to_bf16_off,
};

const KDevOps *k_loopback_ops(void) {
    return &loopback;
}
