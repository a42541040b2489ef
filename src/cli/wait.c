/*
 * wait.c — the OpenMP wait policy of a zeropt process: what an idle thread
 * does between parallel regions, chosen from the BLAS's threads and this
 * node's ranks and cores before the OpenMP runtime reads it.
 */
#include "cmd.h"

#include "kernels/kernels.h"

#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * The OpenMP wait policy: what a thread does between parallel regions. The
 * runtime reads it when it loads, before main, so when the user has not
 * chosen (OMP_WAIT_POLICY or GOMP_SPINCOUNT) we set it and re-execute (same
 * PID: safe before MPI_Init). Measured on 2 cores (Xeon VM, base encoder,
 * T = 128, B = 8, 1 rank, 2 threads; bench/NOTES.md 2026-12-07):
 * - One team for everything (the BLAS's threads are OpenMP's: OpenBLAS's
 *   OpenMP build, which the Makefile links, or BLIS openmp) on cores of
 *   its own: spin GOMP_SPINCOUNT = 20000 times (a fraction of a
 *   millisecond), then sleep. A step is thousands of short regions back to
 *   back, and waking a sleeping thread for each costs a system call (on a
 *   VM, an interrupt): bf16 steps 2.36 -> 1.52 s, fp32 2.4 -> 2.25 s.
 * - The BLAS keeps threads of its own (OpenBLAS's pthreads build), or this
 *   node's ranks x threads exceed its cores: PASSIVE, sleep at once.
 *   Spinning threads then steal the cores the BLAS's threads or the other
 *   ranks need: fp32 2.4 -> 2.8 s with 20000 spins, 3.5x slower steps with
 *   GNU OpenMP's default (300000).
 */
static long leading_int(const char *name) { /* "2(x3)" -> 2; unset -> 0 */
    const char *v = getenv(name);
    return v && *v >= '0' && *v <= '9' ? strtol(v, NULL, 10) : 0;
}

static int oversubscribed(void) {
    static const char *const local_ranks[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
                                              "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"};
    long ranks = 1;
    for (size_t i = 0; i < sizeof local_ranks / sizeof *local_ranks && ranks == 1; i++)
        if (leading_int(local_ranks[i]) > 1) ranks = leading_int(local_ranks[i]);
    cpu_set_t set;
    long mine = sched_getaffinity(0, sizeof set, &set) ? 0 : CPU_COUNT(&set);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (mine <= 0) mine = cores;
    long threads = leading_int("OMP_NUM_THREADS");
    if (threads <= 0) threads = mine; /* the runtime's own default */
    return threads > mine || ranks * threads > cores;
}

void cli_wait_policy(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return;
    if (k_blas_uses_openmp() && !oversubscribed())
        setenv("GOMP_SPINCOUNT", "20000", 1);
    else
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return;
    self[n] = 0;
    execv(self, argv); /* the real path, so ps and top still show "zeropt" */
    /* exec failed (no /proc): carry on with the default policy */
}
