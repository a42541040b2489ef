/*
 * step.c — the update passes of AdamW, LAMB and Adafactor over this rank's
 * segments (see optim.h for the protocol, internal.h for the layout).
 *
 *   AdamW      (Loshchilov & Hutter; torch.optim.AdamW) one pass per segment
 *   LAMB       (You et al. 2019, as NVIDIA's FusedLAMB and timm's Lamb):
 *              m, v as Adam; u = m̂/(√v̂ + ε) + wd·w; tensors that decay step
 *              by lr·‖w‖/‖u‖ (1 where either norm is 0), the others by lr
 *   Adafactor  (Shazeer & Stern 2018; torch.optim.Adafactor, and their β1
 *              momentum of the update, in [optim] states' encoding):
 *              1 − β2ₜ = t^decay; a matrix's v is row-mean ⊗ column-mean of g²
 *              over the row means' mean, a vector's its own; u = g/√max(v, ε1²);
 *              w ← w·(1 − lr·wd) − max(ε2, RMS(w))·min(lr, 1/√t) ·
 *              u / max(1, RMS(u)/d)
 */
#include "internal.h"

#include "mpi/err.h"

#include <float.h>
#include <math.h>

/* bf16 states: the seed of step t's stochastic rounding of state k of a
 * segment's unit (the element's index in the unit is the counter). */
static void seed_states(Optim *o, Seg *s, long t) {
    for (int k = 0; k < 2; k++)
        if (s->s[k].type == KST_BF16)
            s->s[k].seed = k_rng_child(k_rng_child(k_rng_child((uint64_t)o->tc.seed, 0xB16),
                                                   (uint64_t)t * 2 + (uint64_t)k),
                                       (uint64_t)s->unit);
}

/* Segment s's gradient in fp32: in place, or converted into the scratch. */
static const float *grad(const Optim *o, const void *const *g, const Seg *s) {
    size_t at = s->start - o->r[s->unit].base;
    if (!o->gbf16) return (const float *)g[s->unit] + at;
    if (s->n > o->nscratch)
        z_die("optimizer: segment of %zu elements exceeds the scratch (%zu)", s->n, o->nscratch);
    k_bf16_to_f32(o->scratch, (const uint16_t *)g[s->unit] + at, s->n);
    return o->scratch;
}

void optim_set_scratch(Optim *o, float *buf, size_t n) {
    o->scratch = buf, o->nscratch = n;
}

size_t optim_scratch_need(const Optim *o) {
    size_t n = 0;
    for (int i = 0; o->gbf16 && i < o->nseg; i++)
        if (o->seg[i].n > n) n = o->seg[i].n;
    return n;
}

static float af_eps1(const Optim *o) {
    return o->oc.af_eps1 > 0 ? (float)o->oc.af_eps1 : FLT_EPSILON;
}

static KAdafactor af_args(const Optim *o, const Seg *s, const float *v, double coef) {
    const ParamView *pv = &o->m->view[s->view];
    float e1 = af_eps1(o);
    KAdafactor a = {o->row[s->view],
                    o->col[s->view],
                    v,
                    o->rdiv[s->view],
                    e1 * e1,
                    (float)coef,
                    s->first,
                    pv->ndim == 2 ? (size_t)pv->shape[1] : 0,
                    s->s[0].data ? &s->s[0] : NULL,
                    (float)o->oc.af_beta1};
    return a;
}

void optim_sums0(Optim *o, float *const *p, const void *const *g, double *out) {
    if (o->name == OPT_ADAMW) return;
    for (size_t i = 0; i < o->nsum[0]; i++) out[i] = 0;
    for (int i = 0; i < o->nseg; i++) {
        const Seg *s = &o->seg[i];
        if (!s->mine) continue;
        size_t at = s->start - o->r[s->unit].base;
        out[s->view] += k_sumsq(p[s->unit] + at, s->n);
        const ParamView *v = &o->m->view[s->view];
        if (o->name == OPT_ADAFACTOR && v->ndim == 2) {
            double *row = out + o->rc_off[s->view], *col = row + v->shape[0];
            k_rowcol_sq(grad(o, g, s), s->n, s->first, (size_t)v->shape[1], row, col);
        }
    }
}

static KLamb lamb_args(const Optim *o, const Seg *s, long t) {
    const TrainConfig *tc = &o->tc;
    KLamb l = {(float)(1.0 / (1 - pow(tc->beta1, (double)t))),
               (float)(1.0 / sqrt(1 - pow(tc->beta2, (double)t))), (float)tc->eps,
               o->m->view[s->view].decay ? (float)tc->weight_decay : 0.0f};
    return l;
}

