/*
 * test_zero.c — mpi/zero.c on its own, with synthetic units (no model): at
 * every stage, with and without a tied unit, on however many ranks it runs
 * (tests/mpi/test_units.sh runs it at 2 and 3, and under comm-slow):
 *   - the bytes it allocates, by category, are the design's (zero.h);
 *   - whole units go in (zero_full_scratch + zero_store_full) and come back
 *     (zero_full_params);
 *   - under the model's hook protocol (forward, then backward with the last
 *     unit also reading and writing the tied one), every unit it makes
 *     resident holds its values, and the reduced gradients after two
 *     micro-batches are the sums over ranks;
 *   - after an update of each rank's own range and zero_after_update, every
 *     rank sees every update;
 *   - a model of 100 units never has more than ZERO_MAX_INFLIGHT reductions
 *     and ZERO_POOL gathers in flight, at every stage.
 * Values are small multiples of 1/2, so every sum is exact in float.
 */
#include "tests/lib/check.h"

#include "kernels/kernels.h"
#include "mpi/comm.h"
#include "mpi/zero.h"

#include <string.h>

static int nranks, rank, peak_flight;

/* the same answer on every rank: the check holds on all of them */
static int all(int cond) {
    return !comm_any(!cond, "check");
}

static void pad_units(int nu, const size_t *numel, size_t *padded) {
    size_t q = (size_t)nranks * 16;
    for (int u = 0; u < nu; u++) padded[u] = (numel[u] + q - 1) / q * q;
}

static float value(int u, size_t i) {
    return (float)(u * 1000 + (int)(i % 997)) * 0.5f;
}

static void watch(void) {
    if (comm_in_flight() > peak_flight) peak_flight = comm_in_flight();
}

/* The hooks of src/train/hooks.c, replayed: returns 1 when every resident
 * unit held its values. grad_unit adds (rank+1)(a+1)(u+1)/2 to u's gradient
 * (and, for the last unit, to the tied one's). */
static int pass(Zero *z, int nu, const size_t *numel, int tied, int a, float bump) {
    int good = 1, last = nu - 1;
#define HOLDS(u)                                                                                   \
    do {                                                                                           \
        const float *p = zero_params(z, u);                                                        \
        for (size_t i = 0; p && i < numel[u]; i++) good &= p[i] == value(u, i) + bump;             \
        good &= p != NULL;                                                                         \
    } while (0)
    for (int u = 0; u < nu; u++) { /* forward */
        int t = u == last && tied >= 0;
        zero_acquire(z, u);
        if (t) zero_acquire(z, tied);
        zero_prefetch(z, u + 1);
        watch();
        HOLDS(u);
        if (t) HOLDS(tied);
        zero_release(z, u);
        if (t) zero_release(z, tied);
    }
    zero_bwd_begin(z);
    for (int u = last; u >= 0; u--) { /* backward */
        int t = u == last && tied >= 0;
        zero_acquire(z, u);
        if (t) zero_acquire(z, tied);
        zero_prefetch(z, u - 1);
        zero_grad_begin(z, u);
        watch();
        HOLDS(u);
        float *g = zero_grads(z, u), *gt = t ? zero_grads(z, tied) : NULL;
        good &= g != NULL && (!t || gt != NULL);
        for (size_t i = 0; g && i < numel[u]; i++)
            g[i] += (float)((rank + 1) * (a + 1) * (u + 1)) * 0.5f;
        for (size_t i = 0; gt && i < numel[tied]; i++)
            gt[i] += (float)((rank + 1) * (a + 1) * (tied + 1)) * 0.5f;
        zero_grad_end(z, u);
        watch();
        zero_release(z, u);
        if (t) zero_release(z, tied);
        zero_progress(z);
    }
    zero_end_backward(z);
    return good;
#undef HOLDS
}

