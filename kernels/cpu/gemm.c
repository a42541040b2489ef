/*
 * gemm.c — the single-precision product every CPU kernel calls (k_sgemm,
 * with CBLAS's row-major signature), and which library computes it.
 *
 * Two providers: the BLAS the build links (Makefile BLAS=...), and oneDNN's
 * sgemm where the build has it (Makefile DNNL=1, Debian's libdnnl-dev).
 * Measured on a virtual Xeon with AVX-512 (bench/NOTES.md, "sgemm
 * providers"), oneDNN 2.6's JIT sgemm ran a GPT-2 step's products 1.06x
 * faster than OpenBLAS 0.3.21's Cooperlake kernels (the step 1.07x). It is
 * not the default: runs stopped by SIGUSR1 under it ended in a glibc heap
 * corruption abort in 3 of 13 trials (0 of 15 through the BLAS), most
 * likely the signal frame overwriting data its JIT code keeps below the
 * stack pointer; with zeropt's handler on an alternate stack 0 of 28, but
 * other libraries' handlers could still meet it (bench/NOTES.md) — and a
 * stop must never lose its checkpoint.
 * ZEROPT_SGEMM=onednn asks for it. The provider is fixed once per process
 * (k_sgemm_init, or the first product), so a run's arithmetic is the same
 * from step to step and run to run.
 */
#include "kernels/kernels.h"

#include "blas_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ZEROPT_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

static int provider = -1; /* KSgemm, -1 until chosen */

const char *k_sgemm_init(void) {
    static char err[160];
    const char *want = getenv("ZEROPT_SGEMM");
    KSgemm p = K_SGEMM_BLAS; /* the default */
    if (want && *want) {
        if (!strcmp(want, "blas"))
            p = K_SGEMM_BLAS;
        else if (!strcmp(want, "onednn"))
            p = K_SGEMM_ONEDNN;
        else {
            snprintf(err, sizeof err, "ZEROPT_SGEMM=%.40s: expected blas or onednn", want);
            return err;
        }
    }
    if (k_sgemm_set(p)) {
        snprintf(err, sizeof err,
                 "ZEROPT_SGEMM=onednn: this build has no oneDNN (build with DNNL=1 and "
                 "libdnnl-dev)");
        return err;
    }
    return NULL;
}

int k_sgemm_set(KSgemm p) {
#ifndef ZEROPT_DNNL
    if (p == K_SGEMM_ONEDNN) return -1;
#endif
    __atomic_store_n(&provider, (int)p, __ATOMIC_RELAXED);
    return 0;
}

KSgemm k_sgemm_get(void) {
    int p = __atomic_load_n(&provider, __ATOMIC_RELAXED);
    if (p < 0) { /* a program that did not call k_sgemm_init: the default */
        p = (int)K_SGEMM_BLAS;
        __atomic_store_n(&provider, p, __ATOMIC_RELAXED);
    }
    return (KSgemm)p;
}

const char *k_sgemm_name(KSgemm p) {
    static char name[64];
    if (p == K_SGEMM_BLAS) return "the BLAS";
#ifdef ZEROPT_DNNL
    const dnnl_version_t *v = dnnl_version();
    snprintf(name, sizeof name, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
#else
    snprintf(name, sizeof name, "oneDNN (not in this build)");
#endif
    return name;
}

void k_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc) {
#ifdef ZEROPT_DNNL
    /* oneDNN's sgemm is row-major; every caller here is too */
    if (order == CblasRowMajor && k_sgemm_get() == K_SGEMM_ONEDNN &&
        dnnl_sgemm(ta == CblasTrans ? 'T' : 'N', tb == CblasTrans ? 'T' : 'N', M, N, K, alpha, A,
                   lda, B, ldb, beta, C, ldc) == dnnl_success)
        return;
#endif
    cblas_sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
