/*
 * geometry.h — how the CUDA kernels split their work, as plain C: grid and
 * block sizes, row-kernel widths, how many attention heads run per batched
 * product and the workspaces they need. Host-only arithmetic, compiled in
 * every build, so CI checks it without a GPU (tests/unit/test_cuda_host.c);
 * the .cu files launch exactly what these functions say.
 */
#ifndef ZEROPT_KC_GEOMETRY_H
#define ZEROPT_KC_GEOMETRY_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KC_BLOCK 256                /* threads of an element-wise block */
#define KC_MAX_GRID 65535u          /* blocks of a grid-stride launch (it loops beyond) */
#define KC_LT_WORKSPACE (32u << 20) /* cuBLASLt workspace: 32 MiB (Hopper's advice) */

/* Blocks of an element-wise kernel over n elements with KC_BLOCK threads;
 * capped at KC_MAX_GRID (the kernels stride over the rest); 0 for n = 0. */
unsigned kc_grid_1d(size_t n);
/* Threads of a one-block-per-row kernel over rows of C elements: a multiple
 * of 32, at least 32, at most 1024, about C/4 (four elements a thread). */
unsigned kc_row_threads(int C);
/* Attention runs one sample at a time, its NH heads as one strided-batched
 * product: the scratch (dropped probabilities and dP) is 2·NH·T² floats. */
size_t kc_attention_scratch_elems(int T, int NH);
/* Columns summed per block, and rows per partial, of the deterministic
 * two-stage column sums (bias and LayerNorm weight gradients): partials
 * [kc_colsum_parts(M)][N] are summed in order by a second kernel. */
#define KC_COLSUM_ROWS 256
unsigned kc_colsum_parts(int M);
/* Blocks of the deterministic squared-norm reduction over n elements:
 * fixed for a given n (partial sums are added in block order). */
unsigned kc_sumsq_blocks(size_t n);

#ifdef __cplusplus
}
#endif

#endif
