/*
 * threads.c — one knob for the CPU backend's threads: OpenMP for the
 * element-wise kernels and the BLAS library for gemm. Each library's own
 * call is a weak reference (blas_api.h): whichever BLAS was linked gets it;
 * LibSci follows OpenMP.
 */
#include "kernels/kernels.h"

#include "blas_api.h"

#include <omp.h>
#include <stdio.h>
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
    if (MKL_Set_Num_Threads) MKL_Set_Num_Threads(n);
}

int k_get_threads(void) {
    return omp_get_max_threads();
}

static void *volatile leak_sink;
void k_leak_in_thread(size_t bytes) {
#pragma omp parallel num_threads(2)
    if (omp_get_thread_num() == 1) leak_sink = malloc(bytes);
    leak_sink = NULL;
}

int k_blas_uses_openmp(void) {
    if (openblas_get_parallel) return openblas_get_parallel() == 2;
    if (bli_info_get_enable_openmp) return bli_info_get_enable_openmp() != 0;
    return 0;
}

void k_threads_desc(char *buf, size_t n) {
    const char *spin = getenv("GOMP_SPINCOUNT"), *policy = getenv("OMP_WAIT_POLICY");
    char wait[96];
    if (spin)
        snprintf(wait, sizeof wait, "spin %s, then sleep (GOMP_SPINCOUNT)", spin);
    else if (policy)
        snprintf(wait, sizeof wait, "OMP_WAIT_POLICY=%s", policy);
    else
        snprintf(wait, sizeof wait, "the OpenMP runtime's default");
    snprintf(buf, n, "%d OpenMP threads, %s; wait: %s", omp_get_max_threads(),
             k_blas_uses_openmp() ? "shared with the BLAS" : "the BLAS has its own", wait);
}
