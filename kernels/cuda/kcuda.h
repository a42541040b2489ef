/*
 * kcuda.h — the CUDA backend (builds with `make CUDA=1`), seen from C.
 *
 * The fp32 kernels of kernels_api.h on device pointers, named kc_* with the
 * contract of their k_* twins (same arguments, same accumulate/overwrite
 * rules), queued on the compute stream; the formulas are kmath.h's and
 * optim_math.h's, so the CPU backend is their reference (tests/gpu/). The
 * files here own the CUDA runtime, cuBLASLt and the launch decomposition;
 * no other folder calls CUDA (mpi/comm_nccl.c takes its streams from here
 * as opaque pointers).
 *
 * Every call is checked: a failing CUDA or cuBLAS call prints one line
 * naming the call, the file and the rank, and takes the job down (err.h's
 * z_die), as the MPI layer does.
 */
#ifndef ZEROPT_KCUDA_H
#define ZEROPT_KCUDA_H

#include "kernels/kdev.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the device ---------------------------------------------------------- */
/* Devices the CUDA runtime sees; 0 with the runtime's reason in why (no
 * driver, "CUDA driver version is insufficient", no device) when none. */
int kc_device_count(char *why, size_t n);
/* Select and initialise the device for this process: device local_rank mod
 * count (local_rank from the launcher: OMPI_COMM_WORLD_LOCAL_RANK,
 * SLURM_LOCALID), create the compute and communication streams and the
 * cuBLASLt handle and workspace. 0, or -1 with one line in err. */
int kc_open(int local_rank, char *err, size_t n);
int kc_is_open(void);
int kc_device(void);              /* the selected device index */
const char *kc_device_name(void); /* "NVIDIA H100 80GB HBM3" */
void kc_close(void);
void *kc_stream(void);      /* the compute stream (a cudaStream_t) */
void *kc_comm_stream(void); /* the communication stream */
void kc_sync(void);         /* wait for the compute stream */
/* Stream ordering without the host: the communication stream waits for the
 * compute stream's work queued so far (before a collective reads a
 * gradient), and the other way (before a kernel reads gathered weights). */
void kc_comm_after_compute(void);
void kc_compute_after_comm(void);
void kc_comm_sync(void); /* wait for the communication stream */
/* Where a fatal CUDA error goes: f(message) must not return (the trainer
 * passes its z_die path); by default the line is printed and the process
 * exits 1. */
void kc_set_fatal(void (*f)(const char *msg));

/* The table the k_* kernels forward to (kernels/kdev.h) once installed with
 * k_device_use(kc_ops()); NULL in a build without CUDA. */
struct KDevOps;
const struct KDevOps *kc_ops(void);

/* ---- memory -------------------------------------------------------------- */
void *kc_malloc(size_t bytes); /* device memory, zeroed; dies when out of memory */
void kc_free(void *p);
void *kc_host_alloc(size_t bytes); /* pinned host memory (staging) */
void kc_host_free(void *p);
void kc_to_device(void *dst, const void *src,
                  size_t bytes); /* on the compute stream, then synced */
void kc_to_host(void *dst, const void *src, size_t bytes);
void kc_memset0(void *p, size_t bytes);
/* The backend's own device scratch, grown on demand (kernels that need a
 * workspace of their own: column-sum partials, row losses, norms). */
void *kc_scratch(size_t bytes);
/* Attention's own workspace (kc_attention_* given scratch NULL). */
void *kc_attn_workspace(size_t bytes);
/* Managed memory: one address for the device and the host (k_alloc's
 * blocks under device = cuda), zeroed; NULL when out of memory. */
void *kc_managed_alloc(size_t bytes);
void kc_managed_free(void *p, size_t bytes); /* bytes: as allocated */

/* ---- the fp32 kernel interface on device pointers (kernels_api.h) -------- */
void kc_matmul_fwd(float *y, const float *x, const float *w, int M, int K, int N);
void kc_matmul_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w, int M,
                   int K, int N);
/* products with bf16 inputs and fp32 accumulation (k_bf16_gemm_set's) */
void kc_bf16_gemm_set(int on);
void kc_bias_fwd(float *y, const float *b, int M, int N);
void kc_bias_bwd(float *db, const float *dy, int M, int N);
void kc_add_fwd(float *y, const float *a, const float *b, size_t n);
void kc_accum(float *y, const float *x, size_t n);
void kc_axpy(float *y, double a, const float *x, size_t n);
void kc_embedding_fwd(float *y, const int32_t *ids, const float *table, int N, int C,
                      int accumulate);
