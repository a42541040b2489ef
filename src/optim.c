/*
 * optim.c — AdamW, schedules and gradient norms (see optim.h).
 */
#include "optim.h"

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

double grad_sumsq(const float *g, size_t lo, size_t hi) {
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static)
    for (size_t i = lo; i < hi; i++) s += (double)g[i] * g[i];
    return s;
}

void adamw_update(const Model *m, int u, size_t lo, size_t hi, float *p, const float *grad,
                  float *mbuf, float *vbuf, double lr, long t, double gscale,
                  const TrainConfig *tc) {
    const Unit *U = &m->unit[u];
    const float b1 = (float)tc->beta1, b2 = (float)tc->beta2, eps = (float)tc->eps;
    const float step = (float)(lr / (1 - pow(tc->beta1, (double)t)));
    const float rbc2 = (float)(1.0 / sqrt(1 - pow(tc->beta2, (double)t)));
    const float gs = (float)gscale;
    for (int vi = U->first_view; vi < U->first_view + U->nviews; vi++) {
        const ParamView *v = &m->view[vi];
        size_t a = v->offset > lo ? v->offset : lo, b = v->offset + v->numel;
        if (b > hi) b = hi;
        if (a >= b) continue;
        const float keep = v->decay ? (float)(1 - lr * tc->weight_decay) : 1.0f;
#pragma omp parallel for schedule(static)
        for (size_t i = a; i < b; i++) {
            float g = grad[i - lo] * gs;
            float mi = b1 * mbuf[i - lo] + (1 - b1) * g;
            float vv = b2 * vbuf[i - lo] + (1 - b2) * g * g;
            mbuf[i - lo] = mi;
            vbuf[i - lo] = vv;
            p[i - lo] = p[i - lo] * keep - step * mi / (sqrtf(vv) * rbc2 + eps);
        }
    }
}
