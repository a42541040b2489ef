/*
 * blas_api.h — the CBLAS header of the BLAS the build chose (Makefile:
 * BLAS=openblas|blis|mkl|custom), and the weakly linked calls of each
 * library's own API that kernels/cpu/blas.c and threads.c use when present.
 */
#ifndef ZEROPT_BLAS_API_H
#define ZEROPT_BLAS_API_H

#ifdef ZEROPT_MKL
#include <mkl_cblas.h>
#else
#include <cblas.h>
#endif

#include <stdint.h>

/* OpenBLAS */
char *openblas_get_corename(void) __attribute__((weak));
char *openblas_get_config(void) __attribute__((weak));
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_parallel(void) __attribute__((weak)); /* 0 serial, 1 pthreads, 2 OpenMP */
/* BLIS */
const char *bli_info_get_version_str(void) __attribute__((weak));
int bli_arch_query_id(void) __attribute__((weak));
const char *bli_arch_string(int id) __attribute__((weak));
void bli_thread_set_num_threads(int64_t n) __attribute__((weak));
int64_t bli_info_get_enable_openmp(void) __attribute__((weak));
/* MKL: the C entry points (the lower-case names are its Fortran interface,
 * arguments by pointer: called with an int, mkl_set_num_threads crashed) */
void MKL_Get_Version_String(char *buf, int len) __attribute__((weak));
void MKL_Set_Num_Threads(int n) __attribute__((weak));

#endif
