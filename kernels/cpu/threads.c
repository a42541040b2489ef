/*
 * threads.c — one knob for the CPU backend's threads: OpenMP for the
 * element-wise kernels and the BLAS library for gemm. Each library's own
 * call is a weak reference (blas_api.h): whichever BLAS was linked gets it;
 * LibSci follows OpenMP.
 */
#include "kernels/kernels.h"

#include "blas_api.h"

#include <omp.h>
#include <stdlib.h>

void k_init_threads(void) {
    if (bli_thread_set_num_threads && !getenv("BLIS_NUM_THREADS"))
        bli_thread_set_num_threads(omp_get_max_threads());
}

void k_set_threads(int n) {
    if (n <= 0) return;
    omp_set_num_threads(n);
    if (openblas_set_num_threads) openblas_set_num_threads(n);
    if (bli_thread_set_num_threads) bli_thread_set_num_threads(n);
    if (mkl_set_num_threads) mkl_set_num_threads(n);
}

int k_get_threads(void) {
    return omp_get_max_threads();
}