void kc_embedding_bwd(float *dtable, const float *dy, const int32_t *ids, int N, int C);
void kc_gather_rows(float *y, const float *x, const int32_t *idx, int M, int C);
void kc_scatter_rows_bwd(float *dx, const float *dy, const int32_t *idx, int M, int C);
void kc_layernorm_fwd_ld(float *y, int ldy, float *mean, float *rstd, const float *x, int ldx,
                         const float *w, const float *b, int N, int C, double eps);
void kc_layernorm_bwd_ld(float *dx, int lddx, float *dw, float *db, const float *dy, int lddy,
                         const float *x, int ldx, const float *w, const float *mean,
                         const float *rstd, int N, int C);
void kc_gelu_fwd(float *y, const float *x, size_t n, int form);
void kc_gelu_bwd(float *dx, const float *dy, const float *x, size_t n, int form);
void kc_dropout_fwd(float *y, const float *x, size_t n, double p, uint64_t seed);
void kc_dropout_bwd(float *dx, const float *dy, size_t n, double p, uint64_t seed);
void kc_dropout_rows_fwd(float *y, const float *x, const int32_t *rows, int R, int T, int C,
                         double p, const uint64_t *seeds);
void kc_dropout_rows_bwd(float *dx, const float *dy, const int32_t *rows, int R, int T, int C,
                         double p, const uint64_t *seeds);
/* scratch: kc_attention_scratch_elems(T, NH) floats (geometry.h) */
void kc_attention_fwd(float *y, float *probs, float *scratch, const float *qkv,
                      const uint8_t *keymask, const float *relb, int B, int T, int C, int NH,
                      int causal, double p_drop, const uint64_t *seeds);
void kc_attention_bwd(float *dqkv, float *drelb, float *scratch, const float *dy, const float *qkv,
                      const float *probs, int B, int T, int C, int NH, int causal, double p_drop,
                      const uint64_t *seeds);
void kc_rope_fwd(float *qkv, int B, int T, int pos0, int C, int NH, double base);
void kc_rope_bwd(float *dqkv, int B, int T, int pos0, int C, int NH, double base);
/* the loss sum is returned (the one host synchronisation of a step's forward) */
double kc_xent_fwd(float *losses, float *probs, const float *logits, const int32_t *labels, int N,
                   int V);
void kc_xent_bwd(float *dlogits, const float *probs, const int32_t *labels, int N, int V,
                 double scale);

/* ---- optimizer and mixed-precision arithmetic (kernels.h's) ------------- */
/* KAdamW's fields, passed by value so that this header needs no kernels.h */
void kc_adamw(float *p, const float *g, float *m, float *v, size_t n, float beta1, float beta2,
              float eps, float step, float rbc2, float keep, float gscale);
/* bf16 states with stochastic rounding (seed, index0: KState's) */
void kc_adamw_bf16(float *p, const float *g, uint16_t *m, uint16_t *v, size_t n, float beta1,
                   float beta2, float eps, float step, float rbc2, float keep, float gscale,
                   uint64_t mseed, uint64_t vseed, uint64_t index0);
/* AdamW (update_p 1) or its moments only (0) on states of any type, one
 * block per K_Q8_BLOCK elements (q8: the block's new absmax), and LAMB's
 * two passes (kdev.h's entries of the same names) */
void kc_adam_state(float *p, const float *g, KDevState m, KDevState v, size_t n, float beta1,
                   float beta2, float eps, float step, float rbc2, float keep, float gscale,
                   int update_p);
double kc_lamb_sumsq(const float *p, KDevState m, KDevState v, size_t n, float c1, float rbc2,
                     float eps, float wd);
void kc_lamb_apply(float *p, KDevState m, KDevState v, size_t n, float c1, float rbc2, float eps,
                   float wd, float rate);
void kc_bf16_to_f32(float *x, const uint16_t *h, size_t n);
void kc_f32_to_bf16(uint16_t *h, const float *x, size_t n);
void kc_bf16_to_f32_off(float *x, const uint16_t *h, size_t n, float off);
void kc_f32_to_bf16_off(uint16_t *h, const float *x, size_t n, float off);
void kc_bf16_add_f32(uint16_t *h, const float *w, size_t n);
void kc_f32_add_bf16(float *w, const uint16_t *h, size_t n);
double kc_sumsq(const float *x, size_t n); /* Σ x² in double, deterministic */
double kc_sumsq_bf16(const uint16_t *h, size_t n);
void kc_zero(float *x, size_t n);
void kc_copy(float *y, const float *x, size_t n);
void kc_zero16(uint16_t *h, size_t n);
void kc_bf16_in_place(float *w, size_t n); /* through a scratch: no in-place race */

#ifdef __cplusplus
}
#endif

#endif
