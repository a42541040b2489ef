/*
 * ops.cu — the CUDA backend as the table the k_* kernels forward to
 * (kernels/kdev.h): the kc_* functions of kcuda.h, managed memory for
 * k_alloc, and the compute stream's synchronisation.
 */
#include "kc_internal.cuh"

#include "kernels/kdev.h"

static const KDevOps ops = {
    "cuda",
    kc_managed_alloc,
    kc_managed_free,
    kc_sync,
    kc_bf16_gemm_set,
    kc_matmul_fwd,
    kc_matmul_bwd,
    kc_bias_fwd,
    kc_bias_bwd,
    kc_add_fwd,
    kc_accum,
    kc_axpy,
    kc_embedding_fwd,
    kc_embedding_bwd,
    kc_layernorm_fwd_ld,
    kc_layernorm_bwd_ld,
    kc_gelu_fwd,
    kc_gelu_bwd,
    kc_dropout_fwd,
    kc_dropout_bwd,
    kc_dropout_rows_fwd,
    kc_dropout_rows_bwd,
    kc_attention_fwd,
    kc_attention_bwd,
    kc_rope_fwd,
    kc_rope_bwd,
    kc_xent_fwd,
    kc_xent_bwd,
    kc_adamw,
    kc_adam_state,
    kc_lamb_sumsq,
    kc_lamb_apply,
    kc_bf16_to_f32,
    kc_f32_to_bf16,
    kc_bf16_add_f32,
    kc_f32_add_bf16,
    kc_sumsq,
    kc_sumsq_bf16,
    kc_zero,
    kc_copy,
    kc_zero16,
    kc_bf16_in_place,
    kc_bf16_to_f32_off,
    kc_f32_to_bf16_off,
};

const KDevOps *kc_ops(void) {
    return kc_is_open() ? &ops : NULL;
}
