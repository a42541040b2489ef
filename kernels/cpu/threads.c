/*
 * threads.c — one knob for the CPU backend's threads: OpenMP for the
 * element-wise kernels and the BLAS library for gemm. The OpenBLAS call is a
 * weak reference, so MKL or LibSci builds link too (they follow OpenMP).
 */
#include "kernels/kernels.h"

#include <omp.h>

void openblas_set_num_threads(int) __attribute__((weak));

void k_set_threads(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    if (openblas_set_num_threads) openblas_set_num_threads(n);
}

int k_get_threads(void) {
    return omp_get_max_threads();
}
