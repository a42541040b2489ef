/*
 * blas.c — what the BLAS library runs on this CPU, and how fast.
 *
 * OpenBLAS built with DYNAMIC_ARCH (Debian's) picks its kernels at load time
 * from the CPU model. A model it does not know gets an old fallback: 0.3.21
 * on a virtual "Intel Xeon Processor" with AVX-512 and AMX chose Prescott
 * (SSE3) and ran sgemm at 29 GFLOP/s, 147 with OPENBLAS_CORETYPE=Cooperlake.
 * So the library's core is compared with what the CPU supports, and a core
 * clearly below it is reported with the exact fix — never forced silently.
 * Each library's own calls are weak references (blas_api.h): the build links
 * one BLAS (Makefile: BLAS=openblas|blis|mkl|custom) and this file names
 * whichever answers — OpenBLAS with its core, BLIS with the sub-configuration
 * it chose at run time, MKL with its version (it dispatches by itself);
 * anything else is "a BLAS without a known API" (core "unknown", no advice).
 */
#include "kernels/kernels.h"

#include "kernels/clock.h"

#include "blas_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Vector level of a core's kernels: 1 SSE, 2 AVX, 3 AVX2, 4 AVX-512. */
static int core_level(const char *core) {
    /* OpenBLAS's core names, then BLIS's sub-configurations */
    static const char *const avx512[] = {"skylakex", "cooperlake", "sapphirerapids", "skx", "knl",
                                         "zen4",     "zen5"};
    static const char *const avx2[] = {"haswell", "zen", "excavator", "zen2", "zen3"};
    static const char *const avx[] = {"sandybridge", "bulldozer", "piledriver", "steamroller"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        if (!strcasecmp(core, avx512[i])) return 4;
    for (size_t i = 0; i < sizeof avx2 / sizeof *avx2; i++)
        if (!strcasecmp(core, avx2[i])) return 3;
    for (size_t i = 0; i < sizeof avx / sizeof *avx; i++)
        if (!strcasecmp(core, avx[i])) return 2;
    return 1;
}

static const char *level_name(int level) {
    static const char *const n[] = {"", "SSE", "AVX", "AVX2", "AVX-512"};
    return n[level];
}

/* The CPU's own level and the OpenBLAS core that uses it. */
static int cpu_level(const char **best) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        *best = __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
        return 4;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *best = __builtin_cpu_is("amd") ? "Zen" : "Haswell";
        return 3;
    }
    if (__builtin_cpu_supports("avx")) {
        *best = "Sandybridge";
        return 2;
    }
    *best = NULL;
    return 1;
}

void k_blas_info(KBlasInfo *b) {
    memset(b, 0, sizeof *b);
    const char *best;
    int have = cpu_level(&best);
    snprintf(b->cpu_isa, sizeof b->cpu_isa, "%s", level_name(have));
    snprintf(b->core, sizeof b->core, "unknown");
    if (bli_info_get_version_str) { /* BLIS: its run-time sub-configuration */
        snprintf(b->library, sizeof b->library, "BLIS %s", bli_info_get_version_str());
        if (bli_arch_query_id && bli_arch_string) {
            snprintf(b->core, sizeof b->core, "%s", bli_arch_string(bli_arch_query_id()));
            snprintf(b->core_isa, sizeof b->core_isa, "%s", level_name(core_level(b->core)));
        }
        return;
    }
    if (MKL_Get_Version_String) { /* MKL dispatches on the CPU by itself */
        char v[160];
        MKL_Get_Version_String(v, sizeof v);
        snprintf(b->library, sizeof b->library, "%s", v);
        snprintf(b->core, sizeof b->core, "MKL dispatch");
        return;
    }
    const char *core = openblas_get_corename ? openblas_get_corename() : NULL;
    const char *conf = openblas_get_config ? openblas_get_config() : NULL;
    snprintf(b->library, sizeof b->library, "%s", conf ? conf : "a BLAS without a known API");
    if (!core) return;
    snprintf(b->core, sizeof b->core, "%s", core);
    int got = core_level(core);
    snprintf(b->core_isa, sizeof b->core_isa, "%s", level_name(got));
    const char *forced = getenv("OPENBLAS_CORETYPE");
    if (got < have && best) snprintf(b->fix, sizeof b->fix, "OPENBLAS_CORETYPE=%s", best);
    if (got >= have || !best) return;
    if (forced)
        snprintf(b->advice, sizeof b->advice,
                 "OpenBLAS runs its %s kernels (%s) on a CPU with %s because OPENBLAS_CORETYPE=%s "
                 "asks for them: set OPENBLAS_CORETYPE=%s, or unset it",
                 core, level_name(got), level_name(have), forced, best);
    else
        snprintf(b->advice, sizeof b->advice,
                 "OpenBLAS runs its %s kernels (%s) on a CPU with %s (it does not recognise this "
                 "CPU model): set OPENBLAS_CORETYPE=%s for kernels several times faster",
                 core, level_name(got), level_name(have), best);
}

double k_gemm_rate(int n, int reps) {
    float *a = calloc((size_t)n * n, sizeof *a), *b = calloc((size_t)n * n, sizeof *b),
          *c = calloc((size_t)n * n, sizeof *c);
    double best = 0;
    for (int r = 0; a && b && c && r <= reps; r++) { /* the first call warms up */
        double t0 = k_now();
        k_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double rate = 2.0 * n * n * n / (k_now() - t0);
        if (r && rate > best) best = rate;
    }
    free(a), free(b), free(c);
    return best;
}
