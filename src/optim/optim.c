/*
 * optim.c — learning-rate schedules and AdamW over a unit's tensors (see optim.h).
 */
#include "optim.h"

#include "kernels/kernels.h"

#include <math.h>

double lr_at(const TrainConfig *t, long s) {
    if (t->warmup > 0 && s < t->warmup) return t->lr * (double)(s + 1) / (double)t->warmup;
    long span = t->steps - t->warmup;
    double prog = span > 1 ? (double)(s - t->warmup) / (double)(span - 1) : 1.0;
    if (prog > 1) prog = 1;
    switch (t->schedule) {
    case SCHED_CONSTANT:
        return t->lr;
    case SCHED_COSINE:
        return t->min_lr + (t->lr - t->min_lr) * 0.5 * (1 + cos(M_PI * prog));
    case SCHED_WSD: { /* stable at lr, then linear to min_lr over the last decay_frac */
        long ndecay = (long)ceil(t->decay_frac * (double)t->steps);
        long start = t->steps - ndecay;
        if (s < start || ndecay <= 0) return t->lr;
        double q = ndecay > 1 ? (double)(s - start) / (double)(ndecay - 1) : 1.0;
        return t->lr + (t->min_lr - t->lr) * q;
    }
    default: /* linear */
        return t->lr + (t->min_lr - t->lr) * prog;
    }
}

void adamw_update(const Model *m, int u, size_t lo, size_t hi, float *p, const float *grad,
                  float *mbuf, float *vbuf, double lr, long t, double gscale,
                  const TrainConfig *tc) {
    const Unit *U = &m->unit[u];
    KAdamW a = {(float)tc->beta1,
                (float)tc->beta2,
                (float)tc->eps,
                (float)(lr / (1 - pow(tc->beta1, (double)t))),
                (float)(1.0 / sqrt(1 - pow(tc->beta2, (double)t))),
                1.0f,
                (float)gscale};
    for (int vi = U->first_view; vi < U->first_view + U->nviews; vi++) {
        const ParamView *v = &m->view[vi];
        size_t s = v->offset > lo ? v->offset : lo, e = v->offset + v->numel;
        if (e > hi) e = hi;
        if (s >= e) continue;
        a.keep = v->decay ? (float)(1 - lr * tc->weight_decay) : 1.0f;
        k_adamw(p + (s - lo), grad + (s - lo), mbuf + (s - lo), vbuf + (s - lo), e - s, &a);
    }
}
