/*
 * hooks.c — the model's passes on the ZeRO partition: the hooks that
 * gather parameters and hand out gradient buffers as the passes cross unit
 * boundaries, and the optimizer step over this rank's shards.
 *
 * Model knowledge lives here, not in mpi/zero.c: with tied embeddings the
 * head reads and writes the token embedding of unit 0, so the head's hooks
 * make unit 0 resident too, and unit 0's gradient is pinned for the whole
 * backward.
 */
#include "trainer.h"

#include "src/optim/optim.h"

#include "mpi/comm.h"
#include "mpi/fault.h"
#include "kernels/optim_math.h"

#include <math.h>
#include <stdio.h>

static void bind(Trainer *tr, int u) {
    tr->m.unit[u].params = zero_params(tr->zero, u);
    tr->m.unit[u].grads = zero_grads(tr->zero, u);
}

static void on_hook(void *ctx, int event, int u) {
    Trainer *tr = ctx;
    Zero *z = tr->zero;
    int head = tr->m.nunits - 1, tied = tr->m.c.tied && u == head;
    switch (event) {
    case HOOK_BEFORE_FWD:
        zero_acquire(z, u);
        if (tied) zero_acquire(z, 0);
        zero_prefetch(z, u + 1);
        bind(tr, u);
        if (tied) bind(tr, 0);
        break;
    case HOOK_AFTER_FWD:
        zero_release(z, u);
        if (tied) zero_release(z, 0);
        break;
    case HOOK_BWD_BEGIN:
        zero_bwd_begin(z);
        break;
    case HOOK_BEFORE_BWD:
        zero_acquire(z, u);
        if (tied) zero_acquire(z, 0);
        zero_prefetch(z, u - 1);
        zero_grad_begin(z, u);
        bind(tr, u);
        if (tied) bind(tr, 0);
        break;
    case HOOK_AFTER_BWD:
        zero_grad_end(z, u);
        zero_release(z, u);
        if (tied) zero_release(z, 0);
        break;
    case HOOK_PROGRESS:
        zero_progress(z);
        break;
    }
}

void trainer_install_hooks(Trainer *tr) {
    tr->m.hook = on_hook;
    tr->m.hook_ctx = tr;
}

/* This rank's first non-finite gradient element, by tensor, into tr->err
 * (nothing when its part is finite): what the step's error line names. */
static void find_nonfinite(Trainer *tr, const void *const *g, int mixed, long step) {
    const Model *m = &tr->m;
    Zero *z = tr->zero;
    tr->err[0] = 0;
    if (zero_stage(z) == 0 && tr->rank) return; /* every rank holds the same gradient */
    for (int i = 0; i < m->nviews; i++) {
        const ParamView *v = &m->view[i];
        size_t lo = zero_lo(z, v->unit), hi = zero_hi(z, v->unit), at = zero_stage(z) ? lo : 0;
        size_t a = v->offset > lo ? v->offset : lo, e = v->offset + v->numel;
        for (size_t k = a; k < (e < hi ? e : hi); k++) {
            float x = mixed ? km_from_bf16(((const uint16_t *)g[v->unit])[k - at])
                            : ((const float *)g[v->unit])[k - at];
            if (isfinite(x)) continue;
            snprintf(tr->err, sizeof tr->err,
                     "step %ld: the gradient of %s is %g at element %zu of %zu (the first in "
                     "this rank's part); lower [train] lr or raise warmup",
                     step + 1, v->name, x, k - v->offset, v->numel);
            return;
        }
    }
}

double trainer_update(Trainer *tr, long step, double lr, double *loss_sum) {
    Zero *z = tr->zero;
    Model *m = &tr->m;
    const TrainConfig *tc = &tr->cfg.train;
    int nu = m->nunits;
    float **p = tr->opt_p;
    const void **g = tr->opt_g;
    int mixed = zero_mixed(z);
    for (int u = 0; u < nu; u++)
        p[u] = zero_own_params(z, u),
        g[u] = mixed ? (const void *)zero_own_grads_bf16(z, u) : (const void *)zero_own_grads(z, u);
    if (step == 2 && tr->rank == 0 && z_fault("nan-grad")) {
        if (mixed) /* the first element of the last unit rank 0 updates */
            ((uint16_t *)g[nu - 1])[0] = 0x7fc0; /* a quiet NaN */
        else
            ((float *)g[nu - 1])[0] = NAN;
    }
    /* Σ g² over the shard each rank owns (stage 0: the same slice of its full
     * copy), one all-reduce that also carries the loss, a NaN/Inf flag and
     * the optimizer's first sums */
    size_t n0 = optim_nsums(tr->opt, 0), n1 = optim_nsums(tr->opt, 1);
    double red3[3], *red = n0 + n1 ? tr->opt_sums : red3, *sum0 = red + 3, *sum1 = red + 3 + n0;
    red[0] = 0, red[1] = 0, red[2] = *loss_sum;
    for (int u = 0; u < nu; u++) {
        size_t shard = zero_shard(z, u), lo = (size_t)tr->rank * shard;
        size_t hi = lo + shard < m->unit[u].numel ? lo + shard : m->unit[u].numel;
        if (hi <= lo) continue;
        size_t at = zero_stage(z) == 0 ? lo : 0;
        red[0] += mixed ? k_sumsq_bf16((const uint16_t *)g[u] + at, hi - lo)
                        : k_sumsq((const float *)g[u] + at, hi - lo);
    }
    optim_sums0(tr->opt, p, g, sum0);
    red[1] = isfinite(red[0]) ? 0 : 1;
    comm_allreduce_f64(red, 3 + n0, "gradient norm", step);
    *loss_sum = red[2];
    double gnorm = red[1] > 0 ? NAN : sqrt(red[0]);
    if (!isfinite(gnorm)) { /* the caller stops every rank; each names its first bad element */
        find_nonfinite(tr, g, mixed, step);
        return gnorm;
    }
    double coef = tc->clip > 0 && gnorm > tc->clip ? tc->clip / (gnorm + 1e-6) : 1.0;
    optim_sums1(tr->opt, p, g, step + 1, coef, sum0, sum1);
    if (n1) comm_allreduce_f64(sum1, n1, "optimizer update norms", step);
    trainer_ckpt_fence(tr);            /* a save in flight may be writing these shards */
    trainer_continual_pull(tr, p, lr); /* L2-SP ([continual] l2sp), decoupled */
    optim_apply(tr->opt, p, g, lr, step + 1, coef, sum0, sum1);
    zero_after_update(z);
    return gnorm;
}