static void run(int stage, int nu, const size_t *numel, int tied, int full_checks) {
    size_t padded[128];
    pad_units(nu, numel, padded);
    MemStats before = k_mem_stats();
    Zero *z = zero_create(stage, 1, nu, numel, padded, tied, 0, 0);
    MemStats after = k_mem_stats();
    char name[160];
    const char *tn = tied >= 0 ? "tied" : "untied";
    /* the design's bytes (zero.h) */
    size_t full = 0, maxwork = 0, arena = 0;
    for (int u = 0; u < nu; u++) {
        full += padded[u];
        if (u != tied && padded[u] > maxwork) maxwork = padded[u];
        size_t pair = padded[u] + (u + 1 < nu ? padded[u + 1] : 0);
        if (pair > arena) arena = pair;
    }
    if (tied >= 0 && padded[tied] + padded[nu - 1] > arena) arena = padded[tied] + padded[nu - 1];
    size_t sh = full / (size_t)nranks, want[MEM_NCAT] = {0};
    want[MEM_PARAMS] = 4 * (stage <= 2 ? full : sh);
    want[MEM_GRADS] = 4 * (stage <= 1 ? full : sh);
    /* no optimizer state: that lives in src/optim, laid out over tensors */
    want[MEM_BUFFERS] = stage < 2 ? 0 : 4 * (2 * maxwork + (tied >= 0 ? padded[tied] : 0));
    if (stage == 3) want[MEM_BUFFERS] += 4 * arena;
    int bytes_ok = 1;
    for (int c = 0; c < MEM_NCAT; c++) bytes_ok &= after.now[c] - before.now[c] == want[c];
    /* whole units in */
    for (int u = 0; u < nu; u++) {
        float *f = zero_full_scratch(z, u);
        for (size_t i = 0; i < padded[u]; i++) f[i] = i < numel[u] ? value(u, i) : 0;
        zero_store_full(z, u, f);
    }
    int back = 1;
    for (int u = 0; u < nu; u++) {
        const float *f = zero_full_params(z, u);
        for (size_t i = 0; i < numel[u]; i++) back &= f[i] == value(u, i);
    }
    /* a step of two micro-batches */
    peak_flight = 0;
    zero_begin_step(z, 0);
    int held = 1;
    for (int a = 0; a < 2; a++) {
        zero_begin_micro(z, a == 1);
        held &= pass(z, nu, numel, tied, a, 0);
    }
    double ranksum = nranks * (nranks + 1) / 2.0;
    int grads_ok = 1;
    for (int u = 0; u < nu; u++) {
        size_t lo = zero_lo(z, u), hi = zero_hi(z, u);
        const float *g = zero_own_grads(z, u);
        float want_g = (float)(ranksum * 3 * (u + 1) * 0.5 * (u == tied ? 2 : 1));
        for (size_t i = lo; i < hi; i++) grads_ok &= g[i - lo] == want_g;
    }
    /* an update of each rank's own range, then everyone sees it */
    for (int u = 0; u < nu; u++) {
        size_t lo = zero_lo(z, u), hi = zero_hi(z, u);
        float *p = zero_own_params(z, u);
        for (size_t i = lo; i < hi; i++) p[i - lo] += 1;
    }
    zero_after_update(z);
    int seen = 1;
    zero_begin_step(z, 1);
    zero_begin_micro(z, 1);
    seen &= pass(z, nu, numel, tied, 0, 1);
    for (int u = 0; u < nu; u++) {
        const float *f = zero_full_params(z, u);
        for (size_t i = 0; i < numel[u]; i++) seen &= f[i] == value(u, i) + 1;
        const float *s = zero_slice_params(z, u);
        size_t off = (size_t)rank * zero_shard(z, u);
        for (size_t i = off; i < off + zero_shard(z, u) && i < numel[u]; i++)
            seen &= s[i - off] == value(u, i) + 1;
    }
    zero_free(z);
    if (full_checks) {
        snprintf(name, sizeof name, "stage %d, %s: allocated bytes by category are the design's",
                 stage, tn);
        check(all(bytes_ok), name, "params %zu, grads %zu, optim %zu, buffers %zu",
              want[MEM_PARAMS], want[MEM_GRADS], want[MEM_OPTIM], want[MEM_BUFFERS]);
        snprintf(name, sizeof name, "stage %d, %s: whole units in and back out", stage, tn);
        check(all(back), name, NULL);
        snprintf(name, sizeof name,
                 "stage %d, %s: resident units hold their values, forward and "
                 "backward",
                 stage, tn);
        check(all(held), name, NULL);
        snprintf(name, sizeof name,
                 "stage %d, %s: gradients of 2 micro-batches reduced over %d "
                 "ranks",
                 stage, tn, nranks);
        check(all(grads_ok), name, NULL);
        snprintf(name, sizeof name, "stage %d, %s: every rank sees every rank's update", stage, tn);
        check(all(seen), name, NULL);
    } else {
        int bound = peak_flight <= ZERO_MAX_INFLIGHT + ZERO_POOL;
        snprintf(name, sizeof name,
                 "stage %d, %d units: requests in flight stay bounded, "
                 "gradients right",
                 stage, nu);
        check(all(bound && grads_ok && held && seen), name, "peak %d in flight (bound %d)",
              comm_max_int(peak_flight, "peak"), ZERO_MAX_INFLIGHT + ZERO_POOL);
    }
}

int main(int argc, char **argv) {
    comm_init(&argc, &argv);
    rank = comm_rank(), nranks = comm_size();
    check_quiet = rank != 0;
    check_plan(44);
    static const size_t numel[5] = {37, 1000, 5, 640, 129};
    for (int stage = 0; stage < 4; stage++) {
        run(stage, 5, numel, -1, 1);
        run(stage, 5, numel, 0, 1);
    }
    size_t many[100];
    for (int u = 0; u < 100; u++) many[u] = 20 + (size_t)(u * 37 % 90);
    for (int stage = 0; stage < 4; stage++) run(stage, 100, many, 0, 0);
    int rc = check_exit();
    comm_finalize();
    return rc;
}
