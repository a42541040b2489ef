/*
 * cmd_blas.c — `zeropt blas`: the BLAS library, the kernels it picked on
 * this CPU, what the CPU supports, and the sgemm rate of this process's
 * threads (through the provider the model uses, and the other one); when
 * the kernels are clearly below the CPU, the fix. --suggest
 * prints only the fix (an environment assignment, or nothing), for scripts;
 * --wait prints the OpenMP wait policy this process runs under (the one
 * src/main.c chose, or the user's), as an assignment other programs of a
 * benchmark can export.
 */
#include "cmd.h"

#include "kernels/kernels.h"
#include "mpi/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char USAGE_BLAS[] =
    "zeropt blas [--suggest | --wait]\n"
    "    the BLAS library, the kernels it runs on this CPU and their sgemm rate; --suggest\n"
    "    prints only the environment setting that would give better kernels (or nothing);\n"
    "    --wait the OpenMP wait policy zeropt runs under here (GOMP_SPINCOUNT=N or\n"
    "    OMP_WAIT_POLICY=...), for scripts that run other programs beside it\n";

int cmd_blas(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_BLAS)) return 0;
    int suggest = argc == 1 && !strcmp(argv[0], "--suggest");
    int wait = argc == 1 && !strcmp(argv[0], "--wait");
    if (argc && !suggest && !wait)
        z_die_all("blas: unknown argument %s (zeropt blas --help)", argv[0]);
    if (wait) {
        const char *spin = getenv("GOMP_SPINCOUNT"), *policy = getenv("OMP_WAIT_POLICY");
        if (spin)
            printf("GOMP_SPINCOUNT=%s\n", spin);
        else if (policy)
            printf("OMP_WAIT_POLICY=%s\n", policy);
        return 0;
    }
    KBlasInfo b;
    k_blas_info(&b);
    if (suggest) {
        if (b.fix[0]) printf("%s\n", b.fix);
        return 0;
    }
    printf("library  %s\nkernels  %s (%s) on a CPU with %s\n", b.library, b.core,
           b.core_isa[0] ? b.core_isa : "?", b.cpu_isa);
    /* the provider the model's products use, then the other one for comparison */
    KSgemm use = k_sgemm_get(), other = use == K_SGEMM_BLAS ? K_SGEMM_ONEDNN : K_SGEMM_BLAS;
    printf("sgemm    %.1f GFLOP/s at 1024^3 (%d threads) through %s: the model's products\n",
           k_gemm_rate(1024, 3) / 1e9, k_get_threads(), k_sgemm_name(use));
    if (!k_sgemm_set(other)) {
        printf("         %.1f GFLOP/s through %s (ZEROPT_SGEMM=%s)\n", k_gemm_rate(1024, 3) / 1e9,
               k_sgemm_name(other), other == K_SGEMM_BLAS ? "blas" : "onednn");
        k_sgemm_set(use);
    }
    char threads[192];
    k_threads_desc(threads, sizeof threads);
    printf("threads  %s\n", threads);
    if (b.advice[0]) printf("note     %s\n", b.advice);
    return 0;
}

void cli_init(void) {
    k_init_threads();
    const char *err = k_sgemm_init();
    if (err) z_die_all("%s", err);
}