void optim_sums1(Optim *o, float *const *p, const void *const *g, long t, double coef,
                 const double *sum0, double *out) {
    if (o->name == OPT_ADAMW) return;
    for (int i = 0; i < o->m->nviews; i++) o->wsq[i] = sum0[i], out[i] = 0;
    const TrainConfig *tc = &o->tc;
    if (o->name == OPT_ADAFACTOR) { /* the factored moments: the same on every rank */
        float w = (float)pow((double)t, o->oc.af_decay), c2 = (float)(coef * coef);
        for (int i = 0; i < o->m->nviews; i++) {
            const ParamView *v = &o->m->view[i];
            if (v->ndim != 2) continue;
            size_t R = (size_t)v->shape[0], C = (size_t)v->shape[1];
            const double *rs = sum0 + o->rc_off[i], *cs = rs + R;
            double mean = 0;
            for (size_t r = 0; r < R; r++) {
                float x = (float)(rs[r] / (double)C) * c2;
                o->row[i][r] += w * (x - o->row[i][r]);
                mean += o->row[i][r];
            }
            for (size_t c = 0; c < C; c++) {
                float x = (float)(cs[c] / (double)R) * c2;
                o->col[i][c] += w * (x - o->col[i][c]);
            }
            float fm = (float)(mean / (double)R);
            o->rdiv[i] = fm > af_eps1(o) ? fm : af_eps1(o);
        }
        for (int i = 0; i < o->nseg; i++) {
            const Seg *s = &o->seg[i];
            float *v = s->s[1].data;
            const float *gs = v || s->mine ? grad(o, g, s) : NULL;
            if (v) k_lerp_sq(v, gs, s->n, w, (float)coef);
            if (!s->mine) continue;
            KAdafactor a = af_args(o, s, v, coef);
            out[s->view] += k_adafactor_sumsq(gs, s->n, &a);
        }
        return;
    }
    for (int i = 0; i < o->nseg; i++) { /* LAMB */
        Seg *s = &o->seg[i];
        seed_states(o, s, t);
        size_t at = s->start - o->r[s->unit].base;
        k_adam_moments(grad(o, g, s), &s->s[0], &s->s[1], s->n, (float)tc->beta1, (float)tc->beta2,
                       (float)coef);
        if (!s->mine) continue;
        KLamb l = lamb_args(o, s, t);
        out[s->view] += k_lamb_sumsq(p[s->unit] + at, &s->s[0], &s->s[1], s->n, &l);
    }
}

void optim_apply(Optim *o, float *const *p, const void *const *g, double lr, long t, double coef,
                 const double *sum0, const double *sum1) {
    (void)sum0;
    const TrainConfig *tc = &o->tc;
    if (o->name == OPT_ADAMW) {
        KAdamW a = {(float)tc->beta1,
                    (float)tc->beta2,
                    (float)tc->eps,
                    (float)(lr / (1 - pow(tc->beta1, (double)t))),
                    (float)(1.0 / sqrt(1 - pow(tc->beta2, (double)t))),
                    1.0f,
                    (float)coef};
        for (int i = 0; i < o->nseg; i++) {
            Seg *s = &o->seg[i];
            seed_states(o, s, t);
            size_t at = s->start - o->r[s->unit].base;
            a.keep = o->m->view[s->view].decay ? (float)(1 - lr * tc->weight_decay) : 1.0f;
            k_adamw_state(p[s->unit] + at, grad(o, g, s), &s->s[0], &s->s[1], s->n, &a);
        }
        return;
    }
    for (int i = 0; i < o->nseg; i++) {
        Seg *s = &o->seg[i];
        const ParamView *v = &o->m->view[s->view];
        size_t at = s->start - o->r[s->unit].base;
        double wn = sqrt(o->wsq[s->view]), un = sqrt(sum1[s->view]);
        if (o->name == OPT_LAMB) {
            double ratio = v->decay && wn > 0 && un > 0 ? wn / un : 1.0;
            KLamb l = lamb_args(o, s, t);
            k_lamb_apply(p[s->unit] + at, &s->s[0], &s->s[1], s->n, &l, (float)(lr * ratio));
        } else {
            double numel = (double)v->numel, rms = wn / sqrt(numel);
            double rho = fmin(lr, 1.0 / sqrt((double)t));
            double alpha = fmax(o->oc.af_eps2, rms) * rho;
            double denom = fmax(1.0, un / sqrt(numel) / o->oc.af_clip);
            seed_states(o, s, t); /* its momentum, in bf16 */
            KAdafactor a = af_args(o, s, s->s[1].data, coef);
            float keep = v->decay ? (float)(1 - lr * tc->weight_decay) : 1.0f;
            k_adafactor_apply(p[s->unit] + at, grad(o, g, s), s->n, &a, keep,
                              (float)(alpha / denom));
        }
    }
}
