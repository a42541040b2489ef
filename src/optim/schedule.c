/*
 * schedule.c — learning-rate schedules (see optim.h).
 */
#include "optim.h"

#include <math.h>

double lr_at(const TrainConfig *t, long s) {
    return lr_at_frac(t, (double)s);
}

double lr_at_frac(const TrainConfig *t, double s) {
    if (t->warmup > 0 && s < t->warmup) return t->lr * (s + 1) / (double)t->warmup;
    long span = t->steps - t->warmup;
    double prog = span > 1 ? (s - t->warmup) / (double)(span - 1) : 1.0;
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
        double q = ndecay > 1 ? (s - start) / (double)(ndecay - 1) : 1.0;
        if (q > 1) q = 1;
        return t->lr + (t->min_lr - t->lr) * q;
    }
    default: /* linear */
        return t->lr + (t->min_lr - t->lr) * prog;
    }
}
