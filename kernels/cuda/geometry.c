/*
 * geometry.c — launch geometry and workspace sizes of the CUDA kernels
 * (geometry.h). Host arithmetic only: no CUDA call here.
 */
#include "geometry.h"

unsigned kc_grid_1d(size_t n) {
    size_t b = (n + KC_BLOCK - 1) / KC_BLOCK;
    return b > KC_MAX_GRID ? KC_MAX_GRID : (unsigned)b;
}

unsigned kc_row_threads(int C) {
    unsigned t = C > 0 ? ((unsigned)C + 3) / 4 : 1;
    t = (t + 31) / 32 * 32;
    return t < 32 ? 32 : t > 1024 ? 1024 : t;
}

size_t kc_attention_scratch_elems(int T, int NH) {
    return 2 * (size_t)NH * T * T;
}

unsigned kc_colsum_parts(int M) {
    return M > 0 ? (unsigned)((M + KC_COLSUM_ROWS - 1) / KC_COLSUM_ROWS) : 1;
}

unsigned kc_sumsq_blocks(size_t n) {
    size_t b = (n + 4 * KC_BLOCK - 1) / (4 * KC_BLOCK);
    return b < 1 ? 1 : b > 1024 ? 1024 : (unsigned)b;
}
